//! The `npymap` command: argument parsing lives in `cli`, the work in the library.
#![deny(unsafe_code)] // one audited exception: the module cli::input
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
