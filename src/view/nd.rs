//! `ndarray` views (feature `ndarray`): the slice view with C or Fortran
//! strides, and owned arrays from the portable element view.

use ndarray::{
    ArrayD, ArrayView, ArrayViewD, ArrayViewMut, ArrayViewMutD, Dimension, IxDyn, ShapeBuilder,
};

use super::{Element, NpyView, NpyViewMut};
use crate::error::{ErrorKind, Result};

/// The shape as `usize`s with C or Fortran strides.
fn nd_shape(shape: &[u64], fortran: bool) -> Result<ndarray::StrideShape<IxDyn>> {
    let dims = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ErrorKind::Overflow { what: "shape" })?;
    Ok(if fortran {
        IxDyn(&dims).f().into()
    } else {
        IxDyn(&dims).into()
    })
}

fn shape_err(e: ndarray::ShapeError) -> crate::Error {
    ErrorKind::Unsupported(format!("ndarray view: {e}")).into()
}

/// Checks that a file's `shape` has as many dimensions as `D` (any for
/// `IxDyn`): `ShapeMismatch` "expected 2 dimensions, found 3 (shape (2, 3, 4))".
pub(crate) fn check_ndim<D: Dimension>(shape: &[u64]) -> Result<()> {
    let Some(want) = D::NDIM else {
        return Ok(());
    };
    if want == shape.len() {
        return Ok(());
    }
    let dims = |n: usize| {
        if n == 1 {
            "1 dimension".to_string()
        } else {
            format!("{n} dimensions")
        }
    };
    let text = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(ErrorKind::ShapeMismatch {
        expected: dims(want),
        found: format!("{} (shape {text})", shape.len()),
    }
    .into())
}

#[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
impl<'a> NpyView<'a> {
    /// The payload as an `ndarray` view with the header's shape and order
    /// (zero-copy; same requirements as [`as_slice`](Self::as_slice)).
    ///
    /// # Errors
    /// As [`as_slice`](Self::as_slice).
    ///
    /// # Examples
    /// ```
    /// let bytes = std::fs::read("testdata/npy/f_2x3.npy")?;
    /// let view = npymap::NpyView::new(&bytes)?;
    /// let a = view.as_array::<f64>()?;
    /// assert_eq!(a[[1, 0]], 3.0); // logical index, Fortran storage
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn as_array<T: Element>(&self) -> Result<ArrayViewD<'a, T>> {
        let slice = self.as_slice::<T>()?;
        ArrayView::from_shape(nd_shape(self.shape(), self.fortran_order())?, slice)
            .map_err(shape_err)
    }

    /// As [`as_array`](Self::as_array) with a fixed dimensionality `D`.
    ///
    /// # Errors
    /// As [`as_array`](Self::as_array), or `ShapeMismatch` when the number
    /// of dimensions differs: `expected 2 dimensions, found 3 (shape (2, 3, 4))`.
    pub fn as_array_dim<T: Element, D: Dimension>(&self) -> Result<ArrayView<'a, T, D>> {
        check_ndim::<D>(self.shape())?;
        self.as_array::<T>()?
            .into_dimensionality::<D>()
            .map_err(shape_err)
    }

    /// Copies the elements into an owned array in native byte order (works
    /// for any byte order and alignment).
    ///
    /// # Errors
    /// As [`elements`](Self::elements).
    pub fn to_array<T: Element>(&self) -> Result<ArrayD<T>> {
        let v = self.to_vec::<T>()?;
        ArrayD::from_shape_vec(nd_shape(self.shape(), self.fortran_order())?, v).map_err(shape_err)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
impl NpyViewMut<'_> {
    /// The payload as a mutable `ndarray` view with the header's shape and order.
    ///
    /// # Errors
    /// As [`as_slice_mut`](Self::as_slice_mut).
    pub fn as_array_mut<T: Element>(&mut self) -> Result<ArrayViewMutD<'_, T>> {
        let sh = nd_shape(&self.header().shape.clone(), self.header().fortran_order)?;
        let slice = self.as_slice_mut::<T>()?;
        ArrayViewMut::from_shape(sh, slice).map_err(shape_err)
    }

    /// As [`as_array_mut`](Self::as_array_mut) with a fixed dimensionality `D`.
    ///
    /// # Errors
    /// As [`as_array_mut`](Self::as_array_mut), or `ShapeMismatch` when
    /// the number of dimensions differs.
    pub fn as_array_mut_dim<T: Element, D: Dimension>(&mut self) -> Result<ArrayViewMut<'_, T, D>> {
        check_ndim::<D>(&self.header().shape)?;
        self.as_array_mut::<T>()?
            .into_dimensionality::<D>()
            .map_err(shape_err)
    }
}
