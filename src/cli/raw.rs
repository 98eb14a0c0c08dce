//! `npymap from-raw RAW OUT --dtype D [--shape S] [--order C|F] [--offset N]`
//! and `npymap to-raw IN OUT`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use npymap::Dtype;
use npymap::convert::{RawSpec, from_raw, to_raw};

use super::args::shell_quote;
use super::{CmdResult, with_path};

pub(crate) fn run_from(raw: &Path, out: &Path, spec: &RawSpec) -> CmdResult {
    from_raw(raw, out, spec).map_err(with_path(raw))?;
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

pub(crate) fn run_to(input: &Path, out: &Path) -> CmdResult {
    super::input::refuse_npz(input)?;
    let h = to_raw(input, out).map_err(with_path(input))?;
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
    let _ = std::io::stdout().write_all(line.as_bytes());
    Ok(ExitCode::SUCCESS)
}
