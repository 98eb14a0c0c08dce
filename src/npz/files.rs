//! Whole files: `.npy` files packed into an archive, and an archive unpacked
//! into a directory without ever writing outside it.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Compression, NpzReader, NpzWriter};
use crate::atomic::Durability;
use crate::error::{Error, ErrorKind, Result, snippet};
use crate::npy;

/// Writes the `.npy` files `inputs` (member name, path) into the archive
/// `out` as members `NAME.npy` (each header written as NumPy writes it, in
/// the input's format version), streaming each payload. `out` appears only
/// when every member was written (temp file plus rename); on error nothing is
/// left behind and the inputs are never modified. Deflated members are
/// compressed on every core (see [`pack_with_workers`]); the bytes are
/// those one thread writes.
///
/// # Errors
/// Any error of an input (`NotNpy`, header errors, `PayloadSize`, `Io`,
/// `ObjectDtype`: object arrays are a pickle and are not packed), naming its
/// path; `UnsafeName`, `DuplicateMember`; `Io` for `out`.
pub fn pack(
    out: &Path,
    inputs: &[(String, PathBuf)],
    compression: Compression,
    durability: Durability,
) -> Result<()> {
    // Deflated members are compressed on every core; the archive is the
    // same bytes as on one thread (tests/pack_parallel.rs).
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    pack_with_workers(out, inputs, compression, durability, workers)
}

/// Members whose `.npy` bytes exceed this are not compressed ahead of the
/// writer (that would hold them in memory): the writer thread streams them,
/// as a single thread does, while the workers go on with later members.
pub(crate) const PREPARE_MAX: u64 = 256 << 20;

/// [`pack`] with `workers` compression threads (deflated members only;
/// `0` and `1` compress on the calling thread). The archive is the same
/// bytes whatever `workers` is (`tests/pack_parallel.rs`): every path feeds
/// the deflater the same chunks.
///
/// # Errors
/// As [`pack`], the same error for the same inputs whatever `workers` is:
/// members are checked and written in argument order, the first failing
/// one gives the error.
#[doc(hidden)]
pub fn pack_with_workers(
    out: &Path,
    inputs: &[(String, PathBuf)],
    compression: Compression,
    durability: Durability,
    workers: usize,
) -> Result<()> {
    let mut npz = NpzWriter::create_with(out, durability)?;
    let workers = workers.min(inputs.len());
    if compression == Compression::Deflated && workers > 1 {
        parallel::pack(&mut npz, inputs, workers)?;
    } else {
        for (name, path) in inputs {
            add_streamed(&mut npz, name, path, compression)?;
        }
    }
    npz.finish()
}

/// An input `.npy` checked and open at its payload.
struct Input {
    header: crate::Header,
    /// The input's own version when our header text fits it, else `None`
    /// (NumPy's choice).
    version: Option<crate::header::Version>,
    payload: io::Take<BufReader<File>>,
}

/// Checks the input at `path` (header, exact payload length) and opens it
/// at its payload.
fn open_input(path: &Path) -> Result<Input> {
    let parsed = npy::inspect(path)?;
    let len = parsed.header.payload_len()?;
    let mut file = BufReader::with_capacity(1 << 16, File::open(path)?);
    file.seek(SeekFrom::Start(parsed.data_offset))?;
    // Keep the input's version (NumPy-written files then come back
    // byte-identical from unpack), unless our header text cannot fit it;
    // then let NumPy's rule choose.
    let version = match parsed.header.to_bytes(Some(parsed.version)) {
        Ok(_) => Some(parsed.version),
        Err(_) => None,
    };
    Ok(Input {
        header: parsed.header,
        version,
        payload: file.take(len),
    })
}

/// Streams the input at `path` into `npz` as member `name`; errors name
/// `path` (or `out`, for a failed write).
fn add_streamed<W: super::Sink>(
    npz: &mut NpzWriter<W>,
    name: &str,
    path: &Path,
    compression: Compression,
) -> Result<()> {
    let add = |npz: &mut NpzWriter<W>| -> Result<()> {
        let mut input = open_input(path)?;
        let mut member = npz.start_versioned(name, &input.header, input.version, compression)?;
        // The same chunking as a worker's `DeflatePlan::compress`, so the
        // deflate stream is the same bytes on either path.
        let len = member.remaining();
        super::write::copy_payload(&mut input.payload, &mut member, len, None)?;
        member.finish()
    };
    add(npz).map_err(|e| e.in_path(path))
}

/// Deflated members compressed on worker threads, appended in order.
mod parallel {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Condvar, Mutex, MutexGuard};

    use super::{PREPARE_MAX, add_streamed, open_input};
    use crate::error::{Error, ErrorKind, Result};
    use crate::npz::write::{PreparedMember, plan_deflated};
    use crate::npz::{Compression, NpzWriter, Sink};

    /// What a worker made of one input.
    enum Done {
        /// Compressed, waiting to be appended.
        Ready(PreparedMember),
        /// Too large to hold in memory: the writer streams it.
        Stream,
        /// Refused before the writer's duplicate check would run (the
        /// input, its header, the member name): as a single thread would
        /// refuse it.
        Early(Error),
        /// Failed while reading the payload, after that check.
        Late(Error),
    }

    struct State {
        /// The next input a worker takes.
        next: usize,
        /// Inputs appended so far: workers stay within `written + window`.
        written: usize,
        /// Workers still running.
        alive: usize,
        done: BTreeMap<usize, Done>,
    }

    struct Shared<'a> {
        inputs: &'a [(String, PathBuf)],
        level: Option<i64>,
        window: usize,
        state: Mutex<State>,
        changed: Condvar,
        stop: AtomicBool,
    }

    impl Shared<'_> {
        fn lock(&self) -> MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(|p| p.into_inner())
        }

        fn wait<'g>(&self, guard: MutexGuard<'g, State>) -> MutexGuard<'g, State> {
            self.changed.wait(guard).unwrap_or_else(|p| p.into_inner())
        }
    }

    /// Counts a worker out when it ends, however it ends, so the writer
    /// never waits for a member no one will make.
    struct Alive<'s, 'a>(&'s Shared<'a>);

    impl Drop for Alive<'_, '_> {
        fn drop(&mut self) {
            self.0.lock().alive -= 1;
            self.0.changed.notify_all();
        }
    }

    pub(super) fn pack<W: Sink>(
        npz: &mut NpzWriter<W>,
        inputs: &[(String, PathBuf)],
        workers: usize,
    ) -> Result<()> {
        let shared = Shared {
            inputs,
            level: npz.deflate_level(),
            window: workers,
            state: Mutex::new(State {
                next: 0,
                written: 0,
                alive: 0,
                done: BTreeMap::new(),
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        };
        std::thread::scope(|scope| {
            for _ in 0..workers {
                shared.lock().alive += 1;
                let spawned = std::thread::Builder::new()
                    .name("npymap-deflate".into())
                    .spawn_scoped(scope, || work(&shared));
                if spawned.is_err() {
                    // No thread (a process or memory limit): fewer
                    // workers; with none, the writer does it all.
                    shared.lock().alive -= 1;
                    break;
                }
            }
            let result = write(npz, &shared);
            shared.stop.store(true, Ordering::Relaxed);
            shared.changed.notify_all();
            result
        })
    }

    /// A worker: takes the next input within the window, compresses it.
    fn work(shared: &Shared<'_>) {
        let _alive = Alive(shared);
        loop {
            let i = {
                let mut state = shared.lock();
                loop {
                    if shared.stop.load(Ordering::Relaxed) || state.next >= shared.inputs.len() {
                        return;
                    }
                    if state.next < state.written + shared.window {
                        break;
                    }
                    state = shared.wait(state);
                }
                state.next += 1;
                state.next - 1
            };
            let Some((name, path)) = shared.inputs.get(i) else {
                return;
            };
            let done = prepare(name, path, shared);
            shared.lock().done.insert(i, done);
            shared.changed.notify_all();
        }
    }

    fn prepare(name: &str, path: &Path, shared: &Shared<'_>) -> Done {
        let in_path = |e: Error| e.in_path(path);
        let (plan, mut input) = match open_input(path).and_then(|input| {
            Ok((
                plan_deflated(name, &input.header, input.version, shared.level)?,
                input,
            ))
        }) {
            Ok(x) => x,
            Err(e) => return Done::Early(in_path(e)),
        };
        // Hold at most PREPARE_MAX bytes' worth, and only when the memory
        // is there (deflate's output can outgrow its input a little, and
        // the buffer doubles as it grows).
        let len = plan.npy_len();
        let room = usize::try_from(len.saturating_mul(2))
            .ok()
            .is_some_and(|n| Vec::<u8>::new().try_reserve_exact(n).is_ok());
        if len > PREPARE_MAX || !room {
            return Done::Stream;
        }
        match plan.compress(&mut input.payload, &shared.stop) {
            Ok(member) => Done::Ready(member),
            Err(e) => Done::Late(in_path(e)),
        }
    }

    /// The writer: appends each input's member in argument order.
    fn write<W: Sink>(npz: &mut NpzWriter<W>, shared: &Shared<'_>) -> Result<()> {
        for (i, (name, path)) in shared.inputs.iter().enumerate() {
            let done = {
                let mut state = shared.lock();
                loop {
                    if let Some(done) = state.done.remove(&i) {
                        break Some(done);
                    }
                    if state.alive == 0 {
                        break None;
                    }
                    state = shared.wait(state);
                }
            };
            let result = match done {
                // No worker left (none could be started): stream it here.
                None | Some(Done::Stream) => add_streamed(npz, name, path, Compression::Deflated),
                Some(Done::Early(e)) => Err(e),
                Some(Done::Late(e)) => Err(duplicate(npz, name).map_or(e, |d| d.in_path(path))),
                Some(Done::Ready(member)) => {
                    npz.append_prepared(member).map_err(|e| e.in_path(path))
                }
            };
            result?;
            shared.lock().written = i + 1;
            shared.changed.notify_all();
        }
        Ok(())
    }

    /// The `DuplicateMember` error a single thread would have given before
    /// reading the payload of `name`, if any.
    fn duplicate<W: Sink>(npz: &NpzWriter<W>, name: &str) -> Option<Error> {
        npz.has_key(name).then(|| {
            ErrorKind::DuplicateMember {
                name: crate::error::snippet(name),
            }
            .into()
        })
    }
}

/// How [`unpack_with`] writes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct UnpackOptions {
    /// Sync each new file before it is renamed into place and every
    /// directory written to after the renames, so the unpacked files (and
    /// the replacement of old ones) survive a crash or power cut. Default
    /// `true`; `false` leaves write-back to the OS (the CLI's `--no-sync`).
    pub sync: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions { sync: true }
    }
}

impl UnpackOptions {
    /// Sets [`UnpackOptions::sync`].
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }
}

/// [`unpack_with`] with the default options (synced).
///
/// # Errors
/// As [`unpack_with`].
pub fn unpack(archive: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    unpack_with(archive, dir, UnpackOptions::default())
}

/// Writes every member of the archive at `archive` to `dir/KEY.npy`
/// (creating `dir` and any sub-directories a member name has), byte-identical
/// to the member's `.npy` bytes, and returns the paths written.
///
/// All or nothing: on any error, `dir` is left as it was — files it
/// replaced are put back, files and directories it created are removed
/// (`dir` too, if this call created it).
///
/// 1. The archive is opened and listed (names are checked,
///    [`check_name`](super::check_name)), then every destination is checked
///    before anything is written: an existing path component under `dir`
///    that is not a real directory (a symlink, a file), a target that is a
///    directory, two members that would be a file and a directory at one
///    path (`b.npy` and `b.npy/c.npy`), a path component longer than 255
///    bytes — nothing is written outside `dir`.
/// 2. Each member is inflated and checked into a temporary file in `dir`
///    (synced if [`UnpackOptions::sync`]), which is closed before the next
///    one is opened: one descriptor at a time, whatever the member count.
///    A file that will replace an existing regular file gets its
///    permission bits.
/// 3. Only when every member succeeded are they renamed into place; an
///    existing target is first hard-linked (or, where links fail, renamed)
///    to a `.npymap-*.old` name beside it and kept until the end, so that a
///    rename failing part-way can be undone. Then the directories are synced
///    and the old files removed.
///
/// A process killed during step 3 (renames only) does not unwind: it can
/// leave some members in place and old files under `.npymap-*.old` names.
///
/// # Errors
/// Every error of [`NpzReader::open`] and of reading a member (naming the
/// archive); `UnsafeName` for a destination that cannot be written (naming
/// the path); `Io`, naming the path that failed or `dir`.
pub fn unpack_with(archive: &Path, dir: &Path, opts: UnpackOptions) -> Result<Vec<PathBuf>> {
    let mut npz = NpzReader::open(archive)?;
    // Member file name, and the name on disk: KEY.npy, as the contract says
    // (a member stored without the suffix still unpacks to KEY.npy; keys
    // are unique, the reader checked).
    let names: Vec<(String, String)> = npz
        .members()
        .iter()
        .map(|m| (m.file_name().to_owned(), format!("{}.npy", m.name())))
        .collect();
    unpack_entries(dir, names, opts.sync, &mut |member, out| {
        let mut reader = npz.reader(member).map_err(|e| e.in_path(archive))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| Error::from(e).in_path(archive))?;
            if n == 0 {
                break;
            }
            out.write_all(buf.get(..n).unwrap_or_default())
                .map_err(|e| Error::from(e).in_path(dir))?;
        }
        Ok(())
    })
}

/// Writes the files `names` (an entry's name for `fill`, its path on disk
/// relative to `dir`) into `dir`, all or nothing, with the checks and the
/// transaction [`unpack_with`] describes; `fill(entry, out)` writes one
/// file's bytes. Shared by every format that unpacks into a directory
/// (`.npz`, `.safetensors`).
pub(crate) fn unpack_entries(
    dir: &Path,
    names: Vec<(String, String)>,
    sync: bool,
    fill: &mut dyn FnMut(&str, &mut dyn Write) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    let plan = plan(names, dir)?;
    let mut tx = Transaction::new(sync);
    let result = tx
        .run(fill, dir, plan)
        .and_then(|written| tx.finish().map(|()| written));
    if result.is_err() {
        tx.roll_back();
    }
    result
}

/// One member to unpack: its file name in the archive, its name on disk
/// (`KEY.npy`, relative to DIR) and the mode of the file it replaces.
struct Target {
    member: String,
    on_disk: String,
    old_mode: Option<u32>,
}

/// Checks every destination without writing anything.
fn plan(names: Vec<(String, String)>, dir: &Path) -> Result<Vec<Target>> {
    match fs::metadata(dir) {
        Ok(md) if md.is_dir() => {}
        Ok(_) => {
            return Err(Error::from(io::Error::new(
                io::ErrorKind::NotADirectory,
                "exists and is not a directory",
            ))
            .in_path(dir));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::from(e).in_path(dir)),
    }
    let files: HashSet<&str> = names.iter().map(|(_, d)| d.as_str()).collect();
    let mut dirs: HashSet<&str> = HashSet::new();
    for (_, on_disk) in &names {
        for (i, _) in on_disk.match_indices('/') {
            dirs.insert(on_disk.get(..i).unwrap_or_default());
        }
    }
    let refuse = |member: &str, path: &Path, reason: &'static str| {
        Error::new(ErrorKind::UnsafeName {
            name: snippet(member),
            reason,
        })
        .in_path(path)
    };
    let mut targets = Vec::with_capacity(names.len());
    for (member, on_disk) in &names {
        let (member, on_disk) = (member.clone(), on_disk.clone());
        let mut path = dir.to_path_buf();
        if dirs.contains(on_disk.as_str()) {
            return Err(refuse(
                &member,
                &path.join(&on_disk),
                "another member needs this path as a directory",
            ));
        }
        let parts: Vec<&str> = on_disk.split('/').collect();
        let mut exists = true;
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            if part.len() > 255 {
                return Err(refuse(
                    &member,
                    &path,
                    "a path component is longer than file systems allow (255 bytes)",
                ));
            }
            let last = i + 1 == parts.len();
            if !last && files.contains(on_disk.get(..path_len(&parts, i)).unwrap_or_default()) {
                return Err(refuse(
                    &member,
                    &path,
                    "another member is a file at this path",
                ));
            }
            if !exists {
                continue;
            }
            match fs::symlink_metadata(&path) {
                Ok(md) if md.is_dir() => {
                    if last {
                        return Err(refuse(&member, &path, "a directory exists at this path"));
                    }
                }
                Ok(md) if last => {
                    if md.is_file() {
                        use std::os::unix::fs::PermissionsExt;
                        let mode = md.permissions().mode() & 0o777;
                        targets.push(Target {
                            member: member.clone(),
                            on_disk: on_disk.clone(),
                            old_mode: Some(mode),
                        });
                    } else {
                        targets.push(Target {
                            member: member.clone(),
                            on_disk: on_disk.clone(),
                            old_mode: None,
                        });
                    }
                }
                Ok(_) => {
                    return Err(refuse(
                        &member,
                        &path,
                        "a path component exists and is not a directory",
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => exists = false,
                Err(e) => return Err(Error::from(e).in_path(&path)),
            }
        }
        if !exists {
            targets.push(Target {
                member,
                on_disk,
                old_mode: None,
            });
        }
    }
    Ok(targets)
}

/// Byte length of the first `i + 1` components of `parts` joined by `/`.
fn path_len(parts: &[&str], i: usize) -> usize {
    parts.iter().take(i + 1).map(|p| p.len() + 1).sum::<usize>() - 1
}

/// What an unpack has done so far, to finish or undo it.
struct Transaction {
    sync: bool,
    /// Directories this call created, in creation order.
    created_dirs: Vec<PathBuf>,
    /// Targets renamed into place, with the backup of what they replaced.
    placed: Vec<(PathBuf, Option<tempfile::TempPath>)>,
    /// Directories whose entries changed, to sync at the end (a set: an
    /// archive of n members in n directories must not cost O(n²)).
    touched: HashSet<PathBuf>,
}

impl Transaction {
    fn new(sync: bool) -> Self {
        Transaction {
            sync,
            created_dirs: Vec::new(),
            placed: Vec::new(),
            touched: HashSet::new(),
        }
    }

    fn touch(&mut self, dir: &Path) {
        if !self.touched.contains(dir) {
            self.touched.insert(dir.to_path_buf());
        }
    }

    /// Creates `path` and any missing ancestors, remembering each.
    fn create_dirs(&mut self, path: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut p = path;
        loop {
            match fs::symlink_metadata(p) {
                Ok(md) if md.is_dir() => break,
                // DIR itself may be a symlink to a directory.
                Ok(_) if p == path && fs::metadata(p).is_ok_and(|m| m.is_dir()) => break,
                Ok(_) => {
                    return Err(Error::new(ErrorKind::UnsafeName {
                        name: snippet(&p.to_string_lossy()),
                        reason: "a path component exists and is not a directory",
                    })
                    .in_path(p));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    missing.push(p.to_path_buf());
                    match p.parent() {
                        Some(parent) if !parent.as_os_str().is_empty() => p = parent,
                        _ => break,
                    }
                }
                Err(e) => return Err(Error::from(e).in_path(p)),
            }
        }
        for d in missing.into_iter().rev() {
            fs::create_dir(&d).map_err(|e| Error::from(e).in_path(&d))?;
            self.touch(crate::atomic::parent_dir(&d));
            self.created_dirs.push(d);
        }
        Ok(())
    }

    fn run(
        &mut self,
        fill: &mut dyn FnMut(&str, &mut dyn Write) -> Result<()>,
        dir: &Path,
        targets: Vec<Target>,
    ) -> Result<Vec<PathBuf>> {
        self.create_dirs(dir)?;
        // Stage every member; only its path stays open afterwards.
        let mut staged = Vec::with_capacity(targets.len());
        for t in &targets {
            staged.push(self.stage(fill, dir, t)?);
        }
        let mut written = Vec::with_capacity(targets.len());
        for (t, (tmp, _guard)) in targets.iter().zip(staged) {
            let target = dir.join(&t.on_disk);
            let parent = crate::atomic::parent_dir(&target).to_path_buf();
            self.create_dirs(&parent)?;
            let backup = match t.old_mode {
                Some(_) => Some(backup(&target)?),
                None if fs::symlink_metadata(&target).is_ok() => Some(backup(&target)?),
                None => None,
            };
            match tmp.persist(&target) {
                Ok(()) => {}
                Err(e) => {
                    // Nothing was replaced: drop the backup link.
                    drop(backup);
                    return Err(Error::from(e.error).in_path(&target));
                }
            }
            self.touch(&parent);
            self.placed.push((target.clone(), backup));
            written.push(target);
        }
        self.touch(dir);
        Ok(written)
    }

    /// Streams one entry into a temporary file in `dir` and closes it.
    fn stage(
        &mut self,
        fill: &mut dyn FnMut(&str, &mut dyn Write) -> Result<()>,
        dir: &Path,
        t: &Target,
    ) -> Result<(tempfile::TempPath, crate::atomic::PendingGuard)> {
        let (mut tmp, guard) = crate::atomic::temp_file_in(dir).map_err(|e| e.in_path(dir))?;
        let in_dir = |e: io::Error| Error::from(e).in_path(dir);
        {
            let mut out = BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
            fill(&t.member, &mut out)?;
            out.flush().map_err(in_dir)?;
        }
        if let Some(mode) = t.old_mode {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))
                .map_err(in_dir)?;
        }
        if self.sync {
            tmp.as_file().sync_all().map_err(in_dir)?;
        }
        Ok((tmp.into_temp_path(), guard))
    }

    /// Syncs the directories written to, then lets the backups go.
    fn finish(&mut self) -> Result<()> {
        if self.sync {
            // Deepest first: a new directory's entries before its parent's
            // entry for it.
            let mut dirs: Vec<&PathBuf> = self.touched.iter().collect();
            // Deepest first, then by path, so the order does not depend on
            // the set's.
            dirs.sort_by(|a, b| {
                b.components()
                    .count()
                    .cmp(&a.components().count())
                    .then_with(|| a.cmp(b))
            });
            // Best effort, as for every writer (atomic::sync_dir): the
            // files themselves are synced and in place by now.
            for d in dirs {
                crate::atomic::sync_dir(d);
            }
        }
        // Dropping the backups' `TempPath`s removes the old files.
        self.placed.clear();
        self.created_dirs.clear();
        Ok(())
    }

    /// Puts back what was replaced and removes what was created.
    fn roll_back(&mut self) {
        while let Some((target, backup)) = self.placed.pop() {
            match backup {
                Some(old) => {
                    if let Err(e) = old.persist(&target) {
                        // Could not put it back: keep it under its name.
                        let _ = e.path.keep();
                    }
                }
                None => {
                    let _ = fs::remove_file(&target);
                }
            }
        }
        while let Some(d) = self.created_dirs.pop() {
            // Only succeeds if nothing else was put in it.
            let _ = fs::remove_dir(&d);
        }
    }
}

/// Keeps the file at `target` under a `.npymap-*.old` name beside it
/// (a hard link, so `target` stays in place until it is replaced; a rename
/// where the file system has no links). Removed when dropped.
fn backup(target: &Path) -> Result<tempfile::TempPath> {
    let parent = crate::atomic::parent_dir(target);
    tempfile::Builder::new()
        .prefix(".npymap-")
        .suffix(".old")
        .make_in(parent, |p| match fs::hard_link(target, p) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => fs::rename(target, p),
            other => other,
        })
        .map(tempfile::NamedTempFile::into_temp_path)
        .map_err(|e| Error::from(e).in_path(target))
}
