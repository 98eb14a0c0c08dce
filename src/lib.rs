//! # npymap
//!
//! NumPy's `.npy` / `.npz` array files for Rust: parse and write headers
//! byte-identical to NumPy, and (in later modules) map payloads as typed,
//! zero-copy views.
//!
//! | module | holds |
//! |---|---|
//! | [`error`] | the crate's [`Error`] with an [`ErrorKind`] and context |
//! | [`literal`] | the Python-literal grammar headers are written in |
//! | [`dtype`] | NumPy's dtype model: [`Dtype`], descr text and JSON |
//! | [`header`] | the `.npy` preamble and header: [`Header::parse`], [`Header::to_bytes`] |
//!
//! The format as implemented, with every limit and leniency, is specified
//! in the repository's `spec/` folder.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod dtype;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod literal;
pub mod npy;

pub use dtype::{ByteOrder, Dtype, Field, Scalar, ScalarKind, Struct, TimeUnit};
pub use error::{Error, ErrorKind, Result};
pub use header::{Header, ParseOptions, ParsedHeader, Version};
