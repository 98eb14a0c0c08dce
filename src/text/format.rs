//! Python's `%` operator, for the conversions `np.savetxt`'s `fmt` uses:
//! `%[flags][width][.precision](d|i|u|x|X|o|e|E|f|F|g|G|s)` and `%%`.
//!
//! Floats are printed from their exact binary value (Rust's exact decimal
//! expansion, ties to even, as CPython's `dtoa`), then laid out with
//! CPython's rules: exponents of at least two digits, `%g`'s choice between
//! fixed and exponent notation, `#`, and `nan` / `inf` with flags and
//! padding.

use std::fmt::Write as _;

use crate::error::{ErrorKind, Result};

/// Largest width or precision a conversion may ask for (CPython has no such
/// limit; this keeps one element's text bounded).
pub const MAX_WIDTH: usize = 10_000;

/// One value handed to a conversion, as NumPy hands a scalar to `%`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    /// A `numpy.bool`.
    Bool(bool),
    /// A signed integer of any width.
    Int(i64),
    /// An unsigned integer of any width.
    UInt(u64),
    /// A float and the byte size of its NumPy type (2, 4 or 8), which
    /// decides how `%s` prints it (NumPy's `str` of that scalar type).
    Float(f64, usize),
}

impl Arg {
    /// The NumPy type name, for messages.
    fn type_name(self) -> &'static str {
        match self {
            Arg::Bool(_) => "bool",
            Arg::Int(_) => "int",
            Arg::UInt(_) => "uint",
            Arg::Float(_, 2) => "float16",
            Arg::Float(_, 4) => "float32",
            Arg::Float(..) => "float64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conv {
    Int,
    Hex,
    Oct,
    Exp,
    Fixed,
    General,
    Str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    upper: bool,
    width: usize,
    precision: Option<usize>,
    conv: Conv,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Spec(Spec),
}

/// A parsed Python `%` format string: literal text and conversions.
///
/// ```
/// use npymap::text::{Arg, PyFormat};
/// let f = PyFormat::parse("%.3e|%5d|%g")?;
/// let mut out = String::new();
/// f.format(&[Arg::Float(1234.5, 8), Arg::Int(-7), Arg::Float(1e-5, 8)], &mut out)?;
/// assert_eq!(out, "1.234e+03|   -7|1e-05");
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFormat {
    pieces: Vec<Piece>,
}

fn bad_format(fmt: &str, why: String) -> crate::Error {
    ErrorKind::Text(format!("format {fmt:?}: {why}")).into()
}

/// Reads a decimal number at `chars[i..]`, capped at [`MAX_WIDTH`].
fn number(fmt: &str, chars: &[(usize, char)], i: &mut usize) -> Result<usize> {
    let mut n: usize = 0;
    while let Some(&(_, c)) = chars.get(*i) {
        let Some(d) = c.to_digit(10) else { break };
        n = n.saturating_mul(10).saturating_add(d as usize);
        *i += 1;
    }
    if n > MAX_WIDTH {
        return Err(bad_format(
            fmt,
            format!("width or precision {n} is larger than {MAX_WIDTH}"),
        ));
    }
    Ok(n)
}

impl PyFormat {
    /// Parses a format string as Python's `%` operator does.
    ///
    /// # Errors
    /// `Unsupported` naming the format for an incomplete conversion, a
    /// conversion outside the subset (`%r`, `%c`, `%(key)s`, `*` widths), or
    /// a width or precision above [`MAX_WIDTH`].
    pub fn parse(fmt: &str) -> Result<PyFormat> {
        let chars: Vec<(usize, char)> = fmt.char_indices().collect();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while let Some(&(_, c)) = chars.get(i) {
            i += 1;
            if c != '%' {
                lit.push(c);
                continue;
            }
            let mut s = Spec {
                left: false,
                plus: false,
                space: false,
                alt: false,
                zero: false,
                upper: false,
                width: 0,
                precision: None,
                conv: Conv::Str,
            };
            let start = i;
            while let Some(&(_, f)) = chars.get(i) {
                match f {
                    '-' => s.left = true,
                    '+' => s.plus = true,
                    ' ' => s.space = true,
                    '#' => s.alt = true,
                    '0' => s.zero = true,
                    _ => break,
                }
                i += 1;
            }
            s.width = number(fmt, &chars, &mut i)?;
            if chars.get(i).map(|&(_, c)| c) == Some('.') {
                i += 1;
                s.precision = Some(number(fmt, &chars, &mut i)?);
            }
            while matches!(chars.get(i), Some(&(_, 'h' | 'l' | 'L'))) {
                i += 1;
            }
            let Some(&(at, ch)) = chars.get(i) else {
                return Err(bad_format(fmt, "incomplete format".into()));
            };
            i += 1;
            s.upper = ch.is_ascii_uppercase();
            s.conv = match ch {
                '%' if i == start + 1 => {
                    lit.push('%');
                    continue;
                }
                'd' | 'i' | 'u' => Conv::Int,
                'x' | 'X' => Conv::Hex,
                'o' => Conv::Oct,
                'e' | 'E' => Conv::Exp,
                'f' | 'F' => Conv::Fixed,
                'g' | 'G' => Conv::General,
                's' => Conv::Str,
                _ => {
                    return Err(bad_format(
                        fmt,
                        format!(
                            "unsupported format character {ch:?} at index {at} \
                             (supported: d i u x X o e E f F g G s %)"
                        ),
                    ));
                }
            };
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Spec(s));
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(PyFormat { pieces })
    }

    /// How many values the format consumes.
    pub fn conversions(&self) -> usize {
        self.pieces
            .iter()
            .filter(|p| matches!(p, Piece::Spec(_)))
            .count()
    }

    /// Appends `self % tuple(args)` to `out`.
    ///
    /// # Errors
    /// `Unsupported` when the number of values differs from
    /// [`conversions`](Self::conversions), or a value does not fit its
    /// conversion as in Python (`%d` of NaN or infinity, `%x` of a float
    /// or a bool).
    pub fn format(&self, args: &[Arg], out: &mut String) -> Result<()> {
        if args.len() != self.conversions() {
            return Err(ErrorKind::Text(format!(
                "the format has {} conversions for {} values",
                self.conversions(),
                args.len()
            ))
            .into());
        }
        let mut args = args.iter().enumerate();
        for p in &self.pieces {
            match p {
                Piece::Lit(l) => out.push_str(l),
                Piece::Spec(s) => {
                    if let Some((i, &a)) = args.next() {
                        format_arg(s, a, out)
                            .map_err(|e| ErrorKind::Text(format!("value {}: {e}", i + 1)))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Pads `sign + prefix + body` to the spec's width as CPython does.
fn pad(s: &Spec, sign: &str, prefix: &str, body: &str, numeric: bool, out: &mut String) {
    if s.width == 0 {
        out.push_str(sign);
        out.push_str(prefix);
        out.push_str(body);
        return;
    }
    let len = sign.len() + prefix.len() + body.chars().count();
    let fill = s.width.saturating_sub(len);
    if s.left {
        out.push_str(sign);
        out.push_str(prefix);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if s.zero && numeric {
        out.push_str(sign);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(sign);
        out.push_str(prefix);
        out.push_str(body);
    }
}

fn sign_of(s: &Spec, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if s.plus {
        "+"
    } else if s.space {
        " "
    } else {
        ""
    }
}

fn type_error(s: &Spec, a: Arg) -> crate::Error {
    let c = match (s.conv, s.upper) {
        (Conv::Hex, true) => 'X',
        (Conv::Hex, false) => 'x',
        (Conv::Oct, _) => 'o',
        _ => 'd',
    };
    ErrorKind::Text(format!(
        "%{c} format: an integer is required, not {}",
        a.type_name()
    ))
    .into()
}

fn format_arg(s: &Spec, a: Arg, out: &mut String) -> Result<()> {
    match s.conv {
        Conv::Int | Conv::Hex | Conv::Oct => format_int(s, a, out),
        Conv::Exp | Conv::Fixed | Conv::General => {
            let x = match a {
                Arg::Bool(b) => f64::from(u8::from(b)),
                Arg::Int(v) => v as f64,
                Arg::UInt(v) => v as f64,
                Arg::Float(x, _) => x,
            };
            format_float(s, x, out);
            Ok(())
        }
        Conv::Str => {
            let text = str_of(a);
            let body: String = match s.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            };
            pad(s, "", "", &body, false, out);
            Ok(())
        }
    }
}

fn format_int(s: &Spec, a: Arg, out: &mut String) -> Result<()> {
    // (negative, magnitude digits in the conversion's base)
    let (negative, mut digits) = match (a, s.conv) {
        (Arg::Float(..) | Arg::Bool(_), Conv::Hex | Conv::Oct) => return Err(type_error(s, a)),
        (Arg::Float(x, _), _) => {
            if x.is_nan() {
                return Err(
                    ErrorKind::Text("cannot convert float NaN to integer (%d)".into()).into(),
                );
            }
            if x.is_infinite() {
                return Err(ErrorKind::Text(
                    "cannot convert float infinity to integer (%d)".into(),
                )
                .into());
            }
            let t = x.trunc();
            // Exact digits of the integer value, however large.
            (t < 0.0, format!("{:.0}", t.abs()))
        }
        (Arg::Bool(b), _) => (false, u8::from(b).to_string()),
        (Arg::Int(v), c) => (v < 0, radix(u128::from(v.unsigned_abs()), c, s.upper)),
        (Arg::UInt(v), c) => (false, radix(u128::from(v), c, s.upper)),
    };
    if let Some(p) = s.precision
        && p > digits.len()
    {
        let zeros = "0".repeat(p - digits.len());
        digits.insert_str(0, &zeros);
    }
    let prefix = match (s.conv, s.alt, s.upper) {
        (Conv::Hex, true, false) => "0x",
        (Conv::Hex, true, true) => "0X",
        (Conv::Oct, true, _) => "0o",
        _ => "",
    };
    pad(s, sign_of(s, negative), prefix, &digits, true, out);
    Ok(())
}

fn radix(v: u128, c: Conv, upper: bool) -> String {
    match (c, upper) {
        (Conv::Hex, false) => format!("{v:x}"),
        (Conv::Hex, true) => format!("{v:X}"),
        (Conv::Oct, _) => format!("{v:o}"),
        _ => v.to_string(),
    }
}

/// The first `n` (1..=19) significant decimal digits of `x` (finite,
/// non-negative), correctly rounded with ties to even, and the decimal
/// exponent of the first digit: exact rational arithmetic in `u128`, so
/// only for values where it fits (about 1e-14 to 3e38 at 19 digits);
/// `None` otherwise, and the caller falls back to Rust's exact (but much
/// slower, bignum) formatting. Zero gives `(0, 0)`.
fn fast_digits(x: f64, n: u32) -> Option<(u64, i32)> {
    if x == 0.0 {
        return Some((0, 0));
    }
    if !(1..=19).contains(&n) || !x.is_finite() || x < 0.0 {
        return None;
    }
    let bits = x.to_bits();
    let biased = i32::try_from((bits >> 52) & 0x7ff).ok()?;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    let lo = 10u64.pow(n - 1);
    let hi = lo.checked_mul(10)?;
    // An estimate of the exponent, corrected below when it is one off.
    let mut k = decimal_exponent(x, biased);
    for _ in 0..3 {
        // q = x * 10^s must have n digits: x = m * 2^e = num / den.
        let s = i32::try_from(n).ok()? - 1 - k;
        let (q, twice_rem_vs_den) = if s >= 0 {
            // x * 10^s = m * 5^s * 2^(e + s): a shift, no division.
            let num = u128::from(m).checked_mul(5u128.checked_pow(s.unsigned_abs())?)?;
            let e2 = e + s;
            let sh = e2.unsigned_abs();
            if e2 >= 0 {
                if num.leading_zeros() <= sh {
                    return None;
                }
                (num << sh, std::cmp::Ordering::Less)
            } else if sh >= 127 {
                return None;
            } else {
                let rem = num & ((1u128 << sh) - 1);
                (num >> sh, rem.cmp(&(1u128 << (sh - 1))))
            }
        } else {
            // x / 10^-s with x = m * 2^e: large values only.
            let den_pow10 = 10u128.checked_pow(s.unsigned_abs())?;
            let mut num = u128::from(m);
            let sh = e.unsigned_abs();
            let den = if e >= 0 {
                if num.leading_zeros() <= sh {
                    return None;
                }
                num <<= sh;
                den_pow10
            } else {
                den_pow10.checked_mul(1u128.checked_shl(sh)?)?
            };
            if den.leading_zeros() == 0 {
                return None;
            }
            let q = num / den;
            let rem = num - q * den;
            // den < 2^127, so 2 * rem cannot overflow.
            (q, (rem * 2).cmp(&den))
        };
        let Ok(mut q) = u64::try_from(q) else {
            k += 1;
            continue;
        };
        if q < lo {
            k -= 1;
            continue;
        }
        if q >= hi {
            k += 1;
            continue;
        }
        let up = match twice_rem_vs_den {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => q % 2 == 1,
            std::cmp::Ordering::Less => false,
        };
        if up {
            q += 1;
            if q == hi {
                q = lo;
                k += 1;
            }
        }
        return Some((q, k));
    }
    None
}

/// Powers of ten from `10^-25` to `10^40`, as the nearest `f64`.
const POW10: [f64; 66] = [
    1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13,
    1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3,
    1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36,
    1e37, 1e38, 1e39, 1e40,
];

/// `floor(log10(x))` for a positive finite `x` with biased binary exponent
/// `biased`, or a value one off near a power of ten (the caller corrects
/// that): `floor(E * log10(2))` from the binary exponent `E`, then one
/// comparison with the next power of ten. Outside [`POW10`]'s range, and for
/// subnormals, `log10` itself.
fn decimal_exponent(x: f64, biased: i32) -> i32 {
    // 78913 / 2^18 is log10(2) to six digits: exact floors for |E| < 1650.
    let k = ((biased - 1023) * 78913) >> 18;
    match usize::try_from(k + 26).ok().and_then(|i| POW10.get(i)) {
        Some(&next) if biased > 0 => k + i32::from(x >= next),
        _ => x.log10().floor() as i32,
    }
}

/// `x` (finite, non-negative) times `10^p`, rounded to an integer with
/// ties to even, when that is exact in `u128` arithmetic (`p <= 22`,
/// `x` below about `2^127 / 10^p` and not tiny); `None` otherwise.
fn fast_fixed(x: f64, p: usize) -> Option<u128> {
    if !x.is_finite() || x < 0.0 || p > 22 {
        return None;
    }
    let bits = x.to_bits();
    let biased = i32::try_from((bits >> 52) & 0x7ff).ok()?;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    let num = u128::from(m).checked_mul(10u128.checked_pow(u32::try_from(p).ok()?)?)?;
    let sh = e.unsigned_abs();
    if e >= 0 {
        return (num.leading_zeros() > sh).then(|| num << sh);
    }
    if sh >= 127 {
        return None;
    }
    let q = num >> sh;
    let rem = num & ((1u128 << sh) - 1);
    let half = 1u128 << (sh - 1);
    let up = rem > half || (rem == half && q % 2 == 1);
    Some(if up { q + 1 } else { q })
}

/// The decimal digits of `q` at the end of `buf`, at least `n` of them
/// (zero-padded on the left, `n` at most 20).
fn digits_of(mut q: u64, n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    while q > 0 || buf.len() - at < n.min(20) {
        at -= 1;
        if let Some(b) = buf.get_mut(at) {
            // q % 10 < 10: the cast keeps the value.
            *b = b'0' + (q % 10) as u8;
        }
        q /= 10;
        if at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

/// Appends ASCII digits.
fn push_ascii(body: &mut String, digits: &[u8]) {
    // Digits are ASCII, so always UTF-8: one copy, not a push per char.
    body.push_str(std::str::from_utf8(digits).unwrap_or_default());
}

/// Appends the `n` digits of `q` (zeros for 0).
fn push_digits(body: &mut String, q: u64, n: usize) {
    let mut buf = [0u8; 20];
    push_ascii(body, digits_of(q, n, &mut buf));
}

/// `x` (finite, non-negative) with `prec` digits after the point in
/// exponent notation: the digits (point removed) and the decimal exponent.
fn exp_digits(x: f64, prec: usize, buf: &mut String) -> i32 {
    buf.clear();
    if let Some((q, k)) = u32::try_from(prec + 1).ok().and_then(|n| fast_digits(x, n)) {
        push_digits(buf, q, prec + 1);
        return k;
    }
    let _ = write!(buf, "{x:.prec$e}");
    let (mant, exp) = buf.split_once('e').unwrap_or((buf.as_str(), "0"));
    let exp = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    buf.clear();
    buf.push_str(&digits);
    exp
}

fn push_exponent(body: &mut String, exp: i32, upper: bool) {
    body.push(if upper { 'E' } else { 'e' });
    body.push(if exp < 0 { '-' } else { '+' });
    let mut buf = [0u8; 20];
    push_ascii(body, digits_of(u64::from(exp.unsigned_abs()), 2, &mut buf));
}

fn format_float(s: &Spec, x: f64, out: &mut String) {
    if !x.is_finite() {
        let body = match (x.is_nan(), s.upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        // CPython prints NaN without its sign bit.
        let negative = x.is_infinite() && x < 0.0;
        pad(s, sign_of(s, negative), "", body, true, out);
        return;
    }
    let negative = x.is_sign_negative();
    let a = x.abs();
    // Without a width the text goes straight into `out` (no allocation
    // per value); with one it is built aside and padded.
    let mut aside = String::new();
    let direct = s.width == 0;
    let body = if direct {
        out.push_str(sign_of(s, negative));
        &mut *out
    } else {
        &mut aside
    };
    let base = body.len();
    match s.conv {
        Conv::Exp => {
            let p = s.precision.unwrap_or(6);
            if let Some((q, k)) = u32::try_from(p + 1).ok().and_then(|n| fast_digits(a, n)) {
                let mut buf = [0u8; 20];
                let digits = digits_of(q, p + 1, &mut buf);
                let (first, rest) = digits.split_at(1.min(digits.len()));
                push_ascii(body, first);
                if p > 0 || s.alt {
                    body.push('.');
                }
                push_ascii(body, rest);
                push_exponent(body, k, s.upper);
                if !direct {
                    pad(s, sign_of(s, negative), "", &aside, true, out);
                }
                return;
            }
            // Rust's exact form is "d.ddde-5": keep the mantissa, respell
            // the exponent as C does ("e-05").
            let _ = write!(body, "{a:.p$e}");
            let at = body
                .get(base..)
                .and_then(|t| t.find('e'))
                .map_or(body.len(), |i| base + i);
            let exp: i32 = body.get(at + 1..).and_then(|e| e.parse().ok()).unwrap_or(0);
            body.truncate(at);
            if p == 0 && s.alt {
                body.push('.');
            }
            push_exponent(body, exp, s.upper);
        }
        Conv::Fixed => {
            let p = s.precision.unwrap_or(6);
            if let Some(q) = fast_fixed(a, p) {
                match u64::try_from(q) {
                    Ok(q) if p < 20 => {
                        let mut buf = [0u8; 20];
                        let digits = digits_of(q, p + 1, &mut buf);
                        let (int, frac) = digits.split_at(digits.len() - p);
                        push_ascii(body, int);
                        if p > 0 {
                            body.push('.');
                            push_ascii(body, frac);
                        }
                    }
                    _ => {
                        let _ = write!(body, "{q:0>width$}", width = p + 1);
                        if p > 0 {
                            body.insert(body.len() - p, '.');
                        }
                    }
                }
            } else {
                let _ = write!(body, "{a:.p$}");
            }
            if p == 0 && s.alt {
                body.push('.');
            }
        }
        _ => general(s, a, body),
    }
    if !direct {
        pad(s, sign_of(s, negative), "", &aside, true, out);
    }
}

/// `%g`: CPython's choice between fixed and exponent notation, trailing
/// zeros removed unless `#`.
fn general(s: &Spec, a: f64, body: &mut String) {
    let p = s.precision.unwrap_or(6).max(1);
    let mut digits = String::new();
    let exp = exp_digits(a, p - 1, &mut digits);
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    let fixed = (-4..p_i).contains(&exp);
    let (int_part, mut frac) = if !fixed {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        (first.to_string(), rest.to_string())
    } else if exp >= 0 {
        let n = usize::try_from(exp).unwrap_or(0) + 1;
        let (i, f) = digits.split_at(n.min(digits.len()));
        (i.to_string(), f.to_string())
    } else {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        ("0".to_string(), zeros + &digits)
    };
    if !s.alt {
        let kept = frac.trim_end_matches('0').len();
        frac.truncate(kept);
    }
    body.push_str(&int_part);
    if !frac.is_empty() || s.alt {
        body.push('.');
        body.push_str(&frac);
    }
    if !fixed {
        push_exponent(body, exp, s.upper);
    }
}

/// `str()` of the NumPy scalar: `True`/`False`, integers, and floats in
/// NumPy's shortest round-trip digits for the scalar's width.
fn str_of(a: Arg) -> String {
    match a {
        Arg::Bool(b) => if b { "True" } else { "False" }.into(),
        Arg::Int(v) => v.to_string(),
        Arg::UInt(v) => v.to_string(),
        Arg::Float(x, size) => crate::convert::value::format_float(x, size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, a: Arg) -> String {
        let mut out = String::new();
        PyFormat::parse(fmt)
            .unwrap()
            .format(&[a], &mut out)
            .unwrap();
        out
    }

    #[test]
    fn floats_match_cpython() {
        let x = |v| Arg::Float(v, 8);
        assert_eq!(f("%.18e", x(0.1)), "1.000000000000000056e-01");
        assert_eq!(f("%e", x(-0.0)), "-0.000000e+00");
        assert_eq!(f("%.0e", x(1.5)), "2e+00");
        assert_eq!(f("%#.0e", x(1.5)), "2.e+00");
        assert_eq!(f("%#.0f", x(2.5)), "2.");
        assert_eq!(f("%g", x(0.0)), "0");
        assert_eq!(f("%#g", x(0.0)), "0.00000");
        assert_eq!(f("%g", x(1e-5)), "1e-05");
        assert_eq!(f("%g", x(123456789.0)), "1.23457e+08");
        assert_eq!(f("%#.3g", x(100.0)), "100.");
        assert_eq!(f("%.3g", x(0.0001234)), "0.000123");
        assert_eq!(f("%010e", x(f64::NEG_INFINITY)), "-000000inf");
        assert_eq!(f("%+f", x(f64::NAN)), "+nan");
        assert_eq!(f("%G", x(f64::NAN)), "NAN");
        assert_eq!(f("%e", x(1e300)), "1.000000e+300");
    }

    /// The exponent estimate is `floor(log10(x))` exactly (the exponent
    /// of Rust's exact `{:.50e}`), except one above at a table entry that
    /// rounds a power of ten down (`1e23` is below 10^23), and `log10`'s
    /// own rounding outside the table; `fast_digits` corrects one off.
    /// Checked either side of every power of ten, for subnormals and for
    /// values of every binary exponent.
    #[test]
    fn decimal_exponent_is_floor_log10() {
        let mut xs = vec![5e-324, 1e-310, f64::MIN_POSITIVE, f64::MAX, 1.0, 0.1];
        for j in -330..=308 {
            let p: f64 = format!("1e{j}").parse().unwrap();
            if p > 0.0 && p.is_finite() {
                xs.extend([p.next_down(), p, p.next_up()]);
            }
        }
        let mut r = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let x = f64::from_bits(r & 0x7fef_ffff_ffff_ffff);
            if x > 0.0 {
                xs.push(x);
            }
        }
        for x in xs {
            // 50 exact digits (not the shortest form, which rounds 9.88e-324
            // up to "1e-323").
            let text = format!("{x:.50e}");
            let want: i32 = text[text.find('e').unwrap() + 1..].parse().unwrap();
            let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
            let got = decimal_exponent(x, biased);
            // Within the table, for normal values: exact but at a rounded
            // power of ten. Elsewhere `log10` itself, which can round
            // across an integer too (1e-310 gives -310): one off at most.
            let in_table = biased > 0 && (-25..40).contains(&want);
            assert!(
                got == want || (got == want + 1 && (POW10.contains(&x) || !in_table)),
                "{x:e}: estimate {got}, floor(log10) {want}"
            );
        }
    }

    #[test]
    fn fast_digits_agree_with_exact_formatting() {
        // Ties at 19 digits (2^-28 has 20 significant digits ending in 5),
        // carries into a new power of ten, subnormals and the range ends.
        let mut xs = vec![
            2f64.powi(-28),
            3.0 * 2f64.powi(-28),
            1e23,
            0.5,
            1.0,
            1e-4,
            123456789.0,
            2f64.powi(127),
            f64::MAX,
            5e-324,
            1e-20,
            0.1,
        ];
        xs.extend((1..2000).map(|i| f64::from(i) * 2f64.powi(-28)));
        xs.extend((1..2000).map(|i| f64::from(i).powf(7.3) / 1e9));
        // Either side of every power of ten the exponent estimate handles.
        for j in -30..=45 {
            let p: f64 = format!("1e{j}").parse().unwrap();
            xs.extend([p.next_down(), p, p.next_up()]);
        }
        assert!(fast_digits(0.1, 19).is_some() && fast_digits(1e30, 19).is_some());
        assert!(fast_digits(1.5e-13, 19).is_some());
        for &x in &xs {
            for p in [0usize, 1, 3, 6, 18, 22] {
                if let Some(q) = fast_fixed(x, p) {
                    let mut got = format!("{q:0>width$}", width = p + 1);
                    if p > 0 {
                        got.insert(got.len() - p, '.');
                    }
                    assert_eq!(got, format!("{x:.p$}"), "{x:e} with {p} decimals");
                }
            }
        }
        for x in xs {
            for n in [1u32, 2, 7, 17, 19] {
                let Some((q, k)) = fast_digits(x, n) else {
                    continue;
                };
                let p = n as usize - 1;
                let want = format!("{x:.p$e}");
                let mut got = String::new();
                push_digits(&mut got, q, n as usize);
                if p > 0 {
                    got.insert(1, '.');
                }
                assert_eq!(format!("{got}e{k}"), want, "{x:e} with {n} digits");
            }
        }
    }

    #[test]
    fn integers_match_cpython() {
        assert_eq!(f("%d", Arg::Float(-2.7, 4)), "-2");
        assert_eq!(f("%i", Arg::Float(-0.0, 8)), "0");
        assert_eq!(f("%#x", Arg::Int(-255)), "-0xff");
        assert_eq!(f("%#o", Arg::UInt(8)), "0o10");
        assert_eq!(f("%.3d", Arg::Int(-5)), "-005");
        assert_eq!(f("%08.3d", Arg::Int(5)), "00000005");
        assert_eq!(f("%-8.3d|", Arg::Int(5)), "005     |");
        assert_eq!(f("%#08x", Arg::UInt(255)), "0x0000ff");
        assert_eq!(f("%d", Arg::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(f("%e", Arg::Bool(true)), "1.000000e+00");
        assert_eq!(f("%05s", Arg::Bool(true)), " True");
        assert_eq!(f("%s", Arg::Float(0.1, 4)), "0.1");
        assert_eq!(f("%s", Arg::Float(65504.0, 2)), "6.55e+04");
        // A tie at 17 digits: CPython's repr rounds it to even.
        let tie = f64::from_bits(0x4312_9879_088f_f039);
        assert_eq!(f("%s", Arg::Float(tie, 8)), "1308548795726862.2");
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(PyFormat::parse("%").is_err());
        assert!(PyFormat::parse("%r").is_err());
        assert!(PyFormat::parse("%*d").is_err());
        let p = PyFormat::parse("%x").unwrap();
        let e = p.format(&[Arg::Float(1.5, 8)], &mut String::new());
        assert!(e.unwrap_err().to_string().contains("integer is required"));
        let p = PyFormat::parse("%d").unwrap();
        assert!(
            p.format(&[Arg::Float(f64::NAN, 8)], &mut String::new())
                .is_err()
        );
        assert!(p.format(&[], &mut String::new()).is_err());
    }
}
