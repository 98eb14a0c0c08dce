//! Typed, zero-copy access to a payload held in any `&[u8]` / `&mut [u8]`.
//!
//! Two kinds of typed view, both zero-copy:
//!
//! - the **slice view** ([`NpyView::as_slice`]): a plain `&[T]`, which needs
//!   the machine's byte order and a payload aligned for `T`;
//! - the **element view** ([`NpyView::elements`]): works on any payload,
//!   whatever its byte order and alignment (old 16-byte-aligned files, other
//!   writers, `np.savez` members), reading each element with an unaligned
//!   load and a swap where needed.
//!
//! Structured arrays get strided views of one field ([`NpyView::field`],
//! [`NpyView::field_path`]); large arrays can be walked in row chunks
//! ([`NpyView::chunks`]). Nothing here touches the file system; memory maps
//! ([`crate::mmap`]) hand out these same views.

mod chunks;
mod element;
pub(crate) mod elements;
/// Field locating (`field::resolve`) is shared with the remote field reads.
pub(crate) mod field;
#[cfg(feature = "ndarray")]
mod nd;

use std::borrow::Cow;

pub use chunks::Chunks;
pub use element::{Element, Record};
pub use elements::{Elements, ElementsMut};
pub use field::{FieldView, FieldViewMut};
#[cfg(feature = "ndarray")]
pub(crate) use nd::check_ndim;

use bytemuck::checked::CheckedCastError;
use element::Fit;
use elements::Layout;

use crate::dtype::{ByteOrder, Dtype};
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;

/// Checks a header and payload length, returning the element count.
pub(crate) fn check_parts(header: &Header, payload_len: usize, data_offset: u64) -> Result<usize> {
    if header.dtype.has_object() {
        return Err(Error::new(ErrorKind::ObjectDtype).at(data_offset));
    }
    let expected = header.payload_len()?;
    if expected != payload_len as u64 {
        return Err(Error::new(ErrorKind::PayloadSize {
            expected,
            actual: payload_len as u64,
        })
        .at(data_offset));
    }
    usize::try_from(header.element_count()?).map_err(|_| {
        ErrorKind::Overflow {
            what: "element count",
        }
        .into()
    })
}

/// Checks that `T` can view `dtype` as a plain slice (same type, native order).
fn slice_fit<T: Element>(dtype: &Dtype, data_offset: u64) -> Result<()> {
    match T::fit(dtype) {
        Some(Fit::Native) => Ok(()),
        Some(Fit::Swapped | Fit::Unswappable) => Err(Error::new(ErrorKind::ByteOrderMismatch {
            expected: T::expected(ByteOrder::NATIVE),
            found: dtype.descr(),
        })
        .at(data_offset)),
        None => Err(Error::new(ErrorKind::DtypeMismatch {
            expected: T::expected(ByteOrder::NATIVE),
            found: dtype.descr(),
        })
        .at(data_offset)),
    }
}

/// Turns a bytemuck cast failure into our error.
fn cast_error(e: CheckedCastError, payload: &[u8], dtype: &Dtype, align: usize, at: u64) -> Error {
    let kind = match e {
        CheckedCastError::InvalidBitPattern => {
            let (index, value) = payload
                .iter()
                .enumerate()
                .find(|&(_, &b)| b > 1)
                .map_or((0, 0), |(i, &b)| (i as u64, b));
            ErrorKind::InvalidBool { index, value }
        }
        CheckedCastError::PodCastError(
            bytemuck::PodCastError::TargetAlignmentGreaterAndInputNotAligned,
        ) => ErrorKind::Misaligned {
            dtype: dtype.descr(),
            align,
            offset: at,
        },
        CheckedCastError::PodCastError(other) => {
            ErrorKind::Unsupported(format!("slice view of {}: {other:?}", dtype.descr()))
        }
    };
    Error::new(kind).at(at)
}

/// A parsed header plus the payload it describes, borrowed from a buffer.
///
/// # Examples
/// ```
/// let bytes = std::fs::read("testdata/npy/c_2x3.npy")?;
/// let view = npymap::NpyView::new(&bytes)?;
/// assert_eq!(view.shape(), [2, 3]);
/// let values: &[f64] = view.as_slice()?; // needs native order + alignment
/// assert_eq!(values[4], 4.0);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NpyView<'a> {
    header: Cow<'a, Header>,
    data_offset: u64,
    payload: &'a [u8],
    len: usize,
}

impl<'a> NpyView<'a> {
    /// Parses the header at the start of `bytes` and checks that the rest is
    /// exactly the payload it implies.
    ///
    /// # Errors
    /// Any header error, `ObjectDtype` (a pickle is never viewed), or
    /// `PayloadSize`.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let parsed = Header::parse(bytes)?;
        let payload = usize::try_from(parsed.data_offset)
            .ok()
            .and_then(|o| bytes.get(o..))
            .unwrap_or_default();
        NpyView::from_parts(Cow::Owned(parsed.header), payload, parsed.data_offset)
    }

    /// A view of `payload` described by `header` (for raw files, npz members
    /// or payloads read elsewhere). `data_offset` is where the payload sits
    /// in its file; it is only used in errors.
    ///
    /// # Errors
    /// `ObjectDtype`, `PayloadSize` or `Overflow`.
    pub fn from_parts(
        header: Cow<'a, Header>,
        payload: &'a [u8],
        data_offset: u64,
    ) -> Result<Self> {
        let len = check_parts(&header, payload.len(), data_offset)?;
        Ok(NpyView {
            header,
            data_offset,
            payload,
            len,
        })
    }

    /// A view of parts already checked by [`check_parts`] (the map types
    /// check once at open and then hand out views without re-checking).
    pub(crate) fn trusted(
        header: &'a Header,
        payload: &'a [u8],
        data_offset: u64,
        len: usize,
    ) -> Self {
        debug_assert_eq!(header.payload_len().ok(), Some(payload.len() as u64));
        NpyView {
            header: Cow::Borrowed(header),
            data_offset,
            payload,
            len,
        }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The dtype.
    pub fn dtype(&self) -> &Dtype {
        &self.header.dtype
    }

    /// The shape (empty for 0-d).
    pub fn shape(&self) -> &[u64] {
        &self.header.shape
    }

    /// Whether the payload is in Fortran order.
    pub fn fortran_order(&self) -> bool {
        self.header.fortran_order
    }

    /// Byte offset of the payload in its file or buffer.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The payload bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Number of elements (1 for 0-d).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The payload as a plain slice, in storage order (C or Fortran as the
    /// header says).
    ///
    /// # Errors
    /// `DtypeMismatch` when `T` is not the file's type, `ByteOrderMismatch`
    /// when the file is not in the machine's byte order, `Misaligned` when
    /// the payload is not aligned for `T`, `InvalidBool` for a `bool` byte
    /// other than 0 or 1. The element view ([`elements`](Self::elements))
    /// reads the first three cases.
    pub fn as_slice<T: Element>(&self) -> Result<&'a [T]> {
        slice_fit::<T>(self.dtype(), self.data_offset)?;
        if self.payload.is_empty() {
            return Ok(&[]);
        }
        bytemuck::checked::try_cast_slice(self.payload).map_err(|e| {
            cast_error(
                e,
                self.payload,
                self.dtype(),
                std::mem::align_of::<T>(),
                self.data_offset,
            )
        })
    }

    /// The portable element view: any byte order, any alignment.
    ///
    /// # Errors
    /// `DtypeMismatch` when `T` is not the file's type; `ByteOrderMismatch`
    /// for a [`Record`] in the other byte order; `InvalidBool`.
    pub fn elements<T: Element>(&self) -> Result<Elements<'a, T>> {
        Elements::new(self.payload, self.layout(), self.dtype()).map_err(|e| e.at(self.data_offset))
    }

    /// Copies the elements into a native `Vec` (storage order).
    ///
    /// # Errors
    /// As [`elements`](Self::elements).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        Ok(self.elements::<T>()?.to_vec())
    }

    /// A strided view of the field `name` of a structured array.
    ///
    /// # Errors
    /// `FieldNotFound`.
    pub fn field(&self, name: &str) -> Result<FieldView<'a>> {
        self.field_path(&[name])
    }

    /// A strided view of a nested field: `["p", "x"]` is field `x` of the
    /// struct field `p` (through subarrays of structs, too).
    ///
    /// # Errors
    /// `FieldNotFound` at the first name that is not there.
    pub fn field_path(&self, path: &[&str]) -> Result<FieldView<'a>> {
        let (layout, dtype, shape) = field::resolve(self.dtype(), self.shape(), self.len, path)?;
        Ok(FieldView::new(self.payload, layout, dtype, shape))
    }

    /// Iterates over the array in chunks of up to `rows` rows along the outer
    /// axis (axis 0 in C order, the last axis in Fortran order, which is the
    /// axis that is outermost in storage). Each chunk is a view of its own.
    ///
    /// # Examples
    /// ```
    /// let bytes = std::fs::read("testdata/npy/c_2x3x4.npy")?;
    /// let view = npymap::NpyView::new(&bytes)?;
    /// let sums: Vec<i32> = view
    ///     .chunks(1)
    ///     .map(|c| c.elements::<i32>().map(|e| e.iter().sum()))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(sums, [66, 210]);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn chunks(&self, rows: usize) -> Chunks<'a> {
        Chunks::new(
            self.header.clone().into_owned(),
            self.payload,
            self.data_offset,
            rows,
        )
    }

    fn layout(&self) -> Layout {
        Layout::contiguous(self.len, self.dtype().itemsize())
    }
}

/// A parsed header plus the payload it describes, mutably borrowed.
///
/// # Examples
/// ```
/// let mut bytes = std::fs::read("testdata/npy/i4_le.npy")?;
/// let mut view = npymap::NpyViewMut::new(&mut bytes)?;
/// view.as_slice_mut::<i32>()?[0] = 7;
/// assert_eq!(view.as_view().elements::<i32>()?.get(0), Some(7));
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug)]
pub struct NpyViewMut<'a> {
    header: Cow<'a, Header>,
    data_offset: u64,
    payload: &'a mut [u8],
    len: usize,
}

impl<'a> NpyViewMut<'a> {
    /// As [`NpyView::new`], over mutable bytes.
    ///
    /// # Errors
    /// As [`NpyView::new`].
    pub fn new(bytes: &'a mut [u8]) -> Result<Self> {
        let parsed = Header::parse(bytes)?;
        let start = usize::try_from(parsed.data_offset).unwrap_or(usize::MAX);
        let payload = match bytes.get_mut(start..) {
            Some(p) => p,
            None => &mut [],
        };
        NpyViewMut::from_parts(Cow::Owned(parsed.header), payload, parsed.data_offset)
    }

    /// As [`NpyView::from_parts`], over a mutable payload.
    ///
    /// # Errors
    /// As [`NpyView::from_parts`].
    pub fn from_parts(
        header: Cow<'a, Header>,
        payload: &'a mut [u8],
        data_offset: u64,
    ) -> Result<Self> {
        let len = check_parts(&header, payload.len(), data_offset)?;
        Ok(NpyViewMut {
            header,
            data_offset,
            payload,
            len,
        })
    }

    /// A mutable view of parts already checked by [`check_parts`].
    pub(crate) fn trusted(
        header: &'a Header,
        payload: &'a mut [u8],
        data_offset: u64,
        len: usize,
    ) -> Self {
        debug_assert_eq!(header.payload_len().ok(), Some(payload.len() as u64));
        NpyViewMut {
            header: Cow::Borrowed(header),
            data_offset,
            payload,
            len,
        }
    }

    /// A read-only view of the same payload.
    pub fn as_view(&self) -> NpyView<'_> {
        NpyView {
            header: Cow::Borrowed(&self.header),
            data_offset: self.data_offset,
            payload: self.payload,
            len: self.len,
        }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload bytes, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.payload
    }

    /// A shorter-lived mutable view of the same payload.
    pub fn reborrow(&mut self) -> NpyViewMut<'_> {
        NpyViewMut {
            header: Cow::Borrowed(&*self.header),
            data_offset: self.data_offset,
            payload: self.payload,
            len: self.len,
        }
    }

    /// The payload as a mutable slice.
    ///
    /// # Errors
    /// As [`NpyView::as_slice`].
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        self.reborrow().into_slice_mut()
    }

    /// As [`as_slice_mut`](Self::as_slice_mut), consuming the view.
    ///
    /// # Errors
    /// As [`NpyView::as_slice`].
    pub fn into_slice_mut<T: Element>(self) -> Result<&'a mut [T]> {
        slice_fit::<T>(&self.header.dtype, self.data_offset)?;
        if self.payload.is_empty() {
            return Ok(&mut []);
        }
        let align = std::mem::align_of::<T>();
        // Check on a shared borrow first so the error can quote the payload.
        bytemuck::checked::try_cast_slice::<u8, T>(self.payload).map_err(|e| {
            cast_error(e, self.payload, &self.header.dtype, align, self.data_offset)
        })?;
        let at = self.data_offset;
        bytemuck::checked::try_cast_slice_mut(self.payload)
            .map_err(|e| Error::new(ErrorKind::Unsupported(format!("slice view: {e:?}"))).at(at))
    }

    /// The portable element view, for reading and writing.
    ///
    /// # Errors
    /// As [`NpyView::elements`].
    pub fn elements_mut<T: Element>(&mut self) -> Result<ElementsMut<'_, T>> {
        self.reborrow().into_elements_mut()
    }

    /// As [`elements_mut`](Self::elements_mut), consuming the view.
    ///
    /// # Errors
    /// As [`NpyView::elements`].
    pub fn into_elements_mut<T: Element>(self) -> Result<ElementsMut<'a, T>> {
        let layout = Layout::contiguous(self.len, self.header.dtype.itemsize());
        let at = self.data_offset;
        ElementsMut::new(self.payload, layout, &self.header.dtype).map_err(|e| e.at(at))
    }

    /// A mutable strided view of the field `name`.
    ///
    /// # Errors
    /// `FieldNotFound`.
    pub fn field_mut(&mut self, name: &str) -> Result<FieldViewMut<'_>> {
        self.reborrow().into_field_path_mut(&[name])
    }

    /// A mutable strided view of a nested field.
    ///
    /// # Errors
    /// `FieldNotFound`.
    pub fn field_path_mut(&mut self, path: &[&str]) -> Result<FieldViewMut<'_>> {
        self.reborrow().into_field_path_mut(path)
    }

    /// As [`field_path_mut`](Self::field_path_mut), consuming the view.
    ///
    /// # Errors
    /// `FieldNotFound`.
    pub fn into_field_path_mut(self, path: &[&str]) -> Result<FieldViewMut<'a>> {
        let (layout, dtype, shape) =
            field::resolve(&self.header.dtype, &self.header.shape, self.len, path)?;
        Ok(FieldViewMut::new(self.payload, layout, dtype, shape))
    }
}
