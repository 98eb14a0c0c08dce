//! The scanning kernels behind [`stats`](super::stats): blocks of elements
//! decoded (byte swap included) into a small buffer that stays in the L1
//! cache, then reduced there in fixed lanes the compiler vectorizes: for
//! the baseline x86-64 target (SSE2), and again for AVX2, which `stats`
//! picks at run time when the CPU has it (`crate::simd`).
//!
//! Floats keep the lane layout the results are defined by (cli.md §9): 16
//! lanes, element `i` of a run of whole blocks in lane `i % 16`, the last
//! `count % 16` elements in lane 0, `f64` sums, lane minima and maxima by a
//! strict compare-and-select (so NaN never wins and, of equal values such as
//! `-0.0` and `0.0`, the first one seen in a lane stays). The fast path adds
//! every value to the sums unmasked and counts no NaNs: NaN is sticky, so a
//! block whose sums come out free of NaN held none; a block whose sums do
//! not is summed again from the saved sums with NaN skipped and counted. The
//! result is the same bit for bit as one masked pass. Minima and maxima of
//! `f16` and `f32` data are kept in `f32` lanes (exact, and half the
//! registers).
//!
//! Integers are exact whatever the order: minima and maxima in lanes of the
//! stored type, sums per block in `i32` lanes for 8- and 16-bit types,
//! `i64` lanes for 32-bit ones and two 32-bit halves in `i64` lanes for
//! 64-bit ones, added into one `i128`.

/// Lanes per accumulator; part of the float result's definition.
pub(super) const LANES: usize = 16;

/// Blocks of [`LANES`] elements decoded and reduced at a time (2048
/// elements: 8 KiB of `f32`, 16 KiB of `f64`, within the L1 cache).
const GROUPS: usize = 128;

/// Elements per decoded block.
const BLOCK: usize = GROUPS * LANES;

/// A float type the minima and maxima are kept in.
pub(super) trait Lane: Copy + PartialOrd + Default {
    /// Positive infinity (the empty minimum).
    const INF: Self;
    /// Negative infinity (the empty maximum).
    const NEG_INF: Self;
    /// The value as an `f64` (exact).
    fn wide(self) -> f64;
    /// Whether the value is NaN.
    fn nan(self) -> bool;
}

impl Lane for f32 {
    const INF: Self = f32::INFINITY;
    const NEG_INF: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn wide(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
}

impl Lane for f64 {
    const INF: Self = f64::INFINITY;
    const NEG_INF: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
}

/// Running float statistics in [`LANES`] lanes.
pub(super) struct FloatAcc<E> {
    min: [E; LANES],
    max: [E; LANES],
    sum: [f64; LANES],
    nan: u64,
    /// Elements seen.
    pub n: u64,
}

impl<E: Lane> Default for FloatAcc<E> {
    fn default() -> Self {
        FloatAcc {
            min: [E::INF; LANES],
            max: [E::NEG_INF; LANES],
            sum: [0.0; LANES],
            nan: 0,
            n: 0,
        }
    }
}

/// `x` if it is below `m`, else `m`: NaN and ties keep `m` (`minps`).
#[inline(always)]
fn lower<E: Lane>(m: E, x: E) -> E {
    if x < m { x } else { m }
}

/// `x` if it is above `m`, else `m` (`maxps`).
#[inline(always)]
fn higher<E: Lane>(m: E, x: E) -> E {
    if x > m { x } else { m }
}

impl<E: Lane> FloatAcc<E> {
    /// Adds one value to lane 0 (the last `count % 16` elements).
    #[inline(always)]
    pub fn one(&mut self, x: E) {
        let is_nan = x.nan();
        self.nan += u64::from(is_nan);
        let [min, ..] = &mut self.min;
        let [max, ..] = &mut self.max;
        let [sum, ..] = &mut self.sum;
        *min = lower(*min, x);
        *max = higher(*max, x);
        *sum += if is_nan { 0.0 } else { x.wide() };
    }

    /// Adds whole blocks, element `j` of each to lane `j`. Each pass runs
    /// over data the first one brought into the cache, with few enough
    /// accumulators to stay in registers.
    #[inline(always)]
    pub fn groups(&mut self, groups: &[[E; LANES]]) {
        // Summed in a local copy (kept in registers, lanes in order), which
        // becomes the new sums only if no NaN showed up.
        let mut sum = self.sum;
        for g in groups {
            for (s, &x) in sum.iter_mut().zip(g) {
                *s += x.wide();
            }
        }
        if !sum.iter().any(|s| s.is_nan()) {
            self.sum = sum;
        } else {
            // A NaN element, or a sum already NaN (inf - inf): redo the
            // sums the exact way, skipping and counting NaN.
            for g in groups {
                for (s, &x) in self.sum.iter_mut().zip(g) {
                    let is_nan = x.nan();
                    self.nan += u64::from(is_nan);
                    *s += if is_nan { 0.0 } else { x.wide() };
                }
            }
        }
        // Local copies again, so the lanes stay in registers.
        let mut min = self.min;
        for g in groups {
            for (m, &x) in min.iter_mut().zip(g) {
                *m = lower(*m, x);
            }
        }
        self.min = min;
        let mut max = self.max;
        for g in groups {
            for (m, &x) in max.iter_mut().zip(g) {
                *m = higher(*m, x);
            }
        }
        self.max = max;
    }

    /// Adds a run of values: whole blocks to their lanes, then the rest to
    /// lane 0. Only the last run of a payload may hold a partial block.
    #[inline(always)]
    pub fn values(&mut self, xs: &[E]) {
        let (groups, tail) = xs.as_chunks::<LANES>();
        self.groups(groups);
        for &x in tail {
            self.one(x);
        }
    }

    /// `(min, max, mean, nan_count)`; `None`s when every value is NaN.
    pub fn finish(&self) -> (Option<f64>, Option<f64>, Option<f64>, u64) {
        let valid = self.n - self.nan;
        if valid == 0 {
            return (None, None, None, self.nan);
        }
        let min = self
            .min
            .iter()
            .map(|x| x.wide())
            .fold(f64::INFINITY, f64::min);
        let max = (self.max.iter().map(|x| x.wide())).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = self.sum.iter().sum();
        (Some(min), Some(max), Some(sum / valid as f64), self.nan)
    }
}

/// Scans `N`-byte floats decoded by `read` (which does any byte swap):
/// each block of [`BLOCK`] items is decoded into a buffer, then reduced.
#[inline(always)]
pub(super) fn scan_floats<E: Lane, const N: usize>(
    acc: &mut FloatAcc<E>,
    bytes: &[u8],
    read: impl Fn([u8; N]) -> E,
) {
    let (items, _) = bytes.as_chunks::<N>();
    let mut buf = [E::default(); BLOCK];
    for block in items.chunks(BLOCK) {
        let Some(vals) = buf.get_mut(..block.len()) else {
            return;
        };
        for (v, &b) in vals.iter_mut().zip(block) {
            *v = read(b);
        }
        acc.values(vals);
    }
    acc.n += items.len() as u64;
}

/// Native-order `f32` or `f64` bytes: reduced in place when aligned.
#[inline(always)]
pub(super) fn scan_native<E: Lane + bytemuck::Pod, const N: usize>(
    acc: &mut FloatAcc<E>,
    bytes: &[u8],
    read: impl Fn([u8; N]) -> E,
) {
    let whole = bytes.get(..bytes.len() / N * N).unwrap_or_default();
    match bytemuck::try_cast_slice::<u8, E>(whole) {
        Ok(xs) => {
            for run in xs.chunks(BLOCK) {
                acc.values(run);
            }
            acc.n += xs.len() as u64;
        }
        Err(_) => scan_floats(acc, bytes, read),
    }
}

/// The `f32` of an `f16`'s bits, exactly (NaN stays NaN), with selects
/// instead of branches so a block of them vectorizes: the exponent and
/// mantissa move to their `f32` places and the exponent bias is adjusted;
/// infinities and NaNs get the rest of the bias, zeros and subnormals are
/// renormalized by one exact subtraction.
#[inline(always)]
fn f16_to_f32(h: u16) -> f32 {
    const EXP: u32 = 0x7c00 << 13;
    let h = u32::from(h);
    let bits = (h & 0x7fff) << 13;
    let exp = bits & EXP;
    let normal = bits + ((127 - 15) << 23);
    let special = normal + ((128 - 16) << 23);
    let small = (f32::from_bits(normal + (1 << 23)) - f32::from_bits(113 << 23)).to_bits();
    let out = if exp == EXP {
        special
    } else if exp == 0 {
        small
    } else {
        normal
    };
    f32::from_bits(out | ((h & 0x8000) << 16))
}

/// `f16` bytes (`big` when stored big-endian), converted to `f32` a block
/// at a time by [`f16_to_f32`] and reduced.
#[inline(always)]
pub(super) fn scan_f16(acc: &mut FloatAcc<f32>, bytes: &[u8], big: bool) {
    let (items, _) = bytes.as_chunks::<2>();
    let mut buf = [0f32; BLOCK];
    for block in items.chunks(BLOCK) {
        let Some(vals) = buf.get_mut(..block.len()) else {
            return;
        };
        if big {
            for (v, &b) in vals.iter_mut().zip(block) {
                *v = f16_to_f32(u16::from_be_bytes(b));
            }
        } else {
            for (v, &b) in vals.iter_mut().zip(block) {
                *v = f16_to_f32(u16::from_le_bytes(b));
            }
        }
        acc.values(vals);
    }
    acc.n += items.len() as u64;
}

/// Running integer statistics (exact).
#[derive(Default)]
pub(super) struct IntAcc {
    /// Smallest value seen.
    pub min: Option<i128>,
    /// Largest value seen.
    pub max: Option<i128>,
    /// Sum of every value.
    pub sum: i128,
    /// Values seen.
    pub n: u64,
}

/// An integer type the minima and maxima are kept in.
pub(super) trait Int: Copy + Ord + Default {
    /// The type's smallest value (the empty maximum).
    const LOW: Self;
    /// The type's largest value (the empty minimum).
    const HIGH: Self;
    /// The value, exactly.
    fn wide(self) -> i128;
    /// The exact sum of `xs` (at most [`BLOCK`] values).
    fn sum(xs: &[Self]) -> i128;
}

/// Sum of up to [`BLOCK`] values of at most 32 bits in lanes of `L`:
/// `i32` for types of at most 16 bits (each lane adds at most
/// `BLOCK / LANES` values below 2^16 in magnitude, far from 2^31; twice
/// the lanes per vector), `i64` for 32-bit types.
#[inline(always)]
fn sum_lanes<L, T>(xs: &[T]) -> i128
where
    L: Copy + Default + std::ops::AddAssign + Into<i64>,
    T: Copy + Into<L>,
{
    let mut lanes = [L::default(); LANES];
    let (groups, tail) = xs.as_chunks::<LANES>();
    for g in groups {
        for (s, &x) in lanes.iter_mut().zip(g) {
            *s += x.into();
        }
    }
    let tail: i64 = tail.iter().map(|&x| x.into().into()).sum();
    i128::from(lanes.iter().map(|&s| s.into()).sum::<i64>()) + i128::from(tail)
}

/// Sum of up to [`BLOCK`] 64-bit values (given as their bits) as
/// `hi * 2^32 + lo`: the low halves (below 2^32) and the high halves (32
/// bits, signed when `signed`) each sum without overflow in 64-bit lanes.
#[inline(always)]
fn sum_wide<T: Copy>(xs: &[T], bits: impl Fn(T) -> u64, signed: bool) -> i128 {
    let mut lo = [0u64; LANES];
    let mut hi = [0i64; LANES];
    let (groups, tail) = xs.as_chunks::<LANES>();
    let high = |x: u64| {
        if signed {
            (x as i64) >> 32
        } else {
            (x >> 32) as i64
        }
    };
    for g in groups {
        for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(g) {
            let x = bits(x);
            *l += x & 0xffff_ffff;
            *h += high(x);
        }
    }
    let lo: i128 = lo.iter().map(|&l| i128::from(l)).sum();
    let hi: i128 = hi.iter().map(|&h| i128::from(h)).sum();
    let rest: i128 = tail
        .iter()
        .map(|&x| {
            let x = bits(x);
            if signed {
                i128::from(x as i64)
            } else {
                i128::from(x)
            }
        })
        .sum();
    (hi << 32) + lo + rest
}

macro_rules! int {
    ($t:ty, |$xs:ident| $sum:expr) => {
        impl Int for $t {
            const LOW: Self = <$t>::MIN;
            const HIGH: Self = <$t>::MAX;
            #[inline(always)]
            fn wide(self) -> i128 {
                i128::from(self)
            }
            #[inline(always)]
            fn sum($xs: &[Self]) -> i128 {
                $sum
            }
        }
    };
}

int!(i8, |xs| sum_lanes::<i32, _>(xs));
int!(i16, |xs| sum_lanes::<i32, _>(xs));
int!(i32, |xs| sum_lanes::<i64, _>(xs));
int!(u8, |xs| sum_lanes::<i32, _>(xs));
int!(u16, |xs| sum_lanes::<i32, _>(xs));
int!(u32, |xs| sum_lanes::<i64, _>(xs));
int!(i64, |xs| sum_wide(xs, |x| x as u64, true));
int!(u64, |xs| sum_wide(xs, |x| x, false));

impl IntAcc {
    /// Adds one value.
    pub fn add(&mut self, v: i128) {
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.sum += v;
        self.n += 1;
    }

    /// Adds a block of values.
    #[inline(always)]
    fn values<T: Int>(&mut self, xs: &[T]) {
        let mut lo = [T::HIGH; LANES];
        let mut hi = [T::LOW; LANES];
        let (groups, tail) = xs.as_chunks::<LANES>();
        // One pass per reduction (over data already in L1), so each loop
        // is a plain vertical min or max.
        for g in groups {
            for (m, &x) in lo.iter_mut().zip(g) {
                *m = (*m).min(x);
            }
        }
        for g in groups {
            for (m, &x) in hi.iter_mut().zip(g) {
                *m = (*m).max(x);
            }
        }
        let lo = lo.iter().chain(tail).copied().min();
        let hi = hi.iter().chain(tail).copied().max();
        if let (Some(lo), Some(hi), false) = (lo, hi, xs.is_empty()) {
            let (lo, hi) = (lo.wide(), hi.wide());
            self.min = Some(self.min.map_or(lo, |m| m.min(lo)));
            self.max = Some(self.max.map_or(hi, |m| m.max(hi)));
        }
        self.sum += T::sum(xs);
        self.n += xs.len() as u64;
    }
}

/// Scans `N`-byte integers decoded by `read` (which does any byte swap).
#[inline(always)]
pub(super) fn scan_ints<T: Int, const N: usize>(
    acc: &mut IntAcc,
    bytes: &[u8],
    read: impl Fn([u8; N]) -> T,
) {
    let (items, _) = bytes.as_chunks::<N>();
    let mut buf = [T::default(); BLOCK];
    for block in items.chunks(BLOCK) {
        let Some(vals) = buf.get_mut(..block.len()) else {
            return;
        };
        for (v, &b) in vals.iter_mut().zip(block) {
            *v = read(b);
        }
        acc.values(vals);
    }
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;
    use half::f16;

    /// Every one of the 65,536 `f16` bit patterns converts as `half` does:
    /// the same bits, or NaN for NaN.
    #[test]
    fn f16_conversion_is_exact_for_every_value() {
        for bits in 0..=u16::MAX {
            let want = f16::from_bits(bits).to_f32();
            let got = f16_to_f32(bits);
            if want.is_nan() {
                assert!(got.is_nan(), "{bits:#06x}: {got} is not NaN");
            } else {
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{bits:#06x}: {got} vs {want}"
                );
            }
        }
    }
}
