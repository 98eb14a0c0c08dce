//! Whole-file writes that never leave a damaged file: atomic save, append
//! along the growth axis, make-appendable and recovery of cut files.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use byteorder::{ByteOrder as _, LittleEndian};

use crate::atomic::AtomicFile;

use super::stream::{NpyWriter, encode, growth_axis, row_len};
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParseOptions, ParsedHeader, Version};
use crate::view::Element;
use crate::view::elements::element_fit;

/// The writer [`save_with`] hands to its callback.
pub type FileWriter<'a> = NpyWriter<BufWriter<&'a mut File>>;

/// Writes `data` (storage order) as the `.npy` file at `path`, atomically:
/// the bytes go to a temporary file in the same directory, which is synced
/// and renamed over `path`. The output is byte-identical to `np.save`.
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
    save_with(path, header, |w| w.write_slice(data))
}

/// As [`save`], with the payload written by `fill` (in as many calls as it
/// likes). If `fill` fails, or writes too few elements, nothing changes on disk.
///
/// # Errors
/// Whatever `fill` returns, `ElementCount`, `Io`.
pub fn save_with<F>(path: impl AsRef<Path>, header: &Header, fill: F) -> Result<()>
where
    F: FnOnce(&mut FileWriter<'_>) -> Result<()>,
{
    let path = path.as_ref();
    let run = || -> Result<()> {
        let mut out = AtomicFile::create(path)?;
        {
            let mut w = NpyWriter::new(BufWriter::new(out.file()?), header)?;
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

/// An open `.npy` file with its header.
struct Opened {
    file: File,
    parsed: ParsedHeader,
    payload_len: u64,
    available: u64,
}

fn open_rw(path: &Path) -> Result<Opened> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
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
    /// after them.
    fn rewrite(
        &mut self,
        path: &Path,
        header: &Header,
        keep: u64,
        fill: &mut FillRows<'_>,
    ) -> Result<()> {
        let head = header
            .to_bytes(Some(self.parsed.version))
            .or_else(|_| header.to_bytes(None))?;
        self.file.seek(SeekFrom::Start(self.parsed.data_offset))?;
        let src = &mut self.file;
        crate::atomic::write_atomic(path, |dst| {
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
/// In place when the header has room (NumPy leaves it): the data is written
/// and synced first and the header last, so a crash leaves a valid file with
/// the old shape (NumPy ignores the extra bytes; [`recover`] adopts or drops
/// them). Without room the file is rewritten atomically instead.
///
/// # Errors
/// `DtypeMismatch`, `NotWholeRows`, `PayloadSize` (use [`recover`] first),
/// `Unsupported` for 0-d arrays, any header error, `Io`.
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
    let (old, data_offset) = {
        let f = open_rw(path).map_err(|e| e.in_path(path))?;
        (f.parsed.header, f.parsed.data_offset)
    };
    let swap = element_fit::<T>(&old.dtype).map_err(|e| e.at(data_offset).in_path(path))?;
    let axis = growth_axis(&old).map_err(|e| e.in_path(path))?;
    let row = row_len(&old, axis).map_err(|e| e.in_path(path))?;
    let n = data.len() as u64;
    let rows = match row {
        0 => (n == 0).then_some(0),
        r => n.is_multiple_of(r).then_some(n / r),
    }
    .ok_or_else(|| {
        Error::new(ErrorKind::NotWholeRows {
            elements: n,
            row_len: row,
        })
        .in_path(path)
    })?;
    let mut bytes = Vec::with_capacity(std::mem::size_of_val(data));
    encode(data, swap, &mut bytes);
    append_rows(path, &old, rows, &mut |file, at| {
        Ok(file.write_all_at(&bytes, at)?)
    })
}

/// Writes appended rows into `file` starting at byte `at`.
pub(crate) type FillRows<'a> = dyn FnMut(&File, u64) -> Result<()> + 'a;

/// The one append mechanism: grows the file at `path`, whose header must
/// still be `expected`, by `rows` rows along the growth axis, with `fill`
/// writing their bytes (`rows * row bytes`, in the file's storage order and
/// dtype) at a file offset it is given. In place when the header has room —
/// data written and synced first, header last — else an atomic rewrite.
///
/// # Errors
/// `PayloadSize` when the file is not exactly header plus payload (use
/// [`recover`]), `Unsupported` for 0-d arrays or a header that changed,
/// `Overflow`, what `fill` returns, `Io`; each names the path.
pub(crate) fn append_rows(
    path: &Path,
    expected: &Header,
    rows: u64,
    fill: &mut FillRows<'_>,
) -> Result<Header> {
    let mut run = || -> Result<Header> {
        let mut f = open_rw(path)?;
        f.check_exact()?;
        let old = f.parsed.header.clone();
        if &old != expected {
            return Err(ErrorKind::Unsupported("the file changed while appending".into()).into());
        }
        let axis = growth_axis(&old)?;
        let mut new = old.clone();
        if let Some(d) = new.shape.get_mut(axis) {
            *d = d
                .checked_add(rows)
                .ok_or(ErrorKind::Overflow { what: "shape" })?;
        }
        new.payload_len()?;
        match header_in_place(&new, f.parsed.version, f.parsed.data_offset) {
            Some(head) => {
                let end = f.parsed.data_offset + f.payload_len;
                if let Err(e) = fill(&f.file, end) {
                    // Drop the partial rows: the file is again exactly
                    // header plus payload, as NumPy and npymap expect.
                    let _ = f.file.set_len(end);
                    return Err(e);
                }
                f.file.sync_data()?;
                f.file.write_all_at(&head, 0)?;
                f.file.sync_data()?;
            }
            None => {
                let keep = f.payload_len;
                f.rewrite(path, &new, keep, fill)?;
            }
        }
        Ok(new)
    };
    run().map_err(|e| e.in_path(path))
}

/// Makes sure the file's header has room for the growth axis to reach any
/// length (as NumPy's writer leaves), rewriting it atomically with NumPy's
/// standard header when it has not. Returns whether the file was rewritten.
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
        f.rewrite(path, &header, keep, &mut |_, _| Ok(()))?;
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
    /// Bytes of partial rows cut off the end.
    pub bytes_dropped: u64,
}

/// Repairs a file whose payload does not match its header (cut short, or
/// longer after an interrupted append): truncates to the last whole row
/// along the growth axis and sets the header's shape to match.
///
/// # Errors
/// `Unsupported` for 0-d arrays, any header error, `Io`.
pub fn recover(path: impl AsRef<Path>) -> Result<Recovered> {
    let path = path.as_ref();
    let run = || -> Result<Recovered> {
        let mut f = open_rw(path)?;
        let old = f.parsed.header.clone();
        let axis = growth_axis(&old)?;
        let row_bytes = row_len(&old, axis)?
            .checked_mul(old.dtype.itemsize() as u64)
            .ok_or(ErrorKind::Overflow { what: "row size" })?;
        let rows_before = old.shape.get(axis).copied().unwrap_or(0);
        let rows_after = f.available.checked_div(row_bytes).unwrap_or(rows_before);
        let keep = rows_after.saturating_mul(row_bytes);
        let mut new = old.clone();
        if let Some(d) = new.shape.get_mut(axis) {
            *d = rows_after;
        }
        let done = Recovered {
            rows_before,
            rows_after,
            bytes_dropped: f.available - keep.min(f.available),
        };
        if new == old && keep == f.available {
            return Ok(done);
        }
        match header_in_place(&new, f.parsed.version, f.parsed.data_offset) {
            Some(head) => {
                f.file.set_len(f.parsed.data_offset + keep)?;
                f.file.seek(SeekFrom::Start(0))?;
                f.file.write_all(&head)?;
                f.file.sync_all()?;
            }
            None => f.rewrite(path, &new, keep, &mut |_, _| Ok(()))?,
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
        let header = Header::parse(&before).unwrap().header;
        let err = append_rows(&path, &header, 1, &mut |file, at| {
            file.write_all_at(&[1, 2, 3, 4, 5], at)?;
            Err(ErrorKind::Unsupported("simulated failure mid-append".into()).into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("simulated failure"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
