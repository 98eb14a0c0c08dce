//! `npymap unpack IN.npz DIR`.

use std::path::Path;
use std::process::ExitCode;

use npymap::npy::{self, Format};
use npymap::npz;

use super::{CliError, CmdResult, with_path};

/// `sync`: false under the global `--no-sync`.
pub(crate) fn run(input: &Path, dir: &Path, sync: bool) -> CmdResult {
    if super::safetensors::is_safetensors(input) {
        return super::safetensors::unpack(input, dir, sync);
    }
    if npy::detect_file(input).map_err(with_path(input))? == Format::Npy {
        return Err(CliError(format!(
            "{}: expected an .npz archive, found an .npy file",
            input.display()
        )));
    }
    npz::unpack_with(input, dir, npz::UnpackOptions::default().sync(sync))
        .map_err(with_path(input))?;
    Ok(ExitCode::SUCCESS)
}
