//! Writing files so that a reader sees either the old file or the complete
//! new one, never a partial one: the crate's single mechanism, used by
//! `npy::save`, the npz writer, append rewrites and every conversion.
//!
//! The bytes go to a temporary file (`.npymap-*.tmp`, mode 0644) in the
//! target's directory, which is synced and renamed over the target on
//! [`AtomicFile::commit`]. Dropped without committing — an error, a panic
//! in a callback, an interrupted command — the temporary file is removed
//! and the target is untouched. A process killed by a signal does not
//! unwind; [`remove_pending`] is for its signal handler (the CLI installs
//! one for Ctrl-C and SIGTERM). Renaming also leaves the old inode alive,
//! so a memory map of the old file (IN == OUT) stays valid.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// A file written under a temporary name beside its final path and renamed
/// into place by [`AtomicFile::commit`]. Writes through [`Write`] are
/// buffered; [`AtomicFile::file`] flushes them and gives the `File` for
/// positional writes.
pub struct AtomicFile {
    tmp: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
    _pending: Pending,
}

/// Temporary files not yet committed or dropped, so a process that is
/// being killed can remove them ([`remove_pending`]).
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Told of every path added to or removed from [`PENDING`], under its
/// lock (see [`observe_pending`]).
static OBSERVER: OnceLock<(PathHook, PathHook)> = OnceLock::new();

/// A function told of one pending path (see [`observe_pending`]).
type PathHook = fn(&Path);

/// Has `added` called with every pending temporary path now and with each
/// one registered later, and `removed` with each one unregistered, in order
/// (under the registry's lock), so that the caller can keep a copy that a
/// handler which must not take locks can read: the CLI's `SIGBUS` handler
/// removes temporary files with `unlink(2)` alone. One observer per
/// process; `false` if one was already set.
pub fn observe_pending(added: PathHook, removed: PathHook) -> bool {
    let v = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    let set = OBSERVER.set((added, removed)).is_ok();
    if set {
        v.iter().for_each(|p| added(p));
    }
    set
}

/// Registration of one temporary file in [`PENDING`], undone on drop.
struct Pending(PathBuf);

impl Pending {
    fn new(path: &Path) -> Pending {
        if let Ok(mut v) = PENDING.lock() {
            v.push(path.to_path_buf());
            if let Some((added, _)) = OBSERVER.get() {
                added(path);
            }
        }
        Pending(path.to_path_buf())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(mut v) = PENDING.lock()
            && let Some(i) = v.iter().position(|p| *p == self.0)
        {
            v.swap_remove(i);
            if let Some((_, removed)) = OBSERVER.get() {
                removed(&self.0);
            }
        }
    }
}

/// Removes every temporary file of an [`AtomicFile`] that is neither
/// committed nor dropped. For a signal handler: a process killed by
/// Ctrl-C does not unwind, so its temporary files would otherwise stay.
/// The targets are untouched, as on any failure.
pub fn remove_pending() {
    let paths = match PENDING.lock() {
        Ok(v) => v.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

impl std::fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The directory a file at `path` lives in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A registered temporary file (`.npymap-*.tmp`, mode 0644) in `dir`:
/// removed when dropped, by [`remove_pending`] on a signal, or renamed by
/// the caller. The building block of [`AtomicFile`], and of `npz::unpack`,
/// which stages every member before renaming any.
pub(crate) fn temp_file_in(dir: &Path) -> Result<(tempfile::NamedTempFile, PendingGuard)> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".npymap-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // What a plain `File::create` gives under the usual umask, instead
        // of the temp file's private 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let tmp = builder
        .tempfile_in(dir)
        .map_err(|e| Error::from(e).in_path(dir))?;
    let guard = PendingGuard(Pending::new(tmp.path()));
    Ok((tmp, guard))
}

/// Keeps a temporary file registered for [`remove_pending`] while alive.
pub(crate) struct PendingGuard(#[allow(dead_code)] Pending);

impl AtomicFile {
    /// Creates the temporary file in `target`'s directory.
    ///
    /// # Errors
    /// `Io`, naming `target`.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref();
        let (tmp, PendingGuard(pending)) =
            temp_file_in(parent_dir(target)).map_err(|e| e.in_path(target))?;
        Ok(AtomicFile {
            tmp: BufWriter::with_capacity(1 << 16, tmp),
            target: target.to_path_buf(),
            _pending: pending,
        })
    }

    /// Flushes buffered writes and returns the temporary file, for
    /// positional writes (`pwrite`) and `set_len`.
    ///
    /// # Errors
    /// `Io` from flushing.
    pub fn file(&mut self) -> Result<&mut File> {
        self.tmp.flush()?;
        Ok(self.tmp.get_mut().as_file_mut())
    }

    /// Flushes and renames the file to its final path. Readers see the old
    /// file or the whole new one; like `np.save` and `cp`, nothing is forced
    /// to disk, so a power cut may lose the new file (see
    /// [`AtomicFile::commit_durable`]).
    ///
    /// # Errors
    /// `Io`, naming the final path.
    pub fn commit(self) -> Result<()> {
        self.finish(false)
    }

    /// As [`AtomicFile::commit`], and also syncs the file before the rename
    /// and the directory after it, so the new file survives a crash or power
    /// cut. Costs a full write-back of the file.
    ///
    /// # Errors
    /// `Io`, naming the final path.
    pub fn commit_durable(self) -> Result<()> {
        self.finish(true)
    }

    fn finish(self, durable: bool) -> Result<()> {
        let target = self.target;
        let run = || -> Result<()> {
            let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
            if durable {
                tmp.as_file().sync_all()?;
            }
            tmp.persist(&target).map_err(|e| e.error)?;
            if durable && let Ok(dir) = File::open(parent_dir(&target)) {
                let _ = dir.sync_all();
            }
            Ok(())
        };
        run().map_err(|e| e.in_path(&target))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.tmp.seek(pos)
    }
}

/// Writes the file at `path` atomically: `fill` writes into the temporary
/// file, which is committed only if `fill` succeeds.
///
/// # Errors
/// What `fill` returns, or `Io`; on any error `path` is untouched and no
/// temporary file is left.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let mut out = AtomicFile::create(path)?;
    fill(out.file()?).map_err(|e| e.in_path(path))?;
    out.commit()
}
