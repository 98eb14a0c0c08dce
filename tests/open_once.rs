//! `npymap convert IN.npz OUT.safetensors` opens the archive once: the
//! listing, the map of every stored member's payload
//! (`NpyMap::from_raw_file` on that descriptor) and the staging of
//! deflated members all use the one descriptor (spec/safety.md §3,
//! spec/cli.md §16). Checked with `strace` on the real binary; the output
//! is checked against NumPy's arrays with the Python `safetensors` package.

use std::path::Path;
use std::process::Command;

fn python(script: &str, cwd: &Path) {
    let out = Command::new("python3")
        .args(["-c", script])
        .current_dir(cwd)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The lines of an strace log that open `path` (open, openat, openat2).
fn opens_of(log: &str, path: &Path) -> Vec<String> {
    let quoted = format!("\"{}\"", path.display());
    // `-f -o` lines start with the pid, then the call: `123 openat(...`.
    log.lines()
        .filter(|l| {
            let call = l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            call.starts_with("open") && l.contains(&quoted)
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn npz_to_safetensors_opens_the_archive_once() {
    let version = Command::new("strace").arg("-V").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "strace is required for this test (apt-get install strace)"
    );
    let dir = tempfile::tempdir().unwrap();
    // Three stored members and one deflated one (staged through the same
    // descriptor).
    python(
        r#"
import numpy as np, zipfile, io
np.savez('a.npz', x=np.arange(12, dtype='<f4').reshape(3, 4),
         y=np.arange(5, dtype='>i8'), z=np.asfortranarray(np.eye(3)))
b = io.BytesIO(); np.save(b, np.arange(7, dtype='u2'))
with zipfile.ZipFile('a.npz', 'a', compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr('w.npy', b.getvalue())
"#,
        dir.path(),
    );
    let npz = dir.path().join("a.npz");
    let out = dir.path().join("a.safetensors");
    let log = dir.path().join("strace.log");
    // LeakSanitizer cannot run under ptrace: in the ASan run of .ci/run the
    // traced binary would abort with "LeakSanitizer has encountered a fatal
    // error". Leak checking is off for this one traced process only.
    let status = Command::new("strace")
        .env("ASAN_OPTIONS", "detect_leaks=0")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_npymap"))
        .arg("convert")
        .arg(&npz)
        .arg(&out)
        .status()
        .expect("strace runs");
    assert!(status.success(), "npymap convert failed under strace");
    let log = std::fs::read_to_string(&log).unwrap();
    let opens = opens_of(&log, &npz);
    assert_eq!(
        opens.len(),
        1,
        "the archive is opened once:\n{}",
        opens.join("\n")
    );
    // The output holds NumPy's values.
    python(
        r#"
import numpy as np
from safetensors.numpy import load_file
st, ref = load_file('a.safetensors'), dict(np.load('a.npz'))
assert sorted(st) == ['w', 'x', 'y', 'z'], sorted(st)
for k in ref:
    assert np.array_equal(st[k], ref[k]), k
"#,
        dir.path(),
    );
}
