//! The CLI on archives: `info` (JSON per the contract, and the human
//! summary), `pack` (np.load reads it; atomic), `unpack` (byte-identical
//! members; refused names; nothing written on failure).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the built binary from the crate root (so `testdata/...` paths in
/// messages are stable).
fn npymap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npymap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn python(script: &str, args: &[&Path]) -> String {
    common::cli::python_args(script, Path::new("."), args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn info_json_on_numpy_archives_follows_the_contract() {
    for entry in common::entries("npz") {
        let rel = format!("testdata/{}", entry["path"].as_str().unwrap());
        let out = npymap(&["info", &rel, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{rel}: {}", stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["format"], "npz");
        let got = v["members"].as_array().unwrap();
        let want = entry["members"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{rel}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g["name"], w["key"], "{rel}");
            for key in [
                "compression",
                "version",
                "descr",
                "fortran_order",
                "shape",
                "data_offset",
                "itemsize",
                "nbytes",
            ] {
                assert_eq!(g[key], w[key], "{rel} {key}");
            }
        }
    }
}

#[test]
fn info_human_summary_of_archives() {
    let mut text = String::new();
    for rel in ["testdata/npz/named.npz", "testdata/npz/compressed.npz"] {
        let out = npymap(&["info", rel]);
        assert_eq!(out.status.code(), Some(0));
        text.push_str(&stdout(&out));
    }
    insta::assert_snapshot!("info_npz_human", text);
}

#[test]
fn pack_writes_what_np_load_reads_stored_aligned_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = ["testdata/npy/c_2x3.npy", "testdata/npz/../npy/c_2x3.npy"];
    for (flag, file) in [(None, "s.npz"), (Some("--compress"), "c.npz")] {
        let out_path = dir.path().join(file);
        let mut args = vec!["pack", s(&out_path), inputs[0]];
        let renamed = format!("other={}", inputs[1]);
        args.push(&renamed);
        args.extend(flag);
        let out = npymap(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
        let got = python(
            "import sys, numpy as np\n\
             z = np.load(sys.argv[1]); want = np.load(sys.argv[2])\n\
             print(sorted(z.keys()), all((z[k] == want).all() and z[k].dtype == want.dtype for k in z))",
            &[
                &out_path,
                &Path::new(env!("CARGO_MANIFEST_DIR")).join(inputs[0]),
            ],
        );
        assert_eq!(got, "['c_2x3', 'other'] True\n");
        let npz = npymap::npz::NpzReader::open(&out_path).unwrap();
        for m in npz.members() {
            if let Some(r) = m.payload_range() {
                assert_eq!(r.start % 64, 0);
            }
            assert_eq!(m.compression().as_str() == "deflated", flag.is_some());
        }
    }
}

#[test]
fn unpack_writes_members_byte_identical_to_what_zipfile_reads() {
    for entry in common::entries("npz") {
        let rel = format!("testdata/{}", entry["path"].as_str().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new/sub");
        let out = npymap(&["unpack", &rel, s(&target)]);
        assert_eq!(out.status.code(), Some(0), "{rel}: {}", stderr(&out));
        let same = python(
            "import sys, os, zipfile\n\
             zf = zipfile.ZipFile(sys.argv[1])\n\
             names = sorted(os.listdir(sys.argv[2]))\n\
             assert names == sorted(zf.namelist()), (names, zf.namelist())\n\
             print(all(open(os.path.join(sys.argv[2], n), 'rb').read() == zf.read(n) for n in names))",
            &[&Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel), &target],
        );
        assert_eq!(same, "True\n", "{rel}");
    }
}

#[test]
fn pack_unpack_round_trip_gives_back_numpy_written_inputs_byte_for_byte() {
    // Every .npy NumPy wrote itself (its header is what we write too), in
    // every dtype, order and version of the fixtures.
    let present: Vec<String> = common::entries("npy")
        .iter()
        .filter(|e| e["numpy_default"] == true && e["descr"] != "|O")
        .map(|e| format!("testdata/{}", e["path"].as_str().unwrap()))
        .collect();
    assert!(present.len() > 50, "{}", present.len());
    let dir = tempfile::tempdir().unwrap();
    for flag in [None, Some("--compress")] {
        let npz = dir.path().join("rt.npz");
        let mut args = vec!["pack", s(&npz)];
        args.extend(present.iter().map(String::as_str));
        args.extend(flag);
        let out = npymap(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let out_dir = dir.path().join(format!("out{}", flag.is_some()));
        let out = npymap(&["unpack", s(&npz), s(&out_dir)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for p in &present {
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
            let back = out_dir.join(src.file_name().unwrap());
            assert_eq!(
                std::fs::read(&src).unwrap(),
                std::fs::read(&back).unwrap(),
                "{p}"
            );
        }
    }
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let e = e.unwrap();
            found.push(e.file_name().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                found.extend(files_under(&e.path()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn unpack_refuses_unsafe_and_bad_archives_and_writes_nothing() {
    let mut messages = String::new();
    for rel in [
        "testdata/hostile/evil_dotdot.npz",
        "testdata/hostile/evil_abs.npz",
        "testdata/hostile/duplicate_member.npz",
        "testdata/hostile/bad_member.npz",
        "testdata/hostile/zip_bomb.npz",
        "testdata/hostile/truncated_central_dir.npz",
        "testdata/npy/c_2x3.npy",
    ] {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("dir");
        let out = npymap(&["unpack", rel, s(&target)]);
        assert_eq!(out.status.code(), Some(2), "{rel}");
        let err = stderr(&out);
        assert!(err.starts_with("npymap: error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(files_under(root.path()), Vec::<String>::new(), "{rel}");
        messages.push_str(&err);
    }
    insta::assert_snapshot!("unpack_refusals", messages);
}

#[test]
fn unpack_into_an_existing_dir_keeps_other_files_and_never_follows_symlinked_dirs() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("dir");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"x").unwrap();
    let out = npymap(&["unpack", "testdata/hostile/zip_bomb.npz", s(&target)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(files_under(&target), ["keep.txt"]);

    // A member "sub/x.npy" where DIR/sub is a symlink to elsewhere.
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    #[cfg(unix)]
    {
        let npz = root.path().join("nested.npz");
        let h = npymap::Header {
            dtype: npymap::Dtype::from_descr("<f8").unwrap(),
            fortran_order: false,
            shape: vec![1],
        };
        let mut w = npymap::npz::NpzWriter::create(&npz).unwrap();
        w.add_stored("sub/x", &h, &1.0f64.to_le_bytes()).unwrap();
        w.finish().unwrap();
        std::os::unix::fs::symlink(&outside, target.join("sub")).unwrap();
        let out = npymap(&["unpack", s(&npz), s(&target)]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));
        assert!(files_under(&outside).is_empty());
        std::fs::remove_file(target.join("sub")).unwrap();
        let out = npymap(&["unpack", s(&npz), s(&target)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(files_under(&target), ["keep.txt", "sub", "x.npy"]);
    }
}

#[test]
fn pack_failures_leave_no_output_and_no_temp_file() {
    let mut messages = String::new();
    let cases: [&[&str]; 5] = [
        &[
            "testdata/npy/c_2x3.npy",
            "testdata/hostile/payload_short.npy",
        ],
        &["testdata/npy/c_2x3.npy", "testdata/npz/named.npz"],
        &["a=testdata/npy/c_2x3.npy", "a=testdata/npy/c_2x3.npy"],
        &["../up=testdata/npy/c_2x3.npy"],
        &["testdata/npy/does_not_exist.npy"],
    ];
    for inputs in cases {
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join("out.npz");
        let mut args = vec!["pack", s(&out_path)];
        args.extend(inputs);
        let out = npymap(&args);
        assert_eq!(out.status.code(), Some(2), "{inputs:?}");
        assert!(files_under(dir.path()).is_empty(), "{inputs:?}");
        messages.push_str(&stderr(&out).replace(s(dir.path()), "TMP"));
    }
    insta::assert_snapshot!("pack_refusals", messages);
}

#[test]
fn pack_with_no_inputs_is_a_usage_error() {
    let out = npymap(&["pack", "x.npz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("npymap: error: "));
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR")).join("x.npz").exists());
}

#[test]
fn unpack_names_every_file_key_dot_npy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::cli::python(
        r#"
import io, zipfile, numpy as np
b = io.BytesIO(); np.save(b, np.arange(3))
with zipfile.ZipFile('odd.npz', 'w') as z:
    z.writestr('plain', b.getvalue())
    z.writestr('sub/x.npy', b.getvalue())
"#,
        d,
    );
    let out = d.join("out");
    let res = npymap(&["unpack", s(&d.join("odd.npz")), s(&out)]);
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(files_under(&out), vec!["plain.npy", "sub", "x.npy"]);
    assert!(out.join("sub/x.npy").is_file());
}

// ---- unpack is all-or-nothing, for any member count (issue 11 §3) ----

/// Every path under `dir` with its kind, content and permission bits.
fn tree(dir: &Path) -> Vec<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        let name = e.path().to_string_lossy().into_owned();
        let mode = md.permissions().mode() & 0o7777;
        if md.is_dir() {
            out.push((name, format!("dir {mode:o}")));
            out.extend(tree(&e.path()));
        } else if md.file_type().is_symlink() {
            let to = std::fs::read_link(e.path()).unwrap();
            out.push((name, format!("symlink to {}", to.display())));
        } else {
            let bytes = std::fs::read(e.path()).unwrap();
            out.push((name, format!("file {mode:o} {}", sha256(&bytes))));
        }
    }
    out.sort();
    out
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes an archive of `(member name, values)` with Python's zipfile.
fn zipfile_archive(path: &Path, members: &[(&str, &[i64])]) {
    let spec = serde_json::to_string(members).unwrap();
    common::cli::python_args(
        &format!(
            "import sys, io, json, zipfile, numpy as np\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   for name, values in json.loads({spec:?}):\n\
             \x20       b = io.BytesIO(); np.save(b, np.array(values, dtype='<i8'))\n\
             \x20       z.writestr(name, b.getvalue())"
        ),
        Path::new("."),
        &[path],
    );
}

#[test]
fn a_failed_unpack_leaves_dir_exactly_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let long = format!("{}.npy", "n".repeat(300));
    let deep = format!("{}/d.npy", vec!["p".repeat(200); 30].join("/"));
    // Each archive has members that would succeed before the one that fails.
    type Members<'a> = Vec<(&'a str, &'a [i64])>;
    let cases: Vec<(&str, Members)> = vec![
        // A path component exists and is a file (findings §C/3).
        (
            "component",
            vec![("a.npy", &[1, 2, 3]), ("sub/b.npy", &[4])],
        ),
        // Two members collide on disk, in both orders.
        (
            "collide",
            vec![("a.npy", &[1]), ("b.npy", &[1]), ("b.npy/c.npy", &[2])],
        ),
        (
            "collide2",
            vec![("a.npy", &[1]), ("b.npy/c.npy", &[2]), ("b.npy", &[1])],
        ),
        // A name too long for the file system; a path too deep.
        ("long", vec![("a.npy", &[1]), (&long, &[2])]),
        (
            "deep",
            vec![("a.npy", &[1]), ("x/y.npy", &[3]), (&deep, &[2])],
        ),
        // A target that is a directory.
        ("isdir", vec![("a.npy", &[1]), ("d.npy", &[2])]),
    ];
    for (label, members) in &cases {
        let npz = r.join(format!("{label}.npz"));
        zipfile_archive(&npz, members);
        // Into a directory holding the user's own a.npy (mode 0600), a file
        // `sub` and a directory `d.npy`, and into a directory that does not
        // exist yet.
        let dest = r.join(format!("{label}-dest"));
        std::fs::create_dir(&dest).unwrap();
        common::cli::python_args(
            "import sys, os, numpy as np\n\
             np.save(os.path.join(sys.argv[1], 'a.npy'), np.array([999]))\n\
             os.chmod(os.path.join(sys.argv[1], 'a.npy'), 0o600)\n\
             open(os.path.join(sys.argv[1], 'sub'), 'w').write('x')\n\
             os.mkdir(os.path.join(sys.argv[1], 'd.npy'))",
            Path::new("."),
            &[&dest],
        );
        let before = tree(&dest);
        let out = npymap(&["unpack", s(&npz), s(&dest)]);
        assert_eq!(out.status.code(), Some(2), "{label}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("npymap: error: "), "{label}");
        assert_eq!(tree(&dest), before, "{label}: {}", stderr(&out));
        let kept = python(
            "import sys, numpy as np; print(np.load(sys.argv[1]).tolist())",
            &[&dest.join("a.npy")],
        );
        assert_eq!(kept, "[999]\n", "{label}");

        let fresh = r.join(format!("{label}-fresh"));
        let out = npymap(&["unpack", s(&npz), s(&fresh)]);
        if *label == "component" || *label == "isdir" {
            // Nothing in the way in a new directory.
            assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{label}: {}", stderr(&out));
        assert!(!fresh.exists(), "{label}: {:?}", tree(&fresh));
    }
    // The archives NumPy reads fine, collisions included.
    let keys = python(
        "import sys, numpy as np; print(sorted(np.load(sys.argv[1]).files))",
        &[&r.join("collide.npz")],
    );
    assert_eq!(keys, "['a', 'b', 'b.npy/c']\n");
}

#[test]
fn unpack_of_5000_members_needs_one_descriptor_at_a_time() {
    // On a tmpfs where there is one (/dev/shm): the 5000 syncs are free
    // there, and this test is about descriptors, not durability.
    let shm = Path::new("/dev/shm");
    let root = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let npz = root.path().join("many.npz");
    python(
        "import sys, numpy as np\n\
         np.savez(sys.argv[1], **{'a%d' % i: np.arange(i % 7) for i in range(5000)})",
        &[&npz],
    );
    let dest = root.path().join("out");
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 256 && exec \"$0\" unpack \"$1\" \"$2\"",
            env!("CARGO_BIN_EXE_npymap"),
            s(&npz),
            s(&dest),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let same = python(
        "import sys, os, numpy as np\n\
         z = np.load(sys.argv[1]); names = os.listdir(sys.argv[2])\n\
         print(len(names), all((np.load(os.path.join(sys.argv[2], k + '.npy')) == z[k]).all() for k in z.files))",
        &[&npz, &dest],
    );
    assert_eq!(same, "5000 True\n");
}

#[test]
fn unpack_keeps_the_permission_bits_of_files_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let npz = root.path().join("two.npz");
    zipfile_archive(&npz, &[("a.npy", &[1, 2]), ("b.npy", &[3])]);
    let dest = root.path().join("d");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("a.npy"), b"old").unwrap();
    std::fs::set_permissions(dest.join("a.npy"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = npymap(&["unpack", s(&npz), s(&dest)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = |n: &str| {
        std::fs::metadata(dest.join(n))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("a.npy"), 0o600);
    assert_eq!(mode("b.npy"), 0o644);
    assert_eq!(files_under(&dest), ["a.npy", "b.npy"]);
    let got = python(
        "import sys, numpy as np; print(np.load(sys.argv[1]).tolist())",
        &[&dest.join("a.npy")],
    );
    assert_eq!(got, "[1, 2]\n");
}

#[test]
fn unpack_syncs_each_file_before_its_rename_and_the_directories_after() {
    if Command::new("strace").arg("-V").output().is_err() {
        println!("skipped: strace is not installed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let npz = root.path().join("two.npz");
    zipfile_archive(&npz, &[("a.npy", &[1, 2]), ("sub/b.npy", &[3])]);
    let dest = root.path().join("d");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("a.npy"), b"old").unwrap();
    let log = root.path().join("trace");
    let out = common::cli::strace()
        .args([
            "-f",
            "-o",
            s(&log),
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,openat",
        ])
        .arg(env!("CARGO_BIN_EXE_npymap"))
        .args(["unpack", s(&npz), s(&dest)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let trace = std::fs::read_to_string(&log).unwrap();
    // fd -> path, from openat, to tell which fsync is which.
    let mut fds = std::collections::HashMap::new();
    let mut events = Vec::new();
    for line in trace.lines() {
        let call = line.split_once(' ').map_or(line, |(_, c)| c.trim_start());
        if call.starts_with("openat(") {
            let path = call.split('"').nth(1).unwrap_or("").to_owned();
            if let Some(fd) = call
                .rsplit("= ")
                .next()
                .and_then(|f| f.trim().parse::<i32>().ok())
            {
                fds.insert(fd, path);
            }
        } else if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            let fd: i32 = call.split(['(', ')']).nth(1).unwrap().parse().unwrap();
            events.push(format!(
                "sync {}",
                fds.get(&fd).cloned().unwrap_or_default()
            ));
        } else if call.starts_with("rename") && call.contains(".npymap-") {
            let to = call.split('"').nth(3).unwrap_or("").to_owned();
            events.push(format!("rename {to}"));
        }
    }
    let d = dest.to_string_lossy();
    let pos = |want: &str| {
        events
            .iter()
            .position(|e| e == want)
            .unwrap_or_else(|| panic!("no {want:?} in {events:#?}"))
    };
    let last_rename = events
        .iter()
        .rposition(|e| e.starts_with("rename"))
        .unwrap();
    // Each staged file is synced before any rename; DIR and the created
    // sub-directory after the renames.
    let staged_syncs = events[..pos(&format!("rename {d}/a.npy"))]
        .iter()
        .filter(|e| e.starts_with("sync ") && e.contains(".npymap-"))
        .count();
    assert_eq!(staged_syncs, 2, "{events:#?}");
    assert!(pos(&format!("sync {d}")) > last_rename, "{events:#?}");
    assert!(pos(&format!("sync {d}/sub")) > last_rename, "{events:#?}");

    // --no-sync: the same unpack over the same files, no sync at all.
    let out = common::cli::strace()
        .args(["-f", "-o", s(&log), "-e", "trace=fsync,fdatasync"])
        .arg(env!("CARGO_BIN_EXE_npymap"))
        .args(["--no-sync", "unpack", s(&npz), s(&dest)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let trace = std::fs::read_to_string(&log).unwrap();
    assert!(
        !trace.contains("fsync(") && !trace.contains("fdatasync("),
        "{trace}"
    );
    assert_eq!(std::fs::read(dest.join("sub/b.npy")).unwrap().len(), 136);
}

#[test]
fn info_escapes_control_characters_in_member_names() {
    let root = tempfile::tempdir().unwrap();
    let npz = root.path().join("esc.npz");
    python(
        "import sys, io, zipfile, numpy as np\n\
         b = io.BytesIO(); np.save(b, np.arange(3))\n\
         with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
         \x20   z.writestr('x\\n  (stored, 1 bytes in the archive):\\n    dtype:       <f8 (fake)\\x1b[2K.npy', b.getvalue())\n\
         \x20   z.writestr('plain é.npy', b.getvalue())",
        &[&npz],
    );
    let out = npymap(&["info", s(&npz)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "{text:?}");
    assert!(!text.contains("(fake)\n"), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 5, "{text}");
    assert_eq!(
        lines[1],
        "  'x\\n  (stored, 1 bytes in the archive):\\n    dtype:       <f8 (fake)\\x1b[2K' (stored, 152 bytes in the archive):"
    );
    // Printable names are shown as they are, as before.
    assert_eq!(lines[6], "  plain é (stored, 152 bytes in the archive):");
    // --json carries the name itself.
    let out = npymap(&["info", s(&npz), "--json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["members"][0]["name"].as_str().unwrap().contains('\x1b'));
}

#[test]
fn pack_on_a_full_disk_names_out_and_prints_nothing_else() {
    // A private 5 MB tmpfs in a mount namespace (needs root and unshare).
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let probe = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1M tmpfs \"$0\"",
            s(r),
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: cannot mount a tmpfs in a mount namespace (unshare -m, needs root)");
        return;
    }
    python(
        "import sys, os, numpy as np\n\
         np.save(os.path.join(sys.argv[1], 'm1.npy'), np.zeros(2**17))\n\
         np.save(os.path.join(sys.argv[1], 'm3.npy'), np.random.default_rng(0).random(3 * 2**17))",
        &[r],
    );
    std::fs::create_dir(r.join("small")).unwrap();
    for compress in ["", "--compress"] {
        let script = format!(
            "mount -t tmpfs -o size=5M tmpfs small && \
             dd if=/dev/zero of=small/filler bs=1M count=3 status=none && \
             {{ \"$0\" pack small/o.npz m1.npy m3.npy {compress}; echo \"rc=$?\" >&2; ls -A small; }}"
        );
        let out = Command::new("unshare")
            .args(["-m", "sh", "-c", &script, env!("CARGO_BIN_EXE_npymap")])
            .current_dir(r)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(err.starts_with("npymap: error: small/o.npz: "), "{err}");
        assert!(err.contains("No space left on device"), "{err}");
        assert!(err.ends_with("\nrc=2\n"), "{err}");
        assert_eq!(err.lines().count(), 2, "{err}");
        for leak in ["ZipWriter", ".npymap-", "m3.npy", "Custom", "PathError"] {
            assert!(!err.contains(leak), "{leak}: {err}");
        }
        assert_eq!(stdout(&out), "filler\n", "{compress}");
    }
}
