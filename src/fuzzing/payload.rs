//! The payload-level targets: `npy` (a whole file from memory: every typed
//! view the dtype allows, fields, copies, stats, comparison, `repr`),
//! `npz` (an archive from memory: list, read, view every member) and the
//! conversion properties the structure-aware `convert` target runs on
//! generated arrays (there and back is the identity).

use std::io::Cursor;

use num_complex::Complex;

use crate::convert::compare::{Comparison, compare};
use crate::convert::sink::VecSink;
use crate::convert::{ConvertOptions, InMemory, Plan};
use crate::dtype::{ByteOrder, Dtype, ScalarKind};
use crate::header::{Header, Version};
use crate::npz::{NpzArchive, NpzOptions, NpzReader};
use crate::view::{Element, NpyView};

/// Elements read per typed view: enough to cover every code path, bounded
/// so a large valid array does not slow the fuzzer down.
const MAX_ELEMENTS: usize = 4096;
/// Largest payload run through conversions and comparison.
const MAX_CONVERT: usize = 1 << 16;

/// `npy`: arbitrary bytes as a whole `.npy` file held in memory.
///
/// Properties: a view opens exactly when the header parses and the payload
/// length is right (object arrays never); the typed element view for the
/// dtype's own type reads every element and agrees with the slice view
/// where that applies, while another type is refused; field views of
/// structs read their fields; `repr` (summarised) and, for numbers,
/// `stats` never panic; an array compares equal to itself; byte order and
/// memory order conversions there and back give the same bytes.
pub fn check_npy(data: &[u8]) {
    let parsed = Header::parse(data);
    let view = NpyView::new(data);
    let Ok(view) = view else {
        if let Ok(p) = &parsed {
            let len = (data.len() as u64).saturating_sub(p.data_offset);
            assert!(
                p.header.dtype.has_object()
                    || crate::npy::check_payload(p, len).is_err()
                    || crate::header::payload_len(&p.header.shape, p.header.dtype.itemsize())
                        .is_err(),
                "header and payload check out but the view refused"
            );
        }
        return;
    };
    let header = view.header().clone();
    let p = parsed.expect("a view opened, so the header parses");
    assert_eq!(p.header, header);
    let count = usize::try_from(header.element_count().expect("counted")).unwrap_or(usize::MAX);
    assert_eq!(view.len(), count);
    touch_elements(&view, &header.dtype, count);
    if let Some(st) = header.dtype.as_struct() {
        for f in st.fields().iter().take(16) {
            let field = view.field(f.name()).expect("a listed field has a view");
            if let Dtype::Scalar(s) = f.dtype() {
                match s.kind() {
                    ScalarKind::Float if s.itemsize() == 8 => {
                        drop(field.elements::<f64>().map(|e| e.iter().take(64).count()))
                    }
                    ScalarKind::Int if s.itemsize() == 4 => {
                        drop(field.elements::<i32>().map(|e| e.iter().take(64).count()))
                    }
                    _ => drop(field.elements::<u8>()),
                }
            }
        }
    }
    if header.dtype.has_object() {
        return;
    }
    let _ = crate::repr::array_repr(&header, view.payload(), false);
    if let Some(s) = header.dtype.as_scalar()
        && matches!(
            s.kind(),
            ScalarKind::Bool | ScalarKind::Int | ScalarKind::UInt | ScalarKind::Float
        )
    {
        let stats = crate::convert::stats::stats(&header.dtype, view.payload(), &mut |_| {})
            .expect("stats of a number array");
        assert_eq!(stats.count, count as u64);
    }
    if view.payload().len() <= MAX_CONVERT {
        let input = InMemory {
            header: header.clone(),
            bytes: view.payload().to_vec(),
            version: Some(p.version),
        };
        check_conversions(&input);
    }
}

/// Reads up to [`MAX_ELEMENTS`] elements through the view for the dtype's
/// own Rust type, checks the slice view agrees, and that a wrong type is
/// refused.
fn touch_elements(view: &NpyView<'_>, dtype: &Dtype, count: usize) {
    let Some(s) = dtype.as_scalar() else {
        assert!(
            view.elements::<f64>().is_err(),
            "a structured array read as f64"
        );
        return;
    };
    match (s.kind(), s.itemsize()) {
        (ScalarKind::Bool, 1) => read_as::<bool>(view, count, true),
        (ScalarKind::Int, 1) => read_as::<i8>(view, count, false),
        (ScalarKind::Int, 2) => read_as::<i16>(view, count, false),
        (ScalarKind::Int, 4) => read_as::<i32>(view, count, false),
        (ScalarKind::Int, 8) => read_as::<i64>(view, count, false),
        (ScalarKind::UInt, 1) => read_as::<u8>(view, count, false),
        (ScalarKind::UInt, 2) => read_as::<u16>(view, count, false),
        (ScalarKind::UInt, 4) => read_as::<u32>(view, count, false),
        (ScalarKind::UInt, 8) => read_as::<u64>(view, count, false),
        (ScalarKind::Float, 2) => read_as::<half::f16>(view, count, false),
        (ScalarKind::Float, 4) => read_as::<f32>(view, count, false),
        (ScalarKind::Float, 8) => read_as::<f64>(view, count, false),
        (ScalarKind::Complex, 8) => read_as::<Complex<f32>>(view, count, false),
        (ScalarKind::Complex, 16) => read_as::<Complex<f64>>(view, count, false),
        _ => {}
    }
    if !matches!((s.kind(), s.itemsize()), (ScalarKind::Float, 8)) {
        assert!(view.elements::<f64>().is_err(), "{dtype} read as f64");
    }
}

fn read_as<T: Element + std::fmt::Debug>(view: &NpyView<'_>, count: usize, may_be_invalid: bool) {
    let elements = match view.elements::<T>() {
        Ok(e) => e,
        // Bool views refuse bytes other than 0 and 1.
        Err(e) if may_be_invalid && e.kind().code() == "invalid_bool" => return,
        Err(e) => panic!("the dtype's own type was refused: {e}"),
    };
    assert_eq!(elements.len(), count);
    let n = count.min(MAX_ELEMENTS);
    let got: Vec<T> = elements.iter().take(n).collect();
    assert_eq!(got.len(), n);
    // Compare bit patterns: NaN != NaN as values.
    let bits = |a: &T| bytemuck::bytes_of(a).to_vec();
    for (i, v) in got.iter().enumerate().step_by(97) {
        assert_eq!(
            elements.get(i).as_ref().map(bits),
            Some(bits(v)),
            "get and iter disagree at {i}"
        );
    }
    if let Ok(slice) = view.as_slice::<T>() {
        assert_eq!(slice.len(), count);
        let same = slice
            .iter()
            .take(n)
            .zip(&got)
            .all(|(a, b)| bits(a) == bits(b));
        assert!(same, "slice and element views disagree");
    }
}

/// Byte order and memory order there and back give the input's bytes, and
/// every stage compares equal to the input.
pub(crate) fn check_conversions(input: &InMemory) {
    let h = &input.header;
    for (order, fortran) in [
        (ByteOrder::Big, !h.fortran_order),
        (ByteOrder::Little, h.fortran_order),
        (ByteOrder::NATIVE, !h.fortran_order),
    ] {
        let there = Plan::new(
            h,
            Version::V1_0,
            &ConvertOptions {
                byte_order: Some(order),
                fortran_order: Some(fortran),
                ..Default::default()
            },
        );
        let Ok(there) = there else {
            return;
        };
        let mut mid = VecSink::default();
        there
            .write_payload(input, &mut mid, 0)
            .expect("convert there");
        let mut mid_bytes = mid.bytes;
        mid_bytes.resize(input.bytes.len(), 0);
        let mid = InMemory {
            header: there.header.clone(),
            bytes: mid_bytes,
            version: None,
        };
        assert_eq!(
            compare(input, &mid).expect("compare"),
            Comparison::Equal,
            "converted array differs"
        );
        let back = Plan::new(
            &mid.header,
            Version::V1_0,
            &ConvertOptions {
                dtype: Some(h.dtype.clone()),
                fortran_order: Some(h.fortran_order),
                ..Default::default()
            },
        )
        .expect("the way back");
        let mut out = VecSink::default();
        back.write_payload(&mid, &mut out, 0).expect("convert back");
        out.bytes.resize(input.bytes.len(), 0);
        assert!(out.bytes == input.bytes, "there and back changed the bytes");
    }
}

/// `npz`: arbitrary bytes as an archive held in memory.
///
/// Properties: listing, reading and viewing give results or errors, never
/// panics; a member that both reads (inflated or stored, CRC checked) and
/// views in place gives the same bytes, and its bytes open as a view.
pub fn check_npz(data: &[u8]) {
    let opts = NpzOptions {
        max_read_len: 1 << 20,
        ..NpzOptions::default()
    };
    let Ok(mut reader) = NpzReader::with_options(Cursor::new(data), opts) else {
        assert!(
            NpzArchive::from_bytes_with(data, opts).is_err(),
            "reader refused what the archive view took"
        );
        return;
    };
    let archive = NpzArchive::from_bytes_with(data, opts)
        .expect("the archive view opens what the reader opened");
    let names: Vec<String> = reader
        .members()
        .iter()
        .map(|m| m.file_name().to_owned())
        .collect();
    for name in names.iter().take(8) {
        let read = reader.read(name);
        let viewed = archive.member_bytes(name);
        if let (Ok(r), Ok(v)) = (&read, &viewed) {
            assert_eq!(r.as_slice(), *v, "read and in-place view of {name} differ");
        }
        if let Ok(bytes) = viewed {
            check_npy(bytes);
        }
    }
}
