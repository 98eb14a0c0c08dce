//! A blocking `Read + Seek` over a remote object, so the crate's own
//! stream-based parsers (the zip directory, `.npz` members, headers) run
//! unchanged on it: reads are served from a few cached read-ahead blocks,
//! and a miss costs one ranged GET (a read larger than a block goes
//! straight into the caller's buffer, in concurrent parts).

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};

use bytes::Bytes;

use crate::error::{ErrorKind, Result};

use super::store::{Location, block_on};

/// Blocks kept (each at most `read_ahead` bytes).
const MAX_BLOCKS: usize = 16;

/// Default read-ahead of one cache miss (64 KiB): a zip local header and
/// the `.npy` header after it, and usually several small members.
pub const DEFAULT_READ_AHEAD: u64 = 64 << 10;

/// A blocking reader over a remote object with read-ahead (see the module
/// docs). Each call blocks on the runtime the crate owns.
#[derive(Debug)]
pub struct RemoteReader {
    loc: Location,
    size: u64,
    pos: u64,
    blocks: VecDeque<(u64, Bytes)>,
    /// Ranges fetched ahead by [`RemoteReader::prefetch`], sorted by start
    /// and disjoint; kept until [`RemoteReader::drop_prefetched`].
    prefetched: Vec<(u64, Bytes)>,
    read_ahead: u64,
    runner: Runner,
}

/// Where a [`RemoteReader`]'s requests run: on the runtime the blocking
/// API owns, or (for the async API, from a `spawn_blocking` thread) on
/// the caller's runtime.
#[derive(Debug, Clone)]
pub(crate) enum Runner {
    /// The crate's own runtime ([`block_on`]).
    Own,
    /// The caller's tokio runtime, blocked on from one of its blocking
    /// threads (`spawn_blocking`; never from an async task).
    Caller,
}

impl Runner {
    fn run<F: std::future::Future>(&self, fut: F) -> Result<F::Output> {
        match self {
            Runner::Own => block_on(fut),
            Runner::Caller => match tokio::runtime::Handle::try_current() {
                Ok(h) => Ok(h.block_on(fut)),
                Err(_) => Err(ErrorKind::Unsupported(
                    "an async remote reader was used outside its tokio runtime".into(),
                )
                .into()),
            },
        }
    }
}

impl RemoteReader {
    /// Opens `loc` with one GET of its last `tail_len` bytes (the object's
    /// size comes with them); those bytes stay cached. A zip archive's end
    /// records and, when small, its central directory, are in one request.
    ///
    /// # Errors
    /// `Io` naming the URL.
    pub fn open_tail(loc: Location, tail_len: u64) -> Result<RemoteReader> {
        let (start, bytes, size) = block_on(loc.get_tail(tail_len))?.map_err(|e| loc.err(e))?;
        Ok(RemoteReader::from_tail(
            loc,
            start,
            bytes,
            size,
            Runner::Own,
        ))
    }

    /// A reader over an object of `size` bytes whose bytes from `start`
    /// on (`bytes`) were already fetched; they stay cached.
    pub(crate) fn from_tail(
        loc: Location,
        start: u64,
        bytes: Bytes,
        size: u64,
        runner: Runner,
    ) -> RemoteReader {
        let mut blocks = VecDeque::new();
        if !bytes.is_empty() {
            blocks.push_back((start, bytes));
        }
        RemoteReader {
            loc,
            size,
            pos: 0,
            blocks,
            prefetched: Vec::new(),
            read_ahead: DEFAULT_READ_AHEAD,
            runner,
        }
    }

    /// Sets the bytes fetched by one cache miss (at least 1).
    #[must_use]
    pub fn with_read_ahead(mut self, read_ahead: u64) -> RemoteReader {
        self.read_ahead = read_ahead.max(1);
        self
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The location read.
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// Where the bytes cached at open (the tail) start: everything from
    /// there to the object's end is held.
    pub(crate) fn tail_start(&self) -> u64 {
        self.blocks.front().map_or(self.size, |(start, _)| *start)
    }

    /// Fetches `ranges` (sorted, disjoint, inside the object) with one
    /// GET each, `concurrency` in flight, and keeps them until
    /// [`RemoteReader::drop_prefetched`]: reads inside them then cost no
    /// request. Empty ranges are skipped.
    ///
    /// # Errors
    /// `Io` naming the URL when a GET fails (after its retries),
    /// `Truncated` when the object is shorter than the ranges.
    pub(crate) fn prefetch(&mut self, ranges: &[std::ops::Range<u64>]) -> Result<()> {
        use futures::{StreamExt as _, TryStreamExt as _};
        let loc = &self.loc;
        let jobs =
            ranges
                .iter()
                .filter(|r| r.start < r.end)
                .map(|r| async move {
                    Ok::<_, crate::Error>((r.start, loc.get_exact(r.clone()).await?))
                });
        let mut got: Vec<(u64, Bytes)> = block_on(
            futures::stream::iter(jobs)
                .buffer_unordered(loc.options().concurrency())
                .try_collect(),
        )?
        .map_err(|e| loc.err(e))?;
        self.prefetched.append(&mut got);
        self.prefetched.sort_by_key(|(start, _)| *start);
        Ok(())
    }

    /// Frees what [`RemoteReader::prefetch`] holds.
    pub(crate) fn drop_prefetched(&mut self) {
        self.prefetched = Vec::new();
    }

    fn cached(&self, pos: u64) -> Option<&[u8]> {
        if let Some(hit) = self.blocks.iter().find_map(|block| rest_of(block, pos)) {
            return Some(hit);
        }
        // The last prefetched range starting at or before `pos`.
        let i = self.prefetched.partition_point(|(start, _)| *start <= pos);
        rest_of(self.prefetched.get(i.checked_sub(1)?)?, pos)
    }
}

/// The bytes of `block` (its start and bytes) from object offset `pos` on,
/// if it holds `pos`.
fn rest_of((start, b): &(u64, Bytes), pos: u64) -> Option<&[u8]> {
    let skip = usize::try_from(pos.checked_sub(*start)?).ok()?;
    b.get(skip..).filter(|rest| !rest.is_empty())
}

impl Read for RemoteReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.pos);
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let Some(out) = buf.get_mut(..want).filter(|o| !o.is_empty()) else {
            return Ok(0);
        };
        if let Some(hit) = self.cached(self.pos) {
            let n = hit.len().min(out.len());
            if let (Some(o), Some(h)) = (out.get_mut(..n), hit.get(..n)) {
                o.copy_from_slice(h);
            }
            self.pos += n as u64;
            return Ok(n);
        }
        if out.len() as u64 >= self.read_ahead {
            // A big read: straight into the caller's buffer, in parts.
            self.runner
                .run(self.loc.read_into(self.pos, out))
                .and_then(|r| r)
                .map_err(|e| io::Error::from(self.loc.err(e)))?;
            self.pos += out.len() as u64;
            return Ok(out.len());
        }
        let end = self.pos.saturating_add(self.read_ahead).min(self.size);
        let block = self
            .runner
            .run(self.loc.get_exact(self.pos..end))
            .and_then(|r| r)
            .map_err(|e| io::Error::from(self.loc.err(e)))?;
        let n = block.len().min(out.len());
        if let (Some(o), Some(b)) = (out.get_mut(..n), block.get(..n)) {
            o.copy_from_slice(b);
        }
        if self.blocks.len() >= MAX_BLOCKS {
            self.blocks.pop_front();
        }
        self.blocks.push_back((self.pos, block));
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let new = new.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the object's start",
            )
        })?;
        self.pos = new;
        Ok(new)
    }
}
