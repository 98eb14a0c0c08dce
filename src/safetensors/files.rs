//! A `.safetensors` file to an `.npz` archive or to `.npy` files in a
//! directory, streamed (tensors are already little-endian C order, so their
//! bytes are copied as they are).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{METADATA_KEY, SafetensorsFile, metadata_member};
use crate::atomic::Durability;
use crate::error::{Error, Result};
use crate::header::Header;
use crate::npz::{Compression, NpzWriter, UnpackOptions};

/// Every tensor's `.npy` header, checked before anything is written.
fn headers(st: &SafetensorsFile) -> Result<Vec<Header>> {
    st.tensors().iter().map(super::Tensor::header).collect()
}

/// Converts the `.safetensors` file `input` into the `.npz` archive `out`
/// (written atomically), one stored member `NAME.npy` per tensor in file
/// order, each as `np.save` writes it; `__metadata__`, if any, becomes the
/// first member, `__metadata__.npy` (see [`metadata_member`]).
///
/// # Errors
/// As [`SafetensorsFile::open`]; `Unsupported` naming a tensor whose dtype
/// NumPy lacks (nothing is written then); `UnsafeName` for a tensor name
/// an archive cannot hold; `Io`.
pub fn to_npz(input: &Path, out: &Path, durability: Durability) -> Result<()> {
    let st = SafetensorsFile::open(input)?;
    let headers = headers(&st).map_err(|e| e.in_path(input))?;
    let mut npz = NpzWriter::create_with(out, durability)?;
    if let Some(m) = st.metadata() {
        let (h, payload) = metadata_member(m)?;
        npz.add_stored(METADATA_KEY, &h, &payload)?;
    }
    for (t, h) in st.tensors().iter().zip(&headers) {
        let mut member = npz.start(t.name(), h, Compression::Stored)?;
        st.copy_to(t, &mut member).map_err(|e| e.in_path(input))?;
        member.finish()?;
    }
    npz.finish()
}

/// Writes every tensor of the `.safetensors` file `input` to
/// `dir/NAME.npy` (as `np.save` writes it) and `__metadata__`, if any, to
/// `dir/__metadata__.npy`; returns the paths written. The same rules and
/// transaction as [`crate::npz::unpack_with`]: unsafe names refused,
/// nothing written outside `dir`, all or nothing.
///
/// # Errors
/// As [`to_npz`], and the destination errors of
/// [`crate::npz::unpack_with`].
pub fn unpack(input: &Path, dir: &Path, opts: UnpackOptions) -> Result<Vec<PathBuf>> {
    let st = SafetensorsFile::open(input)?;
    let headers = headers(&st).map_err(|e| e.in_path(input))?;
    let mut names = Vec::new();
    let metadata = st.metadata().map(metadata_member).transpose()?;
    if metadata.is_some() {
        names.push((METADATA_KEY.to_string(), format!("{METADATA_KEY}.npy")));
    }
    for t in st.tensors() {
        crate::npz::check_name(t.name()).map_err(|e| e.in_path(input))?;
        names.push((t.name().to_string(), format!("{}.npy", t.name())));
    }
    let index: HashMap<&str, usize> = st
        .tensors()
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name(), i))
        .collect();
    crate::npz::unpack_entries(dir, names, opts.sync, &mut |name, out| {
        if name == METADATA_KEY {
            if let Some((h, payload)) = &metadata {
                write_npy(out, h, dir)?;
                out.write_all(payload)
                    .map_err(|e| Error::from(e).in_path(dir))?;
            }
            return Ok(());
        }
        let found = index
            .get(name)
            .and_then(|&i| st.tensors().get(i).zip(headers.get(i)));
        if let Some((t, h)) = found {
            write_npy(out, h, dir)?;
            st.copy_to(t, out).map_err(|e| e.in_path(input))?;
        }
        Ok(())
    })
}

/// Writes the `.npy` header bytes NumPy writes for `header`.
fn write_npy(out: &mut dyn Write, header: &Header, dir: &Path) -> Result<()> {
    let bytes = header.to_bytes(None)?;
    out.write_all(&bytes)
        .map_err(|e| Error::from(e).in_path(dir))
}

/// An `.npz` member inflated into a temporary `.npy` file (hidden,
/// `.npymap-*.tmp`), so that it can be mapped and converted like any
/// `.npy` (a deflated member cannot be read at random). The file is
/// removed when this is dropped, and by [`crate::atomic::remove_pending`]
/// if the process is interrupted first.
pub struct StagedMember {
    path: tempfile::TempPath,
    _guard: crate::atomic::PendingGuard,
}

impl std::fmt::Debug for StagedMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedMember")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl StagedMember {
    /// Where the `.npy` file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Inflates the member `name` of `npz` (its whole `.npy` bytes, checked as
/// [`NpzReader::reader`](crate::npz::NpzReader::reader) checks them) into
/// a temporary file in `dir`, streaming.
///
/// # Errors
/// Every error of reading the member; `Io` naming `dir`.
pub fn stage_member<R: std::io::Read + std::io::Seek>(
    npz: &mut crate::npz::NpzReader<R>,
    name: &str,
    dir: &Path,
) -> Result<StagedMember> {
    let (mut tmp, guard) = crate::atomic::temp_file_in(dir)?;
    {
        let mut reader = npz.reader(name)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        std::io::copy(&mut reader, &mut out)?;
        out.flush().map_err(|e| Error::from(e).in_path(dir))?;
    }
    Ok(StagedMember {
        path: tmp.into_temp_path(),
        _guard: guard,
    })
}
