//! One field of a structured array over a row range, read remotely with
//! coalesced ranged GETs: each record contributes the byte range of the
//! field; ranges whose gaps are at most [`FIELD_COALESCE_GAP`] are fetched
//! together (the gaps' bytes are fetched and dropped), in parts of whole
//! records of at most `part_size` bytes, `concurrency` at once. Wider gaps
//! cost one GET per record, of the field's bytes only.
//!
//! The field is located by the local views' own code
//! (`view::field::resolve`), so names, nesting, subarrays and errors are
//! the local ones.

use std::ops::Range;

use futures::{StreamExt, TryStreamExt};

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::typed::ReadElement;

use super::npy::{AsyncRemoteNpy, RemoteNpy, outer_len};
use super::store::block_on;

/// Largest gap between two records' field bytes that is fetched rather
/// than split into two GETs (1 MiB): a GET costs about as much time as
/// transferring a megabyte on a fast link to object storage.
pub const FIELD_COALESCE_GAP: u64 = 1 << 20;

/// What a field read fetches and how it lays the values out.
#[derive(Debug)]
struct FieldPlan {
    /// The field's element dtype (a subarray field's base type).
    dtype: Dtype,
    /// The result's shape: the rows' shape then the field's subarray shape.
    shape: Vec<usize>,
    /// Object offset of the first record's field bytes.
    first: u64,
    /// Bytes from one record to the next (the record's itemsize).
    stride: u64,
    /// Bytes of one record's field, from its first element's start to its
    /// last element's end (the range fetched per record).
    span: u64,
    /// Records read.
    records: u64,
    /// Offsets of the field's elements inside `span`, in storage order.
    elements: Vec<usize>,
    /// Bytes of one element.
    item: usize,
}

fn overflow() -> Error {
    Error::from(ErrorKind::Overflow {
        what: "field row range",
    })
}

fn plan(npy: &AsyncRemoteNpy, path: &[&str], rows: &Range<u64>) -> Result<FieldPlan> {
    let h = &npy.header().header;
    if h.dtype.has_object() {
        // The payload is a pickle, not records.
        return Err(Error::new(ErrorKind::ObjectDtype).at(npy.header().data_offset));
    }
    if h.fortran_order && h.shape.len() > 1 {
        return Err(ErrorKind::Unsupported(format!(
            "field row reads of a Fortran-order array with {} axes (C order or 1-D only)",
            h.shape.len()
        ))
        .into());
    }
    let outer = outer_len(h);
    if rows.start > rows.end || rows.end > outer {
        return Err(ErrorKind::IndexOutOfBounds {
            index: rows.end.max(rows.start),
            len: outer,
        }
        .into());
    }
    // Records per row: the product of the other axes.
    let per_row = h.element_count()?.checked_div(outer).unwrap_or(0);
    let n = rows.end - rows.start;
    let mut row_shape: Vec<u64> = h.shape.clone();
    if let Some(d) = row_shape.first_mut() {
        *d = n;
    }
    // The local views' field lookup, over one record: its layout's levels
    // past the first are the field's subarray levels inside a record.
    let (layout, dtype, shape) = crate::view::field::resolve(&h.dtype, &row_shape, 1, path)?;
    let shape = shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| overflow()))
        .collect::<Result<Vec<usize>>>()?;
    let inner = layout.levels.get(1..).unwrap_or_default();
    let mut elements = Vec::new();
    let per_record = inner
        .iter()
        .try_fold(1usize, |a, &(c, _)| a.checked_mul(c))
        .ok_or_else(overflow)?;
    elements
        .try_reserve_exact(per_record)
        .map_err(|_| overflow())?;
    for i in 0..per_record {
        let mut rest = i;
        let mut off = 0usize;
        for &(c, stride) in inner.iter().rev() {
            // `c > 0`: `per_record` would be 0 otherwise.
            let digit = rest.checked_rem(c).ok_or_else(overflow)?;
            rest /= c;
            off = digit
                .checked_mul(stride)
                .and_then(|o| o.checked_add(off))
                .ok_or_else(overflow)?;
        }
        elements.push(off);
    }
    let span = match elements.iter().max() {
        Some(&last) => last.checked_add(layout.item).ok_or_else(overflow)?,
        None => 0,
    };
    let stride = h.dtype.itemsize() as u64;
    let records = n.checked_mul(per_row).ok_or_else(overflow)?;
    let first = rows
        .start
        .checked_mul(per_row)
        .and_then(|r| r.checked_mul(stride))
        .and_then(|o| o.checked_add(layout.base as u64))
        .and_then(|o| o.checked_add(npy.header().data_offset))
        .and_then(|o| o.checked_add(npy.base()))
        .ok_or_else(overflow)?;
    Ok(FieldPlan {
        dtype,
        shape,
        first,
        stride,
        span: span as u64,
        records,
        elements,
        item: layout.item,
    })
}

impl FieldPlan {
    /// Records fetched per GET: whole records in at most `part_size`
    /// bytes when the gaps are small enough to fetch, else one.
    fn records_per_get(&self, part_size: u64) -> u64 {
        let gap = self.stride.saturating_sub(self.span);
        if gap > FIELD_COALESCE_GAP || self.stride == 0 {
            1
        } else {
            (part_size / self.stride).max(1)
        }
    }

    /// Copies the field's elements of records `lo..` out of `got` (the
    /// bytes from record `lo`'s field start) into `out` (all records).
    fn gather(&self, lo: u64, count: u64, got: &[u8], out: &mut [u8]) -> Result<()> {
        let per_record = self
            .elements
            .len()
            .checked_mul(self.item)
            .ok_or_else(overflow)?;
        let contiguous = self
            .elements
            .iter()
            .enumerate()
            .all(|(i, &o)| Some(o) == i.checked_mul(self.item));
        for k in 0..count {
            let src = usize::try_from(k.checked_mul(self.stride).ok_or_else(overflow)?)
                .map_err(|_| overflow())?;
            let dst = usize::try_from(lo.checked_add(k).ok_or_else(overflow)?)
                .ok()
                .and_then(|r| r.checked_mul(per_record))
                .ok_or_else(overflow)?;
            let span = usize::try_from(self.span).map_err(|_| overflow())?;
            let rec = src
                .checked_add(span)
                .and_then(|end| got.get(src..end))
                .ok_or_else(overflow)?;
            let dst = dst
                .checked_add(per_record)
                .and_then(|end| out.get_mut(dst..end))
                .ok_or_else(overflow)?;
            if contiguous {
                // `span == per_record` for a contiguous field.
                dst.copy_from_slice(rec.get(..per_record).ok_or_else(overflow)?);
                continue;
            }
            for (d, &o) in dst.chunks_exact_mut(self.item.max(1)).zip(&self.elements) {
                let s = o
                    .checked_add(self.item)
                    .and_then(|end| rec.get(o..end))
                    .ok_or_else(overflow)?;
                d.copy_from_slice(s);
            }
        }
        Ok(())
    }
}

impl AsyncRemoteNpy {
    /// Reads field `name` of rows `rows` of a structured array (C order,
    /// or 1-D), converted to the machine's byte order: the result's shape
    /// is the rows' shape followed by the field's subarray shape.
    ///
    /// Only the field's bytes are asked for: the records' field ranges
    /// are fetched together when the gaps between them are at most
    /// [`FIELD_COALESCE_GAP`] (parts of whole records, at most `part_size`
    /// bytes each, `concurrency` at once), else one GET per record of
    /// just the field. So the bytes fetched never exceed the rows' span.
    ///
    /// # Errors
    /// `FieldNotFound` (as locally), `DtypeMismatch` when `T` is not the
    /// field's type, `IndexOutOfBounds` for rows past the end,
    /// `Unsupported` for a Fortran-order array of more than one axis,
    /// `Io` / `Truncated` naming the URL.
    pub async fn read_field_rows<T: ReadElement>(
        &self,
        name: &str,
        rows: Range<u64>,
    ) -> Result<Array<T>> {
        self.read_field_path_rows(&[name], rows).await
    }

    /// As [`AsyncRemoteNpy::read_field_rows`] for a nested field:
    /// `["p", "x"]` is field `x` of the struct field `p` (through
    /// subarrays of structs, too).
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_field_rows`].
    pub async fn read_field_path_rows<T: ReadElement>(
        &self,
        path: &[&str],
        rows: Range<u64>,
    ) -> Result<Array<T>> {
        let loc = self.location();
        let run = async {
            let plan = plan(self, path, &rows)?;
            T::check(&plan.dtype)?;
            let count = plan
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(overflow)?;
            let len = count.checked_mul(plan.item).ok_or_else(overflow)?;
            let mut out = Vec::new();
            out.try_reserve_exact(len).map_err(|_| overflow())?;
            out.resize(len, 0);
            if len > 0 {
                let per_get = plan.records_per_get(loc.options().part_size());
                let gets = plan.records.div_ceil(per_get);
                let plan = &plan;
                let fetches = (0..gets).map(|g| async move {
                    let lo = g * per_get;
                    let n = per_get.min(plan.records - lo);
                    let start = lo
                        .checked_mul(plan.stride)
                        .and_then(|o| o.checked_add(plan.first))
                        .ok_or_else(overflow)?;
                    let bytes = (n - 1)
                        .checked_mul(plan.stride)
                        .and_then(|b| b.checked_add(plan.span))
                        .ok_or_else(overflow)?;
                    let end = start.checked_add(bytes).ok_or_else(overflow)?;
                    let got = loc.get_exact(start..end).await?;
                    Ok::<_, Error>((lo, n, got))
                });
                let mut results =
                    futures::stream::iter(fetches).buffered(loc.options().concurrency());
                while let Some((lo, n, got)) = results.try_next().await? {
                    plan.gather(lo, n, &got, &mut out)?;
                }
            }
            let data = T::decode(&plan.dtype, &out, count)?;
            Array::from_parts(plan.shape, false, data)
        };
        run.await.map_err(|e| loc.err(e))
    }
}

impl RemoteNpy {
    /// Blocking [`AsyncRemoteNpy::read_field_rows`].
    ///
    /// # Examples
    /// ```no_run
    /// use npymap::remote::{RemoteNpy, RemoteOptions};
    /// let a = RemoteNpy::open("s3://bucket/events.npy", &RemoteOptions::default())?;
    /// let t = a.read_field_rows::<f64>("time", 5_000..6_000)?; // one coalesced GET
    /// assert_eq!(t.shape(), [1_000]);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_field_rows`].
    pub fn read_field_rows<T: ReadElement>(
        &self,
        name: &str,
        rows: Range<u64>,
    ) -> Result<Array<T>> {
        block_on(self.as_async().read_field_rows(name, rows))?
    }

    /// Blocking [`AsyncRemoteNpy::read_field_path_rows`].
    ///
    /// # Errors
    /// As [`AsyncRemoteNpy::read_field_rows`].
    pub fn read_field_path_rows<T: ReadElement>(
        &self,
        path: &[&str],
        rows: Range<u64>,
    ) -> Result<Array<T>> {
        block_on(self.as_async().read_field_path_rows(path, rows))?
    }
}
