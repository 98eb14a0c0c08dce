//! The `npymap` command: argument parsing lives in `cli`, the work in the library.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
