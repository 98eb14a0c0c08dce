//! NumPy's `FloatingFormat` with its default options (`floatmode='maxprec'`,
//! `precision=8`, `suppress=False`, `sign='-'`, no legacy mode): one
//! format shared by every printed element of an array, chosen in two passes.
//!
//! Pass one ([`FloatFmt::observe_range`]) finds the smallest and largest
//! non-zero magnitudes and picks scientific notation when the largest
//! reaches `10**min(8, finfo.precision)`, the smallest is under `0.0001`,
//! or their ratio exceeds 1000 — each comparison made in the array's own
//! float type, as NumPy 2's weak Python-float promotion does. Pass two
//! ([`FloatFmt::observe_width`]) prints every finite value with unique
//! (shortest round-trip) digits cut at 8 fractional digits and records the
//! widths; [`FloatFmt::format`] then pads each value to them.
//!
//! Shortest digits come from the crate's Dragon4 (`convert::float_text`,
//! spec/float-text.md); digits cut at the precision come from Rust's exact
//! formatting, which rounds exact values half to even, as Dragon4 does.
//! `longdouble` values are formatted from their nearest `f64`: exact for
//! values `f64` holds, and otherwise differing from NumPy only past `f64`'s
//! 17 significant digits, which the 8-digit precision hides except in rare
//! rounding ties.

use half::f16;

/// Precision NumPy uses (`np.get_printoptions()['precision']`).
const PRECISION: usize = 8;

/// The format of one float field (or one half of a complex field).
#[derive(Debug, Clone)]
pub(super) struct FloatFmt {
    /// Storage bytes of one value: 2, 4, 8 or 16 (x87 long double).
    size: usize,
    /// Print `+` before non-negative values (the imaginary part of complex).
    plus: bool,
    any_finite: bool,
    any_nonfinite: bool,
    any_neg_inf: bool,
    max_abs: f64,
    min_abs: f64,
    any_nonzero: bool,
    exp: bool,
    pad_left: usize,
    pad_right: usize,
    /// Digits after the point in scientific notation.
    precision: usize,
    /// Exponent digits in scientific notation.
    exp_size: usize,
}

/// `np.finfo(dtype).precision` for each storage size.
fn decimal_precision(size: usize) -> i32 {
    match size {
        2 => 3,
        4 => 6,
        8 => 15,
        _ => 18,
    }
}

/// Rounds an f64 to the array's float type (for the weak-scalar comparisons).
fn to_dtype(x: f64, size: usize) -> f64 {
    match size {
        2 => f16::from_f64(x).to_f64(),
        4 => f64::from(x as f32),
        _ => x,
    }
}

/// `a / b` computed the way NumPy divides two scalars of the array's type.
fn div_in_dtype(a: f64, b: f64, size: usize) -> f64 {
    match size {
        // NumPy divides halves in single precision and rounds back.
        2 => f16::from_f32(a as f32 / b as f32).to_f64(),
        4 => f64::from(a as f32 / b as f32),
        _ => a / b,
    }
}

/// Shortest round-trip digits of finite `x` for its storage width:
/// `(negative, digits, exponent)` with `|x| = d.ddd × 10^exponent`, as
/// NumPy's Dragon4 picks them (the crate's one float formatter,
/// spec/float-text.md). `longdouble` goes through its nearest `f64`.
fn shortest(x: f64, size: usize) -> (bool, String, i32) {
    let (digits, exp) = crate::convert::float_text::shortest_digits(x, size);
    (x.is_sign_negative(), digits, exp)
}

/// Splits Rust's `{:e}` text (`-1.25e-7`) into sign, digits and exponent.
fn split_sci(text: &str) -> (bool, String, i32) {
    let (mant, exp) = text.split_once('e').unwrap_or((text, "0"));
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (neg, digits, exp.parse().unwrap_or(0))
}

/// Drops trailing zeros after a decimal point, keeping the point.
fn trim_zeros(s: &mut String) {
    if s.contains('.') {
        let keep = s.trim_end_matches('0').len();
        s.truncate(keep);
    }
}

/// Dragon4 positional with `unique=True, fractional=True, trim='.'`:
/// shortest digits when they need at most `precision` fractional digits,
/// else the exact value rounded (half to even) to `precision` digits. No
/// sign for non-negative values; always a decimal point.
pub(super) fn positional(x: f64, size: usize, precision: usize) -> String {
    let (neg, digits, exp) = shortest(x, size);
    let frac_needed =
        usize::try_from(i64::try_from(digits.len()).unwrap_or(i64::MAX) - 1 - i64::from(exp))
            .unwrap_or(0);
    let mut body = if frac_needed <= precision {
        if exp >= 0 {
            let int_len = usize::try_from(exp).unwrap_or(0).saturating_add(1);
            let int: String = digits.chars().take(int_len).collect();
            let zeros = int_len.saturating_sub(digits.len());
            let frac: String = digits.chars().skip(int_len).collect();
            format!("{int}{}.{frac}", "0".repeat(zeros))
        } else {
            let zeros = usize::try_from(-i64::from(exp) - 1).unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        format!("{:.*}", precision, x.abs())
    };
    if !body.contains('.') {
        body.push('.');
    }
    trim_zeros(&mut body);
    if neg {
        body.insert(0, '-');
    }
    body
}

/// Dragon4 scientific with `unique=True, trim='.'`: `(mantissa, exponent)`
/// where the mantissa is `[-]d.ddd` with at most `precision` digits after
/// the point (shortest digits, or the exact value rounded) and no trailing
/// zeros.
pub(super) fn scientific(x: f64, size: usize, precision: usize) -> (String, i32) {
    let (neg, mut digits, mut exp) = shortest(x, size);
    if digits.len() > precision.saturating_add(1) {
        (_, digits, exp) = split_sci(&format!("{:.*e}", precision, x.abs()));
    }
    let mut mant = String::with_capacity(digits.len() + 2);
    if neg {
        mant.push('-');
    }
    let mut chars = digits.chars();
    mant.push(chars.next().unwrap_or('0'));
    mant.push('.');
    mant.extend(chars);
    trim_zeros(&mut mant);
    (mant, exp)
}

/// `e+05`, `e-324`: the exponent with at least `digits` digits.
fn exp_text(exp: i32, digits: usize) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:0digits$}", exp.unsigned_abs())
}

impl FloatFmt {
    /// A fresh format for values stored in `size` bytes.
    pub(super) fn new(size: usize, plus: bool) -> FloatFmt {
        FloatFmt {
            size,
            plus,
            any_finite: false,
            any_nonfinite: false,
            any_neg_inf: false,
            max_abs: 0.0,
            min_abs: f64::INFINITY,
            any_nonzero: false,
            exp: false,
            pad_left: 0,
            pad_right: 0,
            precision: 0,
            exp_size: 0,
        }
    }

    /// Pass one: records the range of the finite non-zero magnitudes.
    pub(super) fn observe_range(&mut self, x: f64) {
        if x.is_finite() {
            self.any_finite = true;
            let a = x.abs();
            if a != 0.0 {
                self.any_nonzero = true;
                self.max_abs = self.max_abs.max(a);
                self.min_abs = self.min_abs.min(a);
            }
        } else {
            self.any_nonfinite = true;
            if x == f64::NEG_INFINITY {
                self.any_neg_inf = true;
            }
        }
    }

    /// Between the passes: fixed or scientific notation.
    pub(super) fn decide(&mut self) {
        if self.any_nonzero {
            let cutoff = 10f64.powi(decimal_precision(self.size).min(8));
            let (max, min) = (self.max_abs, self.min_abs);
            self.exp = max >= cutoff
                || min < to_dtype(1e-4, self.size)
                || div_in_dtype(max, min, self.size) > 1000.0;
        }
    }

    fn signed(&self, x: f64, mut s: String) -> String {
        if self.plus && !x.is_sign_negative() {
            s.insert(0, '+');
        }
        s
    }

    /// Pass two: records the widths of the integer and fractional parts.
    pub(super) fn observe_width(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.exp {
            let (mant, exp) = scientific(x, self.size, PRECISION);
            let mant = self.signed(x, mant);
            let (int, frac) = mant.split_once('.').unwrap_or((&mant, ""));
            self.pad_left = self.pad_left.max(int.len());
            self.precision = self.precision.max(frac.len());
            let exp_digits = exp.unsigned_abs().to_string().len().max(2);
            self.exp_size = self.exp_size.max(exp_digits);
        } else {
            let s = self.signed(x, positional(x, self.size, PRECISION));
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            self.pad_left = self.pad_left.max(int.len());
            self.pad_right = self.pad_right.max(frac.len());
        }
    }

    /// After pass two: room for `nan` and `inf`.
    pub(super) fn finish(&mut self) {
        if !self.any_finite {
            self.pad_left = 0;
            self.pad_right = 0;
        } else if self.exp {
            self.pad_right = self.exp_size + 2 + self.precision;
        }
        if self.any_nonfinite {
            let neg_inf = usize::from(self.plus || self.any_neg_inf);
            let offset = self.pad_right + 1;
            self.pad_left = self
                .pad_left
                .max(3usize.saturating_sub(offset))
                .max((3 + neg_inf).saturating_sub(offset));
        }
    }

    /// One value, padded to the common width.
    pub(super) fn format(&self, x: f64, out: &mut String) {
        if !x.is_finite() {
            let text = if x.is_nan() {
                if self.plus { "+nan" } else { "nan" }
            } else if x < 0.0 {
                "-inf"
            } else if self.plus {
                "+inf"
            } else {
                "inf"
            };
            let width = self.pad_left + self.pad_right + 1;
            pad_to(out, width.saturating_sub(text.len()));
            out.push_str(text);
            return;
        }
        if self.exp {
            // `min_digits=precision` makes Dragon4 print digits past the
            // shortest unique ones: the exact value, rounded.
            let (_, digits, exp) = split_sci(&format!("{:.*e}", self.precision, x.abs()));
            let mut int = String::new();
            if x.is_sign_negative() {
                int.push('-');
            } else if self.plus {
                int.push('+');
            }
            let mut digits = digits.chars();
            int.push(digits.next().unwrap_or('0'));
            pad_to(out, self.pad_left.saturating_sub(int.len()));
            out.push_str(&int);
            out.push('.');
            out.extend(digits);
            out.push_str(&exp_text(exp, self.exp_size));
        } else {
            let s = self.signed(x, positional(x, self.size, PRECISION));
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            pad_to(out, self.pad_left.saturating_sub(int.len()));
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
            pad_to(out, self.pad_right.saturating_sub(frac.len()));
        }
    }
}

fn pad_to(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(values: &[f64], size: usize) -> Vec<String> {
        let mut f = FloatFmt::new(size, false);
        values.iter().for_each(|&x| f.observe_range(x));
        f.decide();
        values.iter().for_each(|&x| f.observe_width(x));
        f.finish();
        values
            .iter()
            .map(|&x| {
                let mut s = String::new();
                f.format(x, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn positional_cuts_at_precision_half_to_even() {
        assert_eq!(positional(0.001953125, 8, 8), "0.00195312");
        assert_eq!(positional(1.0, 8, 8), "1.");
        assert_eq!(positional(-0.0, 8, 8), "-0.");
        assert_eq!(positional(1.0 / 3.0, 8, 8), "0.33333333");
        assert_eq!(positional(0.1, 4, 8), "0.1");
        assert_eq!(positional(0.999_999_999, 8, 8), "1.");
        assert_eq!(positional(123_456.5, 8, 8), "123456.5");
        // An exact tie between two shortest candidates goes to the even one.
        assert_eq!(positional(-19_275.062_5, 4, 8), "-19275.062");
        assert_eq!(positional(19_275.187_5, 4, 8), "19275.188");
    }

    #[test]
    fn scientific_uses_shortest_then_rounds() {
        assert_eq!(scientific(5e-324, 8, 8), ("5.".to_string(), -324));
        assert_eq!(
            scientific(2.225_073_858_507_201_4e-308, 8, 8).0,
            "2.22507386"
        );
        assert_eq!(scientific(1e16, 8, 8), ("1.".to_string(), 16));
    }

    #[test]
    fn arrays_pad_like_numpy() {
        assert_eq!(all(&[0.0, 1.0, 2.0], 8), ["0.", "1.", "2."]);
        assert_eq!(all(&[0.5, -1.875], 8), [" 0.5  ", "-1.875"]);
        assert_eq!(all(&[f64::NAN, f64::NEG_INFINITY], 8), [" nan", "-inf"]);
        assert_eq!(all(&[1e16, 1.0], 8), ["1.e+16", "1.e+00"]);
        assert_eq!(
            all(&[f64::NAN, -0.0, 5e-324], 8),
            ["     nan", "-0.e+000", " 5.e-324"]
        );
        // Digits past the shortest ones come from the exact value.
        assert_eq!(all(&[1.5, 2.0f64.powi(-149)], 4), ["1.5e+00", "1.4e-45"]);
    }
}
