//! `npymap recover FILE`: the CLI face of `npy::recover`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::header::shape_text;
use npymap::npy;

use super::{CmdResult, with_path};

pub(crate) fn run(path: &Path, durability: Durability) -> CmdResult {
    let r = npy::recover_with_durability(path, durability).map_err(with_path(path))?;
    let line = if r.bytes_dropped == 0 && r.rows_after == r.rows_before {
        format!(
            "{}: nothing to repair, shape {}\n",
            path.display(),
            shape_text(&r.header.shape)
        )
    } else {
        format!(
            "{}: shape {}, {} bytes dropped\n",
            path.display(),
            shape_text(&r.header.shape),
            r.bytes_dropped
        )
    };
    let _ = std::io::stdout().write_all(line.as_bytes());
    Ok(ExitCode::SUCCESS)
}
