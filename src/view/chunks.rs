//! Chunked iteration along the outer axis, for out-of-core work.

use std::borrow::Cow;

use super::NpyView;
use crate::header::Header;

/// Iterator over row chunks of a view; see [`NpyView::chunks`].
///
/// Each item is a view whose shape is the array's with the outer axis cut
/// to the chunk's rows. A 0-d array is one chunk.
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    header: Header,
    payload: &'a [u8],
    data_offset: u64,
    /// Index of the outer axis in the shape (None for 0-d).
    axis: Option<usize>,
    rows_total: u64,
    rows_per_chunk: u64,
    next_row: u64,
    row_bytes: u64,
}

impl<'a> Chunks<'a> {
    pub(crate) fn new(header: Header, payload: &'a [u8], data_offset: u64, rows: usize) -> Self {
        let axis = match header.shape.len() {
            0 => None,
            n if header.fortran_order => Some(n - 1),
            _ => Some(0),
        };
        let rows_total = axis.and_then(|a| header.shape.get(a)).copied().unwrap_or(1);
        let row_bytes = match axis {
            None => payload.len() as u64,
            Some(a) => header
                .shape
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != a)
                .try_fold(header.dtype.itemsize() as u64, |acc, (_, &d)| {
                    acc.checked_mul(d)
                })
                .unwrap_or(0),
        };
        Chunks {
            header,
            payload,
            data_offset,
            axis,
            rows_total,
            rows_per_chunk: (rows as u64).max(1),
            next_row: 0,
            row_bytes,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = NpyView<'a>;

    fn next(&mut self) -> Option<NpyView<'a>> {
        if self.next_row >= self.rows_total {
            return None;
        }
        let rows = self.rows_per_chunk.min(self.rows_total - self.next_row);
        let start = self.next_row.checked_mul(self.row_bytes)?;
        let len = rows.checked_mul(self.row_bytes)?;
        let range = usize::try_from(start).ok()?..usize::try_from(start.checked_add(len)?).ok()?;
        let payload = self.payload.get(range)?;
        let mut header = self.header.clone();
        if let Some(d) = self.axis.and_then(|a| header.shape.get_mut(a)) {
            *d = rows;
        }
        self.next_row += rows;
        NpyView::from_parts(
            Cow::Owned(header),
            payload,
            self.data_offset.saturating_add(start),
        )
        .ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.rows_total.saturating_sub(self.next_row);
        let n = usize::try_from(left.div_ceil(self.rows_per_chunk)).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}
