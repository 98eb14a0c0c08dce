//! From [`Dtype`] to the text NumPy writes: `dtype.str`, `dtype.descr` and
//! Python's `repr` of them.

use std::fmt::Write;

use super::{Dtype, Scalar, ScalarKind, TimeUnit};

/// `dtype.str`: byte order, kind code, size, and `[unit]` for datetimes.
pub(crate) fn scalar_descr(s: &Scalar) -> String {
    let mut out = String::with_capacity(8);
    out.push(s.byte_order.as_char());
    let (code, size) = match s.kind {
        ScalarKind::Bool => ('b', s.itemsize),
        ScalarKind::Int => ('i', s.itemsize),
        ScalarKind::UInt => ('u', s.itemsize),
        ScalarKind::Float => ('f', s.itemsize),
        ScalarKind::Complex => ('c', s.itemsize),
        ScalarKind::Bytes => ('S', s.itemsize),
        ScalarKind::Unicode => ('U', s.itemsize / 4),
        ScalarKind::Void => ('V', s.itemsize),
        ScalarKind::Object => {
            out.push('O');
            return out;
        }
        ScalarKind::Datetime { unit, multiplier } | ScalarKind::Timedelta { unit, multiplier } => {
            out.push(if matches!(s.kind, ScalarKind::Datetime { .. }) {
                'M'
            } else {
                'm'
            });
            out.push('8');
            if unit != TimeUnit::Generic {
                out.push('[');
                if multiplier != 1 {
                    let _ = write!(out, "{multiplier}");
                }
                out.push_str(unit.as_str());
                out.push(']');
            }
            return out;
        }
    };
    out.push(code);
    let _ = write!(out, "{size}");
    out
}

/// Python's `repr` of a `str`: quote choice and escapes as CPython 3 does.
pub(crate) fn py_repr_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    py_escape_str(s, quote, out);
    out.push(quote);
}

/// The text between the quotes of Python's `repr` of `s` quoted with
/// `quote`: `repr` of a long string can so be written piece by piece.
pub(crate) fn py_escape_str(s: &str, quote: char, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x7f || is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
}

/// `str.isprintable()` for non-ASCII characters: false for the code points
/// Python's `repr` escapes (categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs),
/// from a table generated from CPython's Unicode database
/// (`testdata/gen_unprintable.py`; version in `unprintable.rs`).
fn is_printable(c: char) -> bool {
    let u = c as u32;
    super::unprintable::UNPRINTABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < u {
                std::cmp::Ordering::Less
            } else if lo > u {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

fn shape_repr(shape: &[u64], out: &mut String) {
    out.push('(');
    for (n, d) in shape.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{d}");
    }
    if shape.len() == 1 {
        out.push(',');
    }
    out.push(')');
}

/// `repr(dtype.descr)`, or of `dtype.str` for simple types.
pub(crate) fn descr_repr(d: &Dtype, out: &mut String) {
    match d {
        Dtype::Scalar(s) => {
            out.push('\'');
            out.push_str(&scalar_descr(s));
            out.push('\'');
        }
        Dtype::Subarray { base, shape } => {
            out.push('(');
            descr_repr(base, out);
            out.push_str(", ");
            shape_repr(shape, out);
            out.push(')');
        }
        Dtype::Struct(st) => {
            out.push('[');
            let mut first = true;
            let mut sep = |out: &mut String| {
                if !std::mem::take(&mut first) {
                    out.push_str(", ");
                }
            };
            let mut offset = 0usize;
            for f in &st.fields {
                if f.offset > offset {
                    sep(out);
                    let _ = write!(out, "('', '|V{}')", f.offset - offset);
                }
                sep(out);
                out.push('(');
                match &f.title {
                    Some(t) => {
                        out.push('(');
                        py_repr_str(t.as_str(), out);
                        out.push_str(", ");
                        py_repr_str(f.name.as_str(), out);
                        out.push(')');
                    }
                    None => py_repr_str(f.name.as_str(), out),
                }
                out.push_str(", ");
                match &f.dtype {
                    Dtype::Subarray { base, shape } => {
                        descr_repr(base, out);
                        out.push_str(", ");
                        shape_repr(shape, out);
                    }
                    other => descr_repr(other, out),
                }
                out.push(')');
                offset = f.offset.saturating_add(f.dtype.itemsize());
            }
            if st.itemsize > offset {
                sep(out);
                let _ = write!(out, "('', '|V{}')", st.itemsize - offset);
            }
            out.push(']');
        }
    }
}

/// The JSON mirror of `dtype.descr`: tuples become arrays.
pub(crate) fn to_json(d: &Dtype) -> serde_json::Value {
    use serde_json::Value as J;
    let shape = |s: &[u64]| J::Array(s.iter().map(|&d| J::from(d)).collect());
    match d {
        Dtype::Scalar(s) => J::String(scalar_descr(s)),
        Dtype::Subarray { base, shape: s } => J::Array(vec![to_json(base), shape(s)]),
        Dtype::Struct(st) => {
            let pad = |n: usize| J::Array(vec![J::from(""), J::String(format!("|V{n}"))]);
            let mut items = Vec::with_capacity(st.fields.len());
            let mut offset = 0usize;
            for f in &st.fields {
                if f.offset > offset {
                    items.push(pad(f.offset - offset));
                }
                let name = match &f.title {
                    Some(t) => J::Array(vec![J::from(t.as_str()), J::from(f.name.as_str())]),
                    None => J::from(f.name.as_str()),
                };
                items.push(match &f.dtype {
                    Dtype::Subarray { base, shape: s } => {
                        J::Array(vec![name, to_json(base), shape(s)])
                    }
                    other => J::Array(vec![name, to_json(other)]),
                });
                offset = f.offset.saturating_add(f.dtype.itemsize());
            }
            if st.itemsize > offset {
                items.push(pad(st.itemsize - offset));
            }
            J::Array(items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        let mut o = String::new();
        py_repr_str(s, &mut o);
        o
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(r("abc"), "'abc'");
        assert_eq!(r("a'b"), "\"a'b\"");
        assert_eq!(r("a\"b"), "'a\"b'");
        assert_eq!(r("a'\"b"), "'a\\'\"b'");
        assert_eq!(r("e\\f"), "'e\\\\f'");
        assert_eq!(r("\u{a0}x"), "'\\xa0x'");
        assert_eq!(r("température"), "'température'");
        assert_eq!(r("\x01\n\x7f"), "'\\x01\\n\\x7f'");
        assert_eq!(r("\u{2028}"), "'\\u2028'");
        // Format characters Python escapes, and printable variation selectors.
        assert_eq!(r("\u{890}"), "'\\u0890'");
        assert_eq!(r("\u{1d173}"), "'\\U0001d173'");
        assert_eq!(r("\u{e0001}"), "'\\U000e0001'");
        assert_eq!(r("a\u{e0100}"), "'a\u{e0100}'");
    }
}
