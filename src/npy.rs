//! Whole `.npy` files: reading the header and checking the payload length
//! against the real file size; streaming reads and writes over
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
use std::io::{BufReader, Read};
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
/// `Io` or `NotNpy`.
pub fn detect_file(path: &Path) -> Result<Format> {
    let mut head = Vec::with_capacity(8);
    File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(|e| Error::from(e).in_path(path))?;
    detect(&head).map_err(|e| e.in_path(path))
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
    let run = || -> Result<ParsedHeader> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let parsed = Header::read_from(BufReader::new(file), opts)?;
        check_payload(&parsed, len.saturating_sub(parsed.data_offset))?;
        Ok(parsed)
    };
    run().map_err(|e| e.in_path(path))
}
