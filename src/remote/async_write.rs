//! Writing objects from async code: [`AsyncRemoteWriter`], the async twin
//! of [`RemoteWriter`](super::RemoteWriter) over a multipart upload (the
//! object appears whole on [`AsyncRemoteWriter::finish`], or not at all),
//! and [`write_async`], the twin of [`write`](super::write).

use std::sync::{Arc, Mutex};

use object_store::WriteMultipart;

use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;
use crate::npy::NpyWriter;
use crate::view::Element;

use super::store::{Location, RemoteOptions, block_on, store_error};
use super::write::MIN_PART;

/// An async writer that uploads an object in parts as bytes arrive:
/// parts of `max(part_size, 5 MiB)`, at most `concurrency` in flight
/// (a write waits for room before it starts another part).
/// [`AsyncRemoteWriter::finish`] completes the upload (the object
/// appears); an error or [`AsyncRemoteWriter::abort`] aborts it (no
/// object, uploaded parts deleted). Dropped unfinished inside a tokio
/// runtime, the abort is spawned on that runtime (it runs unless the
/// runtime shuts down first; the object never appears either way).
///
/// # Examples
/// ```no_run
/// # async fn f() -> npymap::Result<()> {
/// use npymap::remote::{AsyncRemoteWriter, RemoteOptions};
/// let mut out = AsyncRemoteWriter::create("s3://bucket/blob.bin", &RemoteOptions::default()).await?;
/// out.write_all(b"some bytes").await?;
/// out.finish().await?; // the object appears, whole
/// # Ok(()) }
/// ```
pub struct AsyncRemoteWriter {
    upload: Option<WriteMultipart>,
    loc: Location,
    written: u64,
    part: usize,
}

impl std::fmt::Debug for AsyncRemoteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRemoteWriter")
            .field("url", &self.loc.url())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

fn dead() -> Error {
    ErrorKind::Unsupported("the upload was aborted after an earlier error".into()).into()
}

impl AsyncRemoteWriter {
    /// Starts a multipart upload to `url` (one request).
    ///
    /// # Errors
    /// `Io` naming the URL (bad URL or options, refused credentials, a
    /// store that has no multipart upload, such as plain HTTP).
    pub async fn create(url: &str, opts: &RemoteOptions) -> Result<AsyncRemoteWriter> {
        AsyncRemoteWriter::create_at(Location::parse(url, opts)?).await
    }

    /// [`AsyncRemoteWriter::create`] on a location already built.
    ///
    /// # Errors
    /// As [`AsyncRemoteWriter::create`].
    pub async fn create_at(loc: Location) -> Result<AsyncRemoteWriter> {
        let part = loc.options().part_size().max(MIN_PART);
        let part = usize::try_from(part).unwrap_or(usize::MAX);
        let upload = loc
            .store()
            .put_multipart_opts(loc.path(), Default::default())
            .await
            .map_err(|e| store_error(e, loc.url()))?;
        Ok(AsyncRemoteWriter {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, part)),
            loc,
            written: 0,
            part,
        })
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The location written.
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// Writes all of `buf`; whole parts are uploaded as they fill, with
    /// at most `concurrency` in flight.
    ///
    /// # Errors
    /// `Io` naming the URL; the upload is then aborted (no object) and
    /// later calls fail.
    pub async fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        let concurrency = self.loc.options().concurrency();
        let Some(upload) = self.upload.as_mut() else {
            return Err(self.loc.err(dead()));
        };
        let mut failed = None;
        for piece in buf.chunks(self.part.max(1)) {
            if let Err(e) = upload.wait_for_capacity(concurrency).await {
                failed = Some(e);
                break;
            }
            // Starts a part upload when a part fills.
            upload.write(piece);
            self.written = self.written.saturating_add(piece.len() as u64);
        }
        match failed {
            None => Ok(()),
            Some(e) => {
                let err = store_error(e, self.loc.url());
                if let Some(upload) = self.upload.take() {
                    // Best effort: the first error is the one reported.
                    let _ = upload.abort().await;
                }
                Err(err)
            }
        }
    }

    /// Uploads what is buffered and completes the upload: the object
    /// appears, whole.
    ///
    /// # Errors
    /// `Io` naming the URL; the upload is then aborted and no object
    /// appears.
    pub async fn finish(mut self) -> Result<()> {
        let Some(upload) = self.upload.take() else {
            return Err(self.loc.err(dead()));
        };
        upload
            .finish()
            .await
            .map(|_| ())
            .map_err(|e| store_error(e, self.loc.url()))
    }

    /// Aborts the upload: no object appears and uploaded parts are deleted.
    ///
    /// # Errors
    /// `Io` when the store refuses the abort (parts may then linger until
    /// the bucket's lifecycle rules remove them).
    pub async fn abort(mut self) -> Result<()> {
        match self.upload.take() {
            Some(upload) => upload
                .abort()
                .await
                .map_err(|e| store_error(e, self.loc.url())),
            None => Ok(()),
        }
    }
}

impl Drop for AsyncRemoteWriter {
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        // Unfinished: abort, so no object and no parts are left. A drop
        // cannot await: inside a runtime the abort is spawned on it,
        // outside one it runs on the crate's runtime.
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(async move {
                    let _ = upload.abort().await;
                });
            }
            Err(_) => {
                let _ = block_on(upload.abort());
            }
        }
    }
}

/// The bytes an [`NpyWriter`] has written and not yet uploaded.
#[derive(Debug, Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl std::io::Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut v = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("upload buffer poisoned"))?;
        v.try_reserve(buf.len())
            .map_err(|_| std::io::Error::other("upload buffer allocation failed"))?;
        v.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `data` (C order) with `shape` as a `.npy` object at `url`, the
/// same bytes [`crate::write`] writes to a file, through one multipart
/// upload: the object appears whole or not at all. The elements are
/// encoded by [`NpyWriter`] (its checks included) one part at a time, so
/// memory beyond `data` stays at about `concurrency` parts.
///
/// # Errors
/// `ShapeMismatch`, `Unsupported` for a type that names no dtype, `Io`
/// naming the URL.
pub async fn write_async<T: Element>(
    url: &str,
    shape: &[usize],
    data: &[T],
    opts: &RemoteOptions,
) -> Result<()> {
    let header = Header::for_type::<T>(shape)?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(data.len()) {
        return Err(ErrorKind::ShapeMismatch {
            expected: format!("{shape:?}"),
            found: format!("{} elements", data.len()),
        }
        .into());
    }
    let mut out = AsyncRemoteWriter::create(url, opts).await?;
    let pending = Pending::default();
    let mut w = NpyWriter::new(pending.clone(), &header)?;
    let per_piece = (out.part / std::mem::size_of::<T>().max(1)).max(1);
    out.write_all(&pending.take()).await?;
    for piece in data.chunks(per_piece) {
        w.write_slice(piece)?;
        out.write_all(&pending.take()).await?;
    }
    w.finish()?;
    out.write_all(&pending.take()).await?;
    out.finish().await
}
