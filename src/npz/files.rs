//! Whole files: `.npy` files packed into an archive, and an archive unpacked
//! into a directory without ever writing outside it.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Compression, NpzReader, NpzWriter};
use crate::error::{Error, ErrorKind, Result, snippet};
use crate::npy;

/// Writes the `.npy` files `inputs` (member name, path) into the archive
/// `out` as members `NAME.npy` (each header written as NumPy writes it, in
/// the input's format version), streaming each payload. `out` appears only
/// when every member was written (temp file plus rename); on error nothing is
/// left behind and the inputs are never modified.
///
/// # Errors
/// Any error of an input (`NotNpy`, header errors, `PayloadSize`, `Io`,
/// `ObjectDtype`: object arrays are a pickle and are not packed), naming its
/// path; `UnsafeName`, `DuplicateMember`; `Io` for `out`.
pub fn pack(out: &Path, inputs: &[(String, PathBuf)], compression: Compression) -> Result<()> {
    let mut npz = NpzWriter::create(out)?;
    for (name, path) in inputs {
        let mut add = || -> Result<()> {
            let parsed = npy::inspect(path)?;
            let len = parsed.header.payload_len()?;
            let mut file = BufReader::with_capacity(1 << 16, File::open(path)?);
            file.seek(SeekFrom::Start(parsed.data_offset))?;
            // Keep the input's version (NumPy-written files then come back
            // byte-identical from unpack), unless our header text cannot fit
            // it; then let NumPy's rule choose.
            let version = match parsed.header.to_bytes(Some(parsed.version)) {
                Ok(_) => Some(parsed.version),
                Err(_) => None,
            };
            let mut member = npz.start_versioned(name, &parsed.header, version, compression)?;
            io::copy(&mut file.take(len), &mut member)?;
            member.finish()
        };
        add().map_err(|e| e.in_path(path))?;
    }
    npz.finish()
}

/// Writes every member of the archive at `archive` to `dir/NAME.npy`
/// (creating `dir` and any sub-directories a member name has), byte-identical
/// to the member's `.npy` bytes, and returns the paths written.
///
/// Nothing is written outside `dir`: names are checked when the archive is
/// opened ([`check_name`](super::check_name)), and an existing path component
/// under `dir` that is not a real directory (e.g. a symlink) is refused. All
/// members are first inflated and checked into temporary files inside `dir`;
/// only when all succeeded are they renamed into place, so a failure leaves
/// no member files (and removes `dir` if this call created it).
///
/// # Errors
/// Every error of [`NpzReader::open`] and of reading a member; `UnsafeName`
/// for a path component that is not a directory; `Io`.
pub fn unpack(archive: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut npz = NpzReader::open(archive)?;
    let created = !dir.exists();
    fs::create_dir_all(dir).map_err(|e| Error::from(e).in_path(dir))?;
    let result = unpack_into(&mut npz, dir).map_err(|e| e.in_path(archive));
    if result.is_err() && created {
        // Only succeeds if nothing was left in it.
        let _ = fs::remove_dir(dir);
    }
    result
}

fn unpack_into<R: Read + Seek>(npz: &mut NpzReader<R>, dir: &Path) -> Result<Vec<PathBuf>> {
    // Member file name, and the name on disk: KEY.npy, as the contract says
    // (a member stored without the suffix still unpacks to KEY.npy; keys
    // are unique, the reader checked).
    let names: Vec<(String, String)> = npz
        .members()
        .iter()
        .map(|m| (m.file_name().to_owned(), format!("{}.npy", m.name())))
        .collect();
    let mut staged = Vec::with_capacity(names.len());
    for (member, on_disk) in &names {
        let (mut tmp, guard) = crate::atomic::temp_file_in(dir)?;
        {
            let mut out = BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
            io::copy(&mut npz.reader(member)?, &mut out)?;
            out.flush()?;
        }
        staged.push((tmp, guard, on_disk));
    }
    let mut written = Vec::with_capacity(staged.len());
    for (tmp, _guard, name) in staged {
        let target = make_parents(dir, name)?;
        tmp.persist(&target)
            .map_err(|e| Error::from(e.error).in_path(&target))?;
        written.push(target);
    }
    Ok(written)
}

/// Joins a checked member name under `dir`, creating its parent directories
/// and refusing any existing component that is not a real directory.
fn make_parents(dir: &Path, name: &str) -> Result<PathBuf> {
    let mut parts: Vec<&str> = name.split('/').collect();
    let file = parts.pop().unwrap_or(name);
    let mut path = dir.to_path_buf();
    for part in parts {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(ErrorKind::UnsafeName {
                    name: snippet(name),
                    reason: "a path component exists and is not a directory",
                })
                .in_path(&path));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&path).map_err(|e| Error::from(e).in_path(&path))?;
            }
            Err(e) => return Err(Error::from(e).in_path(&path)),
        }
    }
    path.push(file);
    Ok(path)
}
