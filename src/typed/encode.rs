//! [`WriteElement`]: every type whose values can be written as a payload,
//! with the dtype `np.array` would give them.

use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind, TimeUnit};
use crate::error::{Error, ErrorKind, Result};
use crate::npy::FileWriter;
use crate::view::Element;

use super::dates::unit_text;
use super::decode::{TimeValue, private::Sealed, short_type_name};
use super::{DateTime64, TimeDelta64};

/// Payload bytes gathered before each write.
const BLOCK: usize = 1 << 16;

/// A type whose values can be written to a `.npy` file: every [`Element`]
/// that names its dtype (numbers, `bool`, complex, `f16`, described
/// records), text (`String`, `&str`: `U<n>`), byte strings (`Vec<u8>`,
/// `&[u8]`: `S<n>`) and dates ([`DateTime64`], [`TimeDelta64`]).
///
/// [`crate::write()`] and [`crate::save`] take the dtype from the values as
/// `np.array` does: `U<n>` / `S<n>` with `n` the longest value (at least
/// 1), the dates' own unit. [`crate::write_with`] takes it from a header
/// instead (a wider string, the other byte order). The trait is sealed.
pub trait WriteElement: Sized + Sealed {
    /// The dtype `np.array` gives `values`, in the machine's byte order.
    #[doc(hidden)]
    fn dtype_for<'v>(values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
    where
        Self: 'v;

    /// Writes `values` as elements of `dtype` (checked: the type, and that
    /// each value fits).
    #[doc(hidden)]
    fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()>;
}

impl<T: Element> WriteElement for T {
    fn dtype_for<'v>(_values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
    where
        Self: 'v,
    {
        T::native_dtype().ok_or_else(|| {
            Error::new(ErrorKind::Unsupported(format!(
                "{} does not name a dtype on its own; give the dtype (write_with)",
                short_type_name::<T>()
            )))
        })
    }

    fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
        w.write_slice(values)
            .map_err(|e| super::decode::retype::<T>(e, dtype))
    }
}

/// Writes elements encoded by `encode` (one `itemsize` slot per value)
/// in blocks.
fn write_encoded<V>(
    values: &[V],
    itemsize: usize,
    w: &mut FileWriter<'_>,
    mut encode: impl FnMut(usize, &V, &mut [u8]) -> Result<()>,
) -> Result<()> {
    let per_block = (BLOCK / itemsize.max(1)).max(1);
    let mut buf = Vec::new();
    for (b, block) in values.chunks(per_block).enumerate() {
        buf.clear();
        buf.resize(block.len() * itemsize, 0);
        for (j, (v, slot)) in block
            .iter()
            .zip(buf.chunks_exact_mut(itemsize.max(1)))
            .enumerate()
        {
            encode(b * per_block + j, v, slot)?;
        }
        w.write_bytes(&buf)?;
    }
    Ok(())
}

/// The scalar of `dtype` if it is of `kind`, else a mismatch naming `rust`.
fn scalar_kind<'d>(
    dtype: &'d Dtype,
    kind: ScalarKind,
    want: &str,
    rust: &str,
) -> Result<&'d Scalar> {
    dtype
        .as_scalar()
        .filter(|s| s.kind() == kind)
        .ok_or_else(|| {
            ErrorKind::DtypeMismatch {
                expected: format!("{want} ({rust})"),
                found: dtype.descr(),
            }
            .into()
        })
}

/// A value that does not fit the dtype's width.
fn too_long(i: usize, len: usize, unit: &str, dtype: &Dtype) -> Error {
    ErrorKind::UnsupportedCast {
        from: format!("element {i} ({len} {unit})"),
        to: dtype.descr(),
        reason: "it is longer than the dtype holds (NumPy would cut it; npymap refuses)"
            .to_string(),
    }
    .into()
}

/// The `U<n>` dtype for text of at most `chars` code points (at least 1).
fn unicode_dtype(chars: usize) -> Result<Dtype> {
    let n = chars.max(1).checked_mul(4).ok_or(ErrorKind::Overflow {
        what: "string width",
    })?;
    Dtype::scalar(ScalarKind::Unicode, None, n)
}

/// `U<n>` for text of at most as many code points as the longest value.
fn text_dtype<'v, V: AsRef<str> + 'v>(values: impl IntoIterator<Item = &'v V>) -> Result<Dtype> {
    unicode_dtype(
        values
            .into_iter()
            .map(|s| s.as_ref().chars().count())
            .max()
            .unwrap_or(0),
    )
}

fn write_text<V: AsRef<str>>(
    values: &[V],
    dtype: &Dtype,
    w: &mut FileWriter<'_>,
    rust: &str,
) -> Result<()> {
    let s = scalar_kind(dtype, ScalarKind::Unicode, "'<U<n>'", rust)?;
    let big = s.byte_order() == ByteOrder::Big;
    write_encoded(values, s.itemsize(), w, |i, v, slot| {
        let v = v.as_ref();
        if encode_ucs4(v, big, slot) {
            Ok(())
        } else {
            Err(too_long(i, v.chars().count(), "characters", dtype))
        }
    })
}

/// Puts `text` into a `U<n>` slot as UCS-4 code units (the slot's NUL
/// padding is left as it is); `false` when it holds more characters than
/// the slot. Records reuse it for their `U<n>` fields.
pub(crate) fn encode_ucs4(text: &str, big: bool, slot: &mut [u8]) -> bool {
    let mut units = slot.chunks_exact_mut(4);
    for c in text.chars() {
        let Some(unit) = units.next() else {
            return false;
        };
        let code = u32::from(c);
        unit.copy_from_slice(&if big {
            code.to_be_bytes()
        } else {
            code.to_le_bytes()
        });
    }
    true
}

/// Text as `U<n>` (UCS-4 code points, NUL-padded).
impl WriteElement for &str {
    fn dtype_for<'v>(values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
    where
        Self: 'v,
    {
        text_dtype(values)
    }

    fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
        write_text(values, dtype, w, "&str")
    }
}

/// Text as `U<n>`, as `&str`.
impl WriteElement for String {
    fn dtype_for<'v>(values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
    where
        Self: 'v,
    {
        text_dtype(values)
    }

    fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
        write_text(values, dtype, w, "String")
    }
}

fn bytes_dtype(len: usize) -> Result<Dtype> {
    Dtype::scalar(ScalarKind::Bytes, None, len.max(1))
}

fn write_bytes<V: AsRef<[u8]>>(
    values: &[V],
    dtype: &Dtype,
    w: &mut FileWriter<'_>,
    rust: &str,
) -> Result<()> {
    let s = scalar_kind(dtype, ScalarKind::Bytes, "'|S<n>'", rust)?;
    write_encoded(values, s.itemsize(), w, |i, v, slot| {
        let v = v.as_ref();
        let dst = slot
            .get_mut(..v.len())
            .ok_or_else(|| too_long(i, v.len(), "bytes", dtype))?;
        dst.copy_from_slice(v);
        Ok(())
    })
}

/// Byte strings as `S<n>` (NUL-padded).
impl WriteElement for &[u8] {
    fn dtype_for<'v>(values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
    where
        Self: 'v,
    {
        bytes_dtype(values.into_iter().map(|s| s.len()).max().unwrap_or(0))
    }

    fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
        write_bytes(values, dtype, w, "&[u8]")
    }
}

/// Byte strings as `S<n>`, as `&[u8]`.
impl WriteElement for Vec<u8> {
    fn dtype_for<'v>(values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
    where
        Self: 'v,
    {
        bytes_dtype(values.into_iter().map(Vec::len).max().unwrap_or(0))
    }

    fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
        write_bytes(values, dtype, w, "Vec<u8>")
    }
}

/// The one unit all `values` share (generic for none).
fn time_dtype<'v, T: TimeValue + 'v>(values: impl IntoIterator<Item = &'v T>) -> Result<Dtype> {
    let mut unit: Option<(TimeUnit, u32)> = None;
    for v in values {
        let (_, u, m) = v.parts();
        match unit {
            None => unit = Some((u, m)),
            Some(first) if first == (u, m) => {}
            Some((fu, fm)) => {
                return Err(ErrorKind::Unsupported(format!(
                    "{} values in two units, {} and {}: convert them to one unit first",
                    T::CODE,
                    unit_text(fu, fm),
                    unit_text(u, m)
                ))
                .into());
            }
        }
    }
    let (u, m) = unit.unwrap_or((TimeUnit::Generic, 1));
    Dtype::scalar(T::kind(u, m), None, 8)
}

fn write_time<T: TimeValue>(values: &[T], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
    let s = dtype
        .as_scalar()
        .filter(|s| T::unpack(s.kind()).is_some())
        .ok_or_else(|| {
            Error::from(ErrorKind::DtypeMismatch {
                expected: format!("'<{}[unit]' ({})", T::CODE, short_type_name::<T>()),
                found: dtype.descr(),
            })
        })?;
    let big = s.byte_order() == ByteOrder::Big;
    write_encoded(values, 8, w, |i, v, slot| {
        let (value, u, m) = v.parts();
        if T::unpack(s.kind()) != Some((u, m)) {
            return Err(ErrorKind::DtypeMismatch {
                expected: dtype.descr(),
                found: format!(
                    "element {i} in {}",
                    Dtype::scalar(T::kind(u, m), None, 8)
                        .map_or_else(|_| "?".into(), |d| d.descr())
                ),
            }
            .into());
        }
        slot.copy_from_slice(&if big {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        });
        Ok(())
    })
}

/// `WriteElement` for the time types ([`TimeValue`]): the dtype from the
/// values' one unit, the values written in the dtype's byte order; the
/// same body for each, written once.
macro_rules! time_write {
    ($($(#[$doc:meta])* $t:ty),*) => {$(
        $(#[$doc])*
        impl WriteElement for $t {
            fn dtype_for<'v>(values: impl IntoIterator<Item = &'v Self>) -> Result<Dtype>
            where
                Self: 'v,
            {
                time_dtype(values)
            }

            fn write_to(values: &[Self], dtype: &Dtype, w: &mut FileWriter<'_>) -> Result<()> {
                write_time(values, dtype, w)
            }
        }
    )*};
}

time_write!(
    /// Dates as `M8[unit]`, every value in one unit.
    DateTime64,
    /// Durations as `m8[unit]`, every value in one unit.
    TimeDelta64
);
