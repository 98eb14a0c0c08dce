//! Text files as `np.savetxt` writes them and `np.loadtxt` reads them.
//!
//! Like `npz`, a format beside `.npy` that turns into the same header and
//! payload the rest of the crate speaks:
//!
//! - [`write_text`] / [`to_text_file`]: an array (1-D, 2-D, or 1-D
//!   structured with scalar fields) as `np.savetxt(f, a, fmt, delimiter,
//!   newline, header, footer, comments)` writes it, byte for byte, with
//!   Python's `%` operator re-implemented for the conversions `fmt` uses
//!   ([`PyFormat`]);
//! - [`from_text`] / [`from_text_file`]: text as `np.loadtxt(f, dtype,
//!   delimiter, comments, skiprows, usecols, ndmin)` reads it, written as
//!   the `.npy` that `np.save` writes for the result.
//!
//! Both stream: memory stays bounded by one row (one line) plus fixed
//! buffers, and outputs appear whole or not at all (`crate::atomic`).
//!
//! ```
//! use npymap::convert::InMemory;
//! use npymap::text::{SaveTxtOptions, write_text};
//! use npymap::{Dtype, Header};
//! let header = Header { dtype: Dtype::from_descr("<f8")?, fortran_order: false, shape: vec![2] };
//! let bytes = [0.5f64, -1e300].iter().flat_map(|x| x.to_le_bytes()).collect();
//! let a = InMemory { header, bytes, version: None };
//! let mut out = Vec::new();
//! write_text(&a, &mut out, &SaveTxtOptions::default())?;
//! assert_eq!(out, b"5.000000000000000000e-01\n-1.000000000000000053e+300\n");
//! # Ok::<(), npymap::Error>(())
//! ```

mod format;
mod read;
mod write;

pub use format::{Arg, MAX_WIDTH, PyFormat};
pub use read::{LoadTxtOptions, MAX_LINE, from_text, from_text_file};
pub use write::{Fmt, MAX_EMPTY_ROWS, SaveTxtOptions, to_text_file, write_text};
