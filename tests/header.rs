//! Every NumPy-made fixture parses to its manifest entry, and every header
//! NumPy wrote with default options re-renders to the same bytes.

mod common;

use npymap::{Dtype, Header};
use serde_json::Value;

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

#[test]
fn every_npy_fixture_matches_manifest() {
    let entries = common::entries("npy");
    assert!(
        entries.len() >= 100,
        "manifest lists {} npy files",
        entries.len()
    );
    for e in &entries {
        let path = common::testdata().join(e["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let p = Header::parse(&bytes).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let ctx = path.display();
        assert_eq!(p.version.as_str(), e["version"], "{ctx}");
        assert_eq!(p.header.dtype.to_json(), e["descr"], "{ctx}");
        assert_eq!(p.header.fortran_order, e["fortran_order"], "{ctx}");
        assert_eq!(p.header.shape, u64s(&e["shape"]), "{ctx}");
        assert_eq!(p.data_offset, e["data_offset"], "{ctx}");
        assert_eq!(p.header.dtype.itemsize() as u64, e["itemsize"], "{ctx}");
        assert_eq!(p.header.payload_len().unwrap(), e["nbytes"], "{ctx}");
        assert_eq!(p.header.dtype.alignment() as u64, e["alignment"], "{ctx}");
        if let Some(fields) = e.get("fields").and_then(Value::as_array) {
            let st = p.header.dtype.as_struct().expect("structured");
            assert_eq!(st.fields().len(), fields.len(), "{ctx}");
            for (f, m) in st.fields().iter().zip(fields) {
                assert_eq!(f.name(), m["name"], "{ctx}");
                assert_eq!(f.title(), m["title"].as_str(), "{ctx}");
                assert_eq!(f.offset() as u64, m["offset"], "{ctx}");
                let (base, shape) = match f.dtype() {
                    Dtype::Subarray { base, shape } => (base.as_ref(), shape.clone()),
                    d => (d, vec![]),
                };
                assert_eq!(base.to_json(), m["descr"], "{ctx} field {}", f.name());
                assert_eq!(shape, u64s(&m["shape"]), "{ctx} field {}", f.name());
            }
        }
        // The payload is exactly what the header implies (object: a pickle).
        if !p.header.dtype.has_object() {
            assert_eq!(
                bytes.len() as u64 - p.data_offset,
                p.header.payload_len().unwrap(),
                "{ctx}"
            );
        }
    }
}

#[test]
fn numpy_default_headers_rerender_byte_identical() {
    let mut checked = 0;
    for e in common::entries("npy") {
        if e["numpy_default"] != true {
            continue;
        }
        let path = common::testdata().join(e["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let p = Header::parse(&bytes).unwrap();
        let forced = p.header.to_bytes(Some(p.version)).unwrap();
        assert_eq!(
            forced,
            &bytes[..p.data_offset as usize],
            "{}",
            path.display()
        );
        // Automatic version choice agrees with NumPy's, except where the
        // fixture forced a newer version than needed.
        if !e["path"].as_str().unwrap().contains("explicit") {
            let auto = p.header.to_bytes(None).unwrap();
            assert_eq!(auto, &bytes[..p.data_offset as usize], "{}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} default headers");
}

#[test]
fn streaming_read_matches_slice_parse() {
    for e in common::entries("npy") {
        let path = common::testdata().join(e["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let a = Header::parse(&bytes).unwrap();
        let mut cursor = std::io::Cursor::new(&bytes);
        let b = Header::read_from(&mut cursor, &Default::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(cursor.position(), a.data_offset, "{}", path.display());
    }
}

#[test]
fn hand_made_descr_variants_parse_to_numpy_canonical_form() {
    for e in common::entries("npy") {
        if let Some(written) = e.get("descr_as_written").and_then(Value::as_str) {
            let d = Dtype::from_descr(written).unwrap();
            assert_eq!(d.to_json(), e["descr"], "{written}");
        }
    }
}

/// A header for `shape` of `<f8` as NumPy would write it.
fn f8_header(shape: &str) -> Vec<u8> {
    let text = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    let pad = 64 - (10 + text.len() + 1) % 64;
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(text.len() + 1 + pad).unwrap().to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

/// NumPy refuses an empty array whose non-zero dims times the itemsize
/// overflow `npy_intp` ("array is too big"), whatever the order of dims;
/// it accepts the same dims when they fit (spec/safety.md, size limits).
#[test]
fn zero_size_shapes_follow_numpy_size_limit() {
    for shape in [
        "(0, 1099511627776, 1099511627776)",
        "(1099511627776, 1099511627776, 0)",
        "(4611686018427387904, 0)",
    ] {
        let e = Header::parse(&f8_header(shape)).unwrap_err();
        assert_eq!(e.kind().code(), "overflow", "{shape}");
    }
    for shape in ["(1152921504606846975, 0)", "(0, 1099511627776, 1000)"] {
        let p = Header::parse(&f8_header(shape)).unwrap();
        assert_eq!(p.header.payload_len().unwrap(), 0, "{shape}");
        assert_eq!(p.header.element_count().unwrap(), 0, "{shape}");
    }
}

#[test]
fn structs_nested_as_deep_as_numpy_reads_parse() {
    // CPython's parser allows 200 nested brackets: a struct nested 99 levels
    // ([( per level) is the deepest NumPy can read back, and so can we.
    let depth = 99;
    let text = format!("{}'<i4'{}", "[('a', ".repeat(depth), ")]".repeat(depth));
    let d = Dtype::from_descr_literal(&text).unwrap();
    assert_eq!(d.itemsize(), 4);
    assert_eq!(d.descr(), text);
    let deeper = format!(
        "{}'<i4'{}",
        "[('a', ".repeat(depth + 2),
        ")]".repeat(depth + 2)
    );
    assert_eq!(
        Dtype::from_descr_literal(&deeper)
            .unwrap_err()
            .kind()
            .code(),
        "too_deep"
    );
}

#[test]
fn size_limits_do_not_depend_on_axis_order() {
    let f8 = Dtype::from_descr("<f8").unwrap();
    let empty = Dtype::structured(Vec::<(String, Dtype)>::new()).unwrap();
    let big = 1u64 << 40;
    let h = |dtype: &Dtype, shape: &[u64]| Header {
        dtype: dtype.clone(),
        fortran_order: false,
        shape: shape.to_vec(),
    };
    // NumPy refuses both orders: 8 * 2**80 bytes over the nonzero axes.
    for shape in [[0, big, big], [big, big, 0]] {
        let e = h(&f8, &shape).payload_len().unwrap_err();
        assert_eq!(e.kind().code(), "overflow", "{shape:?}");
        assert_eq!(h(&f8, &shape).element_count().unwrap(), 0);
        // Zero-itemsize arrays have no bytes to overflow (NumPy agrees).
        assert_eq!(h(&empty, &shape).payload_len().unwrap(), 0);
    }
    // Nonzero axes within the limit: an empty array in any order.
    for shape in [[0, big, 4], [big, 4, 0]] {
        assert_eq!(h(&f8, &shape).payload_len().unwrap(), 0, "{shape:?}");
    }
}
