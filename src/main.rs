//! The `npymap` command: argument parsing lives in `cli`, the work in the library.
#![deny(unsafe_code)] // one audited exception: cli::input::open

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
