//! [`ReadElement`]: every type a payload can be read into as owned values,
//! the [`Element`] numbers and records plus text, byte strings and dates.

use std::io::Read;

use crate::convert::value::{Value, decode_value};
use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind, TimeUnit};
use crate::error::{Error, ErrorKind, Result};
use crate::view::Element;
use crate::view::elements::{Elements, Layout, element_fit};

use super::{DateTime64, TimeDelta64};

/// The most zero-byte elements a read puts in memory: they carry no data,
/// and a header may claim any count of them.
const MAX_EMPTY_ELEMENTS: usize = 1 << 24;

pub(crate) mod private {
    pub trait Sealed {}
}

impl<T: Element> private::Sealed for T {}
impl private::Sealed for String {}
impl private::Sealed for LossyString {}
impl private::Sealed for Vec<u8> {}
impl private::Sealed for DateTime64 {}
impl private::Sealed for TimeDelta64 {}
impl private::Sealed for &str {}
impl private::Sealed for &[u8] {}

/// A type whose owned values a payload can be read into: every
/// [`Element`] (numbers, `bool`, complex, `f16`, `[u8; N]`, records) plus
/// [`String`] (`U<n>`), [`LossyString`] (`U<n>`, lossy), `Vec<u8>`
/// (`S<n>`), [`DateTime64`] (`M8[unit]`) and [`TimeDelta64`] (`m8[unit]`).
///
/// [`crate::read`] and [`NpyView::decode`](crate::NpyView::decode) take
/// it. The file's dtype is checked first; a mismatch names both sides:
/// `dtype mismatch: expected '<f4' (f32), found '<f8'`. The rules for each
/// type are in the repository's `spec/api.md`.
///
/// The trait is sealed.
pub trait ReadElement: Sized + private::Sealed {
    /// Checks that a payload of `dtype` can be read as this type.
    #[doc(hidden)]
    fn check(dtype: &Dtype) -> Result<()>;

    /// Decodes `count` elements of `dtype` from `payload` (its length is
    /// checked), in storage order, at any alignment and byte order.
    #[doc(hidden)]
    fn decode(dtype: &Dtype, payload: &[u8], count: usize) -> Result<Vec<Self>>;

    /// Reads `count` elements (`payload_len` bytes, already checked against
    /// the real input) from `reader`.
    #[doc(hidden)]
    fn read_from(
        reader: &mut dyn Read,
        dtype: &Dtype,
        count: usize,
        payload_len: usize,
    ) -> Result<Vec<Self>> {
        let bytes = read_bytes(reader, payload_len)?;
        Self::decode(dtype, &bytes, count)
    }
}

/// A `Vec` of `n` values, its allocation failing with an error rather
/// than aborting.
fn vec_of<T: Clone>(n: usize, fill: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::from(ErrorKind::Overflow {
            what: "allocation for the values",
        })
    })?;
    v.resize(n, fill);
    Ok(v)
}

/// `n` copies of `T::zero()` (all zero bits), for a read to overwrite.
/// The allocation is first tried fallibly (an error, never an abort);
/// `vec!` then takes the allocator's zeroed memory for the primitive
/// numbers, so a large buffer costs no pass of writing zeros before the
/// read fills it (fresh pages from the OS are zero already).
fn zeroed_values<T: Element>(n: usize) -> Result<Vec<T>> {
    drop(vec_with_room::<T>(n)?);
    Ok(vec![T::zero(); n])
}

/// An empty `Vec` with room for `n` values (fallible).
fn vec_with_room<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::from(ErrorKind::Overflow {
            what: "allocation for the values",
        })
    })?;
    Ok(v)
}

/// Reads exactly `len` bytes into a buffer of that size.
fn read_bytes(reader: &mut dyn Read, len: usize) -> Result<Vec<u8>> {
    let mut bytes = vec_of(len, 0u8)?;
    read_all(reader, &mut bytes)?;
    Ok(bytes)
}

/// `read_exact`, with an early end reported as a truncated payload.
fn read_all(reader: &mut dyn Read, buf: &mut [u8]) -> Result<()> {
    reader.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::from(ErrorKind::Truncated {
                what: "payload",
                needed: buf.len() as u64,
                available: 0,
            })
        } else {
            e.into()
        }
    })
}

/// Checks that `payload` holds exactly `count` elements of `itemsize`.
fn check_len(payload: &[u8], count: usize, itemsize: usize) -> Result<()> {
    let expected = count.checked_mul(itemsize).ok_or(ErrorKind::Overflow {
        what: "payload size",
    })?;
    if expected != payload.len() {
        return Err(ErrorKind::PayloadSize {
            expected: expected as u64,
            actual: payload.len() as u64,
        }
        .into());
    }
    Ok(())
}

/// A Rust type's name without its module paths: `f32`, `Complex<f64>`,
/// `f16`, `[u8; 4]`, a record's own name.
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' {
            word.clear();
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}

/// A dtype mismatch naming the wanted dtype and Rust type and the found dtype.
fn mismatch(expected: &str, rust: &str, found: &Dtype) -> Error {
    ErrorKind::DtypeMismatch {
        expected: format!("{expected} ({rust})"),
        found: found.descr(),
    }
    .into()
}

/// `e` with a dtype mismatch restated to name `T` as well.
pub(crate) fn retype<T: Element>(e: Error, dtype: &Dtype) -> Error {
    match e.kind() {
        ErrorKind::DtypeMismatch { .. } => mismatch(
            &T::expected(ByteOrder::NATIVE),
            &short_type_name::<T>(),
            dtype,
        ),
        _ => e,
    }
}

impl<T: Element> ReadElement for T {
    fn check(dtype: &Dtype) -> Result<()> {
        element_fit::<T>(dtype)
            .map(|_| ())
            .map_err(|e| retype::<T>(e, dtype))
    }

    fn decode(dtype: &Dtype, payload: &[u8], count: usize) -> Result<Vec<Self>> {
        Self::check(dtype)?;
        let itemsize = dtype.itemsize();
        check_len(payload, count, itemsize)?;
        if itemsize == 0 {
            return empty_elements(count);
        }
        let el = Elements::<T>::new(payload, Layout::contiguous(count, itemsize), dtype)?;
        let mut out = vec_with_room(count)?;
        out.extend(el.iter());
        Ok(out)
    }

    /// The fast path: the payload is read straight into the `Vec<T>` and
    /// swapped in place when the file is in the other byte order.
    fn read_from(
        reader: &mut dyn Read,
        dtype: &Dtype,
        count: usize,
        payload_len: usize,
    ) -> Result<Vec<Self>> {
        let swap = element_fit::<T>(dtype).map_err(|e| retype::<T>(e, dtype))?;
        if dtype.itemsize() == 0 || std::mem::size_of::<T>() == 0 {
            return empty_elements(count);
        }
        let mut values = zeroed_values::<T>(count)?;
        let Some(bytes) = T::pod_bytes_mut(&mut values) else {
            // `bool`: its bytes are checked before they become values.
            let bytes = read_bytes(reader, payload_len)?;
            return Self::decode(dtype, &bytes, count);
        };
        if bytes.len() != payload_len {
            return Err(ErrorKind::PayloadSize {
                expected: bytes.len() as u64,
                actual: payload_len as u64,
            }
            .into());
        }
        // Fresh zeroed pages, untouched yet: huge pages make the read
        // that fills them faster (see `advise_huge_pages`).
        crate::mmap::advise_huge_pages(bytes);
        read_all(reader, bytes)?;
        if swap {
            for v in &mut values {
                *v = v.swapped();
            }
        }
        Ok(values)
    }
}

/// `count` zero-byte elements, refused past [`MAX_EMPTY_ELEMENTS`].
fn empty_elements<T: Element>(count: usize) -> Result<Vec<T>> {
    if count > MAX_EMPTY_ELEMENTS {
        return Err(ErrorKind::Unsupported(format!(
            "{count} elements of zero bytes each: npymap reads at most {MAX_EMPTY_ELEMENTS}"
        ))
        .into());
    }
    vec_of(count, T::zero())
}

/// A type read from a simple dtype element by element: text, byte
/// strings and dates. One [`ReadElement`] impl per type comes from it
/// (the `scalar_read!` macro), so the dtype check, the length check and
/// the mismatch error are written once.
trait ScalarRead: Sized {
    /// The dtype the type reads, as errors spell it (`'<U<n>'`).
    fn expected() -> String;
    /// Whether a scalar of `kind` reads as this type.
    fn accepts(kind: ScalarKind) -> bool;
    /// Decodes element `index` (its bytes `b`) of `dtype`, whose scalar is `s`.
    fn one(dtype: &Dtype, s: &Scalar, index: usize, b: &[u8]) -> Result<Self>;
}

/// The scalar of `dtype` when `T` reads it; otherwise the mismatch error
/// naming both sides.
fn scalar_for<T: ScalarRead>(dtype: &Dtype) -> Result<&Scalar> {
    dtype
        .as_scalar()
        .filter(|s| T::accepts(s.kind()))
        .ok_or_else(|| mismatch(&T::expected(), &short_type_name::<T>(), dtype))
}

/// Decodes `count` elements of `dtype` as `T`, checking the payload length.
fn decode_scalars<T: ScalarRead>(dtype: &Dtype, payload: &[u8], count: usize) -> Result<Vec<T>> {
    let s = scalar_for::<T>(dtype)?;
    let itemsize = s.itemsize();
    check_len(payload, count, itemsize)?;
    let mut out = vec_with_room(count)?;
    if itemsize == 0 {
        return Ok(out);
    }
    for (i, b) in payload.chunks_exact(itemsize).enumerate() {
        out.push(T::one(dtype, s, i, b)?);
    }
    Ok(out)
}

/// The value `decode_value` gives for `b`, picked by `pick`; a value of
/// another kind (which `accepts` already rules out) is the mismatch error.
fn picked<T: ScalarRead>(
    dtype: &Dtype,
    s: &Scalar,
    b: &[u8],
    pick: impl FnOnce(Value) -> Option<T>,
) -> Result<T> {
    pick(decode_value(s, b)).ok_or_else(|| mismatch(&T::expected(), &short_type_name::<T>(), dtype))
}

macro_rules! scalar_read {
    ($($t:ty),*) => {$(
        impl ReadElement for $t {
            fn check(dtype: &Dtype) -> Result<()> {
                scalar_for::<Self>(dtype).map(|_| ())
            }

            fn decode(dtype: &Dtype, payload: &[u8], count: usize) -> Result<Vec<Self>> {
                decode_scalars(dtype, payload, count)
            }
        }
    )*};
}

scalar_read!(String, LossyString, Vec<u8>, DateTime64, TimeDelta64);

const UNICODE: &str = "'<U<n>'";

/// `U<n>` read as `String`: each element's text without its trailing NULs
/// (as NumPy returns it). A code unit that is no Unicode scalar value
/// (a lone surrogate, which NumPy stores as it is, or a value past
/// U+10FFFF) is an error naming the element; [`LossyString`] reads it as
/// U+FFFD instead.
impl ScalarRead for String {
    fn expected() -> String {
        UNICODE.into()
    }

    fn accepts(kind: ScalarKind) -> bool {
        kind == ScalarKind::Unicode
    }

    fn one(dtype: &Dtype, s: &Scalar, i: usize, b: &[u8]) -> Result<Self> {
        let big = s.byte_order() == ByteOrder::Big;
        decode_ucs4(b, big).map_err(|u| {
            ErrorKind::UnsupportedCast {
                from: dtype.descr(),
                to: "String".to_string(),
                reason: format!(
                    "element {i} holds U+{u:04X}, {}, which a Rust String cannot hold \
                     (read it as LossyString to get U+FFFD in its place)",
                    ucs4_problem(u)
                ),
            }
            .into()
        })
    }
}

/// One `U<n>` element's text without its trailing NULs, or the first code
/// unit that is no Unicode scalar value (a lone surrogate, a value past
/// U+10FFFF). Records reuse it for their `U<n>` fields.
pub(crate) fn decode_ucs4(b: &[u8], big: bool) -> std::result::Result<String, u32> {
    let units = b.chunks_exact(4).map(|c| {
        let q: [u8; 4] = c.try_into().unwrap_or_default();
        if big {
            u32::from_be_bytes(q)
        } else {
            u32::from_le_bytes(q)
        }
    });
    let units: Vec<u32> = units.collect();
    let end = units.iter().rposition(|&u| u != 0).map_or(0, |p| p + 1);
    let mut text = String::with_capacity(end);
    for &u in units.get(..end).unwrap_or_default() {
        text.push(char::from_u32(u).ok_or(u)?);
    }
    Ok(text)
}

/// What is wrong with a code unit [`decode_ucs4`] refused.
pub(crate) fn ucs4_problem(u: u32) -> &'static str {
    if (0xD800..0xE000).contains(&u) {
        "a lone surrogate"
    } else {
        "past U+10FFFF"
    }
}

/// A `U<n>` element read lossily: as [`String`], but a code unit that is
/// no Unicode scalar value (a lone surrogate, a value past U+10FFFF)
/// becomes U+FFFD instead of an error.
///
/// # Examples
/// ```
/// let a = npymap::read::<npymap::LossyString>("testdata/npy/U3_le.npy")?;
/// let text: Vec<String> = a.into_vec().into_iter().map(|s| s.0).collect();
/// assert_eq!(text, ["abc", "é", "日本", "", "😀x"]);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LossyString(pub String);

impl ScalarRead for LossyString {
    fn expected() -> String {
        UNICODE.into()
    }

    fn accepts(kind: ScalarKind) -> bool {
        kind == ScalarKind::Unicode
    }

    fn one(dtype: &Dtype, s: &Scalar, _: usize, b: &[u8]) -> Result<Self> {
        picked(dtype, s, b, |v| match v {
            Value::Str(t) => Some(LossyString(t)),
            _ => None,
        })
    }
}

/// `S<n>` read as `Vec<u8>`: each element's bytes without the trailing
/// NULs, as NumPy returns them (`b'ab\x00'` stored in `S4` reads `b"ab"`).
impl ScalarRead for Vec<u8> {
    fn expected() -> String {
        "'|S<n>'".into()
    }

    fn accepts(kind: ScalarKind) -> bool {
        kind == ScalarKind::Bytes
    }

    fn one(dtype: &Dtype, s: &Scalar, _: usize, b: &[u8]) -> Result<Self> {
        picked(dtype, s, b, |v| match v {
            Value::Bytes(v) => Some(v),
            _ => None,
        })
    }
}

/// What the two date types share, for reading and writing them.
pub(crate) trait TimeValue: Sized {
    /// `M8` or `m8`.
    const CODE: &'static str;
    fn from_parts(value: i64, unit: TimeUnit, multiplier: u32) -> Self;
    fn parts(&self) -> (i64, TimeUnit, u32);
    fn kind(unit: TimeUnit, multiplier: u32) -> ScalarKind;
    fn unpack(kind: ScalarKind) -> Option<(TimeUnit, u32)>;
}

/// `M8[unit]` (any unit and multiplier, either byte order) read as
/// [`DateTime64`], `m8[unit]` as [`TimeDelta64`]; NaT reads as their
/// `NAT` constants.
impl<T: TimeValue> ScalarRead for T {
    fn expected() -> String {
        format!("'<{}[unit]'", T::CODE)
    }

    fn accepts(kind: ScalarKind) -> bool {
        T::unpack(kind).is_some()
    }

    fn one(dtype: &Dtype, s: &Scalar, _: usize, b: &[u8]) -> Result<Self> {
        picked(dtype, s, b, |v| match v {
            Value::Datetime(v, unit, m) | Value::Timedelta(v, unit, m) => {
                Some(T::from_parts(v.unwrap_or(i64::MIN), unit, m))
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_module_paths() {
        assert_eq!(short_type_name::<f32>(), "f32");
        assert_eq!(short_type_name::<half::f16>(), "f16");
        assert_eq!(
            short_type_name::<num_complex::Complex<f64>>(),
            "Complex<f64>"
        );
        assert_eq!(short_type_name::<[u8; 4]>(), "[u8; 4]");
        assert_eq!(short_type_name::<Vec<u8>>(), "Vec<u8>");
    }
}
