//! `npymap to-text IN OUT [--fmt ..] [--delimiter ..] [--newline ..]
//! [--header ..] [--footer ..] [--comments ..]` and `npymap from-text IN
//! OUT [--dtype T] [--delimiter C] [--comments ..] [--skiprows N]
//! [--usecols ..] [--ndmin N]`.

use std::path::Path;
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::text::{Fmt, LoadTxtOptions, SaveTxtOptions, from_text_file, to_text_file};

use super::{CmdResult, input, with_path};

/// `np.savetxt`'s `fmt`: one `--fmt` is the string form, several the list
/// form (one per column).
pub(crate) fn fmt(mut given: Vec<String>) -> Fmt {
    match given.len() {
        0 => Fmt::One("%.18e".into()),
        1 => Fmt::One(given.pop().unwrap_or_default()),
        _ => Fmt::PerColumn(given),
    }
}

pub(crate) fn run_to(
    input_path: &Path,
    out: &Path,
    opts: &SaveTxtOptions,
    durability: Durability,
) -> CmdResult {
    let src = input::open(input_path)?;
    to_text_file(&src, out, opts, durability).map_err(with_path(input_path))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_from(
    input_path: &Path,
    out: &Path,
    opts: &LoadTxtOptions,
    durability: Durability,
) -> CmdResult {
    from_text_file(input_path, out, opts, durability).map_err(with_path(input_path))?;
    Ok(ExitCode::SUCCESS)
}

/// A parsed `--usecols` (a newtype so clap sees one value, not many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cols(pub Vec<i64>);

/// A `--usecols` value: comma-separated column indices, negative from the end.
pub(crate) fn usecols(s: &str) -> Result<Cols, String> {
    s.split(',')
        .map(|c| {
            c.trim().parse::<i64>().map_err(|_| {
                format!(
                    "invalid --usecols {s:?}: {c:?} is not a column index (expected e.g. 0,2,-1)"
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(Cols)
}

/// A `--delimiter` for from-text: one character.
pub(crate) fn delimiter(s: &str) -> Result<char, String> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!(
            "the delimiter must be a single character (as np.loadtxt requires), got {s:?}"
        )),
    }
}
