//! One-call `ndarray` files (feature `ndarray`): [`read_npy`] and
//! [`write_npy`], with `np.save`'s choice of memory order for any layout.

use std::path::Path;

use ndarray::{ArrayBase, Data, Dimension};

use super::{ReadElement, WriteElement, read};
use crate::error::{ErrorKind, Result};
use crate::header::Header;
use crate::npy;

/// Elements cloned per write when a view is copied to C order.
const BLOCK: usize = 1 << 14;

/// Reads the `.npy` file at `path` as an `ndarray` array of `A` with
/// dimensionality `D` (`Ix2`, `IxDyn`, ...), any byte order, C or Fortran
/// order (kept as the array's memory order, so nothing is transposed).
///
/// # Errors
/// As [`read`](crate::read), plus `ShapeMismatch` when the file's number
/// of dimensions is not `D`'s: `expected 2 dimensions, found 3 (shape (2,
/// 3, 4))`.
///
/// # Examples
/// ```
/// // NumPy: a = np.load("testdata/npy/f_2x3.npy")
/// let a: ndarray::Array2<f64> = npymap::read_npy("testdata/npy/f_2x3.npy")?;
/// assert_eq!(a[[1, 0]], 3.0);
/// let e = npymap::read_npy::<f64, ndarray::Ix3>("testdata/npy/f_2x3.npy").unwrap_err();
/// assert!(e.to_string().contains("expected 3 dimensions, found 2 (shape (2, 3))"));
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn read_npy<A: ReadElement, D: Dimension>(
    path: impl AsRef<Path>,
) -> Result<ndarray::Array<A, D>> {
    let path = path.as_ref();
    let run = || -> Result<ndarray::Array<A, D>> {
        // The number of dimensions is checked from the header alone, so
        // a wrong `D` costs no payload read.
        let parsed = npy::inspect(path)?;
        crate::view::check_ndim::<D>(&parsed.header.shape)?;
        let array = read::<A>(path)?.into_ndarray()?;
        array
            .into_dimensionality::<D>()
            .map_err(|e| ErrorKind::Unsupported(format!("ndarray: {e}")).into())
    };
    run().map_err(|e| e.in_path(path))
}

/// Writes an `ndarray` array or view of any layout as the `.npy` file at
/// `path`, byte-identical to `np.save` of the same array, atomically: a
/// C-contiguous array as it is; an F-contiguous one (and not C) with
/// `fortran_order: True`; anything else (a strided slice, a negative
/// stride, a permuted view) as its C-order copy, written in blocks.
///
/// # Errors
/// As [`write`](crate::write).
///
/// # Examples
/// ```
/// // NumPy: np.save(path, a.T)
/// use ndarray::array;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("t.npy");
/// let a = array![[0.0f64, 3.0], [1.0, 4.0], [2.0, 5.0]];
/// npymap::write_npy(&path, &a.t())?; // F-contiguous: written as fortran_order
/// assert_eq!(std::fs::read(&path)?, std::fs::read("testdata/npy/f_2x3.npy")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npy<A, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<()>
where
    A: WriteElement + Clone,
    S: Data<Elem = A>,
    D: Dimension,
{
    let path = path.as_ref();
    let dtype = A::dtype_for(array.iter()).map_err(|e| e.in_path(path))?;
    let header = Header::new(dtype, array.shape());
    // `as_slice` is `Some` exactly for C-contiguous (standard) layouts,
    // with the strides of length-1 axes ignored as NumPy ignores them.
    if let Some(values) = array.as_slice() {
        return super::write_with(path, &header, values);
    }
    let reversed = array.t();
    if let Some(values) = reversed.as_slice() {
        return super::write_with(path, &header.fortran(), values);
    }
    npy::save_with(path, &header, |w| {
        let mut block = Vec::with_capacity(BLOCK.min(array.len()));
        for v in array.iter() {
            block.push(v.clone());
            if block.len() == BLOCK {
                A::write_to(&block, &header.dtype, w)?;
                block.clear();
            }
        }
        A::write_to(&block, &header.dtype, w)
    })
}
