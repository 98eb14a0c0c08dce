//! Positional output with write coalescing: converters write runs at byte
//! offsets; adjacent runs are merged into large writes.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::error::Result;

/// Where converted bytes go, by absolute byte offset.
pub(crate) trait Sink {
    /// Writes `data` at byte `offset` of the output.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;
    /// Makes every accepted write reach the output.
    fn flush(&mut self) -> Result<()>;
}

/// Largest run kept in memory before it is written.
const COALESCE_BYTES: usize = 1 << 20;

/// A file written with `pwrite`, merging runs that continue each other.
pub(crate) struct FileSink<'f> {
    file: &'f File,
    pending: Vec<u8>,
    pending_at: u64,
}

impl<'f> FileSink<'f> {
    /// Writes into `file` (which must be open for writing).
    /// The merge buffer is reserved on first use, fallibly (see `write_at`).
    pub(crate) fn new(file: &'f File) -> Self {
        FileSink {
            file,
            pending: Vec::new(),
            pending_at: 0,
        }
    }

    /// Reserves the merge buffer: an error, never an abort, when the memory
    /// is not there.
    fn reserve(&mut self) -> Result<()> {
        if self.pending.capacity() < COALESCE_BYTES {
            self.pending
                .try_reserve_exact(COALESCE_BYTES - self.pending.len())
                .map_err(|_| {
                    crate::ErrorKind::Io(std::io::Error::new(
                        std::io::ErrorKind::OutOfMemory,
                        format!("out of memory: cannot allocate {COALESCE_BYTES} bytes for the output buffer"),
                    ))
                })?;
        }
        Ok(())
    }
}

impl Sink for FileSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.reserve()?;
        let contiguous = self.pending_at + self.pending.len() as u64 == offset;
        if contiguous && self.pending.len() + data.len() <= COALESCE_BYTES {
            self.pending.extend_from_slice(data);
            return Ok(());
        }
        self.flush()?;
        if data.len() >= COALESCE_BYTES {
            self.file.write_all_at(data, offset)?;
            self.pending_at = offset + data.len() as u64;
        } else {
            self.pending_at = offset;
            self.pending.extend_from_slice(data);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.file.write_all_at(&self.pending, self.pending_at)?;
            self.pending_at += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }
}

/// An in-memory output, for tests and the fuzz checks.
#[derive(Default)]
pub(crate) struct VecSink {
    pub bytes: Vec<u8>,
}

impl Sink for VecSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let start = usize::try_from(offset).map_err(|_| crate::ErrorKind::Overflow {
            what: "output offset",
        })?;
        let end = start + data.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        if let Some(dst) = self.bytes.get_mut(start..end) {
            dst.copy_from_slice(data);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
