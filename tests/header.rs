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
