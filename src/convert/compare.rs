//! `cmp`: are two arrays equal elementwise? Byte order, memory order and
//! format version may differ; NaN equals NaN and NaT equals NaT.

use super::ldouble;
use super::sink::Sink;
use super::value::{Num, Value, decode_value};

use super::elementwise::unit_at;
use super::{CHUNK_BYTES, ConvertOptions, LARGE_ITEM, Payload, Plan, buffer, pieces};
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

/// Whether bytes `lo..lo + a.len()` of two elements of `dtype` (`a` and
/// `b`, the same length, in the same byte order) hold equal values, for a
/// piece of a large element or a whole one. Walks the dtype: bytes of `S`,
/// `U`, `V` and integer parts compare as bytes, other numbers (floats,
/// complex, bool, datetimes) by value; padding is ignored. The piece must
/// not cut a number (see [`super::pieces`]). Work is proportional to the
/// piece, not to the element.
fn range_equal(dtype: &Dtype, base: usize, lo: usize, a: &[u8], b: &[u8]) -> bool {
    let hi = lo + a.len();
    let (start, end) = (base.max(lo), (base + dtype.itemsize()).min(hi));
    if start >= end {
        return true;
    }
    match dtype {
        Dtype::Scalar(s) => {
            let (x, y) = (a.get(start - lo..end - lo), b.get(start - lo..end - lo));
            let bytewise = matches!(
                s.kind(),
                ScalarKind::Bytes | ScalarKind::Unicode | ScalarKind::Void
            ) || end - start < s.itemsize();
            match (x, y) {
                (Some(x), Some(y)) if bytewise => x == y,
                (Some(x), Some(y)) => x == y || same_leaf(s, x, s, y),
                _ => false,
            }
        }
        Dtype::Subarray { base: inner, .. } => {
            let size = inner.itemsize();
            if size == 0 {
                return true;
            }
            let first = (start - base) / size;
            let last = (end - base).div_ceil(size);
            (first..last).all(|r| range_equal(inner, base + r * size, lo, a, b))
        }
        Dtype::Struct(st) => st
            .fields()
            .iter()
            .all(|f| range_equal(f.dtype(), base + f.offset(), lo, a, b)),
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
}

impl ElementEq {
    fn new(da: &Dtype, db: &Dtype) -> Result<Self> {
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        leaves(da, 0, &mut la)?;
        leaves(db, 0, &mut lb)?;
        Ok(ElementEq { la, lb })
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
    /// Per-scalar comparison for elements up to [`LARGE_ITEM`] bytes;
    /// larger ones are compared with [`range_equal`].
    eq: Option<&'a ElementEq>,
    dtype: &'a Dtype,
    itemsize: usize,
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
        let size = self.itemsize;
        let start = usize::try_from(offset).map_err(|_| crate::ErrorKind::Overflow {
            what: "payload offset",
        })?;
        let c_order = self.fortran_shape.is_none();
        if c_order && self.first.is_some_and(|(_, s)| s * size < start) {
            return Ok(());
        }
        if self.buf.len() < data.len() {
            // Runs are bounded by the converter (a window or a piece).
            self.buf = buffer(data.len(), "the comparison buffer")?;
        }
        let Some(mine) = self.buf.get_mut(..data.len()) else {
            return Ok(());
        };
        self.a.read_at(offset, mine)?;
        let mine = &*mine;
        if mine != data {
            let mut differing = Vec::new();
            let within = start % size;
            if within != 0 || data.len() < size {
                // A piece of one large element.
                if !range_equal(self.dtype, 0, within, mine, data) {
                    differing.push(start / size);
                }
            } else {
                for (n, (x, y)) in mine
                    .chunks_exact(size)
                    .zip(data.chunks_exact(size))
                    .enumerate()
                {
                    let same = match self.eq {
                        Some(eq) => eq.equal(x, y),
                        None => range_equal(self.dtype, 0, 0, x, y),
                    };
                    if !same {
                        differing.push(start / size + n);
                        if c_order {
                            // Storage order is C order: the first one is the smallest.
                            break;
                        }
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

/// How two differing elements larger than [`LARGE_ITEM`] are shown: not
/// whole (that could be hundreds of MB of text), but the first unit that
/// differs by value, as hex bytes in A's byte order (B's element converted
/// to A's dtype) with its byte offset, e.g.
/// `<6000020-byte element: 0x5a000000 at byte 2800008>`. Reads both
/// elements in pieces.
fn first_difference(
    pa: &dyn Payload,
    pb: &dyn Payload,
    plan: &Plan,
    at_a: usize,
    at_b: usize,
) -> Result<(String, String)> {
    let dtype = &pa.header().dtype;
    let size = dtype.itemsize();
    let mut ea = buffer(CHUNK_BYTES.min(size), "the comparison buffer")?;
    let mut raw = buffer(CHUNK_BYTES.min(size), "the comparison buffer")?;
    let mut eb = buffer(CHUNK_BYTES.min(size), "the comparison buffer")?;
    let show = |bytes: &[u8], at: usize| {
        let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
        format!("<{size}-byte element: 0x{hex} at byte {at}>")
    };
    for p in pieces(dtype) {
        let n = p.len();
        let (Some(x), Some(r), Some(y)) = (ea.get_mut(..n), raw.get_mut(..n), eb.get_mut(..n))
        else {
            break;
        };
        pa.read_at((at_a + p.start) as u64, x)?;
        pb.read_at((at_b + p.start) as u64, r)?;
        plan.op.apply_piece(p.start, r, y);
        if x == y || range_equal(dtype, 0, p.start, x, y) {
            continue;
        }
        // The first unit of this piece that differs by value.
        let mut j = 0;
        while let Some(skip) = x
            .get(j..)
            .zip(y.get(j..))
            .and_then(|(x, y)| x.iter().zip(y).position(|(p, q)| p != q))
        {
            j += skip;
            let unit = unit_at(dtype, p.start + j);
            let (u0, u1) = (
                unit.start.max(p.start) - p.start,
                unit.end.min(p.end) - p.start,
            );
            if let (Some(ux), Some(uy)) = (x.get(u0..u1), y.get(u0..u1))
                && !range_equal(dtype, 0, p.start + u0, ux, uy)
            {
                return Ok((show(ux, p.start + u0), show(uy, p.start + u0)));
            }
            j = u1.max(j + 1);
            if j >= n {
                break;
            }
        }
    }
    // Unreachable in practice: the streaming pass found a difference.
    Ok((show(&[], 0), show(&[], 0)))
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
    let large = size > LARGE_ITEM;
    let eq = if large {
        None
    } else {
        Some(ElementEq::new(&ha.dtype, &ha.dtype)?)
    };
    let a_fortran = ha.fortran_order && !ha.is_both_orders();
    let mut sink = CompareSink {
        a: pa,
        eq: eq.as_ref(),
        dtype: &ha.dtype,
        itemsize: size,
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
    if large {
        let (a, b) = first_difference(pa, pb, &plan, storage * size, b_pos * size)?;
        return Ok(Comparison::Value { index, a, b });
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_compare_by_value_like_whole_elements() {
        let dt =
            Dtype::from_descr_literal("[('f', '<f8'), ('s', '|S5'), ('g', '<f4', (3,))]").unwrap();
        let size = dt.itemsize();
        let mut a = vec![0u8; size];
        a[..8].copy_from_slice(&f64::NAN.to_le_bytes());
        a[13..17].copy_from_slice(&(-0.0f32).to_le_bytes());
        // Another NaN payload and +0.0: equal values, different bytes.
        let mut b = a.clone();
        b[..8].copy_from_slice(&f64::from_bits(0x7ff8_0000_0000_0001).to_le_bytes());
        b[13..17].copy_from_slice(&0.0f32.to_le_bytes());
        let eq = ElementEq::new(&dt, &dt).unwrap();
        assert!(eq.equal(&a, &b));
        assert!(range_equal(&dt, 0, 0, &a, &b));
        for cut in [8, 9, 13, 17, 21] {
            assert!(range_equal(&dt, 0, 0, &a[..cut], &b[..cut]), "cut {cut}");
            assert!(range_equal(&dt, 0, cut, &a[cut..], &b[cut..]), "cut {cut}");
        }
        // One byte of S differs: the piece holding it differs, the other not.
        b[10] = b'x';
        assert!(!eq.equal(&a, &b));
        assert!(!range_equal(&dt, 0, 9, &a[9..13], &b[9..13]));
        assert!(range_equal(&dt, 0, 13, &a[13..], &b[13..]));
    }
}
