//! Writing `.safetensors`: the header first (every size is known from the
//! `.npy` headers), then each tensor's payload streamed in bounded pieces,
//! converted to little-endian C order on the way by the same machinery as
//! `npymap convert` ([`crate::convert::Plan`]).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;

use safetensors::tensor::TensorInfo;

use super::{MAX_HEADER_LEN, METADATA_KEY, invalid, refuse_numpy_dtype, st_dtype};
use crate::atomic::{Durability, write_atomic_with};
use crate::convert::sink::FileSink;
use crate::convert::{ConvertOptions, Payload, Plan};
use crate::dtype::ByteOrder;
use crate::error::{Error, ErrorKind, Result, snippet};
use crate::header::{Header, Version};

/// One tensor's place in the file being written.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    header: Header,
    info: TensorInfo,
}

/// A `.safetensors` file to write: its header bytes and the order of its
/// tensors, planned from the tensors' `.npy` headers alone.
///
/// Tensors are ordered as the `safetensors` crate (and Python's
/// `save_file`) orders them: by dtype, widest alignment first, then by
/// name; the header is the crate's JSON (`__metadata__` first, its keys
/// sorted) padded with spaces to a multiple of 8 bytes.
///
/// # Examples
/// ```
/// use npymap::convert::InMemory;
/// use npymap::safetensors::{SafetensorsFile, SafetensorsPlan};
/// use npymap::{Dtype, Header};
/// # let dir = tempfile::tempdir()?;
/// # let out = dir.path().join("m.safetensors");
/// // A big-endian, Fortran-order 2x2 array: written little-endian, C order.
/// let header = Header { dtype: Dtype::from_descr(">i2")?, fortran_order: true, shape: vec![2, 2] };
/// let a = InMemory { header: header.clone(), bytes: vec![0, 1, 0, 3, 0, 2, 0, 4], version: None };
/// let plan = SafetensorsPlan::new(&[("a".to_string(), header)], None)?;
/// plan.write_file(&out, npymap::atomic::Durability::Atomic, |_name| Ok::<_, npymap::Error>(Box::new(a.clone())))?;
/// let st = SafetensorsFile::open(&out)?;
/// assert_eq!(st.read(&st.tensors()[0])?, [1, 0, 2, 0, 3, 0, 4, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SafetensorsPlan {
    entries: Vec<Entry>,
    header_bytes: Vec<u8>,
    data_len: u64,
}

impl SafetensorsPlan {
    /// Plans a file holding `tensors` (name, `.npy` header of its source)
    /// and `metadata` as its `__metadata__`.
    ///
    /// # Errors
    /// `Unsupported` naming the tensor for a dtype safetensors has no type
    /// for; `DuplicateMember` for a repeated name; `Safetensors` for the
    /// reserved name `__metadata__` or a header over [`MAX_HEADER_LEN`];
    /// `Overflow`.
    pub fn new(
        tensors: &[(String, Header)],
        metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<Self> {
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        entries
            .try_reserve_exact(tensors.len())
            .map_err(|_| ErrorKind::Overflow {
                what: "tensor count",
            })?;
        for (name, header) in tensors {
            if name == METADATA_KEY {
                return Err(invalid(format!(
                    "{METADATA_KEY:?} is reserved for the metadata and cannot name a tensor"
                )));
            }
            if !seen.insert(name.as_str()) {
                return Err(ErrorKind::DuplicateMember {
                    name: snippet(name),
                }
                .into());
            }
            let dtype =
                st_dtype(&header.dtype).ok_or_else(|| refuse_numpy_dtype(name, &header.dtype))?;
            let shape = header
                .shape
                .iter()
                .map(|&d| usize::try_from(d))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| ErrorKind::Overflow { what: "shape" })?;
            entries.push(Entry {
                name: name.clone(),
                header: header.clone(),
                info: TensorInfo {
                    dtype,
                    shape,
                    data_offsets: (0, 0),
                },
            });
        }
        // The safetensors crate's order: dtype descending, then name.
        entries.sort_by(|a, b| b.info.dtype.cmp(&a.info.dtype).then(a.name.cmp(&b.name)));
        let mut at: u64 = 0;
        for e in &mut entries {
            let len = e
                .header
                .payload_len()
                .map_err(|err| err.in_member(&e.name))?;
            let end = at.checked_add(len).ok_or(ErrorKind::Overflow {
                what: "tensor data length",
            })?;
            e.info.data_offsets = (
                usize::try_from(at).map_err(|_| ErrorKind::Overflow { what: "offset" })?,
                usize::try_from(end).map_err(|_| ErrorKind::Overflow { what: "offset" })?,
            );
            at = end;
        }
        let header_bytes = header_json(&entries, metadata)?;
        Ok(SafetensorsPlan {
            entries,
            header_bytes,
            data_len: at,
        })
    }

    /// The tensor names in the order their bytes are written.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The file's first bytes: the 8-byte header length and the header.
    pub fn header_bytes(&self) -> &[u8] {
        &self.header_bytes
    }

    /// The length of the whole file.
    pub fn file_len(&self) -> u64 {
        self.header_bytes.len() as u64 + self.data_len
    }

    /// Writes the file at `out` atomically (temp file + rename, synced as
    /// `durability` says): the header, then each tensor from the source
    /// `open(name)` returns, asked for one at a time in file order and
    /// dropped before the next is opened. Each source is converted to
    /// little-endian C order in bounded memory (a transpose reads bounded
    /// windows with [`Payload::read_at`]); its header must match the one
    /// planned, up to byte order and memory order.
    ///
    /// # Errors
    /// Whatever `open` returns; `ShapeMismatch` / `DtypeMismatch` naming the
    /// tensor when a source does not match its plan; `PayloadSize`; `Io`.
    pub fn write_file<'s, E, F>(
        &self,
        out: &Path,
        durability: Durability,
        mut open: F,
    ) -> Result<(), E>
    where
        E: From<Error>,
        F: FnMut(&str) -> Result<Box<dyn Payload + 's>, E>,
    {
        let mut opened: Option<E> = None;
        let result = write_atomic_with(out, durability, |file| {
            file.write_all(&self.header_bytes)?;
            file.set_len(self.file_len())?;
            let mut sink = FileSink::new(file);
            let mut base = self.header_bytes.len() as u64;
            for e in &self.entries {
                let source = match open(&e.name) {
                    Ok(s) => s,
                    Err(err) => {
                        opened = Some(err);
                        return Err(ErrorKind::Unsupported("source not opened".into()).into());
                    }
                };
                self.write_tensor(e, &*source, &mut sink, base)
                    .map_err(|err| err.in_member(&e.name))?;
                base += e.header.payload_len()?;
            }
            crate::convert::sink::Sink::flush(&mut sink)
        });
        match (result, opened) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(E::from(e.in_path(out))),
        }
    }

    fn write_tensor(
        &self,
        e: &Entry,
        source: &dyn Payload,
        sink: &mut FileSink<'_>,
        base: u64,
    ) -> Result<()> {
        let h = source.header();
        if h.shape != e.header.shape {
            return Err(ErrorKind::ShapeMismatch {
                expected: format!("{:?}", e.header.shape),
                found: format!("{:?}", h.shape),
            }
            .into());
        }
        if st_dtype(&h.dtype) != Some(e.info.dtype) {
            return Err(ErrorKind::DtypeMismatch {
                expected: e.info.dtype.to_string(),
                found: h.dtype.descr(),
            }
            .into());
        }
        let plan = Plan::new(
            h,
            Version::V1_0,
            &ConvertOptions {
                byte_order: Some(ByteOrder::Little),
                fortran_order: Some(false),
                ..ConvertOptions::default()
            },
        )?;
        plan.write_payload(source, sink, base)
    }
}

/// The header as the `safetensors` crate writes it, with its length first.
fn header_json(entries: &[Entry], metadata: Option<&BTreeMap<String, String>>) -> Result<Vec<u8>> {
    let json_err = |e: serde_json::Error| invalid(e.to_string());
    let mut json = String::from("{");
    let mut first = true;
    if let Some(m) = metadata {
        json.push_str(&serde_json::to_string(METADATA_KEY).map_err(json_err)?);
        json.push(':');
        json.push_str(&serde_json::to_string(m).map_err(json_err)?);
        first = false;
    }
    for e in entries {
        if !first {
            json.push(',');
        }
        first = false;
        json.push_str(&serde_json::to_string(&e.name).map_err(json_err)?);
        json.push(':');
        json.push_str(&serde_json::to_string(&e.info).map_err(json_err)?);
        if json.len() as u64 > MAX_HEADER_LEN {
            break;
        }
    }
    json.push('}');
    let padded = json.len().next_multiple_of(8);
    if padded as u64 > MAX_HEADER_LEN {
        return Err(invalid(format!(
            "the header would be over {MAX_HEADER_LEN} bytes, the format's limit"
        )));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(8 + padded)
        .map_err(|_| ErrorKind::Overflow {
            what: "safetensors header",
        })?;
    out.extend_from_slice(&(padded as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.resize(8 + padded, b' ');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::InMemory;
    use crate::dtype::Dtype;

    fn array(descr: &str, shape: Vec<u64>, bytes: Vec<u8>) -> InMemory {
        InMemory {
            header: Header {
                dtype: Dtype::from_descr(descr).unwrap(),
                fortran_order: false,
                shape,
            },
            bytes,
            version: None,
        }
    }

    #[test]
    fn a_failing_source_leaves_no_output_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.safetensors");
        let a = array("<f8", vec![1], vec![0; 8]);
        let b = array("|u1", vec![2], vec![1, 2]);
        let list = [
            ("a".to_string(), a.header.clone()),
            ("b".to_string(), b.header.clone()),
        ];
        let plan = SafetensorsPlan::new(&list, None).unwrap();
        assert_eq!(plan.names().collect::<Vec<_>>(), ["a", "b"]);
        let err = plan
            .write_file(out.as_path(), Durability::Atomic, |name| match name {
                "a" => Ok(Box::new(a.clone()) as Box<dyn Payload>),
                _ => Err(Error::new(ErrorKind::Unsupported("gone".into()))),
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "unsupported: gone");
        // A source whose shape changed since the plan: named, refused.
        let err: Error = plan
            .write_file(out.as_path(), Durability::Atomic, |name| match name {
                "a" => Ok(Box::new(a.clone()) as Box<dyn Payload>),
                _ => Ok(Box::new(array("|u1", vec![1], vec![1])) as Box<dyn Payload>),
            })
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::ShapeMismatch { .. }),
            "{err}"
        );
        assert_eq!(err.member(), Some("b"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn duplicate_and_reserved_names_are_refused() {
        let h = array("<i4", vec![], vec![0; 4]).header;
        let dup = [("x".to_string(), h.clone()), ("x".to_string(), h.clone())];
        assert!(matches!(
            SafetensorsPlan::new(&dup, None).unwrap_err().kind(),
            ErrorKind::DuplicateMember { .. }
        ));
        let reserved = [(METADATA_KEY.to_string(), h)];
        assert!(matches!(
            SafetensorsPlan::new(&reserved, None).unwrap_err().kind(),
            ErrorKind::Safetensors { .. }
        ));
    }
}
