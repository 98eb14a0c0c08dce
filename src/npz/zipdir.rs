//! The zip structures of an archive, read by hand over the raw bytes so
//! that the archive npymap lists is the one Python's `zipfile` (and so
//! `np.load`) sees, or else an error.
//!
//! Python reads the end-of-central-directory record (and the zip64 end
//! record right before its locator), then walks the central directory for
//! as many bytes as the record says, whatever entry count it gives; it
//! decodes names as cp437 unless flag bit 11 says UTF-8; and when it opens a
//! member it checks that the local header carries the same name and that the
//! data does not run into the next entry. Here every one of those checks is
//! made when the archive is opened, more strictly where an archive would
//! otherwise read differently to different readers: the entry count must
//! match the directory, the directory must end exactly where the end
//! records start, and the local header must agree on name, method and (when
//! it has them) sizes. See `spec/npz.md` §1.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use byteorder::{ByteOrder as _, LittleEndian};

use crate::error::{Error, ErrorKind, Result, snippet};

const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: u64 = 22;
const LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const LOCATOR_LEN: u64 = 20;
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
const EOCD64_LEN: u64 = 56;
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const CENTRAL_LEN: usize = 46;
const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const LOCAL_LEN: usize = 30;
/// The longest archive comment, which is how far back the record can be.
const MAX_COMMENT: u64 = 0xFFFF;
const ZIP64_EXTRA: u16 = 0x0001;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_UTF8: u16 = 1 << 11;

/// One central-directory entry, checked against its local header.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_len: u64,
    pub npy_len: u64,
    pub header_offset: u64,
    /// Where the member's (compressed) data starts.
    pub data_start: u64,
}

fn zip(reason: impl Into<String>) -> Error {
    ErrorKind::Zip {
        reason: reason.into(),
    }
    .into()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, LittleEndian::read_u16)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, LittleEndian::read_u32)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, LittleEndian::read_u64)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Reads `len` bytes at `offset`, or `None` when the file ends first.
fn read_at<R: Read + Seek>(r: &mut R, offset: u64, len: usize) -> Result<Option<Vec<u8>>> {
    r.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    // `len` is at most 64 KiB + a record here, never taken from the file
    // beyond a u16 field.
    buf.try_reserve_exact(len)
        .map_err(|_| Error::from(ErrorKind::Overflow { what: "zip record" }))?;
    let got = r.by_ref().take(len as u64).read_to_end(&mut buf)?;
    Ok((got == len).then_some(buf))
}

/// The end records: where the central directory is, how long it is and how
/// many entries it has.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
}

fn find_directory<R: Read + Seek>(r: &mut R, archive_len: u64) -> Result<Directory> {
    if archive_len < EOCD_LEN {
        return Err(zip(format!(
            "not a zip archive: {} long, shorter than an end of central directory record",
            plural(archive_len, "byte", "bytes")
        )));
    }
    // As zipfile: the record at the very end (no comment), or else the last
    // signature in the last 64 KiB + 22 bytes.
    let tail_start = archive_len.saturating_sub(EOCD_LEN + MAX_COMMENT);
    let tail_len = usize::try_from(archive_len - tail_start).unwrap_or(0);
    let tail = read_at(r, tail_start, tail_len)?
        .ok_or_else(|| zip("archive ends early while reading its end"))?;
    let at_end = tail_len.saturating_sub(EOCD_LEN as usize);
    let pos = if tail.get(at_end..at_end + 4) == Some(EOCD_SIG) && u16_at(&tail, at_end + 20) == 0 {
        Some(at_end)
    } else {
        tail.windows(4).rposition(|w| w == EOCD_SIG)
    };
    let Some(pos) = pos else {
        return Err(zip(
            "not a zip archive: no end of central directory record found",
        ));
    };
    let rec = tail
        .get(pos..pos + EOCD_LEN as usize)
        .ok_or_else(|| zip("end of central directory record is cut short"))?;
    let eocd_at = tail_start + pos as u64;
    let what = format!("end of central directory record at offset {eocd_at}");
    let (disk, cd_disk) = (u16_at(rec, 4), u16_at(rec, 6));
    let (here, total) = (u64::from(u16_at(rec, 8)), u64::from(u16_at(rec, 10)));
    let (mut size, mut offset) = (u64::from(u32_at(rec, 12)), u64::from(u32_at(rec, 16)));
    let (mut entries, mut what, mut dir_end) = (total, what, eocd_at);
    if disk != 0 || cd_disk != 0 || here != total {
        return Err(zip(format!(
            "{what}: archives that span several disks are not supported"
        )));
    }

    // Zip64: a locator right before the record, and the zip64 end record
    // right before the locator (as zipfile assumes; no extensible data).
    if let Some(loc_at) = eocd_at.checked_sub(LOCATOR_LEN)
        && let Some(loc) = read_at(r, loc_at, LOCATOR_LEN as usize)?
        && loc.get(..4) == Some(LOCATOR_SIG)
    {
        let loc_what = format!("zip64 end of central directory locator at offset {loc_at}");
        if u32_at(&loc, 4) != 0 || u32_at(&loc, 16) > 1 {
            return Err(zip(format!(
                "{loc_what}: archives that span several disks are not supported"
            )));
        }
        let declared = u64_at(&loc, 8);
        let rec_at = loc_at.checked_sub(EOCD64_LEN);
        let rec64 = match rec_at {
            Some(at) => read_at(r, at, EOCD64_LEN as usize)?,
            None => None,
        };
        let (Some(rec_at), Some(rec64)) = (rec_at, rec64) else {
            return Err(zip(format!(
                "{loc_what}: no room for the zip64 end of central directory record before it"
            )));
        };
        if rec64.get(..4) != Some(EOCD64_SIG) || declared != rec_at {
            return Err(zip(format!(
                "{loc_what}: it points at offset {declared}, but the zip64 end of central \
                 directory record must be right before it, at offset {rec_at}"
            )));
        }
        what = format!("zip64 end of central directory record at offset {rec_at}");
        if u32_at(&rec64, 16) != 0
            || u32_at(&rec64, 20) != 0
            || u64_at(&rec64, 24) != u64_at(&rec64, 32)
        {
            return Err(zip(format!(
                "{what}: archives that span several disks are not supported"
            )));
        }
        entries = u64_at(&rec64, 32);
        size = u64_at(&rec64, 40);
        offset = u64_at(&rec64, 48);
        dir_end = rec_at;
    }

    let end = offset.checked_add(size);
    match end {
        Some(end) if end <= dir_end => {}
        _ => {
            return Err(zip(format!(
                "{what}: the central directory it gives ({} at offset {offset}) runs past \
                 the record itself (at offset {dir_end})",
                plural(size, "byte", "bytes")
            )));
        }
    }
    if end != Some(dir_end) {
        return Err(zip(format!(
            "{what}: the central directory it gives ({} at offset {offset}) does not end \
             where the end records start (offset {dir_end})",
            plural(size, "byte", "bytes")
        )));
    }
    Ok(Directory {
        offset,
        size,
        entries,
    })
}

/// cp437, the code page zipfile decodes names in unless flag bit 11 is set:
/// ASCII below 0x80, these above.
const CP437_HIGH: [char; 128] = [
    '\u{c7}', '\u{fc}', '\u{e9}', '\u{e2}', '\u{e4}', '\u{e0}', '\u{e5}', '\u{e7}', '\u{ea}',
    '\u{eb}', '\u{e8}', '\u{ef}', '\u{ee}', '\u{ec}', '\u{c4}', '\u{c5}', '\u{c9}', '\u{e6}',
    '\u{c6}', '\u{f4}', '\u{f6}', '\u{f2}', '\u{fb}', '\u{f9}', '\u{ff}', '\u{d6}', '\u{dc}',
    '\u{a2}', '\u{a3}', '\u{a5}', '\u{20a7}', '\u{192}', '\u{e1}', '\u{ed}', '\u{f3}', '\u{fa}',
    '\u{f1}', '\u{d1}', '\u{aa}', '\u{ba}', '\u{bf}', '\u{2310}', '\u{ac}', '\u{bd}', '\u{bc}',
    '\u{a1}', '\u{ab}', '\u{bb}', '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}',
    '\u{2561}', '\u{2562}', '\u{2556}', '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}',
    '\u{255c}', '\u{255b}', '\u{2510}', '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}',
    '\u{253c}', '\u{255e}', '\u{255f}', '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}',
    '\u{2550}', '\u{256c}', '\u{2567}', '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}',
    '\u{2552}', '\u{2553}', '\u{256b}', '\u{256a}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}',
    '\u{258c}', '\u{2590}', '\u{2580}', '\u{3b1}', '\u{df}', '\u{393}', '\u{3c0}', '\u{3a3}',
    '\u{3c3}', '\u{b5}', '\u{3c4}', '\u{3a6}', '\u{398}', '\u{3a9}', '\u{3b4}', '\u{221e}',
    '\u{3c6}', '\u{3b5}', '\u{2229}', '\u{2261}', '\u{b1}', '\u{2265}', '\u{2264}', '\u{2320}',
    '\u{2321}', '\u{f7}', '\u{2248}', '\u{b0}', '\u{2219}', '\u{b7}', '\u{221a}', '\u{207f}',
    '\u{b2}', '\u{25a0}', '\u{a0}',
];

/// Decodes a stored name as zipfile does.
fn decode_name(raw: &[u8], flags: u16) -> std::result::Result<String, String> {
    if flags & FLAG_UTF8 != 0 {
        return String::from_utf8(raw.to_vec()).map_err(|_| {
            format!(
                "a member name is flagged utf-8 but is not utf-8: \"{}\"",
                crate::error::byte_snippet(raw)
            )
        });
    }
    Ok(raw
        .iter()
        .map(|&b| match b.checked_sub(0x80) {
            None => char::from(b),
            Some(i) => CP437_HIGH.get(usize::from(i)).copied().unwrap_or('?'),
        })
        .collect())
}

/// In the zip64 extra field of `extra` (central or local), the 64-bit
/// values, in order.
fn zip64_values(extra: &[u8]) -> Option<Vec<u64>> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let (id, len) = (u16_at(rest, 0), usize::from(u16_at(rest, 2)));
        let data = rest.get(4..4 + len)?;
        if id == ZIP64_EXTRA {
            return Some(data.chunks_exact(8).map(LittleEndian::read_u64).collect());
        }
        rest = rest.get(4 + len..)?;
    }
    None
}

/// Reads and checks the whole central directory and every local header:
/// the entries in directory order.
pub(crate) fn read_entries<R: Read + Seek>(r: &mut R, archive_len: u64) -> Result<Vec<Entry>> {
    let dir = find_directory(r, archive_len)?;
    let mut entries = central_entries(r, &dir)?;
    check_locals(r, &mut entries, dir.offset, archive_len)?;
    Ok(entries)
}

/// Where the central directory is (`offset..offset + size`), from the end
/// records, for a reader that wants to fetch it ahead of
/// [`local_header_offsets`] (the remote `.npz` listing, `spec/remote.md`
/// §4). Checks as [`read_entries`] does.
#[cfg(feature = "remote")]
pub(crate) fn directory_span<R: Read + Seek>(
    r: &mut R,
    archive_len: u64,
) -> Result<std::ops::Range<u64>> {
    let dir = find_directory(r, archive_len)?;
    Ok(dir.offset..dir.offset + dir.size)
}

/// The local-header offset of every central-directory entry, in directory
/// order, without reading the local headers: what a remote reader needs to
/// fetch them all at once before [`read_entries`] checks them.
#[cfg(feature = "remote")]
pub(crate) fn local_header_offsets<R: Read + Seek>(
    r: &mut R,
    archive_len: u64,
) -> Result<Vec<u64>> {
    let dir = find_directory(r, archive_len)?;
    Ok(central_entries(r, &dir)?
        .into_iter()
        .map(|e| e.header_offset)
        .collect())
}

fn central_entries<R: Read + Seek>(r: &mut R, dir: &Directory) -> Result<Vec<Entry>> {
    r.seek(SeekFrom::Start(dir.offset))?;
    let mut cd = BufReader::with_capacity(1 << 16, r.by_ref().take(dir.size));
    let mut entries: Vec<Entry> = Vec::new();
    let mut consumed = 0u64;
    let mut fixed = [0u8; CENTRAL_LEN];
    let mut var = Vec::new();
    while consumed < dir.size {
        let n = entries.len();
        let at = dir.offset + consumed;
        let what = || format!("central directory entry {n} at offset {at}");
        let cut = |e: io::Error| -> Error {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                zip(format!(
                    "{} runs past the end of the central directory",
                    what()
                ))
            } else {
                e.into()
            }
        };
        cd.read_exact(&mut fixed).map_err(cut)?;
        if fixed.get(..4) != Some(CENTRAL_SIG) {
            return Err(zip(format!("{}: bad signature", what())));
        }
        let (name_len, extra_len, comment_len) = (
            usize::from(u16_at(&fixed, 28)),
            usize::from(u16_at(&fixed, 30)),
            usize::from(u16_at(&fixed, 32)),
        );
        var.clear();
        var.resize(name_len + extra_len + comment_len, 0);
        cd.read_exact(&mut var).map_err(cut)?;
        let (raw_name, rest) = var.split_at(name_len);
        let extra = rest.get(..extra_len).unwrap_or_default();
        let flags = u16_at(&fixed, 8);
        let name = decode_name(raw_name, flags).map_err(|e| zip(format!("{}: {e}", what())))?;
        let mut npy_len = u64::from(u32_at(&fixed, 24));
        let mut compressed_len = u64::from(u32_at(&fixed, 20));
        let mut header_offset = u64::from(u32_at(&fixed, 42));
        // As zipfile: the zip64 field holds, in order, only the values whose
        // 32-bit field is saturated.
        if let Some(values) = zip64_values(extra) {
            let mut values = values.into_iter();
            for field in [&mut npy_len, &mut compressed_len, &mut header_offset] {
                if *field == 0xFFFF_FFFF {
                    *field = values.next().ok_or_else(|| {
                        Error::new(ErrorKind::Zip {
                            reason: format!("{}: zip64 extra field is too short", what()),
                        })
                        .in_member(&name)
                    })?;
                }
            }
        }
        if u16_at(&fixed, 34) != 0 {
            return Err(zip(format!(
                "{}: archives that span several disks are not supported",
                what()
            )));
        }
        entries.try_reserve(1).map_err(|_| {
            Error::from(ErrorKind::Overflow {
                what: "central directory",
            })
        })?;
        entries.push(Entry {
            name,
            flags,
            method: u16_at(&fixed, 10),
            crc32: u32_at(&fixed, 16),
            compressed_len,
            npy_len,
            header_offset,
            data_start: 0,
        });
        consumed += (CENTRAL_LEN + var.len()) as u64;
    }
    if entries.len() as u64 != dir.entries {
        return Err(zip(format!(
            "end of central directory record: it counts {}, but the central directory \
             ({} at offset {}) holds {}",
            plural(dir.entries, "entry", "entries"),
            plural(dir.size, "byte", "bytes"),
            dir.offset,
            entries.len()
        )));
    }
    Ok(entries)
}

/// Reads each entry's local header: the same name, method and (unless a
/// data descriptor follows the data) sizes as the central directory; then
/// checks that no entry's header or data overlaps the next entry's, or the
/// central directory.
fn check_locals<R: Read + Seek>(
    r: &mut R,
    entries: &mut [Entry],
    cd_offset: u64,
    archive_len: u64,
) -> Result<()> {
    let mut fixed = [0u8; LOCAL_LEN];
    let mut var = Vec::new();
    for e in entries.iter_mut() {
        let in_member = |err: Error| err.in_member(&e.name);
        let at = e.header_offset;
        let short = || {
            Error::new(ErrorKind::Truncated {
                what: "local header",
                needed: at.saturating_add(LOCAL_LEN as u64),
                available: archive_len,
            })
            .at(at)
        };
        if at.saturating_add(LOCAL_LEN as u64) > archive_len {
            return Err(in_member(short()));
        }
        r.seek(SeekFrom::Start(at))?;
        r.read_exact(&mut fixed).map_err(|err| {
            in_member(if err.kind() == io::ErrorKind::UnexpectedEof {
                short()
            } else {
                err.into()
            })
        })?;
        if fixed.get(..4) != Some(LOCAL_SIG) {
            return Err(in_member(zip(format!("no local header at offset {at}"))));
        }
        let (name_len, extra_len) = (
            usize::from(u16_at(&fixed, 26)),
            usize::from(u16_at(&fixed, 28)),
        );
        var.clear();
        var.resize(name_len + extra_len, 0);
        r.read_exact(&mut var).map_err(|err| {
            in_member(if err.kind() == io::ErrorKind::UnexpectedEof {
                zip(format!(
                    "local header at offset {at} runs past the end of the archive"
                ))
            } else {
                err.into()
            })
        })?;
        let (raw_name, extra) = var.split_at(name_len);
        let flags = u16_at(&fixed, 6);
        let local_name = decode_name(raw_name, flags)
            .map_err(|err| in_member(zip(format!("local header at offset {at}: {err}"))))?;
        if local_name != e.name {
            return Err(in_member(zip(format!(
                "the local header at offset {at} names it \"{}\"",
                snippet(&local_name)
            ))));
        }
        let method = u16_at(&fixed, 8);
        if method != e.method {
            return Err(in_member(zip(format!(
                "the local header at offset {at} gives compression method {method}, the \
                 central directory {}",
                e.method
            ))));
        }
        if flags & FLAG_DESCRIPTOR == 0 {
            // A saturated local size lives in the local zip64 field, which
            // holds both sizes (uncompressed first).
            let z64 = zip64_values(extra).unwrap_or_default();
            let local = |field: u32, i: usize| match (field, z64.get(i)) {
                (0xFFFF_FFFF, Some(&v)) => v,
                (v, _) => u64::from(v),
            };
            let (usize_l, csize_l) = (local(u32_at(&fixed, 22), 0), local(u32_at(&fixed, 18), 1));
            if (usize_l, csize_l) != (e.npy_len, e.compressed_len) {
                return Err(in_member(zip(format!(
                    "the local header at offset {at} gives sizes {csize_l} compressed and \
                     {usize_l} uncompressed, the central directory {} and {}",
                    e.compressed_len, e.npy_len
                ))));
            }
        }
        e.data_start = at + (LOCAL_LEN + var.len()) as u64;
    }

    // Overlaps: in offset order, each entry's header and data end at or
    // before the next entry's header, the last one's before the directory.
    let mut order: Vec<usize> = Vec::new();
    order
        .try_reserve_exact(entries.len())
        .map_err(|_| Error::from(ErrorKind::Overflow { what: "entries" }))?;
    order.extend(0..entries.len());
    order.sort_by_key(|&i| entries.get(i).map_or(0, |e| e.header_offset));
    for (k, &i) in order.iter().enumerate() {
        let Some(e) = entries.get(i) else { continue };
        let next = order.get(k + 1).and_then(|&j| entries.get(j));
        let limit = next.map_or(cd_offset, |n| n.header_offset);
        let end = e
            .data_start
            .checked_add(e.compressed_len)
            .ok_or(ErrorKind::Overflow { what: "member end" })
            .map_err(|err| Error::from(err).in_member(&e.name))?;
        if end > archive_len {
            return Err(Error::new(ErrorKind::Truncated {
                what: "member data",
                needed: end,
                available: archive_len,
            })
            .at(e.data_start)
            .in_member(&e.name));
        }
        if end > limit {
            let other = match next {
                Some(n) => format!("the local header of member \"{}\"", snippet(&n.name)),
                None => "the central directory".to_owned(),
            };
            return Err(zip(format!(
                "its data (offsets {}..{end}) overlaps {other} at offset {limit}, as in a \
                 zip bomb",
                e.data_start
            ))
            .in_member(&e.name));
        }
    }
    Ok(())
}
