//! `.safetensors` files (Hugging Face's tensor format), both ways: each
//! tensor becomes the same header + payload pair the rest of the crate
//! speaks, and such pairs become a `.safetensors` file.
//!
//! The format: an 8-byte little-endian header length `N`, `N` bytes of
//! JSON (`{"__metadata__": {str: str}, NAME: {"dtype", "shape",
//! "data_offsets": [begin, end]}, ...}`, padded with spaces to a multiple
//! of 8), then the tensors' bytes back to back, little-endian, C order.
//! Parsing and validation are the `safetensors` crate's ([`read_header`]
//! hands it a header read with a bounded length); writing follows its
//! rules byte for byte ([`SafetensorsPlan`]).
//!
//! | item | for |
//! |---|---|
//! | [`SafetensorsFile`] | open a file, list its tensors ([`Tensor`]) and `__metadata__`, read a tensor's bytes |
//! | [`SafetensorsPlan`] | write tensors from any [`Payload`](crate::convert::Payload), streamed: big-endian and Fortran inputs are converted on the way |
//! | [`to_npz`] / [`unpack`] | a `.safetensors` file to an `.npz` archive or to `DIR/NAME.npy` files |
//! | [`metadata_member`] / [`parse_metadata_member`] | `__metadata__` as the 0-d `U` array member that keeps it in `.npz` |
//!
//! Dtypes map both ways for every type both formats share (`spec/cli.md`
//! §16): `BOOL` `|b1`, `U8`..`U64` `u1`..`u8`, `I8`..`I64` `i1`..`i8`, `F16`
//! `f2`, `F32` `f4`, `F64` `f8`, `C64` `c8`. Other safetensors dtypes
//! (`BF16`, the `F8_*`, `F4`, `F6_*`) have no NumPy dtype without
//! `ml_dtypes` and are refused when read; other NumPy dtypes (structured,
//! strings, objects, `c16`, datetimes, long double) are refused when
//! written. Either refusal names the tensor.

mod files;
mod write;

pub use files::{StagedMember, stage_member, to_npz, unpack};
pub use write::SafetensorsPlan;

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use safetensors::Dtype as StDtype;

use crate::dtype::{ByteOrder, Dtype, ScalarKind};
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;

/// The largest JSON header accepted or written, as the `safetensors` crate
/// caps it (100 MB).
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// The name under which `__metadata__` travels in `.npz` archives and
/// directories: a 0-d `U` array holding the JSON text.
pub const METADATA_KEY: &str = "__metadata__";

/// The dtype pairs: safetensors dtype, NumPy kind, itemsize.
const DTYPES: [(StDtype, ScalarKind, usize); 12] = [
    (StDtype::BOOL, ScalarKind::Bool, 1),
    (StDtype::U8, ScalarKind::UInt, 1),
    (StDtype::I8, ScalarKind::Int, 1),
    (StDtype::U16, ScalarKind::UInt, 2),
    (StDtype::I16, ScalarKind::Int, 2),
    (StDtype::U32, ScalarKind::UInt, 4),
    (StDtype::I32, ScalarKind::Int, 4),
    (StDtype::U64, ScalarKind::UInt, 8),
    (StDtype::I64, ScalarKind::Int, 8),
    (StDtype::F16, ScalarKind::Float, 2),
    (StDtype::F32, ScalarKind::Float, 4),
    (StDtype::F64, ScalarKind::Float, 8),
];

/// `C64` is kept apart from [`DTYPES`] only because complex is one kind in
/// NumPy's model and its itemsize counts both parts.
const C64: (StDtype, ScalarKind, usize) = (StDtype::C64, ScalarKind::Complex, 8);

/// The little-endian NumPy dtype of a safetensors dtype, or `None` when
/// NumPy has none (`BF16`, `F8_*`, `F4`, `F6_*`).
///
/// # Examples
/// ```
/// use npymap::safetensors::numpy_dtype;
/// assert_eq!(numpy_dtype("F32").map(|d| d.descr()), Some("'<f4'".to_string()));
/// assert_eq!(numpy_dtype("BOOL").map(|d| d.descr()), Some("'|b1'".to_string()));
/// assert!(numpy_dtype("BF16").is_none());
/// ```
pub fn numpy_dtype(st: &str) -> Option<Dtype> {
    let (_, kind, size) = DTYPES
        .iter()
        .chain(std::iter::once(&C64))
        .find(|(d, _, _)| d.to_string() == st)?;
    crate::dtype::Scalar::new(*kind, Some(ByteOrder::Little), *size)
        .ok()
        .map(Dtype::Scalar)
}

/// The safetensors dtype of a NumPy dtype (any byte order), or `None`.
pub(crate) fn st_dtype(dtype: &Dtype) -> Option<StDtype> {
    let s = dtype.as_scalar()?;
    DTYPES
        .iter()
        .chain(std::iter::once(&C64))
        .find(|(_, kind, size)| *kind == s.kind() && *size == s.itemsize())
        .map(|(d, _, _)| *d)
}

/// The safetensors dtype name (`"F32"`) of a NumPy dtype, or `None` when
/// safetensors has no such type.
///
/// # Examples
/// ```
/// use npymap::{Dtype, safetensors::safetensors_dtype};
/// assert_eq!(safetensors_dtype(&Dtype::from_descr(">i2")?), Some("I16".to_string()));
/// assert_eq!(safetensors_dtype(&Dtype::from_descr("<c16")?), None);
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn safetensors_dtype(dtype: &Dtype) -> Option<String> {
    st_dtype(dtype).map(|d| d.to_string())
}

/// The error for a NumPy dtype with no safetensors dtype, naming the tensor.
pub(crate) fn refuse_numpy_dtype(name: &str, dtype: &Dtype) -> Error {
    Error::new(ErrorKind::Unsupported(format!(
        "dtype {} has no safetensors dtype (safetensors holds bool, integers, \
         float16/32/64 and complex64)",
        dtype.descr()
    )))
    .in_member(name)
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::Safetensors {
        reason: reason.into(),
    })
}

/// One tensor of a `.safetensors` file, as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    name: String,
    dtype: String,
    shape: Vec<u64>,
    range: Range<u64>,
}

impl Tensor {
    /// The tensor's name (its key in the header).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The safetensors dtype name, e.g. `"F32"` or `"BF16"`.
    pub fn dtype(&self) -> &str {
        &self.dtype
    }

    /// The shape (`[]` for a 0-d tensor).
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// Where the tensor's bytes are in the file (absolute byte offsets).
    pub fn range(&self) -> Range<u64> {
        self.range.clone()
    }

    /// The `.npy` header for this tensor: its little-endian NumPy dtype,
    /// C order, its shape.
    ///
    /// # Errors
    /// `Unsupported` (naming the tensor) for a dtype NumPy has no type for
    /// (`BF16`, `F8_*`, ...); `TooManyDims` over NumPy's 64 axes;
    /// `DimTooLarge` for a dimension NumPy cannot hold (possible only next
    /// to a zero dimension).
    pub fn header(&self) -> Result<Header> {
        let in_tensor = |e: Error| e.in_member(&self.name);
        let dtype = numpy_dtype(&self.dtype).ok_or_else(|| {
            in_tensor(
                ErrorKind::Unsupported(format!(
                    "safetensors dtype {} has no NumPy dtype without ml_dtypes",
                    self.dtype
                ))
                .into(),
            )
        })?;
        if self.shape.len() > crate::header::MAX_DIMS {
            return Err(in_tensor(
                ErrorKind::TooManyDims {
                    ndim: self.shape.len(),
                    max: crate::header::MAX_DIMS,
                }
                .into(),
            ));
        }
        for (axis, &d) in self.shape.iter().enumerate() {
            if i64::try_from(d).is_err() {
                return Err(in_tensor(
                    ErrorKind::DimTooLarge {
                        axis,
                        value: u128::from(d),
                    }
                    .into(),
                ));
            }
        }
        let header = Header {
            dtype,
            fortran_order: false,
            shape: self.shape.clone(),
        };
        header.payload_len().map_err(in_tensor)?;
        Ok(header)
    }
}

/// What a `.safetensors` header says: the tensors in file order, the
/// `__metadata__` map, and where the tensor data starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// The tensors, in the order of their bytes in the file.
    pub tensors: Vec<Tensor>,
    /// The `__metadata__` map, if the header has one.
    pub metadata: Option<BTreeMap<String, String>>,
    /// The byte offset of the first tensor's data (8 + the header length).
    pub data_start: u64,
}

/// Parses a `.safetensors` header: `head` holds the file's first bytes (at
/// least 8 + the declared header length), `file_len` is the length of the
/// whole file. The length is checked against `file_len` and
/// [`MAX_HEADER_LEN`] before the JSON is looked at; the JSON is parsed and
/// validated by the `safetensors` crate (known dtypes, offsets contiguous
/// from 0 in order and matching each shape); the data must end exactly at
/// the end of the file.
///
/// # Errors
/// `Truncated` when the file is shorter than the 8-byte length or the header
/// it declares; `HeaderTooLong` over [`MAX_HEADER_LEN`]; `Safetensors` for
/// anything else the format forbids.
pub fn read_header(head: &[u8], file_len: u64) -> Result<Contents> {
    let n = header_len(head, file_len)?;
    let end = usize::try_from(8 + n).map_err(|_| ErrorKind::Overflow {
        what: "safetensors header length",
    })?;
    let json = head.get(8..end).ok_or(ErrorKind::Truncated {
        what: "safetensors header",
        needed: 8 + n,
        available: head.len() as u64,
    })?;
    let text = std::str::from_utf8(json)
        .map_err(|e| invalid(format!("header is not UTF-8: {e}")).at(8))?;
    if !text.starts_with('{') {
        return Err(invalid(format!(
            "header does not start with '{{' (found {:?})",
            crate::error::snippet(text.get(..8).unwrap_or(text))
        ))
        .at(8));
    }
    let meta: safetensors::tensor::Metadata =
        serde_json::from_str(text).map_err(|e| invalid(format!("header: {e}")).at(8))?;
    let data_start = 8 + n;
    let mut tensors = Vec::new();
    for name in meta.offset_keys() {
        let Some(info) = meta.info(&name) else {
            continue;
        };
        let (b, e) = info.data_offsets;
        let (b, e) = (b as u64, e as u64);
        let range = data_start
            .checked_add(b)
            .zip(data_start.checked_add(e))
            .map(|(b, e)| b..e)
            .ok_or(ErrorKind::Overflow {
                what: "tensor offsets",
            })?;
        tensors.try_reserve(1).map_err(|_| ErrorKind::Overflow {
            what: "tensor count",
        })?;
        tensors.push(Tensor {
            dtype: info.dtype.to_string(),
            shape: info.shape.iter().map(|&d| d as u64).collect(),
            range,
            name,
        });
    }
    let data_len = meta.data_len() as u64;
    let data_end = data_start.saturating_add(data_len);
    if data_end != file_len {
        let reason = if data_end > file_len {
            format!("tensor data ends at byte {data_end} but the file has only {file_len} bytes")
        } else {
            format!(
                "{} bytes after the tensor data (it ends at byte {data_end}, the file at {file_len})",
                file_len - data_end
            )
        };
        return Err(invalid(reason));
    }
    let metadata = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    Ok(Contents {
        tensors,
        metadata,
        data_start,
    })
}

/// The declared header length, checked against the file and the cap.
fn header_len(head: &[u8], file_len: u64) -> Result<u64> {
    let len_bytes: [u8; 8] =
        head.get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or(ErrorKind::Truncated {
                what: "safetensors header length",
                needed: 8,
                available: head.len().min(8) as u64,
            })?;
    let n = u64::from_le_bytes(len_bytes);
    if n > MAX_HEADER_LEN {
        return Err(ErrorKind::HeaderTooLong {
            len: n,
            max: MAX_HEADER_LEN,
        }
        .into());
    }
    if n.saturating_add(8) > file_len {
        return Err(ErrorKind::Truncated {
            what: "safetensors header",
            needed: n + 8,
            available: file_len,
        }
        .into());
    }
    Ok(n)
}

/// An open `.safetensors` file: its listing, read once with a bounded
/// header, and the file for reading tensor bytes with `pread`.
#[derive(Debug)]
pub struct SafetensorsFile {
    file: File,
    contents: Contents,
}

impl SafetensorsFile {
    /// Opens and lists the file at `path` (a regular file only).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("m.safetensors");
    /// let header = b"{\"w\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}    ";
    /// let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    /// bytes.extend_from_slice(header);
    /// bytes.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
    /// std::fs::write(&path, &bytes)?;
    /// let st = npymap::safetensors::SafetensorsFile::open(&path)?;
    /// let w = &st.tensors()[0];
    /// assert_eq!((w.name(), w.dtype(), w.shape()), ("w", "I32", &[2u64][..]));
    /// assert_eq!(w.header()?.dtype.descr(), "'<i4'");
    /// assert_eq!(st.read(w)?, [1, 0, 0, 0, 2, 0, 0, 0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`read_header`], naming the path; `Io`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = crate::npy::open_input(path).map_err(|e| e.in_path(path))?;
        SafetensorsFile::from_file(file).map_err(|e| e.in_path(path))
    }

    /// Lists an open file.
    ///
    /// # Errors
    /// As [`read_header`]; `Io`.
    pub fn from_file(file: File) -> Result<Self> {
        let file_len = file.metadata()?.len();
        let mut len_bytes = [0u8; 8];
        let got = read_some_at(&file, &mut len_bytes, 0)?;
        let n = header_len(len_bytes.get(..got).unwrap_or_default(), file_len)?;
        // Bounded: n <= MAX_HEADER_LEN and 8 + n <= the file's length.
        let mut head = crate::convert::buffer(
            usize::try_from(8 + n).map_err(|_| ErrorKind::Overflow {
                what: "safetensors header length",
            })?,
            "the safetensors header",
        )?;
        file.read_exact_at(&mut head, 0)?;
        let contents = read_header(&head, file_len)?;
        Ok(SafetensorsFile { file, contents })
    }

    /// The tensors, in the order of their bytes in the file.
    pub fn tensors(&self) -> &[Tensor] {
        &self.contents.tensors
    }

    /// The `__metadata__` map, if the header has one.
    pub fn metadata(&self) -> Option<&BTreeMap<String, String>> {
        self.contents.metadata.as_ref()
    }

    /// Everything the header says.
    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    /// Copies `buf.len()` bytes of the file at `offset` into `buf`.
    ///
    /// # Errors
    /// `Io` (`UnexpectedEof` when the file shrank since it was opened).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::from(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "changed while it was being read (it shrank)",
                ))
            } else {
                Error::from(e)
            }
        })
    }

    /// A tensor's bytes, read into memory (use [`SafetensorsFile::copy_to`]
    /// to stream large ones).
    ///
    /// # Errors
    /// `Io`, and `Overflow` when the tensor does not fit in memory's
    /// address space.
    pub fn read(&self, tensor: &Tensor) -> Result<Vec<u8>> {
        let len = usize::try_from(tensor.range.end - tensor.range.start).map_err(|_| {
            ErrorKind::Overflow {
                what: "tensor size",
            }
        })?;
        let mut buf = crate::convert::buffer(len, "the tensor")?;
        self.read_at(tensor.range.start, &mut buf)?;
        Ok(buf)
    }

    /// Streams a tensor's bytes into `out` in pieces of at most 1 MiB.
    ///
    /// # Errors
    /// `Io`.
    pub fn copy_to(&self, tensor: &Tensor, out: &mut dyn std::io::Write) -> Result<()> {
        let total = tensor.range.end - tensor.range.start;
        let piece = total.min(1 << 20) as usize;
        let mut buf = crate::convert::buffer(piece, "the copy buffer")?;
        let mut at = tensor.range.start;
        while at < tensor.range.end {
            let n = ((tensor.range.end - at) as usize).min(piece);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            self.read_at(at, chunk)?;
            out.write_all(chunk)?;
            at += n as u64;
        }
        Ok(())
    }
}

/// Reads what there is of `buf.len()` bytes at `offset` (fewer at the end
/// of the file).
fn read_some_at(file: &File, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..) {
        if rest.is_empty() {
            break;
        }
        match file.read_at(rest, offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}

/// `__metadata__` as the `.npz` member that keeps it: a 0-d `<U` array
/// holding the map as compact JSON with sorted keys, which `np.load` reads
/// as a plain string (`json.loads(str(npz["__metadata__"]))`).
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use npymap::safetensors::{metadata_member, parse_metadata_member};
/// let m = BTreeMap::from([("format".to_string(), "pt".to_string())]);
/// let (header, payload) = metadata_member(&m)?;
/// assert_eq!(header.dtype.descr(), "'<U15'"); // {"format":"pt"}
/// assert_eq!(parse_metadata_member(&header, &payload)?, m);
/// # Ok::<(), npymap::Error>(())
/// ```
///
/// # Errors
/// `Overflow` if the text is too long for a dtype.
pub fn metadata_member(metadata: &BTreeMap<String, String>) -> Result<(Header, Vec<u8>)> {
    let json = serde_json::to_string(metadata).map_err(|e| invalid(e.to_string()))?;
    let chars = json.chars().count();
    let dtype = crate::dtype::Scalar::new(
        ScalarKind::Unicode,
        Some(ByteOrder::Little),
        chars.checked_mul(4).ok_or(ErrorKind::Overflow {
            what: "metadata length",
        })?,
    )
    .map(Dtype::Scalar)?;
    let payload = json
        .chars()
        .flat_map(|c| u32::from(c).to_le_bytes())
        .collect();
    Ok((
        Header {
            dtype,
            fortran_order: false,
            shape: Vec::new(),
        },
        payload,
    ))
}

/// Reads a `__metadata__` member back: one `U` string (either byte order)
/// holding a JSON object whose values are strings.
///
/// # Errors
/// `Safetensors` naming the member when it is not one such string, is
/// longer than [`MAX_HEADER_LEN`], or its text is not such an object.
pub fn parse_metadata_member(header: &Header, payload: &[u8]) -> Result<BTreeMap<String, String>> {
    let bad = |why: String| invalid(why).in_member(METADATA_KEY);
    let scalar = header
        .dtype
        .as_scalar()
        .filter(|s| s.kind() == ScalarKind::Unicode);
    let Some(scalar) = scalar else {
        return Err(bad(format!(
            "expected a unicode string (dtype <U), found dtype {}",
            header.dtype.descr()
        )));
    };
    if header.element_count()? != 1 {
        return Err(bad(format!(
            "expected one string, found shape {:?}",
            header.shape
        )));
    }
    if payload.len() as u64 > MAX_HEADER_LEN {
        return Err(bad(format!(
            "{} bytes, over the limit of {MAX_HEADER_LEN}",
            payload.len()
        )));
    }
    let mut text = String::new();
    for unit in payload.chunks_exact(4) {
        let b: [u8; 4] = unit.try_into().unwrap_or_default();
        let v = match scalar.byte_order() {
            ByteOrder::Big => u32::from_be_bytes(b),
            _ => u32::from_le_bytes(b),
        };
        if v == 0 {
            // NumPy pads with NULs and strips them when reading.
            break;
        }
        let c = char::from_u32(v).ok_or_else(|| bad(format!("{v:#x} is not a character")))?;
        text.push(c);
    }
    serde_json::from_str(&text).map_err(|e| bad(format!("expected a JSON object of strings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_maps_back() {
        for (st, _, _) in DTYPES.iter().chain(std::iter::once(&C64)) {
            let d = numpy_dtype(&st.to_string()).unwrap();
            assert_eq!(st_dtype(&d), Some(*st));
            assert_eq!(st_dtype(&d.with_byte_order(ByteOrder::Big)), Some(*st));
        }
        for refused in ["<c16", "<f16", "|S3", "<U2", "<M8[s]", "|V4"] {
            assert_eq!(st_dtype(&Dtype::from_descr(refused).unwrap()), None);
        }
    }

    #[test]
    fn header_length_is_checked_before_the_json() {
        let mut head = u64::MAX.to_le_bytes().to_vec();
        head.push(b'{');
        assert!(matches!(
            read_header(&head, 9).unwrap_err().kind(),
            ErrorKind::HeaderTooLong { .. }
        ));
        let mut head = 100u64.to_le_bytes().to_vec();
        head.extend_from_slice(b"{}");
        assert!(matches!(
            read_header(&head, 10).unwrap_err().kind(),
            ErrorKind::Truncated { needed: 108, .. }
        ));
    }
}
