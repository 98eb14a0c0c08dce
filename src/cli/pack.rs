//! `npymap pack OUT.npz [NAME=]IN.npy... [--compress]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::npz::{self, Compression};

use super::{CliError, CmdResult, with_path};

/// Splits `NAME=PATH`; an argument that names an existing file is a path
/// even if it contains `=`. Without a name, the file stem is used.
fn name_and_path(arg: &str) -> Result<(String, PathBuf), CliError> {
    if !Path::new(arg).exists()
        && let Some((name, path)) = arg.split_once('=')
        && !name.is_empty()
    {
        return Ok((name.to_owned(), PathBuf::from(path)));
    }
    let path = PathBuf::from(arg);
    let stem = path.file_stem().and_then(|s| s.to_str()).ok_or_else(|| {
        CliError(format!(
            "{arg}: cannot take a member name from this path; use NAME={arg}"
        ))
    })?;
    Ok((stem.to_owned(), path))
}

pub(crate) fn run(
    out: &Path,
    args: &[String],
    compress: bool,
    durability: Durability,
) -> CmdResult {
    let inputs = args
        .iter()
        .map(|a| name_and_path(a))
        .collect::<Result<Vec<_>, _>>()?;
    for (_, path) in &inputs {
        super::input::refuse_npz(path)?;
    }
    let compression = if compress {
        Compression::Deflated
    } else {
        Compression::Stored
    };
    npz::pack(out, &inputs, compression, durability).map_err(with_path(out))?;
    Ok(ExitCode::SUCCESS)
}
