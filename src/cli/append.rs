//! `npymap append DST SRC...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::convert::{Payload, append_to_file};

use super::{CmdResult, input, with_path};

pub(crate) fn run(dst: &Path, sources: &[PathBuf], durability: Durability) -> CmdResult {
    input::refuse_npz(dst)?;
    let opened = sources
        .iter()
        .map(|p| input::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&dyn Payload> = opened.iter().map(|i| i as &dyn Payload).collect();
    append_to_file(dst, &refs, durability).map_err(with_path(dst))?;
    Ok(ExitCode::SUCCESS)
}
