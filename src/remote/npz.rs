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

/// A `.npz` object opened for reading (blocking).
///
/// Opening costs one GET of the archive's last [`NPZ_TAIL_LEN`] bytes
/// (the whole archive when it is smaller), one more when the central
/// directory starts before them, then one GET per 64 KiB block of local
/// headers and member `.npy` headers that the cache does not hold: every
/// member's header is read and checked at open, as locally.
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
            let reader = RemoteReader::open_tail(loc.clone(), NPZ_TAIL_LEN)?;
            let size = reader.size();
            let opts = NpzOptions {
                parse: loc.options().parse,
                ..NpzOptions::default()
            };
            let npz = NpzReader::with_options(reader, opts)?;
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
