//! The element types a payload can be viewed as, and how each one is
//! matched against a file's dtype.
//!
//! [`Element`] is implemented here for the plain NumPy scalar types and
//! fixed-size byte records, and for every user type that implements
//! [`Record`]. All byte casts go through `bytemuck`, so a wrong `Element`
//! can give wrong numbers but never undefined behaviour.

use bytemuck::checked::CheckedBitPattern;
use bytemuck::{NoUninit, Pod};
use half::f16;
use num_complex::Complex;

use crate::dtype::{ByteOrder, Dtype, ScalarKind};

/// How a stored dtype relates to an element type.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Same type in the machine's byte order: bytes can be used as they are.
    Native,
    /// Same type in the other byte order: each value needs a swap.
    Swapped,
    /// Same layout, but the byte order differs in a way this type cannot
    /// swap (user records); only the raw bytes could be used.
    Unswappable,
}

mod private {
    pub trait Sealed {}
}

/// A type a payload element can be viewed as.
///
/// Implemented for `bool`, `i8`..`i64`, `u8`..`u64`, [`half::f16`], `f32`,
/// `f64`, [`num_complex::Complex<f32>`] / `Complex<f64>`, `[u8; N]` (for
/// `S<N>`, `V<N>` and N-byte structured records), and every [`Record`].
/// Each is checked against the file's dtype before any view is made: a
/// mismatch is an error, never a reinterpretation.
///
/// The trait is sealed; user types join through [`Record`].
pub trait Element:
    Copy + CheckedBitPattern + NoUninit + Send + Sync + 'static + private::Sealed
{
    /// How `dtype` fits this type, or `None` when it is another type.
    #[doc(hidden)]
    fn fit(dtype: &Dtype) -> Option<Fit>;

    /// The dtype this type stands for in `order`, for error messages.
    #[doc(hidden)]
    fn expected(order: ByteOrder) -> String;

    /// The NumPy dtype of this type in the machine's byte order, as
    /// `np.save` writes it (`'<f8'` for `f64`, `'|b1'` for `bool`, `'<c16'`
    /// for `Complex<f64>`, `'<f2'` for [`half::f16`], a record's
    /// [`Record::dtype`]), or `None` when the type alone does not say
    /// (`[u8; N]` stands for `S<N>`, `V<N>` or a record alike; a record
    /// without a description).
    fn native_dtype() -> Option<Dtype>;

    /// The value with each swap unit's bytes reversed.
    #[doc(hidden)]
    #[must_use]
    fn swapped(self) -> Self;

    /// Reads one value in native order from exactly `size_of::<Self>()`
    /// bytes at any alignment.
    #[doc(hidden)]
    fn read_ne(bytes: &[u8]) -> Self;

    /// The all-zero value (`false`, `0`, `[0; N]`, a zeroed record).
    #[doc(hidden)]
    fn zero() -> Self;

    /// The values as mutable bytes, so a reader can fill them in place;
    /// `None` for `bool`, whose bytes may not be set to anything but 0 or 1.
    #[doc(hidden)]
    fn pod_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]>;
}

/// A user's plain-old-data record type, matched against a structured dtype.
///
/// Derive [`bytemuck::Pod`] on a `#[repr(C)]` (usually `#[repr(C, packed)]`,
/// since NumPy's structured dtypes are packed unless saved with
/// `align=True`) struct and describe its layout in [`Record::dtype`]. The
/// view then checks the file's dtype equals the description exactly (names,
/// offsets, field types and byte orders). Without a description only the
/// itemsize is checked, and the file must be structured or void.
///
/// Records are never byte-swapped: a file whose fields are not in the
/// machine's byte order is refused.
///
/// # Examples
/// ```
/// use bytemuck::{Pod, Zeroable};
/// use npymap::{Dtype, NpyView, Record};
///
/// #[derive(Clone, Copy, Pod, Zeroable, Debug, PartialEq)]
/// #[repr(C, packed)]
/// struct Xy { x: i32, y: f64 }
///
/// impl Record for Xy {
///     fn dtype() -> Option<Dtype> {
///         Dtype::structured([("x", Dtype::from_descr("<i4").ok()?), ("y", Dtype::from_descr("<f8").ok()?)]).ok()
///     }
/// }
///
/// let bytes = std::fs::read("testdata/npy/struct_simple.npy")?;
/// let view = NpyView::new(&bytes)?;
/// let rows = view.elements::<Xy>()?.to_vec();
/// assert_eq!({ rows[1].x }, -2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Record: Pod + Send + Sync {
    /// The dtype this type matches, in the machine's byte order, or `None`
    /// to check the itemsize only.
    fn dtype() -> Option<Dtype> {
        None
    }
}

impl<T: Record> private::Sealed for T {}

impl<T: Record> Element for T {
    fn fit(dtype: &Dtype) -> Option<Fit> {
        if dtype.itemsize() != std::mem::size_of::<T>() {
            return None;
        }
        match <T as Record>::dtype() {
            Some(described) if described == *dtype => Some(Fit::Native),
            Some(described) if described == dtype.with_byte_order(ByteOrder::NATIVE) => {
                Some(Fit::Unswappable)
            }
            Some(_) => None,
            None => {
                let opaque = match dtype {
                    Dtype::Struct(_) => true,
                    Dtype::Scalar(s) => s.kind() == ScalarKind::Void,
                    Dtype::Subarray { .. } => false,
                };
                match (opaque, dtype.is_native()) {
                    (false, _) => None,
                    (true, true) => Some(Fit::Native),
                    (true, false) => Some(Fit::Unswappable),
                }
            }
        }
    }

    fn native_dtype() -> Option<Dtype> {
        <T as Record>::dtype()
    }

    fn expected(_order: ByteOrder) -> String {
        match <T as Record>::dtype() {
            Some(d) => d.descr(),
            None => format!(
                "a structured dtype of itemsize {}",
                std::mem::size_of::<T>()
            ),
        }
    }

    #[inline]
    fn swapped(self) -> Self {
        self
    }

    #[inline]
    fn read_ne(bytes: &[u8]) -> Self {
        bytemuck::try_pod_read_unaligned(bytes).unwrap_or_else(|_| T::zeroed())
    }

    fn zero() -> Self {
        T::zeroed()
    }

    fn pod_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]> {
        Some(bytemuck::cast_slice_mut(values))
    }
}

/// Fit of a scalar dtype of `kind` and `itemsize`.
fn scalar_fit(dtype: &Dtype, kind: ScalarKind, itemsize: usize) -> Option<Fit> {
    let s = dtype.as_scalar()?;
    if s.kind() != kind || s.itemsize() != itemsize {
        return None;
    }
    Some(if s.byte_order().is_native() {
        Fit::Native
    } else {
        Fit::Swapped
    })
}

/// `'<f8'`-style text for a simple type in `order`.
fn scalar_expected(kind: ScalarKind, order: ByteOrder, itemsize: usize) -> String {
    Dtype::scalar(kind, Some(order), itemsize).map_or_else(|_| "?".to_string(), |d| d.descr())
}

macro_rules! number {
    ($t:ty, $kind:expr, $swap:expr) => {
        impl private::Sealed for $t {}
        impl Element for $t {
            fn fit(dtype: &Dtype) -> Option<Fit> {
                scalar_fit(dtype, $kind, std::mem::size_of::<$t>())
            }
            fn expected(order: ByteOrder) -> String {
                scalar_expected($kind, order, std::mem::size_of::<$t>())
            }
            fn native_dtype() -> Option<Dtype> {
                Dtype::scalar($kind, Some(ByteOrder::NATIVE), std::mem::size_of::<$t>()).ok()
            }
            #[inline(always)]
            fn swapped(self) -> Self {
                let f: fn($t) -> $t = $swap;
                f(self)
            }
            #[inline(always)]
            fn read_ne(bytes: &[u8]) -> Self {
                bytemuck::try_pod_read_unaligned(bytes).unwrap_or_default()
            }
            fn zero() -> Self {
                <$t as bytemuck::Zeroable>::zeroed()
            }
            fn pod_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]> {
                Some(bytemuck::cast_slice_mut(values))
            }
        }
    };
}

number!(i8, ScalarKind::Int, |v| v);
number!(i16, ScalarKind::Int, i16::swap_bytes);
number!(i32, ScalarKind::Int, i32::swap_bytes);
number!(i64, ScalarKind::Int, i64::swap_bytes);
number!(u8, ScalarKind::UInt, |v| v);
number!(u16, ScalarKind::UInt, u16::swap_bytes);
number!(u32, ScalarKind::UInt, u32::swap_bytes);
number!(u64, ScalarKind::UInt, u64::swap_bytes);
number!(f16, ScalarKind::Float, |v| f16::from_bits(
    v.to_bits().swap_bytes()
));
number!(f32, ScalarKind::Float, |v| f32::from_bits(
    v.to_bits().swap_bytes()
));
number!(f64, ScalarKind::Float, |v| f64::from_bits(
    v.to_bits().swap_bytes()
));
number!(Complex<f32>, ScalarKind::Complex, |v| Complex::new(
    f32::from_bits(v.re.to_bits().swap_bytes()),
    f32::from_bits(v.im.to_bits().swap_bytes())
));
number!(Complex<f64>, ScalarKind::Complex, |v| Complex::new(
    f64::from_bits(v.re.to_bits().swap_bytes()),
    f64::from_bits(v.im.to_bits().swap_bytes())
));

impl private::Sealed for bool {}

/// `bool` views need every byte to be 0 or 1 (checked when the view is
/// made); the element view reads any other byte as `true`.
impl Element for bool {
    fn fit(dtype: &Dtype) -> Option<Fit> {
        scalar_fit(dtype, ScalarKind::Bool, 1)
    }
    fn expected(_order: ByteOrder) -> String {
        "'|b1'".to_string()
    }
    fn native_dtype() -> Option<Dtype> {
        Dtype::scalar(ScalarKind::Bool, None, 1).ok()
    }
    #[inline]
    fn swapped(self) -> Self {
        self
    }
    #[inline]
    fn read_ne(bytes: &[u8]) -> Self {
        bytes.first().is_some_and(|&b| b != 0)
    }
    fn zero() -> Self {
        false
    }
    fn pod_bytes_mut(_values: &mut [Self]) -> Option<&mut [u8]> {
        None
    }
}

impl<const N: usize> private::Sealed for [u8; N] {}

/// Fixed-size byte records: `S<N>` and `V<N>` elements, or the raw bytes
/// of N-byte structured records. The bytes are handed out as stored.
impl<const N: usize> Element for [u8; N] {
    fn fit(dtype: &Dtype) -> Option<Fit> {
        if dtype.itemsize() != N {
            return None;
        }
        match dtype {
            Dtype::Scalar(s) if matches!(s.kind(), ScalarKind::Bytes | ScalarKind::Void) => {
                Some(Fit::Native)
            }
            Dtype::Struct(_) => Some(Fit::Native),
            _ => None,
        }
    }
    fn expected(_order: ByteOrder) -> String {
        format!("'|S{N}', '|V{N}' or a {N}-byte structured dtype")
    }
    fn native_dtype() -> Option<Dtype> {
        None
    }
    #[inline]
    fn swapped(self) -> Self {
        self
    }
    #[inline]
    fn read_ne(bytes: &[u8]) -> Self {
        bytes.try_into().unwrap_or([0; N])
    }
    fn zero() -> Self {
        [0; N]
    }
    fn pod_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]> {
        Some(values.as_flattened_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complex_swaps_each_half() {
        let v = Complex::new(1.5f32, -2.0);
        assert_eq!(v.swapped().swapped(), v);
        assert_eq!(v.swapped().re.to_bits(), 1.5f32.to_bits().swap_bytes());
    }

    #[test]
    fn native_dtypes_are_numpys() {
        let le = cfg!(target_endian = "little");
        let d = |t: Option<Dtype>| t.map(|d| d.descr());
        let n = |s: &str| {
            Some(if le {
                format!("'<{s}'")
            } else {
                format!("'>{s}'")
            })
        };
        assert_eq!(d(f64::native_dtype()), n("f8"));
        assert_eq!(d(f16::native_dtype()), n("f2"));
        assert_eq!(d(Complex::<f64>::native_dtype()), n("c16"));
        assert_eq!(d(i8::native_dtype()), Some("'|i1'".to_string()));
        assert_eq!(d(u8::native_dtype()), Some("'|u1'".to_string()));
        assert_eq!(d(bool::native_dtype()), Some("'|b1'".to_string()));
        assert_eq!(d(<[u8; 4]>::native_dtype()), None);
    }

    #[test]
    fn fit_distinguishes_order_and_size() {
        let le = Dtype::from_descr("<i4").unwrap();
        let be = Dtype::from_descr(">i4").unwrap();
        let native = if cfg!(target_endian = "little") {
            &le
        } else {
            &be
        };
        assert_eq!(i32::fit(native), Some(Fit::Native));
        assert!(i32::fit(&le.with_byte_order(ByteOrder::Big)).is_some());
        assert_eq!(u32::fit(&le), None);
        assert_eq!(i64::fit(&le), None);
    }
}
