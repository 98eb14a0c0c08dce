//! Writing results to stdout: a failed write is an error (exit 2, naming
//! `stdout`), except a reader that went away (`| head`), which ends the
//! command quietly with the exit code it would have had (spec/cli.md §2.1).

use std::io::{ErrorKind, Write};

use super::CliError;

/// Writes `text` to stdout and flushes it.
///
/// # Errors
/// `stdout: MESSAGE` for any failed write but a broken pipe.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .or_else(quiet_on_broken_pipe)
}

/// `Ok` for a broken pipe (the reader stopped early), else the error as the
/// CLI prints it.
///
/// # Errors
/// `stdout: MESSAGE` for every other error.
pub(crate) fn quiet_on_broken_pipe(e: std::io::Error) -> Result<(), CliError> {
    if e.kind() == ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(CliError(format!("stdout: {e}")))
    }
}
