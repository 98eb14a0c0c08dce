//! Running the built `npymap` binary and real NumPy from tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `args`; never panics on its exit code.
pub fn npymap<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npymap"))
        .args(args)
        .output()
        .expect("run npymap")
}

/// Asserts the command failed per the CLI contract: exit 2, stderr starting
/// with `npymap: error: `, and no Rust panic text.
pub fn assert_error(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: exit code; stderr: {stderr}"
    );
    assert!(
        stderr.starts_with("npymap: error: "),
        "{what}: stderr {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// Runs a Python script with NumPy in `cwd` and returns its stdout. Fails
/// the test when python3 or NumPy is missing: interop tests never skip.
pub fn python(script: &str, cwd: &Path) -> String {
    python_args(script, cwd, &[])
}

/// As [`python`], with `args` as `sys.argv[1:]`.
pub fn python_args(script: &str, cwd: &Path, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("python3 must be installed (the README's test command installs numpy)");
    assert!(
        out.status.success(),
        "python failed: {}\n--- script ---\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Lists every file name in `dir` (to check no temp files are left).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `strace` ready to trace npymap. LeakSanitizer cannot run under ptrace
/// (the ASan run of `.ci/run` would fail every traced command), so leak
/// checking is off for the traced process; the same commands run
/// untraced under ASan elsewhere in the suite.
pub fn strace() -> std::process::Command {
    let mut c = std::process::Command::new("strace");
    c.env("ASAN_OPTIONS", "detect_leaks=0");
    c
}

/// Whether the npymap binary is instrumented with AddressSanitizer (its
/// runtime, linked in, defines `__asan_init`). Read once.
pub fn asan() -> bool {
    static ASAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ASAN.get_or_init(|| {
        let bin = std::fs::read(env!("CARGO_BIN_EXE_npymap")).expect("read npymap binary");
        bin.windows(11).any(|w| w == b"__asan_init")
    })
}

/// Runs npymap in `dir` with its address space limited to `limit_mib` MiB
/// (unless ASan is in use: then without a limit, and says so).
pub fn limited(dir: &Path, limit_mib: u64, args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_npymap");
    let mut cmd = if asan() {
        eprintln!("npymap is built with AddressSanitizer: running without ulimit -v");
        let mut c = Command::new(exe);
        c.args(args);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"ulimit -v "$1" || exit 97; shift; exec "$@""#)
            .arg("sh")
            .arg((limit_mib * 1024).to_string())
            .arg(exe)
            .args(args);
        c
    };
    cmd.current_dir(dir).output().expect("run npymap")
}

/// Runs the Python `script` (with `args` as `sys.argv[1:]`), feeding it
/// the JSON list of `paths` on stdin, and parses what it prints as JSON.
pub fn python_json<T: serde::de::DeserializeOwned>(
    script: &str,
    args: &[&str],
    paths: &[std::path::PathBuf],
) -> T {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with numpy is required for these tests");
    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&list).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python3/numpy failed");
    serde_json::from_slice(&output.stdout).expect("json from python")
}
