//! Opening input arrays for the commands that read payloads: a memory map
//! for streaming passes (whose pages the commands release as they go) plus
//! the open file for random-access reads with `pread`, so neither keeps
//! more than a window of the input resident.

use std::fs::File;
use std::io::IsTerminal;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use npymap::convert::Payload;
use npymap::mmap::{Advice, NpyMap};
use npymap::{Error, ErrorKind, Header, Version};

use super::{CliError, with_path};

/// An opened input: the map and the file it maps, and the progress bar
/// that its consumption (pages released, windows read) advances.
pub(crate) struct Input {
    path: std::path::PathBuf,
    map: NpyMap,
    file: File,
    progress: Option<ProgressBar>,
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
/// payload is a pickle) and files whose size disagrees with the header.
#[allow(unsafe_code)]
pub(crate) fn open(path: &Path) -> Result<Input, CliError> {
    if npymap::npy::detect_file(path).map_err(with_path(path))? == npymap::npy::Format::Npz {
        return Err(npz_given(path));
    }
    let file = File::open(path).map_err(|e| with_path(path)(e.into()))?;
    // SAFETY: NpyMap::open requires that nobody modifies or truncates the
    // file while it is mapped. The CLI contract (spec/cli.md, "Inputs")
    // makes that the user's promise for every input a command is given, as
    // for any tool that maps its inputs. npymap itself never writes bytes it
    // has mapped: outputs go to a temp file that is renamed into place, which
    // leaves a mapped input's inode intact even when IN == OUT, and an
    // in-place `append DST DST` writes only past the payload and the header,
    // neither of which is inside the mapped payload slice.
    let map = unsafe { NpyMap::open(path) }.map_err(with_path(path))?;
    let len = map.view().payload().len() as u64;
    let progress = (PROGRESS.load(Ordering::Relaxed) && len >= PROGRESS_MIN_BYTES).then(|| {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(path.display().to_string());
        bar
    });
    Ok(Input {
        path: path.to_path_buf(),
        map,
        file,
        progress,
    })
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
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
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
        self.file
            .read_exact_at(buf, self.map.data_offset() + offset)
            .map_err(Error::from)?;
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
