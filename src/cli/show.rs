//! `npymap show PATH [--full]`: the array as NumPy's `repr` prints it.
//!
//! Payloads up to [`FULL_READ_LIMIT`] are read whole; larger ones are never
//! read whole: the formatter pulls only the elements it prints through a
//! [`FileSource`] (seek + read of one element, or of one piece of a large
//! element, at a time, buffered). Either way [`repr::write_array_repr`]
//! writes the text as it goes, large elements piece by piece, so memory
//! stays bounded whatever the file size and the itemsize — even with
//! `--full`, which then streams the whole payload (three passes).

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind as IoErrorKind, Read, Seek, Write};
use std::path::Path;
use std::process::ExitCode;

use npymap::npy::{self, Format};
use npymap::repr::{self, ByteSource};
use npymap::{Error, ErrorKind};

use super::{CliError, CmdResult, with_path};

/// Payloads up to this many bytes are read into memory in one go.
pub(crate) const FULL_READ_LIMIT: u64 = 16 << 20;

/// Payload bytes read on demand from an open file.
struct FileSource {
    reader: BufReader<File>,
    /// File offset of the payload.
    data_offset: u64,
    /// Where the reader stands, relative to the payload (`None`: unknown).
    position: Option<u64>,
}

impl ByteSource for FileSource {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> npymap::Result<()> {
        match self.position {
            Some(p) if p == offset => {}
            // Small moves stay inside BufReader's buffer.
            Some(p) => {
                let delta = i64::try_from(i128::from(offset) - i128::from(p)).map_err(|_| {
                    Error::from(ErrorKind::Overflow {
                        what: "payload offset",
                    })
                })?;
                self.reader.seek_relative(delta)?;
            }
            None => {
                let at = self
                    .data_offset
                    .checked_add(offset)
                    .ok_or(ErrorKind::Overflow {
                        what: "payload offset",
                    })?;
                self.reader.seek(std::io::SeekFrom::Start(at))?;
            }
        }
        self.position = None;
        self.reader.read_exact(buf).map_err(|e| match e.kind() {
            // The length was checked against the header at the start.
            IoErrorKind::UnexpectedEof => Error::from(std::io::Error::new(
                IoErrorKind::UnexpectedEof,
                "changed while it was being read (it shrank)",
            )),
            _ => e.into(),
        })?;
        self.position = offset.checked_add(buf.len() as u64);
        Ok(())
    }
}

/// A writer that remembers its first error, so that a failed write to
/// stdout is told apart from a failed read of the input.
struct Tracked<'a, W: Write> {
    inner: &'a mut W,
    failed: Option<std::io::Error>,
}

impl<W: Write> Tracked<'_, W> {
    fn note(&mut self, e: std::io::Error) -> std::io::Error {
        if self.failed.is_none() {
            self.failed = Some(match e.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(e.kind(), e.to_string()),
            });
        }
        e
    }
}

impl<W: Write> Write for Tracked<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.note(e))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().map_err(|e| self.note(e))
    }
}

pub(crate) fn run(path: &Path, full: bool) -> CmdResult {
    // Opened once (a regular file only, never blocking on a FIFO): format,
    // header and payload all come from the same file.
    let file = npy::open_input(path).map_err(with_path(path))?;
    if npy::detect_open(&file).map_err(with_path(path))? == Format::Npz {
        return Err(CliError(format!(
            "{}: npz archives are not supported by show yet; unpack the member first",
            path.display()
        )));
    }
    let parsed =
        npy::inspect_open(&file, &npymap::ParseOptions::default()).map_err(with_path(path))?;
    let header = &parsed.header;
    if header.dtype.has_object() {
        return Err(with_path(path)(ErrorKind::ObjectDtype.into()));
    }
    let payload_len = header.payload_len().map_err(with_path(path))?;
    let mut file = file;
    file.seek(std::io::SeekFrom::Start(parsed.data_offset))
        .map_err(|e| with_path(path)(e.into()))?;
    let mut payload = Vec::new();
    let mut file_source;
    let mut memory_source;
    let source: &mut dyn ByteSource = if payload_len <= FULL_READ_LIMIT {
        let len = usize::try_from(payload_len).unwrap_or(0);
        payload.try_reserve_exact(len).map_err(|_| {
            CliError(format!(
                "{}: out of memory: cannot allocate {len} bytes for the payload",
                path.display()
            ))
        })?;
        payload.resize(len, 0);
        file.read_exact(&mut payload).map_err(|e| match e.kind() {
            // Its length was checked against the header a moment ago.
            IoErrorKind::UnexpectedEof => CliError(format!(
                "{}: changed while it was being read (it shrank)",
                path.display()
            )),
            _ => with_path(path)(e.into()),
        })?;
        memory_source = payload.as_slice();
        &mut memory_source
    } else {
        file_source = FileSource {
            reader: BufReader::with_capacity(1 << 16, file),
            data_offset: parsed.data_offset,
            position: None,
        };
        &mut file_source
    };
    print(header, source, full, path)
}

/// Writes the repr of the array `header` describes, its elements read from
/// `source`, to stdout; errors other than stdout's name `path`.
pub(crate) fn print(
    header: &npymap::Header,
    source: &mut dyn ByteSource,
    full: bool,
    path: &Path,
) -> CmdResult {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut sink = Tracked {
        inner: &mut out,
        failed: None,
    };
    let written = match repr::write_array_repr(header, source, full, &mut sink) {
        Ok(()) => writeln!(out).and_then(|()| out.flush()),
        // A failed write is about stdout; any other error about PATH.
        Err(e) => match sink.failed.take() {
            Some(io) => Err(io),
            None => return Err(with_path(path)(e)),
        },
    };
    // A reader that stops early (`| head`) is not an error; anything else
    // is, naming stdout.
    written.or_else(super::stdout::quiet_on_broken_pipe)?;
    Ok(ExitCode::SUCCESS)
}
