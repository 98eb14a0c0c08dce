//! The command line: clap definitions, dispatch, and error reporting per
//! the CLI contract (`spec/cli.md`): exit 0 on success, 1 only from `cmp`
//! when arrays differ, 2 on any error, with `npymap: error: ` on stderr.

mod append;
mod args;
mod cmp;
mod convert;
mod info;
mod input;
mod pack;
mod raw;
mod recover;
#[cfg(feature = "remote")]
mod remote;
mod show;
mod stats;
mod stdout;
mod unpack;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use npymap::atomic::Durability;
use npymap::{ByteOrder, Dtype, Version};

/// Inspect and convert NumPy .npy / .npz files.
#[derive(Parser, Debug)]
// The about line is spelled out: a bare `about` would print the crate's
// Cargo.toml description, which describes the library, not the command.
#[command(
    name = "npymap",
    version,
    about = "Inspect and convert NumPy .npy / .npz files",
    long_about = None
)]
struct Cli {
    /// Never draw progress bars (they are drawn on stderr, only when it is
    /// a terminal, for inputs of 64 MiB or more)
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Never fsync: replace files by rename alone, like cp (by default a
    /// file that already exists is synced before it is replaced, and its
    /// directory after)
    #[arg(long, global = true)]
    no_sync: bool,
    /// Ranged GETs / upload parts in flight per URL argument (default 8;
    /// builds with the `remote` feature)
    #[arg(long, global = true, value_name = "N")]
    concurrency: Option<usize>,
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
    /// Write the same array in another layout: byte order, memory order,
    /// format version or dtype (safe casts)
    ///
    /// Options not given keep IN's choice. OUT is written to a temp file and
    /// renamed; IN and OUT may be the same path.
    ///
    /// Example: npymap convert data.npy data_be_f.npy --byte-order big --order F
    Convert {
        /// Input .npy
        input: PathBuf,
        /// Output .npy
        output: PathBuf,
        /// Byte order of every multi-byte field: little, big or native
        #[arg(long, value_parser = args::byte_order)]
        byte_order: Option<ByteOrder>,
        /// Memory order: C (row-major) or F (column-major)
        #[arg(long, value_parser = args::order)]
        order: Option<bool>,
        /// Format version: 1.0, 2.0 or 3.0 (an error if it cannot hold the header)
        #[arg(long, value_parser = args::version)]
        format_version: Option<Version>,
        /// Cast to this dtype (e.g. '<f8', float64); only safe casts
        #[arg(long, value_parser = args::dtype)]
        dtype: Option<Dtype>,
    },
    /// Wrap headerless raw bytes (ndarray.tofile, np.memmap) into an .npy
    ///
    /// Example: npymap from-raw data.bin data.npy --dtype '<f4' --shape 3,4
    FromRaw {
        /// Raw input file
        raw: PathBuf,
        /// Output .npy
        output: PathBuf,
        /// Element type (e.g. '<f8', float32, or the JSON form of a structured dtype)
        #[arg(long, value_parser = args::dtype)]
        dtype: Dtype,
        /// Shape as comma-separated dims ('' for 0-d); default: 1-D from the file size
        #[arg(long, value_parser = args::shape_arg)]
        shape: Option<args::Shape>,
        /// Memory order of the raw data: C or F
        #[arg(long, value_parser = args::order, default_value = "C", action = clap::ArgAction::Set)]
        order: bool,
        /// Bytes to skip at the start of RAW
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Write an .npy's payload bytes unchanged to a raw file; print the
    /// from-raw flags that map it back
    ///
    /// Example: npymap to-raw data.npy data.bin
    ToRaw {
        /// Input .npy
        input: PathBuf,
        /// Output raw file
        output: PathBuf,
    },
    /// Compare two arrays elementwise: exit 0 if equal, 1 if different
    ///
    /// Byte order, memory order and format version may differ; NaN equals NaN.
    ///
    /// Example: npymap cmp a.npy b.npy
    Cmp {
        /// First .npy
        a: PathBuf,
        /// Second .npy
        b: PathBuf,
    },
    /// Count, min, max, mean and NaN count of a bool/int/uint/float array
    ///
    /// Example: npymap stats data.npy --json
    Stats {
        /// Input .npy
        path: PathBuf,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Append arrays to DST along its growth axis (axis 0 for C order, the
    /// last axis for Fortran order)
    ///
    /// Each SRC must have DST's dtype up to byte order and DST's other dims;
    /// it is converted to DST's byte order and memory order. In place when
    /// the header has room (data first, header last), else DST is rewritten
    /// atomically.
    ///
    /// Example: npymap append log.npy day1.npy day2.npy
    Append {
        /// The .npy to grow
        dst: PathBuf,
        /// Arrays to append, in order
        #[arg(required = true)]
        sources: Vec<PathBuf>,
    },
    /// Pack .npy files into an .npz archive that np.load reads
    ///
    /// Members are named NAME (default: the input's file stem) plus `.npy`;
    /// stored members get their payload 64-byte aligned in the archive.
    ///
    /// Example: npymap pack out.npz weights=w.npy b.npy --compress
    Pack {
        /// The archive to write (atomically: temp file + rename)
        out: std::path::PathBuf,
        /// Input .npy files, each optionally prefixed with NAME=
        #[arg(required = true, value_name = "[NAME=]IN.npy")]
        inputs: Vec<String>,
        /// Deflate the members (as np.savez_compressed) instead of storing them
        #[arg(long)]
        compress: bool,
    },
    /// Write every member of an .npz archive to DIR/NAME.npy
    ///
    /// Refuses member names that are absolute or contain `..`; never writes
    /// outside DIR.
    ///
    /// Example: npymap unpack data.npz data/
    Unpack {
        /// The .npz archive
        input: std::path::PathBuf,
        /// The directory to write into (created if missing)
        dir: std::path::PathBuf,
    },
    /// Repair an .npy whose payload does not match its header: drop the
    /// bytes an interrupted append left past the payload, or cut a short
    /// file to its last whole row
    ///
    /// Prints the shape the file now has. A healthy file is left untouched.
    ///
    /// Example: npymap recover log.npy
    Recover {
        /// The .npy to repair (in place)
        path: PathBuf,
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
    #[cfg_attr(not(feature = "remote"), allow(unused_mut))]
    let mut cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                // A usage error like any other: the contract's prefix, then help.
                let _ = write!(
                    std::io::stderr(),
                    "npymap: error: a command is required\n\n{}",
                    e.render()
                );
                return ExitCode::from(2);
            }
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let _ = write!(std::io::stderr(), "npymap: error: {text}");
            return ExitCode::from(2);
        }
    };
    input::enable_progress(!cli.quiet);
    // Durable when replacing what the user has; --no-sync: rename only.
    let durability = if cli.no_sync {
        Durability::Atomic
    } else {
        Durability::DurableWhenReplacing
    };
    // Ctrl-C / SIGTERM: remove this run's temp files, leave OUT untouched.
    let _ = ctrlc::set_handler(|| {
        npymap::atomic::remove_pending();
        std::process::exit(130);
    });
    // A mapped input truncated by another process: an error, not a signal.
    input::install_sigbus_handler();
    // URL arguments: `info` reads them itself, others are staged locally.
    #[cfg(feature = "remote")]
    if let Command::Info { path, json } = &cli.command
        && let Some(url) = path.to_str().filter(|p| npymap::remote::is_url(p))
    {
        return report(remote::info(url, *json, cli.concurrency));
    }
    #[cfg(feature = "remote")]
    let staging = match remote::stage(&mut cli.command, cli.concurrency) {
        Ok(s) => s,
        Err(e) => return report(Err(e)),
    };
    #[cfg(not(feature = "remote"))]
    let _ = cli.concurrency;
    let result = match cli.command {
        Command::Info { path, json } => info::run(&path, json),
        Command::Convert {
            input,
            output,
            byte_order,
            order,
            format_version,
            dtype,
        } => convert::run(
            &input,
            &output,
            &npymap::convert::ConvertOptions {
                byte_order,
                fortran_order: order,
                version: format_version,
                dtype,
            },
            durability,
        ),
        Command::FromRaw {
            raw,
            output,
            dtype,
            shape,
            order,
            offset,
        } => raw::run_from(
            &raw,
            &output,
            &npymap::convert::RawSpec {
                dtype,
                shape: shape.map(|s| s.0),
                fortran_order: order,
                offset,
            },
            durability,
        ),
        Command::ToRaw { input, output } => raw::run_to(&input, &output, durability),
        Command::Cmp { a, b } => cmp::run(&a, &b),
        Command::Stats { path, json } => stats::run(&path, json),
        Command::Pack {
            out,
            inputs,
            compress,
        } => pack::run(&out, &inputs, compress, durability),
        Command::Unpack { input, dir } => unpack::run(&input, &dir, !cli.no_sync),
        Command::Show { path, full } => show::run(&path, full),
        Command::Append { dst, sources } => append::run(&dst, &sources, durability),
        Command::Recover { path } => recover::run(&path, durability),
    };
    #[cfg(feature = "remote")]
    let result = staging.finish(result);
    report(result)
}

/// The exit code of a command's result, its error printed per the contract.
fn report(result: CmdResult) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(CliError(msg)) => {
            let _ = writeln!(std::io::stderr(), "npymap: error: {msg}");
            ExitCode::from(2)
        }
    }
}
