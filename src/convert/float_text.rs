//! Floats as NumPy prints its scalars: `str(np.float16(x))`,
//! `str(np.float32(x))`, `str(np.float64(x))` (spec/float-text.md).
//!
//! The digits are those of NumPy's Dragon4 in its unique mode: the shortest
//! decimal that reads back as the same value of the storage type (rounding
//! interval inclusive when the significand is even), and among the shortest
//! the one nearest the value, an exact tie going to the even digit. They are
//! computed exactly with a small big integer, as Dragon4 does, for every
//! width; Rust's own shortest formatting rounds such ties up and has no
//! `f16` form, so it is not used here.
//!
//! The layout is NumPy's scalar `str`: positional for
//! `1e-4 <= |x| < 1e16` (`float64`), `< 1e6` (`float32`), `< 1e3`
//! (`float16`), and for zero; otherwise `d.ddde+XX` with at least two
//! exponent digits. `nan` never shows its sign.

use std::cmp::Ordering;

/// An unsigned big integer: little-endian 32-bit limbs, no zero limb at the
/// top. Just the operations Dragon4 needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `self <<= k`.
    fn shl(&mut self, k: u32) {
        let limbs = (k / 32) as usize;
        let bits = k % 32;
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u32;
        for &v in &self.0 {
            if bits == 0 {
                out.push(v);
            } else {
                out.push((v << bits) | carry);
                carry = v >> (32 - bits);
            }
        }
        out.push(carry);
        self.0 = out;
        self.trim();
    }

    /// `self *= m`.
    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let p = u64::from(*limb) * u64::from(m) + carry;
            *limb = p as u32;
            carry = p >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self *= 10^k`.
    fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        if k > 0 {
            self.mul_small(10u32.pow(k));
        }
    }

    /// `self + other`.
    fn plus(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            let s = u64::from(a) + u64::from(b) + carry;
            out.push(s as u32);
            carry = s >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self -= other`; the caller has checked `self >= other`.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let b = other.0.get(i).copied().unwrap_or(0);
            let d = i64::from(*limb) - i64::from(b) - borrow;
            borrow = i64::from(d < 0);
            *limb = d.rem_euclid(1 << 32) as u32;
        }
        debug_assert_eq!(borrow, 0, "subtraction below zero");
        self.trim();
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| {
            self.0
                .iter()
                .rev()
                .zip(other.0.iter().rev())
                .map(|(a, b)| a.cmp(b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }

    /// `floor(self / d)` for a quotient below 10; `self` keeps the remainder.
    fn div_digit(&mut self, d: &Big) -> u8 {
        let mut q = 0u8;
        // The quotient is below 10 by construction; the bound keeps a
        // broken invariant from looping.
        while q < 9 && self.compare(d).is_ge() {
            self.sub_assign(d);
            q += 1;
        }
        q
    }
}

/// `|x|` rounded to the storage type as `(significand, binary exponent,
/// unequal margins)`: `|x| = significand * 2^exponent`, and the gap below
/// is half the gap above (a power of two that is not the smallest normal).
fn decompose(x: f64, size: usize) -> (u64, i32, bool) {
    // (bits of |x|, fraction bits, exponent bits)
    let (bits, frac_bits, exp_bits) = match size {
        2 => (
            u64::from(half::f16::from_f64(x).to_bits() & 0x7fff),
            10u32,
            5u32,
        ),
        4 => (u64::from((x as f32).to_bits() & 0x7fff_ffff), 23, 8),
        _ => (x.to_bits() & !(1 << 63), 52, 11),
    };
    let frac = bits & ((1u64 << frac_bits) - 1);
    let biased = i32::try_from(bits >> frac_bits).unwrap_or(0);
    // exponent of the lowest significand bit of a subnormal
    let bias = (1i32 << (exp_bits - 1)) - 1;
    let min_exp = 1 - bias - i32::try_from(frac_bits).unwrap_or(0);
    if biased == 0 {
        (frac, min_exp, false)
    } else {
        (
            frac | (1u64 << frac_bits),
            min_exp + biased - 1,
            frac == 0 && biased > 1,
        )
    }
}

/// The shortest round-trip decimal digits of finite `|x|` stored in `size`
/// bytes (2: `float16`, 4: `float32`, anything else: `float64`), as NumPy's
/// Dragon4 picks them, and the decimal exponent of the first digit:
/// `|x| = d.ddd × 10^exponent`. Zero gives `("0", 0)`.
pub(crate) fn shortest_digits(x: f64, size: usize) -> (String, i32) {
    let (mantissa, exponent, unequal) = decompose(x, size);
    if mantissa == 0 {
        return ("0".into(), 0);
    }
    let even = mantissa % 2 == 0;
    // value = r / s; margins (half the gaps to the neighbours) = m / s.
    let mut r = Big::from_u64(mantissa);
    let mut s = Big::from_u64(1);
    let mut m_low = Big::from_u64(1);
    let extra = u32::from(unequal) + 1;
    if exponent > 0 {
        let e = exponent.unsigned_abs();
        r.shl(e + extra);
        s.shl(extra);
        m_low.shl(e);
    } else {
        r.shl(extra);
        s.shl(exponent.unsigned_abs() + extra);
    }
    let mut m_high = m_low.clone();
    if unequal {
        m_high.shl(1);
    }
    // floor(log10(value)) + 1 or one less (Dragon4's estimate).
    let top_bit = 63 - i32::try_from(mantissa.leading_zeros()).unwrap_or(0);
    let mut k = (f64::from(top_bit + exponent) * std::f64::consts::LOG10_2 - 0.69).ceil() as i32;
    if k > 0 {
        s.mul_pow10(k.unsigned_abs());
    } else if k < 0 {
        r.mul_pow10(k.unsigned_abs());
        m_low.mul_pow10(k.unsigned_abs());
        m_high.mul_pow10(k.unsigned_abs());
    }
    if r.compare(&s).is_ge() {
        k += 1;
    } else {
        r.mul_small(10);
        m_low.mul_small(10);
        m_high.mul_small(10);
    }
    let mut digits = Vec::with_capacity(20);
    let (last, low, high) = loop {
        let digit = r.div_digit(&s);
        let low = match r.compare(&m_low) {
            Ordering::Less => true,
            Ordering::Equal => even,
            Ordering::Greater => false,
        };
        let high = match r.plus(&m_high).compare(&s) {
            Ordering::Greater => true,
            Ordering::Equal => even,
            Ordering::Less => false,
        };
        // 40 digits exceed any float here; the cap only bounds the loop.
        if low || high || digits.len() >= 40 {
            break (digit, low, high);
        }
        digits.push(digit);
        r.mul_small(10);
        m_low.mul_small(10);
        m_high.mul_small(10);
    };
    let mut exp10 = k - 1;
    let round_down = if low == high {
        // Both neighbours read back (or neither): the nearer, ties to even.
        r.shl(1);
        match r.compare(&s) {
            Ordering::Less => true,
            Ordering::Equal => last % 2 == 0,
            Ordering::Greater => false,
        }
    } else {
        low
    };
    if round_down {
        digits.push(last);
    } else if last < 9 {
        digits.push(last + 1);
    } else {
        // Carry through trailing nines; all nines become 1 at the next power.
        while digits.last() == Some(&9) {
            digits.pop();
        }
        match digits.last_mut() {
            Some(d) => *d += 1,
            None => {
                digits.push(1);
                exp10 += 1;
            }
        }
    }
    (digits.iter().map(|d| char::from(b'0' + d)).collect(), exp10)
}

/// Lays out digits `d.ddd × 10^exp10` (no leading zero unless the value is
/// zero) as NumPy's scalar `str` does: positional `123.45`, `0.001`, `5.0`,
/// or scientific `1.5e+20`, `5e-324`.
pub(crate) fn layout(negative: bool, digits: &str, exp10: i32, positional: bool) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    let n = digits.len();
    if positional {
        if exp10 >= 0 {
            let int_len = usize::try_from(exp10).unwrap_or(0).saturating_add(1);
            if n <= int_len {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', int_len - n));
                out.push_str(".0");
            } else {
                let (i, f) = digits.split_at(int_len);
                out.push_str(i);
                out.push('.');
                out.push_str(f);
            }
        } else {
            out.push_str("0.");
            let zeros = usize::try_from(-i64::from(exp10) - 1).unwrap_or(0);
            out.extend(std::iter::repeat_n('0', zeros));
            out.push_str(digits);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(n));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp10 < 0 { '-' } else { '+' });
        let e = exp10.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    }
    out
}

/// `x` rounded to the storage type of `size` bytes, as an `f64`.
fn stored(x: f64, size: usize) -> f64 {
    match size {
        2 => half::f16::from_f64(x).to_f64(),
        4 => f64::from(x as f32),
        _ => x,
    }
}

/// A float as NumPy's `str` prints a scalar of `size` bytes (2:
/// `float16`, 4: `float32`, anything else: `float64`; `x` is first
/// rounded to that type): shortest round-trip digits, ties to even,
/// positional for `1e-4 <= |x| <` 1e3 / 1e6 / 1e16 and for zero, else
/// `d.ddde+XX`; `nan`, `inf`, `-inf`.
///
/// ```
/// use npymap::convert::value::format_float;
/// assert_eq!(format_float(0.1, 8), "0.1");
/// assert_eq!(format_float(1e16, 8), "1e+16");
/// assert_eq!(format_float(1e7, 4), "1e+07");
/// assert_eq!(format_float(65504.0, 2), "6.55e+04");
/// // An exact tie at 17 digits goes to the even digit.
/// assert_eq!(format_float(1308548795726862.25, 8), "1308548795726862.2");
/// ```
pub fn format_float(x: f64, size: usize) -> String {
    let v = stored(x, size);
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = v.abs();
    let upper = match size {
        2 => 1e3,
        4 => 1e6,
        _ => 1e16,
    };
    let positional = a == 0.0 || (1e-4..upper).contains(&a);
    let (digits, exp10) = shortest_digits(v, size);
    layout(v.is_sign_negative(), &digits, exp10, positional)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integer_operations() {
        let mut a = Big::from_u64(u64::MAX);
        a.shl(40);
        let mut b = a.clone();
        b.mul_pow10(20);
        assert!(b.compare(&a).is_gt());
        let c = a.plus(&a);
        let mut d = a.clone();
        d.shl(1);
        assert_eq!(c, d);
        d.sub_assign(&a);
        assert_eq!(d, a);
        let mut e = Big::from_u64(95);
        assert_eq!(e.div_digit(&Big::from_u64(10)), 9);
        assert_eq!(e, Big::from_u64(5));
        let mut z = Big::from_u64(7);
        z.sub_assign(&Big::from_u64(7));
        assert_eq!(z, Big(vec![]));
    }

    #[test]
    fn digits_and_exponents() {
        assert_eq!(shortest_digits(1.0, 8), ("1".into(), 0));
        assert_eq!(shortest_digits(0.1, 4), ("1".into(), -1));
        assert_eq!(shortest_digits(5e-324, 8), ("5".into(), -324));
        assert_eq!(
            shortest_digits(f64::MAX, 8),
            ("17976931348623157".into(), 308)
        );
        assert_eq!(shortest_digits(1e23, 8), ("1".into(), 23));
        assert_eq!(shortest_digits(65504.0, 2), ("655".into(), 4));
        assert_eq!(shortest_digits(-0.0, 8), ("0".into(), 0));
    }

    #[test]
    fn floats_print_like_numpy() {
        assert_eq!(format_float(1.0, 8), "1.0");
        assert_eq!(format_float(0.1, 4), "0.1");
        assert_eq!(format_float(0.1, 2), "0.1");
        assert_eq!(format_float(1e20, 8), "1e+20");
        assert_eq!(format_float(1.5e-7, 8), "1.5e-07");
        assert_eq!(format_float(123456.789, 8), "123456.789");
        assert_eq!(format_float(0.0001, 8), "0.0001");
        // float32(1e-4) is just below 1e-4.
        assert_eq!(format_float(0.0001, 4), "1e-04");
        assert_eq!(format_float(-0.0, 8), "-0.0");
        assert_eq!(format_float(f64::NAN, 8), "nan");
        assert_eq!(format_float(-f64::NAN, 4), "nan");
        assert_eq!(format_float(f64::NEG_INFINITY, 2), "-inf");
        assert_eq!(format_float(1e5, 2), "inf");
        assert_eq!(format_float(1024.0, 2), "1.024e+03");
        assert_eq!(format_float(999999.0, 4), "999999.0");
        assert_eq!(format_float(16777216.0, 4), "1.6777216e+07");
        assert_eq!(format_float(1e-300, 8), "1e-300");
        let tie = f64::from_bits(0x4312_9879_088f_f039);
        assert_eq!(format_float(tie, 8), "1308548795726862.2");
    }
}
