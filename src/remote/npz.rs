//! `.npz` archives in a store: the crate's own zip-directory parser and
//! member readers ([`NpzReader`]) over a [`RemoteReader`], so an archive
//! is listed and checked exactly as a local one; plus row reads of stored
//! members straight from the archive.

use std::ops::Range;

use crate::array::Array;
use crate::error::Result;
use crate::npz::{Member, NpzOptions, NpzReader};
use crate::typed::ReadElement;
use crate::view::Element;

use super::npy::{AsyncRemoteNpy, RemoteNpy};
use super::reader::RemoteReader;
use super::store::{Location, RemoteOptions, TransferStats};

/// The bytes the first GET of an archive takes from its end: the longest
/// end-of-central-directory record with its comment (22 + 65,535 bytes),
/// which is how far back a zip reader must look for it.
pub const NPZ_TAIL_LEN: u64 = 22 + 0xFFFF;

/// Bytes fetched ahead at each member's local header when an archive is
/// listed: the local header (30 bytes + name + extra field) and the
/// member's `.npy` header after it, for all but unusually long headers.
pub const NPZ_HEADER_WINDOW: u64 = 4 << 10;

/// Header windows this close (or closer) are fetched by one GET with the
/// bytes between them: one request saved is worth up to 1 MiB of transfer
/// (a GET's latency on object stores is tens of milliseconds).
pub const NPZ_COALESCE_GAP: u64 = 1 << 20;

/// At most this many bytes are fetched ahead when an archive is listed
/// (windows and the gaps merged into them); the headers of members past
/// it are read on demand, one 64 KiB block per miss.
pub const NPZ_PREFETCH_LIMIT: u64 = 64 << 20;

/// The ranges to fetch ahead for header windows at `offsets` (any order,
/// duplicates allowed), in an object of `size` bytes whose bytes from
/// `held` on are already cached: each window is clamped to `..held`,
/// windows at most [`NPZ_COALESCE_GAP`] apart merge, ranges longer than
/// `part` are split into parts, and the total stays within `limit`
/// (windows that do not fit are left out, in offset order).
fn plan_windows(mut offsets: Vec<u64>, held: u64, part: u64, limit: u64) -> Vec<Range<u64>> {
    offsets.sort_unstable();
    offsets.dedup();
    let mut merged: Vec<Range<u64>> = Vec::new();
    let mut total = 0u64;
    for at in offsets {
        if at >= held {
            break;
        }
        let end = at.saturating_add(NPZ_HEADER_WINDOW).min(held);
        match merged.last_mut() {
            Some(last) if at <= last.end.saturating_add(NPZ_COALESCE_GAP) => {
                let grow = end.saturating_sub(last.end);
                if total.saturating_add(grow) > limit {
                    break;
                }
                last.end = last.end.max(end);
                total += grow;
            }
            _ => {
                let len = end - at;
                if total.saturating_add(len) > limit {
                    break;
                }
                merged.push(at..end);
                total += len;
            }
        }
    }
    merged
        .into_iter()
        .flat_map(|r| plan_windows_span(r, part))
        .collect()
}

/// Fetches ahead what listing the archive in `reader` will read: the
/// central directory where the tail GET did not hold it, then every
/// member's header window (see [`plan_windows`]), in concurrent GETs. An
/// archive whose end records or directory do not parse fetches nothing
/// more here: the listing then reports the error the same bytes give
/// locally.
///
/// # Errors
/// A failed GET.
fn prefetch_headers(reader: &mut RemoteReader) -> Result<()> {
    use crate::npz::zipdir;
    use std::io::{Seek as _, SeekFrom};
    let size = reader.size();
    let part = reader.location().options().part_size();
    let mut held = reader.tail_start();
    let Ok(dir) = zipdir::directory_span(reader, size) else {
        return Ok(());
    };
    let mut budget = NPZ_PREFETCH_LIMIT;
    if dir.start < held {
        let len = held - dir.start;
        if len > budget {
            return Ok(());
        }
        let cd = plan_windows_span(dir.start..held, part);
        reader.prefetch(&cd)?;
        budget -= len;
        held = dir.start;
    }
    let Ok(offsets) = zipdir::local_header_offsets(reader, size) else {
        return Ok(());
    };
    let windows = plan_windows(offsets, held, part, budget);
    reader.prefetch(&windows)?;
    reader.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// `span` in parts of at most `part` bytes.
fn plan_windows_span(span: Range<u64>, part: u64) -> Vec<Range<u64>> {
    let part = part.max(1);
    let mut parts = Vec::new();
    let mut from = span.start;
    while from < span.end {
        let to = from.saturating_add(part).min(span.end);
        parts.push(from..to);
        from = to;
    }
    parts
}

/// A `.npz` object opened for reading (blocking).
///
/// Opening costs one GET of the archive's last [`NPZ_TAIL_LEN`] bytes
/// (the whole archive when it is smaller), one more (per part) when the
/// central directory starts before them, then concurrent GETs of every
/// member's local header and `.npy` header: a window of
/// [`NPZ_HEADER_WINDOW`] bytes at each local header, windows at most
/// [`NPZ_COALESCE_GAP`] apart merged into one GET, at most
/// [`NPZ_PREFETCH_LIMIT`] bytes in all (members past it, and headers
/// longer than the window, are read on demand in 64 KiB blocks). A
/// 1,000-member NumPy archive of small arrays lists in 2 requests. Every
/// member's header is read and checked at open, as locally; the bytes
/// fetched ahead are dropped once it is listed.
///
/// # Examples
/// ```no_run
/// use npymap::remote::{RemoteNpz, RemoteOptions};
/// let mut npz = RemoteNpz::open("s3://bucket/shards.npz", &RemoteOptions::default())?;
/// for m in npz.members() {
///     println!("{}: {:?}", m.name(), m.header().header.shape);
/// }
/// let x = npz.read_rows::<f32>("x", 0..100)?; // a stored member: one ranged GET
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug)]
pub struct RemoteNpz {
    npz: NpzReader<RemoteReader>,
    loc: Location,
    size: u64,
}

impl RemoteNpz {
    /// Opens and lists the archive at `url`.
    ///
    /// # Errors
    /// `Io` naming the URL, and every error of [`NpzReader::new`] (`Zip`,
    /// `UnsafeName`, `DuplicateMember`, a member's `.npy` error...).
    pub fn open(url: &str, opts: &RemoteOptions) -> Result<RemoteNpz> {
        let loc = Location::parse(url, opts)?;
        RemoteNpz::open_at(loc)
    }

    /// [`RemoteNpz::open`] on a location already built.
    ///
    /// # Errors
    /// As [`RemoteNpz::open`].
    pub fn open_at(loc: Location) -> Result<RemoteNpz> {
        let run = || {
            let mut reader = RemoteReader::open_tail(loc.clone(), NPZ_TAIL_LEN)?;
            let size = reader.size();
            prefetch_headers(&mut reader)?;
            let opts = NpzOptions {
                parse: loc.options().parse,
                ..NpzOptions::default()
            };
            let mut npz = NpzReader::with_options(reader, opts)?;
            npz.parts_mut().0.drop_prefetched();
            Ok(RemoteNpz {
                npz,
                loc: loc.clone(),
                size,
            })
        };
        run().map_err(|e| loc.err(e))
    }

    /// The members in archive order.
    pub fn members(&self) -> &[Member] {
        self.npz.members()
    }

    /// The member with key `name` (`"x"`) or file name (`"x.npy"`).
    ///
    /// # Errors
    /// `MemberNotFound`.
    pub fn member(&self, name: &str) -> Result<&Member> {
        self.npz.member(name).map_err(|e| self.loc.err(e))
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> TransferStats {
        self.loc.stats()
    }

    /// The archive's size in bytes.
    pub fn object_size(&self) -> u64 {
        self.size
    }

    /// The reader underneath, for everything [`NpzReader`] does (member
    /// streams, raw `.npy` bytes, payloads).
    pub fn reader(&mut self) -> &mut NpzReader<RemoteReader> {
        &mut self.npz
    }

    /// Reads a whole member as an owned array, with every check of
    /// [`NpzReader::read_array`] (declared size, CRC-32, inflation bounds);
    /// a deflated member is streamed through the inflater.
    ///
    /// # Errors
    /// As [`NpzReader::read_array`], naming the URL.
    pub fn read_array<T: Element>(&mut self, name: &str) -> Result<Array<T>> {
        self.npz.read_array(name).map_err(|e| self.loc.err(e))
    }

    /// A stored member as a [`RemoteNpy`] over its bytes inside the
    /// archive: element and row reads fetch only their bytes.
    ///
    /// # Errors
    /// `MemberNotFound`, `NotStored` for a deflated member.
    pub fn member_npy(&self, name: &str) -> Result<RemoteNpy> {
        let m = self.member(name)?;
        let range = m.npy_range().ok_or_else(|| {
            self.loc.err(
                crate::error::Error::new(crate::error::ErrorKind::NotStored {
                    compression: m.compression().as_str(),
                })
                .in_member(m.file_name()),
            )
        })?;
        Ok(RemoteNpy::from_async(AsyncRemoteNpy::at_offset(
            self.loc.clone(),
            m.header().clone(),
            self.size,
            range.start,
        )))
    }

    /// Rows `rows` of a stored member (see [`RemoteNpy::read_rows`]), read
    /// straight from the archive without fetching the rest of the member.
    ///
    /// # Errors
    /// As [`RemoteNpz::member_npy`] and [`RemoteNpy::read_rows`].
    pub fn read_rows<T: ReadElement>(&self, name: &str, rows: Range<u64>) -> Result<Array<T>> {
        self.member_npy(name)?
            .read_rows(rows)
            .map_err(|e| e.in_member(name))
    }
}

/// A remote object opened by its content: a `.npy` or a `.npz`.
// One value per opened object, moved once: the size difference between the
// variants costs nothing worth a box (boxing either one only moves the lint
// to the other).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RemoteFile {
    /// A `.npy` object.
    Npy(RemoteNpy),
    /// A `.npz` archive.
    Npz(RemoteNpz),
}

impl RemoteFile {
    /// Opens the object at `url` and tells `.npy` from `.npz` by its first
    /// bytes: one GET of the first 64 KiB (which is also the `.npy`
    /// header); an archive then costs what [`RemoteNpz::open`] does.
    ///
    /// # Errors
    /// As [`RemoteNpy::open`] / [`RemoteNpz::open`]; `NotNpy` for
    /// anything else.
    pub fn open(url: &str, opts: &RemoteOptions) -> Result<RemoteFile> {
        let loc = Location::parse(url, opts)?;
        let head = super::store::block_on(async {
            let (head, size) = loc.get_head(super::store::HEAD_FETCH_LEN).await?;
            match crate::npy::detect(&head) {
                Ok(crate::npy::Format::Npz) => Ok(None),
                _ => AsyncRemoteNpy::from_head(loc.clone(), head, size)
                    .await
                    .map(Some),
            }
        })?
        .map_err(|e| loc.err(e))?;
        match head {
            Some(npy) => Ok(RemoteFile::Npy(RemoteNpy::from_async(npy))),
            None => RemoteNpz::open_at(loc).map(RemoteFile::Npz),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = NPZ_HEADER_WINDOW;
    const GAP: u64 = NPZ_COALESCE_GAP;

    #[test]
    fn close_windows_merge_and_far_ones_do_not() {
        let got = plan_windows(
            vec![5000, 0, 100, 5000],
            1 << 30,
            8 << 20,
            NPZ_PREFETCH_LIMIT,
        );
        assert_eq!(got, vec![0..5000 + K]);
        let far = K + GAP + 1;
        let got = plan_windows(vec![0, far], 1 << 30, 8 << 20, NPZ_PREFETCH_LIMIT);
        assert_eq!(got, [0..K, far..far + K]);
        let near = K + GAP;
        let got = plan_windows(vec![0, near], 1 << 30, 8 << 20, NPZ_PREFETCH_LIMIT);
        assert_eq!(got, vec![0..near + K]);
    }

    #[test]
    fn windows_stop_at_the_held_tail_and_split_into_parts() {
        // Clamped to the bytes already held; a window inside them is dropped.
        let got = plan_windows(vec![0, 3000, 9000], 6000, 8 << 20, NPZ_PREFETCH_LIMIT);
        assert_eq!(got, vec![0..6000]);
        let got = plan_windows(vec![0, 2 * K], 10 * K, K, NPZ_PREFETCH_LIMIT);
        assert_eq!(got, [0..K, K..2 * K, 2 * K..3 * K]);
        assert!(plan_windows(vec![], 100, 1, 1).is_empty());
        assert!(plan_windows(vec![u64::MAX], u64::MAX, 1, 1).is_empty());
    }

    #[test]
    fn the_prefetch_limit_bounds_windows_and_gaps() {
        // Merging the second window would pass the limit: it and the rest
        // are left for on-demand reads.
        let got = plan_windows(vec![0, GAP, 2 * GAP], 1 << 40, 8 << 20, GAP);
        assert_eq!(got, vec![0..K]);
        let got = plan_windows(vec![0, 1000], 1 << 40, 8 << 20, K + 1000);
        assert_eq!(got, vec![0..K + 1000]);
        let got = plan_windows(vec![0, 3 * GAP], 1 << 40, 8 << 20, 2 * K);
        assert_eq!(got, [0..K, 3 * GAP..3 * GAP + K]);
        let total: u64 = plan_windows(
            (0..100_000).map(|i| i * 3 * GAP).collect(),
            u64::MAX,
            8 << 20,
            NPZ_PREFETCH_LIMIT,
        )
        .iter()
        .map(|r| r.end - r.start)
        .sum();
        assert_eq!(total, NPZ_PREFETCH_LIMIT);
    }
}
