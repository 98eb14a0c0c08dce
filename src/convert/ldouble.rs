//! x87 80-bit extended precision (NumPy's `longdouble` on x86-64 Linux,
//! stored in 16 bytes): exact comparison and NumPy's shortest round-trip
//! text, so `cmp` never rounds two different values to one `f64`.

use crate::dtype::ByteOrder;

/// Sign-and-exponent word and 64-bit mantissa (explicit integer bit) of
/// the first 10 significant bytes of a 16-byte long double.
pub(crate) fn parts(order: ByteOrder, b: &[u8]) -> (u16, u64) {
    let mut le = [0u8; 10];
    match order {
        ByteOrder::Big => {
            for (d, s) in le.iter_mut().zip(b.iter().rev()) {
                *d = *s;
            }
        }
        _ => {
            for (d, s) in le.iter_mut().zip(b) {
                *d = *s;
            }
        }
    }
    let [m0, m1, m2, m3, m4, m5, m6, m7, e0, e1] = le;
    (
        u16::from_le_bytes([e0, e1]),
        u64::from_le_bytes([m0, m1, m2, m3, m4, m5, m6, m7]),
    )
}

fn is_nan(se: u16, mant: u64) -> bool {
    se & 0x7fff == 0x7fff && mant << 1 != 0
}

/// Canonical (sign, exponent, mantissa): a pseudo-denormal (exponent 0,
/// integer bit set) is the normal number with exponent 1, as the FPU reads it.
fn canonical(se: u16, mant: u64) -> (u16, u64) {
    if se & 0x7fff == 0 && mant >> 63 == 1 {
        (se | 1, mant)
    } else {
        (se, mant)
    }
}

/// Whether two long doubles (each in its own byte order) are equal as
/// values: every mantissa bit counts; NaN equals NaN, -0 equals 0; the six
/// padding bytes are ignored.
pub(crate) fn same(oa: ByteOrder, a: &[u8], ob: ByteOrder, b: &[u8]) -> bool {
    let (sa, ma) = parts(oa, a);
    let (sb, mb) = parts(ob, b);
    if is_nan(sa, ma) || is_nan(sb, mb) {
        return is_nan(sa, ma) && is_nan(sb, mb);
    }
    let zero = |s: u16, m: u64| s & 0x7fff == 0 && m == 0;
    if zero(sa, ma) && zero(sb, mb) {
        return true;
    }
    canonical(sa, ma) == canonical(sb, mb)
}

/// An unsigned big integer, little-endian 32-bit limbs.
#[derive(Clone, PartialEq, Eq)]
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

    fn shl(&mut self, bits: u32) {
        let (limbs, rem) = ((bits / 32) as usize, bits % 32);
        if rem > 0 {
            let mut carry = 0u32;
            for l in &mut self.0 {
                let next = *l >> (32 - rem);
                *l = (*l << rem) | carry;
                carry = next;
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 && !self.0.is_empty() {
            self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in &mut self.0 {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add(&self, o: &Big) -> Big {
        let n = self.0.len().max(o.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(o.0.get(i).copied().unwrap_or(0))
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - o`; requires `self >= o`.
    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = i64::from(self.0.get(i).copied().unwrap_or(0))
                - i64::from(o.0.get(i).copied().unwrap_or(0))
                - borrow;
            let (v, b) = if v < 0 { (v + (1 << 32), 1) } else { (v, 0) };
            if let Some(l) = self.0.get_mut(i) {
                *l = v as u32;
            }
            borrow = b;
        }
        self.trim();
    }

    fn cmp(&self, o: &Big) -> std::cmp::Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }
}

/// Shortest decimal digits that read back (round to nearest) as the
/// finite, non-zero value `mant * 2**e`, whose lower neighbour is a
/// half-gap closer when `boundary`; returns the digits and the decimal
/// exponent of the first digit. Steele & White / Dragon4 free-format.
fn shortest(mant: u64, e: i32, boundary: bool) -> (Vec<u8>, i32) {
    let (mut r, mut s, mut mp, mut mm);
    let up = |v: u64, bits: i32| {
        let mut b = Big::from_u64(v);
        b.shl(bits.max(0) as u32);
        b
    };
    if e >= 0 {
        if boundary {
            (r, s, mp, mm) = (up(mant, e + 2), up(4, 0), up(1, e + 1), up(1, e));
        } else {
            (r, s, mp, mm) = (up(mant, e + 1), up(2, 0), up(1, e), up(1, e));
        }
    } else if boundary {
        (r, s, mp, mm) = (up(mant, 2), up(1, 2 - e), up(2, 0), up(1, 0));
    } else {
        (r, s, mp, mm) = (up(mant, 1), up(1, 1 - e), up(1, 0), up(1, 0));
    }
    // k: the decimal exponent with high = (r + mp) / s < 10**k, estimated
    // from the binary exponent and then corrected.
    let bits = 63 - i64::from(mant.leading_zeros()) + i64::from(e);
    let mut k = ((bits as f64 + 1.0) * std::f64::consts::LOG10_2).ceil() as i32;
    if k >= 0 {
        for _ in 0..k {
            s.mul_small(10);
        }
    } else {
        for _ in 0..-k {
            r.mul_small(10);
            mp.mul_small(10);
            mm.mul_small(10);
        }
    }
    while r.add(&mp).cmp(&s) != std::cmp::Ordering::Less {
        s.mul_small(10);
        k += 1;
    }
    loop {
        let mut high = r.add(&mp);
        high.mul_small(10);
        if high.cmp(&s) != std::cmp::Ordering::Less {
            break;
        }
        r.mul_small(10);
        mp.mul_small(10);
        mm.mul_small(10);
        k -= 1;
    }
    let mut digits = Vec::new();
    // At most 21 digits tell 64-bit mantissas apart; the bound is a guard.
    for _ in 0..40 {
        r.mul_small(10);
        mp.mul_small(10);
        mm.mul_small(10);
        let mut d = 0u8;
        while r.cmp(&s) != std::cmp::Ordering::Less {
            r.sub_assign(&s);
            d += 1;
        }
        let low = r.cmp(&mm) == std::cmp::Ordering::Less;
        let high = r.add(&mp).cmp(&s) == std::cmp::Ordering::Greater;
        if !low && !high {
            digits.push(d);
            continue;
        }
        let round_up = match (low, high) {
            (true, false) => false,
            (false, true) => true,
            _ => {
                let mut twice = r.clone();
                twice.mul_small(2);
                twice.cmp(&s) != std::cmp::Ordering::Less
            }
        };
        digits.push(if round_up { d + 1 } else { d });
        break;
    }
    (digits, k - 1)
}

/// The `{:e}`-style text (`-1.25e-7`, `3e0`, `nan`, `inf`) of a long
/// double's shortest round-trip digits.
pub(crate) fn sci_text(order: ByteOrder, b: &[u8]) -> String {
    let (se, mant) = parts(order, b);
    let sign = if se & 0x8000 != 0 { "-" } else { "" };
    let exp = i32::from(se & 0x7fff);
    if exp == 0x7fff {
        return if mant << 1 == 0 {
            format!("{sign}inf")
        } else {
            "nan".into()
        };
    }
    if mant == 0 {
        return format!("{sign}0e0");
    }
    if exp != 0 && mant >> 63 == 0 {
        // An unnormal: the FPU refuses it as an operand.
        return "nan".into();
    }
    let e = exp.max(1) - 16383 - 63;
    let boundary = mant == 1 << 63 && exp > 1;
    let (digits, k) = shortest(mant, e, boundary);
    let mut text = String::from(sign);
    for (n, d) in digits.iter().enumerate() {
        if n == 1 {
            text.push('.');
        }
        text.push(char::from(b'0' + d));
    }
    text.push_str(&format!("e{k}"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(se: u16, mant: u64) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&mant.to_le_bytes());
        b[8..10].copy_from_slice(&se.to_le_bytes());
        b
    }

    #[test]
    fn shortest_digits_of_known_values() {
        let t = |se, m| sci_text(ByteOrder::Little, &ld(se, m));
        assert_eq!(t(0x3fff, 1 << 63), "1e0");
        assert_eq!(t(0x3fff, (1 << 63) | 1), "1.0000000000000000001e0");
        assert_eq!(t(0xc000, 3 << 62), "-3e0");
        assert_eq!(t(0, 1), "4e-4951");
        assert_eq!(t(0x8000, 0), "-0e0");
        assert_eq!(t(0x7fff, 1 << 63), "inf");
    }

    #[test]
    fn equality_sees_every_mantissa_bit() {
        let o = ByteOrder::Little;
        assert!(!same(
            o,
            &ld(0x3fff, 1 << 63),
            o,
            &ld(0x3fff, (1 << 63) | 1)
        ));
        assert!(same(o, &ld(0, 0), o, &ld(0x8000, 0)));
        assert!(same(o, &ld(0x7fff, 3 << 62), o, &ld(0xffff, 5 << 61)));
        let mut be = ld(0x3fff, (1 << 63) | 1);
        be.reverse();
        assert!(same(o, &ld(0x3fff, (1 << 63) | 1), ByteOrder::Big, &be));
    }
}
