//! Property checks behind the fuzz targets. Hidden: not a stable API.
//!
//! Every cargo-fuzz target in `fuzz/` is a single call into one function
//! here, so `tests/fuzz_replay.rs` runs exactly the same checks on stable
//! Rust over the seed corpus and every saved regression in
//! `testdata/fuzz-regressions/<target>/`. [`TARGETS`] lists them; a new
//! target (`npy`, `npz`, `convert`) is a new `check_*` function and a new
//! row there, nothing else.
//!
//! A check returns normally when the input was handled correctly — which
//! for hostile input usually means a clean error — and panics when a
//! property fails. Panicking is this module's job, hence the lint allowance.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod payload;
#[cfg(feature = "arbitrary")]
mod roundtrip;
mod safetensors;

pub use payload::{check_npy, check_npz};
pub use safetensors::check_safetensors;

#[cfg(feature = "arbitrary")]
pub use roundtrip::{ArrayCase, check_convert, check_roundtrip};

use std::io::Cursor;

use crate::dtype::{ByteOrder, Dtype};
use crate::error::Error;
use crate::header::{Header, ParseOptions, Version};
use crate::literal::{self, Grammar, Val};
use crate::npy;

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `testdata/fuzz-regressions/<name>/` folder) and its check.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The check its body calls.
    pub check: fn(&[u8]),
}

/// Every target whose check exists in this build.
pub const TARGETS: &[Target] = &[
    Target {
        name: "header",
        check: check_header,
    },
    Target {
        name: "descr",
        check: check_descr,
    },
    Target {
        name: "literal",
        check: check_literal,
    },
    Target {
        name: "npy",
        check: check_npy,
    },
    Target {
        name: "npz",
        check: check_npz,
    },
    Target {
        name: "safetensors",
        check: check_safetensors,
    },
    #[cfg(feature = "arbitrary")]
    Target {
        name: "roundtrip",
        check: check_roundtrip,
    },
    #[cfg(feature = "arbitrary")]
    Target {
        name: "convert",
        check: check_convert,
    },
];

/// `header`: arbitrary bytes as the start of an `.npy` file.
///
/// Properties: the fast path for NumPy's spellings and the general parser
/// agree (headers, errors and messages); the slice parser and the streaming
/// reader agree (and the reader stops at the payload); errors point inside the input; whatever
/// parses re-renders in its own version (unless that version cannot hold
/// it) and in the oldest version that can, and each rendering re-parses to
/// an equal header.
pub fn check_header(data: &[u8]) {
    check_fast_path(data);
    let parsed = Header::parse(data);
    let mut cursor = Cursor::new(data);
    let streamed = Header::read_from(&mut cursor, &ParseOptions::default());
    match (&parsed, &streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "parse and read_from disagree");
            assert_eq!(cursor.position(), a.data_offset, "read_from overran");
        }
        (Err(a), Err(b)) => assert_eq!(a.kind().code(), b.kind().code(), "{a} / {b}"),
        _ => panic!("parse and read_from disagree: {parsed:?} / {streamed:?}"),
    }
    let _ = npy::detect(data);
    match parsed {
        Err(e) => check_error(&e, data.len()),
        Ok(p) => {
            let len = data.len() as u64;
            assert!(p.data_offset <= len, "data offset past the input");
            let _ = npy::check_payload(&p, len - p.data_offset);
            check_sizes(&p.header);
            check_writes(&p.header, Some(p.version));
            check_writes(&p.header, None);
        }
    }
}

/// The fast path for NumPy's own header spellings must be invisible:
/// `Header::parse` gives the general parser's header, or its error (kind,
/// offset and message), on every input.
pub(crate) fn check_fast_path(data: &[u8]) {
    let parsed = Header::parse(data);
    let general = Header::parse_general(data, &ParseOptions::default());
    assert_eq!(
        format!("{parsed:?}"),
        format!("{general:?}"),
        "fast path and general parser disagree"
    );
    if let (Err(a), Err(b)) = (&parsed, &general) {
        assert_eq!(a.to_string(), b.to_string(), "messages differ");
    }
}

/// `descr`: arbitrary text as a dtype description, read as a bare type
/// string, as a header literal and as the JSON form.
///
/// Properties: whatever parses renders (`descr()`) to text that re-parses
/// to an equal dtype and renders identically; the JSON form round-trips,
/// also through JSON text; the layout is consistent; the dtype fits in a
/// header that round-trips.
pub fn check_descr(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = Dtype::from_descr(text) {
        // Comma strings (`i4,f8`) give structs and subarrays.
        if let Some(scalar) = d.as_scalar() {
            assert_eq!(Dtype::from_descr(&scalar.descr()).ok(), Some(d.clone()));
        }
        check_dtype(&d);
    }
    match Dtype::from_descr_literal(text) {
        Ok(d) => check_dtype(&d),
        Err(e) => check_error(&e, text.len()),
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(d) = Dtype::from_json(&json)
    {
        check_dtype(&d);
    }
}

/// `literal`: arbitrary text through the Python-literal grammar, in both
/// dialects (with and without the `L` suffix).
///
/// Properties: errors point inside the input; whatever parses, rendered
/// back as a Python literal, re-parses to an equal value.
pub fn check_literal(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for long_suffix in [false, true] {
        let grammar = Grammar { long_suffix };
        match literal::parse(text, grammar) {
            Err(e) => check_error(&e, text.len()),
            Ok(lit) => {
                let mut out = String::new();
                render_val(&lit.val, &mut out);
                let back = literal::parse(&out, grammar)
                    .unwrap_or_else(|e| panic!("{out:?} (from {text:?}) does not re-parse: {e}"));
                assert!(
                    same_val(&lit.val, &back.val),
                    "{text:?} -> {out:?} -> {:?}",
                    back.val
                );
            }
        }
    }
}

/// Sizes do not depend on the order of the axes (a C array and its
/// Fortran twin hold the same bytes), and a parsed header's payload size is
/// within NumPy's limit.
fn check_sizes(h: &Header) {
    let nbytes = h.payload_len().expect("a parsed header's payload size");
    let count = h.element_count().ok();
    for shape in [
        h.shape.iter().rev().copied().collect::<Vec<_>>(),
        h.shape
            .iter()
            .cycle()
            .skip(1)
            .take(h.shape.len())
            .copied()
            .collect(),
    ] {
        let other = Header { shape, ..h.clone() };
        assert_eq!(other.payload_len().ok(), Some(nbytes), "{:?}", other.shape);
        assert_eq!(other.element_count().ok(), count, "{:?}", other.shape);
    }
}

/// An error from any parser: its offset lies inside the input, and it
/// displays.
fn check_error(e: &Error, input_len: usize) {
    if let Some(o) = e.offset() {
        assert!(
            o <= input_len as u64,
            "error offset {o} past {input_len}: {e}"
        );
    }
    assert!(!e.to_string().is_empty());
}

/// Deepest bracket nesting of a JSON text (brackets inside strings skipped).
fn json_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match (in_str, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_str = false,
            (false, _, '"') => in_str = true,
            (false, _, '[' | '{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The round-trip properties of one dtype (see [`check_descr`]).
fn check_dtype(d: &Dtype) {
    let text = d.descr();
    let back = Dtype::from_descr_literal(&text)
        .unwrap_or_else(|e| panic!("descr {text:?} of {d:?} does not re-parse: {e}"));
    assert_eq!(&back, d, "descr {text:?} re-parses differently");
    assert_eq!(back.descr(), text);

    let json = d.to_json();
    let from_json =
        Dtype::from_json(&json).unwrap_or_else(|e| panic!("JSON {json} does not re-parse: {e}"));
    assert_eq!(&from_json, d, "JSON {json} re-parses differently");
    let json_text = serde_json::to_string(d).expect("a dtype serializes");
    match serde_json::from_str::<Dtype>(&json_text) {
        Ok(from_text) => assert_eq!(&from_text, d),
        // serde_json stops at 128 levels; dtypes nested deeper than that in
        // JSON (NumPy reads structs up to 99 levels) are refused, not misread.
        Err(e) => assert!(
            e.to_string().contains("recursion limit") && json_depth(&json_text) >= 128,
            "JSON text {json_text} does not deserialize: {e}"
        ),
    }

    check_layout(d);
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let swapped = d.with_byte_order(order);
        assert_eq!(swapped.itemsize(), d.itemsize());
        assert!(swapped.with_byte_order(ByteOrder::NATIVE).is_native());
    }
    let header = Header {
        dtype: d.clone(),
        fortran_order: false,
        shape: vec![],
    };
    check_writes(&header, None);
}

/// Fields lie inside the element, in order, without overlap, under unique
/// names and titles; sizes multiply out.
fn check_layout(d: &Dtype) {
    match d {
        Dtype::Scalar(s) => assert!(s.itemsize() > 0),
        Dtype::Subarray { base, shape } => {
            check_layout(base);
            let size = shape
                .iter()
                .try_fold(base.itemsize() as u64, |a, &n| a.checked_mul(n));
            assert_eq!(size, Some(d.itemsize() as u64), "subarray size");
        }
        Dtype::Struct(st) => {
            let mut end = 0;
            let mut names = std::collections::HashSet::new();
            for f in st.fields() {
                check_layout(f.dtype());
                assert!(f.offset() >= end, "field {:?} overlaps", f.name());
                end = f.offset() + f.dtype().itemsize();
                assert!(names.insert(f.name()), "name {:?} twice", f.name());
                if let Some(t) = f.title() {
                    assert!(names.insert(t), "title {t:?} twice");
                }
            }
            assert!(end <= st.itemsize(), "fields past the itemsize");
        }
    }
}

/// Writes `h` in `version` (or the oldest that holds it) and checks the
/// bytes: aligned, newline-terminated, exactly the dict text plus padding,
/// and re-parsing to `h`; writing the re-parsed header again gives the same
/// bytes.
pub(crate) fn check_writes(h: &Header, version: Option<Version>) -> Option<Vec<u8>> {
    // A top-level subarray is written (and read) folded into the shape.
    let folded;
    let h = if matches!(h.dtype, Dtype::Subarray { .. }) {
        match h.clone().fold_subarray() {
            Ok(f) => {
                folded = f;
                &folded
            }
            Err(_) => {
                assert!(h.to_bytes(version).is_err(), "unfoldable {h:?} was written");
                return None;
            }
        }
    } else {
        h
    };
    let bytes = match h.to_bytes(version) {
        Ok(b) => b,
        Err(e) => {
            assert_eq!(e.kind().code(), "version_too_small", "{e}");
            let text_len = h.dict_text().len();
            let fits = match version {
                Some(Version::V1_0) => text_len < 65_000 && !h.dtype.needs_utf8(),
                Some(Version::V2_0) => !h.dtype.needs_utf8(),
                _ => true,
            };
            assert!(!fits, "{h:?} cannot be written as {version:?}: {e}");
            return None;
        }
    };
    assert_eq!(bytes.len() % 64, 0, "header not aligned");
    assert_eq!(bytes.last(), Some(&b'\n'));
    let p = Header::parse(&bytes)
        .unwrap_or_else(|e| panic!("written header does not re-parse: {e}\n{bytes:?}"));
    assert_eq!(&p.header, h, "written header re-parses differently");
    assert_eq!(p.data_offset, bytes.len() as u64);
    match version {
        Some(v) => assert_eq!(p.version, v),
        // The oldest version that holds the header.
        None => match p.version {
            Version::V1_0 => {}
            Version::V2_0 => assert!(h.to_bytes(Some(Version::V1_0)).is_err()),
            Version::V3_0 => assert!(h.to_bytes(Some(Version::V2_0)).is_err()),
        },
    }
    let pre = p.version.preamble_len();
    let text = h.dict_text();
    let body = &bytes[pre..bytes.len() - 1];
    let dict_len = match p.version {
        Version::V3_0 => {
            assert!(body.starts_with(text.as_bytes()), "header is not the dict");
            text.len()
        }
        _ => {
            let latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
            assert!(body.starts_with(&latin1), "header is not the dict");
            latin1.len()
        }
    };
    assert!(body[dict_len..].iter().all(|&b| b == b' '), "padding");
    assert_eq!(
        p.header.to_bytes(Some(p.version)).ok().as_ref(),
        Some(&bytes)
    );
    Some(bytes)
}

/// Python source for a literal value.
fn render_val(v: &Val<'_>, out: &mut String) {
    use std::fmt::Write as _;
    let seq = |items: &mut dyn Iterator<Item = &Val<'_>>, out: &mut String| {
        for (n, it) in items.enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            render_val(it, out);
        }
    };
    match v {
        Val::Str(s) => crate::dtype::py_repr_str(s, out),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Float(x) if x.is_infinite() => out.push_str(if *x > 0.0 { "1e999" } else { "-1e999" }),
        Val::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        Val::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Val::None => out.push_str("None"),
        Val::Tuple(items) => {
            out.push('(');
            seq(&mut items.iter().map(|l| &l.val), out);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Val::List(items) => {
            out.push('[');
            seq(&mut items.iter().map(|l| &l.val), out);
            out.push(']');
        }
        Val::Dict(items) => {
            out.push('{');
            for (n, (k, v)) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                render_val(&k.val, out);
                out.push_str(": ");
                render_val(&v.val, out);
            }
            out.push('}');
        }
    }
}

/// Equality of literal values, ignoring where they were in the text.
fn same_val(a: &Val<'_>, b: &Val<'_>) -> bool {
    let same_seq = |x: &[literal::Lit<'_>], y: &[literal::Lit<'_>]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_val(&p.val, &q.val))
    };
    match (a, b) {
        (Val::Tuple(x), Val::Tuple(y)) | (Val::List(x), Val::List(y)) => same_seq(x, y),
        (Val::Dict(x), Val::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| same_val(&p.0.val, &q.0.val) && same_val(&p.1.val, &q.1.val))
        }
        _ => a == b,
    }
}
