//! Whole-file writes that never leave a damaged file: atomic save, append
//! along the growth axis, make-appendable and recovery of cut files.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use byteorder::{ByteOrder as _, LittleEndian};

use crate::atomic::{AtomicFile, Durability};

use super::stream::{NpyWriter, encode, growth_axis, row_len};
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParseOptions, ParsedHeader, Version};
use crate::view::Element;
use crate::view::elements::element_fit;

/// The writer [`save_with`] hands to its callback.
pub type FileWriter<'a> = NpyWriter<BufWriter<&'a mut File>>;

/// Writes `data` (storage order) as the `.npy` file at `path`, atomically:
/// the bytes go to a temporary file in the same directory, which is renamed
/// over `path` ([`Durability::Atomic`]: nothing is forced to disk, like
/// `np.save`; see [`save_durable`]). The output is byte-identical to
/// `np.save`. An existing `path` must be a writable regular file (a
/// symlink is followed); the new file keeps its mode and owner.
///
/// # Errors
/// As [`NpyWriter`], plus `Io`; on any error `path` is untouched and no
/// temporary file is left behind.
///
/// # Examples
/// ```
/// use npymap::{Dtype, Header};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// let header = Header { dtype: Dtype::from_descr("<f8")?, fortran_order: false, shape: vec![2, 3] };
/// npymap::npy::save(&path, &header, &[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0])?;
/// assert_eq!(std::fs::read(&path)?, std::fs::read("testdata/npy/c_2x3.npy")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<T: Element>(path: impl AsRef<Path>, header: &Header, data: &[T]) -> Result<()> {
    save_slice(path.as_ref(), header, Durability::Atomic, data)
}

/// [`save`] and [`save_durable`]: the file's blocks are reserved only when
/// `data` is exactly the payload `header` declares (in bytes), so a short
/// slice under a huge shape gets the writer's `ElementCount`, not a full disk.
fn save_slice<T: Element>(
    path: &Path,
    header: &Header,
    durability: Durability,
    data: &[T],
) -> Result<()> {
    let bytes = u64::try_from(std::mem::size_of_val(data)).ok();
    let reserve = bytes.is_some() && bytes == header.payload_len().ok();
    save_impl(path, header, durability, reserve, |w| w.write_slice(data))
}

/// As [`save`], and durable ([`Durability::Durable`]): the temporary file
/// is synced before the rename and the directory after it, so the new file
/// survives a crash or power cut once this returns.
///
/// # Errors
/// As [`save`].
pub fn save_durable<T: Element>(path: impl AsRef<Path>, header: &Header, data: &[T]) -> Result<()> {
    save_slice(path.as_ref(), header, Durability::Durable, data)
}

/// As [`save`], with the payload written by `fill` (in as many calls as it
/// likes). If `fill` fails, or writes too few elements, nothing changes on disk.
/// The blocks of the whole file the header declares are reserved before
/// `fill` runs (see `spec/write-path.md` §1).
///
/// # Errors
/// Whatever `fill` returns, `ElementCount`, `Io`.
pub fn save_with<F>(path: impl AsRef<Path>, header: &Header, fill: F) -> Result<()>
where
    F: FnOnce(&mut FileWriter<'_>) -> Result<()>,
{
    save_with_durability(path, header, Durability::Atomic, fill)
}

/// As [`save_with`], synced as `durability` says: the streaming
/// [`NpyWriter`]-to-file path, durable in one call.
///
/// # Errors
/// As [`save_with`].
pub fn save_with_durability<F>(
    path: impl AsRef<Path>,
    header: &Header,
    durability: Durability,
    fill: F,
) -> Result<()>
where
    F: FnOnce(&mut FileWriter<'_>) -> Result<()>,
{
    save_impl(path.as_ref(), header, durability, true, fill)
}

/// The atomic save; with `reserve`, the file's blocks (header + the
/// payload the header declares) are reserved as `np.save` does, once the
/// writer has accepted the header and before the payload is written.
fn save_impl<F>(
    path: &Path,
    header: &Header,
    durability: Durability,
    reserve: bool,
    fill: F,
) -> Result<()>
where
    F: FnOnce(&mut FileWriter<'_>) -> Result<()>,
{
    let run = || -> Result<()> {
        let mut out = AtomicFile::create_with(path, durability)?;
        {
            let mut w = NpyWriter::new(BufWriter::new(out.file()?), header)?;
            if reserve {
                // The writer took the header, so both lengths are known. Its
                // bytes are still in the buffer (unless longer than it).
                let head = u64::try_from(header.to_bytes(None)?.len()).unwrap_or(u64::MAX);
                let len = head.saturating_add(header.payload_len()?);
                crate::atomic::reserve(w.get_ref().get_ref(), len)?;
            }
            fill(&mut w)?;
            w.finish()?.into_inner().map_err(|e| e.into_error())?;
        }
        out.commit()
    };
    run().map_err(|e| e.in_path(path))
}

/// NumPy's header for `header`, padded with spaces to exactly `len` bytes
/// so it can replace a header of that length in place; `None` when it
/// does not fit.
fn header_in_place(header: &Header, version: Version, len: u64) -> Option<Vec<u8>> {
    let mut bytes = header.to_bytes(Some(version)).ok()?;
    let len = usize::try_from(len).ok()?;
    let extra = len.checked_sub(bytes.len())?;
    let newline = bytes.pop()?;
    bytes.resize(bytes.len() + extra, b' ');
    bytes.push(newline);
    let pre = version.preamble_len();
    let hlen = len.checked_sub(pre)?;
    let field = bytes.get_mut(8..pre)?;
    match version {
        Version::V1_0 => LittleEndian::write_u16(field, u16::try_from(hlen).ok()?),
        _ => LittleEndian::write_u32(field, u32::try_from(hlen).ok()?),
    }
    Some(bytes)
}

/// An open, locked `.npy` file with its header.
struct Opened {
    file: File,
    parsed: ParsedHeader,
    payload_len: u64,
    available: u64,
}

/// Opens the `.npy` at `path` for an in-place change, holding an exclusive
/// `flock` on it until the returned value is dropped
/// ([`crate::atomic::open_locked`]: the file must be a writable regular
/// file; a symlink is followed).
fn open_rw(path: &Path) -> Result<Opened> {
    let file = crate::atomic::open_locked(path)?;
    let parsed = Header::read_from(BufReader::new(&file), &ParseOptions::default())?;
    if parsed.header.dtype.has_object() {
        return Err(Error::new(ErrorKind::ObjectDtype).at(parsed.data_offset));
    }
    let payload_len = parsed.header.payload_len()?;
    let available = file.metadata()?.len().saturating_sub(parsed.data_offset);
    Ok(Opened {
        file,
        parsed,
        payload_len,
        available,
    })
}

impl Opened {
    fn check_exact(&self) -> Result<()> {
        if self.available != self.payload_len {
            return Err(Error::new(ErrorKind::PayloadSize {
                expected: self.payload_len,
                actual: self.available,
            })
            .at(self.parsed.data_offset));
        }
        Ok(())
    }

    /// Rewrites the file atomically with NumPy's standard header for
    /// `header`, the first `keep` payload bytes, then what `fill` writes
    /// after them. The lock on the old file is held until the rename.
    fn rewrite(
        &mut self,
        path: &Path,
        header: &Header,
        keep: u64,
        durability: Durability,
        fill: &mut FillRows<'_>,
    ) -> Result<()> {
        let head = header
            .to_bytes(Some(self.parsed.version))
            .or_else(|_| header.to_bytes(None))?;
        self.file.seek(SeekFrom::Start(self.parsed.data_offset))?;
        let src = &mut self.file;
        crate::atomic::write_atomic_with(path, durability, |dst| {
            dst.write_all(&head)?;
            let copied = std::io::copy(&mut src.take(keep), dst)?;
            if copied != keep {
                return Err(ErrorKind::PayloadSize {
                    expected: keep,
                    actual: copied,
                }
                .into());
            }
            fill(dst, head.len() as u64 + keep)
        })?;
        Ok(())
    }
}

/// Appends `data` (in the file's storage order) along the growth axis: axis
/// 0 in C order, the last axis in Fortran order. Returns the new header.
///
/// The file is locked (`flock`) for the whole append, so concurrent
/// appenders wait for each other. In place when the header has room (NumPy
/// leaves it): the data is written and synced first and the header last,
/// so a crash leaves a valid file with the old shape (NumPy ignores the
/// extra bytes; [`recover`] drops them). Without room the file is
/// rewritten atomically and durably instead.
///
/// # Errors
/// `DtypeMismatch`, `NotWholeRows`, `PayloadSize` (use [`recover`] first),
/// `Unsupported` for 0-d arrays, `DimTooLarge` past 2**63-1 rows, any
/// header error, `Io`.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// std::fs::copy("testdata/npy/c_2x3.npy", &path)?;
/// let header = npymap::npy::append(&path, &[6.0f64, 7.0, 8.0])?;
/// assert_eq!(header.shape, [3, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn append<T: Element>(path: impl AsRef<Path>, data: &[T]) -> Result<Header> {
    let path = path.as_ref();
    let target = open_append(path)?;
    let run = || -> Result<Header> {
        let old = target.header();
        let swap = element_fit::<T>(&old.dtype).map_err(|e| e.at(target.data_offset()))?;
        let axis = growth_axis(old)?;
        let row = row_len(old, axis)?;
        let n = data.len() as u64;
        let rows = match row {
            0 => (n == 0).then_some(0),
            r => n.is_multiple_of(r).then_some(n / r),
        }
        .ok_or(ErrorKind::NotWholeRows {
            elements: n,
            row_len: row,
        })?;
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(std::mem::size_of_val(data))
            .map_err(|_| ErrorKind::Overflow { what: "rows" })?;
        encode(data, swap, &mut bytes);
        target.append(rows, Durability::Durable, &mut |file, at| {
            Ok(file.write_all_at(&bytes, at)?)
        })
    };
    run().map_err(|e| e.in_path(path))
}

/// Writes appended rows into `file` starting at byte `at`.
pub(crate) type FillRows<'a> = dyn FnMut(&File, u64) -> Result<()> + 'a;

/// A `.npy` file opened for appending: locked (`flock`) until dropped or
/// appended to, and checked to hold exactly its header and payload. The
/// caller reads [`AppendTarget::header`] under the lock, checks its
/// sources against it, then calls [`AppendTarget::append`]: no other
/// appender can change the file in between.
pub(crate) struct AppendTarget<'p> {
    path: &'p Path,
    f: Opened,
}

/// Opens `path` for [`AppendTarget::append`], waiting for other appenders.
///
/// # Errors
/// `PayloadSize` when the file is not exactly header plus payload (use
/// [`recover`]), `Unsupported` for 0-d arrays, header errors, `Io`
/// (including a non-regular or read-only file); each names the path.
pub(crate) fn open_append(path: &Path) -> Result<AppendTarget<'_>> {
    let run = || -> Result<Opened> {
        let f = open_rw(path)?;
        f.check_exact()?;
        growth_axis(&f.parsed.header)?;
        Ok(f)
    };
    let f = run().map_err(|e| e.in_path(path))?;
    Ok(AppendTarget { path, f })
}

impl AppendTarget<'_> {
    /// The file's header, read under the lock.
    pub(crate) fn header(&self) -> &Header {
        &self.f.parsed.header
    }

    /// Where the payload starts.
    pub(crate) fn data_offset(&self) -> u64 {
        self.f.parsed.data_offset
    }

    /// The one append mechanism: grows the file by `rows` rows along the
    /// growth axis, with `fill` writing their bytes (`rows * row bytes`, in
    /// the file's storage order and dtype) at a file offset it is given. In
    /// place when the header has room — data written first, header last,
    /// each synced unless `durability` is [`Durability::Atomic`] — else an
    /// atomic rewrite synced as `durability` says for an existing file.
    ///
    /// # Errors
    /// `DimTooLarge` / `Overflow` when the new shape leaves the limits of
    /// `spec/limits.md` (checked before anything is written), what `fill`
    /// returns, `Io`; each names the path.
    pub(crate) fn append(
        mut self,
        rows: u64,
        durability: Durability,
        fill: &mut FillRows<'_>,
    ) -> Result<Header> {
        let path = self.path;
        let f = &mut self.f;
        let mut run = || -> Result<Header> {
            let old = f.parsed.header.clone();
            let axis = growth_axis(&old)?;
            let mut new = old.clone();
            if let Some(d) = new.shape.get_mut(axis) {
                *d = d
                    .checked_add(rows)
                    .ok_or(ErrorKind::Overflow { what: "shape" })?;
            }
            new.payload_len()?;
            let sync = durability.syncs(true);
            match header_in_place(&new, f.parsed.version, f.parsed.data_offset) {
                Some(head) => {
                    let end = f.parsed.data_offset + f.payload_len;
                    if let Err(e) = fill(&f.file, end) {
                        // Drop the partial rows: the file is again exactly
                        // header plus payload, as NumPy and npymap expect.
                        let _ = f.file.set_len(end);
                        return Err(e);
                    }
                    if sync {
                        f.file.sync_data()?;
                    }
                    f.file.write_all_at(&head, 0)?;
                    if sync {
                        f.file.sync_data()?;
                    }
                }
                None => {
                    let keep = f.payload_len;
                    f.rewrite(path, &new, keep, durability, fill)?;
                }
            }
            Ok(new)
        };
        run().map_err(|e| e.in_path(path))
    }
}

/// Makes sure the file's header has room for the growth axis to reach any
/// length (as NumPy's writer leaves), rewriting it atomically (and
/// durably) with NumPy's standard header when it has not. Returns whether
/// the file was rewritten.
///
/// # Errors
/// `PayloadSize`, `Unsupported` for 0-d arrays, any header error, `Io`.
pub fn make_appendable(path: impl AsRef<Path>) -> Result<bool> {
    let path = path.as_ref();
    let run = || -> Result<bool> {
        let mut f = open_rw(path)?;
        f.check_exact()?;
        let header = f.parsed.header.clone();
        growth_axis(&header)?;
        // The standard header's length does not depend on the growth axis's
        // value, so fitting now means fitting for any later length.
        if header_in_place(&header, f.parsed.version, f.parsed.data_offset).is_some() {
            return Ok(false);
        }
        let keep = f.payload_len;
        f.rewrite(path, &header, keep, Durability::Durable, &mut |_, _| Ok(()))?;
        Ok(true)
    };
    run().map_err(|e| e.in_path(path))
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Rows along the growth axis the header claimed.
    pub rows_before: u64,
    /// Rows the file now holds.
    pub rows_after: u64,
    /// Bytes cut off the end: partial rows of a short file, or everything
    /// past the payload of a long one.
    pub bytes_dropped: u64,
    /// The header after the repair.
    pub header: Header,
}

/// Repairs a file whose payload does not match its header, under the
/// append lock, durably:
///
/// - **longer** than its header says (an append interrupted after writing
///   rows, before writing the header): the header is the commit record, so
///   the extra bytes are dropped and the shape stays the one NumPy already
///   sees. The extra bytes are never adopted as rows: they may be rows
///   written out of order or never synced;
/// - **shorter** (a cut copy): truncated to the last whole row along the
///   growth axis, and the header's shape set to match.
///
/// A healthy file is left untouched.
///
/// # Errors
/// `Unsupported` for 0-d arrays, any header error, `Io`.
pub fn recover(path: impl AsRef<Path>) -> Result<Recovered> {
    recover_with_durability(path, Durability::Durable)
}

/// As [`recover`], synced as `durability` says.
///
/// # Errors
/// As [`recover`].
pub fn recover_with_durability(
    path: impl AsRef<Path>,
    durability: Durability,
) -> Result<Recovered> {
    let path = path.as_ref();
    let run = || -> Result<Recovered> {
        let mut f = open_rw(path)?;
        let old = f.parsed.header.clone();
        let axis = growth_axis(&old)?;
        let row_bytes = row_len(&old, axis)?
            .checked_mul(old.dtype.itemsize() as u64)
            .ok_or(ErrorKind::Overflow { what: "row size" })?;
        let rows_before = old.shape.get(axis).copied().unwrap_or(0);
        let rows_after = if f.available >= f.payload_len {
            rows_before
        } else {
            f.available.checked_div(row_bytes).unwrap_or(rows_before)
        };
        let keep = if f.available >= f.payload_len {
            f.payload_len
        } else {
            rows_after.saturating_mul(row_bytes)
        };
        let mut new = old.clone();
        if let Some(d) = new.shape.get_mut(axis) {
            *d = rows_after;
        }
        let done = Recovered {
            rows_before,
            rows_after,
            bytes_dropped: f.available - keep.min(f.available),
            header: new.clone(),
        };
        if new == old && keep == f.available {
            return Ok(done);
        }
        let sync = durability.syncs(true);
        match header_in_place(&new, f.parsed.version, f.parsed.data_offset) {
            Some(head) => {
                f.file.set_len(f.parsed.data_offset + keep)?;
                f.file.seek(SeekFrom::Start(0))?;
                f.file.write_all(&head)?;
                if sync {
                    f.file.sync_all()?;
                }
            }
            None => f.rewrite(path, &new, keep, durability, &mut |_, _| Ok(()))?,
        }
        Ok(done)
    };
    run().map_err(|e| e.in_path(path))
}

#[cfg(test)]
mod append_failure_tests {
    use super::*;

    #[test]
    fn a_failing_in_place_append_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        std::fs::copy("testdata/npy/c_2x3.npy", &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let target = open_append(&path).unwrap();
        let err = target
            .append(1, Durability::Durable, &mut |file, at| {
                file.write_all_at(&[1, 2, 3, 4, 5], at)?;
                Err(ErrorKind::Unsupported("simulated failure mid-append".into()).into())
            })
            .unwrap_err();
        assert!(err.to_string().contains("simulated failure"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}

#[cfg(test)]
mod reserve_tests {
    use super::*;
    use crate::Dtype;

    /// A header the writer refuses, or data that does not fill the header,
    /// gets the writer's own error: the file's blocks are reserved only for
    /// a save that can succeed (the adversarial review of the reservation:
    /// an object dtype or a short slice under a huge shape reported
    /// `FileTooLarge`/`StorageFull` after asking the disk for all of it).
    #[test]
    fn an_invalid_save_reports_the_writers_error_not_the_disks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let object = Header {
            dtype: Dtype::from_descr("|O").unwrap(),
            fortran_order: false,
            shape: vec![1 << 58],
        };
        let err = save_with(&path, &object, |_| Ok(())).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::ObjectDtype), "{err:?}");
        let huge = Header {
            dtype: Dtype::from_descr("<f8").unwrap(),
            fortran_order: false,
            shape: vec![1 << 41],
        };
        for durable in [false, true] {
            let err = if durable {
                save_durable(&path, &huge, &[1.0f64])
            } else {
                save(&path, &huge, &[1.0f64])
            }
            .unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::ElementCount { .. }),
                "{err:?}"
            );
        }
        // Nothing is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
