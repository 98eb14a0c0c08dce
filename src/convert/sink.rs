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

/// Shortest run written straight from the caller's bytes when it does not
/// continue the pending one.
const DIRECT_BYTES: usize = 4 << 10;

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
        // A run that starts elsewhere and is a page or more (the scattered
        // output rows of a transpose window) is written as it is: copying
        // it into the merge buffer first would copy every byte twice, and
        // a run that long costs little as a call of its own. Runs that
        // continue it are still merged.
        if data.len() >= DIRECT_BYTES {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of every size class, in and out of order, land where they were
    /// sent: a run of a page or more written straight from the caller's
    /// bytes, short runs merged, and a run that continues a direct one
    /// merged with what follows it.
    #[test]
    fn file_sink_writes_every_run_where_it_was_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let len = 3 * COALESCE_BYTES;
        let mut expected = vec![0u8; len];
        let mut file_sink = FileSink::new(&file);
        let mut vec_sink = VecSink::default();
        // (offset, length): scattered page-size runs, a direct run followed
        // by short runs that continue it, short scattered runs, a run
        // larger than the merge buffer, and one ending at the file's end.
        let runs: [(usize, usize); 9] = [
            (8192, DIRECT_BYTES),
            (65536, DIRECT_BYTES + 3),
            (65536 + DIRECT_BYTES + 3, 100),
            (65536 + DIRECT_BYTES + 103, 7),
            (100, 5),
            (105, DIRECT_BYTES * 2),
            (200_000, 1),
            (COALESCE_BYTES, COALESCE_BYTES + 17),
            (len - 10, 10),
        ];
        for (n, &(at, size)) in runs.iter().enumerate() {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 + n * 31 + 1) as u8).collect();
            expected[at..at + size].copy_from_slice(&data);
            file_sink.write_at(at as u64, &data).unwrap();
            vec_sink.write_at(at as u64, &data).unwrap();
        }
        file_sink.flush().unwrap();
        vec_sink.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(vec_sink.bytes, expected);
    }
}
