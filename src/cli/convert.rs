//! `npymap convert IN OUT [--byte-order ..] [--order ..] [--format-version ..] [--dtype ..]`.

use std::path::Path;
use std::process::ExitCode;

use npymap::Version;
use npymap::atomic::Durability;
use npymap::convert::{ConvertOptions, Payload, Plan, convert_to_file};

use super::{CmdResult, input, with_path};

pub(crate) fn run(
    input_path: &Path,
    out: &Path,
    opts: &ConvertOptions,
    durability: Durability,
) -> CmdResult {
    if let Some(done) = super::safetensors::convert(input_path, out, opts, durability) {
        return done;
    }
    let src = input::open(input_path)?;
    // What IN cannot become (casts, versions) is about IN; the rest about OUT.
    let version = src.version().unwrap_or(Version::V1_0);
    Plan::new(src.header(), version, opts).map_err(with_path(input_path))?;
    convert_to_file(&src, out, opts, durability).map_err(with_path(out))?;
    Ok(ExitCode::SUCCESS)
}
