//! Inputs that change or are not regular files, and stdout write errors
//! (issue 12 §2–§4): every case is an error message and exit 2, never a
//! signal, a hang, a misleading message or a silently lost output.

mod common;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{assert_error, listing, npymap, ok, python, python_args};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_npymap"))
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Writes a sparse `.npy` (header by NumPy, payload a hole) of `shape`
/// float64 and returns its data offset.
fn sparse_npy(path: &Path, shape: &str) -> u64 {
    let script = "import sys, numpy as np\n\
        shape = tuple(int(x) for x in sys.argv[2].split(','))\n\
        with open(sys.argv[1], 'wb') as f:\n\
        \x20   np.lib.format.write_array_header_1_0(f, {'descr': '<f8', 'fortran_order': False, 'shape': shape})\n\
        \x20   off = f.tell()\n\
        \x20   f.truncate(off + 8 * int(np.prod(shape)))\n\
        print(off)\n";
    let dir = path.parent().unwrap();
    let out = python_args(script, dir, &[path, Path::new(shape)]);
    out.trim().parse().unwrap()
}

/// Kills the child on drop, so a failed assertion never leaves it running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls until `ready` holds or the child exits; panics after 60 s.
fn wait_until(child: &mut Running, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    loop {
        if ready() {
            return;
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("npymap ended ({status}) before {what}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "timeout: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether the process `pid` has `path` memory-mapped.
fn has_mapped(pid: u32, path: &Path) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let name = path.to_string_lossy();
    maps.lines().any(|l| l.ends_with(&*name))
}

fn has_temp_file(dir: &Path) -> bool {
    listing(dir).iter().any(|n| n.starts_with(".npymap-"))
}

fn finish(child: Running) -> Output {
    let mut child = child;
    let start = Instant::now();
    loop {
        if child.0.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "npymap still running"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut s) = child.0.stdout.take() {
        s.read_to_end(&mut stdout).unwrap();
    }
    if let Some(mut s) = child.0.stderr.take() {
        s.read_to_end(&mut stderr).unwrap();
    }
    let status = child.0.wait().unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

fn spawn(args: &[&Path]) -> Running {
    Running(
        bin()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Truncates `path` to `len` bytes from this (another) process.
fn shrink(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn assert_shrank(out: &Output, input: &Path, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: exit code (a signal gives None); stderr: {stderr}"
    );
    assert_eq!(
        stderr,
        format!(
            "npymap: error: {}: changed while it was being read (it shrank)\n",
            input.display()
        ),
        "{what}"
    );
}

// ---- §2: an input that shrinks under the map ----

/// `convert` (streaming from the map) of a 2 GiB input truncated once
/// the temp file exists: exit 2 naming IN, no temp file, OUT not created.
#[test]
fn convert_of_an_input_truncated_midway_is_an_error() {
    let dir = tmpdir();
    let input = dir.path().join("big.npy");
    let out = dir.path().join("out.npy");
    let off = sparse_npy(&input, "268435456");
    let mut child = spawn(&[Path::new("convert"), &input, &out]);
    wait_until(&mut child, "the temp file appears", || {
        has_temp_file(dir.path())
    });
    shrink(&input, off + 4096);
    let res = finish(child);
    assert_shrank(&res, &input, "convert");
    assert_eq!(listing(dir.path()), ["big.npy"], "no temp file, no OUT");
}

/// `convert --order F` reads IN with `pread`: the short read names IN
/// with the same message, not OUT with Rust's generic I/O text.
#[test]
fn convert_order_f_of_an_input_truncated_midway_names_in() {
    let dir = tmpdir();
    let input = dir.path().join("big.npy");
    let out = dir.path().join("out.npy");
    let off = sparse_npy(&input, "16384,16384");
    let mut child = spawn(&[
        Path::new("convert"),
        &input,
        &out,
        Path::new("--order"),
        Path::new("F"),
    ]);
    wait_until(&mut child, "the temp file appears", || {
        has_temp_file(dir.path())
    });
    shrink(&input, off + 4096);
    let res = finish(child);
    assert_shrank(&res, &input, "convert --order F");
    assert_eq!(listing(dir.path()), ["big.npy"], "no temp file, no OUT");
}

/// `stats` of a 2 GiB input truncated once it is mapped.
#[test]
fn stats_of_an_input_truncated_midway_is_an_error() {
    let dir = tmpdir();
    let input = dir.path().join("big.npy");
    let off = sparse_npy(&input, "268435456");
    let mut child = spawn(&[Path::new("stats"), &input]);
    let pid = child.0.id();
    wait_until(&mut child, "the input is mapped", || {
        has_mapped(pid, &input)
    });
    shrink(&input, off + 4096);
    let res = finish(child);
    assert_shrank(&res, &input, "stats");
    assert!(res.stdout.is_empty(), "no partial result");
}

/// `cmp` reads A with `pread` and B through the map: whichever shrinks is
/// the one named.
#[test]
fn cmp_names_the_input_that_shrank() {
    for shrinking in ["a.npy", "b.npy"] {
        let dir = tmpdir();
        let a = dir.path().join("a.npy");
        let b = dir.path().join("b.npy");
        let off = sparse_npy(&a, "268435456");
        sparse_npy(&b, "268435456");
        let victim = dir.path().join(shrinking);
        let mut child = spawn(&[Path::new("cmp"), &a, &b]);
        let pid = child.0.id();
        wait_until(&mut child, "both inputs are mapped", || {
            has_mapped(pid, &a) && has_mapped(pid, &b)
        });
        shrink(&victim, off + 4096);
        let res = finish(child);
        assert_shrank(&res, &victim, &format!("cmp, {shrinking} shrinks"));
        assert!(res.stdout.is_empty(), "no verdict");
    }
}

/// `to-raw` and `from-raw` copy with ordinary reads: an input that shrinks
/// under them is the same error, naming the input (from-raw named OUT).
#[test]
fn to_raw_and_from_raw_of_an_input_truncated_midway_name_it() {
    for cmd in ["to-raw", "from-raw"] {
        let dir = tmpdir();
        let input = dir.path().join("big.npy");
        let out = dir.path().join("out.bin");
        let off = sparse_npy(&input, "268435456");
        let p = Path::new;
        let mut args: Vec<&Path> = vec![p(cmd), &input, &out];
        if cmd == "from-raw" {
            args.extend([p("--dtype"), p("u1")]);
        }
        let mut child = spawn(&args);
        wait_until(&mut child, "the temp file appears", || {
            has_temp_file(dir.path())
        });
        shrink(&input, off + 4096);
        let res = finish(child);
        assert_shrank(&res, &input, cmd);
        assert!(res.stdout.is_empty(), "{cmd}: no flags printed");
        assert_eq!(
            listing(dir.path()),
            ["big.npy"],
            "{cmd}: no temp file, no OUT"
        );
    }
}

/// A header is parsed from the map too: an input truncated while its
/// (long) header is being parsed is the same error, never a SIGBUS death.
/// The header has 100,000 fields (about 1.6 MB, tens of milliseconds to
/// parse); another thread truncates and rewrites the file in a loop while
/// `stats` runs again and again for two seconds.
#[test]
fn an_input_truncated_while_its_header_is_parsed_is_an_error() {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tmpdir();
    let input = dir.path().join("wide.npy");
    let fields: Vec<String> = (0..100_000).map(|i| format!("('f{i}', '<u1')")).collect();
    let dict = format!(
        "{{'descr': [{}], 'fortran_order': False, 'shape': (0,), }}",
        fields.join(", ")
    );
    let mut header = dict.into_bytes();
    while (header.len() + 13) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::try_from(header.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(&header);
    std::fs::write(&input, &bytes).unwrap();
    // The file as written is valid: stats parses it and refuses the
    // structured dtype (exit 2), the outcome every undisturbed run has.
    let res = npymap(&["stats", input.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2));
    assert!(stderr.contains("stats needs a bool, int, uint or float array, not [('f0', '|u1'),"));

    /// Sets the flag when dropped, also when an assertion below fails, so
    /// the scope's join of the truncating thread never waits forever.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let mut f = OpenOptions::new().write(true).open(&input).unwrap();
                f.set_len(4096).unwrap();
                std::thread::sleep(Duration::from_millis(3));
                f.write_all(&bytes).unwrap();
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        let start = Instant::now();
        let mut runs = 0;
        while start.elapsed() < Duration::from_secs(2) {
            let out = bin().arg("stats").arg(&input).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let start: String = stderr.chars().take(300).collect();
            assert_eq!(
                out.status.code(),
                Some(2),
                "run {runs}: {:?} (a signal has no code); stderr starts: {start}",
                out.status
            );
            runs += 1;
        }
        assert!(runs > 5, "only {runs} runs");
    });
}

// ---- §3: non-regular inputs ----

fn small_npy(dir: &Path) -> PathBuf {
    python("import numpy as np; np.save('a.npy', np.arange(4.0))", dir);
    dir.join("a.npy")
}

/// Runs npymap with a deadline: a command that blocks fails the test
/// instead of hanging it.
fn run_with_deadline(args: &[&Path], stdin: Stdio) -> Output {
    let child = Running(
        bin()
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let mut child = child;
    while child.0.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "npymap {args:?} blocked for 10 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    finish(child)
}

fn assert_not_regular(out: &Output, path: &Path, what: &str, kind: &str) {
    assert_error(out, what);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "npymap: error: {}: not a regular file (it is {kind})\n",
            path.display()
        ),
        "{what}"
    );
}

/// Every command refuses a FIFO with no writer at once (it used to block
/// forever in `open`), naming the FIFO.
#[test]
fn fifo_inputs_are_refused_without_blocking() {
    let dir = tmpdir();
    let a = small_npy(dir.path());
    let fifo = dir.path().join("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success(), "mkfifo");
    let out = dir.path().join("o.npy");
    let f: &Path = &fifo;
    let p = Path::new;
    let cases: Vec<Vec<&Path>> = vec![
        vec![p("info"), f],
        vec![p("show"), f],
        vec![p("stats"), f],
        vec![p("convert"), f, &out],
        vec![p("to-raw"), f, &out],
        vec![p("cmp"), &a, f],
        vec![p("from-raw"), f, &out, p("--dtype"), p("u1")],
    ];
    for args in cases {
        let what = format!("{args:?}");
        let res = run_with_deadline(&args, Stdio::null());
        assert_not_regular(&res, &fifo, &what, "a pipe or FIFO");
    }
    assert_eq!(listing(dir.path()), ["a.npy", "fifo"]);
}

/// A pipe (`<(cat a.npy)`, `/dev/stdin` fed by a pipe) is refused as such,
/// not misread as "not an npy file" or as 0 bytes of raw data.
#[test]
fn pipe_inputs_are_refused_as_pipes() {
    let dir = tmpdir();
    let a = small_npy(dir.path());
    let bytes = std::fs::read(&a).unwrap();
    for args in [
        vec!["info", "/dev/stdin"],
        vec!["stats", "/dev/stdin"],
        vec!["from-raw", "/dev/stdin", "o.npy", "--dtype", "u1"],
    ] {
        let mut child = bin()
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // The command may refuse before reading: a broken pipe is fine.
        let _ = std::io::Write::write_all(&mut stdin, &bytes);
        drop(stdin);
        let res = child.wait_with_output().unwrap();
        let what = format!("{args:?}");
        assert_error(&res, &what);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(
            stderr.ends_with(": not a regular file (it is a pipe or FIFO)\n"),
            "{what}: {stderr}"
        );
    }
    // The exact case of the finding, through bash's process substitution.
    let bash = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec {} info <(cat a.npy)",
            env!("CARGO_BIN_EXE_npymap")
        ))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_error(&bash, "info <(cat a.npy)");
    let stderr = String::from_utf8_lossy(&bash.stderr);
    assert!(
        stderr.starts_with("npymap: error: /dev/fd/")
            && stderr.ends_with(": not a regular file (it is a pipe or FIFO)\n"),
        "{stderr}"
    );
    assert_eq!(listing(dir.path()), ["a.npy"], "no o.npy");
}

/// `from-raw /dev/zero` used to write an empty array with exit 0.
#[test]
fn from_raw_of_a_device_is_refused() {
    let dir = tmpdir();
    let out = dir.path().join("z.npy");
    let res = npymap(&[
        Path::new("from-raw"),
        Path::new("/dev/zero"),
        &out,
        Path::new("--dtype"),
        Path::new("u1"),
    ]);
    assert_not_regular(
        &res,
        Path::new("/dev/zero"),
        "from-raw /dev/zero",
        "a character device",
    );
    assert!(!out.exists());
}

/// `from-raw DIR OUT` names DIR (it used to say "OUT: Is a directory"), and
/// so does every other command given a directory.
#[test]
fn directory_inputs_name_the_directory() {
    let dir = tmpdir();
    let raw = dir.path().join("rawdir");
    std::fs::create_dir(&raw).unwrap();
    let out = dir.path().join("out.npy");
    let p = Path::new;
    for args in [
        vec![p("from-raw"), &raw, &out, p("--dtype"), p("u1")],
        vec![p("info"), &raw],
        vec![p("convert"), &raw, &out],
        vec![p("to-raw"), &raw, &out],
        vec![p("show"), &raw],
    ] {
        let res = npymap(&args);
        assert_not_regular(&res, &raw, &format!("{args:?}"), "a directory");
    }
    assert_eq!(listing(dir.path()), ["rawdir"]);
}

/// Regular files behind a symlink, and `/dev/stdin` redirected from a
/// regular file, are still read (the refusal is about what the path is).
#[test]
fn regular_files_through_links_still_work() {
    let dir = tmpdir();
    let a = small_npy(dir.path());
    let link = dir.path().join("link.npy");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let s = ok(&npymap(&[Path::new("stats"), &link]), "stats link");
    assert!(s.starts_with("count:     4\n"), "{s}");
    let res = bin()
        .args(["info", "--json", "/dev/stdin"])
        .stdin(File::open(&a).unwrap())
        .output()
        .unwrap();
    let s = ok(&res, "info /dev/stdin < a.npy");
    assert!(s.contains("\"shape\":[4]"), "{s}");
}

// ---- §4: stdout write errors ----

fn full_stdout(args: &[&Path]) -> Output {
    bin()
        .args(args)
        .stdout(OpenOptions::new().write(true).open("/dev/full").unwrap())
        .output()
        .unwrap()
}

/// Every command that prints fails with exit 2 and names stdout when the
/// output cannot be written (they all exited 0 or 1, or printed no PATH).
#[test]
fn stdout_write_errors_are_errors() {
    let dir = tmpdir();
    python(
        "import numpy as np; np.save('a.npy', np.arange(4.0)); np.save('b.npy', np.arange(5.0))\n\
         np.savez('z.npz', x=np.arange(3))",
        dir.path(),
    );
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    let z = dir.path().join("z.npz");
    let raw = dir.path().join("a.raw");
    let p = Path::new;
    for args in [
        vec![p("info"), &a],
        vec![p("info"), p("--json"), &a],
        vec![p("info"), &z],
        vec![p("stats"), &a],
        vec![p("stats"), p("--json"), &a],
        vec![p("cmp"), &a, &b],
        vec![p("show"), &a],
        vec![p("to-raw"), &a, &raw],
    ] {
        let res = full_stdout(&args);
        let what = format!("{args:?}");
        assert_error(&res, &what);
        assert_eq!(
            String::from_utf8_lossy(&res.stderr),
            "npymap: error: stdout: No space left on device (os error 28)\n",
            "{what}"
        );
    }
    // to-raw's printed flags are part of its result: without them OUT is
    // not written either.
    assert!(!raw.exists(), "to-raw left OUT behind");
    assert_eq!(listing(dir.path()), ["a.npy", "b.npy", "z.npz"]);
}

/// A reader that stops early (`| head`) is not an error for any printer.
#[test]
fn closed_stdout_is_quiet() {
    let dir = tmpdir();
    let a = small_npy(dir.path());
    for cmd in ["info", "stats", "show"] {
        let mut child = bin()
            .args([cmd, a.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let res = child.wait_with_output().unwrap();
        assert_eq!(res.status.code(), Some(0), "{cmd}: {res:?}");
        assert!(res.stderr.is_empty(), "{cmd}: {res:?}");
    }
}
