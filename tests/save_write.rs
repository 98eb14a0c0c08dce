//! The syscall pattern of `npy::save` and `npy::save_durable` (issue 16,
//! item 3; spec/write-path.md): the payload of a native-order slice goes
//! to the temporary file in ONE `write` straight from the caller's buffer
//! (the traced buffer address is the slice's own address: no copy pass,
//! no chunking), after one small write of the header; then a rename, with
//! no `fsync` for `save` and an `fsync` of the file before the rename (and
//! of the directory after it) for `save_durable`.
//!
//! The traced process is this test binary itself, re-run with
//! `NPYMAP_SAVE_WRITE_CHILD` set so that only [`child_saves_one_array`]
//! does anything. Needs `strace` (installed on the CI machine): the test
//! fails, never skips, without it.

use std::path::Path;
use std::process::Command;

use npymap::{Dtype, Header};

/// Elements in the traced payload: 64 MiB of f32, far above any buffer size.
const N: usize = 16 << 20;
const CHILD: &str = "NPYMAP_SAVE_WRITE_CHILD";

fn header() -> Header {
    Header {
        dtype: Dtype::from_descr("<f4").unwrap(),
        fortran_order: false,
        shape: vec![N as u64],
    }
}

/// Runs inside the traced process only: saves `N` floats to the path in
/// `NPYMAP_SAVE_WRITE_CHILD` (durably when the path ends in `durable.npy`)
/// and prints the address of the caller's buffer for the parent to find.
#[test]
fn child_saves_one_array() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let data: Vec<f32> = (0..N).map(|i| i as f32).collect();
    let addr = data.as_ptr() as usize;
    if path.to_string_lossy().ends_with("durable.npy") {
        npymap::npy::save_durable(&path, &header(), &data).unwrap();
    } else {
        npymap::npy::save(&path, &header(), &data).unwrap();
    }
    std::fs::write(path.with_extension("addr"), format!("{addr:#x}")).unwrap();
}

/// One traced call: its name, raw arguments and result.
#[derive(Debug)]
struct Call {
    name: String,
    args: Vec<String>,
    result: String,
}

/// Parses `strace -f` output lines (`PID name(args) = result`).
fn calls(trace: &str) -> Vec<Call> {
    trace
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = match l.split_once(' ') {
                Some((pid, rest)) if pid.chars().all(|c| c.is_ascii_digit()) => rest.trim(),
                _ => l,
            };
            let (name, rest) = l.split_once('(')?;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            // strace pads short calls to align the results (`...)  = 0x80`),
            // and an error result has its own parentheses (`= -1 ENOENT (...)`):
            // the argument list ends at the last `)` followed by spaces and `=`.
            let (end, result) = rest.rmatch_indices(')').find_map(|(i, _)| {
                let after = rest[i + 1..].trim_start().strip_prefix('=')?;
                Some((i, after))
            })?;
            Some(Call {
                name: name.to_string(),
                args: rest[..end].split(", ").map(str::to_string).collect(),
                result: result.split_whitespace().next()?.to_string(),
            })
        })
        .collect()
}

/// A number as strace prints it, hex (`0x...`) or decimal.
fn num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or_else(|e| panic!("{s}: {e}")),
        None => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
    }
}

/// Runs the child under strace, saving to `target`; returns the calls and
/// the address of the caller's buffer.
fn trace_save(target: &Path) -> (Vec<Call>, u64) {
    let log = target.with_extension("strace");
    let out = Command::new("strace")
        .env("ASAN_OPTIONS", "detect_leaks=0")
        .env(CHILD, target)
        .args(["-f", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=openat,write,writev,pwrite64,pwritev,pwritev2,copy_file_range,sendfile,\
             fsync,fdatasync,rename,renameat,renameat2,fallocate",
            "-e",
            "raw=write,writev,pwrite64",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_saves_one_array",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("strace must be installed to check npy::save's syscalls (apt-get install strace)");
    assert!(
        out.status.success(),
        "traced child failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let addr = std::fs::read_to_string(target.with_extension("addr")).unwrap();
    (calls(&text), num(&addr))
}

/// Checks the common pattern and returns the calls on the temp file's
/// descriptor (after its `openat`) by name.
fn check_pattern(calls: &[Call], addr: u64, target: &Path) -> Vec<String> {
    let open = calls
        .iter()
        .position(|c| c.name == "openat" && c.args.get(1).is_some_and(|a| a.contains(".npymap-")))
        .unwrap_or_else(|| panic!("no openat of a .npymap- temp file in {calls:#?}"));
    let fd = calls[open].result.clone();
    let fd_hex = format!("{:#x}", num(&fd));
    let on_fd = |c: &Call| {
        c.args
            .first()
            .is_some_and(|a| a.trim() == fd || a.trim() == fd_hex)
    };
    let header_len = header().to_bytes(None).unwrap().len() as u64;
    let payload_len = (N * 4) as u64;
    // The descriptor number is reused once the temp file is closed (the
    // child then writes its `.addr` file): only calls up to the rename
    // belong to the temp file.
    let end = calls[open..]
        .iter()
        .position(|c| c.name.starts_with("rename"))
        .map_or(calls.len(), |i| open + i);
    let writes: Vec<&Call> = calls[open..end]
        .iter()
        .filter(|c| {
            matches!(
                c.name.as_str(),
                "write"
                    | "writev"
                    | "pwrite64"
                    | "pwritev"
                    | "pwritev2"
                    | "copy_file_range"
                    | "sendfile"
            ) && on_fd(c)
        })
        .collect();
    // First the whole file's blocks are reserved without changing its
    // length, as NumPy's `tofile` does (ext4 allocates the extents once).
    // Where the file system refuses (FUSE, old tmpfs) the call is still made.
    let reserve: Vec<&Call> = calls[open..end]
        .iter()
        .filter(|c| c.name == "fallocate" && on_fd(c))
        .collect();
    assert_eq!(reserve.len(), 1, "want one fallocate: {reserve:#?}");
    assert_eq!(
        reserve[0].args[1].trim(),
        "FALLOC_FL_KEEP_SIZE",
        "{:?}",
        reserve[0]
    );
    assert_eq!(num(&reserve[0].args[2]), 0, "{:?}", reserve[0]);
    assert_eq!(
        num(&reserve[0].args[3]),
        header_len + payload_len,
        "{:?}",
        reserve[0]
    );
    let first_write = calls[open..end]
        .iter()
        .position(|c| c.name == "write" && on_fd(c));
    let reserved_at = calls[open..end]
        .iter()
        .position(|c| c.name == "fallocate" && on_fd(c));
    assert!(
        reserved_at < first_write,
        "the reservation comes before any write: {calls:#?}"
    );
    // Exactly: the header (small, from the writer's buffer), then the whole
    // payload in one write from the caller's own buffer.
    assert_eq!(
        writes.len(),
        2,
        "want 2 writes on the temp file, got {writes:#?}"
    );
    assert_eq!(writes[0].name, "write");
    assert_eq!(num(&writes[0].args[2]), header_len, "{:?}", writes[0]);
    assert_eq!(num(&writes[0].result), header_len, "{:?}", writes[0]);
    assert_eq!(writes[1].name, "write");
    assert_eq!(
        num(&writes[1].args[1]),
        addr,
        "the payload write must come straight from the caller's slice (no copy pass): {:?}",
        writes[1]
    );
    assert_eq!(num(&writes[1].args[2]), payload_len, "{:?}", writes[1]);
    assert_eq!(num(&writes[1].result), payload_len, "{:?}", writes[1]);
    // Then the rename of the temp file onto the target.
    let renamed = calls[open..].iter().any(|c| {
        c.name.starts_with("rename")
            && c.args.iter().any(|a| a.contains(".npymap-"))
            && c.args
                .iter()
                .any(|a| a.trim_matches('"') == target.to_string_lossy())
    });
    assert!(renamed, "no rename onto {} in {calls:#?}", target.display());
    calls[open..]
        .iter()
        .enumerate()
        .filter(|&(i, c)| {
            (open + i <= end && on_fd(c)) || c.name.starts_with("rename") || c.name.contains("sync")
        })
        .map(|(_, c)| c)
        .map(|c| c.name.clone())
        .collect()
}

fn check_file(target: &Path) {
    let bytes = std::fs::read(target).unwrap();
    let head = header().to_bytes(None).unwrap();
    assert_eq!(bytes.len(), head.len() + N * 4);
    assert_eq!(&bytes[..head.len()], &head[..]);
    for i in [0usize, 1, 12345, N - 1] {
        let at = head.len() + i * 4;
        let v = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(v, i as f32, "element {i}");
    }
}

#[test]
fn save_is_one_write_of_the_callers_bytes_then_a_rename_without_fsync() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("plain.npy");
    let (calls, addr) = trace_save(&target);
    let names = check_pattern(&calls, addr, &target);
    assert!(
        !calls.iter().any(|c| c.name.contains("sync")),
        "npy::save must not fsync: {names:?}"
    );
    check_file(&target);
}

#[test]
fn save_durable_is_one_write_then_fsync_before_the_rename() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("durable.npy");
    let (calls, addr) = trace_save(&target);
    let names = check_pattern(&calls, addr, &target);
    let sync = names.iter().position(|n| n == "fsync" || n == "fdatasync");
    let rename = names.iter().position(|n| n.starts_with("rename"));
    assert!(
        matches!((sync, rename), (Some(s), Some(r)) if s < r),
        "want an fsync of the temp file before the rename: {names:?}"
    );
    // The directory is synced after the rename.
    let after = calls
        .iter()
        .skip_while(|c| !c.name.starts_with("rename"))
        .filter(|c| c.name == "fsync" || c.name == "fdatasync")
        .count();
    assert_eq!(after, 1, "want one directory fsync after the rename");
    check_file(&target);
}
