//! `npymap stats PATH [--json]`.

use std::path::Path;
use std::process::ExitCode;

use npymap::convert::Payload;
use npymap::convert::stats::{Extreme, stats};

use super::{CliError, CmdResult, input, with_path};

fn show(e: Option<Extreme>) -> String {
    match e {
        None => "none".into(),
        Some(Extreme::Int(i)) => i.to_string(),
        Some(Extreme::Float(x)) => npymap::convert::value::format_float(x, 8),
    }
}

pub(crate) fn run(path: &Path, json: bool) -> CmdResult {
    let src = input::open(path)?;
    let h = input::header(&src);
    let s = stats(&h.dtype, src.payload(), &mut |r| src.release(r)).map_err(with_path(path))?;
    let text = if json {
        serde_json::to_string(&s).map_err(|e| CliError(e.to_string()))? + "\n"
    } else {
        format!(
            "count:     {}\nmin:       {}\nmax:       {}\nmean:      {}\nnan_count: {}\n",
            s.count,
            show(s.min),
            show(s.max),
            s.mean
                .map_or("none".into(), |m| npymap::convert::value::format_float(
                    m, 8
                )),
            s.nan_count
        )
    };
    super::stdout::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
