//! The `dtype=` part of an array's repr: NumPy's `dtype_is_implied` and
//! `dtype_short_repr`, with structured dtypes as `str(dtype)` writes them
//! (`numpy/_core/_dtype.py`: the list form for packed records, the dict
//! form with offsets otherwise).

use std::fmt::Write as _;

use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind, TimeUnit, py_repr_str};

/// Whether NumPy leaves `dtype=` out: native `int64`, `float64`,
/// `complex128` and `bool`.
pub(super) fn is_implied(dtype: &Dtype) -> bool {
    let Dtype::Scalar(s) = dtype else {
        return false;
    };
    s.byte_order().is_native()
        && matches!(
            (s.kind(), s.itemsize()),
            (ScalarKind::Int, 8)
                | (ScalarKind::Float, 8)
                | (ScalarKind::Complex, 16)
                | (ScalarKind::Bool, 1)
        )
}

/// `dtype.name`: `int32`, `float128`, `datetime64[ns]`, `timedelta64[10s]`.
fn name(s: &Scalar) -> String {
    let bits = s.itemsize() * 8;
    match s.kind() {
        ScalarKind::Bool => "bool".into(),
        ScalarKind::Int => format!("int{bits}"),
        ScalarKind::UInt => format!("uint{bits}"),
        ScalarKind::Float => format!("float{bits}"),
        ScalarKind::Complex => format!("complex{bits}"),
        ScalarKind::Bytes => format!("bytes{bits}"),
        ScalarKind::Unicode => format!("str{bits}"),
        ScalarKind::Void => format!("void{bits}"),
        ScalarKind::Object => "object".into(),
        ScalarKind::Datetime { unit, multiplier } => {
            format!("datetime64{}", unit_text(unit, multiplier))
        }
        ScalarKind::Timedelta { unit, multiplier } => {
            format!("timedelta64{}", unit_text(unit, multiplier))
        }
    }
}

/// `[ns]`, `[10s]`, or nothing for generic units.
fn unit_text(unit: TimeUnit, multiplier: u32) -> String {
    match (unit, multiplier) {
        (TimeUnit::Generic, _) => String::new(),
        (_, 1) => format!("[{}]", unit.as_str()),
        (_, m) => format!("[{m}{}]", unit.as_str()),
    }
}

/// `dtype_short_repr`: what follows `dtype=` in an array's repr.
pub(super) fn short_repr(dtype: &Dtype) -> String {
    let mut out = String::new();
    match dtype {
        Dtype::Scalar(s) => {
            let flexible = matches!(
                s.kind(),
                ScalarKind::Bytes | ScalarKind::Unicode | ScalarKind::Void
            );
            if flexible || !s.byte_order().is_native() {
                let _ = write!(out, "'{}'", s.descr());
            } else {
                let n = name(s);
                let plain = n.chars().next().is_some_and(char::is_alphabetic)
                    && n.chars().all(char::is_alphanumeric);
                if plain {
                    out.push_str(&n);
                } else {
                    py_repr_str(&n, &mut out);
                }
            }
        }
        other => construction_repr(other, &mut out),
    }
    out
}

/// `_construction_repr(dtype, short=True)`.
fn construction_repr(dtype: &Dtype, out: &mut String) {
    match dtype {
        Dtype::Scalar(s) => scalar_short(s, out),
        Dtype::Subarray { .. } => {
            let (base, shape) = super::flatten_subarray(dtype);
            out.push('(');
            construction_repr(base, out);
            out.push_str(", ");
            shape_repr(&shape, out);
            out.push(')');
        }
        Dtype::Struct(st) => {
            if is_packed(dtype) {
                out.push('[');
                for (n, f) in st.fields().iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    if let Some(title) = f.title() {
                        out.push('(');
                        py_repr_str(title, out);
                        out.push_str(", ");
                        py_repr_str(f.name(), out);
                        out.push(')');
                    } else {
                        py_repr_str(f.name(), out);
                    }
                    out.push_str(", ");
                    if let Dtype::Subarray { .. } = f.dtype() {
                        let (base, shape) = super::flatten_subarray(f.dtype());
                        construction_repr(base, out);
                        out.push_str(", ");
                        shape_repr(&shape, out);
                    } else {
                        construction_repr(f.dtype(), out);
                    }
                    out.push(')');
                }
                out.push(']');
            } else {
                let fields = st.fields();
                out.push_str("{'names': [");
                join(out, fields, |f, out| py_repr_str(f.name(), out));
                out.push_str("], 'formats': [");
                join(out, fields, |f, out| construction_repr(f.dtype(), out));
                out.push_str("], 'offsets': [");
                join(out, fields, |f, out| {
                    let _ = write!(out, "{}", f.offset());
                });
                if fields.iter().any(|f| f.title().is_some()) {
                    out.push_str("], 'titles': [");
                    join(out, fields, |f, out| match f.title() {
                        Some(t) => py_repr_str(t, out),
                        None => out.push_str("None"),
                    });
                }
                let _ = write!(out, "], 'itemsize': {}}}", st.itemsize());
            }
        }
    }
}

fn join<T>(out: &mut String, items: &[T], mut each: impl FnMut(&T, &mut String)) {
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        each(item, out);
    }
}

/// `_scalar_str(dtype, short=True)`: `'?'`, `'u1'`, `'<i4'`, `'S3'`,
/// `'<U4'`, `'V4'`, `'<M8[s]'`.
fn scalar_short(s: &Scalar, out: &mut String) {
    let order = match s.byte_order() {
        ByteOrder::Little => "<",
        ByteOrder::Big => ">",
        ByteOrder::NotApplicable => "",
    };
    let _ = match s.kind() {
        ScalarKind::Bool => write!(out, "'?'"),
        ScalarKind::Object => write!(out, "'O'"),
        ScalarKind::Bytes => write!(out, "'S{}'", s.itemsize()),
        ScalarKind::Void => write!(out, "'V{}'", s.itemsize()),
        ScalarKind::Unicode => write!(out, "'{order}U{}'", s.itemsize() / 4),
        ScalarKind::Datetime { unit, multiplier } => {
            write!(out, "'{order}M8{}'", unit_text(unit, multiplier))
        }
        ScalarKind::Timedelta { unit, multiplier } => {
            write!(out, "'{order}m8{}'", unit_text(unit, multiplier))
        }
        ScalarKind::Int => write!(out, "'{order}i{}'", s.itemsize()),
        ScalarKind::UInt => write!(out, "'{order}u{}'", s.itemsize()),
        ScalarKind::Float => write!(out, "'{order}f{}'", s.itemsize()),
        ScalarKind::Complex => write!(out, "'{order}c{}'", s.itemsize()),
    };
}

/// Python's `repr` of a shape tuple: `(3,)`, `(2, 3)`, `()`.
pub(super) fn shape_repr(shape: &[u64], out: &mut String) {
    out.push('(');
    join(out, shape, |d, out| {
        let _ = write!(out, "{d}");
    });
    if shape.len() == 1 {
        out.push(',');
    }
    out.push(')');
}

/// `_is_packed`: fields in order, each right after the previous, and
/// nothing after the last.
fn is_packed(dtype: &Dtype) -> bool {
    let Dtype::Struct(st) = dtype else {
        return true;
    };
    let mut end = 0usize;
    for f in st.fields() {
        if f.offset() != end {
            return false;
        }
        end = end.saturating_add(f.dtype().itemsize());
    }
    end == st.itemsize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(descr: &str) -> Dtype {
        Dtype::from_descr_literal(descr).unwrap()
    }

    #[test]
    fn simple_names() {
        assert_eq!(short_repr(&d("'<i4'")), "int32");
        assert_eq!(short_repr(&d("'>f8'")), "'>f8'");
        assert_eq!(short_repr(&d("'<f16'")), "float128");
        assert_eq!(short_repr(&d("'<M8[ns]'")), "'datetime64[ns]'");
        assert_eq!(short_repr(&d("'<M8'")), "datetime64");
        assert_eq!(short_repr(&d("'|S5'")), "'|S5'");
        assert!(is_implied(&d("'<i8'")));
        assert!(!is_implied(&d("'>i8'")));
    }

    #[test]
    fn structured_forms() {
        assert_eq!(
            short_repr(&d("[('x', '<i4'), ('y', '|u1', (2,))]")),
            "[('x', '<i4'), ('y', 'u1', (2,))]"
        );
        assert_eq!(
            short_repr(&d("[('a', '|u1'), ('', '|V3'), ('b', '<i4')]")),
            "{'names': ['a', 'b'], 'formats': ['u1', '<i4'], 'offsets': [0, 4], 'itemsize': 8}"
        );
    }
}
