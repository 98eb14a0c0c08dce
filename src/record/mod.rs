//! Structured arrays read into `Vec<R>` through serde (issue 13 item 4,
//! read side). See `spec/records.md` for the mapping and matching rules.
//!
//! Fields are matched by name, nested structured dtypes map to nested
//! structs, subarrays to arrays/tuples/`Vec`s, `U<n>` to `String`, `S<n>` to
//! bytes (or `String` when UTF-8). Number types must match exactly: no
//! widening, no narrowing.

mod de;

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::view::NpyView;

/// Reads a `.npy` file holding a structured array into one `R` per record,
/// in memory (C) order.
///
/// The file is read whole; the header's element count is checked against
/// the real payload before anything is allocated.
pub fn read<R: serde::de::DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<R>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::from(e).in_path(path))?;
    let view = NpyView::new(&bytes).map_err(|e| e.in_path(path))?;
    from_view(&view).map_err(|e| e.in_path(path))
}

/// Decodes every record of `view` (a file, a map or npz member bytes) into
/// an `R`, in memory (C) order. Fortran-ordered arrays with more than one
/// dimension are refused.
pub fn from_view<'a, R: serde::de::Deserialize<'a>>(view: &NpyView<'a>) -> Result<Vec<R>> {
    if view.fortran_order() && view.shape().len() > 1 {
        return Err(unsupported(
            "records: Fortran-ordered arrays with more than one dimension are not supported"
                .to_string(),
        ));
    }
    let dtype = view.dtype();
    let item = dtype.itemsize();
    let count = view.len();
    if item == 0 && count > 0 {
        return Err(unsupported(
            "records: zero-size records are not supported".to_string(),
        ));
    }
    let payload = view.payload();
    let need = count
        .checked_mul(item)
        .ok_or_else(|| unsupported("records: payload size overflows".to_string()))?;
    let data = payload.get(..need).ok_or_else(|| {
        unsupported(format!(
            "records: payload has {} bytes, {count} records of {item} bytes need {need}",
            payload.len()
        ))
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(count)
        .map_err(|e| unsupported(format!("records: cannot allocate {count} records: {e}")))?;
    for (index, rec) in data.chunks_exact(item.max(1)).enumerate().take(count) {
        let d = de::Decoder::new(dtype, rec, String::new());
        let r = R::deserialize(d)
            .map_err(|e| unsupported(format!("records: record {index}: {}", e.message())))?;
        out.push(r);
    }
    Ok(out)
}

fn unsupported(msg: String) -> Error {
    Error::new(ErrorKind::Unsupported(msg))
}
