//! Records through serde (spec/records.md): structured arrays NumPy wrote
//! read into Rust structs with values checked against NumPy's own, records
//! written by npymap loaded by NumPy and byte-identical to `np.save`, and
//! the exact text of every refusal.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use half::f16;
use npymap::record;
use npymap::{Dtype, NpyView};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use common::cli::python;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `S<n>` fields: serialized as bytes (so the derived dtype is `S`), read
/// from any sequence of bytes.
mod bytes {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        <Vec<u8> as serde::Deserialize>::deserialize(d)
    }
}

/// Python that turns an array into JSON records, in storage order:
/// structs as objects by field name, subarrays as lists, bytes as lists
/// of ints. Rust deserializes that JSON into the same struct as the file.
const PY_JSON: &str = r#"
import json, sys
import numpy as np
def py(x):
    if isinstance(x, np.void) and x.dtype.names is not None:
        return {n: py(x[n]) for n in x.dtype.names}
    if isinstance(x, np.ndarray):
        return [py(v) for v in x]
    if isinstance(x, (bytes, np.bytes_)):
        return list(bytes(x))
    if isinstance(x, np.generic):
        return py(x.item())
    return x
def records(a):
    return [py(r) for r in a.ravel(order='A')]
"#;

/// Runs `script` (after [`PY_JSON`]) in `dir`; it prints one JSON object
/// mapping case names to their records.
fn numpy_records(dir: &Path, script: &str) -> BTreeMap<String, serde_json::Value> {
    let out = python(&format!("{PY_JSON}\n{script}"), dir);
    serde_json::from_str(&out).expect("python json")
}

fn expected<R: serde::de::DeserializeOwned>(
    cases: &BTreeMap<String, serde_json::Value>,
    name: &str,
) -> Vec<R> {
    serde_json::from_value(cases[name].clone()).expect("expected records")
}

// ---------------------------------------------------------------- read side

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Flat {
    i1: i8,
    i2: i16,
    i4: i32,
    i8: i64,
    u1: u8,
    u2: u16,
    u4: u32,
    u8: u64,
    f4: f32,
    f8: f64,
    b: bool,
}

/// The same fields in another order: matching is by name.
#[derive(Debug, PartialEq, Deserialize)]
struct FlatShuffled {
    b: bool,
    f8: f64,
    u8: u64,
    i1: i8,
    f4: f32,
    u2: u16,
    i8: i64,
    u1: u8,
    i4: i32,
    u4: u32,
    i2: i16,
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Pos {
    x: f32,
    y: f32,
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Nested {
    pos: Pos,
    id: u16,
    name: String,
    #[serde(with = "bytes")]
    tag: Vec<u8>,
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Pt {
    x: i16,
    y: i16,
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Sub {
    m: [[i32; 3]; 2],
    v: Vec<f64>,
    pts: (Pt, Pt),
}

#[derive(Debug, PartialEq, Deserialize)]
struct SubVecs {
    m: Vec<Vec<i32>>,
    v: [f64; 3],
    pts: Vec<Pt>,
}

#[derive(Debug, PartialEq, Deserialize, Serialize)]
struct Abc {
    a: u8,
    b: f64,
    c: i16,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Titled {
    x: f32,
    y: i16,
}

const PY_READ_CASES: &str = r#"
flat_dt = [('i1', 'i1'), ('i2', '<i2'), ('i4', '<i4'), ('i8', '<i8'), ('u1', 'u1'), ('u2', '<u2'),
           ('u4', '<u4'), ('u8', '<u8'), ('f4', '<f4'), ('f8', '<f8'), ('b', '?')]
flat = np.array([(-128, -32768, -2**31, -2**63, 0, 0, 0, 0, 1.5, -2.25, True),
                 (127, 32767, 2**31 - 1, 2**63 - 1, 255, 65535, 2**32 - 1, 2**64 - 1,
                  np.float32(0.1), 0.1, False),
                 (1, -2, 3, -4, 5, 6, 7, 8, -0.0, 1e300, True)], flat_dt)
cases = {
 'flat': flat,
 'flat_be': flat.astype(np.dtype(flat_dt).newbyteorder('>')),
 'flat_2d_fortran': np.asfortranarray(np.resize(flat, 6).reshape(2, 3)),
 'nested': np.array([((1.5, -2.0), 7, 'ab', b'xy'), ((3.0, 4.0), 65535, 'é日😀', b'')],
                    [('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u2'), ('name', '<U3'), ('tag', 'S2')]),
 'nested_be': np.array([((1.5, -2.0), 7, 'ab', b'xy')],
                       [('pos', [('x', '>f4'), ('y', '>f4')]), ('id', '>u2'), ('name', '>U3'), ('tag', 'S2')]),
 'sub': np.array([(np.arange(6).reshape(2, 3), [0.5, 1.5, -2.5], [(1, -1), (2, -2)]),
                  (-np.arange(6).reshape(2, 3), [1e-3, 0, 7], [(3, -3), (4, -4)])],
                 [('m', '<i4', (2, 3)), ('v', '<f8', (3,)), ('pts', [('x', '<i2'), ('y', '<i2')], (2,))]),
 'aligned': np.array([(1, 2.5, -3), (255, -1e10, 32767)],
                     np.dtype({'names': ['a', 'b', 'c'], 'formats': ['u1', '<f8', '<i2']}, align=True)),
 'titles': np.array([(1.25, -7), (2.5, 8)],
                    np.dtype({'names': ['x', 'y'], 'formats': ['<f4', '<i2'], 'titles': ['X title', 'Y title']})),
}
for k, a in cases.items():
    np.save(k + '.npy', a)
print(json.dumps({k: records(a) for k, a in cases.items()}))
"#;

#[test]
fn numpy_structured_arrays_read_into_structs_with_numpy_values() {
    let dir = tmp();
    let cases = numpy_records(dir.path(), PY_READ_CASES);
    let p = |name: &str| dir.path().join(format!("{name}.npy"));

    for name in ["flat", "flat_be"] {
        let got = record::read::<Flat>(p(name)).unwrap();
        assert_eq!(got.shape(), [3], "{name}");
        let want: Vec<Flat> = expected(&cases, name);
        assert_eq!(got.as_slice(), want, "{name}");
        assert_eq!(got.as_slice()[1].u8, u64::MAX);
        assert_eq!(got.as_slice()[0].i8, i64::MIN);
        assert_eq!(got.as_slice()[1].f4, 0.1f32);
        // Field order in the Rust type does not matter.
        let shuffled = record::read::<FlatShuffled>(p(name)).unwrap();
        let want: Vec<FlatShuffled> = expected(&cases, name);
        assert_eq!(shuffled.into_vec(), want, "{name}");
    }

    // Fortran order: the records in storage order, shape and order kept.
    let f = record::read::<Flat>(p("flat_2d_fortran")).unwrap();
    assert_eq!(f.shape(), [2, 3]);
    assert!(f.fortran_order());
    let want: Vec<Flat> = expected(&cases, "flat_2d_fortran");
    assert_eq!(f.as_slice(), want);

    for name in ["nested", "nested_be"] {
        let got = record::read::<Nested>(p(name)).unwrap().into_vec();
        let want: Vec<Nested> = expected(&cases, name);
        assert_eq!(got, want, "{name}");
        assert_eq!(got[0].pos, Pos { x: 1.5, y: -2.0 });
        assert_eq!(got[0].tag, b"xy");
    }
    let nested = record::read::<Nested>(p("nested")).unwrap().into_vec();
    assert_eq!(nested[1].name, "é日😀");
    assert_eq!(nested[1].tag, b"");

    // Subarrays as arrays, tuples, or Vecs.
    let sub = record::read::<Sub>(p("sub")).unwrap().into_vec();
    let want: Vec<SubVecs> = expected(&cases, "sub");
    assert_eq!(sub[0].m, [[0, 1, 2], [3, 4, 5]]);
    assert_eq!(sub[1].pts, (Pt { x: 3, y: -3 }, Pt { x: 4, y: -4 }));
    let sub_vecs = record::read::<SubVecs>(p("sub")).unwrap().into_vec();
    assert_eq!(sub_vecs, want);
    for (a, b) in sub.iter().zip(&sub_vecs) {
        assert_eq!(a.m.iter().map(|r| r.to_vec()).collect::<Vec<_>>(), b.m);
        assert_eq!(a.v, b.v);
    }

    // aligned=True: padding bytes between the fields are never read.
    let aligned = record::read::<Abc>(p("aligned")).unwrap().into_vec();
    assert_eq!(aligned, expected::<Abc>(&cases, "aligned"));
    assert_eq!(aligned[1].b, -1e10);

    // Titles: fields are matched by name, the titles are ignored.
    let titled = record::read::<Titled>(p("titles")).unwrap().into_vec();
    assert_eq!(titled, expected::<Titled>(&cases, "titles"));
}

#[test]
fn repository_fixtures_read_by_name() {
    let npy = common::testdata().join("npy");
    #[derive(Debug, PartialEq, Deserialize)]
    struct Xy {
        x: i32,
        y: f64,
    }
    let a = record::read::<Xy>(npy.join("struct_simple.npy")).unwrap();
    assert_eq!(
        a.into_vec(),
        [
            Xy { x: 1, y: 1.5 },
            Xy { x: -2, y: 2.5 },
            Xy { x: 3, y: -0.0 }
        ]
    );
    // Trailing padding (itemsize past the last field) is skipped.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Xy2 {
        x: i32,
        y: i16,
    }
    let a = record::read::<Xy2>(npy.join("struct_trailing_pad.npy")).unwrap();
    assert_eq!(a.into_vec(), [Xy2 { x: 1, y: 2 }, Xy2 { x: 3, y: 4 }]);
    // Nested subarrays of structs, two levels.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Q {
        q: [[Pt; 1]; 2],
    }
    #[derive(Debug, PartialEq, Deserialize)]
    struct Deep {
        pts: Vec<Pt>,
        n: u8,
        m: Q,
    }
    let a = record::read::<Deep>(npy.join("struct_nested_subarray.npy")).unwrap();
    let d = &a.as_slice()[1];
    assert_eq!(d.pts[2], Pt { x: 6, y: -6 });
    assert_eq!(d.n, 3);
    assert_eq!(d.m.q[1][0], Pt { x: 9, y: 0 });
    // Big-endian fields.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Be {
        x: i32,
        y: f64,
        z: u16,
    }
    let a = record::read::<Be>(npy.join("struct_be.npy")).unwrap();
    assert_eq!(
        a.into_vec(),
        [
            Be { x: 1, y: 1.5, z: 7 },
            Be {
                x: -2,
                y: 2.5,
                z: 65535
            }
        ]
    );
    // Any record reads into a self-describing value (deserialize_any),
    // nesting as deep as the parser allows.
    let v = record::read::<serde_json::Value>(npy.join("struct_nested_deep10.npy")).unwrap();
    assert!(!v.is_empty());
    let v = record::read::<serde_json::Value>(npy.join("struct_strings.npy")).unwrap();
    assert_eq!(
        v.as_slice()[1],
        serde_json::json!({"name": "é", "tag": [113], "v": -1})
    );
}

#[test]
fn f16_bool_char_option_and_s_as_text() {
    let dir = tmp();
    python(
        r#"
import numpy as np
a = np.array([(1.5, True, 'x', b'ab', 3), (-2.25, False, 'é', b'\xff', 4)],
             [('h', '<f2'), ('ok', '?'), ('c', '<U1'), ('s', 'S2'), ('n', '<i4')])
np.save('a.npy', a)
np.save('b.npy', a.astype([('h', '>f2'), ('ok', '?'), ('c', '>U1'), ('s', 'S2'), ('n', '>i4')]))
"#,
        dir.path(),
    );
    #[derive(Debug, PartialEq, Deserialize)]
    struct R {
        h: f16,
        ok: bool,
        c: char,
        s: [u8; 2],
        n: Option<i32>,
        missing: Option<u8>,
    }
    for f in ["a.npy", "b.npy"] {
        let a = record::read::<R>(dir.path().join(f)).unwrap().into_vec();
        assert_eq!(
            a,
            [
                R {
                    h: f16::from_f32(1.5),
                    ok: true,
                    c: 'x',
                    s: *b"ab",
                    n: Some(3),
                    missing: None
                },
                R {
                    h: f16::from_f32(-2.25),
                    ok: false,
                    c: 'é',
                    s: [0xff, 0],
                    n: Some(4),
                    missing: None
                }
            ],
            "{f}"
        );
    }
    // `S<n>` reads as a String when it holds UTF-8, and says so when not.
    #[derive(Debug, Deserialize)]
    struct S {
        #[allow(dead_code)]
        s: String,
    }
    let e = record::read::<S>(dir.path().join("a.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: record 1, field `s`: '|S2' bytes are not UTF-8 \
         (invalid utf-8 sequence of 1 bytes from index 0); read them as bytes"
    );
}

#[test]
fn read_refusals_name_the_record_the_field_and_both_dtypes() {
    let dir = tmp();
    python(
        r#"
import numpy as np
np.save('f8.npy', np.array([((1.0, 2.0), 1)], [('pos', [('x', '<f8'), ('y', '<f8')]), ('id', '<u2')]))
np.save('sur.npy', np.array([('ok',), ('\ud800x',)], [('name', '<U2')]))
b = np.array([(1, True), (2, False), (3, True)], [('n', 'u1'), ('ok', '?')])
raw = bytearray(b.tobytes()); raw[5] = 2
np.save('bool.npy', np.frombuffer(bytes(raw), b.dtype))
np.save('sub.npy', np.zeros(2, [('v', '<i4', (3,))]))
"#,
        dir.path(),
    );
    let p = |f: &str| dir.path().join(f);
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct P32 {
        x: f32,
        y: f32,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct R32 {
        pos: P32,
        id: u16,
    }
    let e = record::read::<R32>(p("f8.npy")).unwrap_err();
    assert_eq!(e.kind().code(), "dtype_mismatch");
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected '<f4' (f32) for field `pos.x`, found '<f8'"
    );
    assert_eq!(e.path(), Some(p("f8.npy").as_path()));
    let bytes = std::fs::read(p("f8.npy")).unwrap();
    assert_eq!(
        e.offset(),
        Some(NpyView::new(&bytes).unwrap().data_offset())
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pz {
        x: f64,
        z: f64,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Rz {
        pos: Pz,
    }
    let e = record::read::<Rz>(p("f8.npy")).unwrap_err();
    assert_eq!(e.kind().code(), "field_not_found");
    assert_eq!(
        e.kind().to_string(),
        "no field named \"pos.z\" in dtype [('pos', [('x', '<f8'), ('y', '<f8')]), ('id', '<u2')]"
    );

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        pos: IgnoredAny,
    }
    let e = record::read::<Strict>(p("f8.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: record 0, field `id`: unknown field `id`, expected `pos`"
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Name {
        name: String,
    }
    let e = record::read::<Name>(p("sur.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: record 1, field `name`: holds U+D800, a lone surrogate, \
         which a Rust String cannot hold"
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Flag {
        n: u8,
        ok: bool,
    }
    let e = record::read::<Flag>(p("bool.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: record 2, field `ok`: bool byte 0x02 is neither 0 nor 1"
    );
    // The offset is the start of record 2 in the file.
    let bytes = std::fs::read(p("bool.npy")).unwrap();
    assert_eq!(
        e.offset(),
        Some(NpyView::new(&bytes).unwrap().data_offset() + 2 * 2)
    );

    // Paths run through nested structs and subarrays of structs.
    python(
        "import numpy as np\n\
         np.save('pts.npy', np.zeros(1, [('pts', [('x', '<i2'), ('y', '<i2')], (2,))]))",
        dir.path(),
    );
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pt32 {
        x: i16,
        y: i32,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pts {
        pts: Vec<Pt32>,
    }
    let e = record::read::<Pts>(p("pts.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected '<i4' (i32) for field `pts[0].y`, found '<i2'"
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct V4 {
        v: [i32; 4],
    }
    let e = record::read::<V4>(p("sub.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: record 0, field `v`: invalid length 3, expected an array of length 4"
    );
    // The inner axes of a multi-dimensional subarray are a subarray too.
    python(
        "import numpy as np\nnp.save('m.npy', np.zeros(1, [('m', '<i4', (2, 3))]))",
        dir.path(),
    );
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Flat2 {
        m: Vec<i32>,
    }
    let e = record::read::<Flat2>(p("m.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected '<i4' (i32) for field `m[0]`, found ('<i4', (3,))"
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct VScalar {
        v: i32,
    }
    let e = record::read::<VScalar>(p("sub.npy")).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected '<i4' (i32) for field `v`, found ('<i4', (3,))"
    );
}

/// A header's sizes are checked against the real payload before anything
/// is allocated or decoded; zero-byte elements cannot be claimed in bulk.
#[test]
fn hostile_headers_are_refused_without_allocating() {
    fn npy(descr: &str, shape: &[usize], payload: &[u8]) -> Vec<u8> {
        let dtype = Dtype::from_descr_literal(descr).unwrap();
        let mut bytes = npymap::Header::new(dtype, shape).to_bytes(None).unwrap();
        bytes.extend_from_slice(payload);
        bytes
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct A {
        a: Vec<IgnoredAny>,
    }
    // 2^40 records claimed, 8 bytes there.
    let bytes = npy("[('a', '<f8', (1,))]", &[1 << 40], &[0; 8]);
    let e = NpyView::new(&bytes)
        .and_then(|v| record::from_view::<A>(&v))
        .unwrap_err();
    assert_eq!(e.kind().code(), "payload_size", "{e}");
    // 10^8 zero-byte elements in one record.
    let bytes = npy("[('a', [], (100000000,))]", &[1], &[]);
    let view = NpyView::new(&bytes).unwrap();
    let e = record::from_view::<A>(&view).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: record 0, field `a`: a subarray of 100000000 elements \
         of zero bytes each: npymap reads at most 65536"
    );
    // 2^40 zero-byte records.
    let bytes = npy("[]", &[1 << 40], &[]);
    let view = NpyView::new(&bytes).unwrap();
    let e = record::from_view::<IgnoredAny>(&view).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "unsupported: records: 1099511627776 records of zero bytes each: npymap reads at most 16777216"
    );
    // A few are fine.
    let bytes = npy("[]", &[3], &[]);
    let view = NpyView::new(&bytes).unwrap();
    #[derive(Debug, PartialEq, Deserialize)]
    struct Empty {}
    assert_eq!(
        record::from_view::<Empty>(&view).unwrap().into_vec(),
        [Empty {}, Empty {}, Empty {}]
    );
}

// --------------------------------------------------------------- write side

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct W1 {
    i1: i8,
    i2: i16,
    i4: i32,
    i8: i64,
    u1: u8,
    u2: u16,
    u4: u32,
    u8: u64,
    f4: f32,
    f8: f64,
    b: bool,
    h: f16,
    c: char,
}

fn w1() -> Vec<W1> {
    vec![
        W1 {
            i1: -128,
            i2: -32768,
            i4: i32::MIN,
            i8: i64::MIN,
            u1: 0,
            u2: 0,
            u4: 0,
            u8: 0,
            f4: 1.5,
            f8: -2.25,
            b: true,
            h: f16::from_f32(0.5),
            c: 'a',
        },
        W1 {
            i1: 127,
            i2: 32767,
            i4: i32::MAX,
            i8: i64::MAX,
            u1: 255,
            u2: 65535,
            u4: u32::MAX,
            u8: u64::MAX,
            f4: 0.1,
            f8: 1e300,
            b: false,
            h: f16::from_f32(-65504.0),
            c: '😀',
        },
        W1 {
            i1: 1,
            i2: -2,
            i4: 3,
            i8: -4,
            u1: 5,
            u2: 6,
            u4: 7,
            u8: 8,
            f4: -0.0,
            f8: 0.1,
            b: true,
            h: f16::from_f32(1.0),
            c: 'é',
        },
    ]
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct W2 {
    pos: Pos,
    id: u16,
    name: String,
    #[serde(with = "bytes")]
    tag: Vec<u8>,
    m: [[i32; 3]; 2],
    v: Vec<f64>,
    pts: (Pt, Pt),
    raw: Vec<u8>,
}

fn w2() -> Vec<W2> {
    vec![
        W2 {
            pos: Pos { x: 1.5, y: -2.0 },
            id: 7,
            name: "ab".into(),
            tag: b"xy".to_vec(),
            m: [[0, 1, 2], [3, 4, 5]],
            v: vec![0.5, 1.5, -2.5],
            pts: (Pt { x: 1, y: -1 }, Pt { x: 2, y: -2 }),
            raw: vec![9, 8],
        },
        W2 {
            pos: Pos { x: 3.0, y: 4.0 },
            id: 65535,
            name: "é日😀".into(),
            tag: b"".to_vec(),
            m: [[0, -1, -2], [-3, -4, -5]],
            v: vec![1e-3, 0.0, 7.0],
            pts: (Pt { x: 3, y: -3 }, Pt { x: 4, y: -4 }),
            raw: vec![0, 255],
        },
    ]
}

/// The same records, built by NumPy with the dtype spelled by hand.
const PY_WRITE_CASES: &str = r#"
import numpy as np, sys
w1_dt = np.dtype([('i1', 'i1'), ('i2', '<i2'), ('i4', '<i4'), ('i8', '<i8'), ('u1', 'u1'), ('u2', '<u2'),
                  ('u4', '<u4'), ('u8', '<u8'), ('f4', '<f4'), ('f8', '<f8'), ('b', '?'), ('h', '<f2'),
                  ('c', '<U1')])
w1 = np.array([(-128, -32768, -2**31, -2**63, 0, 0, 0, 0, 1.5, -2.25, True, 0.5, 'a'),
               (127, 32767, 2**31 - 1, 2**63 - 1, 255, 65535, 2**32 - 1, 2**64 - 1, np.float32(0.1), 1e300,
                False, -65504, '😀'),
               (1, -2, 3, -4, 5, 6, 7, 8, -0.0, 0.1, True, 1.0, 'é')], w1_dt)
w2_dt = np.dtype([('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u2'), ('name', '<U3'), ('tag', 'S2'),
                  ('m', '<i4', (2, 3)), ('v', '<f8', (3,)), ('pts', [('x', '<i2'), ('y', '<i2')], (2,)),
                  ('raw', 'u1', (2,))])
w2 = np.array([((1.5, -2.0), 7, 'ab', b'xy', [[0, 1, 2], [3, 4, 5]], [0.5, 1.5, -2.5], [(1, -1), (2, -2)], [9, 8]),
               ((3.0, 4.0), 65535, 'é日😀', b'', [[0, -1, -2], [-3, -4, -5]], [1e-3, 0, 7], [(3, -3), (4, -4)],
                [0, 255])], w2_dt).reshape(1, 2)
w2_be = w2.astype(w2_dt.newbyteorder('>'))
w2_wide = w2.astype([(n, w2_dt[n].base if n != 'name' else '<U10', w2_dt[n].shape) for n in w2_dt.names])
# np.array leaves the padding of an aligned dtype uninitialised; the bytes
# are only defined (zero) in an array that starts as np.zeros.
abc = np.zeros(2, np.dtype({'names': ['a', 'b', 'c'], 'formats': ['u1', '<f8', '<i2']}, align=True))
abc[:] = [(1, 2.5, -3), (255, -1e10, 32767)]
titled = np.array([(1.25, -7), (2.5, 8)],
                  np.dtype({'names': ['x', 'y'], 'formats': ['<f4', '<i2'], 'titles': ['X title', 'Y title']}))
cases = {'w1': w1, 'w2': w2, 'w2_be': w2_be, 'w2_wide': w2_wide, 'abc': abc, 'titled': titled}
for k, a in cases.items():
    np.save('np_' + k + '.npy', a)
    ours = np.load('rs_' + k + '.npy')
    assert ours.dtype == a.dtype, (k, ours.dtype, a.dtype)
    assert ours.shape == a.shape, (k, ours.shape, a.shape)
    assert ours.tobytes() == a.tobytes(), k
    for n in a.dtype.names:
        assert np.array_equal(ours[n], a[n]), (k, n)
    print(k, repr(a.dtype.descr))
"#;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct TitledW {
    x: f32,
    y: i16,
}

#[test]
fn written_records_load_in_numpy_and_are_byte_identical_to_np_save() {
    let dir = tmp();
    let rs = |k: &str| dir.path().join(format!("rs_{k}.npy"));

    // Derived dtypes.
    let w1 = w1();
    record::write(rs("w1"), &[3], &w1).unwrap();
    let w2 = w2();
    let d2 = record::dtype_for(&w2).unwrap();
    assert_eq!(
        d2.descr(),
        "[('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u2'), ('name', '<U3'), ('tag', '|S2'), \
         ('m', '<i4', (2, 3)), ('v', '<f8', (3,)), ('pts', [('x', '<i2'), ('y', '<i2')], (2,)), \
         ('raw', '|u1', (2,))]"
    );
    record::write(rs("w2"), &[1, 2], &w2).unwrap();

    // Given dtypes: the other byte order, a wider U, aligned padding, titles.
    record::write_with_dtype(
        rs("w2_be"),
        &[1, 2],
        &d2.with_byte_order(npymap::ByteOrder::Big),
        &w2,
    )
    .unwrap();
    let wide = Dtype::from_descr_literal(&d2.descr().replace("<U3", "<U10")).unwrap();
    record::write_with_dtype(rs("w2_wide"), &[1, 2], &wide, &w2).unwrap();
    let abc = [
        Abc {
            a: 1,
            b: 2.5,
            c: -3,
        },
        Abc {
            a: 255,
            b: -1e10,
            c: 32767,
        },
    ];
    let aligned = Dtype::from_descr_literal(
        "[('a', '|u1'), ('', '|V7'), ('b', '<f8'), ('c', '<i2'), ('', '|V6')]",
    )
    .unwrap();
    record::write_with_dtype(rs("abc"), &[2], &aligned, &abc).unwrap();
    let titled = [TitledW { x: 1.25, y: -7 }, TitledW { x: 2.5, y: 8 }];
    let titles =
        Dtype::from_descr_literal("[(('X title', 'x'), '<f4'), (('Y title', 'y'), '<i2')]")
            .unwrap();
    record::write_with_dtype(rs("titled"), &[2], &titles, &titled).unwrap();

    let out = python(PY_WRITE_CASES, dir.path());
    assert_eq!(out.lines().count(), 6, "{out}");
    for k in ["w1", "w2", "w2_be", "w2_wide", "abc", "titled"] {
        let ours = std::fs::read(rs(k)).unwrap();
        let numpy = std::fs::read(dir.path().join(format!("np_{k}.npy"))).unwrap();
        assert!(ours == numpy, "{k}: npymap's file differs from np.save's");
    }

    // And back: what was written reads into the same records.
    assert_eq!(record::read::<W1>(rs("w1")).unwrap().into_vec(), w1);
    for k in ["w2", "w2_be", "w2_wide"] {
        let back = record::read::<W2>(rs(k)).unwrap();
        assert_eq!(back.shape(), [1, 2]);
        assert_eq!(back.into_vec(), w2, "{k}");
    }
    assert_eq!(record::read::<Abc>(rs("abc")).unwrap().into_vec(), abc);
}

#[test]
fn to_payload_encodes_any_dtype_and_zeroes_padding() {
    let abc = [Abc {
        a: 1,
        b: 2.5,
        c: -3,
    }];
    let dtype =
        Dtype::from_descr_literal("[('c', '>i2'), ('', '|V2'), ('a', '|u1'), ('b', '>f8')]")
            .unwrap();
    let payload = record::to_payload(&dtype, &abc).unwrap();
    let mut want = vec![0xff, 0xfd, 0, 0, 1];
    want.extend_from_slice(&2.5f64.to_be_bytes());
    assert_eq!(payload, want);
    // A String into S<n> writes its UTF-8 bytes; a Vec<u8> into S<n> its bytes.
    #[derive(Serialize)]
    struct T {
        s: String,
        b: Vec<u8>,
    }
    let dtype = Dtype::from_descr_literal("[('s', '|S4'), ('b', '|S3')]").unwrap();
    let payload = record::to_payload(
        &dtype,
        &[T {
            s: "é!".into(),
            b: vec![1, 2],
        }],
    )
    .unwrap();
    assert_eq!(payload, [0xc3, 0xa9, b'!', 0, 1, 2, 0]);
}

#[test]
fn write_refusals_are_exact_and_leave_the_old_file() {
    let dir = tmp();
    let path = dir.path().join("r.npy");
    record::write(&path, &[3], &w1()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = |e: npymap::Error| e.kind().to_string();

    #[derive(Serialize)]
    struct Opt {
        n: Option<i32>,
    }
    let e = record::write(&path, &[2], &[Opt { n: Some(1) }, Opt { n: None }]).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: record 1, field `n`: None has no dtype; records hold structs, \
         numbers, bool, text, bytes and sequences"
    );

    #[derive(Serialize)]
    struct V {
        v: Vec<f64>,
    }
    let e =
        record::write(&path, &[2], &[V { v: vec![1.0; 3] }, V { v: vec![1.0; 2] }]).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: record 1, field `v`: is a sequence of 2 here but a sequence of 3 \
         before; every record must have the same layout"
    );

    #[derive(Serialize)]
    enum Kind {
        A,
    }
    #[derive(Serialize)]
    struct E {
        k: Kind,
    }
    let e = record::write(&path, &[1], &[E { k: Kind::A }]).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: record 0, field `k`: enum Kind has no dtype; records hold \
         structs, numbers, bool, text, bytes and sequences"
    );

    #[derive(Serialize)]
    struct Skip {
        #[serde(skip_serializing_if = "Option::is_none")]
        x: Option<u8>,
    }
    let e = record::write(&path, &[2], &[Skip { x: Some(1) }, Skip { x: None }]).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: record 1, field `x`: is skipped in this record; every record \
         must write every field"
    );

    // A record is a struct with named fields (a tuple struct is not).
    #[derive(Serialize)]
    struct Pair(f32, f32);
    let e = record::write(&path, &[1], &[Pair(1.0, 2.0)]).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: the record type does not serialize as a struct with named fields"
    );

    let e = record::write::<Abc>(&path, &[0], &[]).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: no record to derive the dtype from; give the dtype (write_with_dtype)"
    );

    let e = record::write(&path, &[2], &w1()).unwrap_err();
    assert_eq!(
        err(e),
        "shape mismatch: expected 2 records for shape (2,), found 3 records"
    );

    let abc = [Abc {
        a: 1,
        b: 2.5,
        c: -3,
    }];
    let d = |s: &str| Dtype::from_descr_literal(s).unwrap();
    let e = record::write_with_dtype(
        &path,
        &[1],
        &d("[('a', 'u1'), ('b', '<f8'), ('c', '<i4')]"),
        &abc,
    )
    .unwrap_err();
    assert_eq!(
        err(e),
        "dtype mismatch: expected '<i2' (i16) for field `c`, found '<i4'"
    );
    let e =
        record::write_with_dtype(&path, &[1], &d("[('a', 'u1'), ('b', '<f8')]"), &abc).unwrap_err();
    assert_eq!(
        err(e),
        "no field named \"c\" in dtype [('a', '|u1'), ('b', '<f8')]"
    );
    let e = record::write_with_dtype(
        &path,
        &[1],
        &d("[('a', 'u1'), ('b', '<f8'), ('c', '<i2'), ('z', '<i2')]"),
        &abc,
    )
    .unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: record 0: the Rust type has no field `z` of dtype \
         [('a', '|u1'), ('b', '<f8'), ('c', '<i2'), ('z', '<i2')]"
    );
    let narrow = d(&record::dtype_for(&w2())
        .unwrap()
        .descr()
        .replace("<U3", "<U2"));
    let e = record::write_with_dtype(&path, &[2], &narrow, &w2()).unwrap_err();
    assert_eq!(
        err(e),
        "unsupported: records: record 1, field `name`: 3 characters do not fit '<U2' \
         (NumPy would cut them; npymap refuses)"
    );

    // Nothing above touched the file, and no temp file is left.
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(common::cli::listing(dir.path()), ["r.npy"]);
}

#[test]
fn npz_members_hold_records_both_ways() {
    use npymap::npz::{Compression, NpzReader, NpzWriter};
    let dir = tmp();
    // NumPy's archive, read by npymap.
    python(
        r#"
import numpy as np
nested = np.array([((1.5, -2.0), 7, 'ab', b'xy'), ((3.0, 4.0), 65535, 'é日😀', b'')],
                  [('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u2'), ('name', '<U3'), ('tag', 'S2')])
np.savez_compressed('np.npz', nested=nested, plain=np.arange(3))
"#,
        dir.path(),
    );
    let mut npz = NpzReader::open(dir.path().join("np.npz")).unwrap();
    let nested = npz.read_records::<Nested>("nested").unwrap().into_vec();
    assert_eq!(nested[1].name, "é日😀");
    assert_eq!(nested[0].pos, Pos { x: 1.5, y: -2.0 });
    assert_eq!(nested[0].tag, b"xy");
    let e = npz.read_records::<Nested>("plain").unwrap_err();
    assert_eq!(e.member(), Some("plain.npy"));
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected a structured dtype (struct) for field `<record>`, found '<i8'"
    );

    // npymap's archive, read by NumPy.
    let path = dir.path().join("rs.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    w.add_records("w2", &[2], &w2(), Compression::Stored)
        .unwrap();
    w.add_records("w1", &[3, 1], &w1(), Compression::Deflated)
        .unwrap();
    w.finish().unwrap();
    let out = python(
        r#"
import numpy as np
z = np.load('rs.npz')
print(z['w2'].dtype.descr)
print(z['w2']['name'].tolist(), z['w2']['pts']['y'].tolist())
print(z['w1'].shape, z['w1']['u8'].ravel().tolist(), z['w1']['c'].ravel().tolist())
"#,
        dir.path(),
    );
    assert_eq!(
        out,
        "[('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u2'), ('name', '<U3'), ('tag', '|S2'), \
         ('m', '<i4', (2, 3)), ('v', '<f8', (3,)), ('pts', [('x', '<i2'), ('y', '<i2')], (2,)), \
         ('raw', '|u1', (2,))]\n\
         ['ab', 'é日😀'] [[-1, -2], [-3, -4]]\n\
         (3, 1) [0, 18446744073709551615, 8] ['a', '😀', 'é']\n"
    );
}

#[test]
fn date_fields_read_and_write_as_numpy_does() {
    use npymap::{DateTime64, TimeDelta64, TimeUnit};
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Event {
        t: DateTime64,
        dt: TimeDelta64,
        v: f32,
    }
    // NumPy's fixture: [('t', '<M8[s]'), ('dt', '<m8[ms]'), ('v', '<f4')].
    let fixture = common::testdata().join("npy/struct_datetime.npy");
    let events = record::read::<Event>(&fixture).unwrap().into_vec();
    let want = vec![
        Event {
            // 2020-02-29T12:00:00
            t: DateTime64::new(1_582_977_600, TimeUnit::Seconds),
            dt: TimeDelta64::new(1500, TimeUnit::Millis),
            v: 1.0,
        },
        Event {
            t: DateTime64::nat(TimeUnit::Seconds),
            dt: TimeDelta64::nat(TimeUnit::Millis),
            v: 2.0,
        },
    ];
    assert_eq!(events, want);
    assert!(events[1].t.get().is_none());

    // Written back with the derived dtype: the same bytes as NumPy's file
    // (whose header np.save wrote).
    let dtype = record::dtype_for(&events).unwrap();
    assert_eq!(
        dtype.descr(),
        "[('t', '<M8[s]'), ('dt', '<m8[ms]'), ('v', '<f4')]"
    );
    let dir = tmp();
    let out = dir.path().join("events.npy");
    record::write(&out, &[2], &events).unwrap();
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&fixture).unwrap());

    // Multipliers and the other byte order.
    let got = python(
        r#"
import numpy as np
a = np.array([(5, -3)], [('t', '>M8[10ms]'), ('dt', '>m8[2D]')])
np.save('be.npy', a)
print(a['t'][0], a['dt'][0])
"#,
        dir.path(),
    );
    assert_eq!(got.trim(), "1970-01-01T00:00:00.050 -6 days");
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Be {
        t: DateTime64,
        dt: TimeDelta64,
    }
    let be = record::read::<Be>(dir.path().join("be.npy"))
        .unwrap()
        .into_vec();
    assert_eq!(be[0].t.to_string(), "5[10ms]");
    assert_eq!(be[0].dt.to_string(), "-3[2D]");
    let d = Dtype::from_descr_literal("[('t', '>M8[10ms]'), ('dt', '>m8[2D]')]").unwrap();
    record::write_with_dtype(dir.path().join("be2.npy"), &[1], &d, &be).unwrap();
    assert!(
        std::fs::read(dir.path().join("be2.npy")).unwrap()
            == std::fs::read(dir.path().join("be.npy")).unwrap()
    );

    // A unit other than the field's is refused, on both sides.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        t: TimeDelta64,
    }
    let e = record::read::<Wrong>(&fixture).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected '<m8[unit]' (TimeDelta64) for field `t`, found '<M8[s]'"
    );
    let days = [Event {
        t: DateTime64::new(1, TimeUnit::Days),
        ..want.into_iter().next().unwrap()
    }];
    let e = record::write_with_dtype(&out, &[1], &dtype, &days).unwrap_err();
    assert_eq!(
        e.kind().to_string(),
        "dtype mismatch: expected '<M8[D]' (DateTime64) for field `t`, found '<M8[s]'"
    );
}
