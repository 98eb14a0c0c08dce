//! `stats`: count, min, max, mean and NaN count of a numeric payload in one
//! streaming pass. Floats skip NaN for min, max and mean.

use std::ops::Range;

use serde::ser::{Serialize, Serializer};

mod kernel;

use self::kernel::{FloatAcc, IntAcc};
use super::value::{Num, decode_num};
use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind};
use crate::error::{ErrorKind, Result};
use crate::simd::{self, Arch, vectorized};

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

/// Scans the payload in steps of [`STEP_BYTES`] with `step`, releasing
/// each range once scanned.
fn steps<A>(
    arch: Arch,
    payload: &[u8],
    size: usize,
    release: &mut dyn FnMut(Range<usize>),
    acc: &mut A,
    step: impl Fn(&mut A, &[u8]),
) {
    let step_bytes = (STEP_BYTES / size).max(1) * size;
    let mut done = 0;
    for chunk in payload.chunks(step_bytes) {
        vectorized(
            arch,
            #[inline(always)]
            || step(acc, chunk),
        );
        release(done..done + chunk.len());
        done += chunk.len();
    }
}

/// Float statistics: `f16` and `f32` keep extremes in `f32` lanes, the
/// rest in `f64` lanes; long doubles go one by one through their nearest
/// `f64`, all in lane 0.
fn float_stats(
    arch: Arch,
    s: &Scalar,
    payload: &[u8],
    release: &mut dyn FnMut(Range<usize>),
) -> Stats {
    let size = s.itemsize();
    let big = s.byte_order() == ByteOrder::Big;
    let native = big == cfg!(target_endian = "big");
    let (min, max, mean, nan_count) = match size {
        2 | 4 => {
            let mut acc = FloatAcc::<f32>::default();
            steps(
                arch,
                payload,
                size,
                release,
                &mut acc,
                #[inline(always)]
                |acc, b| match size {
                    2 => kernel::scan_f16(acc, b, big),
                    _ if native => kernel::scan_native::<f32, 4>(acc, b, f32::from_ne_bytes),
                    _ if big => kernel::scan_floats::<f32, 4>(acc, b, f32::from_be_bytes),
                    _ => kernel::scan_floats::<f32, 4>(acc, b, f32::from_le_bytes),
                },
            );
            acc.finish()
        }
        _ => {
            let mut acc = FloatAcc::<f64>::default();
            steps(
                arch,
                payload,
                size,
                release,
                &mut acc,
                #[inline(always)]
                |acc, b| match size {
                    8 if native => kernel::scan_native::<f64, 8>(acc, b, f64::from_ne_bytes),
                    8 if big => kernel::scan_floats::<f64, 8>(acc, b, f64::from_be_bytes),
                    8 => kernel::scan_floats::<f64, 8>(acc, b, f64::from_le_bytes),
                    n => {
                        for item in b.chunks_exact(n) {
                            acc.one(decode_num(s, item).as_f64());
                        }
                        acc.n += (b.len() / n) as u64;
                    }
                },
            );
            acc.finish()
        }
    };
    Stats {
        count: (payload.len() / size) as u64,
        min: min.map(Extreme::Float),
        max: max.map(Extreme::Float),
        mean,
        nan_count,
    }
}

/// Integer (and bool, as 0 and 1) statistics, exact.
fn int_stats(
    arch: Arch,
    s: &Scalar,
    payload: &[u8],
    release: &mut dyn FnMut(Range<usize>),
) -> Stats {
    let size = s.itemsize();
    let big = s.byte_order() == ByteOrder::Big;
    let signed = s.kind() == ScalarKind::Int;
    let mut acc = IntAcc::default();
    steps(
        arch,
        payload,
        size,
        release,
        &mut acc,
        #[inline(always)]
        |acc, b| {
            match (s.kind(), size, signed, big) {
                (ScalarKind::Bool, ..) => {
                    kernel::scan_ints::<u8, 1>(acc, b, |[x]| u8::from(x != 0));
                }
                (_, 1, true, _) => kernel::scan_ints::<i8, 1>(acc, b, i8::from_ne_bytes),
                (_, 1, false, _) => kernel::scan_ints::<u8, 1>(acc, b, u8::from_ne_bytes),
                (_, 2, true, true) => kernel::scan_ints::<i16, 2>(acc, b, i16::from_be_bytes),
                (_, 2, true, false) => kernel::scan_ints::<i16, 2>(acc, b, i16::from_le_bytes),
                (_, 2, false, true) => kernel::scan_ints::<u16, 2>(acc, b, u16::from_be_bytes),
                (_, 2, false, false) => kernel::scan_ints::<u16, 2>(acc, b, u16::from_le_bytes),
                (_, 4, true, true) => kernel::scan_ints::<i32, 4>(acc, b, i32::from_be_bytes),
                (_, 4, true, false) => kernel::scan_ints::<i32, 4>(acc, b, i32::from_le_bytes),
                (_, 4, false, true) => kernel::scan_ints::<u32, 4>(acc, b, u32::from_be_bytes),
                (_, 4, false, false) => kernel::scan_ints::<u32, 4>(acc, b, u32::from_le_bytes),
                (_, 8, true, true) => kernel::scan_ints::<i64, 8>(acc, b, i64::from_be_bytes),
                (_, 8, true, false) => kernel::scan_ints::<i64, 8>(acc, b, i64::from_le_bytes),
                (_, 8, false, true) => kernel::scan_ints::<u64, 8>(acc, b, u64::from_be_bytes),
                (_, 8, false, false) => kernel::scan_ints::<u64, 8>(acc, b, u64::from_le_bytes),
                _ => {
                    // No other integer sizes exist; decode one by one all the same.
                    for item in b.chunks_exact(size) {
                        acc.add(match decode_num(s, item) {
                            Num::Bool(b) => i128::from(b),
                            Num::Int(i) => i128::from(i),
                            Num::UInt(u) => i128::from(u),
                            Num::Float(_) | Num::Complex(..) => 0,
                        });
                    }
                }
            }
        },
    );
    Stats {
        count: (payload.len() / size) as u64,
        min: acc.min.map(Extreme::Int),
        max: acc.max.map(Extreme::Int),
        mean: (acc.n > 0).then(|| acc.sum as f64 / acc.n as f64),
        nan_count: 0,
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
    stats_on(simd::best(), dtype, payload, release)
}

/// [`stats`] with the loops compiled for `arch`.
fn stats_on(
    arch: Arch,
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
    if s.kind() == ScalarKind::Float {
        Ok(float_stats(arch, s, payload, release))
    } else {
        Ok(int_stats(arch, s, payload, release))
    }
}

#[cfg(test)]
mod tests {
    use super::stats_on;
    use crate::dtype::Dtype;
    use crate::simd::{Arch, best};

    /// Bytes that decode to every kind of value: ordinary numbers of both
    /// signs and many magnitudes, zeros, subnormals, infinities and NaNs
    /// (from a fixed xorshift, so the test is repeatable).
    fn varied_bytes(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Every 97th byte 0x00 or 0xff makes zeros, subnormals,
                // infinities and NaNs common in every float width.
                match i % 97 {
                    0 => 0x00,
                    1 => 0xff,
                    _ => x as u8,
                }
            })
            .collect()
    }

    /// Finite floats of many magnitudes and both signs, with zeros,
    /// subnormals (for `f16` too) and a NaN every 101 values, but no
    /// infinities: so sums, means, minima and maxima are real numbers in
    /// every width and a difference between the two builds shows.
    fn finite_floats(name: &str, len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut out = Vec::new();
        for i in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let v = match i % 101 {
                0 => f64::NAN,
                1 => -0.0,
                2 => 3e-8 * unit, // an f16 subnormal
                _ => unit * 10f64.powi((x % 9) as i32 - 4),
            };
            let big = name.starts_with('>');
            match &name[1..] {
                "f2" => {
                    let h = half::f16::from_f64(v);
                    out.extend(if big {
                        h.to_be_bytes()
                    } else {
                        h.to_le_bytes()
                    });
                }
                "f4" => out.extend(if big {
                    (v as f32).to_be_bytes()
                } else {
                    (v as f32).to_le_bytes()
                }),
                _ => out.extend(if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }),
            }
        }
        out
    }

    /// The baseline build of every kernel and the one this CPU runs give
    /// the same statistics, bit for bit, for every bool, int, uint, `f2`,
    /// `f4` and `f8` dtype (long doubles take one scalar path), both byte
    /// orders, aligned or not, with partial blocks at the end. On a CPU
    /// without AVX2 both sides are the baseline and this checks nothing.
    #[test]
    fn every_instruction_set_gives_the_same_stats() {
        let bytes = varied_bytes(3 * 8 * 2048 * 16 + 8 * 37 + 1);
        let dtypes = [
            "|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8",
            ">i8", "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8",
        ];
        let check = |name: &str, payload: &[u8], what: &str| {
            let dtype = Dtype::from_descr(name).unwrap();
            let size = dtype.itemsize();
            let base = stats_on(Arch::Scalar, &dtype, payload, &mut |_| {}).unwrap();
            let fast = stats_on(best(), &dtype, payload, &mut |_| {}).unwrap();
            assert_eq!(format!("{base:?}"), format!("{fast:?}"), "{name}, {what}");
            assert_eq!(base.count, (payload.len() / size) as u64);
            base
        };
        for name in dtypes {
            let size = Dtype::from_descr(name).unwrap().itemsize();
            for skip in [0, 1] {
                let payload = &bytes[skip..skip + (bytes.len() - 1) / size * size];
                check(name, payload, &format!("any bytes, offset {skip}"));
            }
        }
        for name in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"] {
            let count = 2 * 2048 * 16 + 37;
            let floats = finite_floats(name, count);
            let mut shifted = vec![0u8];
            shifted.extend(&floats);
            for (skip, payload) in [(0, &floats[..]), (1, &shifted[1..])] {
                let got = check(name, payload, &format!("finite values, offset {skip}"));
                // The sums are real numbers here, so they were compared.
                assert!(got.mean.is_some_and(f64::is_finite), "{name}: {got:?}");
                assert!(got.nan_count > 0 && got.count == count as u64);
            }
        }
    }
}
