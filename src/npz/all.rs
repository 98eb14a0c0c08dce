//! `np.load(path)` for a whole archive: every member read into memory as a
//! dynamically typed [`AnyArray`], in one call.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

use super::read::{NpzOptions, NpzReader, checked_size, fill_payload};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;
use crate::typed::ReadElement;
use crate::view::{Element, NpyView};

/// One member of an archive read by [`read_all`]: its header and its
/// payload bytes, held 8-byte aligned (so that [`AnyArray::as_slice`]
/// works for every numeric dtype in the machine's byte order). The element
/// type is chosen when the values are taken out, and checked then.
///
/// # Examples
/// ```
/// // NumPy: z = np.load("testdata/npz/named.npz"); z["alpha"]
/// let all = npymap::npz::read_all("testdata/npz/named.npz")?;
/// let alpha = &all["alpha"];
/// assert_eq!(alpha.dtype().descr(), "'<f8'");
/// assert_eq!(alpha.as_slice::<f64>()?, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// assert_eq!(alpha.to_array::<f64>()?.shape(), [2, 3]);
/// assert!(alpha.as_slice::<f32>().is_err()); // wrong type: an error, not garbage
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AnyArray {
    header: Header,
    words: Vec<u64>,
    len: usize,
    count: usize,
}

impl AnyArray {
    /// The member's header (dtype, order, shape).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The dtype.
    pub fn dtype(&self) -> &Dtype {
        &self.header.dtype
    }

    /// The shape, as the header gives it.
    pub fn shape(&self) -> &[u64] {
        &self.header.shape
    }

    /// Whether the payload is in Fortran (column-major) order.
    pub fn fortran_order(&self) -> bool {
        self.header.fortran_order
    }

    /// The payload bytes, as stored (the file's byte order).
    pub fn payload(&self) -> &[u8] {
        bytemuck::cast_slice::<u64, u8>(&self.words)
            .get(..self.len)
            .unwrap_or_default()
    }

    /// A view of the payload, for everything an [`NpyView`] does
    /// (element views, fields, ...).
    pub fn view(&self) -> NpyView<'_> {
        // `read_all` checked the payload's length against the header.
        NpyView::trusted(&self.header, self.payload(), 0, self.count)
    }

    /// The payload as a plain slice of `T`, without copying.
    ///
    /// # Errors
    /// As [`NpyView::as_slice`]: `DtypeMismatch` for another dtype,
    /// `ByteOrderMismatch` for a member in the other byte order (use
    /// [`AnyArray::to_array`], which swaps).
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.view().as_slice()
    }

    /// The values as an owned [`Array`] of `T` (any [`ReadElement`]: numbers
    /// in either byte order, `String`, `Vec<u8>`, dates, ...), with the
    /// member's shape and order.
    ///
    /// # Errors
    /// As [`NpyView::decode`].
    pub fn to_array<T: ReadElement>(&self) -> Result<Array<T>> {
        self.view().decode()
    }
}

/// Reads every member of the archive at `path` into memory, like
/// `dict(np.load(path))` in Python: key (file name without `.npy`) to
/// [`AnyArray`]. Meant for small archives: the members' declared sizes
/// together may not exceed [`NpzOptions::max_read_len`] (default
/// [`DEFAULT_MAX_READ_LEN`](super::DEFAULT_MAX_READ_LEN), 4 GiB; see
/// [`read_all_with`]); every member is checked as
/// [`NpzReader::read_array`] checks it (declared sizes, CRC-32, inflation
/// bounds). Nothing is returned unless every member reads.
///
/// # Errors
/// Every error of [`NpzReader::open`]; `ZipLimit` when the members
/// together exceed the limit; `ObjectDtype` for an object member (NumPy
/// refuses those too unless `allow_pickle=True`); every error of
/// [`NpzReader::read`]; each names the path and the member.
///
/// # Examples
/// ```
/// // NumPy: arrays = dict(np.load("testdata/npz/named.npz"))
/// let all = npymap::npz::read_all("testdata/npz/named.npz")?;
/// let keys: Vec<&str> = all.keys().map(|k| k.as_str()).collect();
/// assert_eq!(keys, ["alpha", "beta", "gamma"]);
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn read_all(path: impl AsRef<Path>) -> Result<BTreeMap<String, AnyArray>> {
    read_all_with(path, NpzOptions::default())
}

/// [`read_all`] with explicit limits.
///
/// # Errors
/// As [`read_all`].
pub fn read_all_with(
    path: impl AsRef<Path>,
    opts: NpzOptions,
) -> Result<BTreeMap<String, AnyArray>> {
    let path = path.as_ref();
    NpzReader::open_with(path, opts)
        .and_then(|mut npz| npz.read_all())
        .map_err(|e| e.in_path(path))
}

impl<R: Read + Seek> NpzReader<R> {
    /// Reads every member into memory: [`read_all`] over an open archive.
    ///
    /// # Errors
    /// As [`read_all`], without the path.
    pub fn read_all(&mut self) -> Result<BTreeMap<String, AnyArray>> {
        let (reader, members, opts) = self.parts_mut();
        let total = members
            .iter()
            .try_fold(0u64, |sum, m| sum.checked_add(m.npy_len()))
            .unwrap_or(u64::MAX);
        if total > opts.max_read_len {
            return Err(ErrorKind::ZipLimit {
                what: "archive (all members together)",
                size: total,
                limit: opts.max_read_len,
            }
            .into());
        }
        let mut out = BTreeMap::new();
        for m in members.iter() {
            let in_member = |e: Error| e.in_member(m.file_name());
            if m.header().header.dtype.has_object() {
                return Err(in_member(ErrorKind::ObjectDtype.into()));
            }
            let (count, len) = checked_size(m, opts).map_err(in_member)?;
            let mut words = Vec::new();
            words
                .try_reserve_exact(len.div_ceil(8))
                .map_err(|_| in_member(ErrorKind::Overflow { what: "payload" }.into()))?;
            words.resize(len.div_ceil(8), 0u64);
            let bytes = bytemuck::cast_slice_mut::<u64, u8>(&mut words)
                .get_mut(..len)
                .unwrap_or_default();
            fill_payload(reader, m, bytes)?;
            let array = AnyArray {
                header: m.header().header.clone(),
                words,
                len,
                count,
            };
            out.insert(m.name().to_owned(), array);
        }
        Ok(out)
    }
}
