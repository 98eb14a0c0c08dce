//! Writing files so that a reader sees either the old file or the complete
//! new one, never a partial one: the crate's single mechanism, used by
//! `npy::save`, the npz writer, append rewrites and every conversion.
//!
//! The bytes go to a temporary file (`.npymap-*.tmp`) in the target's
//! directory, which is renamed over the target on [`AtomicFile::commit`].
//! How hard the write tries to survive a crash or power cut is a
//! [`Durability`]: rename only (like `np.save` and `cp`), or sync the file
//! before the rename and the directory after it. Dropped without
//! committing — an error, a panic in a callback, an interrupted command —
//! the temporary file is removed and the target is untouched. A process
//! killed by a signal does not unwind; [`remove_pending`] is for its signal
//! handler (the CLI installs one for Ctrl-C and SIGTERM). Renaming also
//! leaves the old inode alive, so a memory map of the old file (IN == OUT)
//! stays valid.
//!
//! Before anything is written the target is checked: it must
//! be absent or a regular file (a device, FIFO, socket or directory is
//! refused, never replaced); a symlink is followed to its final target,
//! which is replaced in its own directory; an existing file with no write
//! permission bit, or one that cannot be opened for writing, is refused;
//! the replacement gets the old file's permission bits and, where the
//! process may, its owner and group. Files modified in place (`append`,
//! `recover`) are locked with `flock`, so concurrent appends queue.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// How hard a write tries to survive a crash or power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Temp file, then rename: readers see the old file or the whole new
    /// one, but nothing is forced to disk, so a power cut soon after may
    /// lose the new contents (and, when replacing, the old ones). What
    /// `np.save` and `cp` do. The library's default.
    #[default]
    Atomic,
    /// Temp file, `fsync` of it, rename, `fsync` of the directory: the new
    /// file survives a crash once the call returns. Costs a full write-back.
    Durable,
    /// [`Durability::Durable`] when the target already exists (a file the
    /// user has is being replaced or grown), [`Durability::Atomic`] for a
    /// brand-new file. The CLI's default.
    DurableWhenReplacing,
}

impl Durability {
    /// Whether a write to a target that exists (`true`) or not is synced.
    pub fn syncs(self, replacing: bool) -> bool {
        match self {
            Durability::Atomic => false,
            Durability::Durable => true,
            Durability::DurableWhenReplacing => replacing,
        }
    }
}

/// Where a write to a path lands, checked before anything is written
/// ([`Target::resolve`]).
#[derive(Debug)]
pub(crate) struct Target {
    /// The path that is replaced: the given path, or the final target of a
    /// symlink.
    pub(crate) path: PathBuf,
    /// The regular file being replaced, if there is one.
    pub(crate) existing: Option<Metadata>,
}

/// An `Io` error with `message`, naming `path`.
fn refuse(path: &Path, kind: io::ErrorKind, message: String) -> Error {
    Error::from(io::Error::new(kind, message)).in_path(path)
}

/// The refusal of a non-regular OUT.
fn not_regular(path: &Path, md: &Metadata) -> Error {
    refuse(
        path,
        io::ErrorKind::InvalidInput,
        format!(
            "{}, not a regular file: refusing to replace it",
            file_kind(&md.file_type())
        ),
    )
}

/// What a file that is not a regular file is, for messages about
/// inputs and outputs alike ("a directory", "a pipe or FIFO", ...).
pub(crate) fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a pipe or FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

impl Target {
    /// Checks `path` as an output that will be created or replaced: absent,
    /// or a regular file that may be written. A symlink is followed to its
    /// final target (a dangling one is refused). A device, FIFO, socket or
    /// directory is refused; so is an existing file with no write
    /// permission bit at all (even for root, as `np.save` would be refused
    /// by a normal user) or one that cannot be opened for writing. Errors
    /// name `path`.
    ///
    /// For a later in-place writer (`npz::unpack`, say) this is "prepare a
    /// replacement of this existing path"; [`Target::adopt`] then copies the
    /// old file's mode and owner onto the new one.
    ///
    /// # Errors
    /// `Io`, naming `path`.
    pub(crate) fn resolve(path: &Path) -> Result<Target> {
        let md = match std::fs::symlink_metadata(path) {
            Ok(md) => md,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Target {
                    path: path.to_path_buf(),
                    existing: None,
                });
            }
            Err(e) => return Err(Error::from(e).in_path(path)),
        };
        let (real, md) = if md.file_type().is_symlink() {
            // What the link leads to first (a `/proc/self/fd/1` link to a
            // pipe has no path to canonicalize, but it is a FIFO).
            let md = std::fs::metadata(path).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    refuse(
                        path,
                        io::ErrorKind::NotFound,
                        "a symlink whose target does not exist: refusing to write through it"
                            .into(),
                    )
                } else {
                    Error::from(e).in_path(path)
                }
            })?;
            if !md.file_type().is_file() {
                return Err(not_regular(path, &md));
            }
            let real = std::fs::canonicalize(path).map_err(|e| Error::from(e).in_path(path))?;
            (real, md)
        } else {
            (path.to_path_buf(), md)
        };
        if !md.file_type().is_file() {
            return Err(not_regular(path, &md));
        }
        if md.permissions().mode() & 0o222 == 0 {
            return Err(refuse(
                path,
                io::ErrorKind::PermissionDenied,
                "read-only file (no write permission): refusing to replace it".into(),
            ));
        }
        // The permission check the kernel makes for this user (owner, ACLs,
        // read-only mounts). Opening a regular file without truncating it
        // changes nothing.
        OpenOptions::new()
            .write(true)
            .open(&real)
            .map_err(|e| Error::from(e).in_path(path))?;
        Ok(Target {
            path: real,
            existing: Some(md),
        })
    }

    /// Gives `file` (the replacement) the replaced file's permission bits
    /// and, where the process may, its owner and group. Nothing for a new
    /// file.
    ///
    /// # Errors
    /// `Io` from setting the permission bits (a failed `chown` is ignored:
    /// only root may give a file away).
    pub(crate) fn adopt(&self, file: &File) -> Result<()> {
        if let Some(md) = &self.existing {
            let _ = std::os::unix::fs::fchown(file, Some(md.uid()), Some(md.gid()));
            file.set_permissions(std::fs::Permissions::from_mode(md.mode() & 0o777))?;
        }
        Ok(())
    }
}

/// Syncs the directory `dir`, so a rename in it survives a crash. Best
/// effort: some file systems refuse to sync a directory, and the data
/// itself is already synced by then.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Sets `file`'s length to `len` and reserves its blocks (`fallocate`),
/// so a disk too small for the output fails here, before any payload is
/// written, and scattered writes (a transpose window's rows) land in
/// allocated blocks instead of growing a sparse file block by block. A
/// file system without `fallocate` keeps the sparse length: the
/// reservation is an optimisation, never a requirement.
///
/// # Errors
/// `Io`: the length cannot be set, or the space is not there (`ENOSPC`,
/// `EDQUOT`, `EFBIG`).
pub(crate) fn set_len_reserved(file: &File, len: u64) -> Result<()> {
    file.set_len(len)?;
    fallocate_optional(file, false, len)
}

/// Reserves the blocks of `file`'s first `len` bytes without changing its
/// length (`fallocate` with `FALLOC_FL_KEEP_SIZE`), as NumPy's `tofile`
/// does before it writes a payload: ext4 then allocates the extents once
/// instead of page by page as the data arrives (`npy::save` of 1 GiB:
/// 0.219 s -> about 0.19 s), and a disk too small for the file fails here,
/// before any payload is written. Optional like [`set_len_reserved`].
///
/// # Errors
/// `Io`: the space is not there (`ENOSPC`, `EDQUOT`, `EFBIG`).
pub(crate) fn reserve(file: &File, len: u64) -> Result<()> {
    fallocate_optional(file, true, len)
}

/// `fallocate(file, mode, 0, len)`, where a file system without it (or an
/// interrupted call) is not an error.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    allow(unused_variables)
)]
fn fallocate_optional(file: &File, keep_size: bool, len: u64) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if len > 0 {
        use rustix::fs::FallocateFlags;
        use rustix::io::Errno;
        let mode = if keep_size {
            FallocateFlags::KEEP_SIZE
        } else {
            FallocateFlags::empty()
        };
        match rustix::fs::fallocate(file, mode, 0, len) {
            Ok(()) => {}
            // Not supported here (tmpfs before 2.6.38, FUSE, NFSv3, ...),
            // or interrupted: write into the sparse file as before.
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL | Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e).into()),
        }
    }
    Ok(())
}

/// Opens the existing regular file at `path` for reading and writing and
/// takes an exclusive `flock` on it, waiting for other holders (another
/// `append` or `recover` of the same file). A file replaced by rename while
/// we waited is opened again, so the lock is always on the file `path`
/// names now. The lock is released when the `File` is closed.
///
/// # Errors
/// `Io` (the checks of [`Target::resolve`] included), naming `path`.
pub(crate) fn open_locked(path: &Path) -> Result<File> {
    let run = || -> Result<File> {
        let target = Target::resolve(path)?;
        if target.existing.is_none() {
            return Err(io::Error::from(io::ErrorKind::NotFound).into());
        }
        for _ in 0..1000 {
            let file = OpenOptions::new().read(true).write(true).open(path)?;
            file.lock()?;
            let now = std::fs::metadata(path)?;
            let held = file.metadata()?;
            if (now.dev(), now.ino()) == (held.dev(), held.ino()) {
                return Ok(file);
            }
        }
        Err(io::Error::other("the file kept being replaced while waiting for its lock").into())
    };
    run().map_err(|e| e.in_path(path))
}

/// A file written under a temporary name beside its final path and renamed
/// into place by [`AtomicFile::commit`]. Writes through [`Write`] are
/// buffered; [`AtomicFile::file`] flushes them and gives the `File` for
/// positional writes.
pub struct AtomicFile {
    tmp: BufWriter<tempfile::NamedTempFile>,
    /// The path renamed over (a symlink's final target).
    target: PathBuf,
    /// The path the caller gave, for messages.
    shown: PathBuf,
    sync: bool,
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
            .field("sync", &self.sync)
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
/// the caller. The building block of `npz::unpack`, which stages every
/// member before renaming any. Errors name `dir` (never the temporary
/// file, whose name means nothing to a user).
pub(crate) fn temp_file_in(dir: &Path) -> Result<(tempfile::NamedTempFile, PendingGuard)> {
    temp_file(dir).map_err(|e| e.in_path(dir))
}

/// [`temp_file_in`] with errors that name no path: [`AtomicFile`] names
/// the output instead.
fn temp_file(dir: &Path) -> Result<(tempfile::NamedTempFile, PendingGuard)> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".npymap-").suffix(".tmp");
    // What a plain `File::create` gives under the usual umask, instead of
    // the temp file's private 0600.
    builder.permissions(std::fs::Permissions::from_mode(0o644));
    let tmp = builder.tempfile_in(dir).map_err(without_temp_path)?;
    let guard = PendingGuard(Pending::new(tmp.path()));
    Ok((tmp, guard))
}

/// `tempfile` appends ` at path "<dir>/.npymap-XXXX.tmp"` to its errors;
/// the message keeps only the system's reason.
fn without_temp_path(e: io::Error) -> Error {
    let text = e.to_string();
    match text.rfind(" at path ") {
        Some(i) => io::Error::new(e.kind(), text.get(..i).unwrap_or(&text).to_owned()).into(),
        None => e.into(),
    }
}

/// Keeps a temporary file registered for [`remove_pending`] while alive.
pub(crate) struct PendingGuard(#[allow(dead_code)] Pending);

impl AtomicFile {
    /// Creates the temporary file for `target` with [`Durability::Atomic`].
    ///
    /// # Errors
    /// As [`AtomicFile::create_with`].
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        AtomicFile::create_with(target, Durability::Atomic)
    }

    /// Checks `target` (absent or a writable regular file; a symlink is
    /// followed to its final target) and creates the temporary file in the
    /// directory of the file that will be replaced, with the replaced
    /// file's mode and owner. [`AtomicFile::commit`] then syncs as
    /// `durability` says.
    ///
    /// # Errors
    /// `Io`, naming `target` (never the temporary file): `target` is a
    /// device, FIFO, socket, directory or dangling symlink, a read-only
    /// file, or its directory is missing or not writable.
    pub fn create_with(target: impl AsRef<Path>, durability: Durability) -> Result<Self> {
        let shown = target.as_ref();
        let run = || -> Result<Self> {
            let resolved = Target::resolve(shown)?;
            let (tmp, PendingGuard(pending)) = temp_file(parent_dir(&resolved.path))?;
            resolved.adopt(tmp.as_file())?;
            Ok(AtomicFile {
                tmp: BufWriter::with_capacity(1 << 16, tmp),
                sync: durability.syncs(resolved.existing.is_some()),
                target: resolved.path,
                shown: shown.to_path_buf(),
                _pending: pending,
            })
        };
        run().map_err(|e| e.in_path(shown))
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

    /// Flushes and renames the file to its final path, syncing as the
    /// [`Durability`] given to [`AtomicFile::create_with`] says (not at all
    /// for [`AtomicFile::create`]: like `np.save` and `cp`, a power cut may
    /// then lose the new file; see [`AtomicFile::commit_durable`]).
    ///
    /// # Errors
    /// `Io`, naming the final path.
    pub fn commit(self) -> Result<()> {
        let sync = self.sync;
        self.finish(sync)
    }

    /// As [`AtomicFile::commit`], and always syncs the file before the
    /// rename and the directory after it, so the new file survives a crash
    /// or power cut. Costs a full write-back of the file.
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
            if durable {
                sync_dir(parent_dir(&target));
            }
            Ok(())
        };
        run().map_err(|e| e.in_path(&self.shown))
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

/// Writes the file at `path` atomically ([`Durability::Atomic`]): `fill`
/// writes into the temporary file, which is committed only if `fill`
/// succeeds.
///
/// # Errors
/// What `fill` returns, or `Io`; on any error `path` is untouched and no
/// temporary file is left.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    write_atomic_with(path, Durability::Atomic, fill)
}

/// As [`write_atomic`], synced as `durability` says.
///
/// # Errors
/// As [`write_atomic`].
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let mut out = AtomicFile::create_with(path, durability)?;
    fill(out.file()?).map_err(|e| e.in_path(path))?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length is set, the bytes read as zeros, and on Linux file
    /// systems with `fallocate` (ext4, xfs, btrfs, tmpfs: the test and CI
    /// machines' temp directories) the blocks are allocated, not sparse.
    #[test]
    fn set_len_reserved_sets_the_length_and_allocates_the_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let len: u64 = 8 << 20;
        set_len_reserved(&file, len).unwrap();
        let md = file.metadata().unwrap();
        assert_eq!(md.len(), len);
        // Only where the temp directory's file system has fallocate (FUSE
        // and some network file systems do not: then the file stays sparse).
        #[cfg(target_os = "linux")]
        let probe = File::create(dir.path().join("probe")).unwrap();
        #[cfg(target_os = "linux")]
        if rustix::fs::fallocate(&probe, rustix::fs::FallocateFlags::empty(), 0, 4096).is_ok() {
            assert!(
                md.blocks() * 512 >= len,
                "{} bytes allocated for {len}",
                md.blocks() * 512
            );
        }
        assert!(std::fs::read(&path).unwrap().iter().all(|&b| b == 0));
        // Zero bytes: a length of zero, no fallocate (which refuses len 0).
        let empty = File::create(dir.path().join("empty")).unwrap();
        set_len_reserved(&empty, 0).unwrap();
        assert_eq!(empty.metadata().unwrap().len(), 0);
    }
}
