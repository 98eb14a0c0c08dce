//! Opening input arrays for the commands that read payloads: a memory map
//! for streaming passes (whose pages the commands release as they go) plus
//! the open file for random-access reads with `pread`, so neither keeps
//! more than a window of the input resident.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use npymap::convert::Payload;
use npymap::mmap::{Advice, NpyMap};
use npymap::{Error, ErrorKind, Header, Version};

use super::{CliError, with_path};

/// An opened input: the map and the file it maps.
pub(crate) struct Input {
    map: NpyMap,
    file: File,
}

/// Maps the `.npy` at `path` read-only; refuses object arrays (their
/// payload is a pickle) and files whose size disagrees with the header.
#[allow(unsafe_code)]
pub(crate) fn open(path: &Path) -> Result<Input, CliError> {
    let file = File::open(path).map_err(|e| with_path(path)(e.into()))?;
    // SAFETY: NpyMap::open requires that nobody modifies or truncates the
    // file while it is mapped. The CLI contract (spec/cli.md, "Inputs")
    // makes that the user's promise for every input a command is given, as
    // for any tool that maps its inputs. npymap itself never writes to a file
    // it has mapped: outputs go to a temp file that is renamed into place,
    // which leaves a mapped input's inode intact even when IN == OUT.
    let map = unsafe { NpyMap::open(path) }.map_err(with_path(path))?;
    Ok(Input { map, file })
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
            .map_err(Error::from)
    }

    fn release(&self, range: Range<usize>) {
        // Best effort: a failed hint costs memory, never correctness.
        let _ = self
            .map
            .advise_range(Advice::DontNeed, range.start, range.len());
    }
}

/// The header of an opened input.
pub(crate) fn header(input: &Input) -> &Header {
    input.map.header()
}
