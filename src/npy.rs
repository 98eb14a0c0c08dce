//! Whole `.npy` files: telling `.npy` from `.npz` ([`detect`]), reading the
//! header and checking the payload length against the real file size
//! ([`inspect`], [`check_payload`]); streaming reads and writes over
//! `Read` / `Write` ([`NpyReader`], [`NpyWriter`], [`GrowingNpyWriter`]);
//! and file operations that never leave a damaged file ([`save`],
//! [`append`], [`make_appendable`], [`recover`]).

mod atomic;
mod stream;

pub(crate) use atomic::open_append;
pub use atomic::{
    FileWriter, Recovered, append, make_appendable, recover, recover_with_durability, save,
    save_durable, save_with, save_with_durability,
};
pub(crate) use stream::growth_axis;
pub use stream::{GrowingNpyWriter, NpyReader, NpyWriter};

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParseOptions, ParsedHeader};

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Starts with `\x93NUMPY`.
    Npy,
    /// Starts with a zip local file header `PK\x03\x04` (or is an empty zip).
    Npz,
}

/// Detects the format from the first bytes of a file.
///
/// # Errors
/// `NotNpy` when the bytes are neither.
pub fn detect(head: &[u8]) -> Result<Format> {
    if head.starts_with(crate::header::MAGIC) {
        Ok(Format::Npy)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Ok(Format::Npz)
    } else {
        // Let the header parser phrase the error (empty, truncated, wrong magic).
        Header::parse(head).map(|_| Format::Npy)
    }
}

/// Detects the format of the file at `path` from its content.
///
/// # Errors
/// `Io` (also for a path that is not a regular file, see [`open_input`]) or
/// `NotNpy`.
pub fn detect_file(path: &Path) -> Result<Format> {
    let file = open_input(path)?;
    detect_open(&file).map_err(|e| e.in_path(path))
}

/// Detects the format of an open file from its first bytes (read with
/// `pread` at offset 0: the file position does not move).
///
/// # Errors
/// `Io` or `NotNpy`.
pub fn detect_open(file: &File) -> Result<Format> {
    let mut head = [0u8; 8];
    let mut got = 0;
    while let Some(rest) = head.get_mut(got..).filter(|r| !r.is_empty()) {
        match read_at(file, rest, got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    detect(head.get(..got).unwrap_or_default())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Opens the input file at `path` for reading, refusing anything that is
/// not a regular file (after following symlinks) with `PATH: not a regular
/// file (it is a pipe or FIFO)` and the like: npymap needs a length and random
/// access, which pipes, FIFOs, devices and directories do not give. The
/// path is checked with `stat` before it is opened, and opened with
/// `O_NONBLOCK`, so a FIFO is never waited on, even one that replaces the
/// file between the check and the open; the opened file is checked again
/// with `fstat`, so the returned descriptor is the regular file that was
/// checked. (`O_NONBLOCK` has no effect on reads of a regular file.)
///
/// # Errors
/// `Io`, naming `path`.
pub fn open_input(path: &Path) -> Result<File> {
    let run = || -> Result<File> {
        check_regular(&std::fs::metadata(path)?)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NONBLOCK);
        let file = opts.open(path)?;
        check_regular(&file.metadata()?)?;
        Ok(file)
    };
    run().map_err(|e| e.in_path(path))
}

/// `Ok` for a regular file, else an `Io` error saying what the file is.
fn check_regular(meta: &std::fs::Metadata) -> Result<()> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let what = crate::atomic::file_kind(&t);
    Err(Error::from(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a regular file (it is {what})"),
    )))
}

/// Checks that `available` payload bytes are exactly what the header implies.
/// Object arrays hold a pickle of any length and are not checked.
///
/// # Errors
/// `PayloadSize` (at the data offset) or `Overflow`.
pub fn check_payload(parsed: &ParsedHeader, available: u64) -> Result<u64> {
    if parsed.header.dtype.has_object() {
        return Ok(available);
    }
    let expected = parsed.header.payload_len()?;
    if expected != available {
        return Err(Error::new(ErrorKind::PayloadSize {
            expected,
            actual: available,
        })
        .at(parsed.data_offset));
    }
    Ok(expected)
}

/// Reads the header of the `.npy` file at `path` (never the payload) and
/// checks the payload length against the file size.
///
/// # Errors
/// Any header error, `PayloadSize`, or `Io`; each names the path.
///
/// # Examples
/// ```
/// let parsed = npymap::npy::inspect("testdata/npy/c_2x3.npy".as_ref())?;
/// assert_eq!(parsed.header.payload_len()?, 48);
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn inspect(path: &Path) -> Result<ParsedHeader> {
    inspect_with(path, &ParseOptions::default())
}

/// [`inspect`] with explicit header limits.
///
/// # Errors
/// As [`inspect`].
pub fn inspect_with(path: &Path, opts: &ParseOptions) -> Result<ParsedHeader> {
    let file = open_input(path)?;
    inspect_open(&file, opts).map_err(|e| e.in_path(path))
}

/// [`inspect_with`] on an open file: reads the header from the file's
/// start (and leaves the file position anywhere) and checks the payload
/// length against the file's size.
///
/// # Errors
/// As [`inspect`], without the path.
pub fn inspect_open(file: &File, opts: &ParseOptions) -> Result<ParsedHeader> {
    use std::io::Seek;
    let len = file.metadata()?.len();
    let mut reader = file;
    reader.seek(std::io::SeekFrom::Start(0))?;
    let parsed = Header::read_from(BufReader::new(reader), opts)?;
    check_payload(&parsed, len.saturating_sub(parsed.data_offset))?;
    Ok(parsed)
}
