//! Opening input arrays for the commands that read payloads: a memory map
//! for streaming passes (whose pages the commands release as they go) plus
//! the open file for random-access reads with `pread`, so neither keeps
//! more than a window of the input resident.
//!
//! Also the `SIGBUS` handler ([`install_sigbus_handler`]): a mapped input
//! that another process truncates faults when a lost page is touched; the
//! handler turns that into the error `PATH: changed while it was being read
//! (it shrank)`, exit 2, after removing this run's temporary files. The
//! `pread` side reports a short read with the same message.
//!
//! The binary's only `unsafe` code lives here (see spec/safety.md §4).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::io::IsTerminal;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use npymap::convert::Payload;
use npymap::mmap::{Advice, NpyMap};
use npymap::{Error, ErrorKind, Header, Version};

use super::{CliError, with_path};

/// An opened input: the map and the file it maps, and the progress bar
/// that its consumption (pages released, windows read) advances.
pub(crate) struct Input {
    map: NpyMap,
    file: File,
    path: PathBuf,
    progress: Option<ProgressBar>,
    /// This input's entry in [`INPUTS`] (the whole mapping), cleared on drop.
    registration: Registration,
}

/// Payloads smaller than this finish too fast for a progress bar.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// Whether commands may draw progress bars: stderr is a terminal and
/// `--quiet` was not given. Set once by `main`.
static PROGRESS: AtomicBool = AtomicBool::new(false);

/// Enables progress bars for inputs opened from now on.
pub(crate) fn enable_progress(on: bool) {
    PROGRESS.store(on && std::io::stderr().is_terminal(), Ordering::Relaxed);
}

/// A progress bar of `len` bytes named `prefix` (bytes, rate, ETA), when
/// bars are enabled and `len` is at least `min`; `None` otherwise.
pub(crate) fn progress_bar(len: u64, min: u64, prefix: &str) -> Option<ProgressBar> {
    let bar = hidden_bar(len, min, prefix)?;
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    Some(bar)
}

/// [`progress_bar`], not drawn until its draw target is set to stderr
/// (setting the style and prefix of a visible bar draws it).
pub(crate) fn hidden_bar(len: u64, min: u64, prefix: &str) -> Option<ProgressBar> {
    (PROGRESS.load(Ordering::Relaxed) && len >= min).then(|| {
        let bar = ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(prefix.to_string());
        bar
    })
}

/// What a short read or a fault in a mapped input says.
const SHRANK: &str = "changed while it was being read (it shrank)";

/// The error for an input whose file got shorter than its header implies.
fn shrank(path: &Path) -> Error {
    Error::from(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        SHRANK,
    ))
    .in_path(path)
}

/// The one message for an archive where an `.npy` is expected (cli.md §2.3).
fn npz_given(path: &Path) -> CliError {
    CliError(format!(
        "{}: expected an .npy file, found an .npz archive (extract members with `npymap unpack`)",
        path.display()
    ))
}

/// Refuses an `.npz` archive at `path` where an `.npy` is expected, for
/// commands that hand the path to the library rather than to [`open`].
/// Other detection errors are left to the library's own open.
pub(crate) fn refuse_npz(path: &Path) -> Result<(), CliError> {
    match npymap::npy::detect_file(path) {
        Ok(npymap::npy::Format::Npz) => Err(npz_given(path)),
        _ => Ok(()),
    }
}

/// Maps the `.npy` at `path` read-only; refuses object arrays (their
/// payload is a pickle), files whose size disagrees with the header, and
/// anything but a regular file (`npy::open_input`). The path is opened
/// once: format detection, the map and `pread` all use that descriptor, so
/// they read the same file even if the path is replaced meanwhile.
pub(crate) fn open(path: &Path) -> Result<Input, CliError> {
    let file = npymap::npy::open_input(path).map_err(with_path(path))?;
    if npymap::npy::detect_open(&file).map_err(with_path(path))? == npymap::npy::Format::Npz {
        return Err(npz_given(path));
    }
    // SAFETY: NpyMap::map_file requires that nobody modifies or truncates
    // the file while it is mapped. npymap itself never writes bytes it has
    // mapped: outputs go to a temp file that is renamed into place, which
    // leaves a mapped input's inode intact even when IN == OUT, and an
    // in-place `append DST DST` writes only past the payload and the header,
    // neither of which is inside the mapped payload slice. Another process
    // may still truncate the file: touching a lost page then raises SIGBUS,
    // which `on_sigbus` turns into an error for the whole mapping, which is
    // registered below before any byte of it is read — the header is
    // parsed from the map (spec/cli.md §3.1). A file rewritten in place by
    // another process can still give inconsistent results; that is the
    // user's promise (§3.1).
    let mapped = unsafe { NpyMap::map_file(&file) }.map_err(with_path(path))?;
    let registration = register(mapped.address_range(), &file, mapped.file_len(), path);
    // A parse error drops `registration` before `mapped`: no entry
    // outlives its range.
    let map = mapped.parse().map_err(with_path(path))?;
    Ok(wrap(map, file, path, registration))
}

/// Maps the payload of `header` at byte `offset` of `file` read-only (a
/// stored `.npz` member's payload inside its archive, opened by the caller
/// with `npy::open_input`), as [`open`] maps an `.npy`'s. `path` names the
/// file in messages; it is not opened again.
pub(crate) fn open_at(
    file: File,
    path: &Path,
    header: &Header,
    offset: u64,
) -> Result<Input, CliError> {
    let opts = npymap::mmap::RawOptions::new(header.dtype.clone())
        .shape(header.shape.clone())
        .offset(offset)
        .fortran_order(header.fortran_order);
    // SAFETY: as in `open`: npymap never writes to a file it maps (outputs
    // are temp files renamed into place), another process truncating the
    // archive is turned into an error by the SIGBUS handler, for the range
    // registered below. A raw map reads no byte when it is made (there is
    // no header in it to parse), so registering after `from_raw_file`
    // leaves no access unguarded. The map is of `file`, the descriptor the
    // caller's `open_input` checked is a regular file, which `read_at`
    // uses too: the archive is not opened again.
    let map = unsafe { NpyMap::from_raw_file(&file, &opts) }.map_err(with_path(path))?;
    let payload = map.view().payload();
    let start = payload.as_ptr() as usize;
    let end = start.saturating_add(payload.len());
    let file_len = offset.saturating_add(payload.len() as u64);
    let registration = register(start..end, &file, file_len, path);
    Ok(wrap(map, file, path, registration))
}

/// Registers a mapped input's address `range` with the SIGBUS handler
/// (nothing for an empty range); `file_len` is the length the file had,
/// which tells a shrunk file from an I/O error.
fn register(range: Range<usize>, file: &File, file_len: u64, path: &Path) -> Registration {
    Registration((!range.is_empty()).then(|| {
        register_input(MappedInput {
            start: range.start,
            end: range.end,
            fd: file.as_raw_fd(),
            file_len,
            shrank: line(path, SHRANK),
            unreadable: line(path, "could not be read (an I/O error in a mapped page)"),
        })
    }))
}

/// An [`Input`] for a map of `file` whose range is `registration`.
fn wrap(map: NpyMap, file: File, path: &Path, registration: Registration) -> Input {
    let len = map.view().payload().len() as u64;
    let progress = progress_bar(len, PROGRESS_MIN_BYTES, &path.display().to_string());
    Input {
        map,
        file,
        path: path.to_path_buf(),
        progress,
        registration,
    }
}

/// The whole stderr line of an error about `path`.
fn line(path: &Path, message: &str) -> Box<[u8]> {
    format!("npymap: error: {}: {message}\n", path.display())
        .into_bytes()
        .into_boxed_slice()
}

impl Input {
    fn advance(&self, bytes: usize) {
        if let Some(bar) = &self.progress {
            bar.inc(bytes as u64);
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        // Before the map goes (the fields drop after this), so that no
        // entry outlives its range.
        self.registration.clear();
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }
}

/// A mapped input's entry in [`INPUTS`], taken out when dropped (or
/// cleared), which must happen before the map it describes is unmapped.
struct Registration(Option<&'static Slot<MappedInput>>);

impl Registration {
    fn clear(&mut self) {
        if let Some(slot) = self.0.take() {
            let _guard = INPUTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            slot.clear();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.clear();
    }
}

impl Payload for Input {
    fn header(&self) -> &Header {
        self.map.header()
    }

    fn payload(&self) -> &[u8] {
        self.map.view().payload()
    }

    fn version(&self) -> Option<Version> {
        self.map.version()
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.path)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> npymap::Result<()> {
        let len = self.payload().len() as u64;
        let end = offset.checked_add(buf.len() as u64).filter(|&e| e <= len);
        if end.is_none() {
            return Err(Error::new(ErrorKind::Truncated {
                what: "payload",
                needed: offset.saturating_add(buf.len() as u64),
                available: len,
            }));
        }
        // A short read: the file is shorter than when it was opened (its
        // length was checked against the header then).
        self.file
            .read_exact_at(buf, self.map.data_offset() + offset)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => shrank(&self.path),
                _ => Error::from(e).in_path(&self.path),
            })?;
        self.advance(buf.len());
        Ok(())
    }

    fn release(&self, range: Range<usize>) {
        // Best effort: a failed hint costs memory, never correctness.
        let _ = self
            .map
            .advise_range(Advice::DontNeed, range.start, range.len());
        self.advance(range.len());
    }
}

/// The header of an opened input.
pub(crate) fn header(input: &Input) -> &Header {
    input.map.header()
}

// ---- SIGBUS ----
//
// A SIGBUS handler runs on the faulting thread, in the middle of whatever
// it was doing, so it may only use async-signal-safe calls (no locks, no
// allocation): it reads two lock-free lists built ahead of time — this
// run's pending temp files as C strings, and each mapped payload range with
// its pre-formatted error line — and uses `unlink`, `fstat`, `write` and
// `_exit` only.

/// One entry of a [`SlotList`]: an item, or null when free. Slots are never
/// freed (a list only grows to the most entries alive at once), so the
/// handler can walk them at any time.
struct Slot<T> {
    item: AtomicPtr<T>,
    next: AtomicPtr<Slot<T>>,
}

/// A lock-free list readable from a signal handler. Changes (`insert`,
/// `Slot::clear`) must be serialised by the caller (a lock); reads
/// (`for_each`) may happen at any time, on any thread, inside a handler.
struct SlotList<T> {
    head: AtomicPtr<Slot<T>>,
}

/// How many signal handlers are reading a [`SlotList`]. An item taken out
/// of a list is freed only when this is 0 (else leaked): a handler that
/// counted itself before loading an item pointer is seen here by whoever
/// takes that item out after it (all operations are `SeqCst`). Handlers
/// here end the process, so a leak happens only in a dying process.
static READERS: AtomicUsize = AtomicUsize::new(0);

impl<T> SlotList<T> {
    const fn new() -> Self {
        SlotList {
            head: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Puts `item` in a free slot (or a new one) and returns the slot.
    fn insert(&self, item: T) -> &'static Slot<T> {
        let raw = Box::into_raw(Box::new(item));
        let mut p = self.head.load(Ordering::SeqCst);
        while !p.is_null() {
            // SAFETY: slots are leaked boxes, never freed, so any pointer
            // in the list stays valid for the life of the process.
            let slot: &'static Slot<T> = unsafe { &*p };
            if slot
                .item
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
            {
                return slot;
            }
            p = slot.next.load(Ordering::SeqCst);
        }
        let slot: &'static Slot<T> = Box::leak(Box::new(Slot {
            item: AtomicPtr::new(raw),
            next: AtomicPtr::new(self.head.load(Ordering::SeqCst)),
        }));
        // Fully built before it is published; inserts are serialised by
        // the caller, so the head read above is still the head.
        self.head
            .store(std::ptr::from_ref(slot).cast_mut(), Ordering::SeqCst);
        slot
    }

    /// Calls `f` on every item in the list. Signal-safe: no lock, no
    /// allocation. Frees nothing, so items stay valid while `READERS` is
    /// non-zero (the caller's duty to count itself, see [`READERS`]).
    fn for_each(&self, mut f: impl FnMut(&T)) {
        let mut p = self.head.load(Ordering::SeqCst);
        while !p.is_null() {
            // SAFETY: slots are never freed (see `insert`).
            let slot = unsafe { &*p };
            let item = slot.item.load(Ordering::SeqCst);
            if !item.is_null() {
                // SAFETY: a non-null item is a live `Box<T>`: `clear`
                // frees one only if no reader counted itself before this
                // load (see `READERS`).
                f(unsafe { &*item });
            }
            p = slot.next.load(Ordering::SeqCst);
        }
    }
}

impl<T> Slot<T> {
    /// Takes the item out and frees it unless a handler may be reading it.
    fn clear(&self) {
        let old = self.item.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if !old.is_null() && READERS.load(Ordering::SeqCst) == 0 {
            // SAFETY: `old` came from `Box::into_raw` in `insert` and was
            // taken out of the list by the swap, so no one else frees it;
            // no handler read it (READERS was 0 after the swap).
            drop(unsafe { Box::from_raw(old) });
        }
    }

    /// The item, for the serialised (locked) side only.
    fn get(&self) -> Option<&T> {
        let p = self.item.load(Ordering::SeqCst);
        // SAFETY: only called under the lock that serialises `clear`, so a
        // non-null item is not freed while borrowed here.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

/// A mapped payload range and what to print if a page of it faults.
struct MappedInput {
    start: usize,
    end: usize,
    /// The mapped file's descriptor (kept open by the `Input` while this
    /// entry exists), to tell a shrunk file from an I/O error.
    fd: libc::c_int,
    /// The file's length when it was mapped.
    file_len: u64,
    shrank: Box<[u8]>,
    unreadable: Box<[u8]>,
}

/// The payload ranges of the inputs open now.
static INPUTS: SlotList<MappedInput> = SlotList::new();
/// Serialises changes to [`INPUTS`].
static INPUTS_LOCK: Mutex<()> = Mutex::new(());

fn register_input(m: MappedInput) -> &'static Slot<MappedInput> {
    let _guard = INPUTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    INPUTS.insert(m)
}

/// This run's pending temp files as C strings, mirroring
/// `npymap::atomic`'s registry (changes arrive under its lock, which
/// serialises them).
static TEMPS: SlotList<CString> = SlotList::new();

fn temp_added(path: &Path) {
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        TEMPS.insert(c);
    }
}

fn temp_removed(path: &Path) {
    let bytes = path.as_os_str().as_bytes();
    let mut p = TEMPS.head.load(Ordering::SeqCst);
    while !p.is_null() {
        // SAFETY: slots are never freed (see `SlotList::insert`).
        let slot: &Slot<CString> = unsafe { &*p };
        if slot.get().is_some_and(|c| c.as_bytes() == bytes) {
            slot.clear();
            return;
        }
        p = slot.next.load(Ordering::SeqCst);
    }
}

/// Installs the `SIGBUS` handler: a fault in a mapped input's payload
/// removes this run's temp files, prints `npymap: error: PATH: changed
/// while it was being read (it shrank)` and exits 2. Any other `SIGBUS`
/// removes the temp files and then takes the default action (the process
/// dies of the signal). Call once, early in `main`.
pub(crate) fn install_sigbus_handler() {
    npymap::atomic::observe_pending(temp_added, temp_removed);
    // SAFETY: a zeroed `sigaction` is a valid value (no flags, empty mask,
    // null handler) that is filled in below before use.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigbus;
    action.sa_sigaction = handler as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    // SAFETY: `sa_mask` is a valid sigset_t owned by `action`; the handler
    // is an `extern "C"` function with the SA_SIGINFO signature that only
    // makes async-signal-safe calls. On failure the default action stays
    // (the fault kills the process, as before).
    unsafe {
        libc::sigemptyset(&raw mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &raw const action, std::ptr::null_mut());
    }
}

/// Installs the handler for `SIGINT` (Ctrl-C), `SIGTERM` and `SIGHUP`:
/// it removes this run's temp files and exits 130, OUT untouched
/// (cli.md §3.2). A plain signal handler, not a thread waiting for the
/// signal: a thread needs memory (its stack and alternate signal stack)
/// at a moment npymap does not choose, and under a tight address-space
/// limit its failure printed a panic and an allocation abort beside a
/// clean error (`tests/large.rs::allocation_failures_are_errors_not_aborts`).
/// Call after [`install_sigbus_handler`], which mirrors the temp files
/// into the list this handler reads.
pub(crate) fn install_termination_handler() {
    // SAFETY: a zeroed `sigaction` is a valid value (no flags, empty mask,
    // null handler) that is filled in below before use.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    let handler: extern "C" fn(libc::c_int) = on_termination;
    action.sa_sigaction = handler as *const () as usize;
    action.sa_flags = libc::SA_ONSTACK;
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `sa_mask` is a valid sigset_t owned by `action`; the
        // handler is an `extern "C"` function with the one-argument
        // signature that only makes async-signal-safe calls. On failure
        // the default action stays (the signal ends the process).
        unsafe {
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(sig, &raw const action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_termination(_sig: libc::c_int) {
    READERS.fetch_add(1, Ordering::SeqCst);
    TEMPS.for_each(|c| {
        // SAFETY: `c` is a live NUL-terminated C string (see `for_each`).
        unsafe { libc::unlink(c.as_ptr()) };
    });
    // SAFETY: `_exit` is async-signal-safe and never returns.
    unsafe { libc::_exit(130) };
}

/// Writes all of `bytes` to stderr with `write(2)` (signal-safe).
fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid readable buffer of `rest.len()` bytes.
        let n = unsafe { libc::write(libc::STDERR_FILENO, rest.as_ptr().cast(), rest.len()) };
        match usize::try_from(n) {
            Ok(n) if n > 0 => rest = rest.get(n..).unwrap_or_default(),
            // EINTR: try again; anything else: give up, we are exiting.
            _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => return,
        }
    }
}

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    READERS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t; for
    // SIGBUS `si_addr` is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    TEMPS.for_each(|c| {
        // SAFETY: `c` is a live NUL-terminated C string (see `for_each`).
        unsafe { libc::unlink(c.as_ptr()) };
    });
    INPUTS.for_each(|m| {
        if (m.start..m.end).contains(&addr) {
            // SAFETY: a zeroed `stat` is a valid value; `fstat` fills it.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: `m.fd` is open (its `Input` is alive while `m` is
            // listed) and `st` is a valid out-pointer.
            let ok = unsafe { libc::fstat(m.fd, &raw mut st) } == 0;
            let now = u64::try_from(st.st_size).unwrap_or(0);
            write_stderr(if ok && now < m.file_len {
                &m.shrank
            } else {
                &m.unreadable
            });
            // SAFETY: `_exit` is async-signal-safe and never returns.
            unsafe { libc::_exit(2) };
        }
    });
    // Not a fault in an input we mapped: die of the signal, as without
    // this handler (returning re-runs the faulting access).
    // SAFETY: resetting a signal to its default action is always valid.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
    READERS.fetch_sub(1, Ordering::SeqCst);
}
