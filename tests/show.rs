//! `repr` / `npymap show` against real NumPy: every npy fixture of the
//! manifest (object dtype excepted), plus arrays generated here that
//! exercise summarisation, wrapping and the `--full` switch.
//!
//! These tests need `python3` with NumPy; they fail (never skip) without it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use npymap::{ErrorKind, npy, repr};

/// `repr(np.load(path))` for each path, from one python3 process. Headers
/// over NumPy's default 10,000-character limit are allowed, so the hand
/// made large-header fixtures compare too.
fn numpy_reprs(paths: &[PathBuf], full: bool) -> BTreeMap<String, String> {
    let script = r#"
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")  # hand_py2_long.npy: "created on Python 2"
if sys.argv[1] == "full":
    np.set_printoptions(threshold=sys.maxsize)
out = {}
for p in json.load(sys.stdin):
    out[p] = repr(np.load(p, max_header_size=2**31))
json.dump(out, sys.stdout)
"#;
    common::cli::python_json(script, &[if full { "full" } else { "default" }], paths)
}

/// The npy fixtures of the manifest, without object arrays.
fn fixtures() -> Vec<PathBuf> {
    common::entries("npy")
        .iter()
        .filter(|e| e["descr"] != "|O")
        .map(|e| common::testdata().join(e["path"].as_str().unwrap()))
        .collect()
}

/// `array_repr` of a file, from a full read.
fn lib_repr(path: &Path, full: bool) -> Result<String, npymap::Error> {
    let parsed = npy::inspect(path)?;
    let bytes = std::fs::read(path).unwrap();
    let payload = &bytes[usize::try_from(parsed.data_offset).unwrap()..];
    repr::array_repr(&parsed.header, payload, full)
}

fn run_show(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_npymap"))
        .arg("show")
        .args(args)
        .output()
        .unwrap()
}

/// Compares the library and the CLI with NumPy for `paths`; returns one
/// line per mismatch.
fn mismatches(paths: &[PathBuf], full: bool) -> Vec<String> {
    let expected = numpy_reprs(paths, full);
    let mut bad = Vec::new();
    for path in paths {
        let key = path.display().to_string();
        let want = &expected[&key];
        let name = path.file_name().unwrap().to_string_lossy();
        match lib_repr(path, full) {
            Ok(got) if &got == want => {}
            Ok(got) => bad.push(format!(
                "{name}: library\n--- numpy\n{want}\n--- npymap\n{got}"
            )),
            Err(e) => bad.push(format!("{name}: library error {e}")),
        }
        let mut args = vec![key.as_str()];
        if full {
            args.push("--full");
        }
        let out = run_show(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || stdout != format!("{want}\n") {
            bad.push(format!(
                "{name}: cli (exit {:?})\n{stdout}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    bad
}

#[test]
fn every_fixture_matches_numpy_repr() {
    let paths = fixtures();
    assert!(paths.len() >= 90, "only {} fixtures", paths.len());
    let bad = mismatches(&paths, false);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_fixture_matches_numpy_repr_in_full() {
    let bad = mismatches(&fixtures(), true);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Arrays NumPy summarises or wraps, written by NumPy into a temp dir.
fn generated(dir: &Path) -> Vec<PathBuf> {
    let script = r#"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
arrays = {
    "arange2000": np.arange(2000.),
    "rand50x50": rng.standard_normal((50, 50)),
    "int3d": np.arange(2000).reshape(10, 10, 20),
    "bool1001": np.arange(1001) % 3 == 0,
    "wide_ints": np.arange(0, 10**12, 10**9, dtype=np.int64),
    "f32_fortran": np.asfortranarray(rng.standard_normal((40, 30)).astype('>f4')),
    "c8_big": (np.arange(1200) + 1j * np.arange(1200)[::-1]).astype(np.complex64),
    "f16_small": np.linspace(-3, 3, 1500).astype(np.float16),
    "mixed_scale": np.array([1e-5, 1.0, 1e5] * 400),
    "nan_inf": np.concatenate([[np.nan, -np.inf], np.arange(1500.) / 7, [np.inf]]),
    "strings": np.array([f"item{i}" * (i % 4) for i in range(1100)]),
    "bytes": np.array([bytes([65 + i % 26]) * (i % 5) for i in range(1100)], dtype='S4'),
    "datetimes": np.arange(1100).astype('M8[D]'),
    "timedeltas": np.arange(-600, 600).astype('m8[s]'),
    "records": np.zeros(1100, dtype=[('a', '<i4'), ('b', '<f8', (3,)), ('c', 'S2')]),
    "sub_big": np.arange(2 * 1200, dtype='u2').astype([('v', '<u2')]).view([('v', '<u2', (1200,))]),
    "four_d": np.arange(3 * 4 * 10 * 10).reshape(3, 4, 10, 10) / 3,
    "tall": np.arange(3000).reshape(1000, 3),
    "small_dims": np.zeros((2,) * 11, dtype=np.int8),
    "one_row_long": np.arange(40.).reshape(1, 40) * 1.5,
    "big_exp": np.logspace(-300, 300, 1200),
    "longdouble": (np.arange(1100) / np.longdouble(3)),
    "ld_exp": np.array([1e-10, 1.0, 1e300], dtype=np.longdouble),
    "years": np.array(['0001-01-01', '10000-01-01', '-0001-01-01', '0099-05-05', 'NaT'], 'M8[D]'),
    "m8_generic": np.array([0, 1, -5], 'm8'),
    "M8_units": np.array([0, 1, 'NaT'], 'M8[Y]'),
    "M8_months": np.array([-1, 1], 'M8[M]'),
    "M8_weeks": np.array([0, 1], 'M8[W]'),
    "M8_hours": np.array([0, 1], 'M8[h]'),
    "M8_minutes": np.array([0, -1], 'M8[m]'),
    "M8_3ms": np.array([0, 1], 'M8[3ms]'),
    "zero_d_bool": np.array(True),
    "zero_d_complex": np.array(1 - 2j, dtype='>c8'),
    "zero_d_str": np.array("it's"),
    "zero_d_struct": np.array((True, [True, False], 2.5), dtype=[('a', '?'), ('b', '?', (2,)), ('c', '<f4')]),
    "zero_d_nan": np.array(np.nan, dtype=np.float16),
    "void": np.array([b'AB', b'\x00\xff'], 'V2'),
    "quotes": np.array([b"a'b", b'a"b', b"'\"", b'\t\n\\']),
    "uquotes": np.array(["a'b", 'a"b', "'\"", "\t\x00x", "\u3000\u00a0"]),
    "empty_sub": np.zeros((0,), dtype=[('a', '<i4', (2,))]),
    "empty_2": np.zeros((0, 2), dtype='>i2'),
    "complex_nan": np.array([1 + 1j, np.nan + np.inf * 1j, -np.inf - 0j, 1e-8j]),
    "f32_tiny_threshold": np.array([np.float32(0.0001), 0.01], dtype=np.float32),
    "f16_ratio": np.array([0.0001, 0.1], dtype=np.float16),
    "fortran_3d": np.asfortranarray(np.arange(60, dtype='>u4').reshape(3, 4, 5)),
    "aligned_titles": np.zeros(2, dtype=np.dtype({'names': ['a', 'b'], 'formats': ['u1', '<f8'], 'titles': ['T', None]}, align=True)),
    "bool_struct": np.array([(True, 1), (False, 2)], dtype=[('f', '?'), ('g', 'i1')]),
    "one_field": np.array([(1.5,), (2.0,)], dtype=[('x', '<f8')]),
    "long_words": np.array(['x' * 80, 'y']),
    "wrap_edge": np.arange(23, dtype=np.int64) * 111,
    "halfeven": np.array([0.001953125, 1.0]),
    "f32_shortest_ties": np.array([-19275.0625, 19275.1875, 3.0], dtype=np.float32),
    "f16_all": np.arange(0, 2**16, dtype=np.uint16).view(np.float16)[::37],
    "big_ints_3d": (np.arange(7 * 8 * 9, dtype=np.int64) * 10**15).reshape(7, 8, 9),
    "u8_max": np.array([2**64 - 1] * 1200, dtype=np.uint64),
}
for name, a in arrays.items():
    np.save(f"{d}/{name}.npy", a)
"#;
    let status = Command::new("python3")
        .args(["-c", script, &dir.display().to_string()])
        .status()
        .expect("python3 with numpy is required for these tests");
    assert!(status.success(), "generating arrays with numpy failed");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 50);
    paths
}

#[test]
fn generated_arrays_summarise_and_wrap_like_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let paths = generated(dir.path());
    let mut bad = mismatches(&paths, false);
    bad.extend(mismatches(&paths, true));
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn summarised_output_names_the_shape() {
    let dir = tempfile::tempdir().unwrap();
    let paths = generated(dir.path());
    let arange = paths
        .iter()
        .find(|p| p.ends_with("arange2000.npy"))
        .unwrap();
    let text = lib_repr(arange, false).unwrap();
    assert!(text.contains("..."), "{text}");
    assert!(text.ends_with("shape=(2000,))"), "{text}");
    let full = lib_repr(arange, true).unwrap();
    assert!(!full.contains("..."));
    assert!(!full.contains("shape="));
}

#[test]
fn object_arrays_are_refused() {
    let path = common::testdata().join("npy/object.npy");
    let err = lib_repr(&path, false).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::ObjectDtype), "{err}");
    let out = run_show(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("npymap: error: "), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn wrong_payload_length_is_an_error() {
    let parsed = npy::inspect(&common::testdata().join("npy/c_2x3.npy")).unwrap();
    let err = repr::array_repr(&parsed.header, &[0; 8], false).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::PayloadSize { .. }), "{err}");
}

/// CLI output of representative fixtures, pinned.
#[test]
fn show_snapshots() {
    for name in ["c_2x3x4", "special_f8", "struct_nested_subarray", "M8_ns"] {
        let path = common::testdata().join(format!("npy/{name}.npy"));
        let out = run_show(&[path.to_str().unwrap()]);
        assert!(out.status.success());
        insta::assert_snapshot!(format!("show_{name}"), String::from_utf8_lossy(&out.stdout));
    }
}

/// A payload in memory that records which offsets are read.
struct Recording<'a> {
    payload: &'a [u8],
    offsets: std::collections::BTreeSet<u64>,
}

impl repr::ByteSource for Recording<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> npymap::Result<()> {
        self.offsets.insert(offset);
        self.payload.read_at(offset, buf)
    }
}

#[test]
fn summarised_repr_reads_only_printed_elements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys, numpy as np; np.save(sys.argv[1], \
             np.asfortranarray(np.arange(10 * 11 * 20.).reshape(10, 11, 20)))",
            path.to_str().unwrap(),
        ])
        .status()
        .expect("python3 with numpy is required for these tests");
    assert!(status.success());
    let parsed = npy::inspect(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let payload = &bytes[usize::try_from(parsed.data_offset).unwrap()..];
    let mut source = Recording {
        payload,
        offsets: Default::default(),
    };
    let mut text = Vec::new();
    repr::write_array_repr(&parsed.header, &mut source, false, &mut text).unwrap();
    let edges = |n: u64| [0, 1, 2, n - 3, n - 2, n - 1];
    // Fortran strides of a (10, 11, 20) float64 array.
    let mut expected = std::collections::BTreeSet::new();
    for i in edges(10) {
        for j in edges(11) {
            for k in edges(20) {
                expected.insert(8 * (i + 10 * j + 110 * k));
            }
        }
    }
    assert_eq!(source.offsets, expected);
    let want = &numpy_reprs(std::slice::from_ref(&path), false)[&path.display().to_string()];
    assert_eq!(&String::from_utf8(text).unwrap(), want);
}

/// Payloads over the CLI's in-memory limit (16 MiB) go through the
/// on-demand file reader.
#[test]
fn large_payload_is_shown_without_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys, numpy as np; np.save(sys.argv[1], \
             np.asfortranarray((np.arange(3000 * 3000.) / 7).reshape(3000, 3000)).astype('>f8'))",
            path.to_str().unwrap(),
        ])
        .status()
        .expect("python3 with numpy is required for these tests");
    assert!(status.success());
    assert!(std::fs::metadata(&path).unwrap().len() > 16 << 20);
    let want = &numpy_reprs(std::slice::from_ref(&path), false)[&path.display().to_string()];
    let out = run_show(&[path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{want}\n"));
}

#[test]
fn empty_records_cannot_claim_endless_output() {
    let header = npymap::Header {
        dtype: npymap::Dtype::structured(Vec::<(String, npymap::Dtype)>::new()).unwrap(),
        fortran_order: false,
        shape: vec![2; 40],
    };
    let err = repr::array_repr(&header, &[], false).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{err}");
    // Summarised, a long axis of empty records prints six.
    let header = npymap::Header {
        shape: vec![1 << 40],
        ..header
    };
    let text = repr::array_repr(&header, &[], false).unwrap();
    assert_eq!(
        text,
        "array([(), (), (), ..., (), (), ()], shape=(1099511627776,), dtype=[])"
    );
}
