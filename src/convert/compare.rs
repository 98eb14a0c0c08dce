//! `cmp`: are two arrays equal elementwise? Byte order, memory order and
//! format version may differ; NaN equals NaN and NaT equals NaT.

use std::ops::Range;

use super::sink::Sink;
use super::value::{Num, Value, decode_value};

use super::{ConvertOptions, Plan};
use crate::dtype::{ByteOrder, Dtype};
use crate::error::Result;
use crate::header::{Header, Version};

/// How two arrays differ, if they do.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Same shape, same dtype up to byte order, equal values.
    Equal,
    /// The shapes differ.
    Shape(Vec<u64>, Vec<u64>),
    /// The dtypes differ (beyond byte order).
    Dtype(String, String),
    /// The first differing element in C order: its index and both values.
    Value {
        /// Multi-index of the element.
        index: Vec<u64>,
        /// A's value, formatted.
        a: String,
        /// B's value, formatted.
        b: String,
    },
}

/// One scalar part of an element: its offset and type.
fn leaves(d: &Dtype, base: usize, out: &mut Vec<(usize, crate::dtype::Scalar)>) {
    match d {
        Dtype::Scalar(s) => out.push((base, *s)),
        Dtype::Subarray { base: inner, shape } => {
            let n: usize = shape.iter().map(|&x| x as usize).product();
            let size = inner.itemsize();
            for r in 0..n {
                leaves(inner, base + r * size, out);
            }
        }
        Dtype::Struct(st) => {
            for f in st.fields() {
                leaves(f.dtype(), base + f.offset(), out);
            }
        }
    }
}

fn same_float(x: f64, y: f64) -> bool {
    x == y || (x.is_nan() && y.is_nan())
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Num(Num::Float(x)), Value::Num(Num::Float(y))) => same_float(*x, *y),
        (Value::Num(Num::Complex(a, b)), Value::Num(Num::Complex(c, d))) => {
            same_float(*a, *c) && same_float(*b, *d)
        }
        _ => a == b,
    }
}

/// Compares elements of A (dtype `da`) and B (dtype `db`, equal up to byte order).
struct ElementEq {
    la: Vec<(usize, crate::dtype::Scalar)>,
    lb: Vec<(usize, crate::dtype::Scalar)>,
    itemsize: usize,
}

impl ElementEq {
    fn new(da: &Dtype, db: &Dtype) -> Self {
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        leaves(da, 0, &mut la);
        leaves(db, 0, &mut lb);
        ElementEq {
            la,
            lb,
            itemsize: da.itemsize(),
        }
    }

    fn equal(&self, a: &[u8], b: &[u8]) -> bool {
        if a == b && self.la.iter().zip(&self.lb).all(|(x, y)| x.1 == y.1) {
            return true;
        }
        self.la.iter().zip(&self.lb).all(|((oa, sa), (ob, sb))| {
            let (sz_a, sz_b) = (sa.itemsize(), sb.itemsize());
            match (a.get(*oa..oa + sz_a), b.get(*ob..ob + sz_b)) {
                (Some(x), Some(y)) => same_value(&decode_value(sa, x), &decode_value(sb, y)),
                _ => false,
            }
        })
    }

    fn show(&self, elem: &[u8], la: &[(usize, crate::dtype::Scalar)]) -> String {
        let parts: Vec<String> = la
            .iter()
            .filter_map(|(o, s)| {
                elem.get(*o..o + s.itemsize())
                    .map(|b| super::value::format_element(s, b))
            })
            .collect();
        if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_default()
        } else {
            format!("({})", parts.join(", "))
        }
    }
}

/// Multi-index of the element at C-order position `pos` of `shape`.
fn unravel(mut pos: u64, shape: &[u64]) -> Vec<u64> {
    let mut idx = vec![0; shape.len()];
    for (slot, &d) in idx.iter_mut().zip(shape).rev() {
        *slot = pos % d.max(1);
        pos /= d.max(1);
    }
    idx
}

/// Sink that compares the bytes it is given with A's payload at the same
/// offsets, remembering the smallest differing element.
struct CompareSink<'a> {
    a: &'a [u8],
    eq: &'a ElementEq,
    first: Option<usize>,
}

impl Sink for CompareSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let size = self.eq.itemsize;
        let start = offset as usize;
        if self.first.is_some_and(|f| f * size < start) {
            return Ok(());
        }
        let a = self.a.get(start..start + data.len()).unwrap_or(&[]);
        if a.len() != data.len() {
            self.first = Some(self.first.map_or(start / size, |f| f.min(start / size)));
            return Ok(());
        }
        for (n, (x, y)) in a
            .chunks_exact(size)
            .zip(data.chunks_exact(size))
            .enumerate()
        {
            if !self.eq.equal(x, y) {
                let e = start / size + n;
                self.first = Some(self.first.map_or(e, |f| f.min(e)));
                break;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Compares array A (`ha`, payload `a`) with array B (`hb`, payload `b`).
/// The release callbacks let mapped inputs drop pages they are done with.
///
/// # Errors
/// `ObjectDtype` for object arrays; size errors from the headers.
pub fn compare(
    ha: &Header,
    a: &[u8],
    hb: &Header,
    b: &[u8],
    release_b: &mut dyn FnMut(Range<usize>),
) -> Result<Comparison> {
    if ha.dtype.has_object() || hb.dtype.has_object() {
        return Err(crate::ErrorKind::ObjectDtype.into());
    }
    if ha.shape != hb.shape {
        return Ok(Comparison::Shape(ha.shape.clone(), hb.shape.clone()));
    }
    if ha.dtype.with_byte_order(ByteOrder::Little) != hb.dtype.with_byte_order(ByteOrder::Little) {
        return Ok(Comparison::Dtype(
            ha.dtype.to_string(),
            hb.dtype.to_string(),
        ));
    }
    let size = ha.dtype.itemsize();
    if size == 0 || a.is_empty() {
        return Ok(Comparison::Equal);
    }
    let eq = ElementEq::new(&ha.dtype, &hb.dtype);
    // Bring B into A's memory order (windowed, no copy when already equal)
    // and compare in A's storage order.
    let plan = Plan::new(
        hb,
        Version::V1_0,
        &ConvertOptions {
            fortran_order: Some(ha.fortran_order),
            ..Default::default()
        },
    )?;
    let mut sink = CompareSink {
        a,
        eq: &eq,
        first: None,
    };
    if plan.is_copy() {
        // Same layout: walk both in storage order; in C order stop at the first.
        let c_order = !ha.fortran_order || ha.is_both_orders();
        for (n, (x, y)) in a.chunks_exact(size).zip(b.chunks_exact(size)).enumerate() {
            if !eq.equal(x, y) {
                sink.first = Some(sink.first.map_or(n, |f| f.min(n)));
                if c_order {
                    break;
                }
            }
        }
    } else {
        plan.write_payload(hb, b, &mut sink, 0, release_b)?;
    }
    let Some(storage) = sink.first else {
        return Ok(Comparison::Equal);
    };
    // Storage position -> logical index (Fortran storage: reversed unravel).
    let index = if ha.fortran_order && !ha.is_both_orders() {
        let rev: Vec<u64> = ha.shape.iter().rev().copied().collect();
        let mut i = unravel(storage as u64, &rev);
        i.reverse();
        i
    } else {
        unravel(storage as u64, &ha.shape)
    };
    // B's element at the same logical index, in B's own layout.
    let b_pos = if hb.fortran_order && !hb.is_both_orders() {
        index
            .iter()
            .zip(&hb.shape)
            .rev()
            .fold(0u64, |acc, (&i, &d)| acc * d + i)
    } else {
        index
            .iter()
            .zip(&hb.shape)
            .fold(0u64, |acc, (&i, &d)| acc * d + i)
    } as usize;
    let ea = a.get(storage * size..(storage + 1) * size).unwrap_or(&[]);
    let eb = b.get(b_pos * size..(b_pos + 1) * size).unwrap_or(&[]);
    Ok(Comparison::Value {
        index,
        a: eq.show(ea, &eq.la),
        b: eq.show(eb, &eq.lb),
    })
}
