//! `.npz` archives: zip files whose members are `.npy` files.
//!
//! NumPy's `np.savez` writes one member `KEY.npy` per array, stored
//! (uncompressed); `np.savez_compressed` deflates them. NumPy writes every
//! local header with a zip64 extra field and does not align members, so a
//! stored member's payload starts wherever the headers end (offsets like 183).
//!
//! | type | for |
//! |---|---|
//! | [`NpzReader`] | list members (headers only), stream or read any member, byte ranges of stored members for mapping |
//! | [`NpzArchive`] | an archive already in memory: zero-copy `&[u8]` and views of stored members |
//! | [`NpzMap`](crate::mmap::NpzMap) | a memory-mapped archive: zero-copy views of stored members, typed reads of any |
//! | [`NpzWriter`] | add arrays stored or deflated, zip64 when needed, stored payloads 64-byte aligned, atomic files |
//! | [`pack`] / [`unpack`] | `.npy` files into an archive and back, never writing outside the target directory |
//!
//! The zip structures are read here, over the raw bytes, so that the archive
//! listed is the one Python's `zipfile` sees (the `zipdir` module, `spec/npz.md`
//! §1); archives are written with the `zip` crate. Member data is inflated
//! here, with `flate2`, so that an inflated size
//! larger than declared ([`ErrorKind::InflateOverrun`]) and a bad checksum
//! are told apart as typed errors.
//!
//! Safety rules, applied when an archive is opened and when one is written:
//! member names must be relative paths without `..`, `.` or empty components,
//! without backslashes, NUL or a drive letter ([`ErrorKind::UnsafeName`]);
//! no two members may share a name or a key ([`ErrorKind::DuplicateMember`]);
//! every member must be a valid `.npy` whose declared size matches its header
//! (errors name the member, see [`Error::member`]).

mod all;
mod archive;
mod files;
mod read;
mod write;
pub(crate) mod zipdir;

pub use crate::atomic::AtomicFile;
pub use all::{AnyArray, read_all, read_all_with};
pub use archive::NpzArchive;
#[doc(hidden)]
pub use files::pack_with_workers;
pub(crate) use files::unpack_entries;
pub use files::{UnpackOptions, pack, unpack, unpack_with};
pub use read::{DEFAULT_MAX_READ_LEN, MemberReader, NpzOptions, NpzReader};
pub use write::{MemberWriter, NpzWriter, Sink};

pub(crate) use archive::{slice_of, view_member};
pub(crate) use read::read_member_array;

use std::ops::Range;

use crate::error::{Error, ErrorKind, Result, snippet};
use crate::header::ParsedHeader;

/// How a member's bytes are kept in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is (`np.savez`); can be mapped without copying.
    Stored,
    /// Deflate (`np.savez_compressed`).
    Deflated,
}

impl Compression {
    /// `"stored"` or `"deflated"`, as `info --json` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Stored => "stored",
            Compression::Deflated => "deflated",
        }
    }
}

/// One member of an archive, as listed by [`NpzReader::members`]: its name,
/// how it is stored and its parsed `.npy` header (read without the payload).
#[derive(Debug, Clone)]
pub struct Member {
    pub(crate) key: String,
    pub(crate) file_name: String,
    pub(crate) compression: Compression,
    pub(crate) header: ParsedHeader,
    pub(crate) data_start: u64,
    pub(crate) compressed_len: u64,
    pub(crate) npy_len: u64,
    pub(crate) crc32: u32,
}

impl Member {
    /// The key `np.load` gives: the file name without its trailing `.npy`.
    pub fn name(&self) -> &str {
        &self.key
    }

    /// The key for display on a terminal: as it is when every character is
    /// printable, else Python's `repr` of it (quoted, with `\n`, `\x1b`,
    /// ... escaped, as field names are in a descr), so a name cannot move
    /// the cursor or forge lines.
    ///
    /// # Examples
    /// ```
    /// let mut w = npymap::npz::NpzWriter::new(std::io::Cursor::new(Vec::new()));
    /// let h = npymap::Header { dtype: npymap::Dtype::from_descr("<i1")?, fortran_order: false, shape: vec![] };
    /// w.add_stored("a\x1b[2Kb", &h, &[0])?;
    /// w.add_stored("plain é", &h, &[0])?;
    /// let bytes = w.finish()?.into_inner();
    /// let npz = npymap::npz::NpzArchive::from_bytes(&bytes)?;
    /// assert_eq!(npz.members()[0].display_name(), "'a\\x1b[2Kb'");
    /// assert_eq!(npz.members()[1].display_name(), "plain é");
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn display_name(&self) -> String {
        let mut quoted = String::new();
        crate::dtype::py_repr_str(&self.key, &mut quoted);
        let inner = quoted
            .get(1..quoted.len().saturating_sub(1))
            .unwrap_or_default();
        if inner == self.key {
            self.key.clone()
        } else {
            quoted
        }
    }

    /// The file name as stored in the archive, e.g. `"x.npy"`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Stored or deflated.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The member's `.npy` header; its `data_offset` counts from the start of
    /// the member's own `.npy` bytes.
    pub fn header(&self) -> &ParsedHeader {
        &self.header
    }

    /// Length of the member's whole `.npy` bytes (uncompressed), as declared.
    pub fn npy_len(&self) -> u64 {
        self.npy_len
    }

    /// Bytes the member occupies in the archive (compressed length).
    pub fn compressed_len(&self) -> u64 {
        self.compressed_len
    }

    /// For a stored member, the byte range of its whole `.npy` bytes within
    /// the archive; `None` for a deflated member. The range was checked to
    /// lie inside the archive when it was opened.
    pub fn npy_range(&self) -> Option<Range<u64>> {
        match self.compression {
            Compression::Stored => Some(self.data_start..self.data_start + self.npy_len),
            Compression::Deflated => None,
        }
    }

    /// For a stored member, the byte range of its payload (after the `.npy`
    /// header) within the archive; `None` for a deflated member.
    pub fn payload_range(&self) -> Option<Range<u64>> {
        self.npy_range()
            .map(|r| r.start + self.header.data_offset.min(self.npy_len)..r.end)
    }

    /// The range of a stored member, or `NotStored`.
    pub(crate) fn require_stored(&self) -> Result<Range<u64>> {
        self.npy_range().ok_or_else(|| {
            Error::new(ErrorKind::NotStored {
                compression: self.compression.as_str(),
            })
            .in_member(&self.file_name)
        })
    }
}

/// The members of an archive in archive order, with an index by file name
/// and one by key, built once when the archive is listed, so that a lookup
/// costs O(log n) and reading every member of an n-member archive is not
/// O(n²). Names and keys are unique (the reader refuses duplicates, §2 of
/// `spec/npz.md`), so each index gives at most one member.
#[derive(Debug, Clone, Default)]
pub(crate) struct Members {
    list: Vec<Member>,
    /// Indices into `list`, sorted by file name.
    by_file: Vec<usize>,
    /// Indices into `list`, sorted by key.
    by_key: Vec<usize>,
}

impl Members {
    /// Indexes `list` (O(n log n)).
    pub(crate) fn new(list: Vec<Member>) -> Members {
        let mut by_file: Vec<usize> = (0..list.len()).collect();
        let mut by_key = by_file.clone();
        let name = |i: &usize| list.get(*i).map_or("", |m| m.file_name.as_str());
        by_file.sort_unstable_by(|a, b| name(a).cmp(name(b)));
        let key = |i: &usize| list.get(*i).map_or("", |m| m.key.as_str());
        by_key.sort_unstable_by(|a, b| key(a).cmp(key(b)));
        Members {
            list,
            by_file,
            by_key,
        }
    }

    /// The members in archive order.
    pub(crate) fn as_slice(&self) -> &[Member] {
        &self.list
    }

    /// Finds a member by file name (`"x.npy"`) or else by key (`"x"`), in
    /// the order `np.load`'s `NpzFile` tries them.
    pub(crate) fn find(&self, name: &str) -> Result<&Member> {
        let lookup = |index: &[usize], field: fn(&Member) -> &str| {
            index
                .binary_search_by(|&i| self.list.get(i).map_or("", field).cmp(name))
                .ok()
                .and_then(|at| index.get(at))
                .and_then(|&i| self.list.get(i))
        };
        lookup(&self.by_file, |m| m.file_name.as_str())
            .or_else(|| lookup(&self.by_key, |m| m.key.as_str()))
            .ok_or_else(|| {
                ErrorKind::MemberNotFound {
                    name: snippet(name),
                }
                .into()
            })
    }
}

/// The key `np.load` gives a member: its name without a trailing `.npy`.
pub fn key_of(file_name: &str) -> &str {
    file_name.strip_suffix(".npy").unwrap_or(file_name)
}

/// Checks that a member name is safe to use as a relative path under a
/// directory on any platform.
///
/// # Errors
/// `UnsafeName` for an empty name, an absolute path, a drive letter, a
/// backslash, a NUL byte, or an empty, `.` or `..` path component.
///
/// # Examples
/// ```
/// use npymap::npz::check_name;
/// assert!(check_name("weights/layer0.npy").is_ok());
/// for bad in ["../x.npy", "/x.npy", "C:x.npy", "a\\b.npy", "a//b.npy"] {
///     assert_eq!(check_name(bad).unwrap_err().kind().code(), "unsafe_name");
/// }
/// ```
pub fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("empty name")
    } else if name.starts_with('/') {
        Some("absolute path")
    } else if name.contains('\\') {
        Some("backslash in name")
    } else if name.contains('\0') {
        Some("NUL byte in name")
    } else if has_drive_letter(name) {
        Some("drive letter")
    } else if name.split('/').any(|c| c == "..") {
        Some("'..' path component")
    } else if name.split('/').any(|c| c.is_empty() || c == ".") {
        Some("empty or '.' path component")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ErrorKind::UnsafeName {
            name: snippet(name),
            reason,
        }
        .into()),
        None => Ok(()),
    }
}

fn has_drive_letter(name: &str) -> bool {
    let mut chars = name.chars();
    matches!((chars.next(), chars.next()), (Some(c), Some(':')) if c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_try_the_file_name_first_then_the_key_as_np_load_does() {
        let h = crate::Header {
            dtype: crate::Dtype::from_descr("<i1").unwrap(),
            fortran_order: false,
            shape: vec![1],
        };
        let mut w = NpzWriter::new(std::io::Cursor::new(Vec::new()));
        // Files "b.npy.npy" (key "b.npy"), "b.npy" (key "b"), "c.npy".
        w.add_stored("b.npy", &h, &[1]).unwrap();
        w.add_stored("b", &h, &[2]).unwrap();
        w.add_stored("c", &h, &[3]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let npz = NpzArchive::from_bytes(&bytes).unwrap();
        let file = |name: &str| npz.member(name).map(|m| m.file_name().to_owned());
        // "b.npy" is a file name (b.npy) before it is a key (b.npy.npy).
        assert_eq!(file("b.npy").unwrap(), "b.npy");
        assert_eq!(file("b").unwrap(), "b.npy");
        assert_eq!(file("b.npy.npy").unwrap(), "b.npy.npy");
        assert_eq!(file("c").unwrap(), "c.npy");
        assert_eq!(file("c.npy").unwrap(), "c.npy");
        for missing in ["", "a", "d.npy", "c.npy.npy", "B"] {
            let e = npz.member(missing).unwrap_err();
            assert_eq!(e.kind().code(), "member_not_found", "{missing:?}");
        }
        assert_eq!(npz.payload("b.npy").unwrap(), [2]);
    }

    #[test]
    fn key_strips_one_npy_suffix() {
        assert_eq!(key_of("a.npy"), "a");
        assert_eq!(key_of("a.npy.npy"), "a.npy");
        assert_eq!(key_of("a.txt"), "a.txt");
    }

    #[test]
    fn names_that_could_escape_are_refused() {
        for ok in [
            "a.npy",
            "arr_0.npy",
            "dir/sub/x.npy",
            "layer:0.npy",
            "..a.npy",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a.npy",
            "../a.npy",
            "a/../b.npy",
            "a/..",
            "C:\\a.npy",
            "c:a.npy",
            "a\\b.npy",
            "a\0.npy",
            "./a.npy",
            "a//b.npy",
            "dir/",
        ] {
            let e = check_name(bad).unwrap_err();
            assert_eq!(e.kind().code(), "unsafe_name", "{bad:?}");
        }
    }
}
