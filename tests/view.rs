//! Typed views over bytes: every numeric fixture through the element view
//! and (where native and aligned) the slice view; refusals; fields; chunks.

mod common;
mod support;

use std::borrow::Cow;

use npymap::{NpyView, NpyViewMut, Record};
use support::{Aligned, check_entry};

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(common::testdata().join(rel)).unwrap()
}

#[test]
fn every_numeric_fixture_matches_manifest_values_through_both_views() {
    let (mut checked, mut sliced) = (0, 0);
    for e in common::entries("npy") {
        if e.get("values").is_none() {
            continue;
        }
        let rel = e["path"].as_str().unwrap();
        let buf = Aligned::new(&load(rel), 0);
        let view = NpyView::new(buf.bytes()).unwrap_or_else(|err| panic!("{rel}: {err}"));
        if let Some(slice_used) = check_entry(&view, &e, rel) {
            checked += 1;
            sliced += usize::from(slice_used);
        }
    }
    // 60+ numeric / byte-string fixtures, big-endian and Fortran included.
    assert!(checked >= 60, "checked {checked}");
    assert!(
        sliced >= 40 && sliced < checked,
        "sliced {sliced} of {checked}"
    );
}

#[test]
fn raw_fixtures_match_through_both_views() {
    for e in common::entries("raw") {
        let rel = e["path"].as_str().unwrap();
        let bytes = load(rel);
        let offset = e["offset"].as_u64().unwrap() as usize;
        let header = npymap::Header {
            dtype: npymap::Dtype::from_descr(e["descr"].as_str().unwrap()).unwrap(),
            fortran_order: e["order"] == "F",
            shape: e["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect(),
        };
        let buf = Aligned::new(&bytes[offset..], 0);
        let view = NpyView::from_parts(Cow::Owned(header), buf.bytes(), offset as u64).unwrap();
        assert!(check_entry(&view, &e, rel).is_some(), "{rel}");
    }
}

#[test]
fn wrong_element_type_is_refused_with_expected_and_found() {
    for e in common::entries("npy") {
        let rel = e["path"].as_str().unwrap();
        let bytes = load(rel);
        let Ok(view) = NpyView::new(&bytes) else {
            assert!(rel.contains("object"), "{rel}");
            continue;
        };
        let descr = view.dtype().descr();
        if !descr.contains("f8") {
            let err = view.elements::<f64>().unwrap_err();
            assert_eq!(err.kind().code(), "dtype_mismatch", "{rel}");
            assert_eq!(
                view.as_slice::<f64>().unwrap_err().kind().code(),
                "dtype_mismatch"
            );
        }
        if !descr.contains("i4") {
            assert_eq!(
                view.elements::<i32>().unwrap_err().kind().code(),
                "dtype_mismatch",
                "{rel}"
            );
        }
    }
    let bytes = load("npy/f4_le.npy");
    let err = NpyView::new(&bytes).unwrap().as_slice::<i32>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "dtype mismatch: expected '<i4', found '<f4' (at byte 128)"
    );
}

#[test]
fn misaligned_payload_refuses_slice_but_element_view_reads_it() {
    let bytes = load("npy/f8_le.npy");
    let parsed = npymap::Header::parse(&bytes).unwrap();
    let payload = &bytes[128..];
    for shift in 1..8 {
        let buf = Aligned::new(payload, shift);
        let view = NpyView::from_parts(Cow::Borrowed(&parsed.header), buf.bytes(), 128).unwrap();
        let err = view.as_slice::<f64>().unwrap_err();
        assert_eq!(err.kind().code(), "misaligned", "{err}");
        assert!(err.to_string().contains("use the element view"), "{err}");
        assert_eq!(
            view.elements::<f64>().unwrap().to_vec(),
            [-1.875, -1.125, -0.375, 0.375, 1.125, 1.875]
        );
    }
}

#[test]
fn byte_order_mismatch_names_both_dtypes() {
    let bytes = load("npy/i4_be.npy");
    let view = NpyView::new(&bytes).unwrap();
    let err = view.as_slice::<i32>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "byte order mismatch: the slice view needs '<i4' (native order), the file has '>i4' (use the element view) (at byte 128)"
    );
}

#[test]
fn element_view_writes_in_the_file_byte_order() {
    let mut bytes = load("npy/i2_be.npy");
    let mut view = NpyViewMut::new(&mut bytes).unwrap();
    let mut el = view.elements_mut::<i16>().unwrap();
    el.set(0, 0x0102).unwrap();
    assert_eq!(
        el.set(6, 1).unwrap_err().kind().code(),
        "index_out_of_bounds"
    );
    assert_eq!(&bytes[128..130], &[0x01, 0x02]);
    let mut misaligned = Aligned::new(&load("npy/f8_le.npy")[128..], 3);
    let header = npymap::Header::parse(&load("npy/f8_le.npy"))
        .unwrap()
        .header;
    let mut view = NpyViewMut::from_parts(Cow::Owned(header), misaligned.bytes_mut(), 128).unwrap();
    view.elements_mut::<f64>()
        .unwrap()
        .copy_from_slice(&[1.0; 6])
        .unwrap();
    assert_eq!(view.as_view().to_vec::<f64>().unwrap(), [1.0; 6]);
}

#[test]
fn invalid_bool_bytes_are_refused() {
    let mut bytes = load("npy/b1.npy");
    bytes[130] = 2;
    let view = NpyView::new(&bytes).unwrap();
    let err = view.as_slice::<bool>().unwrap_err();
    assert_eq!(err.kind().code(), "invalid_bool", "{err}");
    assert_eq!(
        view.elements::<bool>().unwrap_err().kind().code(),
        "invalid_bool"
    );
}

#[test]
fn object_dtype_is_refused() {
    let bytes = load("npy/object.npy");
    assert_eq!(
        NpyView::new(&bytes).unwrap_err().kind().code(),
        "object_dtype"
    );
}

#[test]
fn zero_d_and_empty_arrays() {
    let bytes = load("npy/zero_d.npy");
    let v = NpyView::new(&bytes).unwrap();
    assert_eq!((v.len(), v.shape()), (1, &[][..]));
    assert_eq!(v.chunks(10).count(), 1);
    let bytes = load("npy/empty_3x0.npy");
    let v = NpyView::new(&bytes).unwrap();
    assert!(v.is_empty());
    assert_eq!(v.as_slice::<i32>().unwrap(), &[] as &[i32]);
    assert_eq!(
        v.chunks(2).map(|c| c.shape().to_vec()).collect::<Vec<_>>(),
        [vec![2, 0], vec![1, 0]]
    );
}

#[test]
fn field_views_of_flat_nested_and_subarray_fields() {
    let bytes = load("npy/struct_simple.npy");
    let v = NpyView::new(&bytes).unwrap();
    assert_eq!(
        v.field("x").unwrap().elements::<i32>().unwrap().to_vec(),
        [1, -2, 3]
    );
    let y = v.field("y").unwrap().elements::<f64>().unwrap().to_vec();
    assert_eq!(
        y.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
        [1.5f64.to_bits(), 2.5f64.to_bits(), (-0.0f64).to_bits()]
    );
    let err = v.field("z").unwrap_err();
    assert_eq!(err.kind().code(), "field_not_found");
    assert_eq!(
        v.field("x")
            .unwrap()
            .elements::<i64>()
            .unwrap_err()
            .kind()
            .code(),
        "dtype_mismatch"
    );

    let bytes = load("npy/struct_be.npy");
    let v = NpyView::new(&bytes).unwrap();
    assert_eq!(
        v.field("x").unwrap().elements::<i32>().unwrap().to_vec(),
        [1, -2]
    );
    assert_eq!(
        v.field("y").unwrap().elements::<f64>().unwrap().to_vec(),
        [1.5, 2.5]
    );
    assert_eq!(
        v.field("z").unwrap().elements::<u16>().unwrap().to_vec(),
        [7, 65535]
    );

    let bytes = load("npy/struct_nested_subarray.npy");
    let v = NpyView::new(&bytes).unwrap();
    let px = v.field_path(&["pts", "x"]).unwrap();
    assert_eq!(px.shape(), [2, 3]);
    assert_eq!(px.elements::<i16>().unwrap().to_vec(), [1, 2, 3, 4, 5, 6]);
    let py = v.field_path(&["pts", "y"]).unwrap();
    assert_eq!(
        py.elements::<i16>().unwrap().to_vec(),
        [-1, -2, -3, -4, -5, -6]
    );
    assert_eq!(
        v.field("n").unwrap().elements::<u8>().unwrap().to_vec(),
        [3, 3]
    );
    let qx = v.field_path(&["m", "q", "x"]).unwrap();
    assert_eq!(qx.shape(), [2, 2, 1]);
    assert_eq!(qx.elements::<i16>().unwrap().to_vec(), [9, 9, 9, 9]);
    assert_eq!(
        v.field_path(&["m", "nope"]).unwrap_err().kind().code(),
        "field_not_found"
    );

    let bytes = load("npy/struct_subarray.npy");
    let v = NpyView::new(&bytes).unwrap();
    let a = v.field("a").unwrap();
    assert_eq!(a.shape(), [2, 2, 3]);
    assert_eq!(a.len(), 12);
}

#[test]
fn field_writes_land_in_their_records() {
    let mut bytes = load("npy/struct_be.npy");
    let mut v = NpyViewMut::new(&mut bytes).unwrap();
    let mut z = v.field_mut("z").unwrap();
    z.elements_mut::<u16>().unwrap().set(1, 0x0102).unwrap();
    assert_eq!(&bytes[128 + 14 + 12..128 + 14 + 14], &[1, 2]);
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
struct Xy {
    x: i32,
    y: f64,
}

impl Record for Xy {
    fn dtype() -> Option<npymap::Dtype> {
        npymap::Dtype::structured([
            ("x", npymap::Dtype::from_descr("i4").unwrap()),
            ("y", npymap::Dtype::from_descr("f8").unwrap()),
        ])
        .ok()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, packed)]
struct Opaque12([u8; 12]);
impl Record for Opaque12 {}

#[test]
fn user_records_are_checked_against_the_structured_dtype() {
    let buf = Aligned::new(&load("npy/struct_simple.npy"), 0);
    let v = NpyView::new(buf.bytes()).unwrap();
    let rows = v.as_slice::<Xy>().unwrap();
    assert_eq!({ rows[2].x }, 3);
    assert_eq!(v.elements::<Opaque12>().unwrap().len(), 3);
    // Same size, other layout: refused.
    let bytes = load("npy/struct_trailing_pad.npy");
    let v = NpyView::new(&bytes).unwrap();
    assert_eq!(
        v.as_slice::<Xy>().unwrap_err().kind().code(),
        "dtype_mismatch"
    );
    assert_eq!(v.elements::<Opaque12>().unwrap().len(), 2);
    // Big-endian records are never reinterpreted.
    let bytes = load("npy/struct_be.npy");
    let v = NpyView::new(&bytes).unwrap();
    assert_eq!(v.elements::<[u8; 14]>().unwrap().len(), 2);
    // Numbers are not records.
    let bytes = load("npy/i8_le.npy");
    assert_eq!(
        NpyView::new(&bytes)
            .unwrap()
            .elements::<Xy>()
            .unwrap_err()
            .kind()
            .code(),
        "dtype_mismatch"
    );
}

#[test]
fn chunks_cover_the_payload_along_the_outer_axis() {
    for (rel, n) in [
        ("npy/c_2x3x4.npy", 24),
        ("npy/f_2x3x4.npy", 24),
        ("npy/one_d.npy", 7),
    ] {
        let bytes = load(rel);
        let v = NpyView::new(&bytes).unwrap();
        let mut all = Vec::new();
        let mut rows = 0;
        for c in v.chunks(3) {
            all.extend_from_slice(c.payload());
            let axis = if v.fortran_order() {
                v.shape().len() - 1
            } else {
                0
            };
            rows += c.shape()[axis];
        }
        assert_eq!(all, v.payload(), "{rel}");
        assert_eq!(
            rows,
            if v.fortran_order() { 4 } else { v.shape()[0] },
            "{rel}"
        );
        assert_eq!(v.len(), n);
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_views_use_c_and_fortran_strides() {
    for rel in [
        "npy/c_2x3.npy",
        "npy/f_2x3.npy",
        "npy/c_2x3x4.npy",
        "npy/f_2x3x4.npy",
    ] {
        let buf = Aligned::new(&load(rel), 0);
        let v = NpyView::new(buf.bytes()).unwrap();
        let logical: Vec<f64> = if v.dtype().descr().contains("f8") {
            v.as_array::<f64>().unwrap().iter().copied().collect()
        } else {
            v.as_array::<i32>()
                .unwrap()
                .iter()
                .map(|&x| f64::from(x))
                .collect()
        };
        // Iteration is in logical (C) order: 0, 1, 2, ...
        assert_eq!(
            logical,
            (0..logical.len()).map(|i| i as f64).collect::<Vec<_>>(),
            "{rel}"
        );
    }
    let buf = Aligned::new(&load("npy/f_2x3.npy"), 0);
    let v = NpyView::new(buf.bytes()).unwrap();
    let a = v.as_array_dim::<f64, ndarray::Ix2>().unwrap();
    assert_eq!(a[[1, 2]], 5.0);
    assert_eq!(v.to_array::<f64>().unwrap(), a.into_dyn());
    assert!(v.as_array_dim::<f64, ndarray::Ix3>().is_err());
    let bytes = load("npy/f8_be.npy");
    assert_eq!(
        NpyView::new(&bytes).unwrap().to_array::<f64>().unwrap()[[5]],
        1.875
    );
}
