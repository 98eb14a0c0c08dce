//! `cmp`: are two arrays equal elementwise? Byte order, memory order and
//! format version may differ; NaN equals NaN and NaT equals NaT.

use super::ldouble;
use super::sink::Sink;
use super::value::{Num, Value, decode_value};

use super::{ConvertOptions, Payload, Plan};
use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind};
use crate::error::Result;
use crate::header::Version;

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
/// Most scalar parts one element may have here: subarrays expand into one
/// part per scalar, so this bounds what a hostile dtype can make us hold.
const MAX_LEAVES: usize = 1 << 20;

fn leaves(d: &Dtype, base: usize, out: &mut Vec<(usize, crate::dtype::Scalar)>) -> Result<()> {
    if out.len() >= MAX_LEAVES {
        return Err(crate::ErrorKind::Unsupported(format!(
            "cmp compares elements of at most {MAX_LEAVES} scalar parts"
        ))
        .into());
    }
    match d {
        Dtype::Scalar(s) => out.push((base, *s)),
        Dtype::Subarray { base: inner, shape } => {
            // The dtype's itemsize was checked to fit, so this product does too.
            let n = shape
                .iter()
                .fold(1usize, |acc, &x| acc.saturating_mul(x as usize));
            let size = inner.itemsize();
            for r in 0..n {
                leaves(inner, base + r * size, out)?;
            }
        }
        Dtype::Struct(st) => {
            for f in st.fields() {
                leaves(f.dtype(), base + f.offset(), out)?;
            }
        }
    }
    Ok(())
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

/// Whether two leaves of the same type (up to byte order) hold equal
/// values. Long doubles compare all 80 bits, not their nearest `f64`.
fn same_leaf(sa: &Scalar, x: &[u8], sb: &Scalar, y: &[u8]) -> bool {
    let (oa, ob) = (sa.byte_order(), sb.byte_order());
    match (sa.kind(), sa.itemsize()) {
        (ScalarKind::Float, 16) => ldouble::same(oa, x, ob, y),
        (ScalarKind::Complex, 32) => {
            let ((xr, xi), (yr, yi)) = (x.split_at(16), y.split_at(16));
            ldouble::same(oa, xr, ob, yr) && ldouble::same(oa, xi, ob, yi)
        }
        _ => same_value(&decode_value(sa, x), &decode_value(sb, y)),
    }
}

/// Compares elements of A (dtype `da`) and B (dtype `db`, equal up to byte order).
struct ElementEq {
    la: Vec<(usize, crate::dtype::Scalar)>,
    lb: Vec<(usize, crate::dtype::Scalar)>,
    itemsize: usize,
}

impl ElementEq {
    fn new(da: &Dtype, db: &Dtype) -> Result<Self> {
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        leaves(da, 0, &mut la)?;
        leaves(db, 0, &mut lb)?;
        Ok(ElementEq {
            la,
            lb,
            itemsize: da.itemsize(),
        })
    }

    /// Whether A and B store every leaf the same way (so equal bytes mean
    /// equal values).
    fn same_types(&self) -> bool {
        self.la.iter().zip(&self.lb).all(|(x, y)| x.1 == y.1)
    }

    fn equal(&self, a: &[u8], b: &[u8]) -> bool {
        if a == b && self.same_types() {
            return true;
        }
        self.la.iter().zip(&self.lb).all(|((oa, sa), (ob, sb))| {
            let (sz_a, sz_b) = (sa.itemsize(), sb.itemsize());
            match (a.get(*oa..oa + sz_a), b.get(*ob..ob + sz_b)) {
                (Some(x), Some(y)) => same_leaf(sa, x, sb, y),
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

/// Sink that compares the bytes it is given (B, already in A's layout and
/// types) with A's payload at the same offsets, remembering the smallest
/// differing element. A is read with `read_at` and released as it goes.
struct CompareSink<'a> {
    a: &'a dyn Payload,
    eq: &'a ElementEq,
    /// A's shape when A is stored in Fortran order (storage order is then
    /// not C order, so every difference is ranked by its C-order index).
    fortran_shape: Option<&'a [u64]>,
    /// The first difference so far: (C-order index, storage position).
    first: Option<(u64, usize)>,
    buf: Vec<u8>,
}

impl CompareSink<'_> {
    fn note(&mut self, storage: usize) {
        let key = match self.fortran_shape {
            Some(shape) => c_index(&logical_index(storage as u64, shape, true), shape),
            None => storage as u64,
        };
        if self.first.is_none_or(|(k, _)| key < k) {
            self.first = Some((key, storage));
        }
    }
}

impl Sink for CompareSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let size = self.eq.itemsize;
        let start = offset as usize;
        let c_order = self.fortran_shape.is_none();
        if c_order && self.first.is_some_and(|(_, s)| s * size < start) {
            return Ok(());
        }
        self.buf.resize(data.len(), 0);
        self.a.read_at(offset, &mut self.buf)?;
        if self.buf.as_slice() != data {
            let mut differing = Vec::new();
            for (n, (x, y)) in self
                .buf
                .chunks_exact(size)
                .zip(data.chunks_exact(size))
                .enumerate()
            {
                if !self.eq.equal(x, y) {
                    differing.push(start / size + n);
                    if c_order {
                        // Storage order is C order: the first one is the smallest.
                        break;
                    }
                }
            }
            for e in differing {
                self.note(e);
            }
        }
        self.a.release(start..start + data.len());
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Multi-index of the element at storage position `pos` of `shape`
/// (Fortran storage: first axis fastest).
fn logical_index(pos: u64, shape: &[u64], fortran: bool) -> Vec<u64> {
    if fortran {
        let rev: Vec<u64> = shape.iter().rev().copied().collect();
        let mut i = unravel(pos, &rev);
        i.reverse();
        i
    } else {
        unravel(pos, shape)
    }
}

/// C-order position of a multi-index.
fn c_index(index: &[u64], shape: &[u64]) -> u64 {
    index
        .iter()
        .zip(shape)
        .fold(0u64, |acc, (&i, &d)| acc * d + i)
}

/// Compares array A with array B in one streaming pass: B is brought into
/// A's memory order and byte order (windowed, as `convert` does) and each
/// run is compared with A's bytes; elements whose bytes differ are decoded
/// and compared by value (NaN equals NaN, -0.0 equals 0.0, NaT equals NaT).
///
/// # Errors
/// `ObjectDtype` for object arrays; `PayloadSize` when a payload is not the
/// length its header implies; `Io` from reading the sources.
pub fn compare(pa: &impl Payload, pb: &impl Payload) -> Result<Comparison> {
    let (ha, hb) = (pa.header(), pb.header());
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
    for (h, p) in [(ha, pa.payload()), (hb, pb.payload())] {
        let expected = h.payload_len()?;
        if p.len() as u64 != expected {
            return Err(crate::ErrorKind::PayloadSize {
                expected,
                actual: p.len() as u64,
            }
            .into());
        }
    }
    if size == 0 || pa.payload().is_empty() {
        return Ok(Comparison::Equal);
    }
    let plan = Plan::new(
        hb,
        Version::V1_0,
        &ConvertOptions {
            fortran_order: Some(ha.fortran_order),
            dtype: Some(ha.dtype.clone()),
            ..Default::default()
        },
    )?;
    let eq = ElementEq::new(&ha.dtype, &ha.dtype)?;
    let a_fortran = ha.fortran_order && !ha.is_both_orders();
    let mut sink = CompareSink {
        a: pa,
        eq: &eq,
        fortran_shape: a_fortran.then_some(ha.shape.as_slice()),
        first: None,
        buf: Vec::new(),
    };
    plan.write_payload(pb, &mut sink, 0)?;
    let Some((_, storage)) = sink.first else {
        return Ok(Comparison::Equal);
    };
    let index = logical_index(storage as u64, &ha.shape, a_fortran);
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
    let (mut ea, mut eb) = (vec![0u8; size], vec![0u8; size]);
    pa.read_at((storage * size) as u64, &mut ea)?;
    pb.read_at((b_pos * size) as u64, &mut eb)?;
    let shown = ElementEq::new(&ha.dtype, &hb.dtype)?;
    Ok(Comparison::Value {
        index,
        a: shown.show(&ea, &shown.la),
        b: shown.show(&eb, &shown.lb),
    })
}
