//! Path-level conversions: write outputs atomically (a temp file beside the
//! output, renamed on success), read inputs through [`Payload`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;

use super::sink::{FileSink, Sink};
use super::{ConvertOptions, Plan};
use crate::atomic::{Durability, write_atomic_with};
use crate::dtype::{ByteOrder, Dtype};
use crate::error::{Error, ErrorKind, Result};
use crate::header::{self, Header, Version};

/// An array's header and payload bytes, wherever they live: a memory map
/// (`NpyMap`), a view over a buffer (`NpyView`), or a test's `Vec`.
pub trait Payload {
    /// What the header says.
    fn header(&self) -> &Header;
    /// The payload bytes, exactly `header().payload_len()` long.
    fn payload(&self) -> &[u8];
    /// The format version of the source, if it has one.
    fn version(&self) -> Option<Version> {
        None
    }
    /// The file the source was read from, if any, for error messages.
    fn path(&self) -> Option<&Path> {
        None
    }
    /// Copies `buf.len()` payload bytes at `offset` into `buf`. Random-access
    /// work (transposes) reads its windows this way; a file-backed source can
    /// use `pread` so no mapped pages pile up. Default: copy from `payload()`.
    ///
    /// # Errors
    /// `Truncated` when the range is past the payload; `Io` for file reads.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let payload = self.payload();
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| payload.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| {
                Error::new(ErrorKind::Truncated {
                    what: "payload",
                    needed: offset.saturating_add(buf.len() as u64),
                    available: payload.len() as u64,
                })
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    /// A hint that `range` of the payload will not be read again (a map
    /// drops those pages, keeping resident memory bounded). Default: nothing.
    fn release(&self, range: Range<usize>) {
        let _ = range;
    }
    /// Whether random-access work may read [`payload`](Self::payload)
    /// directly (memory, or a map whose resident pages the caller accepts)
    /// instead of copying windows out with [`read_at`](Self::read_at). A
    /// transpose then reads its tiles straight from the payload and writes
    /// the output in bands of whole output rows, one large write each
    /// (spec/write-path.md). Default `false`: only `read_at` is used.
    fn read_in_place(&self) -> bool {
        false
    }
}

impl Payload for crate::mmap::NpyMap {
    fn header(&self) -> &Header {
        crate::mmap::NpyMap::header(self)
    }
    fn payload(&self) -> &[u8] {
        self.view().payload()
    }
    fn version(&self) -> Option<Version> {
        crate::mmap::NpyMap::version(self)
    }
    fn release(&self, range: Range<usize>) {
        // Best effort: a failed hint only costs memory, never correctness.
        let _ = self.advise_range(crate::mmap::Advice::DontNeed, range.start, range.len());
    }
    fn read_in_place(&self) -> bool {
        true
    }
}

impl Payload for crate::view::NpyView<'_> {
    fn header(&self) -> &Header {
        crate::view::NpyView::header(self)
    }
    fn payload(&self) -> &[u8] {
        crate::view::NpyView::payload(self)
    }
    fn read_in_place(&self) -> bool {
        true
    }
}

/// A header and payload held in memory.
#[derive(Debug, Clone)]
pub struct InMemory {
    /// The header.
    pub header: Header,
    /// The payload bytes.
    pub bytes: Vec<u8>,
    /// The format version the array was read in, if any.
    pub version: Option<Version>,
}

impl Payload for InMemory {
    fn header(&self) -> &Header {
        &self.header
    }
    fn payload(&self) -> &[u8] {
        &self.bytes
    }
    fn version(&self) -> Option<Version> {
        self.version
    }
    fn read_in_place(&self) -> bool {
        true
    }
}

/// Converts `input` into a new `.npy` at `out` as `opts` asks, atomically,
/// synced as `durability` says (an existing `out` must be a writable
/// regular file; a symlink is followed; mode and owner are kept).
/// Memory stays bounded: the payload is streamed (or transposed through
/// bounded windows) and released from `input` as it is consumed.
///
/// # Errors
/// `ObjectDtype`, `UnsupportedCast`, `VersionTooSmall`, `PayloadSize`, `Io`.
pub fn convert_to_file(
    input: &impl Payload,
    out: &Path,
    opts: &ConvertOptions,
    durability: Durability,
) -> Result<Header> {
    let version = input.version().unwrap_or(Version::V1_0);
    let plan = Plan::new(input.header(), version, opts)?;
    write_atomic_with(out, durability, |file| {
        let len = plan.header_bytes.len() as u64 + plan.header.payload_len()?;
        file.write_all(&plan.header_bytes)?;
        crate::atomic::set_len_reserved(file, len)?;
        let mut sink = FileSink::new(file);
        plan.write_payload(input, &mut sink, plan.header_bytes.len() as u64)
    })?;
    Ok(plan.header)
}

/// How `from-raw` reads a headerless file (as `np.memmap` / `tofile` lay it out).
#[derive(Debug, Clone)]
pub struct RawSpec {
    /// Element type.
    pub dtype: Dtype,
    /// Shape; `None` for 1-D with the length inferred from the size.
    pub shape: Option<Vec<u64>>,
    /// Whether the data is in Fortran order.
    pub fortran_order: bool,
    /// Bytes to skip at the start of the file.
    pub offset: u64,
}

/// Wraps the raw bytes of `raw` (from `spec.offset` on) into a new `.npy`
/// at `out`, with the header `np.save` would write for that array, written
/// atomically and synced as `durability` says.
///
/// # Errors
/// `PayloadSize` when the bytes after the offset are not exactly what dtype
/// and shape need (or, without a shape, not a multiple of the itemsize);
/// `ObjectDtype`; `Io`.
pub fn from_raw(raw: &Path, out: &Path, spec: &RawSpec, durability: Durability) -> Result<Header> {
    let run = || -> Result<Header> {
        if spec.dtype.has_object() {
            return Err(ErrorKind::ObjectDtype.into());
        }
        let file = crate::npy::open_input(raw)?;
        let len = file.metadata()?.len();
        let available = len.checked_sub(spec.offset).ok_or_else(|| {
            Error::new(ErrorKind::Truncated {
                what: "raw data (offset is past the end of the file)",
                needed: spec.offset,
                available: len,
            })
        })?;
        let itemsize = spec.dtype.itemsize() as u64;
        let shape = match &spec.shape {
            Some(s) => s.clone(),
            None if itemsize > 0 && available % itemsize == 0 => vec![available / itemsize],
            None => {
                return Err(ErrorKind::RawSize {
                    available,
                    itemsize: spec.dtype.itemsize(),
                }
                .into());
            }
        };
        let mut header = Header {
            dtype: spec.dtype.clone(),
            fortran_order: spec.fortran_order,
            shape,
        }
        .fold_subarray()?;
        if header.is_both_orders() {
            header.fortran_order = false;
        }
        let expected = header::payload_len(&header.shape, header.dtype.itemsize())?;
        if expected != available {
            return Err(ErrorKind::RawLength {
                expected,
                actual: available,
                offset: spec.offset,
            }
            .into());
        }
        let head = header.to_bytes(None)?;
        write_atomic_with(out, durability, |dst| {
            dst.write_all(&head)?;
            copy_input(&file, raw, spec.offset, expected, dst)
        })?;
        Ok(header)
    };
    // Errors about OUT already name it; the rest are about RAW.
    run().map_err(|e| e.in_path(raw))
}

/// Writes the payload of the `.npy` at `input` unchanged to `out` (the
/// file's own byte order and memory order), atomically and synced as
/// `durability` says, and returns its header.
///
/// # Errors
/// Header errors, `PayloadSize`, `ObjectDtype`, `Io`.
pub fn to_raw(input: &Path, out: &Path, durability: Durability) -> Result<Header> {
    to_raw_with(input, out, durability, |_| Ok(()))
}

/// [`to_raw`], calling `before_commit` with the header once the payload is
/// written and before `out` is renamed into place: an error from it (say,
/// failing to print the flags that read `out` back) leaves `out` untouched.
///
/// # Errors
/// As [`to_raw`], or what `before_commit` returns.
pub fn to_raw_with(
    input: &Path,
    out: &Path,
    durability: Durability,
    before_commit: impl FnOnce(&Header) -> Result<()>,
) -> Result<Header> {
    let file = crate::npy::open_input(input)?;
    let parsed = crate::npy::inspect_open(&file, &header::ParseOptions::default())
        .map_err(|e| e.in_path(input))?;
    if parsed.header.dtype.has_object() {
        return Err(Error::new(ErrorKind::ObjectDtype).in_path(input));
    }
    let len = parsed.header.payload_len().map_err(|e| e.in_path(input))?;
    write_atomic_with(out, durability, |dst| {
        copy_input(&file, input, parsed.data_offset, len, dst)?;
        before_commit(&parsed.header)
    })?;
    Ok(parsed.header)
}

/// Copies `len` bytes of the input `file` (at `path`) from `offset` to
/// `dst`, through a fixed 64 KiB buffer. Read errors name the input, and
/// so does a file that ends early (it was long enough when checked):
/// `changed while it was being read (it shrank)`.
fn copy_input(file: &File, path: &Path, offset: u64, len: u64, dst: &mut File) -> Result<()> {
    let mut src = file;
    src.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::from(e).in_path(path))?;
    let mut buf = [0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = match src.read(chunk) {
            Ok(0) => return Err(shrank(path)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e).in_path(path)),
        };
        dst.write_all(chunk.get(..n).unwrap_or_default())?;
        left -= n as u64;
    }
    Ok(())
}

/// The error for an input that got shorter while it was being read.
pub(crate) fn shrank(path: &Path) -> Error {
    Error::from(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "changed while it was being read (it shrank)",
    ))
    .in_path(path)
}

fn shape_text(shape: &[u64], free: Option<usize>) -> String {
    let dims: Vec<String> = shape
        .iter()
        .enumerate()
        .map(|(n, d)| {
            if Some(n) == free {
                "*".to_string()
            } else {
                d.to_string()
            }
        })
        .collect();
    crate::header::shape_text(&dims)
}

/// Appends each source to the `.npy` at `dst` along its growth axis (axis 0
/// for C order, the last axis for Fortran order), converting each source to
/// `dst`'s byte order and memory order as it streams. `dst`'s dtype never
/// changes. `dst` is locked (`flock`) from before its header is read until
/// the append is done, so concurrent appenders wait for each other and
/// never interleave. In place when the header has room (data first, header
/// last, each synced unless `durability` is [`Durability::Atomic`], so an
/// interruption leaves a valid file with the old shape), else an atomic
/// rewrite. Returns the new header.
///
/// # Errors
/// `DtypeMismatch` (dtypes must agree up to byte order), `ShapeMismatch`
/// (all other dims must agree), `Unsupported` for a 0-d `dst`,
/// `ObjectDtype`, `PayloadSize` for a damaged `dst`, `DimTooLarge` when the
/// growth axis would pass 2**63-1, `Io`.
pub fn append_to_file(
    dst: &Path,
    sources: &[&dyn Payload],
    durability: Durability,
) -> Result<Header> {
    let target = crate::npy::open_append(dst)?;
    let h = target.header().clone();
    let fail = |e: Error| e.in_path(dst);
    let axis = crate::npy::growth_axis(&h).map_err(fail)?;
    let mut rows: u64 = 0;
    let mut plans = Vec::with_capacity(sources.len());
    for src in sources {
        // A source that does not fit is named, not `dst`.
        let in_src = |e: Error| match src.path() {
            Some(p) => e.in_path(p),
            None => e,
        };
        let sh = src.header();
        if sh.dtype.with_byte_order(ByteOrder::Little) != h.dtype.with_byte_order(ByteOrder::Little)
        {
            return Err(in_src(
                ErrorKind::DtypeMismatch {
                    expected: h.dtype.to_string(),
                    found: sh.dtype.to_string(),
                }
                .into(),
            ));
        }
        let fits = sh.shape.len() == h.shape.len()
            && sh
                .shape
                .iter()
                .zip(&h.shape)
                .enumerate()
                .all(|(n, (a, b))| n == axis || a == b);
        if !fits {
            return Err(in_src(
                ErrorKind::ShapeMismatch {
                    expected: shape_text(&h.shape, Some(axis)),
                    found: shape_text(&sh.shape, None),
                }
                .into(),
            ));
        }
        rows = rows
            .checked_add(sh.shape.get(axis).copied().unwrap_or(0))
            .ok_or(ErrorKind::Overflow { what: "shape" })?;
        let plan = Plan::new(
            sh,
            Version::V1_0,
            &ConvertOptions {
                fortran_order: Some(h.fortran_order),
                dtype: Some(h.dtype.clone()),
                ..Default::default()
            },
        )?;
        plans.push((plan, *src));
    }
    target.append(rows, durability, &mut |file, at| {
        let mut sink = FileSink::new(file);
        let mut offset = at;
        for (plan, src) in &plans {
            plan.write_payload(*src, &mut sink, offset)?;
            offset += plan.header.payload_len()?;
        }
        sink.flush()
    })
}
