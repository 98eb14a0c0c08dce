//! `.safetensors` both ways (spec/cli.md §16), against the reference: the
//! Python `safetensors` package (`safetensors.numpy.save_file` /
//! `load_file`) and the Rust `safetensors` crate, with NumPy checking
//! values. Also the refusals and hostile files (precise errors, no panic).

mod common;

use std::path::Path;
use std::process::Output;

use common::cli::{assert_error, listing, npymap, ok, python};
use npymap::ErrorKind;
use npymap::safetensors::{SafetensorsFile, read_header};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `.safetensors` file from header JSON (padded to 8) and data.
fn st_bytes(json: &str, data: &[u8]) -> Vec<u8> {
    st_raw(json.as_bytes(), data)
}

/// As [`st_bytes`], for a header that need not be text.
fn st_raw(json: &[u8], data: &[u8]) -> Vec<u8> {
    let mut header = json.to_vec();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// Python that defines `arrays()`: one array per dtype both formats share,
/// in awkward layouts (big-endian, Fortran order, 0-d, empty, 3-D).
const ARRAYS: &str = r#"
import numpy as np
def arrays():
    r = np.random.default_rng(7)
    a = {}
    a['b1'] = r.integers(0, 2, (3, 5)).astype(bool)
    for t in ['u1', 'i1', 'u2', 'i2', 'u4', 'i4', 'u8', 'i8']:
        info = np.iinfo(t)
        a[t] = r.integers(info.min, info.max, (4, 3), dtype=t, endpoint=True)
    a['f2'] = np.array([1.5, -0.0, np.inf, -np.inf, 6e-8, 65504], dtype='f2')
    a['f4'] = r.standard_normal((2, 3, 4)).astype('f4')
    a['f8'] = np.array([np.pi, -1e300, 5e-324, np.nan, 0.0])
    a['c8'] = (r.standard_normal(5) + 1j * r.standard_normal(5)).astype('c8')
    a['be_i4'] = np.arange(24, dtype='>i4').reshape(2, 3, 4)
    a['be_f8'] = r.standard_normal((5, 7)).astype('>f8')
    a['f_order'] = np.asfortranarray(r.standard_normal((6, 5)).astype('f4'))
    a['f_be_3d'] = np.asfortranarray(np.arange(60, dtype='>u2').reshape(3, 4, 5))
    a['zero_d'] = np.float64(2.5)
    a['zero_d_be'] = np.array(-7, dtype='>i2')
    a['empty'] = np.zeros((0, 4), dtype='f4')
    a['empty_f'] = np.asfortranarray(np.zeros((3, 0), dtype='>i8'))
    return a
"#;

/// Python that compares safetensors `st` (via load_file) with arrays `ref`:
/// same keys, shapes, dtypes up to byte order, values (NaN equal to NaN).
const COMPARE: &str = r#"
def same(st, ref):
    assert sorted(st) == sorted(ref), (sorted(st), sorted(ref))
    for k in ref:
        x, y = st[k], np.asarray(ref[k])
        assert x.shape == y.shape, (k, x.shape, y.shape)
        assert x.dtype == y.dtype.newbyteorder('<'), (k, x.dtype, y.dtype)
        assert np.array_equal(x, y, equal_nan=x.dtype.kind in 'fc'), (k, x, y)
"#;

#[test]
fn python_save_file_to_npz_and_unpack_match_numpy() {
    let dir = tempfile::tempdir().unwrap();
    python(
        &format!(
            "{ARRAYS}{COMPARE}
from safetensors.numpy import save_file
save_file({{k: np.array(v, dtype=v.dtype.newbyteorder('<'), order='C') for k, v in arrays().items()}},
          'model.safetensors', metadata={{'format': 'pt', 'note': 'é ✓'}})
"
        ),
        dir.path(),
    );
    let st = dir.path().join("model.safetensors");
    let npz = dir.path().join("weights.npz");
    ok(&npymap(&["convert", s(&st), s(&npz)]), "st -> npz");
    let out = dir.path().join("out");
    ok(&npymap(&["unpack", s(&st), s(&out)]), "unpack");
    let checked = python(
        &format!(
            "{ARRAYS}{COMPARE}
import json, glob, os
from safetensors.numpy import load_file
ref = arrays()
d = dict(np.load('weights.npz'))
meta = json.loads(str(d.pop('__metadata__')))
assert meta == {{'format': 'pt', 'note': 'é ✓'}}, meta
same(d, ref)
u = {{os.path.basename(p)[:-4]: np.load(p) for p in glob.glob('out/*.npy')}}
assert json.loads(str(u.pop('__metadata__'))) == meta
same(u, ref)
same(load_file('model.safetensors'), ref)
print(len(ref))
"
        ),
        dir.path(),
    );
    assert_eq!(checked.trim(), "21");
}

#[test]
fn npz_with_big_endian_and_fortran_members_to_safetensors_is_read_by_both_readers() {
    let dir = tempfile::tempdir().unwrap();
    python(
        &format!(
            "{ARRAYS}
np.savez('stored.npz', **arrays())
np.savez_compressed('deflated.npz', **arrays())
"
        ),
        dir.path(),
    );
    for name in ["stored", "deflated"] {
        let npz = dir.path().join(format!("{name}.npz"));
        let st = dir.path().join(format!("{name}.safetensors"));
        ok(&npymap(&["convert", s(&npz), s(&st)]), name);
        // The Rust crate accepts it; a Fortran-order big-endian array is
        // now little-endian C order.
        let bytes = std::fs::read(&st).unwrap();
        let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(tensors.len(), 21);
        let t = tensors.tensor("f_be_3d").unwrap();
        assert_eq!(t.dtype(), safetensors::Dtype::U16);
        assert_eq!(t.shape(), [3, 4, 5]);
        let values: Vec<u16> = t
            .data()
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(values, (0..60).collect::<Vec<u16>>());
        let z = tensors.tensor("zero_d_be").unwrap();
        assert_eq!((z.shape(), z.data()), (&[][..], &(-7i16).to_le_bytes()[..]));
        // No staging file is left beside the output.
        assert!(
            listing(dir.path()).iter().all(|f| !f.starts_with('.')),
            "{:?}",
            listing(dir.path())
        );
    }
    let n = python(
        &format!(
            "{ARRAYS}{COMPARE}
from safetensors.numpy import load_file
for name in ['stored', 'deflated']:
    same(load_file(name + '.safetensors'), dict(np.load(name + '.npz')))
print('ok')
"
        ),
        dir.path(),
    );
    assert_eq!(n.trim(), "ok");
}

#[test]
fn output_is_byte_identical_to_python_save_file() {
    let dir = tempfile::tempdir().unwrap();
    python(
        &format!(
            "{ARRAYS}
import json
from safetensors.numpy import save_file
a = {{k: np.array(v, dtype=v.dtype.newbyteorder('<'), order='C') for k, v in arrays().items()}}
save_file(a, 'py.safetensors')
save_file(a, 'py_meta.safetensors', metadata={{'format': 'np'}})
np.savez('a.npz', **arrays())
m = np.array(json.dumps({{'format': 'np'}}, separators=(',', ':')))
np.savez('a_meta.npz', __metadata__=m, **arrays())
"
        ),
        dir.path(),
    );
    for (npz, reference) in [("a", "py"), ("a_meta", "py_meta")] {
        let out = dir.path().join(format!("{npz}.safetensors"));
        ok(
            &npymap(&[
                "convert",
                s(&dir.path().join(format!("{npz}.npz"))),
                s(&out),
            ]),
            npz,
        );
        let ours = std::fs::read(&out).unwrap();
        let theirs = std::fs::read(dir.path().join(format!("{reference}.safetensors"))).unwrap();
        assert!(ours == theirs, "{npz}: differs from Python's save_file");
    }
}

#[test]
fn npz_to_safetensors_to_npz_round_trip_keeps_arrays_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    python(
        &format!(
            "{ARRAYS}
import json
m = np.array(json.dumps({{'a': '1', 'b': 'two'}}))
np.savez('orig.npz', __metadata__=m, **arrays())
"
        ),
        dir.path(),
    );
    let p = |n: &str| dir.path().join(n);
    ok(
        &npymap(&["convert", s(&p("orig.npz")), s(&p("m.safetensors"))]),
        "npz -> st",
    );
    ok(
        &npymap(&["convert", s(&p("m.safetensors")), s(&p("back.npz"))]),
        "st -> npz",
    );
    let st = SafetensorsFile::open(p("m.safetensors")).unwrap();
    let meta = st.metadata().unwrap();
    assert_eq!(meta.get("b").map(String::as_str), Some("two"));
    let out = python(
        &format!(
            "{ARRAYS}{COMPARE}
import json
from safetensors import safe_open
with safe_open('m.safetensors', 'np') as f:
    assert f.metadata() == {{'a': '1', 'b': 'two'}}, f.metadata()
o, b = dict(np.load('orig.npz')), dict(np.load('back.npz'))
assert json.loads(str(o.pop('__metadata__'))) == json.loads(str(b.pop('__metadata__')))
same(b, o)
print('ok')
"
        ),
        dir.path(),
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn directory_and_single_npy_inputs() {
    let dir = tempfile::tempdir().unwrap();
    python(
        r#"
import numpy as np, os, json
os.mkdir('d')
np.save('d/w.npy', np.asfortranarray(np.arange(6, dtype='>f4').reshape(2, 3)))
np.save('d/b.npy', np.array([1, 2], dtype='u1'))
np.save('d/__metadata__.npy', np.array(json.dumps({'k': 'v'})))
open('d/notes.txt', 'w').write('not an array')
np.save('single.npy', np.arange(4, dtype='<i8'))
"#,
        dir.path(),
    );
    let p = |n: &str| dir.path().join(n);
    ok(
        &npymap(&["convert", s(&p("d")), s(&p("d.safetensors"))]),
        "dir",
    );
    ok(
        &npymap(&["convert", s(&p("single.npy")), s(&p("one.safetensors"))]),
        "single",
    );
    let out = python(
        r#"
import numpy as np
from safetensors import safe_open
with safe_open('d.safetensors', 'np') as f:
    assert f.metadata() == {'k': 'v'}, f.metadata()
    assert sorted(f.keys()) == ['b', 'w'], f.keys()
    assert np.array_equal(f.get_tensor('w'), np.arange(6, dtype='<f4').reshape(2, 3))
    assert np.array_equal(f.get_tensor('b'), [1, 2])
with safe_open('one.safetensors', 'np') as f:
    assert list(f.keys()) == ['single'] and f.metadata() is None
    assert np.array_equal(f.get_tensor('single'), np.arange(4))
print('ok')
"#,
        dir.path(),
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn info_lists_tensors_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    python(
        r#"
import numpy as np
from safetensors.numpy import save_file
save_file({'w': np.zeros((2, 3), 'f4'), 'z': np.array(1, 'i2')}, 'm.safetensors', metadata={'format': 'pt'})
"#,
        dir.path(),
    );
    let st = dir.path().join("m.safetensors");
    let text = ok(&npymap(&["info", s(&st)]), "info");
    assert!(text.contains("safetensors, 2 tensors"), "{text}");
    assert!(text.contains(r#"metadata: {"format":"pt"}"#), "{text}");
    assert!(
        text.contains("w: F32 (<f4), shape (2, 3), 24 bytes at offset"),
        "{text}"
    );
    assert!(
        text.contains("z: I16 (<i2), shape (), 2 bytes at offset"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&npymap(&["info", s(&st), "--json"]), "info --json")).unwrap();
    assert_eq!(json["format"], "safetensors");
    assert_eq!(json["metadata"]["format"], "pt");
    let w = &json["tensors"][0];
    assert_eq!(
        (w["name"].as_str(), w["dtype"].as_str()),
        (Some("w"), Some("F32"))
    );
    assert_eq!(w["descr"], "<f4");
    assert_eq!(w["shape"], serde_json::json!([2, 3]));
    // Where the bytes are: the header's length plus 8.
    let start = 8 + json["header_len"].as_u64().unwrap();
    assert_eq!(w["data_offset"].as_u64(), Some(start));
    assert_eq!(w["nbytes"].as_u64(), Some(24));
}

#[test]
fn bf16_and_f8_tensors_are_refused_when_read_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for dtype in ["BF16", "F8_E4M3"] {
        let width = if dtype == "BF16" { 2 } else { 1 };
        let json = format!(
            r#"{{"a":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}},"w":{{"dtype":"{dtype}","shape":[2],"data_offsets":[4,{}]}}}}"#,
            4 + 2 * width
        );
        let st = dir.path().join(format!("{dtype}.safetensors"));
        std::fs::write(&st, st_bytes(&json, &vec![0u8; 4 + 2 * width])).unwrap();
        let npz = dir.path().join(format!("{dtype}.npz"));
        let o = npymap(&["convert", s(&st), s(&npz)]);
        assert_error(&o, dtype);
        let want = format!(
            "member \"w\": unsupported: safetensors dtype {dtype} has no NumPy dtype without ml_dtypes"
        );
        assert!(stderr(&o).contains(&want), "{}", stderr(&o));
        assert!(!npz.exists());
        let out = dir.path().join(format!("{dtype}_dir"));
        assert_error(&npymap(&["unpack", s(&st), s(&out)]), "unpack");
        assert!(!out.exists());
        // info still lists it.
        let text = ok(&npymap(&["info", s(&st)]), "info");
        assert!(
            text.contains(&format!("w: {dtype} (no NumPy dtype)")),
            "{text}"
        );
    }
}

#[test]
fn dtypes_safetensors_lacks_are_refused_naming_the_member() {
    let dir = tempfile::tempdir().unwrap();
    python(
        r#"
import numpy as np
cases = {
    'structured': np.zeros(2, dtype=[('x', 'f4'), ('y', 'i2')]),
    'text': np.array(['ab', 'c']),
    'bytes': np.array([b'ab']),
    'c16': np.zeros(2, dtype='c16'),
    'when': np.array(['2024-01-01'], dtype='M8[D]'),
    'longdouble': np.zeros(2, dtype=np.longdouble),
    'obj': np.array([1, 'a'], dtype=object),
}
for k, v in cases.items():
    np.savez(k + '.npz', ok=np.zeros(2, 'f4'), **{k: v})
"#,
        dir.path(),
    );
    for (name, descr) in [
        ("structured", "[('x', '<f4'), ('y', '<i2')]"),
        ("text", "'<U2'"),
        ("bytes", "'|S2'"),
        ("c16", "'<c16'"),
        ("when", "'<M8[D]'"),
        ("longdouble", "'<f16'"),
        ("obj", "'|O'"),
    ] {
        let out = dir.path().join(format!("{name}.safetensors"));
        let o = npymap(&[
            "convert",
            s(&dir.path().join(format!("{name}.npz"))),
            s(&out),
        ]);
        assert_error(&o, name);
        let want =
            format!("member \"{name}\": unsupported: dtype {descr} has no safetensors dtype");
        assert!(stderr(&o).contains(&want), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}");
    }
    assert!(
        listing(dir.path()).iter().all(|f| !f.starts_with('.')),
        "{:?}",
        listing(dir.path())
    );
}

#[test]
fn convert_options_and_odd_pairs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("m.safetensors");
    std::fs::write(&st, st_bytes("{}", &[])).unwrap();
    let npy = dir.path().join("x.npy");
    python(
        "import numpy as np; np.save('x.npy', np.arange(3))",
        dir.path(),
    );
    let out = dir.path().join("o.safetensors");
    let o = npymap(&["convert", s(&npy), s(&out), "--order", "F"]);
    assert_error(&o, "--order");
    assert!(stderr(&o).contains("do not apply to .safetensors conversions"));
    assert_error(&npymap(&["convert", s(&st), s(&out)]), "st -> st");
    let o = npymap(&["convert", s(&st), s(&dir.path().join("o.npy"))]);
    assert_error(&o, "st -> npy");
    assert!(stderr(&o).contains("npymap unpack"), "{}", stderr(&o));
    // An empty file converts to an empty archive.
    let npz = dir.path().join("empty.npz");
    ok(&npymap(&["convert", s(&st), s(&npz)]), "empty");
    let n = python(
        "import numpy as np; print(len(np.load('empty.npz')))",
        dir.path(),
    );
    assert_eq!(n.trim(), "0");
    assert!(!out.exists());
}

#[test]
fn unpack_refuses_unsafe_names_and_leaves_dir_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../evil", "/abs", "a/../../b", ""] {
        let json = format!(
            r#"{{"ok":{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}},{}:{{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}}}"#,
            serde_json::to_string(name).unwrap()
        );
        let st = dir.path().join("bad.safetensors");
        std::fs::write(&st, st_bytes(&json, &[1, 2])).unwrap();
        let out = dir.path().join("out");
        let o = npymap(&["unpack", s(&st), s(&out)]);
        assert_error(&o, name);
        assert!(stderr(&o).contains("unsafe member name"), "{}", stderr(&o));
        assert!(!out.exists(), "{name}");
        assert!(!dir.path().join("evil.npy").exists());
        // Sub-directories in a name are fine, as in an npz.
    }
    let json = r#"{"layer/w":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}"#;
    let st = dir.path().join("nested.safetensors");
    std::fs::write(&st, st_bytes(json, &[0xff, 7])).unwrap();
    let out = dir.path().join("nested");
    ok(&npymap(&["unpack", s(&st), s(&out)]), "nested");
    let v = python(
        "import numpy as np; print(np.load('nested/layer/w.npy').tolist())",
        dir.path(),
    );
    assert_eq!(v.trim(), "[-1, 7]");
}

/// Hostile files: each gives a precise error, never a panic, both from the
/// library and the CLI.
#[test]
fn hostile_files_give_precise_errors() {
    let t = |dtype: &str, shape: &str, b: u64, e: u64| {
        format!(r#""dtype":"{dtype}","shape":{shape},"data_offsets":[{b},{e}]"#)
    };
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    let mut past_end = 1000u64.to_le_bytes().to_vec();
    past_end.extend_from_slice(b"{}      ");
    let mut over_cap = (100_000_001u64).to_le_bytes().to_vec();
    over_cap.extend_from_slice(b"{}      ");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "empty file",
            vec![],
            "truncated safetensors header length: needs 8 bytes, only 0 available",
        ),
        (
            "header length huge",
            huge,
            "header is 18446744073709551615 bytes, over the limit of 100000000 bytes",
        ),
        (
            "header length over the cap",
            over_cap,
            "header is 100000001 bytes, over the limit of 100000000 bytes",
        ),
        (
            "header past the end",
            past_end,
            "truncated safetensors header: needs 1008 bytes, only 16 available",
        ),
        (
            "offsets past the end",
            st_bytes(
                &format!(r#"{{"w":{{{}}}}}"#, t("F32", "[4]", 0, 16)),
                &[0; 8],
            ),
            "invalid safetensors file: tensor data ends at byte",
        ),
        (
            "overlapping",
            st_bytes(
                &format!(
                    r#"{{"a":{{{}}},"b":{{{}}}}}"#,
                    t("F32", "[2]", 0, 8),
                    t("F32", "[2]", 4, 12)
                ),
                &[0; 12],
            ),
            "invalid safetensors file: header: invalid offset",
        ),
        (
            "size does not match shape",
            st_bytes(
                &format!(r#"{{"w":{{{}}}}}"#, t("F32", "[3]", 0, 8)),
                &[0; 8],
            ),
            "invalid safetensors file: header:",
        ),
        (
            "trailing bytes",
            st_bytes(&format!(r#"{{"w":{{{}}}}}"#, t("U8", "[2]", 0, 2)), &[0; 5]),
            "invalid safetensors file: 3 bytes after the tensor data",
        ),
        (
            "shape overflows",
            st_bytes(
                &format!(
                    r#"{{"w":{{{}}}}}"#,
                    t("F64", "[4611686018427387904,8]", 0, 0)
                ),
                &[],
            ),
            "invalid safetensors file: header:",
        ),
        (
            "unknown dtype",
            st_bytes(
                &format!(r#"{{"w":{{{}}}}}"#, t("F128", "[1]", 0, 16)),
                &[0; 16],
            ),
            "invalid safetensors file: header: unknown variant",
        ),
        (
            "not JSON",
            st_bytes("{\"w\":", &[]),
            "invalid safetensors file: header:",
        ),
        (
            "not an object",
            st_bytes("[1, 2]", &[]),
            "header does not start with '{'",
        ),
        (
            "not UTF-8",
            st_raw(b"{\"\xff\":1}", &[]),
            "header is not UTF-8",
        ),
        (
            "metadata not strings",
            st_bytes(r#"{"__metadata__":{"a":1}}"#, &[]),
            "invalid safetensors file: header:",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes, want) in &cases {
        let err = read_header(bytes, bytes.len() as u64).unwrap_err();
        assert!(err.to_string().contains(want), "{what}: {err}");
        let path = dir.path().join("h.safetensors");
        std::fs::write(&path, bytes).unwrap();
        let lib = SafetensorsFile::open(&path).unwrap_err();
        assert!(lib.to_string().contains(want), "{what}: {lib}");
        for args in [
            vec!["info", s(&path)],
            vec!["convert", s(&path), s(&dir.path().join("o.npz"))],
        ] {
            let o = npymap(&args);
            assert_error(&o, what);
            assert!(stderr(&o).contains(want), "{what}: {}", stderr(&o));
        }
        assert!(!dir.path().join("o.npz").exists());
    }
    // A dimension NumPy cannot hold, beside a zero one (so the size is 0):
    // listed, refused when converted.
    let bytes = st_bytes(
        &format!(
            r#"{{"w":{{{}}}}}"#,
            t("U8", "[0,9223372036854775808]", 0, 0)
        ),
        &[],
    );
    let contents = read_header(&bytes, bytes.len() as u64).unwrap();
    let err = contents.tensors[0].header().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::DimTooLarge { axis: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("member \"w\": "), "{err}");
    // More axes than NumPy's 64: listed, refused when converted.
    let shape = format!("[{}]", vec!["1"; 65].join(","));
    let bytes = st_bytes(&format!(r#"{{"w":{{{}}}}}"#, t("U8", &shape, 0, 1)), &[7]);
    let contents = read_header(&bytes, bytes.len() as u64).unwrap();
    let err = contents.tensors[0].header().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::TooManyDims { ndim: 65, max: 64 }),
        "{err}"
    );
}

/// Memory stays bounded (spec/cli.md §16.2, §3.3): a 64 MiB big-endian
/// Fortran-order stored member converts to `.safetensors`, and the file
/// back to `.npz` and into `.npy` files, under the address limit
/// `tests/large.rs` uses: 128 MiB (the binary, its threads' malloc arenas
/// and the contract's 64 MiB of working memory) plus the mapped input
/// (the `.safetensors` side is read with `pread`, nothing mapped).
#[test]
fn big_members_convert_both_ways_under_an_address_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    python(
        r#"
import numpy as np
a = np.asfortranarray(np.arange(2048 * 4096, dtype='>f8').reshape(2048, 4096))
np.savez('big.npz', a=a)
"#,
        dir,
    );
    ok(
        &common::cli::limited(dir, 128 + 64, &["convert", "big.npz", "big.safetensors"]),
        "npz -> st",
    );
    ok(
        &common::cli::limited(dir, 128, &["convert", "big.safetensors", "back.npz"]),
        "st -> npz",
    );
    ok(
        &common::cli::limited(dir, 128, &["unpack", "big.safetensors", "out"]),
        "unpack",
    );
    let out = python(
        r#"
import numpy as np
from safetensors.numpy import load_file
ref = np.arange(2048 * 4096, dtype='<f8').reshape(2048, 4096)
assert np.array_equal(load_file('big.safetensors')['a'], ref)
b = np.load('back.npz')['a']
assert b.dtype == '<f8' and not b.flags.f_contiguous and np.array_equal(b, ref)
assert np.array_equal(np.load('out/a.npy'), ref)
print('ok')
"#,
        dir,
    );
    assert_eq!(out.trim(), "ok");
}
