//! Formats for one element of any dtype, built from the elements that will
//! be printed, as `_get_format_function` does: `BoolFormat`,
//! `IntegerFormat`, `FloatingFormat`, `ComplexFloatingFormat`, the
//! datetime / timedelta formats, `repr` for strings and bytes, `str` for
//! void, `StructuredVoidFormat` for records and `SubArrayFormat` for fields
//! with a shape.

use std::fmt::Write as _;

use super::float::FloatFmt;
use super::{EDGE_ITEMS, chunk};
use crate::convert::value::{
    Num, Value, decode_num, decode_value, format_datetime, format_element,
};
use crate::dtype::{Dtype, Scalar, ScalarKind, TimeUnit};
use crate::error::{Error, ErrorKind, Result};

/// Which pass over the printed elements is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// Ranges: min / max of numbers and times.
    Range,
    /// Widths of float digits (needs the notation chosen after `Range`).
    Width,
}

/// Running minimum and maximum of non-NaT times.
#[derive(Debug, Clone, Default)]
pub(super) struct TimeRange {
    min: Option<i64>,
    max: Option<i64>,
    any_nat: bool,
    width: usize,
}

/// The format of one element (or one field, or one subarray item).
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// `True` / `False`, padded to five characters unless the data is 0-d.
    Bool {
        /// Whether `' True'` is padded.
        pad: bool,
    },
    /// Integers right-aligned to the widest of min and max.
    Int {
        scalar: Scalar,
        min: Option<i128>,
        max: Option<i128>,
        width: usize,
    },
    /// Real floats.
    Float { scalar: Scalar, fmt: FloatFmt },
    /// Complex: real part, then imaginary part with a sign and `j`.
    Complex {
        scalar: Scalar,
        re: FloatFmt,
        im: FloatFmt,
    },
    /// `S` and `U`: Python's `repr`, unpadded.
    Text { scalar: Scalar },
    /// Unstructured void: `b'\x01\xFF'`.
    Void,
    /// datetime64 as quoted ISO text; timedelta64 as the raw count.
    Time {
        scalar: Scalar,
        datetime: bool,
        range: TimeRange,
    },
    /// A record: `(a, b)`, or `(a,)` for one field.
    Struct(Vec<FieldNode>),
    /// A field with a shape: nested `[a, b]` lists, summarised with `...`
    /// past the threshold.
    Sub {
        shape: Vec<u64>,
        base_size: usize,
        node: Box<Node>,
        threshold: u64,
    },
}

/// One field of a record: where it sits and how it prints.
#[derive(Debug, Clone)]
pub(super) struct FieldNode {
    pub(super) offset: usize,
    pub(super) size: usize,
    pub(super) node: Node,
}

fn time_int(scalar: &Scalar, bytes: &[u8]) -> Option<i64> {
    match decode_value(scalar, bytes) {
        Value::Datetime(v, ..) | Value::Timedelta(v, ..) => v,
        _ => None,
    }
}

fn num_i128(n: Num) -> i128 {
    match n {
        Num::Int(v) => i128::from(v),
        Num::UInt(v) => i128::from(v),
        Num::Bool(b) => i128::from(b),
        Num::Float(x) | Num::Complex(x, _) => x as i128,
    }
}

fn float_parts(scalar: &Scalar, bytes: &[u8]) -> (f64, f64) {
    match decode_num(scalar, bytes) {
        Num::Complex(re, im) => (re, im),
        other => (other.as_f64(), 0.0),
    }
}

impl Node {
    /// The format for `dtype`, before any element is seen. `zero_d` is
    /// true when the data the format is built from is 0-d (a 0-d array, or
    /// a field of one outside any subarray); `threshold` is the summarising
    /// threshold subarray fields use.
    pub(super) fn new(dtype: &Dtype, zero_d: bool, threshold: u64) -> Result<Node> {
        Ok(match dtype {
            Dtype::Scalar(s) => Node::scalar(*s, zero_d)?,
            Dtype::Subarray { .. } => {
                let (base, shape) = super::flatten_subarray(dtype);
                Node::Sub {
                    shape,
                    base_size: base.itemsize(),
                    node: Box::new(Node::new(base, false, threshold)?),
                    threshold,
                }
            }
            Dtype::Struct(st) => Node::Struct(
                st.fields()
                    .iter()
                    .map(|f| {
                        Ok(FieldNode {
                            offset: f.offset(),
                            size: f.dtype().itemsize(),
                            node: Node::new(f.dtype(), zero_d, threshold)?,
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
        })
    }

    fn scalar(s: Scalar, zero_d: bool) -> Result<Node> {
        Ok(match s.kind() {
            ScalarKind::Bool => Node::Bool { pad: !zero_d },
            ScalarKind::Int | ScalarKind::UInt => Node::Int {
                scalar: s,
                min: None,
                max: None,
                width: 0,
            },
            ScalarKind::Float => Node::Float {
                scalar: s,
                fmt: FloatFmt::new(s.itemsize(), false),
            },
            ScalarKind::Complex => Node::Complex {
                scalar: s,
                re: FloatFmt::new(s.itemsize() / 2, false),
                im: FloatFmt::new(s.itemsize() / 2, true),
            },
            ScalarKind::Bytes | ScalarKind::Unicode => Node::Text { scalar: s },
            ScalarKind::Void => Node::Void,
            ScalarKind::Datetime { .. } => Node::Time {
                scalar: s,
                datetime: true,
                range: TimeRange::default(),
            },
            ScalarKind::Timedelta { .. } => Node::Time {
                scalar: s,
                datetime: false,
                range: TimeRange::default(),
            },
            ScalarKind::Object => return Err(ErrorKind::ObjectDtype.into()),
        })
    }

    /// Whether any part needs the [`Pass::Width`] pass.
    pub(super) fn needs_width_pass(&self) -> bool {
        match self {
            Node::Float { .. } | Node::Complex { .. } => true,
            Node::Struct(fields) => fields.iter().any(|f| f.node.needs_width_pass()),
            Node::Sub { node, .. } => node.needs_width_pass(),
            _ => false,
        }
    }

    /// Feeds one element's bytes to the running statistics.
    pub(super) fn observe(&mut self, bytes: &[u8], pass: Pass) {
        match self {
            Node::Int {
                scalar, min, max, ..
            } if pass == Pass::Range => {
                let v = num_i128(decode_num(scalar, bytes));
                *min = Some(min.map_or(v, |m| m.min(v)));
                *max = Some(max.map_or(v, |m| m.max(v)));
            }
            Node::Float { scalar, fmt } => {
                let x = decode_num(scalar, bytes).as_f64();
                match pass {
                    Pass::Range => fmt.observe_range(x),
                    Pass::Width => fmt.observe_width(x),
                }
            }
            Node::Complex { scalar, re, im } => {
                let (r, i) = float_parts(scalar, bytes);
                match pass {
                    Pass::Range => {
                        re.observe_range(r);
                        im.observe_range(i);
                    }
                    Pass::Width => {
                        re.observe_width(r);
                        im.observe_width(i);
                    }
                }
            }
            Node::Time { scalar, range, .. } if pass == Pass::Range => {
                match time_int(scalar, bytes) {
                    Some(v) => {
                        range.min = Some(range.min.map_or(v, |m| m.min(v)));
                        range.max = Some(range.max.map_or(v, |m| m.max(v)));
                    }
                    None => range.any_nat = true,
                }
            }
            Node::Struct(fields) => {
                for f in fields {
                    if let Some(b) = chunk(bytes, f.offset, f.size) {
                        f.node.observe(b, pass);
                    }
                }
            }
            Node::Sub {
                base_size, node, ..
            } if *base_size > 0 => {
                for b in bytes.chunks_exact(*base_size) {
                    node.observe(b, pass);
                }
            }
            _ => {}
        }
    }

    /// After [`Pass::Range`]: fixes widths that depend only on ranges and
    /// the notation of floats.
    ///
    /// # Errors
    /// `Unsupported` for a datetime64 value with generic units, which NumPy
    /// cannot print either.
    pub(super) fn end_range_pass(&mut self) -> Result<()> {
        match self {
            Node::Int {
                min, max, width, ..
            } => {
                *width = [*min, *max]
                    .iter()
                    .flatten()
                    .map(|v| v.to_string().len())
                    .max()
                    .unwrap_or(0);
            }
            Node::Float { fmt, .. } => fmt.decide(),
            Node::Complex { re, im, .. } => {
                re.decide();
                im.decide();
            }
            Node::Time {
                scalar,
                datetime,
                range,
            } => {
                let mut width = 0;
                for v in [range.min, range.max].into_iter().flatten() {
                    width = width.max(time_text(scalar, *datetime, v)?.chars().count());
                }
                if range.any_nat {
                    width = width.max(5);
                }
                range.width = width;
            }
            Node::Struct(fields) => {
                for f in fields {
                    f.node.end_range_pass()?;
                }
            }
            Node::Sub { node, .. } => node.end_range_pass()?,
            _ => {}
        }
        Ok(())
    }

    /// After [`Pass::Width`] (or instead of it): final padding.
    pub(super) fn end_width_pass(&mut self) {
        match self {
            Node::Float { fmt, .. } => fmt.finish(),
            Node::Complex { re, im, .. } => {
                re.finish();
                im.finish();
            }
            Node::Struct(fields) => fields.iter_mut().for_each(|f| f.node.end_width_pass()),
            Node::Sub { node, .. } => node.end_width_pass(),
            _ => {}
        }
    }

    /// Formats one element.
    ///
    /// # Errors
    /// `Unsupported` for a datetime64 value with generic units.
    pub(super) fn format(&self, bytes: &[u8], out: &mut String) -> Result<()> {
        match self {
            Node::Bool { pad } => {
                let v = bytes.first().is_some_and(|&b| b != 0);
                out.push_str(match (v, pad) {
                    (true, true) => " True",
                    (true, false) => "True",
                    (false, _) => "False",
                });
            }
            Node::Int { scalar, width, .. } => {
                let v = num_i128(decode_num(scalar, bytes));
                let _ = write!(out, "{v:>width$}");
            }
            Node::Float { scalar, fmt } => fmt.format(decode_num(scalar, bytes).as_f64(), out),
            Node::Complex { scalar, re, im } => {
                let (r, i) = float_parts(scalar, bytes);
                re.format(r, out);
                let mut imag = String::new();
                im.format(i, &mut imag);
                let end = imag.trim_end().len();
                let (text, pad) = imag.split_at(end);
                out.push_str(text);
                out.push('j');
                out.push_str(pad);
            }
            Node::Text { scalar } => out.push_str(&format_element(scalar, bytes)),
            Node::Void => {
                out.push_str("b'");
                void_body(bytes, out);
                out.push('\'');
            }
            Node::Time {
                scalar,
                datetime,
                range,
            } => {
                let text = match time_int(scalar, bytes) {
                    Some(v) => time_text(scalar, *datetime, v)?,
                    None => "'NaT'".to_string(),
                };
                let pad = range.width.saturating_sub(text.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(&text);
            }
            Node::Struct(fields) => {
                out.push('(');
                for (n, f) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    let b = chunk(bytes, f.offset, f.size).ok_or_else(field_out_of_range)?;
                    f.node.format(b, out)?;
                }
                if fields.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Node::Sub {
                shape,
                base_size,
                node,
                threshold,
            } => {
                let summarise = summarises(shape, *threshold);
                format_subarray(shape, *base_size, node, summarise, bytes, out)?;
            }
        }
        Ok(())
    }
}

/// The text between the quotes of an unstructured void: `\xHH` per byte.
pub(super) fn void_body(bytes: &[u8], out: &mut String) {
    for b in bytes {
        let _ = write!(out, "\\x{b:02X}");
    }
}

pub(super) fn field_out_of_range() -> Error {
    ErrorKind::Dtype {
        descr: None,
        reason: "field extends past the end of the element".to_string(),
    }
    .into()
}

/// Whether a subarray of `shape` prints summarised (`...`): NumPy
/// summarises when its size passes the print threshold.
pub(super) fn summarises(shape: &[u64], threshold: u64) -> bool {
    shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .is_none_or(|c| c > threshold)
}

/// `SubArrayFormat.format_array`: nested lists joined by `, `, each axis
/// cut to its edge items when the subarray is summarised.
fn format_subarray(
    shape: &[u64],
    base_size: usize,
    node: &Node,
    summarise: bool,
    bytes: &[u8],
    out: &mut String,
) -> Result<()> {
    let Some((&len, rest)) = shape.split_first() else {
        return node.format(bytes, out);
    };
    let inner_count = rest.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let inner = inner_count
        .and_then(|c| usize::try_from(c).ok())
        .and_then(|c| c.checked_mul(base_size))
        .ok_or_else(field_out_of_range)?;
    out.push('[');
    let cut = summarise && len > 2 * EDGE_ITEMS;
    let mut first = true;
    let mut item = |i: u64, out: &mut String| -> Result<()> {
        if !first {
            out.push_str(", ");
        }
        first = false;
        let start = usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(inner))
            .ok_or_else(field_out_of_range)?;
        let b = chunk(bytes, start, inner).ok_or_else(field_out_of_range)?;
        format_subarray(rest, base_size, node, summarise, b, out)
    };
    if cut {
        for i in 0..EDGE_ITEMS {
            item(i, out)?;
        }
        out.push_str(", ...");
        for i in len - EDGE_ITEMS..len {
            item(i, out)?;
        }
    } else {
        for i in 0..len {
            item(i, out)?;
        }
    }
    out.push(']');
    Ok(())
}

/// A non-NaT time as NumPy prints it in an array: `'2020-01-01'` for
/// datetimes (quoted ISO text at the dtype's unit), the raw count for
/// timedeltas.
fn time_text(scalar: &Scalar, datetime: bool, v: i64) -> Result<String> {
    let (unit, mult) = match scalar.kind() {
        ScalarKind::Datetime { unit, multiplier } | ScalarKind::Timedelta { unit, multiplier } => {
            (unit, multiplier)
        }
        _ => (TimeUnit::Generic, 1),
    };
    if !datetime {
        return Ok(v.to_string());
    }
    if unit == TimeUnit::Generic {
        return Err(ErrorKind::Unsupported(
            "a datetime64 value other than NaT with generic units cannot be printed".to_string(),
        )
        .into());
    }
    Ok(format!("'{}'", format_datetime(Some(v), unit, mult)))
}
