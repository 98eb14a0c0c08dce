//! `npymap cmp A B`: exit 0 when equal, 1 when different, 2 on error.

use std::path::Path;
use std::process::ExitCode;

use npymap::convert::compare::{Comparison, compare};
use npymap::header::shape_text;

use super::{CmdResult, input, with_path};

pub(crate) fn run(a: &Path, b: &Path) -> CmdResult {
    let ia = input::open(a)?;
    let ib = input::open(b)?;
    let result = compare(&ia, &ib).map_err(with_path(a))?;
    let line = match result {
        Comparison::Equal => return Ok(ExitCode::SUCCESS),
        Comparison::Shape(x, y) => {
            format!("shapes differ: {} vs {}", shape_text(&x), shape_text(&y))
        }
        Comparison::Dtype(x, y) => format!("dtypes differ: {x} vs {y}"),
        Comparison::Value { index, a, b } => {
            format!(
                "first difference at index {}: {a} vs {b}",
                shape_text(&index)
            )
        }
    };
    super::stdout::print(&format!("{line}\n"))?;
    Ok(ExitCode::from(1))
}
