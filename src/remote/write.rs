//! Writing objects: a blocking [`Write`] over a multipart upload, so an
//! object appears whole (on [`RemoteWriter::finish`]) or not at all (the
//! upload is aborted on error or drop) — the object-store form of the temp
//! file and rename every local writer uses.

use std::io::{self, Seek, SeekFrom, Write};

use object_store::WriteMultipart;

use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;
use crate::npy::NpyWriter;
use crate::npz::{NpzWriter, Sink};
use crate::view::Element;

use super::store::{Location, RemoteOptions, block_on, store_error};

/// The smallest part S3 accepts (but for the last): 5 MiB.
pub(super) const MIN_PART: u64 = 5 << 20;

/// A blocking writer that uploads an object in parts as bytes arrive:
/// parts of `max(part_size, 5 MiB)`, up to `concurrency` in flight.
/// [`RemoteWriter::finish`] completes the upload (the object appears);
/// an error, [`RemoteWriter::abort`] or a drop without `finish` aborts it
/// (no object, uploaded parts deleted).
///
/// # Examples
/// ```no_run
/// use npymap::remote::{RemoteOptions, RemoteWriter};
/// use npymap::{Header, npy::NpyWriter};
/// let out = RemoteWriter::create("s3://bucket/out.npy", &RemoteOptions::default())?;
/// let mut w = NpyWriter::new(out, &Header::for_type::<f32>(&[3])?)?;
/// w.write_slice(&[1.0f32, 2.0, 3.0])?;
/// w.finish()?.finish()?; // the NpyWriter's checks, then the upload completes
/// # Ok::<(), npymap::Error>(())
/// ```
pub struct RemoteWriter {
    upload: Option<WriteMultipart>,
    loc: Location,
    written: u64,
}

impl std::fmt::Debug for RemoteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWriter")
            .field("url", &self.loc.url())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl RemoteWriter {
    /// Starts a multipart upload to `url` (one request).
    ///
    /// # Errors
    /// `Io` naming the URL (bad URL or options, refused credentials, a
    /// store that has no multipart upload, such as plain HTTP).
    pub fn create(url: &str, opts: &RemoteOptions) -> Result<RemoteWriter> {
        RemoteWriter::create_at(Location::parse(url, opts)?)
    }

    /// [`RemoteWriter::create`] on a location already built.
    ///
    /// # Errors
    /// As [`RemoteWriter::create`].
    pub fn create_at(loc: Location) -> Result<RemoteWriter> {
        let part = loc.options().part_size().max(MIN_PART);
        let part = usize::try_from(part).unwrap_or(usize::MAX);
        let store = loc.store().clone();
        let path = loc.path().clone();
        let upload =
            block_on(async move { store.put_multipart_opts(&path, Default::default()).await })?
                .map_err(|e| store_error(e, loc.url()))?;
        Ok(RemoteWriter {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, part)),
            loc,
            written: 0,
        })
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Uploads what is buffered and completes the upload: the object
    /// appears, whole.
    ///
    /// # Errors
    /// `Io` naming the URL; the upload is then aborted and no object
    /// appears.
    pub fn finish(mut self) -> Result<()> {
        let Some(upload) = self.upload.take() else {
            return Err(self.loc.err(dead()));
        };
        let url = self.loc.url().to_string();
        block_on(async move { upload.finish().await.map(|_| ()) })?
            .map_err(|e| store_error(e, &url))
    }

    /// Aborts the upload: no object appears and uploaded parts are deleted.
    ///
    /// # Errors
    /// `Io` when the store refuses the abort (parts may then linger until
    /// the bucket's lifecycle rules remove them).
    pub fn abort(mut self) -> Result<()> {
        self.abort_now()
    }

    fn abort_now(&mut self) -> Result<()> {
        match self.upload.take() {
            Some(upload) => block_on(upload.abort())?.map_err(|e| store_error(e, self.loc.url())),
            None => Ok(()),
        }
    }
}

fn dead() -> Error {
    ErrorKind::Unsupported("the upload was aborted after an earlier error".into()).into()
}

impl Write for RemoteWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let concurrency = self.loc.options().concurrency();
        let Some(upload) = self.upload.as_mut() else {
            return Err(self.loc.err(dead()).into());
        };
        let res = block_on(async {
            upload.wait_for_capacity(concurrency).await?;
            // Starts part uploads on the runtime as parts fill.
            upload.write(buf);
            Ok::<(), object_store::Error>(())
        });
        match res {
            Ok(Ok(())) => {
                self.written = self.written.saturating_add(buf.len() as u64);
                Ok(buf.len())
            }
            Ok(Err(e)) => {
                let err = store_error(e, self.loc.url());
                // Best effort: the first error is the one reported.
                let _ = self.abort_now();
                Err(err.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Parts go up as they fill; the last one only on `finish`.
        Ok(())
    }
}

impl Drop for RemoteWriter {
    fn drop(&mut self) {
        // Unfinished: abort, so no object and no parts are left. Inside an
        // async runtime this cannot block; the upload is then left to the
        // store's lifecycle rules (documented in spec/remote.md).
        let _ = self.abort_now();
    }
}

/// Writes `data` (C order) with `shape` as a `.npy` object at `url`, the
/// same bytes [`crate::write`] writes to a file, through one multipart
/// upload: the object appears whole or not at all.
///
/// # Errors
/// `ShapeMismatch`, `Unsupported` for a type that names no dtype, `Io`
/// naming the URL.
pub fn write<T: Element>(
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
    let out = RemoteWriter::create(url, opts)?;
    let mut w = NpyWriter::new(out, &header)?;
    w.write_slice(data)?;
    w.finish()?.finish()
}

/// Where a [`RemoteNpzWriter`] stages its archive: zip writing seeks back
/// to patch local headers, which an upload cannot, so the archive is built
/// in an unnamed local temp file (disk, not memory) and uploaded in parts
/// when finished.
#[derive(Debug)]
pub struct StagedUpload {
    file: std::fs::File,
    loc: Location,
}

impl Write for StagedUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for StagedUpload {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file.seek(to)
    }
}

impl Sink for StagedUpload {
    type Output = ();
    /// Uploads the staged archive through one multipart upload.
    fn complete(mut self) -> Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut out = RemoteWriter::create_at(self.loc.clone())?;
        let part = usize::try_from(self.loc.options().part_size().max(MIN_PART))
            .unwrap_or(usize::MAX)
            .min(64 << 20);
        let mut buf = vec![0u8; part];
        loop {
            let n = match io::Read::read(&mut self.file, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.loc.err(e.into())),
            };
            out.write_all(buf.get(..n).unwrap_or_default())?;
        }
        out.finish()
    }
}

/// An [`NpzWriter`] whose archive becomes the object at a URL when
/// finished (see [`StagedUpload`]); dropped or failed before that, no
/// object appears.
pub type RemoteNpzWriter = NpzWriter<StagedUpload>;

/// Starts a `.npz` archive that [`NpzWriter::finish`] uploads to `url`.
///
/// # Errors
/// `Io` naming the URL (bad URL or options) or the temp file.
///
/// # Examples
/// ```no_run
/// use npymap::npz::Compression;
/// use npymap::remote::{RemoteOptions, create_npz};
/// let mut npz = create_npz("s3://bucket/out.npz", &RemoteOptions::default())?;
/// npz.add_array("x", &[2], &[1.0f64, 2.0], Compression::Stored)?;
/// npz.finish()?; // one multipart upload of the whole archive
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn create_npz(url: &str, opts: &RemoteOptions) -> Result<RemoteNpzWriter> {
    let loc = Location::parse(url, opts)?;
    let file = tempfile::tempfile().map_err(|e| loc.err(e.into()))?;
    Ok(NpzWriter::new(StagedUpload { file, loc }))
}
