//! # npymap
//!
//! NumPy's `.npy` / `.npz` array files for Rust: parse and write headers
//! byte-identical to NumPy, and map payloads as typed, zero-copy views.
//!
//! | module | holds |
//! |---|---|
//! | [`array`] | [`Array`]: an owned array (values, shape, order), what the one-call reads return |
//! | [`atomic`] | [`atomic::AtomicFile`]: every file the crate writes appears whole or not at all |
//! | [`error`] | the crate's [`Error`] with an [`ErrorKind`] and context |
//! | [`literal`] | the Python-literal grammar headers are written in |
//! | [`dtype`] | NumPy's dtype model: [`Dtype`], descr text and JSON |
//! | [`header`] | the `.npy` preamble and header: [`Header::parse`], [`Header::to_bytes`] |
//! | [`view`] | typed views of a payload in any byte buffer: [`NpyView::as_slice`] (native, aligned) and [`NpyView::elements`] (any byte order and alignment), field views, chunks |
//! | [`mmap`] | memory maps in NumPy's modes r / r+ / c / w+, for `.npy` and raw files; the only `unsafe` module |
//! | [`npy`] | streaming [`npy::NpyReader`] / [`npy::NpyWriter`], atomic [`npy::save`], [`npy::append`], [`npy::recover`] |
//! | [`npz`] | `.npz` archives: [`npz::NpzReader`], [`npz::NpzArchive`] (zero-copy stored members), [`npz::NpzWriter`] |
//! | [`convert`] | streaming conversions with bounded memory: byte order, C <-> F, safe casts, raw <-> npy, [`convert::stats`], [`convert::compare`] |
//! | [`repr`] | an array as NumPy's `repr` prints it: [`repr::array_repr`] |
//!
//! Feature `ndarray` adds `ArrayView` / `ArrayViewMut` views with C or
//! Fortran strides and owned arrays from the reader.
//!
//! The format as implemented, with every limit and leniency, is specified
//! in the repository's `spec/` folder.
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod array;
pub mod atomic;
pub mod convert;
pub mod dtype;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod literal;
#[allow(unsafe_code)]
pub mod mmap;
pub mod npy;
pub mod npz;
pub mod record;
pub mod repr;
pub mod view;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use array::Array;
pub use dtype::{ByteOrder, Dtype, Field, Scalar, ScalarKind, Struct, TimeUnit};
pub use error::{Error, ErrorKind, Result};
pub use header::{Header, ParseOptions, ParsedHeader, Version};
pub use view::{
    Element, Elements, ElementsMut, FieldView, FieldViewMut, NpyView, NpyViewMut, Record,
};
