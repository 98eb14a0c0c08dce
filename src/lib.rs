//! # npymap
//!
//! NumPy's `.npy` / `.npz` array files for Rust: parse and write headers
//! byte-identical to NumPy, and map payloads as typed, zero-copy views.
//!
//! | module | holds |
//! |---|---|
//! | [`array`](mod@array) | [`Array`]: an owned array (values in the machine's byte order, shape, order) |
//! | [`atomic`] | [`atomic::AtomicFile`]: every file the crate writes appears whole or not at all |
//! | [`error`] | the crate's [`Error`] with an [`ErrorKind`] and context |
//! | [`literal`] | the Python-literal grammar headers are written in |
//! | [`dtype`] | NumPy's dtype model: [`Dtype`], descr text and JSON |
//! | [`header`] | the `.npy` preamble and header: [`Header::parse`], [`Header::to_bytes`] |
//! | [`view`] | typed views of a payload in any byte buffer: [`NpyView::as_slice`] (native, aligned) and [`NpyView::elements`] (any byte order and alignment), field views, chunks |
//! | [`mmap`] | memory maps in NumPy's modes r / r+ / c / w+, for `.npy` and raw files, and [`mmap::NpzMap`] for `.npz` archives; the only `unsafe` module |
//! | [`npy`] | streaming [`npy::NpyReader`] / [`npy::NpyWriter`], atomic [`npy::save`], [`npy::append`], [`npy::recover`] |
//! | [`npz`] | `.npz` archives: [`npz::NpzReader`] (typed `read_array`), [`npz::read_all`], [`npz::NpzArchive`] (zero-copy stored members), [`npz::NpzWriter`] |
//! | [`convert`] | streaming conversions with bounded memory: byte order, C <-> F, NumPy's casts at every casting level, raw <-> npy, [`convert::stats`], [`convert::compare`], [`convert::slice`](fn@convert::slice) (NumPy basic indexing and fields) |
//! | [`safetensors`](mod@safetensors) | `.safetensors` files both ways: [`safetensors::SafetensorsFile`] (read), [`safetensors::SafetensorsPlan`] (streamed write), [`safetensors::to_npz`], [`safetensors::unpack`] |
//! | `remote` | feature `remote`: `.npy` / `.npz` in object storage (S3, GCS, Azure, HTTP) with ranged reads and multipart writes |
//! | [`repr`] | an array as NumPy's `repr` prints it: [`repr::array_repr`] |
//! | [`record`] | structured arrays as Rust structs through serde: [`record::read`] into `Array<R: Deserialize>`, [`record::write`] of `&[R: Serialize]` with the dtype derived from `R` |
//! | [`text`] | text as `np.savetxt` writes it and `np.loadtxt` reads it: [`text::to_text_file`], [`text::from_text_file`] |
//! | [`typed`] | the everyday API: [`read`], [`write`](fn@write), [`save`] (and `read_npy` / `write_npy` with `ndarray`), for numbers, text (`U`), byte strings (`S`) and dates (`M8` / `m8`) |
//!
//! Feature `ndarray` adds `ArrayView` / `ArrayViewMut` views with C or
//! Fortran strides (`NpyView::as_array`, `NpyViewMut::as_array_mut`) and
//! owned arrays from the reader (`NpyReader::read_array`); docs.rs marks
//! these items with the feature they need.
//!
//! The crates whose types appear in this API are re-exported —
//! [`half`] (`f2`), [`num_complex`] (`c8`, `c16`), [`bytemuck`] and, with
//! the feature, `ndarray` — so code that names them through `npymap::`
//! always gets the versions npymap was built with.
//!
//! The repository's `examples/` folder holds everyday tasks end to end
//! (`cargo run --example read_write`, `strings_dates`, `records`, `ndarray`, `map_modes`, `raw_memmap`, `append`, `convert`),
//! each checked against NumPy-made files by `cargo test`. The format as
//! implemented, with every limit and leniency, is specified in the
//! repository's `spec/` folder.
#![cfg_attr(docsrs, feature(doc_cfg))]
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
#[cfg(feature = "remote")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
pub mod remote;
pub mod repr;
pub mod safetensors;
mod simd;
pub mod text;
pub mod typed;
pub mod view;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

// The crates whose types appear in npymap's public API, re-exported so a
// user names exactly the versions npymap was built with.

/// The [`half`](https://docs.rs/half) crate npymap uses for `f2` elements
/// ([`half::f16`]): name it as `npymap::half` so versions always match.
///
/// ```
/// use npymap::half::f16;
/// // SAFETY: the test data is not modified while mapped.
/// let map = unsafe { npymap::mmap::NpyMap::open("testdata/npy/f2_le.npy")? };
/// let v: Vec<f16> = map.elements::<f16>()?.to_vec();
/// assert_eq!(v.first(), Some(&f16::from_f32(-1.875)));
/// assert_eq!(v.last(), Some(&f16::from_f32(1.875)));
/// # Ok::<(), npymap::Error>(())
/// ```
pub use half;

/// The [`num-complex`](https://docs.rs/num-complex) crate npymap uses for
/// `c8` / `c16` elements ([`num_complex::Complex`]).
///
/// ```
/// use npymap::num_complex::Complex;
/// // SAFETY: the test data is not modified while mapped.
/// let map = unsafe { npymap::mmap::NpyMap::open("testdata/npy/c8_be.npy")? };
/// let v: Vec<Complex<f32>> = map.elements::<Complex<f32>>()?.to_vec();
/// assert_eq!(v.get(1), Some(&Complex::new(1.5, -0.25)));
/// # Ok::<(), npymap::Error>(())
/// ```
pub use num_complex;

/// The [`bytemuck`](https://docs.rs/bytemuck) crate behind the zero-copy
/// views, for casting between element slices and bytes with npymap's own
/// version.
///
/// ```
/// // SAFETY: the test data is not modified while mapped.
/// let map = unsafe { npymap::mmap::NpyMap::open("testdata/npy/i4_le.npy")? };
/// let values: &[i32] = map.as_slice()?; // a little-endian host
/// let bytes: &[u8] = npymap::bytemuck::cast_slice(values);
/// assert_eq!(bytes.get(..4), Some(&(-300_000i32).to_ne_bytes()[..]));
/// # Ok::<(), npymap::Error>(())
/// ```
pub use bytemuck;

/// The [`ndarray`](https://docs.rs/ndarray) crate the `ndarray` feature's
/// views and arrays are made of.
#[cfg(feature = "ndarray")]
#[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
pub use ndarray;

pub use array::Array;
pub use dtype::{ByteOrder, Dtype, Field, Scalar, ScalarKind, Struct, TimeUnit};
pub use error::{Error, ErrorKind, Result};
pub use header::{Header, ParseOptions, ParsedHeader, Version};
pub use typed::{
    DateTime64, LossyString, ReadElement, TimeDelta64, WriteElement, read, save, write, write_with,
};
#[cfg(feature = "ndarray")]
pub use typed::{read_npy, write_npy};
pub use view::{
    Element, Elements, ElementsMut, FieldView, FieldViewMut, NpyView, NpyViewMut, Record,
};
