//! Decoding single elements into values, for casts, statistics, comparison
//! and display. Works on any byte order and alignment (bytes in, value out).

use byteorder::{BigEndian, ByteOrder as _, LittleEndian};

use crate::dtype::{ByteOrder, Scalar, ScalarKind, TimeUnit};

/// A number decoded from one element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A bool.
    Bool(bool),
    /// A signed integer (any width up to 64 bits).
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float (f16, f32, f64; long double rounded to f64).
    Float(f64),
    /// A complex number as two floats.
    Complex(f64, f64),
}

impl Num {
    /// The value as an f64 (complex: the real part; bool: 0 or 1).
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Bool(b) => f64::from(u8::from(b)),
            Num::Int(i) => i as f64,
            Num::UInt(u) => u as f64,
            Num::Float(x) => x,
            Num::Complex(re, _) => re,
        }
    }
}

/// A value decoded from one element of a simple dtype.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Num(Num),
    /// `S<n>` bytes with trailing NULs removed (as NumPy returns them).
    Bytes(Vec<u8>),
    /// `U<n>` text with trailing NULs removed; invalid code points become U+FFFD.
    Str(String),
    /// `V<n>` raw bytes.
    Void(Vec<u8>),
    /// datetime64 count of units; `None` is NaT.
    Datetime(Option<i64>, TimeUnit, u32),
    /// timedelta64 count of units; `None` is NaT.
    Timedelta(Option<i64>, TimeUnit, u32),
}

fn read_uint(order: ByteOrder, b: &[u8]) -> u64 {
    match (order, b.len()) {
        (_, 1) => b.first().map_or(0, |&x| u64::from(x)),
        (ByteOrder::Big, n) => BigEndian::read_uint(b, n),
        (_, n) => LittleEndian::read_uint(b, n),
    }
}

fn read_int(order: ByteOrder, b: &[u8]) -> i64 {
    match (order, b.len()) {
        (_, 1) => b.first().map_or(0, |&x| i64::from(x as i8)),
        (ByteOrder::Big, n) => BigEndian::read_int(b, n),
        (_, n) => LittleEndian::read_int(b, n),
    }
}

fn read_float(order: ByteOrder, b: &[u8]) -> f64 {
    match b.len() {
        2 => half::f16::from_bits(read_uint(order, b) as u16).to_f64(),
        4 => f64::from(f32::from_bits(read_uint(order, b) as u32)),
        8 => f64::from_bits(read_uint(order, b)),
        16 => x87_to_f64(order, b),
        _ => f64::NAN,
    }
}

/// x87 80-bit extended precision (NumPy's `longdouble` on x86-64, stored
/// in 16 bytes) rounded to f64.
fn x87_to_f64(order: ByteOrder, b: &[u8]) -> f64 {
    let (se, mant) = super::ldouble::parts(order, b);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from(se & 0x7fff);
    let v = if exp == 0x7fff {
        if mant << 1 == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if exp == 0 && mant == 0 {
        0.0
    } else {
        // value = mant * 2^(exp - 16383 - 63); scale in two steps to stay in range.
        let e = exp - 16383 - 63;
        (mant as f64) * 2f64.powi(e / 2) * 2f64.powi(e - e / 2)
    };
    sign * v
}

/// Decodes a number from one element of a numeric scalar (bool, int, uint,
/// float, complex). Other kinds decode as NaN.
pub(crate) fn decode_num(s: &Scalar, b: &[u8]) -> Num {
    let o = s.byte_order();
    match s.kind() {
        ScalarKind::Bool => Num::Bool(b.first().is_some_and(|&x| x != 0)),
        ScalarKind::Int => Num::Int(read_int(o, b)),
        ScalarKind::UInt => Num::UInt(read_uint(o, b)),
        ScalarKind::Float => Num::Float(read_float(o, b)),
        ScalarKind::Complex => {
            let (re, im) = b.split_at(b.len() / 2);
            Num::Complex(read_float(o, re), read_float(o, im))
        }
        _ => Num::Float(f64::NAN),
    }
}

fn write_uint(order: ByteOrder, v: u64, out: &mut [u8]) {
    match (order, out.len()) {
        (_, 1) => {
            if let Some(o) = out.first_mut() {
                *o = v as u8;
            }
        }
        (ByteOrder::Big, n) => BigEndian::write_uint(out, v & mask(n), n),
        (_, n) => LittleEndian::write_uint(out, v & mask(n), n),
    }
}

fn mask(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

fn write_float(order: ByteOrder, v: f64, out: &mut [u8]) {
    match out.len() {
        2 => write_uint(order, u64::from(half::f16::from_f64(v).to_bits()), out),
        4 => write_uint(order, u64::from((v as f32).to_bits()), out),
        _ => write_uint(order, v.to_bits(), out),
    }
}

/// Encodes `n` into one element of the numeric scalar `s` (C cast rules:
/// integers wrap, floats round to nearest). Casts no longer use it (they
/// follow NumPy bit for bit in `convert/cast.rs`); kept for writers of
/// parsed values.
#[allow(dead_code)]
pub(crate) fn encode_num(s: &Scalar, n: Num, out: &mut [u8]) {
    let o = s.byte_order();
    let as_u64 = |n: Num| match n {
        Num::Bool(b) => u64::from(b),
        Num::Int(i) => i as u64,
        Num::UInt(u) => u,
        Num::Float(x) | Num::Complex(x, _) => x as i64 as u64,
    };
    match s.kind() {
        ScalarKind::Bool => {
            if let Some(b) = out.first_mut() {
                *b = u8::from(match n {
                    Num::Bool(b) => b,
                    Num::Complex(re, im) => re != 0.0 || im != 0.0,
                    other => other.as_f64() != 0.0,
                });
            }
        }
        ScalarKind::Int | ScalarKind::UInt => write_uint(o, as_u64(n), out),
        ScalarKind::Float => write_float(o, n.as_f64(), out),
        ScalarKind::Complex => {
            let (re, im) = match n {
                Num::Complex(re, im) => (re, im),
                other => (other.as_f64(), 0.0),
            };
            let half = out.len() / 2;
            let (a, b) = out.split_at_mut(half);
            write_float(o, re, a);
            write_float(o, im, b);
        }
        _ => {}
    }
}

/// Decodes one element of any simple dtype except object.
pub fn decode_value(s: &Scalar, b: &[u8]) -> Value {
    let o = s.byte_order();
    match s.kind() {
        ScalarKind::Bytes => {
            let end = b.iter().rposition(|&x| x != 0).map_or(0, |p| p + 1);
            Value::Bytes(b.get(..end).unwrap_or(b).to_vec())
        }
        ScalarKind::Unicode => {
            let mut text: String = b
                .chunks_exact(4)
                .map(|c| char::from_u32(read_uint(o, c) as u32).unwrap_or('\u{fffd}'))
                .collect();
            let trimmed = text.trim_end_matches('\0').len();
            text.truncate(trimmed);
            Value::Str(text)
        }
        ScalarKind::Void | ScalarKind::Object => Value::Void(b.to_vec()),
        ScalarKind::Datetime { unit, multiplier } => {
            let v = read_int(o, b);
            Value::Datetime((v != i64::MIN).then_some(v), unit, multiplier)
        }
        ScalarKind::Timedelta { unit, multiplier } => {
            let v = read_int(o, b);
            Value::Timedelta((v != i64::MIN).then_some(v), unit, multiplier)
        }
        _ => Value::Num(decode_num(s, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x87_decodes_common_values() {
        // 1.0: mantissa 0x8000_0000_0000_0000, exponent 16383.
        let mut one = [0u8; 16];
        one[7] = 0x80;
        one[8] = 0xff;
        one[9] = 0x3f;
        assert_eq!(x87_to_f64(ByteOrder::Little, &one), 1.0);
        let mut be = one;
        be.reverse();
        assert_eq!(x87_to_f64(ByteOrder::Big, &be), 1.0);
        one[9] |= 0x80;
        assert_eq!(x87_to_f64(ByteOrder::Little, &one), -1.0);
    }
}

/// A long double (x87, 16 bytes) as NumPy's `str` prints it: its own
/// shortest round-trip digits, not those of the nearest `f64`, positional
/// for decimal exponents -4..15.
fn long_double_text(order: ByteOrder, b: &[u8]) -> String {
    match super::ldouble::sci_text(order, b).as_str() {
        sci @ ("nan" | "inf" | "-inf") => sci.to_string(),
        sci => {
            // `sci` is e.g. "-1.25e-7" or "3e0".
            let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
            let positional = (-4..16).contains(&exp);
            super::float_text::layout(mant.starts_with('-'), &digits, exp, positional)
        }
    }
}

pub use super::float_text::format_float;

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Days since 1970-01-01 to a proleptic Gregorian date.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A datetime64 value as NumPy's `str()` prints it (ISO 8601 at the unit's precision).
pub fn format_datetime(v: Option<i64>, unit: TimeUnit, mult: u32) -> String {
    let Some(v) = v else { return "NaT".into() };
    let v = i128::from(v) * i128::from(mult);
    let (sub_digits, per_second): (usize, i128) = match unit {
        TimeUnit::Years => {
            return format!("{:04}", 1970 + v);
        }
        TimeUnit::Months => {
            let y = 1970 + v.div_euclid(12);
            return format!("{y:04}-{:02}", v.rem_euclid(12) + 1);
        }
        TimeUnit::Weeks | TimeUnit::Days => {
            let days = if unit == TimeUnit::Weeks { v * 7 } else { v };
            let (y, m, d) = civil_from_days(days as i64);
            return format!("{y:04}-{m:02}-{d:02}");
        }
        TimeUnit::Hours => (0, 0),
        TimeUnit::Minutes => (0, 0),
        TimeUnit::Seconds => (0, 1),
        TimeUnit::Millis => (3, 1_000),
        TimeUnit::Micros => (6, 1_000_000),
        TimeUnit::Nanos => (9, 1_000_000_000),
        TimeUnit::Picos => (12, 1_000_000_000_000),
        TimeUnit::Femtos => (15, 1_000_000_000_000_000),
        TimeUnit::Attos => (18, 1_000_000_000_000_000_000),
        TimeUnit::Generic => return format!("{v}"),
    };
    let (secs, frac) = match unit {
        TimeUnit::Hours => (v * 3600, 0),
        TimeUnit::Minutes => (v * 60, 0),
        _ => (v.div_euclid(per_second), v.rem_euclid(per_second)),
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400) as i64);
    let s = secs.rem_euclid(86_400);
    let (hh, mm, ss) = (s / 3600, s % 3600 / 60, s % 60);
    match unit {
        TimeUnit::Hours => format!("{y:04}-{m:02}-{d:02}T{hh:02}"),
        TimeUnit::Minutes => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}"),
        _ if sub_digits == 0 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}"),
        _ => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:0sub_digits$}"),
    }
}

/// A timedelta64 value as NumPy's `str()` prints it: the count times the
/// unit's multiplier (wrapping in 64 bits, as NumPy does) and the unit's
/// name (`15 seconds` for 5 of `m8[3s]`, `2 generic time units`).
pub fn format_timedelta(v: Option<i64>, unit: TimeUnit, mult: u32) -> String {
    let Some(v) = v else { return "NaT".into() };
    let v = v.wrapping_mul(i64::from(mult));
    let name = match unit {
        TimeUnit::Years => "years",
        TimeUnit::Months => "months",
        TimeUnit::Weeks => "weeks",
        TimeUnit::Days => "days",
        TimeUnit::Hours => "hours",
        TimeUnit::Minutes => "minutes",
        TimeUnit::Seconds => "seconds",
        TimeUnit::Millis => "milliseconds",
        TimeUnit::Micros => "microseconds",
        TimeUnit::Nanos => "nanoseconds",
        TimeUnit::Picos => "picoseconds",
        TimeUnit::Femtos => "femtoseconds",
        TimeUnit::Attos => "attoseconds",
        TimeUnit::Generic => "generic time units",
    };
    format!("{v} {name}")
}

fn py_bytes(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from("b");
    out.push(quote);
    py_escape_bytes(b, quote, &mut out);
    out.push(quote);
    out
}

/// The text between the quotes of Python's `repr` of the bytes `b` quoted
/// with `quote`: a long value can so be written piece by piece.
pub(crate) fn py_escape_bytes(b: &[u8], quote: char, out: &mut String) {
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if char::from(c) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(c)),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
}

/// One element of a simple dtype, formatted as Python shows the scalar.
pub fn format_element(s: &Scalar, b: &[u8]) -> String {
    let complex_part = |x: f64, size: usize| {
        let t = format_float(x, size);
        t.strip_suffix(".0").map(str::to_string).unwrap_or(t)
    };
    if s.kind() == ScalarKind::Float && s.itemsize() == 16 {
        return long_double_text(s.byte_order(), b);
    }
    if s.kind() == ScalarKind::Complex && s.itemsize() == 32 {
        let (re, im) = b.split_at(b.len() / 2);
        let strip = |t: String| t.strip_suffix(".0").map(str::to_string).unwrap_or(t);
        let imag = strip(long_double_text(s.byte_order(), im));
        let zero = super::ldouble::sci_text(s.byte_order(), re) == "0e0";
        return if zero {
            format!("{imag}j")
        } else {
            let sign = if imag.starts_with('-') { "" } else { "+" };
            format!(
                "({}{sign}{imag}j)",
                strip(long_double_text(s.byte_order(), re))
            )
        };
    }
    match decode_value(s, b) {
        Value::Num(Num::Bool(v)) => if v { "True" } else { "False" }.into(),
        Value::Num(Num::Int(v)) => v.to_string(),
        Value::Num(Num::UInt(v)) => v.to_string(),
        Value::Num(Num::Float(x)) => format_float(x, s.itemsize()),
        Value::Num(Num::Complex(re, im)) => {
            let size = s.itemsize() / 2;
            let imag = complex_part(im, size);
            if re == 0.0 && re.is_sign_positive() {
                format!("{imag}j")
            } else {
                let sign = if imag.starts_with('-') { "" } else { "+" };
                format!("({}{sign}{imag}j)", complex_part(re, size))
            }
        }
        Value::Bytes(v) | Value::Void(v) => py_bytes(&v),
        Value::Str(t) => {
            let mut out = String::new();
            crate::dtype::py_repr_str(&t, &mut out);
            out
        }
        Value::Datetime(v, u, m) => format_datetime(v, u, m),
        Value::Timedelta(v, u, m) => format_timedelta(v, u, m),
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn datetimes_print_like_numpy() {
        assert_eq!(
            format_datetime(Some(0), TimeUnit::Seconds, 1),
            "1970-01-01T00:00:00"
        );
        assert_eq!(
            format_datetime(Some(18_262), TimeUnit::Days, 1),
            "2020-01-01"
        );
        assert_eq!(
            format_datetime(Some(1_500), TimeUnit::Millis, 1),
            "1970-01-01T00:00:01.500"
        );
        assert_eq!(format_datetime(Some(-1), TimeUnit::Days, 1), "1969-12-31");
        assert_eq!(format_datetime(None, TimeUnit::Nanos, 1), "NaT");
        // NumPy pads years to four digits, sign included.
        assert_eq!(
            format_datetime(Some(-719_162), TimeUnit::Days, 1),
            "0001-01-01"
        );
        assert_eq!(format_datetime(Some(-1971), TimeUnit::Years, 1), "-001");
    }
}
