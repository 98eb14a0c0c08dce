//! The everyday API: one typed call to read or write a whole `.npy` file.
//!
//! [`read`] gives an owned [`Array`] (values in the machine's byte order,
//! shape, memory order); [`write()`], [`write_with`] and [`save`] write
//! NumPy's exact bytes atomically through [`npy::save_with`]. The element
//! types are [`ReadElement`] and [`WriteElement`]: every [`Element`]
//! (numbers, `bool`, complex, `f16`, records) plus text (`U<n>`), byte
//! strings (`S<n>`) and dates (`M8`, `m8`). With the `ndarray` feature,
//! `read_npy` and `write_npy` do the same for `ndarray` arrays of any
//! layout. The rules are in the repository's `spec/api.md`.
//!
//! This layer adds no parser and no writer of its own: the header is read
//! by [`Header::read_from`], the file written by [`npy::save_with`].
//!
//! [`Element`]: crate::Element

pub(crate) mod dates;
pub(crate) mod decode;
pub(crate) mod encode;
#[cfg(feature = "ndarray")]
mod nd;

use std::io::{Seek, SeekFrom};
use std::path::Path;

pub use dates::{DateTime64, TimeDelta64};
pub use decode::{LossyString, ReadElement};
pub use encode::WriteElement;
#[cfg(feature = "ndarray")]
pub use nd::{read_npy, write_npy};

use crate::array::Array;
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParseOptions, shape_text};
use crate::npy;
use crate::view::NpyView;

/// The shape as `usize`s.
fn usize_shape(shape: &[u64]) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::from(ErrorKind::Overflow { what: "shape" }))
        })
        .collect()
}

/// Reads the whole `.npy` file at `path` (format version 1, 2 or 3, any
/// byte order, C or Fortran order) into an owned [`Array`] of `T`, the
/// values converted to the machine's byte order, as `np.load` does.
///
/// The header is read and checked against the file's size first; then the
/// payload is read straight into a `Vec` of that checked size (for
/// numbers, in place, swapped in place when the file is in the other byte
/// order). `bool` bytes other than 0 and 1 are refused.
///
/// # Errors
/// `Io`, any header error, `PayloadSize` when the file is not exactly
/// header plus payload, `ObjectDtype`, `DtypeMismatch` naming both sides
/// (`expected '<f4' (f32), found '<f8'`), `InvalidBool`, and for text an
/// `UnsupportedCast` naming an element that holds a lone surrogate; each
/// names the path.
///
/// # Examples
/// ```
/// // NumPy: a = np.load("testdata/npy/f8_be.npy")
/// let a = npymap::read::<f64>("testdata/npy/f8_be.npy")?; // big-endian on disk
/// assert_eq!(a.shape(), [6]);
/// assert_eq!(a.as_slice()[0], -1.875);
/// let e = npymap::read::<f32>("testdata/npy/f8_le.npy").unwrap_err();
/// assert!(e.to_string().contains("expected '<f4' (f32), found '<f8'"));
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn read<T: ReadElement>(path: impl AsRef<Path>) -> Result<Array<T>> {
    let path = path.as_ref();
    let file = npy::open_input(path)?;
    read_open(&file).map_err(|e| e.in_path(path))
}

fn read_open<T: ReadElement>(file: &std::fs::File) -> Result<Array<T>> {
    let parsed = npy::inspect_open(file, &ParseOptions::default())?;
    let header = &parsed.header;
    if header.dtype.has_object() {
        return Err(Error::new(ErrorKind::ObjectDtype).at(parsed.data_offset));
    }
    T::check(&header.dtype)?;
    let shape = usize_shape(&header.shape)?;
    let count = usize::try_from(header.element_count()?).map_err(|_| ErrorKind::Overflow {
        what: "element count",
    })?;
    // `inspect_open` checked this length against the file's size.
    let payload_len = usize::try_from(header.payload_len()?).map_err(|_| ErrorKind::Overflow {
        what: "payload size",
    })?;
    let mut reader = file;
    reader.seek(SeekFrom::Start(parsed.data_offset))?;
    let data = T::read_from(&mut reader, &header.dtype, count, payload_len)
        .map_err(|e| e.at(parsed.data_offset))?;
    Array::from_parts(shape, header.fortran_order, data)
}

/// Writes `data` (C order) with `shape` as the `.npy` file at `path`,
/// byte-identical to `np.save(path, np.array(data).reshape(shape))`,
/// atomically (a temporary file renamed over `path`; see [`npy::save`]).
/// The dtype is the one `np.array` gives the values: `'<f8'` for `f64`,
/// `'<U<n>'` for text with `n` the longest value's length in code points
/// (at least 1), `'|S<n>'` for byte strings, the dates' own unit.
///
/// # Errors
/// `ShapeMismatch` when `shape` does not hold `data.len()` values,
/// `Unsupported` for a type that names no dtype (`[u8; N]`; use
/// [`write_with`]) or dates in two units, `Io`; on any error `path` is
/// left as it was.
///
/// # Examples
/// ```
/// // NumPy: np.save(path, np.arange(6.0).reshape(2, 3))
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// npymap::write(&path, &[2, 3], &[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0])?;
/// assert_eq!(std::fs::read(&path)?, std::fs::read("testdata/npy/c_2x3.npy")?);
/// npymap::write(&path, &[2], &["a", "ßc"])?; // '<U2'
/// assert_eq!(npymap::read::<String>(&path)?.into_vec(), ["a", "ßc"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write<T: WriteElement>(path: impl AsRef<Path>, shape: &[usize], data: &[T]) -> Result<()> {
    let path = path.as_ref();
    check_count(shape, data.len(), "values").map_err(|e| e.in_path(path))?;
    let dtype = T::dtype_for(data).map_err(|e| e.in_path(path))?;
    write_with(path, &Header::new(dtype, shape), data)
}

/// Writes `array` as the `.npy` file at `path` in its own memory order
/// (`fortran_order` as the array says), as [`write()`] does.
///
/// # Errors
/// As [`write()`].
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f.npy");
/// let a = npymap::Array::from_vec_fortran(vec![2, 3], vec![0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0])?;
/// npymap::save(&path, &a)?;
/// assert_eq!(std::fs::read(&path)?, std::fs::read("testdata/npy/f_2x3.npy")?);
/// assert_eq!(npymap::read::<f64>(&path)?, a);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<T: WriteElement>(path: impl AsRef<Path>, array: &Array<T>) -> Result<()> {
    let path = path.as_ref();
    let dtype = T::dtype_for(array.as_slice()).map_err(|e| e.in_path(path))?;
    let mut header = Header::new(dtype, array.shape());
    header.fortran_order = array.fortran_order();
    write_with(path, &header, array.as_slice())
}

/// Writes `data` (in the header's memory order) as the `.npy` file at
/// `path` with `header`'s dtype, shape and order: for a dtype other than
/// the one [`write()`] picks, such as a wider `'<U10'`, the other byte order
/// (`'>i4'`), or the dtype of a `[u8; N]` record.
///
/// # Errors
/// As [`write()`], plus `DtypeMismatch` when `T` cannot be written as the
/// header's dtype and `UnsupportedCast` naming a value too long for its
/// `U<n>` / `S<n>` (NumPy cuts such a value; npymap refuses).
///
/// # Examples
/// ```
/// use npymap::{Dtype, Header};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("u.npy");
/// let header = Header::new(Dtype::from_descr(">U5")?, &[2]);
/// npymap::write_with(&path, &header, &["ab", "cde"])?;
/// assert_eq!(npymap::read::<String>(&path)?.into_vec(), ["ab", "cde"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_with<T: WriteElement>(
    path: impl AsRef<Path>,
    header: &Header,
    data: &[T],
) -> Result<()> {
    let path = path.as_ref();
    let shape = usize_shape(&header.shape).map_err(|e| e.in_path(path))?;
    check_count(&shape, data.len(), "values").map_err(|e| e.in_path(path))?;
    npy::save_with(path, header, |w| T::write_to(data, &header.dtype, w))
}

/// Checks that `shape` holds `len` items, named `noun` in the error
/// ("values"; records say "records").
pub(crate) fn check_count(shape: &[usize], len: usize, noun: &str) -> Result<()> {
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or(ErrorKind::Overflow { what: "shape" })?;
    if count != len {
        return Err(ErrorKind::ShapeMismatch {
            expected: format!("{count} {noun} for shape {}", shape_text(shape)),
            found: format!("{len} {noun}"),
        }
        .into());
    }
    Ok(())
}

impl NpyView<'_> {
    /// Decodes the payload into an owned [`Array`] of `T` (any
    /// [`ReadElement`]: numbers, `String` from `U<n>`, `Vec<u8>` from
    /// `S<n>`, [`DateTime64`] ...), in the machine's byte order, at any
    /// alignment: the same rules as [`read`], for a payload already in
    /// memory (a buffer, an [`NpyMap`](crate::mmap::NpyMap)'s view, an npz
    /// member's bytes).
    ///
    /// # Errors
    /// As [`read`], without `Io`.
    ///
    /// # Examples
    /// ```
    /// let bytes = std::fs::read("testdata/npy/S5.npy")?;
    /// let view = npymap::NpyView::new(&bytes)?;
    /// let a = view.decode::<Vec<u8>>()?; // trailing NULs dropped, as NumPy does
    /// assert!(a.as_slice().iter().all(|b| b.len() <= 5));
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn decode<T: ReadElement>(&self) -> Result<Array<T>> {
        let header = self.header();
        T::check(&header.dtype)?;
        let shape = usize_shape(&header.shape)?;
        let data = T::decode(&header.dtype, self.payload(), self.len())
            .map_err(|e| e.at(self.data_offset()))?;
        Array::from_parts(shape, header.fortran_order, data)
    }
}
