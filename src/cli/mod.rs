//! The command line: clap definitions, dispatch, and error reporting per
//! the CLI contract (`spec/cli.md`): exit 0 on success, 1 only from `cmp`
//! when arrays differ, 2 on any error, with `npymap: error: ` on stderr.

mod info;
mod show;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Inspect and convert NumPy .npy / .npz files.
#[derive(Parser, Debug)]
#[command(name = "npymap", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print what a file's header says: dtype, shape, order, version, offsets
    ///
    /// Example: npymap info testdata/npy/c_2x3.npy --json
    Info {
        /// The .npy or .npz file (detected from its content)
        path: PathBuf,
        /// Print one JSON object instead of a summary
        #[arg(long)]
        json: bool,
    },
    /// Print the array the way NumPy's `repr` does, summarised with `...`
    /// past 1000 elements
    ///
    /// Example: npymap show testdata/npy/c_2x3.npy --full
    Show {
        /// The .npy file
        path: PathBuf,
        /// Print every element (NumPy with `threshold=sys.maxsize`)
        #[arg(long)]
        full: bool,
    },
}

/// What a command reports back to `main`.
pub(crate) type CmdResult = Result<ExitCode, CliError>;

/// An error as the CLI prints it: the first line after `npymap: error: `.
#[derive(Debug)]
pub(crate) struct CliError(pub String);

impl From<npymap::Error> for CliError {
    fn from(e: npymap::Error) -> Self {
        CliError(e.to_string())
    }
}

/// Adds the path to an error that does not name it yet.
pub(crate) fn with_path(path: &std::path::Path) -> impl Fn(npymap::Error) -> CliError + '_ {
    move |e| {
        if e.path().is_some() {
            CliError(e.to_string())
        } else {
            CliError(e.in_path(path).to_string())
        }
    }
}

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let _ = write!(std::io::stderr(), "npymap: error: {text}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Info { path, json } => info::run(&path, json),
        Command::Show { path, full } => show::run(&path, full),
    };
    match result {
        Ok(code) => code,
        Err(CliError(msg)) => {
            let _ = writeln!(std::io::stderr(), "npymap: error: {msg}");
            ExitCode::from(2)
        }
    }
}
