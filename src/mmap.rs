//! Memory-mapped `.npy` and raw files, in NumPy's modes `r`, `r+`, `c` and
//! `w+`. The only module of the crate with `unsafe` code.
//!
//! | NumPy | here |
//! |---|---|
//! | `np.load(f, mmap_mode='r')` | [`NpyMap::open`] |
//! | `np.load(f, mmap_mode='r+' / 'c')` | [`NpyMapMut::open`] with [`Mode::ReadWrite`] / [`Mode::CopyOnWrite`] |
//! | `np.lib.format.open_memmap(f, 'w+', dtype, shape, fortran_order)` | [`NpyMapMut::create`] |
//! | `np.memmap(f, dtype, 'r', offset, shape, order)` | [`NpyMap::open_raw`] with [`RawOptions`] |
//! | `np.memmap(f, dtype, 'r+' / 'c', ...)` | [`NpyMapMut::open_raw`] |
//! | `np.memmap(f, dtype, 'w+', ...)` | [`NpyMapMut::create_raw`] |
//! | `np.load(f)` of an `.npz` (which NumPy never maps) | [`NpzMap::open`]: zero-copy views of stored members |
//!
//! Read-only maps ([`NpyMap`]) have no method that gives mutable access, so
//! writing through an `r` map is a compile error:
//!
//! ```compile_fail
//! # fn f(map: &npymap::mmap::NpyMap) {
//! let s: &mut [f64] = map.view().as_slice_mut().unwrap(); // no such method
//! # }
//! ```
//!
//! What is mapped: a read-only `.npy` map ([`NpyMap::open`],
//! [`NpyMap::from_file`]) maps the whole file and parses the header from the
//! map (an `fstat` and an `mmap`, the system calls a raw map costs); a
//! writable one ([`NpyMapMut`]) reads the header with ordinary file reads and
//! maps only the payload; a raw file maps only `offset .. offset + nbytes`.
//! Either way pages are read when first touched, so the cost of opening does
//! not depend on the file's size, and the views handed out cover the payload
//! only. A zero-length range (an empty raw payload, a writable map of a
//! zero-size array) is not mapped at all, since a zero-length map is not
//! possible.
//!
//! # The mmap hazard
//!
//! A mapped file is memory that other processes (and other handles in this
//! process) can change or truncate at any time. If the file shrinks, touching
//! the lost pages kills the process with `SIGBUS`; if it is rewritten, the
//! `&[T]` slices this crate hands out change under the borrow checker's feet,
//! which Rust counts as undefined behaviour. No library can prevent that, so
//! every function that creates a map is `unsafe` and its `# Safety` section
//! states the caller's promise, as `memmap2` does. What this crate does on
//! its side: it checks the file's length against the header before handing
//! out any view, never maps a file it is about to rewrite (`npy::save` and
//! friends write a temporary file and rename it over the old one, so
//! existing maps keep the old inode), and never truncates a file through a
//! map it holds. Functions
//! that do truncate a file in place (`npy::recover`, [`NpyMapMut::create`])
//! say so; mapping that same file elsewhere at the time breaks the promise
//! of the other map's `# Safety` section.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::Path;

use memmap2::{Mmap, MmapMut, MmapOptions};

use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParseOptions, ParsedHeader, Version};
use crate::view::{
    Chunks, Element, Elements, ElementsMut, FieldView, FieldViewMut, NpyView, NpyViewMut,
    check_parts,
};

/// How a writable map relates to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// NumPy's `r+`: writes reach the file (shared mapping).
    ReadWrite,
    /// NumPy's `c`: writes stay in this process's private copy.
    CopyOnWrite,
}

/// An access-pattern hint for the kernel (`madvise`); ignored where the
/// platform has no such call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// No special treatment.
    Normal,
    /// Pages will be read in order: read ahead aggressively.
    Sequential,
    /// Pages will be read in random order: do not read ahead.
    Random,
    /// Pages will be needed soon: start reading them.
    WillNeed,
    /// Pages are not needed for now: the kernel may drop them (they are
    /// read back from the file on the next access). Refused for
    /// copy-on-write maps, where it would discard private changes.
    DontNeed,
}

/// How to view a headerless raw file, as `np.memmap`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOptions {
    dtype: Dtype,
    shape: Option<Vec<u64>>,
    offset: u64,
    fortran_order: bool,
    grow: bool,
}

impl RawOptions {
    /// Elements of `dtype`, starting at offset 0, 1-D with the length
    /// inferred from the file size, C order, no growth.
    pub fn new(dtype: Dtype) -> Self {
        RawOptions {
            dtype,
            shape: None,
            offset: 0,
            fortran_order: false,
            grow: false,
        }
    }

    /// The array's shape (required for [`NpyMapMut::create_raw`]).
    #[must_use]
    pub fn shape(mut self, shape: impl Into<Vec<u64>>) -> Self {
        self.shape = Some(shape.into());
        self
    }

    /// Byte offset of the first element in the file.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Whether the data is in Fortran (column-major) order.
    #[must_use]
    pub fn fortran_order(mut self, fortran_order: bool) -> Self {
        self.fortran_order = fortran_order;
        self
    }

    /// For [`Mode::ReadWrite`] only: extend a file that is too small for
    /// offset + dtype × shape with zeros, as `np.memmap(mode='r+')` does.
    /// Off by default: a too-small file is then a `FileTooSmall` error.
    #[must_use]
    pub fn grow(mut self, grow: bool) -> Self {
        self.grow = grow;
        self
    }

    /// The header these options describe for a file of `file_len` bytes, and
    /// the bytes the file needs.
    fn resolve(&self, file_len: u64) -> Result<(Header, u64)> {
        if self.dtype.has_object() {
            return Err(ErrorKind::ObjectDtype.into());
        }
        let itemsize = self.dtype.itemsize();
        let shape = match &self.shape {
            Some(s) => s.clone(),
            None => {
                let available = file_len.checked_sub(self.offset).ok_or({
                    ErrorKind::FileTooSmall {
                        needed: self.offset,
                        available: file_len,
                    }
                })?;
                if itemsize == 0 || available % itemsize as u64 != 0 {
                    return Err(ErrorKind::RawSize {
                        available,
                        itemsize,
                    }
                    .into());
                }
                vec![available / itemsize as u64]
            }
        };
        let header = Header {
            dtype: self.dtype.clone(),
            fortran_order: self.fortran_order,
            shape,
        };
        let needed = header
            .payload_len()?
            .checked_add(self.offset)
            .ok_or(ErrorKind::Overflow { what: "file size" })?;
        Ok((header, needed))
    }
}

/// What every map knows besides its bytes.
#[derive(Debug, Clone)]
struct Meta {
    header: Header,
    version: Option<Version>,
    data_offset: u64,
    payload_len: usize,
    len: usize,
}

impl Meta {
    /// A view of `payload`, this map's payload bytes.
    fn view<'a>(&'a self, payload: &'a [u8]) -> NpyView<'a> {
        NpyView::trusted(&self.header, payload, self.data_offset, self.len)
    }

    /// A mutable view of `payload`, this map's payload bytes.
    fn view_mut<'a>(&'a self, payload: &'a mut [u8]) -> NpyViewMut<'a> {
        NpyViewMut::trusted(&self.header, payload, self.data_offset, self.len)
    }

    fn new(header: Header, version: Option<Version>, data_offset: u64) -> Result<Meta> {
        let payload_len =
            usize::try_from(header.payload_len()?).map_err(|_| ErrorKind::Overflow {
                what: "payload size",
            })?;
        let len = check_parts(&header, payload_len, data_offset)?;
        Ok(Meta {
            header,
            version,
            data_offset,
            payload_len,
            len,
        })
    }

    /// Reads the header of an open `.npy` file and checks its length.
    fn read_npy(file: &File) -> Result<Meta> {
        let parsed: ParsedHeader =
            Header::read_from(BufReader::new(file), &ParseOptions::default())?;
        Meta::checked(parsed, file.metadata()?.len())
    }

    /// The map data of a parsed `.npy` header, refused unless the file is
    /// exactly header plus payload.
    fn checked(parsed: ParsedHeader, file_len: u64) -> Result<Meta> {
        let meta = Meta::new(parsed.header, Some(parsed.version), parsed.data_offset)?;
        let actual = file_len.saturating_sub(meta.data_offset);
        if actual != meta.payload_len as u64 {
            return Err(Error::new(ErrorKind::PayloadSize {
                expected: meta.payload_len as u64,
                actual,
            })
            .at(meta.data_offset));
        }
        Ok(meta)
    }

    fn check_range(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.payload_len => Ok(()),
            _ => Err(ErrorKind::IndexOutOfBounds {
                index: offset as u64 + len as u64,
                len: self.payload_len as u64,
            }
            .into()),
        }
    }
}

/// Maps `len` bytes of `file` at `offset` read-only; `None` for zero bytes.
///
/// # Safety
/// As [`NpyMap::open`]: the mapped range must not be modified or truncated
/// by anyone while the map lives.
unsafe fn map_ro(file: &File, offset: u64, len: usize) -> Result<Option<Mmap>> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the caller promises the file is not changed while mapped; the
    // range was checked against the file length by the caller.
    let map = unsafe { MmapOptions::new().offset(offset).len(len).map(file)? };
    Ok(Some(map))
}

/// Maps `len` bytes of `file` at `offset` writable (shared or private).
///
/// # Safety
/// As [`NpyMapMut::open`].
unsafe fn map_rw(file: &File, offset: u64, len: usize, mode: Mode) -> Result<Option<MmapMut>> {
    if len == 0 {
        return Ok(None);
    }
    let mut opts = MmapOptions::new();
    opts.offset(offset).len(len);
    let map = match mode {
        // SAFETY: the caller promises nobody else changes or truncates the
        // range while mapped; it was checked against the file length.
        Mode::ReadWrite => unsafe { opts.map_mut(file)? },
        // SAFETY: as above; a private mapping never writes to the file.
        Mode::CopyOnWrite => unsafe { opts.map_copy(file)? },
    };
    Ok(Some(map))
}

/// Buffers at least this long are backed by huge pages where the kernel
/// allows it ([`advise_huge_pages`]); NumPy's allocator uses the same
/// bound for its arrays.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android", test)),
    allow(dead_code)
)]
pub(crate) const HUGE_PAGES_MIN: usize = 4 << 20;

/// Asks the kernel to back `buf`'s memory with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, Linux), for a large buffer fresh from the
/// allocator that a read or copy is about to fill whole: its pages are
/// then faulted in and cleared 2 MiB at a time instead of 4 KiB at a time
/// inside the copy (a 50 MB `read` into a fresh `Vec` on a 2.2 GHz EPYC:
/// 18.9 ms on 4 KiB pages, 7.9 ms on huge pages). NumPy advises its own
/// arrays of 4 MiB or more the same way. Only the whole pages inside `buf`
/// are advised; below [`HUGE_PAGES_MIN`], on other systems, or when the
/// kernel refuses (THP set to `never`, an old kernel), nothing changes:
/// it is a hint, never a requirement.
pub(crate) fn advise_huge_pages(buf: &mut [u8]) {
    advise_huge(buf.as_mut_ptr() as usize, buf.len());
}

/// [`advise_huge_pages`] for the spare capacity of `v` (memory reserved
/// but not written yet), so that the writes that initialise it fault huge
/// pages in.
pub(crate) fn advise_huge_pages_spare(v: &mut Vec<u8>) {
    let spare = v.spare_capacity_mut();
    advise_huge(spare.as_mut_ptr() as usize, spare.len());
}

/// `madvise(MADV_HUGEPAGE)` on the whole pages of the `len` bytes at
/// address `at`, which both callers take from a `&mut` borrow of memory
/// they own.
fn advise_huge(at: usize, len: usize) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if len >= HUGE_PAGES_MIN {
        const PAGE: usize = 4096;
        let start = at.next_multiple_of(PAGE);
        let end = (at + len) / PAGE * PAGE;
        if end > start {
            // SAFETY: [start, end) lies inside the caller's buffer, memory
            // this process owns and the caller holds exclusively (`&mut`).
            // MADV_HUGEPAGE changes only how later faults are served, never
            // the bytes, mappings or validity of the range (unlike
            // DONTNEED/FREE/REMOVE), so no reference into it, here or
            // elsewhere, can observe it.
            let refused = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE)
            };
            // A refusal (EINVAL without THP) leaves the pages as they were.
            let _ = refused;
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (at, len);
}

#[cfg(unix)]
fn to_memmap(advice: Advice) -> Option<memmap2::Advice> {
    match advice {
        Advice::Normal => Some(memmap2::Advice::Normal),
        Advice::Sequential => Some(memmap2::Advice::Sequential),
        Advice::Random => Some(memmap2::Advice::Random),
        Advice::WillNeed => Some(memmap2::Advice::WillNeed),
        Advice::DontNeed => None,
    }
}

/// A whole `.npy` file mapped read-only, its header not parsed yet: what
/// [`NpyMap::map_file`] returns. Nothing has read the mapped bytes.
#[derive(Debug)]
pub struct MappedFile {
    map: Option<Mmap>,
    file_len: u64,
}

impl MappedFile {
    /// The addresses the map occupies (empty for an empty file): every
    /// byte [`parse`](Self::parse) and the resulting [`NpyMap`] read lies
    /// in this range.
    pub fn address_range(&self) -> std::ops::Range<usize> {
        let bytes = self.map.as_deref().unwrap_or_default();
        let start = bytes.as_ptr() as usize;
        start..start.saturating_add(bytes.len())
    }

    /// The file's length when it was mapped.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Parses the header from the map and checks the file's length
    /// against it: the second half of [`NpyMap::from_file`].
    ///
    /// # Errors
    /// As [`NpyMap::from_file`].
    pub fn parse(self) -> Result<NpyMap> {
        let parsed = Header::parse(self.map.as_deref().unwrap_or_default())?;
        let meta = Meta::checked(parsed, self.file_len)?;
        let start = usize::try_from(meta.data_offset).map_err(|_| ErrorKind::Overflow {
            what: "data offset",
        })?;
        Ok(NpyMap {
            meta,
            map: self.map,
            start,
        })
    }
}

/// A read-only map of a `.npy` or raw file (NumPy's mode `r`).
///
/// Hands out [`NpyView`]s of the payload; there is no way to get mutable
/// access. See the [module docs](self) for the hazard every map carries.
///
/// # Examples
/// ```
/// use npymap::mmap::NpyMap;
/// // SAFETY: the test data is not modified while mapped.
/// let map = unsafe { NpyMap::open("testdata/npy/c_2x3.npy")? };
/// assert_eq!(map.view().as_slice::<f64>()?, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug)]
pub struct NpyMap {
    meta: Meta,
    map: Option<Mmap>,
    /// Where the payload starts in `map` (`.npy`: the whole file is mapped
    /// and the header parsed from it; raw files: only the payload).
    start: usize,
}

impl NpyMap {
    /// Opens and maps the `.npy` file at `path` read-only.
    ///
    /// # Errors
    /// `Io`, any header error, `ObjectDtype`, or `PayloadSize` when the file
    /// is not exactly header plus payload; each names the path.
    ///
    /// # Safety
    /// The file must not be modified or truncated, by this process or any
    /// other, while the map (or any view borrowed from it) lives. Breaking
    /// this can crash the process (`SIGBUS`) or change data behind `&[T]`.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<NpyMap> {
        let path = path.as_ref();
        let run = || -> Result<NpyMap> {
            let file = File::open(path)?;
            // SAFETY: forwarded to our caller (see `# Safety`).
            unsafe { NpyMap::from_file(&file) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Maps the `.npy` file open as `file` read-only: [`NpyMap::open`] for
    /// a file the caller has already opened (and checked), so that the map
    /// is of that very file even if its path is replaced meanwhile. The map
    /// does not need `file` to stay open.
    ///
    /// # Errors
    /// As [`NpyMap::open`], without the path.
    ///
    /// # Safety
    /// As [`NpyMap::open`].
    pub unsafe fn from_file(file: &File) -> Result<NpyMap> {
        // SAFETY: forwarded to our caller (see `# Safety`).
        unsafe { NpyMap::map_file(file) }?.parse()
    }

    /// The first half of [`NpyMap::from_file`]: maps the whole file
    /// read-only without reading a byte of it. [`MappedFile::parse`] is
    /// the second half. For a caller that must know the mapped address
    /// range before any page of it is touched, such as a `SIGBUS` handler
    /// that turns a fault in a file truncated meanwhile into an error (the
    /// CLI's does): the header is parsed from the map, so a truncation
    /// during the parse faults there too.
    ///
    /// # Errors
    /// `Io` (the `fstat` or the `mmap`), `Overflow` for a file larger than
    /// the address space.
    ///
    /// # Safety
    /// As [`NpyMap::open`], for the [`MappedFile`] and the map made from it.
    pub unsafe fn map_file(file: &File) -> Result<MappedFile> {
        // The whole file is mapped and the header parsed from the map:
        // fstat, mmap — the same system calls as mapping a raw file, so
        // opening costs what the floor costs.
        let file_len = file.metadata()?.len();
        let whole =
            usize::try_from(file_len).map_err(|_| ErrorKind::Overflow { what: "file size" })?;
        // SAFETY: forwarded to our caller (see `# Safety`); the range is
        // the file's own length.
        let map = unsafe { map_ro(file, 0, whole)? };
        Ok(MappedFile { map, file_len })
    }

    /// Maps a headerless raw file read-only, as `np.memmap(mode='r')`.
    ///
    /// # Errors
    /// `Io`, `ObjectDtype`, `FileTooSmall` (naming both byte counts),
    /// `RawSize` when the shape is inferred and the size is not a whole
    /// number of elements, `Overflow`.
    ///
    /// # Safety
    /// As [`NpyMap::open`].
    ///
    /// # Examples
    /// ```
    /// use npymap::{Dtype, mmap::{NpyMap, RawOptions}};
    /// let opts = RawOptions::new(Dtype::from_descr("<u2")?).shape([2, 5]).offset(16);
    /// // SAFETY: the test data is not modified while mapped.
    /// let map = unsafe { NpyMap::open_raw("testdata/raw/u2_offset16.bin", &opts)? };
    /// assert_eq!(map.view().elements::<u16>()?.get(9), Some(27));
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub unsafe fn open_raw(path: impl AsRef<Path>, opts: &RawOptions) -> Result<NpyMap> {
        let path = path.as_ref();
        let run = || -> Result<NpyMap> {
            let file = File::open(path)?;
            // SAFETY: forwarded to our caller (see `# Safety`).
            unsafe { NpyMap::from_raw_file(&file, opts) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Maps the headerless raw file open as `file` read-only:
    /// [`NpyMap::open_raw`] for a file the caller has already opened (and
    /// checked), so that the map is of that very file even if its path is
    /// replaced meanwhile, and the path is not opened a second time (the
    /// CLI maps a stored `.npz` member's payload so, through the archive's
    /// one descriptor). Only the range `offset .. offset + payload` is
    /// mapped, and no byte of it is read here. The map does not need
    /// `file` to stay open.
    ///
    /// # Errors
    /// As [`NpyMap::open_raw`], without the path.
    ///
    /// # Safety
    /// As [`NpyMap::open`]: the file must not be modified or truncated, by
    /// this process or any other, while the map (or any view borrowed from
    /// it) lives.
    pub unsafe fn from_raw_file(file: &File, opts: &RawOptions) -> Result<NpyMap> {
        let file_len = file.metadata()?.len();
        let (header, needed) = opts.resolve(file_len)?;
        if needed > file_len {
            return Err(ErrorKind::FileTooSmall {
                needed,
                available: file_len,
            }
            .into());
        }
        let meta = Meta::new(header, None, opts.offset)?;
        // SAFETY: forwarded to our caller (see `# Safety`); the range
        // `data_offset .. data_offset + payload_len` ends at `needed`,
        // checked above to fit in the file.
        let map = unsafe { map_ro(file, meta.data_offset, meta.payload_len)? };
        Ok(NpyMap {
            meta,
            map,
            start: 0,
        })
    }

    /// The payload bytes (the part of the map after the header).
    fn payload(&self) -> &[u8] {
        self.map
            .as_deref()
            .and_then(|m| m.get(self.start..))
            .unwrap_or_default()
    }

    /// The view of the payload.
    pub fn view(&self) -> NpyView<'_> {
        self.meta.view(self.payload())
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.meta.header
    }

    /// The format version (`None` for raw files).
    pub fn version(&self) -> Option<Version> {
        self.meta.version
    }

    /// Byte offset of the payload in the file.
    pub fn data_offset(&self) -> u64 {
        self.meta.data_offset
    }

    /// The payload as a plain slice; see [`NpyView::as_slice`].
    ///
    /// # Errors
    /// As [`NpyView::as_slice`].
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.view().as_slice()
    }

    /// The portable element view; see [`NpyView::elements`].
    ///
    /// # Errors
    /// As [`NpyView::elements`].
    pub fn elements<T: Element>(&self) -> Result<Elements<'_, T>> {
        self.view().elements()
    }

    /// A strided view of one field; see [`NpyView::field_path`].
    ///
    /// # Errors
    /// As [`NpyView::field_path`].
    pub fn field_path(&self, path: &[&str]) -> Result<FieldView<'_>> {
        self.view().field_path(path)
    }

    /// Row chunks along the outer axis; see [`NpyView::chunks`].
    pub fn chunks(&self, rows: usize) -> Chunks<'_> {
        self.view().chunks(rows)
    }

    /// The payload as a zero-copy `ndarray` view with the header's shape
    /// and order (feature `ndarray`); see [`NpyView::as_array`].
    ///
    /// # Errors
    /// As [`NpyView::as_array`].
    ///
    /// # Examples
    /// ```
    /// use npymap::mmap::NpyMap;
    /// // SAFETY: the test data is not modified while mapped.
    /// let map = unsafe { NpyMap::open("testdata/npy/c_2x3.npy")? };
    /// assert_eq!(map.as_array::<f64>()?[[1, 2]], 5.0);
    /// let e = map.as_array_dim::<f64, ndarray::Ix3>().unwrap_err();
    /// assert!(e.to_string().contains("expected 3 dimensions, found 2 (shape (2, 3))"));
    /// # Ok::<(), npymap::Error>(())
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn as_array<T: Element>(&self) -> Result<ndarray::ArrayViewD<'_, T>> {
        self.view().as_array()
    }

    /// As [`as_array`](Self::as_array) with a fixed dimensionality `D`; see
    /// [`NpyView::as_array_dim`].
    ///
    /// # Errors
    /// As [`NpyView::as_array_dim`].
    #[cfg(feature = "ndarray")]
    pub fn as_array_dim<T: Element, D: ndarray::Dimension>(
        &self,
    ) -> Result<ndarray::ArrayView<'_, T, D>> {
        self.view().as_array_dim()
    }

    /// Gives the kernel an access-pattern hint for the whole payload.
    ///
    /// # Errors
    /// `Io` from `madvise`.
    pub fn advise(&self, advice: Advice) -> Result<()> {
        self.advise_range(advice, 0, self.meta.payload_len)
    }

    /// Gives the kernel an access-pattern hint for `len` payload bytes at `offset`.
    ///
    /// # Errors
    /// `IndexOutOfBounds` for a range past the payload, `Io` from `madvise`.
    pub fn advise_range(&self, advice: Advice, offset: usize, len: usize) -> Result<()> {
        self.meta.check_range(offset, len)?;
        let Some(map) = &self.map else { return Ok(()) };
        // Checked above: start + offset + len is within the payload, so the map.
        let offset = self.start + offset;
        #[cfg(unix)]
        match to_memmap(advice) {
            Some(a) => map.advise_range(a, offset, len)?,
            // SAFETY: a read-only shared file mapping: dropped pages are read
            // back from the file unchanged, so live `&[T]` see the same bytes.
            None => unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)?;
            },
        }
        #[cfg(not(unix))]
        let _ = (map, advice);
        Ok(())
    }
}

/// A writable map of a `.npy` or raw file: NumPy's `r+`, `c` or `w+`.
///
/// # Examples
/// ```
/// use npymap::{Dtype, Header, mmap::NpyMapMut};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("new.npy");
/// let header = Header { dtype: Dtype::from_descr("<f4")?, fortran_order: false, shape: vec![2, 2] };
/// // SAFETY: the file is private to this example.
/// let mut map = unsafe { NpyMapMut::create(&path, &header)? };
/// map.elements_mut::<f32>()?.copy_from_slice(&[1.0, 2.0, 3.0, 4.0])?;
/// map.flush()?;
/// drop(map);
/// assert_eq!(std::fs::read(&path)?.len(), 128 + 16);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NpyMapMut {
    meta: Meta,
    map: Option<MmapMut>,
    mode: Mode,
}

impl NpyMapMut {
    /// Opens and maps the `.npy` file at `path` writable: `r+` with
    /// [`Mode::ReadWrite`], `c` with [`Mode::CopyOnWrite`].
    ///
    /// # Errors
    /// As [`NpyMap::open`].
    ///
    /// # Safety
    /// As [`NpyMap::open`]; in addition, for [`Mode::ReadWrite`], no other
    /// map or handle may write the same bytes while `&mut` views of them
    /// live (two processes may share a file through [`flush`](Self::flush)
    /// as long as their writes do not race, as with NumPy).
    pub unsafe fn open(path: impl AsRef<Path>, mode: Mode) -> Result<NpyMapMut> {
        let path = path.as_ref();
        let run = || -> Result<NpyMapMut> {
            let file = open_for(path, mode)?;
            let meta = Meta::read_npy(&file)?;
            // SAFETY: forwarded to our caller; the range was checked.
            unsafe { NpyMapMut::map(&file, meta, mode) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Creates (or truncates) the `.npy` file at `path` for `header`, like
    /// `np.lib.format.open_memmap(path, 'w+', ...)`: the header is written
    /// byte-identical to NumPy's, the file is sized (zero-filled) and the
    /// payload mapped [`Mode::ReadWrite`].
    ///
    /// # Errors
    /// `ObjectDtype`, `Overflow`, `VersionTooSmall` or `Io`.
    ///
    /// # Safety
    /// As [`NpyMapMut::open`].
    pub unsafe fn create(path: impl AsRef<Path>, header: &Header) -> Result<NpyMapMut> {
        let path = path.as_ref();
        let run = || -> Result<NpyMapMut> {
            let bytes = header.to_bytes(None)?;
            let meta = Meta::new(header.clone(), version_of(&bytes), bytes.len() as u64)?;
            let mut file = create_truncated(path)?;
            file.write_all(&bytes)?;
            file.set_len(meta.data_offset + meta.payload_len as u64)?;
            // SAFETY: forwarded to our caller; the file was just sized.
            unsafe { NpyMapMut::map(&file, meta, Mode::ReadWrite) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Maps a headerless raw file writable, as `np.memmap(mode='r+' / 'c')`.
    /// A file too small for offset + dtype × shape is an error, unless
    /// [`RawOptions::grow`] was set and `mode` is [`Mode::ReadWrite`].
    ///
    /// # Errors
    /// As [`NpyMap::open_raw`].
    ///
    /// # Safety
    /// As [`NpyMapMut::open`].
    pub unsafe fn open_raw(
        path: impl AsRef<Path>,
        opts: &RawOptions,
        mode: Mode,
    ) -> Result<NpyMapMut> {
        let path = path.as_ref();
        let run = || -> Result<NpyMapMut> {
            let file = open_for(path, mode)?;
            let file_len = file.metadata()?.len();
            let (header, needed) = opts.resolve(file_len)?;
            if needed > file_len {
                if opts.grow && mode == Mode::ReadWrite {
                    file.set_len(needed)?;
                } else {
                    return Err(ErrorKind::FileTooSmall {
                        needed,
                        available: file_len,
                    }
                    .into());
                }
            }
            let meta = Meta::new(header, None, opts.offset)?;
            // SAFETY: forwarded to our caller; the range fits in the file.
            unsafe { NpyMapMut::map(&file, meta, mode) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Creates (or truncates) a raw file sized for `opts` (shape required),
    /// as `np.memmap(mode='w+')`: zero-filled, mapped [`Mode::ReadWrite`].
    ///
    /// # Errors
    /// `Unsupported` without a shape, else as [`NpyMap::open_raw`].
    ///
    /// # Safety
    /// As [`NpyMapMut::open`].
    pub unsafe fn create_raw(path: impl AsRef<Path>, opts: &RawOptions) -> Result<NpyMapMut> {
        let path = path.as_ref();
        let run = || -> Result<NpyMapMut> {
            if opts.shape.is_none() {
                return Err(
                    ErrorKind::Unsupported("creating a raw file needs a shape".into()).into(),
                );
            }
            let (header, needed) = opts.resolve(0)?;
            let meta = Meta::new(header, None, opts.offset)?;
            let file = create_truncated(path)?;
            file.set_len(needed)?;
            // SAFETY: forwarded to our caller; the file was just sized.
            unsafe { NpyMapMut::map(&file, meta, Mode::ReadWrite) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Maps `meta`'s payload range of `file` in `mode`.
    ///
    /// # Safety
    /// As [`NpyMapMut::open`]; the range must lie inside the file.
    unsafe fn map(file: &File, meta: Meta, mode: Mode) -> Result<NpyMapMut> {
        // SAFETY: forwarded to our caller.
        let map = unsafe { map_rw(file, meta.data_offset, meta.payload_len, mode)? };
        Ok(NpyMapMut { meta, map, mode })
    }

    /// The mode the map was opened in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.meta.header
    }

    /// The format version (`None` for raw files).
    pub fn version(&self) -> Option<Version> {
        self.meta.version
    }

    /// Byte offset of the payload in the file.
    pub fn data_offset(&self) -> u64 {
        self.meta.data_offset
    }

    /// A read-only view of the payload.
    pub fn view(&self) -> NpyView<'_> {
        self.meta.view(self.map.as_deref().unwrap_or_default())
    }

    /// A mutable view of the payload.
    pub fn view_mut(&mut self) -> NpyViewMut<'_> {
        let payload: &mut [u8] = match self.map.as_deref_mut() {
            Some(p) => p,
            None => &mut [],
        };
        self.meta.view_mut(payload)
    }

    /// The payload as a plain slice; see [`NpyView::as_slice`].
    ///
    /// # Errors
    /// As [`NpyView::as_slice`].
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.view().as_slice()
    }

    /// The payload as a plain mutable slice; see [`NpyViewMut::as_slice_mut`].
    ///
    /// # Errors
    /// As [`NpyView::as_slice`].
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        self.view_mut().into_slice_mut()
    }

    /// The portable element view.
    ///
    /// # Errors
    /// As [`NpyView::elements`].
    pub fn elements<T: Element>(&self) -> Result<Elements<'_, T>> {
        self.view().elements()
    }

    /// The portable element view, writable.
    ///
    /// # Errors
    /// As [`NpyView::elements`].
    pub fn elements_mut<T: Element>(&mut self) -> Result<ElementsMut<'_, T>> {
        self.view_mut().into_elements_mut()
    }

    /// A mutable strided view of a nested field; see [`NpyView::field_path`].
    ///
    /// # Errors
    /// `FieldNotFound`.
    pub fn field_path_mut(&mut self, path: &[&str]) -> Result<FieldViewMut<'_>> {
        self.view_mut().into_field_path_mut(path)
    }

    /// Writes changes to the file and waits (`msync`); a no-op for
    /// copy-on-write maps, whose changes never reach the file.
    ///
    /// # Errors
    /// `Io`.
    pub fn flush(&self) -> Result<()> {
        match (&self.map, self.mode) {
            (Some(map), Mode::ReadWrite) => Ok(map.flush()?),
            _ => Ok(()),
        }
    }

    /// Starts writing changes to the file without waiting.
    ///
    /// # Errors
    /// `Io`.
    pub fn flush_async(&self) -> Result<()> {
        match (&self.map, self.mode) {
            (Some(map), Mode::ReadWrite) => Ok(map.flush_async()?),
            _ => Ok(()),
        }
    }

    /// Writes `len` payload bytes at `offset` to the file and waits.
    ///
    /// # Errors
    /// `IndexOutOfBounds` for a range past the payload, `Io`.
    pub fn flush_range(&self, offset: usize, len: usize) -> Result<()> {
        self.meta.check_range(offset, len)?;
        match (&self.map, self.mode) {
            (Some(map), Mode::ReadWrite) if len > 0 => Ok(map.flush_range(offset, len)?),
            _ => Ok(()),
        }
    }

    /// Gives the kernel an access-pattern hint for the whole payload.
    ///
    /// # Errors
    /// `Unsupported` for [`Advice::DontNeed`] on a copy-on-write map; `Io`.
    pub fn advise(&self, advice: Advice) -> Result<()> {
        self.advise_range(advice, 0, self.meta.payload_len)
    }

    /// Gives the kernel an access-pattern hint for a payload range.
    ///
    /// # Errors
    /// As [`advise`](Self::advise), or `IndexOutOfBounds`.
    pub fn advise_range(&self, advice: Advice, offset: usize, len: usize) -> Result<()> {
        self.meta.check_range(offset, len)?;
        if advice == Advice::DontNeed && self.mode == Mode::CopyOnWrite {
            return Err(ErrorKind::Unsupported(
                "dont-need advice on a copy-on-write map would discard its changes".into(),
            )
            .into());
        }
        let Some(map) = &self.map else { return Ok(()) };
        #[cfg(unix)]
        match to_memmap(advice) {
            Some(a) => map.advise_range(a, offset, len)?,
            // SAFETY: a shared file mapping (copy-on-write was refused
            // above): dirty pages live in the page cache, so dropping them
            // from this mapping loses nothing and the bytes read back are
            // the same. `&self` means no `&mut` view is alive.
            None => unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)?;
            },
        }
        #[cfg(not(unix))]
        let _ = (map, advice);
        Ok(())
    }
}

/// The version named by the preamble NumPy's writer produced.
fn version_of(bytes: &[u8]) -> Option<Version> {
    Header::parse(bytes).ok().map(|p| p.version)
}

/// Opens a file for a writable map in `mode` (`c` needs only read access).
/// Creates `path`, or truncates it, for reading and writing (NumPy's `w+`).
fn create_truncated(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

fn open_for(path: &Path, mode: Mode) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(mode == Mode::ReadWrite)
        .open(path)
}

// ---------------------------------------------------------------------------
// npz archives
// ---------------------------------------------------------------------------

/// A read-only map of a whole `.npz` archive: the member list is read (and
/// every member's `.npy` header checked) from the map when it is opened, by
/// the same code as [`NpzArchive`](crate::npz::NpzArchive); stored members
/// are then handed out as zero-copy [`NpyView`]s of the map, and any member
/// (stored or deflated) can be read into an owned array with its CRC-32
/// checked.
///
/// NumPy's `np.savez` does not align members, so the slice view
/// ([`NpzMap::as_slice`]) of its members usually fails with `Misaligned`
/// (the error gives the payload's offset in the archive); the portable
/// element view ([`NpzMap::elements`]) reads them at any alignment.
/// Archives written by [`NpzWriter`](crate::npz::NpzWriter) have 64-byte
/// aligned payloads, which `as_slice` accepts. Nothing in NumPy maps an
/// `.npz` (`np.load(..., mmap_mode='r')` ignores the mode for archives).
///
/// The map is a map like [`NpyMap`]'s and carries the same hazard (see the
/// [module docs](self)); the checksum of a member is not verified by a
/// view (that would read every byte).
///
/// # Examples
/// ```
/// use npymap::mmap::NpzMap;
/// // SAFETY: the test data is not modified while mapped.
/// let npz = unsafe { NpzMap::open("testdata/npz/named.npz")? };
/// let alpha = npz.view("alpha")?; // no copy: a view of the map
/// assert_eq!(alpha.shape(), [2, 3]);
/// assert_eq!(npz.elements::<f64>("alpha")?.get(4), Some(4.0));
/// let owned = npz.read_array::<f64>("alpha")?; // a checked copy
/// assert_eq!(owned.as_slice(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug)]
pub struct NpzMap {
    map: Option<Mmap>,
    members: crate::npz::Members,
    opts: crate::npz::NpzOptions,
}

impl NpzMap {
    /// Opens and maps the `.npz` archive at `path` read-only, and lists
    /// its members.
    ///
    /// # Errors
    /// As [`NpzReader::new`](crate::npz::NpzReader::new), plus `Io`; each
    /// names the path.
    ///
    /// # Safety
    /// The file must not be modified or truncated, by this process or any
    /// other, while the map (or any view borrowed from it) lives. Breaking
    /// this can crash the process (`SIGBUS`) or change data behind `&[T]`.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<NpzMap> {
        // SAFETY: forwarded to our caller (see `# Safety`).
        unsafe { NpzMap::open_with(path, crate::npz::NpzOptions::default()) }
    }

    /// [`NpzMap::open`] with explicit limits (they bound the member headers
    /// and [`NpzMap::read_array`]).
    ///
    /// # Errors
    /// As [`NpzMap::open`].
    ///
    /// # Safety
    /// As [`NpzMap::open`].
    pub unsafe fn open_with(
        path: impl AsRef<Path>,
        opts: crate::npz::NpzOptions,
    ) -> Result<NpzMap> {
        let path = path.as_ref();
        let run = || -> Result<NpzMap> {
            let file = File::open(path)?;
            // SAFETY: forwarded to our caller (see `# Safety`).
            unsafe { NpzMap::from_file_with(&file, opts) }
        };
        run().map_err(|e| e.in_path(path))
    }

    /// Maps the archive open as `file` read-only, with the default limits;
    /// see [`NpzMap::from_file_with`].
    ///
    /// # Errors
    /// As [`NpzMap::open`], without the path.
    ///
    /// # Safety
    /// As [`NpzMap::open`].
    pub unsafe fn from_file(file: &File) -> Result<NpzMap> {
        // SAFETY: forwarded to our caller (see `# Safety`).
        unsafe { NpzMap::from_file_with(file, crate::npz::NpzOptions::default()) }
    }

    /// Maps the archive open as `file` read-only: [`NpzMap::open`] for a
    /// file the caller has already opened. The map does not need `file`
    /// to stay open.
    ///
    /// # Errors
    /// As [`NpzMap::open`], without the path.
    ///
    /// # Safety
    /// As [`NpzMap::open`].
    pub unsafe fn from_file_with(file: &File, opts: crate::npz::NpzOptions) -> Result<NpzMap> {
        let file_len = file.metadata()?.len();
        let whole =
            usize::try_from(file_len).map_err(|_| ErrorKind::Overflow { what: "file size" })?;
        // SAFETY: forwarded to our caller (see `# Safety`); the range is
        // the file's own length.
        let map = unsafe { map_ro(file, 0, whole)? };
        let archive =
            crate::npz::NpzArchive::from_bytes_with(map.as_deref().unwrap_or_default(), opts)?;
        let members = archive.into_members();
        Ok(NpzMap { map, members, opts })
    }

    /// The whole archive's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    /// The members in archive order.
    pub fn members(&self) -> &[crate::npz::Member] {
        self.members.as_slice()
    }

    /// The member with key `name` (`"x"`) or file name `name` (`"x.npy"`).
    ///
    /// # Errors
    /// `MemberNotFound`.
    pub fn member(&self, name: &str) -> Result<&crate::npz::Member> {
        self.members.find(name)
    }

    /// A stored member's whole `.npy` bytes, borrowed from the map.
    ///
    /// # Errors
    /// `MemberNotFound`, or `NotStored` for a deflated member.
    pub fn member_bytes(&self, name: &str) -> Result<&[u8]> {
        let range = self.member(name)?.require_stored()?;
        crate::npz::slice_of(self.bytes(), range)
    }

    /// A zero-copy view of a stored member. Offsets in its errors (a
    /// `Misaligned` slice view, a bad value) are offsets in the archive.
    ///
    /// # Errors
    /// `MemberNotFound`; `NotStored` for a deflated member (a deflated
    /// member has no bytes to view: read it with [`NpzMap::read_array`]).
    pub fn view(&self, name: &str) -> Result<NpyView<'_>> {
        let m = self.member(name)?;
        crate::npz::view_member(
            self.bytes(),
            m,
            std::borrow::Cow::Borrowed(&m.header().header),
        )
    }

    /// A stored member's payload as a plain slice; see
    /// [`NpyView::as_slice`].
    ///
    /// # Errors
    /// As [`NpzMap::view`] and [`NpyView::as_slice`] (`Misaligned` with
    /// the payload's offset in the archive for NumPy's unaligned members).
    pub fn as_slice<T: Element>(&self, name: &str) -> Result<&[T]> {
        let m = self.member(name)?;
        self.view(name)?
            .as_slice()
            .map_err(|e| e.in_member(m.file_name()))
    }

    /// The portable element view of a stored member (any alignment, any
    /// byte order); see [`NpyView::elements`].
    ///
    /// # Errors
    /// As [`NpzMap::view`] and [`NpyView::elements`].
    pub fn elements<T: Element>(&self, name: &str) -> Result<Elements<'_, T>> {
        let m = self.member(name)?;
        self.view(name)?
            .elements()
            .map_err(|e| e.in_member(m.file_name()))
    }

    /// Every member into memory, as [`npz::read_all`](crate::npz::read_all)
    /// reads them (CRC-32 checked, limits of [`crate::npz::NpzOptions`]).
    ///
    /// # Errors
    /// As [`NpzReader::read_all`](crate::npz::NpzReader::read_all).
    pub fn read_all(&self) -> Result<std::collections::BTreeMap<String, crate::npz::AnyArray>> {
        crate::npz::NpzArchive::from_members(self.bytes(), self.members.clone(), self.opts)
            .read_all()
    }

    /// Reads a member (stored or deflated) into an owned array, with every
    /// check of [`NpzReader::read_array`](crate::npz::NpzReader::read_array)
    /// (CRC-32 included).
    ///
    /// # Errors
    /// As [`NpzReader::read_array`](crate::npz::NpzReader::read_array).
    pub fn read_array<T: crate::ReadElement>(&self, name: &str) -> Result<crate::Array<T>> {
        let m = self.member(name)?;
        let mut cursor = std::io::Cursor::new(self.bytes());
        crate::npz::read_member_array(&mut cursor, m, &self.opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address range of the mapping (`/proc/self/smaps` entry) that
    /// holds `addr`, and its `AnonHugePages` in KiB.
    #[cfg(target_os = "linux")]
    fn huge_kib_around(addr: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = first.split_once('-')
                && let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = (lo..hi).contains(&addr);
                continue;
            }
            if inside && let Some(kib) = line.strip_prefix("AnonHugePages:") {
                return kib.trim().trim_end_matches("kB").trim().parse().ok();
            }
        }
        None
    }

    /// A large fresh buffer advised for huge pages keeps its bytes, and
    /// where the kernel offers transparent huge pages on request (`always`
    /// or `madvise`, as on the test machines) filling it brings them in.
    /// Short buffers are left alone.
    #[test]
    fn large_fresh_buffers_are_backed_by_huge_pages() {
        // Above glibc's largest mmap threshold (32 MiB): fresh pages from
        // the kernel whatever this process allocated and freed before.
        let len = 64 << 20;
        let mut buf = vec![0u8; len];
        advise_huge_pages(&mut buf);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i % 253) as u8;
        }
        assert!(buf.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8));
        let mut short = vec![7u8; HUGE_PAGES_MIN - 1];
        advise_huge_pages(&mut short);
        assert!(short.iter().all(|&b| b == 7));
        #[cfg(target_os = "linux")]
        {
            let sys = |f: &str| {
                std::fs::read_to_string(format!("/sys/kernel/mm/transparent_hugepage/{f}"))
                    .unwrap_or_default()
            };
            let thp = sys("enabled");
            // 2 MiB pages on request (kernels with per-size controls may
            // turn that size off), allocated at fault time (not deferred).
            let size_on = !sys("hugepages-2048kB/enabled").contains("[never]");
            let defrag = sys("defrag");
            let at_fault = ["[always]", "[madvise]", "[defer+madvise]"]
                .iter()
                .any(|m| defrag.contains(m));
            if (thp.contains("[always]") || thp.contains("[madvise]")) && size_on && at_fault {
                let kib = huge_kib_around(buf.as_ptr() as usize + len / 2)
                    .expect("the buffer's mapping in /proc/self/smaps");
                assert!(kib >= 2048, "{kib} KiB of huge pages under THP {thp}");
            }
        }
    }
}
