//! An archive held in a byte buffer (a `Vec`, or a mapped file): stored
//! members are handed out as sub-slices, without copying.

use std::io::Cursor;
use std::ops::Range;

use super::read::{NpzOptions, NpzReader};
use super::{Member, Members};
use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};

/// An archive over borrowed bytes. Listing is the same as [`NpzReader`]'s;
/// stored members can then be viewed in place with
/// [`NpzArchive::member_bytes`], which is how a memory-mapped archive gives
/// zero-copy arrays. NumPy does not align members, so the view module's
/// portable element view is what reads them in place; members written by
/// [`NpzWriter`](super::NpzWriter) have 64-byte aligned payloads, which the
/// slice view also accepts (when the buffer itself is aligned, as maps are).
///
/// # Examples
/// ```
/// use npymap::npz::NpzArchive;
/// let bytes = std::fs::read("testdata/npz/named.npz")?;
/// let npz = NpzArchive::from_bytes(&bytes)?;
/// let alpha = npz.member_bytes("alpha")?; // no copy: a slice of `bytes`
/// let parsed = npymap::Header::parse(alpha)?;
/// assert_eq!(parsed.header.shape, [2, 3]);
/// assert_eq!(npz.payload("alpha")?.len(), 48);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NpzArchive<'a> {
    bytes: &'a [u8],
    reader: NpzReader<Cursor<&'a [u8]>>,
}

impl<'a> NpzArchive<'a> {
    /// Lists the archive in `bytes`.
    ///
    /// # Errors
    /// As [`NpzReader::new`].
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        Self::from_bytes_with(bytes, NpzOptions::default())
    }

    /// [`NpzArchive::from_bytes`] with explicit limits.
    ///
    /// # Errors
    /// As [`NpzReader::new`].
    pub fn from_bytes_with(bytes: &'a [u8], opts: NpzOptions) -> Result<Self> {
        let reader = NpzReader::with_options(Cursor::new(bytes), opts)?;
        Ok(NpzArchive { bytes, reader })
    }

    /// The members in archive order.
    pub fn members(&self) -> &[Member] {
        self.reader.members()
    }

    /// The member with key or file name `name`.
    ///
    /// # Errors
    /// `MemberNotFound`.
    pub fn member(&self, name: &str) -> Result<&Member> {
        self.reader.member(name)
    }

    /// A stored member's whole `.npy` bytes, borrowed from the buffer. The
    /// checksum is not verified (that would read every byte); use
    /// [`NpzArchive::read`] for a checked copy.
    ///
    /// # Errors
    /// `MemberNotFound`, or `NotStored` for a deflated member.
    pub fn member_bytes(&self, name: &str) -> Result<&'a [u8]> {
        let range = self.member(name)?.require_stored()?;
        self.slice(range)
    }

    /// A stored member's payload (after its `.npy` header), borrowed from the
    /// buffer.
    ///
    /// # Errors
    /// As [`NpzArchive::member_bytes`].
    pub fn payload(&self, name: &str) -> Result<&'a [u8]> {
        let m = self.member(name)?;
        m.require_stored()?;
        let range = m.payload_range().unwrap_or_default();
        self.slice(range)
    }

    /// A zero-copy [`NpyView`](crate::NpyView) of a stored member. Offsets in
    /// its errors (a `Misaligned` slice view, a bad value) are offsets in the
    /// archive, so they point at the bytes in the file. The checksum is not
    /// verified.
    ///
    /// # Examples
    /// ```
    /// use npymap::npz::NpzArchive;
    /// let bytes = std::fs::read("testdata/npz/named.npz")?;
    /// let npz = NpzArchive::from_bytes(&bytes)?;
    /// let alpha = npz.view("alpha")?;
    /// assert_eq!(alpha.shape(), [2, 3]);
    /// assert_eq!(alpha.to_vec::<f64>()?.len(), 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// `MemberNotFound`, `NotStored` for a deflated member (read it with
    /// [`NpzArchive::read_array`] or [`NpzArchive::read`] instead).
    pub fn view(&self, name: &str) -> Result<crate::NpyView<'a>> {
        let m = self.member(name)?;
        view_member(self.bytes, m, Cow::Owned(m.header().header.clone()))
    }

    /// A member's whole `.npy` bytes, copied (and inflated) with every check
    /// of [`NpzReader::read`].
    ///
    /// # Errors
    /// As [`NpzReader::read`].
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>> {
        self.reader.read(name)
    }

    /// A member as an owned, typed array, with every check of
    /// [`NpzReader::read_array`].
    ///
    /// # Errors
    /// As [`NpzReader::read_array`].
    pub fn read_array<T: crate::ReadElement>(
        &mut self,
        name: &str,
    ) -> Result<crate::array::Array<T>> {
        self.reader.read_array(name)
    }

    /// Every member into memory, as [`read_all`](super::read_all) reads
    /// them.
    ///
    /// # Errors
    /// As [`NpzReader::read_all`].
    pub fn read_all(&mut self) -> Result<std::collections::BTreeMap<String, super::AnyArray>> {
        self.reader.read_all()
    }

    /// The buffer the archive lives in.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn slice(&self, range: Range<u64>) -> Result<&'a [u8]> {
        slice_of(self.bytes, range)
    }

    /// An archive over `bytes` already listed as `members` (by
    /// [`NpzArchive::from_bytes_with`] over the same bytes).
    pub(crate) fn from_members(bytes: &'a [u8], members: Members, opts: NpzOptions) -> Self {
        let reader = NpzReader::from_parts(Cursor::new(bytes), members, opts);
        NpzArchive { bytes, reader }
    }

    /// The member list, for a holder of the bytes (a map) that keeps it.
    pub(crate) fn into_members(self) -> Members {
        self.reader.into_members()
    }
}

/// The bytes of `range` in `bytes` (a range listing checked).
pub(crate) fn slice_of(bytes: &[u8], range: Range<u64>) -> Result<&[u8]> {
    let start = usize::try_from(range.start);
    let end = usize::try_from(range.end);
    match (start, end) {
        (Ok(s), Ok(e)) => bytes.get(s..e),
        _ => None,
    }
    // Listing checked the range against the buffer's length.
    .ok_or_else(|| {
        ErrorKind::Overflow {
            what: "member range",
        }
        .into()
    })
}

/// A zero-copy view of stored member `m` of the archive in `bytes`, with
/// `header` (the member's); offsets in its errors count from the start of
/// the archive.
pub(crate) fn view_member<'a>(
    bytes: &'a [u8],
    m: &Member,
    header: Cow<'a, crate::Header>,
) -> Result<crate::NpyView<'a>> {
    let in_member = |e: Error| e.in_member(m.file_name());
    let range = m.require_stored()?;
    slice_of(bytes, range).map_err(in_member)?;
    let payload_range = m.payload_range().unwrap_or_default();
    let at = payload_range.start;
    let payload = slice_of(bytes, payload_range).map_err(in_member)?;
    crate::NpyView::from_parts(header, payload, at).map_err(in_member)
}
