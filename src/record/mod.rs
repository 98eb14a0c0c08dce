//! Structured arrays as Rust structs through serde: read records into
//! `R: Deserialize`, write `&[R]` where `R: Serialize` — no
//! `#[repr(C, packed)]`, no dtype spelled by hand (issue 13 item 4).
//!
//! * [`read`] / [`from_view`] decode every record of a structured array
//!   into an [`Array<R>`](Array): fields matched by name (the order in the
//!   file does not matter, fields `R` does not name are skipped, padding is
//!   never read), nested structs for nested structured dtypes, arrays,
//!   tuples or `Vec`s for subarrays, any byte order.
//! * [`dtype_for`] derives the dtype `np.dtype([...])` would give the
//!   records (fields in declaration order, packed, native byte order,
//!   `U<n>` / `S<n>` as wide as the longest value); [`to_payload`] encodes
//!   records as payload bytes for any dtype; [`write()`] and
//!   [`write_with_dtype`] write a `.npy` file byte-identical to `np.save`.
//!
//! Number types match exactly (an `f32` field reads `'<f4'` or `'>f4'`,
//! never `'<f8'`). `U<n>` is `String` / `char`, `S<n>` bytes (or `String`
//! when UTF-8), `f2` is [`half::f16`], `M8` / `m8` are
//! [`DateTime64`](crate::DateTime64) / [`TimeDelta64`](crate::TimeDelta64).
//! [`NpzReader::read_records`](crate::npz::NpzReader::read_records) and
//! [`NpzWriter::add_records`](crate::npz::NpzWriter::add_records) do the
//! same for npz members. The full mapping table and the rules are in the
//! repository's `spec/records.md`.
//!
//! # Examples
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Point {
//!     name: String,
//!     xy: [f32; 2],
//!     ok: bool,
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("points.npy");
//! let points = vec![
//!     Point { name: "a".into(), xy: [1.0, 2.0], ok: true },
//!     Point { name: "bcd".into(), xy: [-0.5, 0.0], ok: false },
//! ];
//! // NumPy: np.save(path, np.array([...], [('name', '<U3'), ('xy', '<f4', (2,)), ('ok', '?')]))
//! npymap::record::write(&path, &[2], &points)?;
//! let back = npymap::record::read::<Point>(&path)?;
//! assert_eq!(back.shape(), [2]);
//! assert_eq!(back.into_vec(), points);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dates;
mod de;
mod layout;
mod npz;
mod problem;
mod ser;

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;
use crate::npy;
use crate::view::NpyView;

/// The most records of zero bytes each a read puts in memory: they carry
/// no data, and a header may claim any count of them.
const MAX_EMPTY_RECORDS: usize = 1 << 24;

/// Payload bytes encoded before each write.
const BLOCK: usize = 1 << 16;

/// Reads the `.npy` file at `path` (a structured array, any byte order,
/// C or Fortran order) into one `R` per element, in storage order, with
/// the file's shape and order kept in the [`Array`].
///
/// The file is read whole and its header checked against its size before
/// any record is decoded.
///
/// # Errors
/// `Io`, any header or payload-size error, and the errors of
/// [`from_view`]; each names the path.
///
/// # Examples
/// ```
/// #[derive(serde::Deserialize)]
/// struct Row { x: i32, y: f64 }
/// // NumPy: np.load("testdata/npy/struct_simple.npy")
/// let rows = npymap::record::read::<Row>("testdata/npy/struct_simple.npy")?;
/// assert_eq!(rows.shape(), [3]);
/// assert_eq!(rows.as_slice()[1].x, -2);
/// assert_eq!(rows.as_slice()[1].y, 2.5);
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn read<R: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Array<R>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::from(e).in_path(path))?;
    let view = NpyView::new(&bytes).map_err(|e| e.in_path(path))?;
    from_view(&view).map_err(|e| e.in_path(path))
}

/// Decodes every record of `view` (a buffer, a map's view, an npz
/// member's bytes) into an `R`, in storage order, with the view's shape
/// and order.
///
/// # Errors
/// * `ObjectDtype` for pickled arrays.
/// * `DtypeMismatch` when a field's dtype does not match its Rust type,
///   naming the field path and both dtypes:
///   ``expected '<f4' (f32) for field `pos.x`, found '<f8'``.
/// * `FieldNotFound` when `R` needs a field the dtype lacks (an `Option`
///   field may be absent and reads `None`).
/// * `Unsupported` naming the record index and field path for a value
///   that cannot be decoded (a bool byte other than 0 or 1, text that is
///   not valid, an unknown field under `deny_unknown_fields`, a length
///   that does not match a Rust array).
pub fn from_view<R: DeserializeOwned>(view: &NpyView<'_>) -> Result<Array<R>> {
    let dtype = view.dtype();
    if dtype.has_object() {
        return Err(Error::new(ErrorKind::ObjectDtype).at(view.data_offset()));
    }
    let shape = view
        .shape()
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::from(ErrorKind::Overflow { what: "shape" }))
        })
        .collect::<Result<Vec<usize>>>()?;
    let item = dtype.itemsize();
    let count = view.len();
    if item == 0 && count > MAX_EMPTY_RECORDS {
        return Err(ErrorKind::Unsupported(format!(
            "records: {count} records of zero bytes each: npymap reads at most {MAX_EMPTY_RECORDS}"
        ))
        .into());
    }
    let payload = view.payload();
    let need = count.checked_mul(item).ok_or(ErrorKind::Overflow {
        what: "payload size",
    })?;
    let data = payload.get(..need).ok_or(ErrorKind::PayloadSize {
        expected: need as u64,
        actual: payload.len() as u64,
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(count).map_err(|_| {
        Error::from(ErrorKind::Overflow {
            what: "allocation for the records",
        })
    })?;
    for index in 0..count {
        let start = index.saturating_mul(item);
        let rec = data
            .get(start..start.saturating_add(item))
            .unwrap_or_default();
        let r = R::deserialize(de::Decoder::new(dtype, rec, problem::Loc::Root)).map_err(|e| {
            // The record's offset in the file (or buffer).
            let at = view.data_offset().saturating_add(start as u64);
            e.into_error(index, Some(dtype)).at(at)
        })?;
        out.push(r);
    }
    Array::from_parts(shape, view.fortran_order(), out)
}

/// The dtype `np.array(records, dtype)` would need for `records`, as
/// `np.dtype([...])` lays it out: `R`'s fields in declaration order,
/// packed (no padding), numbers in the machine's byte order, `U<n>` /
/// `S<n>` as wide as the longest value over all records (at least 1),
/// arrays and tuples as subarrays, nested structs as nested dtypes.
///
/// # Errors
/// `Unsupported` naming the record and field for what has no dtype
/// (enums, maps, `None`, `()`, `i128`, an empty sequence in every record,
/// tuples of mixed types) or changes shape between records (a `Vec` of
/// another length, an `Option` that is `None` in one record), `Dtype` for
/// a layout NumPy refuses (an itemsize past 2^31-1 bytes, too deep).
///
/// # Examples
/// ```
/// #[derive(serde::Serialize)]
/// struct Row { id: u16, tag: String, pos: (f64, f64) }
/// let rows = [
///     Row { id: 1, tag: "ab".into(), pos: (0.0, 1.0) },
///     Row { id: 2, tag: "日本語".into(), pos: (2.0, 3.0) },
/// ];
/// let dtype = npymap::record::dtype_for(&rows)?;
/// assert_eq!(dtype.descr(), "[('id', '<u2'), ('tag', '<U3'), ('pos', '<f8', (2,))]");
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn dtype_for<R: Serialize>(records: &[R]) -> Result<Dtype> {
    layout::dtype_for(records)
}

/// Encodes `records` as the payload of an array of `dtype` (C order, one
/// record after another), matching `R`'s fields to the dtype's by name;
/// padding bytes are zero, as NumPy writes them.
///
/// # Errors
/// `DtypeMismatch` naming the field when a value's Rust type does not
/// match its field's dtype; `Unsupported` naming the record and field for
/// a field `R` lacks or the dtype lacks, text or bytes longer than their
/// field (NumPy would cut them; npymap refuses), a sequence of the wrong
/// length; `Overflow` when the payload cannot be allocated.
pub fn to_payload<R: Serialize>(dtype: &Dtype, records: &[R]) -> Result<Vec<u8>> {
    let len = records
        .len()
        .checked_mul(dtype.itemsize())
        .ok_or(ErrorKind::Overflow {
            what: "payload size",
        })?;
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| {
        Error::from(ErrorKind::Overflow {
            what: "allocation for the payload",
        })
    })?;
    encode_blocks(dtype, records, |b| {
        out.extend_from_slice(b);
        Ok(())
    })?;
    Ok(out)
}

/// Encodes `records` in blocks of about [`BLOCK`] bytes, handing each to
/// `sink`.
fn encode_blocks<R: Serialize>(
    dtype: &Dtype,
    records: &[R],
    mut sink: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let item = dtype.itemsize();
    let per_block = (BLOCK / item.max(1)).max(1);
    let mut buf = Vec::new();
    for (b, block) in records.chunks(per_block).enumerate() {
        buf.clear();
        buf.resize(block.len().saturating_mul(item), 0);
        for (j, r) in block.iter().enumerate() {
            let start = j.saturating_mul(item);
            let slot = buf
                .get_mut(start..start.saturating_add(item))
                .unwrap_or_default();
            ser::encode(r, dtype, slot)
                .map_err(|e| e.into_error(b.saturating_mul(per_block) + j, Some(dtype)))?;
        }
        sink(&buf)?;
    }
    Ok(())
}

/// Writes `records` (C order) with `shape` as the `.npy` file at `path`,
/// with the dtype [`dtype_for`] derives, byte-identical to
/// `np.save(path, np.array(records, dtype).reshape(shape))`, atomically
/// (a temporary file renamed over `path`; see [`npy::save`]).
///
/// # Errors
/// `ShapeMismatch` when `shape` does not hold `records.len()` values, the
/// errors of [`dtype_for`] and [`to_payload`], `Io`; on any error `path`
/// is left as it was.
pub fn write<R: Serialize>(path: impl AsRef<Path>, shape: &[usize], records: &[R]) -> Result<()> {
    let path = path.as_ref();
    let dtype = dtype_for(records).map_err(|e| e.in_path(path))?;
    write_with_dtype(path, shape, &dtype, records)
}

/// Writes `records` (C order) with `shape` as the `.npy` file at `path`
/// as elements of `dtype` — a wider `U<n>`, the other byte order, an
/// aligned layout with padding, titles — byte-identical to `np.save` of
/// such an array, atomically.
///
/// # Errors
/// As [`write()`], with the dtype checks of [`to_payload`].
///
/// # Examples
/// ```
/// #[derive(serde::Serialize)]
/// struct Row { x: i32, y: f64 }
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.npy");
/// let dtype = npymap::Dtype::from_descr_literal("[('y', '>f8'), ('x', '>i4')]")?;
/// npymap::record::write_with_dtype(&path, &[1], &dtype, &[Row { x: 7, y: 0.5 }])?;
/// let view_bytes = std::fs::read(&path)?;
/// let view = npymap::NpyView::new(&view_bytes)?;
/// assert_eq!(view.payload(), [0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_with_dtype<R: Serialize>(
    path: impl AsRef<Path>,
    shape: &[usize],
    dtype: &Dtype,
    records: &[R],
) -> Result<()> {
    let path = path.as_ref();
    check_count(shape, records.len()).map_err(|e| e.in_path(path))?;
    let header = Header::new(dtype.clone(), shape);
    npy::save_with(path, &header, |w| {
        encode_blocks(dtype, records, |b| w.write_bytes(b))
    })
    .map_err(|e| e.in_path(path))
}

/// Checks that `shape` holds `len` records (the typed layer's check).
fn check_count(shape: &[usize], len: usize) -> Result<()> {
    crate::typed::check_count(shape, len, "records")
}
