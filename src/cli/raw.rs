//! `npymap from-raw RAW OUT --dtype D [--shape S] [--order C|F] [--offset N]`
//! and `npymap to-raw IN OUT`.

use std::path::Path;
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::convert::{RawSpec, from_raw, to_raw_with};
use npymap::{Dtype, Error, ErrorKind, Header};

use super::args::shell_quote;
use super::{CliError, CmdResult, with_path};

pub(crate) fn run_from(
    raw: &Path,
    out: &Path,
    spec: &RawSpec,
    durability: Durability,
) -> CmdResult {
    from_raw(raw, out, spec, durability).map_err(with_path(raw))?;
    Ok(ExitCode::SUCCESS)
}

/// The `--dtype` value that parses back to `d`: the type string for simple
/// dtypes, the JSON form for structured ones.
fn dtype_arg(d: &Dtype) -> String {
    match d.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(crate) fn run_to(input: &Path, out: &Path, durability: Durability) -> CmdResult {
    super::input::refuse_npz(input)?;
    // The flags are printed before OUT is renamed into place: when they
    // cannot be printed, the command fails and OUT is left as it was.
    let mut failed: Option<CliError> = None;
    let written = to_raw_with(input, out, durability, |h| {
        super::stdout::print(&flags_line(h)).map_err(|e| {
            failed = Some(e);
            Error::from(ErrorKind::Unsupported("writing to stdout".into()))
        })
    });
    match (written, failed) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(with_path(input)(e)),
        (Ok(_), None) => Ok(ExitCode::SUCCESS),
    }
}

/// The from-raw flags that read the raw payload of `h` back.
fn flags_line(h: &Header) -> String {
    let shape: Vec<String> = h.shape.iter().map(u64::to_string).collect();
    let mut line = format!(
        "--dtype {} --shape {}",
        shell_quote(&dtype_arg(&h.dtype)),
        shell_quote(&shape.join(","))
    );
    if h.fortran_order {
        line.push_str(" --order F");
    }
    line.push('\n');
    line
}
