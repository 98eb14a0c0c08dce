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
mod safetensors;
mod show;
mod slice;
mod stats;
mod stdout;
mod text;
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
    /// a terminal and not with --json: for inputs of 64 MiB or more, and
    /// for downloads and uploads of URLs of 1 MiB or more)
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
    ///
    /// Example: npymap info model.safetensors
    Info {
        /// The .npy or .npz file (detected from its content), or a
        /// .safetensors file (by its extension)
        path: PathBuf,
        /// Print one JSON object instead of a summary
        #[arg(long)]
        json: bool,
    },
    /// Write the same array in another layout: byte order, memory order,
    /// format version or dtype (NumPy's casts)
    ///
    /// Options not given keep IN's choice. OUT is written to a temp file and
    /// renamed; IN and OUT may be the same path.
    ///
    /// Example: npymap convert data.npy data_be_f.npy --byte-order big --order F
    ///
    /// Example: npymap convert weights.npy weights_f4.npy --dtype float32 --casting same_kind
    ///
    /// With a .safetensors IN or OUT: an .npz, a directory of .npy files or
    /// one .npy becomes a .safetensors file (little-endian, C order), and a
    /// .safetensors file an .npz; `__metadata__` travels as a string member.
    ///
    /// Example: npymap convert weights.npz model.safetensors
    Convert {
        /// Input .npy (or .npz / directory / .safetensors, see above)
        input: PathBuf,
        /// Output .npy (or .safetensors / .npz, see above)
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
        /// Cast to this dtype (e.g. '<f8', float32); values as NumPy's astype gives them
        #[arg(long, value_parser = args::dtype)]
        dtype: Option<Dtype>,
        /// How much the cast may change values, as NumPy's casting=: no, equiv, safe,
        /// same_kind or unsafe
        #[arg(long, default_value = "safe", value_parser = args::casting)]
        casting: npymap::convert::Casting,
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
    ///
    /// Example: npymap unpack model.safetensors tensors/
    Unpack {
        /// The .npz archive or .safetensors file (one NAME.npy per tensor)
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
    /// Write a slice or fields of an array, as np.save of a[FIELDS][INDEX]
    ///
    /// OUT is what np.save(OUT, np.load(IN, mmap_mode='r')[FIELDS][INDEX])
    /// writes, byte for byte. INDEX is NumPy basic indexing: integers (drop
    /// the axis; negative from the end), start:stop:step slices, '...' and
    /// None. IN is read through bounded windows, never loaded whole.
    ///
    /// Examples:
    ///   npymap slice big.npy head.npy '1000:2000'
    ///   npymap slice img.npy col.npy ':, 3'
    ///   npymap slice a.npy b.npy '::2, -5:'
    ///   npymap slice rec.npy xy.npy --field x --field y   (a[['x', 'y']])
    ///   npymap slice rec.npy px.npy 10: --field pos.x     (a['pos']['x'][10:])
    #[command(verbatim_doc_comment)]
    Slice {
        /// Input .npy
        input: PathBuf,
        /// Output .npy (written to a temp file and renamed)
        output: PathBuf,
        /// The index inside a[...], e.g. '1000:2000', ':, 3', '::2, -5:', '...' (default: all)
        #[arg(default_value = "...", allow_hyphen_values = true)]
        index: String,
        /// Select a field first (repeat for a[['x', 'y']]; dots for nested fields)
        #[arg(long = "field", value_name = "NAME")]
        fields: Vec<String>,
    },
    /// Write a 1-D or 2-D array (or 1-D structured, one column per field)
    /// as text, byte-identical to np.savetxt with the same arguments
    ///
    /// --fmt is a Python %-format: one conversion used for every column, a
    /// whole-row format, or repeated once per column (savetxt's list form).
    /// Conversions: d i u x X o e E f F g G s with flags, width, precision.
    ///
    /// Example: npymap to-text data.npy data.csv --delimiter , --fmt %.6f --header 'x,y'
    ToText {
        /// Input .npy
        input: PathBuf,
        /// Output text file
        output: PathBuf,
        /// Format: a Python %-format (repeat for one per column)
        #[arg(long, allow_hyphen_values = true)]
        fmt: Vec<String>,
        /// Text between columns
        #[arg(long, default_value = " ", allow_hyphen_values = true)]
        delimiter: String,
        /// Text ending each line [default: a line feed] (e.g. $'\r\n' in bash)
        #[arg(long, allow_hyphen_values = true)]
        newline: Option<String>,
        /// Text written first, each line prefixed with --comments
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        header: String,
        /// Text written last, each line prefixed with --comments
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        footer: String,
        /// Prefix of header and footer lines
        #[arg(long, default_value = "# ", allow_hyphen_values = true)]
        comments: String,
    },
    /// Read a text table into an .npy, equal to np.save of np.loadtxt with
    /// the same arguments
    ///
    /// Values are split at whitespace (or --delimiter); text after
    /// --comments is ignored; blank lines are skipped. One row or one
    /// column gives a 1-D array, one value a 0-d array (unless --ndmin).
    ///
    /// Example: npymap from-text data.csv data.npy --dtype float32 --delimiter , --skiprows 1
    FromText {
        /// Input text file
        input: PathBuf,
        /// Output .npy
        output: PathBuf,
        /// Element type: bool, an integer, a float up to float64 or a complex (e.g. '<i4', float32, c16)
        #[arg(long, value_parser = args::dtype, default_value = "<f8")]
        dtype: Dtype,
        /// The one character between values (default: runs of whitespace)
        #[arg(long, value_parser = text::delimiter, allow_hyphen_values = true)]
        delimiter: Option<char>,
        /// Comment marker: text from it to the end of the line is ignored ('' for none)
        #[arg(long, default_value = "#", allow_hyphen_values = true)]
        comments: String,
        /// Lines to skip at the start (comments and blank lines count)
        #[arg(long, default_value_t = 0)]
        skiprows: u64,
        /// Columns to keep, comma-separated, negative from the end (e.g. 0,2,-1)
        #[arg(long, value_parser = text::usecols, allow_hyphen_values = true)]
        usecols: Option<text::Cols>,
        /// Minimum number of dimensions of the result: 0, 1 or 2
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
        ndmin: u8,
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
    // Bars only on a terminal's stderr, never with --quiet or --json.
    let json = matches!(
        cli.command,
        Command::Info { json: true, .. } | Command::Stats { json: true, .. }
    );
    input::enable_progress(!cli.quiet && !json);
    // Durable when replacing what the user has; --no-sync: rename only.
    let durability = if cli.no_sync {
        Durability::Atomic
    } else {
        Durability::DurableWhenReplacing
    };
    // A mapped input truncated by another process: an error, not a signal.
    input::install_sigbus_handler();
    // Ctrl-C, SIGTERM, SIGHUP: remove this run's temp files, exit 130.
    input::install_termination_handler();
    // URL arguments: `info` reads them itself, others are staged locally.
    #[cfg(feature = "remote")]
    if let Command::Info { path, json } = &cli.command
        && let Some(url) = path.to_str().filter(|p| npymap::remote::is_url(p))
    {
        return report(remote::info(url, *json, cli.concurrency));
    }
    // `show URL`: the header and the printed elements only, when it can.
    #[cfg(feature = "remote")]
    if let Command::Show { path, full } = &cli.command
        && let Some(url) = path.to_str().filter(|p| npymap::remote::is_url(p))
        && let Some(result) = remote::show(url, *full, cli.concurrency)
    {
        return report(result);
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
            casting,
        } => convert::run(
            &input,
            &output,
            &npymap::convert::ConvertOptions {
                byte_order,
                fortran_order: order,
                version: format_version,
                dtype,
                casting,
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
        Command::Slice {
            input,
            output,
            index,
            fields,
        } => slice::run(&input, &output, &index, &fields, durability),
        Command::Append { dst, sources } => append::run(&dst, &sources, durability),
        Command::Recover { path } => recover::run(&path, durability),
        Command::ToText {
            input,
            output,
            fmt,
            delimiter,
            newline,
            header,
            footer,
            comments,
        } => text::run_to(
            &input,
            &output,
            &npymap::text::SaveTxtOptions {
                fmt: text::fmt(fmt),
                delimiter,
                newline: newline.unwrap_or_else(|| "\n".into()),
                header,
                footer,
                comments,
            },
            durability,
        ),
        Command::FromText {
            input,
            output,
            dtype,
            delimiter,
            comments,
            skiprows,
            usecols,
            ndmin,
        } => text::run_from(
            &input,
            &output,
            &npymap::text::LoadTxtOptions {
                dtype,
                delimiter,
                comments: (!comments.is_empty()).then_some(comments),
                skiprows,
                usecols: usecols.map(|c| c.0),
                ndmin,
            },
            durability,
        ),
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
