//! What the CLI does to OUT and DST: durability (fsync) when it replaces a
//! file, refusing non-regular outputs, symlinks, permissions, owners,
//! read-only files, error messages that name OUT, locked concurrent appends,
//! `recover` after a killed append, and the dimension limit on append.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::cli::{assert_error, listing, npymap, ok, python};

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs `npymap args` under strace and returns the traced calls, or `None`
/// (with a note on stderr) when strace is not installed.
fn strace(args: &[&str], cwd: &Path, calls: &str) -> Option<String> {
    let log = cwd.join("strace.log");
    let out = match common::cli::strace()
        .args(["-f", "-o"])
        .arg(&log)
        .args(["-e", &format!("trace={calls}")])
        .arg(env!("CARGO_BIN_EXE_npymap"))
        .args(args)
        .current_dir(cwd)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPED: strace is not installed ({e}); fsync order not checked");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "strace npymap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    Some(text)
}

/// The names of the traced calls in order (`fsync`, `renameat2`, ...),
/// with `pwrite64` tagged by whether it writes at offset 0 (`pwrite0`).
fn call_names(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|l| {
            let l = l.split_once(' ').map_or(l, |(_, rest)| rest).trim_start();
            let name = l.split('(').next()?;
            if name.is_empty() || l.starts_with("+++") || l.starts_with("---") {
                return None;
            }
            if name == "pwrite64" {
                let last = l.rsplit(',').next()?.trim();
                let off = last.split(')').next()?.trim();
                return Some(if off == "0" { "pwrite0" } else { "pwrite" }.to_string());
            }
            Some(name.to_string())
        })
        .collect()
}

const SYNC_CALLS: &str = "fsync,fdatasync,rename,renameat,renameat2";

fn is_sync(c: &str) -> bool {
    c == "fsync" || c == "fdatasync"
}

fn is_rename(c: &str) -> bool {
    c.starts_with("rename")
}

#[test]
fn replacing_an_existing_out_syncs_file_then_renames_then_syncs_dir() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.save('u.npy', np.arange(12.).reshape(3, 4))",
        d,
    );
    let Some(t) = strace(
        &["convert", "u.npy", "u.npy", "--byte-order", "big"],
        d,
        SYNC_CALLS,
    ) else {
        return;
    };
    let calls = call_names(&t);
    let rename = calls.iter().position(|c| is_rename(c));
    let rename = rename.unwrap_or_else(|| panic!("no rename: {calls:?}"));
    assert!(
        calls[..rename].iter().any(|c| is_sync(c)),
        "temp file not synced before the rename: {calls:?}"
    );
    assert!(
        calls[rename + 1..].iter().any(|c| is_sync(c)),
        "directory not synced after the rename: {calls:?}"
    );
    // --no-sync: the rename alone, like cp.
    let t = strace(
        &[
            "--no-sync",
            "convert",
            "u.npy",
            "u.npy",
            "--byte-order",
            "little",
        ],
        d,
        SYNC_CALLS,
    )
    .unwrap();
    let calls = call_names(&t);
    assert!(calls.iter().any(|c| is_rename(c)), "{calls:?}");
    assert!(!calls.iter().any(|c| is_sync(c)), "--no-sync: {calls:?}");
    // A brand-new OUT is not synced by default (spec/cli.md §3.2).
    let t = strace(&["convert", "u.npy", "new.npy"], d, SYNC_CALLS).unwrap();
    let calls = call_names(&t);
    assert!(!calls.iter().any(|c| is_sync(c)), "new OUT: {calls:?}");
    assert_eq!(
        python(
            "import numpy as np; print(np.load('u.npy').tolist() == np.load('new.npy').tolist())",
            d
        ),
        "True\n"
    );
}

#[test]
fn in_place_append_syncs_rows_before_the_header_and_the_header_after() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.save('d.npy', np.arange(6.).reshape(3, 2)); np.save('s.npy', np.ones((2, 2)))",
        d,
    );
    let Some(t) = strace(&["append", "d.npy", "s.npy"], d, "fsync,fdatasync,pwrite64") else {
        return;
    };
    let calls = call_names(&t);
    let rows = calls.iter().position(|c| c == "pwrite");
    let head = calls.iter().position(|c| c == "pwrite0");
    let (Some(rows), Some(head)) = (rows, head) else {
        panic!("expected a row write and a header write: {calls:?}");
    };
    assert!(rows < head, "{calls:?}");
    assert!(
        calls[rows..head].iter().any(|c| is_sync(c)),
        "rows not synced before the header: {calls:?}"
    );
    assert!(
        calls[head..].iter().any(|c| is_sync(c)),
        "header not synced: {calls:?}"
    );
    assert_eq!(
        python("import numpy as np; print(np.load('d.npy').tolist())", d),
        "[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [1.0, 1.0], [1.0, 1.0]]\n"
    );
    // --no-sync: the same writes, no sync.
    let t = strace(
        &["append", "--no-sync", "d.npy", "s.npy"],
        d,
        "fsync,fdatasync,pwrite64",
    )
    .unwrap();
    let calls = call_names(&t);
    assert!(calls.iter().any(|c| c == "pwrite0"), "{calls:?}");
    assert!(!calls.iter().any(|c| is_sync(c)), "--no-sync: {calls:?}");
    assert_eq!(
        python("import numpy as np; print(np.load('d.npy').shape)", d),
        "(7, 2)\n"
    );
}

/// A FIFO, a char device and a socket as OUT / DST: refused, left as they were.
#[test]
fn out_that_is_not_a_regular_file_is_refused_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.save('a.npy', np.arange(12.).reshape(3, 4)); np.arange(12.).tofile('a.bin')",
        d,
    );
    let st = Command::new("mknod")
        .args(["null", "c", "1", "3"])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(st.success(), "mknod (tests run as root)");
    let st = Command::new("mkfifo")
        .arg("fifo")
        .current_dir(d)
        .status()
        .unwrap();
    assert!(st.success());
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    for (special, kind) in [
        ("null", "a character device"),
        ("fifo", "a pipe or FIFO"),
        ("sock", "a socket"),
    ] {
        let out = d.join(special);
        let o = s(&out);
        let a = s(&d.join("a.npy"));
        let raw = s(&d.join("a.bin"));
        for args in [
            vec!["convert", &a, &o],
            vec!["to-raw", &a, &o],
            vec!["from-raw", &raw, &o, "--dtype", "<f8"],
            vec!["pack", &o, &a],
            vec!["append", &o, &a],
        ] {
            // `timeout`: the old code could block forever opening a FIFO.
            let res = Command::new("timeout")
                .arg("20")
                .arg(env!("CARGO_BIN_EXE_npymap"))
                .args(&args)
                .output()
                .unwrap();
            assert_error(&res, &format!("{args:?}"));
            let err = String::from_utf8_lossy(&res.stderr);
            assert!(
                err.contains(&o) && err.contains(&format!("{kind}, not a regular file")),
                "{args:?}: {err}"
            );
            assert!(!err.contains(".npymap-"), "{err}");
            let ft = std::fs::symlink_metadata(&out).unwrap().file_type();
            let still = match special {
                "null" => ft.is_char_device(),
                "fifo" => ft.is_fifo(),
                _ => ft.is_socket(),
            };
            assert!(still, "{args:?} replaced {special}");
        }
    }
    let mut names = listing(d);
    names.retain(|n| n.starts_with(".npymap-"));
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_symlink_out_is_followed_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("real")).unwrap();
    python(
        r#"
import numpy as np
np.save('real/r.npy', np.arange(4.0))
hdr = b"{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }"
hdr += b' ' * ((16 - (10 + len(hdr) + 1) % 16) % 16) + b'\n'
open('real/t.npy', 'wb').write(b'\x93NUMPY\x01\x00' + len(hdr).to_bytes(2, 'little') + hdr + np.arange(6, dtype='<i4').tobytes())
np.save('row.npy', np.array([[7, 8]], dtype='<i4'))
"#,
        d,
    );
    std::os::unix::fs::symlink("real/r.npy", d.join("link.npy")).unwrap();
    std::os::unix::fs::symlink("real/t.npy", d.join("tlink.npy")).unwrap();
    let link = s(&d.join("link.npy"));
    ok(
        &npymap(&["convert", &link, &link, "--byte-order", "big"]),
        "convert through a link",
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Append whose header has no room (the rewrite path) goes through the link too.
    let tlink = s(&d.join("tlink.npy"));
    ok(
        &npymap(&["append", &tlink, &s(&d.join("row.npy"))]),
        "append rewrite through a link",
    );
    assert!(
        std::fs::symlink_metadata(&tlink)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        python(
            "import numpy as np; r = np.load('real/r.npy'); t = np.load('real/t.npy'); print(r.dtype.str, r.tolist(), t.shape, t.tolist()[-1])",
            d
        ),
        ">f8 [0.0, 1.0, 2.0, 3.0] (4, 2) [7, 8]\n"
    );
    // The temp file was made in the target's directory and is gone.
    assert_eq!(listing(&d.join("real")), vec!["r.npy", "t.npy"]);
    // A dangling link is refused, naming OUT.
    std::os::unix::fs::symlink("nowhere/x.npy", d.join("dangling.npy")).unwrap();
    let dangling = s(&d.join("dangling.npy"));
    let o = npymap(&["convert", &link, &dangling]);
    assert_error(&o, "dangling link");
    assert!(String::from_utf8_lossy(&o.stderr).contains(&dangling));
}

#[test]
fn replacing_keeps_mode_and_owner_and_refuses_read_only_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        r#"
import numpy as np
np.save('secret.npy', np.arange(4.0))
hdr = b"{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }"
hdr += b' ' * ((16 - (10 + len(hdr) + 1) % 16) % 16) + b'\n'
open('tight.npy', 'wb').write(b'\x93NUMPY\x01\x00' + len(hdr).to_bytes(2, 'little') + hdr + np.arange(6, dtype='<i4').tobytes())
np.save('row.npy', np.array([[7, 8]], dtype='<i4'))
np.save('ro.npy', np.arange(3))
"#,
        d,
    );
    let secret = d.join("secret.npy");
    let perm = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    perm(&secret, 0o600);
    std::os::unix::fs::chown(&secret, Some(1234), Some(2345)).unwrap();
    ok(
        &npymap(&["convert", &s(&secret), &s(&secret), "--byte-order", "big"]),
        "convert 0600",
    );
    let md = std::fs::metadata(&secret).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o600);
    assert_eq!((md.uid(), md.gid()), (1234, 2345));
    let tight = d.join("tight.npy");
    perm(&tight, 0o640);
    ok(
        &npymap(&["append", &s(&tight), &s(&d.join("row.npy"))]),
        "append rewrite",
    );
    assert_eq!(std::fs::metadata(&tight).unwrap().mode() & 0o7777, 0o640);
    // No write bit at all: refused, like np.save and cp, even for root.
    let ro = d.join("ro.npy");
    perm(&ro, 0o444);
    let before = std::fs::read(&ro).unwrap();
    let a = s(&secret);
    let r = s(&ro);
    for args in [
        vec!["convert", &a, &r],
        vec!["to-raw", &a, &r],
        vec!["pack", &r, &a],
        vec!["append", &r, &r],
    ] {
        let o = npymap(&args);
        assert_error(&o, &format!("{args:?}"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&r) && err.contains("read-only"), "{err}");
        assert_eq!(std::fs::read(&ro).unwrap(), before);
        assert_eq!(std::fs::metadata(&ro).unwrap().mode() & 0o7777, 0o444);
    }
}

#[test]
fn errors_name_out_not_the_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python("import numpy as np; np.save('a.npy', np.arange(3))", d);
    let out = s(&d.join("missing/dir/o.npy"));
    let o = npymap(&["convert", &s(&d.join("a.npy")), &out]);
    assert_error(&o, "missing dir");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&out) && err.contains("No such file or directory"),
        "{err}"
    );
    assert!(!err.contains(".npymap-"), "{err}");
}

#[test]
fn concurrent_appends_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np
np.save('d.npy', np.zeros((100, 1000)))
np.save('sa.npy', np.full((1500, 1000), 1.))
np.save('sb.npy', np.full((1500, 1000), 2.))
# the same array with a header that has no room: the first append rewrites
# the file (a new inode) while the second waits for the old one's lock
hdr = b\"{'descr': '<f8', 'fortran_order': False, 'shape': (100, 1000), }\"
hdr += b' ' * ((16 - (10 + len(hdr) + 1) % 16) % 16) + b'\\n'
open('tight.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + len(hdr).to_bytes(2, 'little') + hdr + np.zeros((100, 1000)).tobytes())",
        d,
    );
    for i in 0..8 {
        let start = if i % 2 == 0 { "d.npy" } else { "tight.npy" };
        std::fs::copy(d.join(start), d.join("dc.npy")).unwrap();
        let spawn = |src: &str| {
            Command::new(env!("CARGO_BIN_EXE_npymap"))
                .args(["append", "dc.npy", src])
                .current_dir(d)
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn("sa.npy"), spawn("sb.npy"));
        let (ra, rb) = (a.wait().unwrap(), b.wait().unwrap());
        assert!(ra.success() && rb.success(), "run {i}: {ra:?} {rb:?}");
        let got = python(
            "import numpy as np
d, a, b, x = (np.load(f) for f in ('d.npy', 'sa.npy', 'sb.npy', 'dc.npy'))
print(np.array_equal(x, np.concatenate([d, a, b])) or np.array_equal(x, np.concatenate([d, b, a])), x.shape)",
            d,
        );
        assert_eq!(got, "True (3100, 1000)\n", "run {i}");
    }
}

#[test]
fn recover_after_a_killed_append_gives_numpy_the_old_shape() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np
np.save('dst.npy', np.arange(256 * 1024, dtype='<f8').reshape(256, 1024))
np.save('src.npy', np.arange(8192 * 1024, dtype='>f8').reshape(8192, 1024))",
        d,
    );
    let dst = d.join("dst.npy");
    let old_len = std::fs::metadata(&dst).unwrap().len();
    let mut killed_mid_way = false;
    for _ in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_npymap"))
            .args(["append", "dst.npy", "src.npy"])
            .current_dir(d)
            .spawn()
            .unwrap();
        // Kill as soon as rows start to arrive, before the header is rewritten.
        let t0 = std::time::Instant::now();
        while std::fs::metadata(&dst).unwrap().len() <= old_len
            && t0.elapsed() < std::time::Duration::from_secs(20)
        {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let shape = python(
            "import numpy as np; print(np.load('dst.npy', mmap_mode='r').shape)",
            d,
        );
        if shape == "(256, 1024)\n" && std::fs::metadata(&dst).unwrap().len() > old_len {
            killed_mid_way = true;
            break;
        }
        // The append finished first: start again from the original file.
        python(
            "import numpy as np; np.save('dst.npy', np.arange(256 * 1024, dtype='<f8').reshape(256, 1024))",
            d,
        );
    }
    assert!(killed_mid_way, "the append always finished before the kill");
    // npymap's readers refuse the file and point at `recover`.
    let o = npymap(&["stats", &s(&dst)]);
    assert_error(&o, "stats of the cut file");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("npymap recover"), "{err}");
    let out = ok(&npymap(&["recover", &s(&dst)]), "recover");
    assert!(out.contains("(256, 1024)"), "{out}");
    assert_eq!(std::fs::metadata(&dst).unwrap().len(), old_len);
    assert_eq!(
        python(
            "import numpy as np; a = np.load('dst.npy'); print(a.shape, np.array_equal(a, np.arange(256 * 1024.).reshape(256, 1024)))",
            d
        ),
        "(256, 1024) True\n"
    );
    // Now the append works, and recover on a healthy file changes nothing.
    ok(
        &npymap(&["append", &s(&dst), &s(&d.join("src.npy"))]),
        "append",
    );
    let before = std::fs::read(&dst).unwrap();
    ok(&npymap(&["recover", &s(&dst)]), "recover healthy");
    assert!(std::fs::read(&dst).unwrap() == before);
    assert_eq!(
        python(
            "import numpy as np; a = np.load('dst.npy'); print(a.shape, np.array_equal(a, np.concatenate([np.arange(256 * 1024.).reshape(256, 1024), np.load('src.npy')])))",
            d
        ),
        "(8448, 1024) True\n"
    );
}

#[test]
fn append_refuses_a_dimension_past_i64_max() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.save('e.npy', np.empty(2**62, dtype=np.dtype([])))",
        d,
    );
    let e = s(&d.join("e.npy"));
    let before = std::fs::read(&e).unwrap();
    let o = npymap(&["append", &e, &e]);
    assert_error(&o, "append past 2**63-1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("2**63-1"), "{err}");
    assert_eq!(std::fs::read(&e).unwrap(), before);
    // Reading such a header says what is wrong with the dimension.
    python(
        r#"
hdr = b"{'descr': [], 'fortran_order': False, 'shape': (9223372036854775808,), }"
hdr += b' ' * ((64 - (10 + len(hdr) + 1) % 64) % 64) + b'\n'
open('big.npy', 'wb').write(b'\x93NUMPY\x01\x00' + len(hdr).to_bytes(2, 'little') + hdr)
"#,
        d,
    );
    let o = npymap(&["info", &s(&d.join("big.npy"))]);
    assert_error(&o, "info of a too-large dim");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("dimension 0 exceeds 2**63-1: 9223372036854775808"),
        "{err}"
    );
}
