//! Opening input arrays for the commands that read payloads.

use std::path::Path;

use npymap::convert::InMemory;
use npymap::{ErrorKind, Header};

use super::{CliError, with_path};

/// The opened input: header and payload.
pub(crate) type Input = InMemory;

/// Opens the `.npy` at `path` for reading its payload; refuses object
/// arrays (their payload is a pickle).
pub(crate) fn open(path: &Path) -> Result<Input, CliError> {
    let parsed = npymap::npy::inspect(path).map_err(with_path(path))?;
    if parsed.header.dtype.has_object() {
        return Err(with_path(path)(ErrorKind::ObjectDtype.into()));
    }
    let bytes = std::fs::read(path).map_err(|e| with_path(path)(e.into()))?;
    let start = usize::try_from(parsed.data_offset).unwrap_or(usize::MAX);
    Ok(InMemory {
        header: parsed.header,
        bytes: bytes.get(start..).unwrap_or(&[]).to_vec(),
        version: Some(parsed.version),
    })
}

/// The header of an opened input.
pub(crate) fn header(input: &Input) -> &Header {
    &input.header
}
