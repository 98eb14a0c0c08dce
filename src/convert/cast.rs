//! NumPy's casting levels (`no`, `equiv`, `safe`, `same_kind`, `unsafe`)
//! and the numeric cast kernel that gives, value for value, what
//! `a.astype(T)` gives with NumPy 2.x on x86-64 (spec/cli.md §5.1).
//!
//! Floats are converted bit-exactly: to and from `float16` with NumPy's own
//! rounding (round to nearest even, once, straight from the source width,
//! NaN payloads kept as NumPy keeps them); float to integer with the x86-64
//! truncating conversions NumPy's loops compile to, including what they
//! give for NaN, infinities and values out of range.

use std::fmt;
use std::str::FromStr;

use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind};
use crate::error::{ErrorKind, Result};

/// How much a cast may change values: NumPy's `casting=` levels, from the
/// strictest to the loosest (the order of `PartialOrd`).
///
/// # Examples
/// ```
/// use npymap::Dtype;
/// use npymap::convert::{Casting, required_casting};
///
/// let f8 = Dtype::from_descr("<f8").unwrap();
/// let f4 = Dtype::from_descr("<f4").unwrap();
/// assert_eq!(required_casting(&f8, &f4).unwrap(), Casting::SameKind);
/// assert_eq!("unsafe".parse::<Casting>().unwrap(), Casting::Unsafe);
/// assert!(Casting::Safe < Casting::SameKind);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Casting {
    /// The dtype must not change at all, byte order included.
    No,
    /// Only the byte order may change.
    Equiv,
    /// Only casts that keep every value (`np.can_cast(from, to, 'safe')`).
    #[default]
    Safe,
    /// Safe casts, or casts within a kind order bool < uint < int < float <
    /// complex that may round or overflow (`float64` to `float32`).
    SameKind,
    /// Any numeric cast.
    Unsafe,
}

impl Casting {
    /// Every level, strictest first.
    pub const ALL: [Casting; 5] = [
        Casting::No,
        Casting::Equiv,
        Casting::Safe,
        Casting::SameKind,
        Casting::Unsafe,
    ];

    /// NumPy's name of the level (`same_kind`).
    pub fn name(self) -> &'static str {
        match self {
            Casting::No => "no",
            Casting::Equiv => "equiv",
            Casting::Safe => "safe",
            Casting::SameKind => "same_kind",
            Casting::Unsafe => "unsafe",
        }
    }

    /// The level with NumPy's name `name`.
    pub fn from_name(name: &str) -> Option<Casting> {
        Casting::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Casting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Casting {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Casting, String> {
        Casting::from_name(s).ok_or_else(|| {
            format!("invalid casting {s:?} (expected no, equiv, safe, same_kind or unsafe)")
        })
    }
}

fn unsupported(from: &Dtype, to: &Dtype, reason: &str) -> crate::Error {
    ErrorKind::UnsupportedCast {
        from: from.to_string(),
        to: to.to_string(),
        reason: reason.to_string(),
    }
    .into()
}

/// Whether npymap's cast kernel handles this scalar: bool, int, uint,
/// float16/32/64 and complex64/128 (not long double).
fn castable(s: &Scalar) -> bool {
    match s.kind() {
        ScalarKind::Bool | ScalarKind::Int | ScalarKind::UInt => true,
        ScalarKind::Float => s.itemsize() <= 8,
        ScalarKind::Complex => s.itemsize() <= 16,
        _ => false,
    }
}

/// Smallest float size that holds every value of an integer of `size`
/// bytes as NumPy judges it (`int64 -> float64` counts as safe).
fn float_for_int(size: usize) -> usize {
    match size {
        1 => 2,
        2 => 4,
        _ => 8,
    }
}

/// The kind order of `same_kind`: a cast to the same or a later kind.
fn kind_rank(k: ScalarKind) -> u8 {
    match k {
        ScalarKind::Bool => 0,
        ScalarKind::UInt => 1,
        ScalarKind::Int => 2,
        ScalarKind::Float => 3,
        _ => 4,
    }
}

/// Whether NumPy calls the numeric cast `from -> to` safe.
fn is_safe(from: &Scalar, to: &Scalar) -> bool {
    use ScalarKind::*;
    let (fs, ts) = (from.itemsize(), to.itemsize());
    match (from.kind(), to.kind()) {
        (Bool, _) => true,
        (_, Bool) => false,
        (Int, Int) | (UInt, UInt) | (Float, Float) | (Complex, Complex) => ts >= fs,
        (UInt, Int) => ts > fs,
        (Int | UInt, Float) => ts >= float_for_int(fs),
        (Int | UInt, Complex) => ts / 2 >= float_for_int(fs).max(4),
        (Float, Complex) => ts / 2 >= fs.max(4),
        _ => false,
    }
}

/// The strictest casting level under which NumPy allows casting `from` to
/// `to` (`np.can_cast(from, to, level)`), for the casts npymap performs:
/// any dtype to itself up to byte order (`no` or `equiv`), and casts among
/// bool, int, uint, float16/32/64 and complex64/128.
///
/// # Errors
/// `UnsupportedCast` when npymap does not perform the cast at any level
/// (strings, datetimes, long double, structured dtypes that differ in more
/// than byte order, object).
pub fn required_casting(from: &Dtype, to: &Dtype) -> Result<Casting> {
    if from == to {
        return Ok(Casting::No);
    }
    if from.with_byte_order(ByteOrder::Little) == to.with_byte_order(ByteOrder::Little) {
        return Ok(Casting::Equiv);
    }
    let (Dtype::Scalar(f), Dtype::Scalar(t)) = (from, to) else {
        return Err(unsupported(
            from,
            to,
            "only simple numeric types are cast (structured dtypes only change byte order)",
        ));
    };
    if !castable(f) || !castable(t) {
        let long_double = |s: &Scalar| {
            matches!(s.kind(), ScalarKind::Float | ScalarKind::Complex) && !castable(s)
        };
        let reason = if long_double(f) || long_double(t) {
            "npymap does not cast long double (float128, complex256) to or from other types; \
             only its byte order changes"
        } else {
            "casts are supported among bool, int, uint, float16/32/64 and complex64/128"
        };
        return Err(unsupported(from, to, reason));
    }
    Ok(if is_safe(f, t) {
        Casting::Safe
    } else if kind_rank(f.kind()) <= kind_rank(t.kind()) {
        Casting::SameKind
    } else {
        Casting::Unsafe
    })
}

/// `np.can_cast(from, to, casting)` for the casts npymap performs (see
/// [`required_casting`]); `false` for casts it does not perform.
pub fn can_cast(from: &Dtype, to: &Dtype, casting: Casting) -> bool {
    required_casting(from, to).is_ok_and(|need| need <= casting)
}

/// Checks that `casting` allows the cast `from -> to`.
///
/// # Errors
/// `Casting` naming the level that would allow it; `UnsupportedCast` as
/// for [`required_casting`].
pub(crate) fn check(from: &Dtype, to: &Dtype, casting: Casting) -> Result<()> {
    let need = required_casting(from, to)?;
    if need <= casting {
        Ok(())
    } else {
        Err(ErrorKind::Casting {
            from: from.to_string(),
            to: to.to_string(),
            casting: casting.name(),
            needs: need.name(),
        }
        .into())
    }
}

// ---------------------------------------------------------------------------
// float16 bits, as NumPy converts them (numpy/_core/src/common/half*), not
// through the FPU: signalling NaNs stay signalling, payloads are shifted.

/// The float16 nearest to `full * 2**(e - frac_bits)` (round half to even,
/// overflow to infinity), where `full` is a normal significand with its
/// leading one at bit `frac_bits`.
fn round_to_half(sign: u16, e: i32, full: u64, frac_bits: u32) -> u16 {
    const INF: u16 = 0x7c00;
    if e >= 16 {
        return sign | INF;
    }
    // Bits to drop: down to 10 fraction bits for normal halves, to units of
    // 2**-24 below 2**-14 (subnormal halves).
    let shift = if e >= -14 {
        frac_bits as i32 - 10
    } else {
        frac_bits as i32 - 24 - e
    };
    if shift > frac_bits as i32 + 1 {
        // Below half the smallest subnormal: rounds to zero.
        return sign;
    }
    let shift = shift as u32;
    let mut m = full >> shift;
    let rest = full & ((1u64 << shift) - 1);
    let halfway = 1u64 << (shift - 1);
    if rest > halfway || (rest == halfway && m & 1 == 1) {
        m += 1;
    }
    let bits = if e >= -14 {
        // m is in [2**10, 2**11]; carrying into 2**11 bumps the exponent.
        (((e + 15) as u64) << 10) + (m - 0x400)
    } else {
        // Rounding up to 2**10 is the smallest normal, 0x0400: right too.
        m
    };
    if bits >= u64::from(INF) {
        sign | INF
    } else {
        sign | bits as u16
    }
}

/// A NaN's float16 bits: the top ten payload bits, kept a NaN.
fn half_nan(sign: u16, top: u16) -> u16 {
    sign | 0x7c00 | if top == 0 { 1 } else { top }
}

/// `float64 -> float16`, rounded once.
pub(crate) fn f64_to_half(x: f64) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 48) & 0x8000) as u16;
    let exp = ((b >> 52) & 0x7ff) as i32;
    let man = b & ((1u64 << 52) - 1);
    match exp {
        0x7ff if man != 0 => half_nan(sign, (man >> 42) as u16),
        0x7ff => sign | 0x7c00,
        // Zero, or a float64 subnormal (far below float16's range).
        0 => sign,
        _ => round_to_half(sign, exp - 1023, man | 1 << 52, 52),
    }
}

/// `float32 -> float16`, rounded once.
pub(crate) fn f32_to_half(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = u64::from(b & 0x7f_ffff);
    match exp {
        0xff if man != 0 => half_nan(sign, (man >> 13) as u16),
        0xff => sign | 0x7c00,
        0 => sign,
        _ => round_to_half(sign, exp - 127, man | 1 << 23, 23),
    }
}

/// `float16 -> float32`, exact; a NaN keeps its payload bits (shifted).
pub(crate) fn half_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match exp {
        0x1f => sign | 0x7f80_0000 | (man << 13),
        0 => {
            // Zero or subnormal: man * 2**-24, exact in float32.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            sign | v.to_bits()
        }
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// `float16 -> float64`, exact; a NaN keeps its payload bits (shifted).
pub(crate) fn half_to_f64(h: u16) -> f64 {
    let sign = u64::from(h & 0x8000) << 48;
    let exp = u64::from((h >> 10) & 0x1f);
    let man = u64::from(h & 0x3ff);
    match exp {
        0x1f => f64::from_bits(sign | 0x7ff0_0000_0000_0000 | (man << 42)),
        _ => f64::from(half_to_f32(h)),
    }
}

// ---------------------------------------------------------------------------
// float -> integer as x86-64's truncating conversions do it.

const TWO_31: f64 = 2_147_483_648.0;
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// `cvttsd2si` to 32 bits: truncation, `i32::MIN` for NaN and out of range.
fn cvtt32(x: f64) -> i32 {
    if x > -TWO_31 - 1.0 && x < TWO_31 {
        x as i32
    } else {
        i32::MIN
    }
}

/// `cvttsd2si` to 64 bits: truncation, `i64::MIN` for NaN and out of range.
fn cvtt64(x: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// The integer bits (low `size` bytes are used) NumPy's loop gives for the
/// float `x`; `scalar_loop` picks the non-vectorised `uint32` rule that
/// NumPy uses for `float16` sources (spec/cli.md §5.1).
fn float_to_int(x: f64, size: usize, signed: bool, scalar_loop: bool) -> u64 {
    match (size, signed) {
        (8, true) => cvtt64(x) as u64,
        (8, false) => {
            if x >= TWO_63 {
                (cvtt64(x - TWO_63) as u64) ^ (1 << 63)
            } else {
                cvtt64(x) as u64
            }
        }
        (4, false) if scalar_loop => cvtt64(x) as u64,
        (4, false) => u64::from(if x >= TWO_31 {
            (cvtt32(x - TWO_31) as u32) ^ (1 << 31)
        } else {
            cvtt32(x) as u32
        }),
        // int32, and int8/16, uint8/16 through an int32.
        _ => cvtt32(x) as i64 as u64,
    }
}

// ---------------------------------------------------------------------------
// The kernel.

/// One decoded number, floats in their own width (so no conversion happens
/// before the one NumPy does).
#[derive(Debug, Clone, Copy)]
enum Val {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Half(u16),
    Single(f32),
    Double(f64),
}

fn read_bits(order: ByteOrder, b: &[u8]) -> u64 {
    let mut v = 0u64;
    if order == ByteOrder::Big {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    v
}

fn write_bits(order: ByteOrder, v: u64, out: &mut [u8]) {
    let n = out.len();
    for (i, o) in out.iter_mut().enumerate() {
        let byte = if order == ByteOrder::Big {
            n - 1 - i
        } else {
            i
        };
        *o = (v >> (8 * byte)) as u8;
    }
}

fn read_float(order: ByteOrder, b: &[u8]) -> Val {
    let bits = read_bits(order, b);
    match b.len() {
        2 => Val::Half(bits as u16),
        4 => Val::Single(f32::from_bits(bits as u32)),
        _ => Val::Double(f64::from_bits(bits)),
    }
}

/// The real part (or the number) of one element, and the imaginary part of
/// a complex.
fn decode(s: &Scalar, b: &[u8]) -> (Val, Option<Val>) {
    let o = s.byte_order();
    match s.kind() {
        ScalarKind::Bool => (Val::Bool(b.first().is_some_and(|&x| x != 0)), None),
        ScalarKind::Int => {
            let shift = 64 - 8 * b.len().clamp(1, 8) as u32;
            (Val::Int(((read_bits(o, b) << shift) as i64) >> shift), None)
        }
        ScalarKind::UInt => (Val::UInt(read_bits(o, b)), None),
        ScalarKind::Complex => {
            let (re, im) = b.split_at(b.len() / 2);
            (read_float(o, re), Some(read_float(o, im)))
        }
        _ => (read_float(o, b), None),
    }
}

fn is_nonzero(v: Val) -> bool {
    match v {
        Val::Bool(b) => b,
        Val::Int(i) => i != 0,
        Val::UInt(u) => u != 0,
        Val::Half(h) => h & 0x7fff != 0,
        // NaN is true, as in C.
        Val::Single(x) => x != 0.0,
        Val::Double(x) => x != 0.0,
    }
}

/// The bits of `v` as a float of `size` bytes.
fn to_float_bits(v: Val, size: usize) -> u64 {
    match (v, size) {
        (Val::Bool(b), 2) => u64::from(if b { 0x3c00u16 } else { 0 }),
        (Val::Bool(b), 4) => u64::from(f32::from(u8::from(b)).to_bits()),
        (Val::Bool(b), _) => f64::from(u8::from(b)).to_bits(),
        // Integers are exact in float64 below 2**53, and anything above
        // 65504 overflows float16, so the detour through float64 is exact.
        (Val::Int(i), 2) => u64::from(f64_to_half(i as f64)),
        (Val::Int(i), 4) => u64::from((i as f32).to_bits()),
        (Val::Int(i), _) => (i as f64).to_bits(),
        (Val::UInt(u), 2) => u64::from(f64_to_half(u as f64)),
        (Val::UInt(u), 4) => u64::from((u as f32).to_bits()),
        (Val::UInt(u), _) => (u as f64).to_bits(),
        (Val::Half(h), 2) => u64::from(h),
        (Val::Half(h), 4) => u64::from(half_to_f32(h).to_bits()),
        (Val::Half(h), _) => half_to_f64(h).to_bits(),
        (Val::Single(x), 2) => u64::from(f32_to_half(x)),
        (Val::Single(x), 4) => u64::from(x.to_bits()),
        (Val::Single(x), _) => f64::from(x).to_bits(),
        (Val::Double(x), 2) => u64::from(f64_to_half(x)),
        (Val::Double(x), 4) => u64::from((x as f32).to_bits()),
        (Val::Double(x), _) => x.to_bits(),
    }
}

/// The bits of `v` as an integer of `size` bytes (only the low bytes are
/// stored).
fn to_int_bits(v: Val, size: usize, signed: bool) -> u64 {
    match v {
        Val::Bool(b) => u64::from(b),
        Val::Int(i) => i as u64,
        Val::UInt(u) => u,
        Val::Half(h) => float_to_int(half_to_f64(h), size, signed, true),
        Val::Single(x) => float_to_int(f64::from(x), size, signed, false),
        Val::Double(x) => float_to_int(x, size, signed, false),
    }
}

/// Casts one element of `from` (bytes `src`) into one element of `to`
/// (bytes `dst`). Both are types [`required_casting`] accepts.
fn cast_one(from: &Scalar, to: &Scalar, src: &[u8], dst: &mut [u8]) {
    let (re, im) = decode(from, src);
    let o = to.byte_order();
    let size = to.itemsize();
    match to.kind() {
        ScalarKind::Bool => {
            let v = is_nonzero(re) || im.is_some_and(is_nonzero);
            if let Some(d) = dst.first_mut() {
                *d = u8::from(v);
            }
        }
        ScalarKind::Int | ScalarKind::UInt => {
            let signed = to.kind() == ScalarKind::Int;
            write_bits(o, to_int_bits(re, size, signed), dst);
        }
        ScalarKind::Complex => {
            let half = size / 2;
            let (a, b) = dst.split_at_mut(half);
            write_bits(o, to_float_bits(re, half), a);
            let imag = im.map_or(0, |v| to_float_bits(v, half));
            write_bits(o, imag, b);
        }
        _ => write_bits(o, to_float_bits(re, size), dst),
    }
}

/// Casts whole elements: `src` holds elements of `from`, `dst` receives as
/// many elements of `to`.
pub(crate) fn cast_run(from: &Scalar, to: &Scalar, src: &[u8], dst: &mut [u8]) {
    let (fs, ts) = (from.itemsize(), to.itemsize());
    let native = |s: &Scalar| s.byte_order() == ByteOrder::Little;
    // The common case, float64 -> float32 in little-endian, without the
    // per-element dispatch.
    if from.kind() == ScalarKind::Float
        && to.kind() == ScalarKind::Float
        && (fs, ts) == (8, 4)
        && native(from)
        && native(to)
    {
        let (src, _) = src.as_chunks::<8>();
        let (dst, _) = dst.as_chunks_mut::<4>();
        for (s, d) in src.iter().zip(dst.iter_mut()) {
            *d = (f64::from_le_bytes(*s) as f32).to_le_bytes();
        }
        return;
    }
    for (s, d) in src.chunks_exact(fs).zip(dst.chunks_exact_mut(ts)) {
        cast_one(from, to, s, d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rounds_once_from_f64() {
        // Just above the halfway point between 1 and the next half: up.
        assert_eq!(f64_to_half(1.0 + 2f64.powi(-11) + 2f64.powi(-40)), 0x3c01);
        assert_eq!(f64_to_half(1.0 + 2f64.powi(-11)), 0x3c00);
        assert_eq!(f64_to_half(65519.99), 0x7bff);
        assert_eq!(f64_to_half(65520.0), 0x7c00);
        assert_eq!(f64_to_half(-65520.0), 0xfc00);
        assert_eq!(f64_to_half(2f64.powi(-25)), 0);
        assert_eq!(f64_to_half(2f64.powi(-25) * (1.0 + 2f64.powi(-30))), 1);
        assert_eq!(f64_to_half(2f64.powi(-24) * 1.5), 2);
        assert_eq!(f64_to_half(2f64.powi(-14) * (1.0 - 2f64.powi(-12))), 0x400);
        assert_eq!(f64_to_half(-0.0), 0x8000);
        assert_eq!(f64_to_half(f64::from_bits(0x7ff0_0000_0000_0001)), 0x7c01);
        assert_eq!(f32_to_half(f32::from_bits(0x7f80_0001)), 0x7c01);
        assert_eq!(f32_to_half(f32::from_bits(0x7fc0_0001)), 0x7e00);
    }

    #[test]
    fn half_widens_exactly() {
        for h in 0..=u16::MAX {
            let x = half_to_f32(h);
            if x.is_nan() {
                assert_eq!(x.to_bits() >> 13 & 0x3ff, u32::from(h & 0x3ff));
                continue;
            }
            assert_eq!(f32_to_half(x), h, "{h:#x}");
            assert_eq!(f64_to_half(half_to_f64(h)), h, "{h:#x}");
            assert_eq!(f64::from(x), half_to_f64(h));
        }
    }

    #[test]
    fn any_bytes_cast_between_any_pair_without_panic() {
        let names = [
            "|b1", "|i1", "<i2", ">i4", "<i8", "|u1", ">u2", "<u4", ">u8", "<f2", ">f2", "<f4",
            ">f4", "<f8", ">f8", "<c8", ">c16",
        ];
        let scalars: Vec<Scalar> = names
            .iter()
            .map(|n| *Dtype::from_descr(n).unwrap().as_scalar().unwrap())
            .collect();
        // Bytes of every pattern class: all ones, sign bits, exponents.
        let mut src = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..512 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            src.extend_from_slice(&x.to_le_bytes());
        }
        src.extend_from_slice(&[0xff; 64]);
        src.extend_from_slice(&[0x7f; 64]);
        src.extend_from_slice(&[0x80; 64]);
        for from in &scalars {
            for to in &scalars {
                let n = src.len() / from.itemsize();
                let mut dst = vec![0u8; n * to.itemsize()];
                cast_run(from, to, &src[..n * from.itemsize()], &mut dst);
            }
        }
    }

    #[test]
    fn levels_follow_kinds() {
        let d = |s: &str| Dtype::from_descr(s).unwrap();
        let need = |a: &str, b: &str| required_casting(&d(a), &d(b)).unwrap();
        assert_eq!(need("<f8", "<f8"), Casting::No);
        assert_eq!(need("<f8", ">f8"), Casting::Equiv);
        assert_eq!(need("<f4", ">f8"), Casting::Safe);
        assert_eq!(need("<f8", ">f4"), Casting::SameKind);
        assert_eq!(need("<u8", "<i1"), Casting::SameKind);
        assert_eq!(need("<i1", "<u8"), Casting::Unsafe);
        assert_eq!(need("<c16", "<f8"), Casting::Unsafe);
        assert!(required_casting(&d("<f16"), &d("<f8")).is_err());
        assert!(required_casting(&d("|S3"), &d("<f8")).is_err());
    }
}
