//! Writing archives that `np.load` reads, with stored payloads aligned to
//! 64 bytes inside the archive (NumPy's own writer does not align them).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Cursor, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::read::zip_error;
use super::{Compression, check_name};
use crate::atomic::{AtomicFile, Durability};
use crate::error::{Error, ErrorKind, Result, snippet};
use crate::header::{ARRAY_ALIGN, Header, Version};

/// Members whose `.npy` bytes reach this size are written with zip64 size
/// fields. Below `u32::MAX` by a margin, so that deflate's small expansion of
/// incompressible data cannot cross the 4 GiB line unannounced.
const ZIP64_FROM: u64 = 0xF000_0000;

/// Where an archive is written, and what finishing it gives back.
///
/// Implemented for [`AtomicFile`] (finishing renames it into place), for
/// `File`, `Cursor` and `BufWriter` (handed back), and for `&mut` any
/// seekable writer.
pub trait Sink: Write + Seek {
    /// What [`NpzWriter::finish`] returns.
    type Output;
    /// Completes the output once the archive's last byte is written.
    ///
    /// # Errors
    /// `Io`.
    fn complete(self) -> Result<Self::Output>;
}

impl Sink for File {
    type Output = File;
    fn complete(mut self) -> Result<File> {
        self.flush()?;
        Ok(self)
    }
}

impl<T> Sink for Cursor<T>
where
    Cursor<T>: Write + Seek,
{
    type Output = Cursor<T>;
    fn complete(self) -> Result<Cursor<T>> {
        Ok(self)
    }
}

impl<W: Write + Seek> Sink for BufWriter<W> {
    type Output = W;
    fn complete(self) -> Result<W> {
        self.into_inner().map_err(|e| e.into_error().into())
    }
}

impl<S: Write + Seek + ?Sized> Sink for &mut S {
    type Output = ();
    fn complete(self) -> Result<()> {
        Ok(self.flush()?)
    }
}

impl Sink for AtomicFile {
    type Output = ();
    fn complete(self) -> Result<()> {
        self.commit()
    }
}

/// Writes an archive: one `NAME.npy` member per array, stored or deflated.
///
/// Stored members are placed so their `.npy` bytes, and so their payloads,
/// start at a multiple of 64 bytes in the archive (padding goes into the
/// local header's extra field, which every zip reader skips). Members of
/// 4 GiB or more, and archives past 4 GiB, use zip64. Timestamps are fixed
/// (1980-01-01), so the same arrays give the same bytes.
///
/// # Examples
/// ```
/// use npymap::npz::{NpzArchive, NpzWriter};
/// use npymap::{Dtype, Header};
/// let header = Header { dtype: Dtype::from_descr("<i4")?, fortran_order: false, shape: vec![3] };
/// let payload: Vec<u8> = [1i32, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let mut npz = NpzWriter::new(std::io::Cursor::new(Vec::new()));
/// npz.add_stored("a", &header, &payload)?;
/// npz.add_deflated("b", &header, &payload)?;
/// let bytes = npz.finish()?.into_inner();
///
/// let archive = NpzArchive::from_bytes(&bytes)?;
/// let range = archive.member("a")?.payload_range().unwrap();
/// assert_eq!(range.start % 64, 0);
/// assert_eq!(archive.payload("a")?, &payload[..]);
/// # Ok::<(), npymap::Error>(())
/// ```
pub struct NpzWriter<W: Sink> {
    // Dropped before `zip` (fields drop in order): see `Abandon`.
    abandon: Abandon,
    zip: ZipWriter<Guarded<W>>,
    keys: HashSet<String>,
    level: Option<i64>,
    /// Set while a [`MemberWriter`] is open or was dropped unfinished.
    open_member: Option<String>,
}

impl<W: Sink> std::fmt::Debug for NpzWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("keys", &self.keys)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl NpzWriter<AtomicFile> {
    /// Starts an archive that [`NpzWriter::finish`] renames into `path`;
    /// nothing appears at `path` before that, and a writer dropped
    /// unfinished leaves nothing behind. Synced as
    /// [`Durability::DurableWhenReplacing`]: an archive that replaces an
    /// existing file is synced before the rename (and its directory after
    /// it), a brand-new one is not (see [`NpzWriter::create_with`]).
    ///
    /// # Errors
    /// `Io`, naming the path: as [`AtomicFile::create_with`] (a device,
    /// FIFO, socket, directory or read-only file is refused).
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        NpzWriter::create_with(path, Durability::DurableWhenReplacing)
    }

    /// As [`NpzWriter::create`], synced as `durability` says.
    ///
    /// # Errors
    /// As [`NpzWriter::create`].
    pub fn create_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self> {
        let path = path.as_ref();
        Ok(NpzWriter::with_out(
            AtomicFile::create_with(path, durability)?,
            Some(path.to_path_buf()),
        ))
    }
}

impl<W: Sink> NpzWriter<W> {
    /// Starts an archive written to `sink`.
    pub fn new(sink: W) -> Self {
        NpzWriter::with_out(sink, None)
    }

    /// `out`: the path write errors name (instead of a temp file's).
    fn with_out(sink: W, out: Option<PathBuf>) -> Self {
        let dead = Arc::new(AtomicBool::new(false));
        NpzWriter {
            abandon: Abandon(Arc::clone(&dead)),
            zip: ZipWriter::new(Guarded {
                inner: sink,
                dead,
                pos: 0,
                out,
            }),
            keys: HashSet::new(),
            level: None,
            open_member: None,
        }
    }

    /// Sets the deflate level (1 fastest to 9 smallest; default 6, like
    /// `np.savez_compressed`) for members added as deflated from now on.
    ///
    /// # Errors
    /// `Unsupported` for a level outside 1..=9.
    pub fn set_deflate_level(&mut self, level: u32) -> Result<()> {
        if !(1..=9).contains(&level) {
            return Err(
                ErrorKind::Unsupported(format!("deflate level {level} (expected 1 to 9)")).into(),
            );
        }
        self.level = Some(i64::from(level));
        Ok(())
    }

    /// Whether a member with key `name` was added.
    pub(crate) fn has_key(&self, name: &str) -> bool {
        self.keys.contains(name)
    }

    /// The deflate level set with [`NpzWriter::set_deflate_level`].
    pub(crate) fn deflate_level(&self) -> Option<i64> {
        self.level
    }

    /// Adds the array `name` (stored as `name.npy`) from its header and
    /// payload bytes.
    ///
    /// # Errors
    /// `UnsafeName`, `DuplicateMember`, `ObjectDtype`, `PayloadSize` when
    /// `payload` is not the length the header implies, header errors, `Zip`,
    /// `Io`.
    pub fn add(
        &mut self,
        name: &str,
        header: &Header,
        payload: &[u8],
        compression: Compression,
    ) -> Result<()> {
        let mut member = self.start(name, header, compression)?;
        member.write_all(payload)?;
        member.finish()
    }

    /// [`NpzWriter::add`] with [`Compression::Stored`].
    ///
    /// # Errors
    /// As [`NpzWriter::add`].
    pub fn add_stored(&mut self, name: &str, header: &Header, payload: &[u8]) -> Result<()> {
        self.add(name, header, payload, Compression::Stored)
    }

    /// [`NpzWriter::add`] with [`Compression::Deflated`].
    ///
    /// # Errors
    /// As [`NpzWriter::add`].
    pub fn add_deflated(&mut self, name: &str, header: &Header, payload: &[u8]) -> Result<()> {
        self.add(name, header, payload, Compression::Deflated)
    }

    /// Adds the C-order array `data` of `shape` as the member `name`, with
    /// the header `np.save` would write for `T` (see [`Header::for_type`]) --
    /// the counterpart of `np.savez(path, name=data.reshape(shape))`.
    ///
    /// # Examples
    /// ```
    /// use npymap::npz::{Compression, NpzReader, NpzWriter};
    /// let mut w = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    /// w.add_array("x", &[2, 2], &[1.0f64, 2.0, 3.0, 4.0], Compression::Stored)?;
    /// let bytes = w.finish()?.into_inner();
    /// let mut r = NpzReader::new(std::io::Cursor::new(bytes))?;
    /// assert_eq!(r.read_array::<f64>("x")?.as_slice(), [1.0, 2.0, 3.0, 4.0]);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    ///
    /// # Errors
    /// `PayloadSize` when `data.len()` is not the product of `shape`,
    /// `DtypeMismatch`-style errors from [`Header::for_type`] when `T` has no
    /// NumPy dtype of its own, and every error of [`NpzWriter::add`].
    pub fn add_array<T: crate::Element>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[T],
        compression: Compression,
    ) -> Result<()> {
        let header = Header::for_type::<T>(shape)?;
        check_len(name, &header, data.len())?;
        self.add(
            name,
            &header,
            bytemuck::cast_slice::<T, u8>(data),
            compression,
        )
    }

    /// Adds an owned [`Array`](crate::array::Array) as the member `name`
    /// (its shape and memory order are kept).
    ///
    /// # Errors
    /// As [`NpzWriter::add_array`].
    pub fn add_owned<T: crate::Element>(
        &mut self,
        name: &str,
        array: &crate::array::Array<T>,
        compression: Compression,
    ) -> Result<()> {
        let mut header = Header::for_type::<T>(array.shape())?;
        if array.fortran_order() {
            header = header.fortran();
        }
        check_len(name, &header, array.len())?;
        self.add(
            name,
            &header,
            bytemuck::cast_slice::<T, u8>(array.as_slice()),
            compression,
        )
    }

    /// Adds an `ndarray` array or view of any layout as the member `name`,
    /// as `np.savez` stores the same array: a C-contiguous array as it is,
    /// an F-contiguous one (and not C) with `fortran_order: True`, anything
    /// else (a strided slice, a negative stride, a permuted view) as its
    /// C-order copy, written in blocks. The header is the one
    /// [`Header::for_type`] gives `A`.
    ///
    /// # Examples
    /// ```
    /// // NumPy: np.savez(f, t=a.T)
    /// use npymap::npz::{Compression, NpzReader, NpzWriter};
    /// let a = ndarray::array![[1i32, 2, 3], [4, 5, 6]];
    /// let mut w = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    /// w.add_ndarray("t", &a.t(), Compression::Stored)?; // F-contiguous
    /// w.add_ndarray("every_other", &a.slice(ndarray::s![.., ..;2]), Compression::Deflated)?;
    /// let bytes = w.finish()?.into_inner();
    /// let mut r = NpzReader::new(std::io::Cursor::new(bytes))?;
    /// let t = r.read_array::<i32>("t")?;
    /// assert!(t.fortran_order());
    /// assert_eq!(t.get(&[2, 1]), Some(&6));
    /// assert_eq!(r.read_array::<i32>("every_other")?.as_slice(), [1, 3, 4, 6]);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`NpzWriter::add_array`].
    #[cfg(feature = "ndarray")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
    pub fn add_ndarray<A, S, D>(
        &mut self,
        name: &str,
        array: &ndarray::ArrayBase<S, D>,
        compression: Compression,
    ) -> Result<()>
    where
        A: crate::Element,
        S: ndarray::Data<Elem = A>,
        D: ndarray::Dimension,
    {
        /// Elements copied per write when a view is copied to C order.
        const BLOCK: usize = 1 << 14;
        let header = Header::for_type::<A>(array.shape())?;
        // `as_slice` is `Some` exactly for C-contiguous layouts (length-1
        // axes' strides ignored, as NumPy ignores them).
        if let Some(values) = array.as_slice() {
            return self.add(name, &header, bytemuck::cast_slice(values), compression);
        }
        let reversed = array.t();
        if let Some(values) = reversed.as_slice() {
            return self.add(
                name,
                &header.fortran(),
                bytemuck::cast_slice(values),
                compression,
            );
        }
        let mut member = self.start(name, &header, compression)?;
        let mut block = Vec::new();
        block
            .try_reserve_exact(BLOCK.min(array.len()))
            .map_err(|_| Error::from(ErrorKind::Overflow { what: "block" }))?;
        for &v in array.iter() {
            block.push(v);
            if block.len() == BLOCK {
                member.write_all(bytemuck::cast_slice(&block))?;
                block.clear();
            }
        }
        member.write_all(bytemuck::cast_slice(&block))?;
        member.finish()
    }

    /// Starts the member `name.npy` with `header`, written as NumPy's
    /// `np.save` writes it; the payload is then streamed into the returned
    /// writer, which must receive exactly the header's payload length before
    /// [`MemberWriter::finish`].
    ///
    /// # Errors
    /// As [`NpzWriter::add`], and `Unsupported` while another member is
    /// still open.
    pub fn start(
        &mut self,
        name: &str,
        header: &Header,
        compression: Compression,
    ) -> Result<MemberWriter<'_, W>> {
        self.start_versioned(name, header, None, compression)
    }

    /// [`NpzWriter::start`] with the `.npy` format version to write (`None`:
    /// the one NumPy picks), e.g. to keep a file's explicit 2.0.
    ///
    /// # Errors
    /// As [`NpzWriter::start`], and `VersionTooSmall`.
    pub fn start_versioned(
        &mut self,
        name: &str,
        header: &Header,
        version: Option<Version>,
        compression: Compression,
    ) -> Result<MemberWriter<'_, W>> {
        if let Some(open) = &self.open_member {
            return Err(ErrorKind::Unsupported(format!(
                "member {:?} was not finished",
                snippet(open)
            ))
            .into());
        }
        let plan = plan_member(name, header, version, compression, self.level)?;
        if self.keys.contains(name) {
            return Err(ErrorKind::DuplicateMember {
                name: snippet(name),
            }
            .into());
        }
        let MemberPlan {
            file_name,
            header_bytes,
            payload_len,
            options,
        } = plan;
        let in_member = |e: Error| e.in_member(&file_name);
        self.zip
            .start_file(file_name.as_str(), options)
            .map_err(|e| in_member(zip_error(e)))?;
        self.keys.insert(name.to_owned());
        self.open_member = Some(file_name.clone());
        self.zip
            .write_all(&header_bytes)
            .map_err(|e| in_member(e.into()))?;
        Ok(MemberWriter {
            npz: self,
            file_name,
            expected: payload_len,
            written: 0,
        })
    }

    /// Writes the central directory and completes the sink (for
    /// [`NpzWriter::create`]: renames the file into place).
    ///
    /// # Errors
    /// `Unsupported` if a member was left unfinished, `Zip`, `Io`.
    pub fn finish(mut self) -> Result<W::Output> {
        if let Some(open) = self.open_member.take() {
            return Err(ErrorKind::Unsupported(format!(
                "member {:?} was not finished",
                snippet(&open)
            ))
            .into());
        }
        let NpzWriter { abandon, zip, .. } = self;
        let sink = zip.finish().map_err(zip_error)?;
        // An earlier write failed (and was reported); the archive is not whole.
        if sink.dead.load(Ordering::SeqCst) {
            return Err(ErrorKind::Unsupported(
                "the archive cannot be finished after a failed write".into(),
            )
            .into());
        }
        drop(abandon);
        sink.inner.complete()
    }
}

/// Marks the sink dead when the [`NpzWriter`] is dropped unfinished, so
/// that the `zip` crate's `Drop`, which tries to finish the archive, writes
/// nothing and prints nothing (it prints a debug line to stderr when that
/// fails, e.g. on a full disk). The unfinished sink is then dropped: an
/// [`AtomicFile`] removes its temp file.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The sink as the `zip` crate sees it. After the first failed write (or
/// once abandoned) it swallows everything: the error was already returned,
/// and the crate's `Drop` must not fail again. Write errors name `out` and
/// drop the temp-file path `tempfile` adds to them.
struct Guarded<W> {
    inner: W,
    dead: Arc<AtomicBool>,
    /// The position, kept while dead too: the `zip` crate asserts that it
    /// does not go backwards.
    pos: u64,
    out: Option<PathBuf>,
}

impl<W> Guarded<W> {
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn failed(&self, e: io::Error) -> io::Error {
        self.dead.store(true, Ordering::SeqCst);
        let Some(out) = &self.out else {
            return e;
        };
        // tempfile wraps the OS error in a `PathError` ("... (os error 28)
        // at path \"/dir/.npymap-x.tmp\"") whose `source` skips it: take
        // the error number back from the text, or at least cut the path.
        let plain = match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => {
                let text = e.to_string();
                let code = text
                    .split_once("(os error ")
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .and_then(|(n, _)| n.parse::<i32>().ok());
                match (code, text.split_once(" at path ")) {
                    (Some(code), _) => io::Error::from_raw_os_error(code),
                    (None, Some((msg, _))) => io::Error::new(e.kind(), msg.to_owned()),
                    (None, None) => e,
                }
            }
        };
        Error::from(plain).in_path(out).into()
    }
}

impl<W: Write> Write for Guarded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.is_dead() {
            self.pos = self.pos.saturating_add(buf.len() as u64);
            return Ok(buf.len());
        }
        let n = self.inner.write(buf).map_err(|e| self.failed(e))?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.is_dead() {
            return Ok(());
        }
        self.inner.flush().map_err(|e| self.failed(e))
    }
}

impl<W: Seek> Seek for Guarded<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        if self.is_dead() {
            self.pos = match to {
                SeekFrom::Start(n) => n,
                SeekFrom::Current(d) | SeekFrom::End(d) => self.pos.saturating_add_signed(d),
            };
            return Ok(self.pos);
        }
        self.pos = self.inner.seek(to).map_err(|e| self.failed(e))?;
        Ok(self.pos)
    }
}

/// Streams one member's payload into an [`NpzWriter`]; see
/// [`NpzWriter::start`]. Writing more than the header's payload length
/// fails; [`MemberWriter::finish`] fails if less was written.
pub struct MemberWriter<'n, W: Sink> {
    npz: &'n mut NpzWriter<W>,
    file_name: String,
    expected: u64,
    written: u64,
}

impl<W: Sink> std::fmt::Debug for MemberWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberWriter")
            .field("file_name", &self.file_name)
            .field("expected", &self.expected)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W: Sink> MemberWriter<'_, W> {
    /// Payload bytes still expected.
    pub fn remaining(&self) -> u64 {
        self.expected.saturating_sub(self.written)
    }

    /// Ends the member after checking that the whole payload was written.
    ///
    /// # Errors
    /// `PayloadSize` when fewer bytes were written than the header implies.
    pub fn finish(self) -> Result<()> {
        if self.written != self.expected {
            return Err(Error::new(ErrorKind::PayloadSize {
                expected: self.expected,
                actual: self.written,
            })
            .in_member(&self.file_name));
        }
        self.npz.open_member = None;
        Ok(())
    }
}

impl<W: Sink> Write for MemberWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let total = self.written.saturating_add(buf.len() as u64);
        if total > self.expected {
            return Err(Error::new(ErrorKind::PayloadSize {
                expected: self.expected,
                actual: total,
            })
            .in_member(&self.file_name)
            .into());
        }
        let n = self.npz.zip.write(buf)?;
        self.written = self.written.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.npz.zip.flush()
    }
}

/// What starting a member needs, checked and rendered before anything is
/// written: shared by [`NpzWriter::start_versioned`] and
/// [`plan_deflated`], so both refuse the same members with the same errors
/// in the same order.
struct MemberPlan {
    file_name: String,
    header_bytes: Vec<u8>,
    payload_len: u64,
    options: SimpleFileOptions,
}

/// Checks the name (both `NAME` and `NAME.npy`), refuses objects, renders
/// the header and picks the zip options. Duplicates are the writer's check.
fn plan_member(
    name: &str,
    header: &Header,
    version: Option<Version>,
    compression: Compression,
    level: Option<i64>,
) -> Result<MemberPlan> {
    let file_name = format!("{name}.npy");
    let in_member = |e: Error| e.in_member(&file_name);
    // The key itself must be a safe name too ("" would give ".npy").
    check_name(name).and_then(|()| check_name(&file_name))?;
    if header.dtype.has_object() {
        return Err(in_member(ErrorKind::ObjectDtype.into()));
    }
    let payload_len = header.payload_len().map_err(in_member)?;
    let header_bytes = header.to_bytes(version).map_err(in_member)?;
    let npy_len =
        (header_bytes.len() as u64)
            .checked_add(payload_len)
            .ok_or(ErrorKind::Overflow {
                what: "member size",
            })?;
    let options = SimpleFileOptions::default()
        .large_file(npy_len >= ZIP64_FROM)
        .unix_permissions(0o644);
    let options = match compression {
        Compression::Stored => options
            .compression_method(CompressionMethod::Stored)
            // npy headers end at a multiple of 64, so aligning the
            // member's start aligns its payload.
            .with_alignment(ARRAY_ALIGN as u16),
        Compression::Deflated => options
            .compression_method(CompressionMethod::Deflated)
            .compression_level(level),
    };
    Ok(MemberPlan {
        file_name,
        header_bytes,
        payload_len,
        options,
    })
}

/// A deflated member compressed ahead of time, possibly on another thread
/// (see [`DeflatePlan::compress`]), held in memory until
/// [`NpzWriter::append_prepared`] copies its bytes into the archive.
pub(crate) struct PreparedMember {
    name: String,
    prepared: zip::write::PreparedZipFile,
}

impl std::fmt::Debug for PreparedMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedMember")
            .field("name", &self.name)
            .field("compressed", &self.prepared.compressed_size())
            .finish_non_exhaustive()
    }
}

/// A deflated member checked and ready to be compressed off the writer's
/// thread: [`plan_deflated`] makes every check
/// [`NpzWriter::start_versioned`] makes except the duplicate one (the
/// writer's, at [`NpzWriter::append_prepared`]); [`DeflatePlan::compress`]
/// then deflates it into memory.
pub(crate) struct DeflatePlan {
    name: String,
    plan: MemberPlan,
}

/// Checks and renders the deflated member `name` (see [`DeflatePlan`]).
///
/// # Errors
/// As [`NpzWriter::start_versioned`], without `DuplicateMember`.
pub(crate) fn plan_deflated(
    name: &str,
    header: &Header,
    version: Option<Version>,
    level: Option<i64>,
) -> Result<DeflatePlan> {
    Ok(DeflatePlan {
        name: name.to_owned(),
        plan: plan_member(name, header, version, Compression::Deflated, level)?,
    })
}

impl DeflatePlan {
    /// The member's whole `.npy` length (header and payload).
    pub(crate) fn npy_len(&self) -> u64 {
        (self.plan.header_bytes.len() as u64).saturating_add(self.plan.payload_len)
    }

    /// Deflates the header, then exactly the payload length read from
    /// `payload`, into memory. The bytes are those
    /// [`NpzWriter::start_versioned`] would write for the same member (the
    /// same `zip` crate encoder at the same level), so an archive built
    /// from prepared members is byte-identical to one streamed member by
    /// member. Gives up with `Unsupported` once `stop` is set (checked
    /// every MiB).
    ///
    /// # Errors
    /// `PayloadSize` when `payload` ends early; `Io` reading it; `Zip`.
    pub(crate) fn compress(
        self,
        payload: &mut dyn io::Read,
        stop: &AtomicBool,
    ) -> Result<PreparedMember> {
        let DeflatePlan { name, plan } = self;
        let in_member = |e: Error| e.in_member(&plan.file_name);
        let mut builder = zip::write::ZipFileBuilder::new(plan.file_name.as_str(), plan.options)
            .map_err(|e| in_member(zip_error(e)))?;
        builder.write_all(&plan.header_bytes)?;
        let written = copy_payload(payload, &mut builder, plan.payload_len, Some(stop))?;
        if written != plan.payload_len {
            return Err(in_member(
                ErrorKind::PayloadSize {
                    expected: plan.payload_len,
                    actual: written,
                }
                .into(),
            ));
        }
        let prepared = builder.finish().map_err(|e| in_member(zip_error(e)))?;
        Ok(PreparedMember { name, prepared })
    }
}

/// Payload bytes reach a member's writer in chunks of this size, each
/// filled completely before it is written (short reads are topped up), on
/// every path that writes a member from a reader. The deflate stream of
/// the zlib-rs encoder depends on how its input is cut into writes, so one
/// chunking is what makes an archive byte-identical whatever the number of
/// `pack` workers (tests/pack_parallel.rs).
const PAYLOAD_CHUNK: usize = 1 << 20;

/// Copies up to `len` bytes from `from` to `to` in [`PAYLOAD_CHUNK`]
/// pieces; returns how many were copied (fewer than `len` only when `from`
/// ends early). With `stop`, gives up with `Unsupported("cancelled")` once
/// it is set (checked before every chunk).
///
/// # Errors
/// `Io` reading or writing; `Unsupported` when stopped.
pub(crate) fn copy_payload(
    from: &mut dyn io::Read,
    to: &mut dyn Write,
    len: u64,
    stop: Option<&AtomicBool>,
) -> Result<u64> {
    let cap = usize::try_from(len)
        .unwrap_or(usize::MAX)
        .min(PAYLOAD_CHUNK);
    let mut buf = vec![0u8; cap];
    let mut copied = 0u64;
    while copied < len {
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            return Err(ErrorKind::Unsupported("cancelled".into()).into());
        }
        let want = usize::try_from(len - copied).unwrap_or(usize::MAX).min(cap);
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let mut filled = 0;
        while filled < want {
            match from.read(chunk.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        to.write_all(chunk.get(..filled).unwrap_or_default())?;
        copied += filled as u64;
        if filled < want {
            break;
        }
    }
    Ok(copied)
}

impl<W: Sink> NpzWriter<W> {
    /// Appends a member made by [`DeflatePlan::compress`], copying its
    /// compressed bytes into the archive.
    ///
    /// # Errors
    /// `Unsupported` while another member is open, `DuplicateMember`,
    /// `Zip`, `Io` (naming the archive, as a streamed member's would).
    pub(crate) fn append_prepared(&mut self, member: PreparedMember) -> Result<()> {
        if let Some(open) = &self.open_member {
            return Err(ErrorKind::Unsupported(format!(
                "member {:?} was not finished",
                snippet(open)
            ))
            .into());
        }
        if self.keys.contains(&member.name) {
            return Err(ErrorKind::DuplicateMember {
                name: snippet(&member.name),
            }
            .into());
        }
        self.zip
            .add_prepared_file(member.prepared)
            .map_err(zip_error)?;
        self.keys.insert(member.name);
        Ok(())
    }
}

/// Checks a typed array's length against its header before a member is
/// started, so a wrong length leaves the writer usable (unlike a short
/// payload streamed into [`NpzWriter::start`], which poisons it).
fn check_len(name: &str, header: &Header, len: usize) -> Result<()> {
    let expected = header.element_count()?;
    let actual = len as u64;
    if expected != actual {
        let item = header.dtype.itemsize() as u64;
        return Err(Error::new(ErrorKind::PayloadSize {
            expected: expected.saturating_mul(item),
            actual: actual.saturating_mul(item),
        })
        .in_member(format!("{name}.npy")));
    }
    Ok(())
}
