//! `pack --compress` on several threads (issue 16, W9): the archive is the
//! same bytes whatever the number of workers, NumPy reads it, and a bad
//! input gives the same error as on one thread, leaving nothing behind.

mod common;

use std::path::{Path, PathBuf};

use npymap::atomic::Durability;
use npymap::npz::{self, Compression, NpzReader};

/// NumPy-made inputs of several kinds and sizes (one empty, one
/// big-endian, one Fortran-order, one in format 2.0, one 3 MiB so that it
/// spans several of the workers' reads), written into `dir`.
fn numpy_inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    common::cli::python(
        "import numpy as np\n\
         from numpy.lib import format as fmt\n\
         r = np.random.default_rng(7)\n\
         np.save('smooth.npy', np.round(np.sin(np.arange(3 * 2**18) / 500.0), 3).astype('<f4'))\n\
         np.save('ints.npy', r.integers(0, 50, size=(300, 7)).astype('<i8'))\n\
         np.save('empty.npy', np.zeros((0, 3), '<f8'))\n\
         np.save('big_endian.npy', np.arange(1000, dtype='>i4'))\n\
         np.save('fortran.npy', np.asfortranarray(np.arange(24.0).reshape(4, 6)))\n\
         np.save('noise.npy', r.random(20000))\n\
         with open('v2.npy', 'wb') as f:\n\
         \x20   a = np.arange(10, dtype='<u2')\n\
         \x20   fmt.write_array(f, a, version=(2, 0))\n\
         np.save('scalar.npy', np.float64(3.5))\n",
        dir,
    );
    [
        "smooth",
        "ints",
        "empty",
        "big_endian",
        "fortran",
        "noise",
        "v2",
        "scalar",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), dir.join(format!("{n}.npy"))))
    .collect()
}

#[test]
fn the_archive_is_byte_identical_for_any_worker_count_and_numpy_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let inputs = numpy_inputs(dir);
    let one = dir.join("one.npz");
    npz::pack_with_workers(&one, &inputs, Compression::Deflated, Durability::Atomic, 1).unwrap();
    let one_bytes = std::fs::read(&one).unwrap();
    for workers in [2, 3, 4, 8, 64] {
        let out = dir.join(format!("w{workers}.npz"));
        npz::pack_with_workers(
            &out,
            &inputs,
            Compression::Deflated,
            Durability::Atomic,
            workers,
        )
        .unwrap();
        let got = std::fs::read(&out).unwrap();
        let at = got.iter().zip(&one_bytes).position(|(a, b)| a != b);
        assert!(
            got == one_bytes,
            "{workers} workers wrote other bytes than one: lengths {} and {}, first difference at {at:?}",
            got.len(),
            one_bytes.len()
        );
    }
    // The default (`pack`, the CLI's path) too.
    let cli = dir.join("cli.npz");
    let mut args = vec!["pack".to_owned(), cli.display().to_string()];
    args.extend(inputs.iter().map(|(_, p)| p.display().to_string()));
    args.push("--compress".to_owned());
    common::cli::ok(&common::cli::npymap(&args), "pack --compress");
    assert!(
        std::fs::read(&cli).unwrap() == one_bytes,
        "CLI pack differs"
    );

    // Every member is deflated, in argument order.
    let npz = NpzReader::open(&one).unwrap();
    let names: Vec<&str> = npz.members().iter().map(|m| m.name()).collect();
    let want: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, want);
    assert!(
        npz.members()
            .iter()
            .all(|m| m.compression() == Compression::Deflated)
    );
    // NumPy reads every member back equal to its input, and the member's
    // .npy bytes are the input's own (version 2.0 kept).
    let out = common::cli::python_args(
        "import sys, zipfile, numpy as np\n\
         z = np.load(sys.argv[1])\n\
         zf = zipfile.ZipFile(sys.argv[1])\n\
         assert zf.testzip() is None\n\
         for k in z.files:\n\
         \x20   a, b = z[k], np.load(k + '.npy')\n\
         \x20   assert a.dtype == b.dtype and a.shape == b.shape, k\n\
         \x20   assert np.array_equal(a, b), k\n\
         \x20   assert a.flags.f_contiguous == b.flags.f_contiguous or a.ndim < 2, k\n\
         \x20   assert zf.read(k + '.npy') == open(k + '.npy', 'rb').read(), k\n\
         print(len(z.files))\n",
        dir,
        &[&one],
    );
    assert_eq!(out.trim(), "8");
}

#[test]
fn a_bad_input_gives_the_single_thread_error_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = numpy_inputs(dir);
    std::fs::write(dir.join("not.npy"), b"this is not an npy file at all").unwrap();
    let npy = |n: &str| dir.join(format!("{n}.npy"));
    let cases: Vec<(&str, Vec<(String, PathBuf)>)> = vec![
        (
            "not_npy",
            vec![
                ("smooth".into(), npy("smooth")),
                ("noise".into(), npy("noise")),
                ("bad".into(), npy("not")),
                ("ints".into(), npy("ints")),
            ],
        ),
        (
            "duplicate_member",
            vec![
                ("a".into(), npy("smooth")),
                ("b".into(), npy("noise")),
                ("a".into(), npy("ints")),
                ("c".into(), npy("v2")),
            ],
        ),
        (
            "unsafe_name",
            vec![
                ("a".into(), npy("smooth")),
                ("../up".into(), npy("noise")),
                ("c".into(), npy("v2")),
            ],
        ),
        (
            "missing",
            vec![
                ("a".into(), npy("smooth")),
                ("gone".into(), dir.join("gone.npy")),
            ],
        ),
    ];
    for (code, inputs) in cases {
        let mut messages = Vec::new();
        for workers in [1, 2, 4] {
            let out = dir.join(format!("{code}-{workers}.npz"));
            let err = npz::pack_with_workers(
                &out,
                &inputs,
                Compression::Deflated,
                Durability::Atomic,
                workers,
            )
            .unwrap_err();
            if code != "missing" {
                assert_eq!(err.kind().code(), code, "{workers}: {err}");
            }
            messages.push(err.to_string().replace(&format!("-{workers}.npz"), ""));
            assert!(!out.exists(), "{code}: {workers} workers left the archive");
        }
        assert_eq!(messages[0], messages[1], "{code}");
        assert_eq!(messages[0], messages[2], "{code}");
    }
    // Nothing else was left in the directory (no temp files).
    let mut want: Vec<String> = good
        .iter()
        .map(|(n, _)| format!("{n}.npy"))
        .chain(["not.npy".to_owned()])
        .collect();
    want.sort();
    assert_eq!(common::cli::listing(dir), want);
}
