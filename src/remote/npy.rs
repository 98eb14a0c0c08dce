//! `.npy` objects in a store: the header from one ranged GET, then reads
//! of exactly the bytes an element, row or column range needs.

use std::ops::Range;

use crate::array::Array;
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParsedHeader};
use crate::typed::ReadElement;

use super::store::{HEAD_FETCH_LEN, Location, RemoteOptions, TransferStats, block_on};

/// A `.npy` object opened for ranged reads, for async callers (a tokio
/// runtime must be running). [`RemoteNpy`] is the blocking form.
#[derive(Debug, Clone)]
pub struct AsyncRemoteNpy {
    loc: Location,
    parsed: ParsedHeader,
    object_size: u64,
    /// Where the `.npy` bytes start in the object: 0 for a `.npy` object,
    /// the member's offset for a stored `.npz` member.
    base: u64,
}

/// Parses the header at the start of an object: `head` is its first bytes
/// (up to [`HEAD_FETCH_LEN`]); a header longer than that costs one more GET
/// of exactly the missing bytes. Errors are the local ones.
pub(crate) async fn parse_object_header(
    loc: &Location,
    head: bytes::Bytes,
    object_size: u64,
    base: u64,
) -> Result<ParsedHeader> {
    let opts = loc.options().parse;
    match Header::parse_with(&head, &opts) {
        Err(e)
            if matches!(e.kind(), ErrorKind::Truncated { what: "header", needed, .. }
                if *needed > head.len() as u64) =>
        {
            let ErrorKind::Truncated { needed, .. } = *e.kind() else {
                return Err(e);
            };
            // The preamble's length was checked against the limit before
            // `Truncated` was raised, so `needed` is bounded by it.
            let have = head.len() as u64;
            let end = needed.min(object_size.saturating_sub(base));
            if end <= have {
                return Err(e);
            }
            let more = loc
                .get_exact(base.saturating_add(have)..base.saturating_add(end))
                .await?;
            let mut all = Vec::new();
            all.try_reserve_exact(head.len().saturating_add(more.len()))
                .map_err(|_| ErrorKind::Overflow {
                    what: "header buffer",
                })?;
            all.extend_from_slice(&head);
            all.extend_from_slice(&more);
            Header::parse_with(&all, &opts)
        }
        other => other,
    }
}

impl AsyncRemoteNpy {
    /// Opens the `.npy` object at `url`: one ranged GET of the first
    /// 64 KiB gives the header and the object's size (a second GET only
    /// for a longer header); then the same checks as a local file (header
    /// limits, payload length against the object's size).
    ///
    /// # Errors
    /// `Io` naming the URL (`NotFound` for a missing object,
    /// `PermissionDenied` for refused credentials, others after retries),
    /// any header error, `PayloadSize`.
    pub async fn open(url: &str, opts: &RemoteOptions) -> Result<AsyncRemoteNpy> {
        let loc = Location::parse(url, opts)?;
        AsyncRemoteNpy::open_at(loc).await
    }

    /// [`AsyncRemoteNpy::open`] on a location already built.
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::open`].
    pub async fn open_at(loc: Location) -> Result<AsyncRemoteNpy> {
        let run = async {
            let (head, object_size) = loc.get_head(HEAD_FETCH_LEN).await?;
            AsyncRemoteNpy::from_head(loc.clone(), head, object_size).await
        };
        run.await.map_err(|e: Error| loc.err(e))
    }

    /// Opens from the object's first bytes already fetched.
    pub(crate) async fn from_head(
        loc: Location,
        head: bytes::Bytes,
        object_size: u64,
    ) -> Result<AsyncRemoteNpy> {
        let parsed = parse_object_header(&loc, head, object_size, 0).await?;
        crate::npy::check_payload(&parsed, object_size.saturating_sub(parsed.data_offset))?;
        Ok(AsyncRemoteNpy {
            loc,
            parsed,
            object_size,
            base: 0,
        })
    }

    /// A `.npy` whose bytes start at `base` in the object at `loc` (a
    /// stored `.npz` member), with its header already parsed and checked.
    pub(crate) fn at_offset(
        loc: Location,
        parsed: ParsedHeader,
        object_size: u64,
        base: u64,
    ) -> AsyncRemoteNpy {
        AsyncRemoteNpy {
            loc,
            parsed,
            object_size,
            base,
        }
    }

    /// The parsed header (version, dtype, order, shape, data offset).
    pub fn header(&self) -> &ParsedHeader {
        &self.parsed
    }

    /// The object's size in bytes.
    pub fn object_size(&self) -> u64 {
        self.object_size
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> TransferStats {
        self.loc.stats()
    }

    /// The location (URL, store, options).
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// Where the `.npy` bytes start in the object (0, or a stored `.npz`
    /// member's offset).
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    fn count(&self) -> Result<u64> {
        self.parsed.header.element_count()
    }

    /// Object byte range of elements `range` (storage order), checked.
    fn byte_range(&self, range: &Range<u64>) -> Result<Range<u64>> {
        let h = &self.parsed.header;
        if h.dtype.has_object() {
            return Err(Error::new(ErrorKind::ObjectDtype).at(self.parsed.data_offset));
        }
        let count = self.count()?;
        if range.start > range.end || range.end > count {
            return Err(ErrorKind::IndexOutOfBounds {
                index: range.end.max(range.start),
                len: count,
            }
            .into());
        }
        let itemsize = h.dtype.itemsize() as u64;
        let of = |i: u64| {
            i.checked_mul(itemsize)
                .and_then(|b| b.checked_add(self.parsed.data_offset))
                .and_then(|b| b.checked_add(self.base))
                .ok_or(Error::from(ErrorKind::Overflow {
                    what: "element range",
                }))
        };
        Ok(of(range.start)?..of(range.end)?)
    }

    /// Reads the file's bytes of elements `range` (storage order: C or
    /// Fortran as the header says; the file's byte order) into `buf`,
    /// which must be exactly `range` × itemsize bytes. Only those bytes
    /// are fetched, in parts of `part_size`, `concurrency` at once.
    ///
    /// # Errors
    /// `IndexOutOfBounds`, `ShapeMismatch` for a buffer of the wrong
    /// length, `ObjectDtype`, `Truncated` when the object is shorter than
    /// its header says, `Io`.
    pub async fn read_bytes_into(&self, range: Range<u64>, buf: &mut [u8]) -> Result<()> {
        let run = async {
            let bytes = self.byte_range(&range)?;
            let len = bytes.end.saturating_sub(bytes.start);
            if buf.len() as u64 != len {
                return Err(ErrorKind::ShapeMismatch {
                    expected: format!("a buffer of {len} bytes"),
                    found: format!("{} bytes", buf.len()),
                }
                .into());
            }
            self.loc.read_into(bytes.start, buf).await
        };
        run.await.map_err(|e| self.loc.err(e))
    }

    /// Reads elements `range` (storage order) as `T`, converted to the
    /// machine's byte order.
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_bytes_into`], plus `DtypeMismatch` and
    /// the element type's own checks (`InvalidBool`, ...).
    pub async fn read_elements<T: ReadElement>(&self, range: Range<u64>) -> Result<Vec<T>> {
        let dtype = &self.parsed.header.dtype;
        T::check(dtype).map_err(|e| self.loc.err(e))?;
        let bytes = self.byte_range(&range).map_err(|e| self.loc.err(e))?;
        let len = usize::try_from(bytes.end.saturating_sub(bytes.start)).map_err(|_| {
            self.loc
                .err(ErrorKind::Overflow { what: "read size" }.into())
        })?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(len).map_err(|_| {
            self.loc.err(
                ErrorKind::Overflow {
                    what: "read buffer",
                }
                .into(),
            )
        })?;
        buf.resize(len, 0);
        self.read_bytes_into(range.clone(), &mut buf).await?;
        let count = usize::try_from(range.end.saturating_sub(range.start))
            .map_err(|_| ErrorKind::Overflow { what: "read size" })?;
        T::decode(dtype, &buf, count).map_err(|e| self.loc.err(e.at(bytes.start)))
    }

    /// Reads rows `rows` of the array's outer axis in storage order — axis
    /// 0 of a C-order array, the last axis of a Fortran-order one — as
    /// one contiguous range: the result keeps the other axes and the order.
    /// For a 0-d array the only "row" is `0..1`.
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_elements`]; `IndexOutOfBounds` for rows
    /// past the end.
    pub async fn read_rows<T: ReadElement>(&self, rows: Range<u64>) -> Result<Array<T>> {
        let h = &self.parsed.header;
        let (shape, elements) = outer_slice(h, &rows).map_err(|e| self.loc.err(e))?;
        let data = self.read_elements::<T>(elements).await?;
        Array::from_parts(shape, h.fortran_order, data).map_err(|e| self.loc.err(e))
    }

    /// Reads the whole array.
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_elements`].
    pub async fn read_all<T: ReadElement>(&self) -> Result<Array<T>> {
        let h = &self.parsed.header;
        let outer = outer_len(h);
        self.read_rows(0..outer).await
    }
}

/// Length of the outer axis in storage order (1 for a 0-d array).
pub(super) fn outer_len(h: &Header) -> u64 {
    let axis = if h.fortran_order {
        h.shape.last()
    } else {
        h.shape.first()
    };
    axis.copied().unwrap_or(1)
}

/// Shape of rows `rows` of the outer axis and their element range.
fn outer_slice(h: &Header, rows: &Range<u64>) -> Result<(Vec<usize>, Range<u64>)> {
    let outer = outer_len(h);
    if rows.start > rows.end || rows.end > outer {
        return Err(ErrorKind::IndexOutOfBounds {
            index: rows.end.max(rows.start),
            len: outer,
        }
        .into());
    }
    let count = h.element_count()?;
    // Elements in one row: the product of the other axes (0 if one is 0).
    let row_len = count.checked_div(outer).unwrap_or(0);
    let overflow = || Error::from(ErrorKind::Overflow { what: "row range" });
    let start = rows.start.checked_mul(row_len).ok_or_else(overflow)?;
    let end = rows.end.checked_mul(row_len).ok_or_else(overflow)?;
    let mut shape = h
        .shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| overflow()))
        .collect::<Result<Vec<usize>>>()?;
    let n = usize::try_from(rows.end - rows.start).map_err(|_| overflow())?;
    let slot = if h.fortran_order {
        shape.last_mut()
    } else {
        shape.first_mut()
    };
    if let Some(d) = slot {
        *d = n;
    }
    Ok((shape, start..end))
}

/// A `.npy` object opened for ranged reads, blocking: each call runs on
/// a tokio runtime the crate owns (do not call it from inside an async
/// runtime; use [`AsyncRemoteNpy`] there).
///
/// # Examples
/// ```no_run
/// use npymap::remote::{RemoteNpy, RemoteOptions};
/// let a = RemoteNpy::open("s3://bucket/features.npy", &RemoteOptions::default())?;
/// let rows = a.read_rows::<f32>(1_000..1_010)?; // one ranged GET of those rows
/// assert_eq!(rows.shape()[0], 10);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RemoteNpy {
    inner: AsyncRemoteNpy,
}

impl RemoteNpy {
    pub(crate) fn from_async(inner: AsyncRemoteNpy) -> RemoteNpy {
        RemoteNpy { inner }
    }

    /// Blocking [`AsyncRemoteNpy::open`].
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::open`]; `Unsupported` inside an async runtime.
    pub fn open(url: &str, opts: &RemoteOptions) -> Result<RemoteNpy> {
        let inner = block_on(AsyncRemoteNpy::open(url, opts))??;
        Ok(RemoteNpy { inner })
    }

    /// Blocking [`AsyncRemoteNpy::open_at`].
    ///
    /// # Errors
    /// As [`RemoteNpy::open`].
    pub fn open_at(loc: Location) -> Result<RemoteNpy> {
        let inner = block_on(AsyncRemoteNpy::open_at(loc))??;
        Ok(RemoteNpy { inner })
    }

    /// The async handle underneath.
    pub fn as_async(&self) -> &AsyncRemoteNpy {
        &self.inner
    }

    /// The parsed header.
    pub fn header(&self) -> &ParsedHeader {
        self.inner.header()
    }

    /// The object's size in bytes.
    pub fn object_size(&self) -> u64 {
        self.inner.object_size()
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> TransferStats {
        self.inner.stats()
    }

    /// Blocking [`AsyncRemoteNpy::read_bytes_into`].
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_bytes_into`].
    pub fn read_bytes_into(&self, range: Range<u64>, buf: &mut [u8]) -> Result<()> {
        block_on(self.inner.read_bytes_into(range, buf))?
    }

    /// Blocking [`AsyncRemoteNpy::read_elements`].
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_elements`].
    pub fn read_elements<T: ReadElement>(&self, range: Range<u64>) -> Result<Vec<T>> {
        block_on(self.inner.read_elements(range))?
    }

    /// Blocking [`AsyncRemoteNpy::read_rows`].
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_rows`].
    pub fn read_rows<T: ReadElement>(&self, rows: Range<u64>) -> Result<Array<T>> {
        block_on(self.inner.read_rows(rows))?
    }

    /// Blocking [`AsyncRemoteNpy::read_all`].
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_all`].
    pub fn read_all<T: ReadElement>(&self) -> Result<Array<T>> {
        block_on(self.inner.read_all())?
    }
}
