//! `.npz` archives in a store, for async callers: the archive is listed
//! and checked by the crate's own zip-directory parser ([`NpzReader`]),
//! run on one of the caller's runtime's blocking threads; stored members
//! are read by row range with async ranged GETs straight from the archive.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use crate::array::Array;
use crate::error::{Error, ErrorKind, Result};
use crate::npz::{Member, NpzOptions, NpzReader};
use crate::typed::ReadElement;

use super::npy::AsyncRemoteNpy;
use super::npz::NPZ_TAIL_LEN;
use super::reader::{RemoteReader, Runner};
use super::store::{Location, RemoteOptions, TransferStats};

/// A `.npz` object opened for reading, for async callers (a tokio runtime
/// must be running). [`RemoteNpz`](super::RemoteNpz) is the blocking form;
/// both make the same requests and give the same results and errors.
///
/// Opening costs one GET of the archive's last [`NPZ_TAIL_LEN`] bytes,
/// then one GET per 64 KiB block of central directory, local headers and
/// member `.npy` headers not yet fetched (the listing and its checks run
/// on a blocking thread of the caller's runtime). Row reads of stored
/// members are async ranged GETs of exactly the rows' bytes.
///
/// # Examples
/// ```no_run
/// # async fn f() -> npymap::Result<()> {
/// use npymap::remote::{AsyncRemoteNpz, RemoteOptions};
/// let npz = AsyncRemoteNpz::open("s3://bucket/shards.npz", &RemoteOptions::default()).await?;
/// let x = npz.read_rows::<f32>("x", 0..100).await?; // a stored member: one ranged GET
/// let y = npz.read_array::<i64>("y").await?; // whole member, CRC checked
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncRemoteNpz {
    npz: Arc<Mutex<NpzReader<RemoteReader>>>,
    members: crate::npz::Members,
    loc: Location,
    size: u64,
}

/// The caller's runtime, or `Unsupported` outside one.
fn caller() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current().map_err(|_| {
        ErrorKind::Unsupported("the async remote API needs a tokio runtime".into()).into()
    })
}

/// A blocking task's failure (a panic inside it) as an error.
fn joined(e: tokio::task::JoinError) -> Error {
    Error::from(std::io::Error::other(format!(
        "remote archive task failed: {e}"
    )))
}

impl AsyncRemoteNpz {
    /// Opens and lists the archive at `url`.
    ///
    /// # Errors
    /// `Io` naming the URL, every error of [`NpzReader::new`] (`Zip`,
    /// `UnsafeName`, `DuplicateMember`, a member's `.npy` error...), and
    /// `Unsupported` outside a tokio runtime.
    pub async fn open(url: &str, opts: &RemoteOptions) -> Result<AsyncRemoteNpz> {
        let loc = Location::parse(url, opts)?;
        AsyncRemoteNpz::open_at(loc).await
    }

    /// [`AsyncRemoteNpz::open`] on a location already built.
    ///
    /// # Errors
    /// As [`AsyncRemoteNpz::open`].
    pub async fn open_at(loc: Location) -> Result<AsyncRemoteNpz> {
        let run = async {
            let handle = caller()?;
            let (start, bytes, size) = loc.get_tail(NPZ_TAIL_LEN).await?;
            let reader = RemoteReader::from_tail(loc.clone(), start, bytes, size, Runner::Caller);
            let opts = NpzOptions {
                parse: loc.options().parse,
                ..NpzOptions::default()
            };
            let npz = handle
                .spawn_blocking(move || NpzReader::with_options(reader, opts))
                .await
                .map_err(joined)??;
            Ok(AsyncRemoteNpz {
                members: crate::npz::Members::new(npz.members().to_vec()),
                npz: Arc::new(Mutex::new(npz)),
                loc: loc.clone(),
                size,
            })
        };
        run.await.map_err(|e: Error| loc.err(e))
    }

    /// The members in archive order.
    pub fn members(&self) -> &[Member] {
        self.members.as_slice()
    }

    /// The member with key `name` (`"x"`) or file name (`"x.npy"`).
    ///
    /// # Errors
    /// `MemberNotFound`.
    pub fn member(&self, name: &str) -> Result<&Member> {
        self.members.find(name).map_err(|e| self.loc.err(e))
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> TransferStats {
        self.loc.stats()
    }

    /// The archive's size in bytes.
    pub fn object_size(&self) -> u64 {
        self.size
    }

    /// The location (URL, store, options).
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// A stored member as an [`AsyncRemoteNpy`] over its bytes inside the
    /// archive: element, row and field reads fetch only their bytes.
    ///
    /// # Errors
    /// `MemberNotFound`, `NotStored` for a deflated member.
    pub fn member_npy(&self, name: &str) -> Result<AsyncRemoteNpy> {
        let m = self.member(name)?;
        let range = m.npy_range().ok_or_else(|| {
            self.loc.err(
                Error::new(ErrorKind::NotStored {
                    compression: m.compression().as_str(),
                })
                .in_member(m.file_name()),
            )
        })?;
        Ok(AsyncRemoteNpy::at_offset(
            self.loc.clone(),
            m.header().clone(),
            self.size,
            range.start,
        ))
    }

    /// Rows `rows` of a stored member (see [`AsyncRemoteNpy::read_rows`]),
    /// read straight from the archive without fetching the rest of it.
    ///
    /// # Errors
    /// As [`AsyncRemoteNpz::member_npy`] and [`AsyncRemoteNpy::read_rows`].
    pub async fn read_rows<T: ReadElement>(
        &self,
        name: &str,
        rows: Range<u64>,
    ) -> Result<Array<T>> {
        self.member_npy(name)?
            .read_rows(rows)
            .await
            .map_err(|e| e.in_member(name))
    }

    /// Reads a whole member as an owned array, with every check of
    /// [`NpzReader::read_array`] (declared size, CRC-32, inflation
    /// bounds); a deflated member is streamed through the inflater. Runs
    /// on a blocking thread of the caller's runtime; reads of one archive
    /// handle (and its clones) take turns.
    ///
    /// # Errors
    /// As [`NpzReader::read_array`], naming the URL; `Unsupported`
    /// outside a tokio runtime.
    pub async fn read_array<T: ReadElement + Send + 'static>(
        &self,
        name: &str,
    ) -> Result<Array<T>> {
        let run = async {
            let handle = caller()?;
            let npz = Arc::clone(&self.npz);
            let name = name.to_string();
            handle
                .spawn_blocking(move || {
                    let mut npz = npz.lock().map_err(|_| {
                        Error::from(std::io::Error::other(
                            "an earlier read of this archive panicked",
                        ))
                    })?;
                    npz.read_array::<T>(&name)
                })
                .await
                .map_err(joined)?
        };
        run.await.map_err(|e| self.loc.err(e))
    }

    /// A member's whole `.npy` bytes (header included), inflated if
    /// needed and checked as [`NpzReader::read`] does.
    ///
    /// # Errors
    /// As [`NpzReader::read`], naming the URL.
    pub async fn read(&self, name: &str) -> Result<Vec<u8>> {
        let run = async {
            let handle = caller()?;
            let npz = Arc::clone(&self.npz);
            let name = name.to_string();
            handle
                .spawn_blocking(move || {
                    let mut npz = npz.lock().map_err(|_| {
                        Error::from(std::io::Error::other(
                            "an earlier read of this archive panicked",
                        ))
                    })?;
                    npz.read(&name)
                })
                .await
                .map_err(joined)?
        };
        run.await.map_err(|e| self.loc.err(e))
    }
}
