//! Arrays in object storage (feature `remote`): `.npy` objects on S3, GCS,
//! Azure, HTTP(S) servers and `file://` URLs, read with ranged GETs of
//! exactly the bytes asked for.
//!
//! Built on Apache Arrow's [`object_store`] crate: it owns the clients,
//! credentials (from the environment, `AWS_*`, `GOOGLE_*`, `AZURE_*`, plus
//! [`RemoteOptions::store_options`]) and retries with backoff. npymap adds
//! the request pattern: the header in one GET of the first 64 KiB, then one
//! ranged GET per part of a read. [`RemoteNpy`] blocks (on a runtime the
//! crate owns); [`AsyncRemoteNpy`] is the same for tokio callers. The
//! request pattern, limits and choices are in the repository's
//! `spec/remote.md`.
//!
//! Header and length checks are the local ones ([`Header::parse_with`],
//! [`npy::check_payload`]): a hostile object fails exactly as the same
//! bytes in a local file do, with the URL in front of the message.
//!
//! [`Header::parse_with`]: crate::Header::parse_with
//! [`npy::check_payload`]: crate::npy::check_payload

mod npy;
mod npz;
mod reader;
mod store;
mod write;
// --- rlib ---
mod async_npz;
mod async_write;
mod field;

pub use npy::{AsyncRemoteNpy, RemoteNpy};
pub use npz::{
    NPZ_COALESCE_GAP, NPZ_HEADER_WINDOW, NPZ_PREFETCH_LIMIT, NPZ_TAIL_LEN, RemoteFile, RemoteNpz,
};
pub use reader::{DEFAULT_READ_AHEAD, RemoteReader};
pub use store::{
    DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, HEAD_FETCH_LEN, Location, RemoteOptions, TransferStats,
    copy_to, copy_to_with, is_url,
};
pub use write::{RemoteNpzWriter, RemoteWriter, StagedUpload, create_npz, write};
// --- rlib ---
pub use async_npz::AsyncRemoteNpz;
pub use async_write::{AsyncRemoteWriter, write_async};
pub use field::FIELD_COALESCE_GAP;

/// The [`object_store`](https://docs.rs/object_store) crate the remote
/// layer is built on, re-exported so [`Location::new`] can be given a
/// store client of exactly the version npymap uses.
pub use object_store;
