//! Strided, zero-copy views of one field of a structured array, including
//! fields inside nested structures and subarray fields.

use super::element::Element;
use super::elements::{Elements, ElementsMut, Layout};
use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};

/// Finds the field at `path` in records of `dtype` and the layout of its
/// scalar (or innermost struct) elements across all `records`.
///
/// Subarrays met on the way, whether the field itself or a struct inside a
/// subarray, become extra levels, so the view's shape is the array's shape
/// followed by each subarray's shape.
pub(crate) fn resolve(
    dtype: &Dtype,
    array_shape: &[u64],
    records: usize,
    path: &[&str],
) -> Result<(Layout, Dtype, Vec<u64>)> {
    let overflow = || {
        Error::from(ErrorKind::Overflow {
            what: "field layout",
        })
    };
    let mut layout = Layout {
        base: 0,
        levels: vec![(records, dtype.itemsize())],
        item: dtype.itemsize(),
    };
    let mut shape = array_shape.to_vec();
    let mut cur = dtype;
    for name in path {
        cur = peel(cur, &mut layout, &mut shape)?;
        let field = cur.as_struct().and_then(|s| s.field(name)).ok_or_else(|| {
            Error::from(ErrorKind::FieldNotFound {
                name: (*name).to_string(),
                dtype: cur.descr(),
            })
        })?;
        layout.base = layout
            .base
            .checked_add(field.offset())
            .ok_or_else(overflow)?;
        cur = field.dtype();
    }
    cur = peel(cur, &mut layout, &mut shape)?;
    layout.item = cur.itemsize();
    Ok((layout, cur.clone(), shape))
}

/// Adds the levels of the subarrays wrapping `d` and returns their base.
fn peel<'d>(mut d: &'d Dtype, layout: &mut Layout, shape: &mut Vec<u64>) -> Result<&'d Dtype> {
    let overflow = || {
        Error::from(ErrorKind::Overflow {
            what: "field layout",
        })
    };
    while let Dtype::Subarray { base, shape: sub } = d {
        let mut stride = base.itemsize();
        let mut levels = Vec::with_capacity(sub.len());
        for &n in sub.iter().rev() {
            let n = usize::try_from(n).map_err(|_| overflow())?;
            levels.push((n, stride));
            stride = stride.checked_mul(n).ok_or_else(overflow)?;
        }
        layout.levels.extend(levels.into_iter().rev());
        shape.extend_from_slice(sub);
        d = base;
    }
    Ok(d)
}

/// A strided, zero-copy view of one field of every record.
///
/// Its elements are in storage order: records first, then the field's
/// subarray elements (C order inside each record).
///
/// # Examples
/// ```
/// let bytes = std::fs::read("testdata/npy/struct_nested.npy")?;
/// let view = npymap::NpyView::new(&bytes)?;
/// let x = view.field_path(&["p", "x"])?;
/// assert_eq!(x.shape(), [2]);
/// assert_eq!(x.elements::<f32>()?.len(), 2);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FieldView<'a> {
    bytes: &'a [u8],
    layout: Layout,
    dtype: Dtype,
    shape: Vec<u64>,
}

impl<'a> FieldView<'a> {
    pub(crate) fn new(bytes: &'a [u8], layout: Layout, dtype: Dtype, shape: Vec<u64>) -> Self {
        FieldView {
            bytes,
            layout,
            dtype,
            shape,
        }
    }

    /// The dtype of one element of the view (a subarray field's base type).
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }

    /// The array's shape followed by the field's subarray shape.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field's elements as `T`, in any byte order.
    ///
    /// # Errors
    /// `DtypeMismatch` when `T` is not the field's type.
    pub fn elements<T: Element>(&self) -> Result<Elements<'a, T>> {
        Elements::new(self.bytes, self.layout.clone(), &self.dtype)
    }
}

/// A mutable, strided, zero-copy view of one field of every record.
#[derive(Debug)]
pub struct FieldViewMut<'a> {
    bytes: &'a mut [u8],
    layout: Layout,
    dtype: Dtype,
    shape: Vec<u64>,
}

impl<'a> FieldViewMut<'a> {
    pub(crate) fn new(bytes: &'a mut [u8], layout: Layout, dtype: Dtype, shape: Vec<u64>) -> Self {
        FieldViewMut {
            bytes,
            layout,
            dtype,
            shape,
        }
    }

    /// The dtype of one element of the view.
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }

    /// The array's shape followed by the field's subarray shape.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The field's elements as `T`, for reading and writing.
    ///
    /// # Errors
    /// `DtypeMismatch` when `T` is not the field's type.
    pub fn elements_mut<T: Element>(&mut self) -> Result<ElementsMut<'_, T>> {
        ElementsMut::new(self.bytes, self.layout.clone(), &self.dtype)
    }

    /// Consumes the view into its elements as `T`, keeping the lifetime.
    ///
    /// # Errors
    /// As [`elements_mut`](Self::elements_mut).
    pub fn into_elements_mut<T: Element>(self) -> Result<ElementsMut<'a, T>> {
        ElementsMut::new(self.bytes, self.layout, &self.dtype)
    }
}
