//! `stats`: count, min, max, mean and NaN count of a numeric payload in one
//! streaming pass. Floats skip NaN for min, max and mean.

use std::ops::Range;

use serde::ser::{Serialize, Serializer};

use super::value::{Num, decode_num};
use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind};
use crate::error::{ErrorKind, Result};

/// Bytes scanned between calls to `release`.
const STEP_BYTES: usize = 8 << 20;

/// A min or max: exact for integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extreme {
    /// An integer (bool as 0 / 1).
    Int(i128),
    /// A float; infinities print as `"inf"` / `"-inf"` in JSON.
    Float(f64),
}

impl Serialize for Extreme {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match *self {
            Extreme::Int(i) => match i64::try_from(i) {
                Ok(v) => s.serialize_i64(v),
                Err(_) => s.serialize_u64(u64::try_from(i).unwrap_or(u64::MAX)),
            },
            Extreme::Float(x) => serialize_float(x, s),
        }
    }
}

fn serialize_float<S: Serializer>(x: f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if x == f64::INFINITY {
        s.serialize_str("inf")
    } else if x == f64::NEG_INFINITY {
        s.serialize_str("-inf")
    } else if x.is_nan() {
        s.serialize_str("nan")
    } else {
        s.serialize_f64(x)
    }
}

fn serialize_mean<S: Serializer>(x: &Option<f64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match x {
        Some(x) => serialize_float(*x, s),
        None => s.serialize_none(),
    }
}

/// The result of [`stats`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Every element.
    pub count: u64,
    /// Smallest non-NaN value; `None` when there is none.
    pub min: Option<Extreme>,
    /// Largest non-NaN value.
    pub max: Option<Extreme>,
    /// Mean of the non-NaN values, accumulated in f64 (integers in i128).
    #[serde(serialize_with = "serialize_mean")]
    pub mean: Option<f64>,
    /// Number of NaN elements.
    pub nan_count: u64,
}

/// Running integer statistics.
#[derive(Default)]
struct IntAcc {
    min: Option<i128>,
    max: Option<i128>,
    sum: i128,
    n: u64,
}

impl IntAcc {
    fn add(&mut self, v: i128) {
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.sum += v;
        self.n += 1;
    }
}

/// Running float statistics, in 16 lanes so the loop vectorizes.
struct FloatAcc {
    min: [f64; LANES],
    max: [f64; LANES],
    sum: [f64; LANES],
    nan: [u64; LANES],
    n: u64,
}

const LANES: usize = 16;

impl Default for FloatAcc {
    fn default() -> Self {
        FloatAcc {
            min: [f64::INFINITY; LANES],
            max: [f64::NEG_INFINITY; LANES],
            sum: [0.0; LANES],
            nan: [0; LANES],
            n: 0,
        }
    }
}

#[inline(always)]
fn update(min: &mut f64, max: &mut f64, sum: &mut f64, nan: &mut u64, x: f64) {
    let is_nan = x.is_nan();
    *nan += u64::from(is_nan);
    // Comparisons with NaN are false, so NaN never becomes min or max.
    *min = if x < *min { x } else { *min };
    *max = if x > *max { x } else { *max };
    *sum += if is_nan { 0.0 } else { x };
}

impl FloatAcc {
    /// Adds one value to lane 0 (tails and odd sizes).
    fn one(&mut self, x: f64) {
        let [min, ..] = &mut self.min;
        let [max, ..] = &mut self.max;
        let [sum, ..] = &mut self.sum;
        let [nan, ..] = &mut self.nan;
        update(min, max, sum, nan, x);
    }

    /// Adds 16 values, one per lane; written over arrays so it vectorizes.
    #[inline(always)]
    fn block(&mut self, xs: [f64; LANES]) {
        let lanes = self
            .min
            .iter_mut()
            .zip(self.max.iter_mut())
            .zip(self.sum.iter_mut())
            .zip(self.nan.iter_mut());
        for ((((min, max), sum), nan), x) in lanes.zip(xs) {
            update(min, max, sum, nan, x);
        }
    }

    fn finish(&self) -> (Option<Extreme>, Option<Extreme>, Option<f64>, u64) {
        let nan: u64 = self.nan.iter().sum();
        let valid = self.n - nan;
        if valid == 0 {
            return (None, None, None, nan);
        }
        let min = self.min.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.max.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = self.sum.iter().sum();
        (
            Some(Extreme::Float(min)),
            Some(Extreme::Float(max)),
            Some(sum / valid as f64),
            nan,
        )
    }
}

/// Scans `N`-byte floats read by `read`, 16 lanes at a time.
fn scan_floats<const N: usize>(acc: &mut FloatAcc, bytes: &[u8], read: impl Fn([u8; N]) -> f64) {
    let (items, _) = bytes.as_chunks::<N>();
    let (blocks, tail) = items.as_chunks::<LANES>();
    for block in blocks {
        acc.block(block.map(&read));
    }
    for item in tail {
        acc.one(read(*item));
    }
    acc.n += items.len() as u64;
}

fn float_step(acc: &mut FloatAcc, s: &Scalar, bytes: &[u8]) {
    let big = s.byte_order() == ByteOrder::Big;
    match s.itemsize() {
        4 if big => scan_floats::<4>(acc, bytes, |b| f64::from(f32::from_be_bytes(b))),
        4 => scan_floats::<4>(acc, bytes, |b| f64::from(f32::from_le_bytes(b))),
        8 if big => scan_floats::<8>(acc, bytes, f64::from_be_bytes),
        8 => scan_floats::<8>(acc, bytes, f64::from_le_bytes),
        2 if big => scan_floats::<2>(acc, bytes, |b| half::f16::from_be_bytes(b).to_f64()),
        2 => scan_floats::<2>(acc, bytes, |b| half::f16::from_le_bytes(b).to_f64()),
        n => {
            for item in bytes.chunks_exact(n) {
                acc.one(decode_num(s, item).as_f64());
            }
            acc.n += (bytes.len() / n) as u64;
        }
    }
}

/// Statistics of a payload of `dtype` elements (bool, int, uint or float).
/// `release` is called with each byte range once it has been scanned.
///
/// # Errors
/// `Unsupported` for other dtypes.
pub fn stats(
    dtype: &Dtype,
    payload: &[u8],
    release: &mut dyn FnMut(Range<usize>),
) -> Result<Stats> {
    let s = match dtype.as_scalar() {
        Some(s)
            if matches!(
                s.kind(),
                ScalarKind::Bool | ScalarKind::Int | ScalarKind::UInt | ScalarKind::Float
            ) =>
        {
            s
        }
        _ => {
            return Err(ErrorKind::Unsupported(format!(
                "stats needs a bool, int, uint or float array, not {dtype}"
            ))
            .into());
        }
    };
    let size = s.itemsize();
    let step = (STEP_BYTES / size).max(1) * size;
    let count = (payload.len() / size) as u64;
    let mut done = 0;
    if s.kind() == ScalarKind::Float {
        let mut acc = FloatAcc::default();
        for chunk in payload.chunks(step) {
            float_step(&mut acc, s, chunk);
            release(done..done + chunk.len());
            done += chunk.len();
        }
        let (min, max, mean, nan_count) = acc.finish();
        return Ok(Stats {
            count,
            min,
            max,
            mean,
            nan_count,
        });
    }
    let mut acc = IntAcc::default();
    for chunk in payload.chunks(step) {
        for item in chunk.chunks_exact(size) {
            acc.add(match decode_num(s, item) {
                Num::Bool(b) => i128::from(b),
                Num::Int(i) => i128::from(i),
                Num::UInt(u) => i128::from(u),
                Num::Float(_) | Num::Complex(..) => 0,
            });
        }
        release(done..done + chunk.len());
        done += chunk.len();
    }
    Ok(Stats {
        count,
        min: acc.min.map(Extreme::Int),
        max: acc.max.map(Extreme::Int),
        mean: (acc.n > 0).then(|| acc.sum as f64 / acc.n as f64),
        nan_count: 0,
    })
}
