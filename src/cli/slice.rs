//! `npymap slice IN OUT [INDEX] [--field NAME]...`.

use std::path::Path;
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::convert::{Index, Payload, SliceOptions, SlicePlan, slice};

use super::{CliError, CmdResult, input, with_path};

pub(crate) fn run(
    input_path: &Path,
    out: &Path,
    index: &str,
    fields: &[String],
    durability: Durability,
) -> CmdResult {
    let index = Index::parse(index).map_err(|e| CliError(e.to_string()))?;
    let src = input::open(input_path)?;
    let opts = SliceOptions {
        fields: fields.to_vec(),
        index,
    };
    // What IN cannot give (index, fields) is about IN; the rest about OUT.
    SlicePlan::new(src.header(), &opts).map_err(with_path(input_path))?;
    slice(&src, out, &opts, durability).map_err(with_path(out))?;
    Ok(ExitCode::SUCCESS)
}
