//! Owned arrays: the values, the shape and the memory order, the everyday
//! result of reading a file and the everyday input for writing one.
//!
//! An [`Array`] is what `np.load` gives a Python user without `mmap_mode`:
//! the values in the machine's byte order in a plain `Vec<T>`, with the
//! header's shape and order kept beside them, so nothing is reordered on
//! the way in or out.

use crate::error::{Error, ErrorKind, Result};

/// An owned n-dimensional array: values in storage order plus shape and
/// memory order.
///
/// # Examples
/// ```
/// let a = npymap::Array::from_vec(vec![2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!(a.shape(), [2, 3]);
/// assert_eq!(a.get(&[1, 0]), Some(&4.0));
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T> {
    shape: Vec<usize>,
    fortran_order: bool,
    data: Vec<T>,
}

impl<T> Array<T> {
    /// A C-order (row-major) array of `data` with `shape`.
    ///
    /// # Errors
    /// `ShapeMismatch` when the shape's element count is not `data.len()`
    /// (or overflows).
    pub fn from_vec(shape: impl Into<Vec<usize>>, data: Vec<T>) -> Result<Self> {
        Self::from_parts(shape.into(), false, data)
    }

    /// A Fortran-order (column-major) array of `data` with `shape`.
    ///
    /// # Errors
    /// As [`from_vec`](Self::from_vec).
    pub fn from_vec_fortran(shape: impl Into<Vec<usize>>, data: Vec<T>) -> Result<Self> {
        Self::from_parts(shape.into(), true, data)
    }

    /// An array from its parts: shape, memory order and values in that order.
    ///
    /// # Errors
    /// As [`from_vec`](Self::from_vec).
    pub fn from_parts(shape: Vec<usize>, fortran_order: bool, data: Vec<T>) -> Result<Self> {
        let count = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| Error::new(ErrorKind::Overflow { what: "shape" }))?;
        if count != data.len() {
            return Err(ErrorKind::ShapeMismatch {
                expected: format!("{} values for shape {}", count, shape_text(&shape)),
                found: format!("{} values", data.len()),
            }
            .into());
        }
        Ok(Array {
            shape,
            fortran_order,
            data,
        })
    }

    /// The shape; empty for a 0-d array.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether the values are in Fortran (column-major) order.
    pub fn fortran_order(&self) -> bool {
        self.fortran_order
    }

    /// The values in storage order (see [`fortran_order`](Self::fortran_order)).
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The values in storage order, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The values in storage order.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Shape, order and values.
    pub fn into_parts(self) -> (Vec<usize>, bool, Vec<T>) {
        (self.shape, self.fortran_order, self.data)
    }

    /// The element at a logical index (row-major meaning whatever the
    /// storage order), or `None` when the index has the wrong length or is
    /// out of bounds.
    pub fn get(&self, index: &[usize]) -> Option<&T> {
        self.data.get(self.offset(index)?)
    }

    /// The storage position of a logical index.
    fn offset(&self, index: &[usize]) -> Option<usize> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut pos = 0usize;
        let mut stride = 1usize;
        let mut step = |i: usize, d: usize| {
            if i >= d {
                return None;
            }
            pos += i * stride;
            stride *= d;
            Some(())
        };
        if self.fortran_order {
            for (&i, &d) in index.iter().zip(&self.shape) {
                step(i, d)?;
            }
        } else {
            for (&i, &d) in index.iter().zip(&self.shape).rev() {
                step(i, d)?;
            }
        }
        Some(pos)
    }
}

#[cfg(feature = "ndarray")]
impl<T> Array<T> {
    /// The array as an `ndarray` `ArrayD` with the same shape and memory
    /// order (the values are moved, not copied or reordered).
    ///
    /// # Errors
    /// `Unsupported` when `ndarray` refuses the shape (a product of the
    /// non-zero dimensions past `isize::MAX`).
    ///
    /// # Examples
    /// ```
    /// let a = npymap::read::<f64>("testdata/npy/f_2x3.npy")?.into_ndarray()?;
    /// assert_eq!(a[[1, 0]], 3.0);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn into_ndarray(self) -> Result<ndarray::ArrayD<T>> {
        use ndarray::ShapeBuilder;
        let shape = ndarray::IxDyn(&self.shape);
        let made = if self.fortran_order {
            ndarray::ArrayD::from_shape_vec(shape.f(), self.data)
        } else {
            ndarray::ArrayD::from_shape_vec(shape, self.data)
        };
        made.map_err(|e| ErrorKind::Unsupported(format!("ndarray: {e}")).into())
    }
}

/// An `ndarray` array as an [`Array`]: a C-contiguous array keeps its
/// values as they are, an F-contiguous one (and not C) becomes a Fortran
/// order array, anything else is copied in C order (`np.save`'s choice).
#[cfg(feature = "ndarray")]
impl<T: Clone, D: ndarray::Dimension> From<ndarray::Array<T, D>> for Array<T> {
    fn from(a: ndarray::Array<T, D>) -> Self {
        let shape = a.shape().to_vec();
        let len = a.len();
        let fortran = if a.is_standard_layout() {
            Some(false)
        } else if a.t().is_standard_layout() {
            Some(true)
        } else {
            None
        };
        let data = match fortran {
            Some(_) => {
                // Contiguous in memory: the values are the run of the
                // buffer that starts at the first element.
                let (mut v, offset) = a.into_raw_vec_and_offset();
                let start = offset.unwrap_or(0).min(v.len());
                v.drain(..start);
                v.truncate(len);
                v
            }
            None => a.iter().cloned().collect(),
        };
        Array {
            shape,
            fortran_order: fortran.unwrap_or(false),
            data,
        }
    }
}

/// `(2, 3)`-style text, as NumPy prints a shape.
pub(crate) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_index_follows_the_order() {
        let c = Array::from_vec(vec![2, 3], (0..6).collect()).unwrap();
        let f = Array::from_vec_fortran(vec![2, 3], (0..6).collect()).unwrap();
        assert_eq!(c.get(&[1, 0]), Some(&3));
        assert_eq!(f.get(&[1, 0]), Some(&1));
        assert_eq!(f.get(&[0, 2]), Some(&4));
        assert_eq!(c.get(&[2, 0]), None);
        assert_eq!(c.get(&[1]), None);
        let z = Array::from_vec(Vec::<usize>::new(), vec![7]).unwrap();
        assert_eq!(z.get(&[]), Some(&7));
    }

    #[test]
    fn a_shape_that_does_not_match_the_values_is_refused() {
        let e = Array::from_vec(vec![2, 3], vec![0u8; 5]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: expected 6 values for shape (2, 3), found 5 values"
        );
    }
}
