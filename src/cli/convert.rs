//! `npymap convert IN OUT [--byte-order ..] [--order ..] [--format-version ..] [--dtype ..]`.

use std::path::Path;
use std::process::ExitCode;

use npymap::convert::{ConvertOptions, convert_to_file};

use super::{CmdResult, input, with_path};

pub(crate) fn run(input_path: &Path, out: &Path, opts: &ConvertOptions) -> CmdResult {
    let src = input::open(input_path)?;
    convert_to_file(&src, out, opts).map_err(with_path(out))?;
    Ok(ExitCode::SUCCESS)
}
