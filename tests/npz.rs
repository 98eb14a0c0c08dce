//! `.npz` archives: NumPy-made archives list and read as the manifest says,
//! archives we write load in NumPy with equal values and have 64-byte
//! aligned stored payloads, and hostile archives fail with their codes.

mod common;

use std::io::{Cursor, Read, Write};
use std::path::Path;

use npymap::npz::{Compression, NpzArchive, NpzReader, NpzWriter};
use npymap::{Dtype, Error, Header};
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn python(script: &str, args: &[&Path]) -> String {
    common::cli::python_args(script, Path::new("."), args)
}

fn header(descr: &str, shape: &[u64]) -> Header {
    Header {
        dtype: Dtype::from_descr(descr).unwrap(),
        fortran_order: false,
        shape: shape.to_vec(),
    }
}

fn le_f64(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    values.into_iter().flat_map(f64::to_le_bytes).collect()
}

#[test]
fn numpy_archives_list_members_as_the_manifest_says() {
    let entries = common::entries("npz");
    assert!(entries.len() >= 6);
    for entry in entries {
        let rel = entry["path"].as_str().unwrap();
        let npz = NpzReader::open(common::testdata().join(rel)).unwrap();
        let expected = entry["members"].as_array().unwrap();
        assert_eq!(npz.members().len(), expected.len(), "{rel}");
        for (m, e) in npz.members().iter().zip(expected) {
            let ctx = format!("{rel}:{}", m.file_name());
            assert_eq!(m.file_name(), e["name"], "{ctx}");
            assert_eq!(m.name(), e["key"], "{ctx}");
            assert_eq!(m.compression().as_str(), e["compression"], "{ctx}");
            assert_eq!(m.npy_len(), e["file_size"].as_u64().unwrap(), "{ctx}");
            assert_eq!(m.compressed_len(), e["compressed_size"].as_u64().unwrap());
            let p = m.header();
            assert_eq!(p.version.as_str(), e["version"], "{ctx}");
            assert_eq!(p.header.dtype.to_json(), e["descr"], "{ctx}");
            assert_eq!(p.header.fortran_order, e["fortran_order"], "{ctx}");
            let shape: Vec<u64> = serde_json::from_value(e["shape"].clone()).unwrap();
            assert_eq!(p.header.shape, shape, "{ctx}");
            assert_eq!(p.data_offset, e["data_offset"].as_u64().unwrap(), "{ctx}");
            assert_eq!(
                m.npy_range().is_some(),
                m.compression() == Compression::Stored
            );
        }
    }
}

#[test]
fn numpy_member_payloads_match_the_manifest_sha256() {
    let mut checked = 0;
    for entry in common::entries("npz") {
        let rel = entry["path"].as_str().unwrap();
        let mut npz = NpzReader::open(common::testdata().join(rel)).unwrap();
        for e in entry["members"].as_array().unwrap() {
            let key = e["key"].as_str().unwrap();
            let payload = npz.read_payload(key).unwrap();
            assert_eq!(sha256_hex(&payload), e["payload_sha256"], "{rel}:{key}");
            // Streaming gives the same bytes as reading whole.
            let mut streamed = Vec::new();
            npz.reader(key).unwrap().read_to_end(&mut streamed).unwrap();
            assert_eq!(streamed, npz.read(key).unwrap());
            checked += 1;
        }
    }
    assert!(checked >= 14, "{checked}");
}

#[test]
fn stored_members_are_viewed_in_place_and_ranges_point_at_them() {
    for entry in common::entries("npz") {
        let rel = entry["path"].as_str().unwrap();
        let path = common::testdata().join(rel);
        let bytes = std::fs::read(&path).unwrap();
        let mut archive = NpzArchive::from_bytes(&bytes).unwrap();
        let reader = NpzReader::open(&path).unwrap();
        let names: Vec<String> = archive
            .members()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        for name in names {
            let m = archive.member(&name).unwrap().clone();
            match m.compression() {
                Compression::Stored => {
                    let view = archive.member_bytes(&name).unwrap();
                    // Zero-copy: the view lies inside the buffer.
                    let start = view.as_ptr() as usize - bytes.as_ptr() as usize;
                    let range = reader.member_range(&name).unwrap();
                    assert_eq!(start as u64, range.start);
                    assert_eq!(view.len() as u64, range.end - range.start);
                    assert_eq!(view, archive.read(&name).unwrap().as_slice());
                    let payload = archive.payload(&name).unwrap();
                    assert_eq!(
                        payload.len() as u64,
                        m.header().header.payload_len().unwrap()
                    );
                }
                Compression::Deflated => {
                    let err = archive.member_bytes(&name).unwrap_err();
                    assert_eq!(err.kind().code(), "not_stored", "{err}");
                    assert_eq!(
                        reader.member_range(&name).unwrap_err().kind().code(),
                        "not_stored"
                    );
                }
            }
        }
    }
}

#[test]
fn numpy_does_not_align_members_but_the_element_offsets_are_exact() {
    // The brief's premise, pinned: NumPy's payload offsets are not multiples
    // of 64, which is why the portable element view matters for its archives.
    let reader = NpzReader::open(common::testdata().join("npz/named.npz")).unwrap();
    let offsets: Vec<u64> = reader
        .members()
        .iter()
        .map(|m| m.payload_range().unwrap().start)
        .collect();
    assert!(offsets.iter().any(|o| o % 64 != 0), "{offsets:?}");
}

#[test]
fn members_are_found_by_key_or_file_name() {
    let npz = NpzReader::open(common::testdata().join("npz/positional.npz")).unwrap();
    assert_eq!(npz.member("arr_1").unwrap().file_name(), "arr_1.npy");
    assert_eq!(npz.member("arr_1.npy").unwrap().name(), "arr_1");
    let err = npz.member("arr_2").unwrap_err();
    assert_eq!(err.kind().code(), "member_not_found");
    assert_eq!(err.to_string(), "no member named \"arr_2\"");
}

fn first_error(path: &Path) -> Option<Error> {
    let mut npz = match NpzReader::open(path) {
        Ok(n) => n,
        Err(e) => return Some(e),
    };
    let names: Vec<String> = npz.members().iter().map(|m| m.name().to_owned()).collect();
    names.iter().find_map(|n| npz.read(n).err())
}

#[test]
fn hostile_archives_give_their_specific_errors() {
    let mut messages = String::new();
    let mut checked = 0;
    for e in common::hostile() {
        let rel = e["path"].as_str().unwrap();
        if !rel.ends_with(".npz") {
            continue;
        }
        let expect = e["expect"].as_str().unwrap();
        let err = first_error(&common::testdata().join(rel))
            .unwrap_or_else(|| panic!("{rel}: expected {expect}, opened fine"));
        assert_eq!(err.kind().code(), expect, "{rel}: {err}");
        let shown = err.to_string();
        let shown = shown
            .split_once(".npz: ")
            .map_or(shown.as_str(), |(_, m)| m);
        messages.push_str(&format!("{rel}: {shown}\n"));
        checked += 1;
    }
    assert!(checked >= 8, "{checked}");
    insta::assert_snapshot!("hostile_npz_messages", messages);
}

#[test]
fn an_invalid_member_is_named_in_the_error() {
    let err = first_error(&common::testdata().join("hostile/bad_member.npz")).unwrap();
    assert_eq!(err.member(), Some("bad.npy"));
    let err = first_error(&common::testdata().join("hostile/bad_member_header.npz")).unwrap();
    assert_eq!(err.member(), Some("bad.npy"));
}

/// Returns a copy of a NumPy archive with one byte changed at `at`.
fn corrupted(rel: &str, at: impl Fn(&[u8]) -> usize) -> Vec<u8> {
    let mut bytes = std::fs::read(common::testdata().join(rel)).unwrap();
    let i = at(&bytes);
    bytes[i] ^= 0xff;
    bytes
}

#[test]
fn a_flipped_payload_byte_fails_the_checksum_when_read_not_when_listed() {
    let bytes = corrupted("npz/named.npz", |b| {
        let npz = NpzArchive::from_bytes(b).unwrap();
        npz.member("alpha").unwrap().payload_range().unwrap().start as usize + 3
    });
    let mut npz = NpzArchive::from_bytes(&bytes).unwrap();
    let err = npz.read("alpha").unwrap_err();
    assert_eq!(err.kind().code(), "zip", "{err}");
    assert!(err.to_string().contains("crc-32"), "{err}");
    assert_eq!(err.member(), Some("alpha.npy"));
    assert!(npz.read("beta").is_ok());
}

#[test]
fn truncated_archives_give_clear_errors_at_every_cut() {
    let bytes = std::fs::read(common::testdata().join("npz/compressed.npz")).unwrap();
    for cut in 0..bytes.len() {
        let short = &bytes[..cut];
        let Err(err) = NpzArchive::from_bytes(short).and_then(|mut a| {
            let names: Vec<String> = a.members().iter().map(|m| m.name().into()).collect();
            names.iter().try_for_each(|n| a.read(n).map(drop))
        }) else {
            panic!("cut at {cut} opened and read fine");
        };
        assert!(
            ["zip", "truncated"].contains(&err.kind().code()),
            "cut {cut}: {err}"
        );
    }
}

#[test]
fn every_single_byte_corruption_gives_a_result_not_a_panic() {
    // Each byte of a stored and a deflated NumPy archive, set to 0xff and to
    // 0x00 in turn: listing, reading and viewing either work or fail cleanly.
    for rel in ["npz/named.npz", "npz/compressed.npz"] {
        let good = std::fs::read(common::testdata().join(rel)).unwrap();
        for i in 0..good.len() {
            for v in [0xffu8, 0x00] {
                let mut bytes = good.clone();
                bytes[i] = v;
                let mut a = match NpzArchive::from_bytes(&bytes) {
                    Ok(a) => a,
                    Err(e) => {
                        // No zip-library internals (type names, Debug output).
                        let text = e.to_string();
                        for leak in ["Block", "Zip", "Custom {", "Os {", "kind:"] {
                            assert!(!text.contains(leak), "byte {i} = {v}: {text}");
                        }
                        continue;
                    }
                };
                let names: Vec<String> = a.members().iter().map(|m| m.name().into()).collect();
                for n in names {
                    let _ = a.member_bytes(&n);
                    let _ = a.payload(&n);
                    let _ = a.read(&n);
                }
            }
        }
    }
}

#[test]
fn written_archives_load_in_numpy_with_equal_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    // Nothing at the final path until finish.
    assert!(!path.exists());
    npz.add_stored("a", &header("<f8", &[2, 3]), &le_f64((0..6).map(f64::from)))
        .unwrap();
    npz.add_deflated("b", &header("<f8", &[4]), &le_f64([1.5, -2.0, 1e300, 0.0]))
        .unwrap();
    let big: Vec<u8> = (0..100_000u32)
        .flat_map(|i| (i % 7).to_le_bytes())
        .collect();
    npz.set_deflate_level(9).unwrap();
    npz.add("c", &header("<u4", &[100_000]), &big, Compression::Deflated)
        .unwrap();
    let be = Header {
        dtype: Dtype::from_descr(">i2").unwrap(),
        fortran_order: true,
        shape: vec![2, 2],
    };
    npz.add_stored("nested/d", &be, &[0, 1, 0, 2, 0, 3, 0, 4])
        .unwrap();
    npz.add_stored("e", &header("<f4", &[0]), &[]).unwrap();
    npz.finish().unwrap();
    let out = python(
        "import sys, numpy as np\n\
         z = np.load(sys.argv[1])\n\
         assert list(z.keys()) == ['a', 'b', 'c', 'nested/d', 'e'], list(z.keys())\n\
         assert (z['a'] == np.arange(6.0).reshape(2, 3)).all()\n\
         assert (z['b'] == np.array([1.5, -2.0, 1e300, 0.0])).all()\n\
         assert (z['c'] == np.arange(100000, dtype='<u4') % 7).all()\n\
         d = z['nested/d']\n\
         assert d.dtype == np.dtype('>i2') and d.flags.f_contiguous\n\
         assert (d == np.array([[1, 3], [2, 4]])).all(), d\n\
         assert z['e'].shape == (0,) and z['e'].dtype == np.float32\n\
         print('ok')",
        &[&path],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn written_stored_payloads_are_64_byte_aligned() {
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    // Names of every length shift the local header; alignment must hold.
    for i in 0..70 {
        let name = "n".repeat(i + 1);
        let h = header("<f8", &[i as u64]);
        npz.add_stored(&name, &h, &le_f64((0..i).map(|v| v as f64)))
            .unwrap();
        if i % 3 == 0 {
            npz.add_deflated(&format!("z{i}"), &h, &le_f64((0..i).map(|v| v as f64)))
                .unwrap();
        }
    }
    let bytes = npz.finish().unwrap().into_inner();
    let archive = NpzArchive::from_bytes(&bytes).unwrap();
    let mut stored = 0;
    for m in archive.members() {
        if let Some(r) = m.payload_range() {
            assert_eq!(r.start % 64, 0, "{}", m.file_name());
            assert_eq!(m.npy_range().unwrap().start % 64, 0);
            stored += 1;
        }
    }
    assert_eq!(stored, 70);
}

#[test]
fn numpy_reads_aligned_members_and_python_zipfile_sees_no_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("al.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add_stored("x", &header("<i8", &[3]), &[7u8; 24])
        .unwrap();
    npz.finish().unwrap();
    let out = python(
        "import sys, zipfile, numpy as np\n\
         zf = zipfile.ZipFile(sys.argv[1]); assert zf.testzip() is None\n\
         (zi,) = zf.infolist()\n\
         print(zi.filename, zi.compress_type, (zi.header_offset + 30 + len(zi.filename) + 0) <= 64)\n\
         print(np.load(sys.argv[1])['x'].tolist() == [0x0707070707070707] * 3)",
        &[&path],
    );
    assert_eq!(out, "x.npy 0 True\nTrue\n");
}

#[test]
fn numpy_archives_made_here_in_every_flavour_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // savez, savez_compressed, and savez to a non-seekable stream (members
    // then carry data descriptors instead of sizes in the local header).
    python(
        "import sys, io, os, numpy as np\n\
         d = sys.argv[1]\n\
         rng = np.random.default_rng(3)\n\
         a = rng.standard_normal((50, 7)); b = rng.integers(-9, 9, 1000).astype('>i8')\n\
         np.savez(os.path.join(d, 's.npz'), a=a, b=b)\n\
         np.savez_compressed(os.path.join(d, 'c.npz'), a=a, b=b)\n\
         class W(io.RawIOBase):\n\
         \x20   def __init__(s, f): s.f = f\n\
         \x20   def writable(s): return True\n\
         \x20   def write(s, x): return s.f.write(x)\n\
         with open(os.path.join(d, 'p.npz'), 'wb') as f: np.savez(W(f), a=a, b=b)\n\
         np.save(os.path.join(d, 'a.npy'), a); np.save(os.path.join(d, 'b.npy'), b)",
        &[d],
    );
    let want_a = std::fs::read(d.join("a.npy")).unwrap();
    let want_b = std::fs::read(d.join("b.npy")).unwrap();
    for name in ["s.npz", "c.npz", "p.npz"] {
        let mut npz = NpzReader::open(d.join(name)).unwrap();
        assert_eq!(npz.read("a").unwrap(), want_a, "{name}");
        assert_eq!(npz.read("b").unwrap(), want_b, "{name}");
    }
}

#[test]
fn writer_refuses_unsafe_and_duplicate_names_and_wrong_payloads() {
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    let h = header("<f8", &[2]);
    let p = le_f64([1.0, 2.0]);
    for bad in ["../x", "/abs", "C:x", "a\\b", ""] {
        let err = npz.add_stored(bad, &h, &p).unwrap_err();
        assert_eq!(err.kind().code(), "unsafe_name", "{bad:?}");
    }
    npz.add_stored("x", &h, &p).unwrap();
    let err = npz.add_deflated("x", &h, &p).unwrap_err();
    assert_eq!(err.kind().code(), "duplicate_member");
    let err = npz.add_stored("short", &h, &p[..8]).unwrap_err();
    assert_eq!(err.kind().code(), "payload_size", "{err}");
    assert_eq!(err.member(), Some("short.npy"));
    // An unfinished member poisons the writer instead of writing a bad archive.
    let err = npz.finish().unwrap_err();
    assert_eq!(err.kind().code(), "unsupported", "{err}");

    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    let err = npz
        .add_stored("long", &h, &le_f64([1.0, 2.0, 3.0]))
        .unwrap_err();
    assert_eq!(err.kind().code(), "payload_size");
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    assert_eq!(
        npz.set_deflate_level(0).unwrap_err().kind().code(),
        "unsupported"
    );
    let obj = header("|O", &[1]);
    assert_eq!(
        npz.add_stored("o", &obj, &[0; 8])
            .unwrap_err()
            .kind()
            .code(),
        "object_dtype"
    );
}

#[test]
fn streaming_writer_takes_the_payload_in_pieces() {
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    let h = header("<u1", &[1000]);
    let mut m = npz.start("s", &h, Compression::Deflated).unwrap();
    for chunk in (0..1000u32).map(|i| i as u8).collect::<Vec<_>>().chunks(33) {
        m.write_all(chunk).unwrap();
    }
    assert_eq!(m.remaining(), 0);
    m.finish().unwrap();
    let bytes = npz.finish().unwrap().into_inner();
    let mut archive = NpzArchive::from_bytes(&bytes).unwrap();
    let npy = archive.read("s").unwrap();
    let parsed = Header::parse(&npy).unwrap();
    let payload = &npy[parsed.data_offset as usize..];
    assert!(payload.iter().enumerate().all(|(i, &b)| b == i as u8));
}

#[test]
fn a_dropped_writer_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.npz");
    {
        let mut npz = NpzWriter::create(&path).unwrap();
        npz.add_stored("x", &header("<f8", &[1]), &le_f64([1.0]))
            .unwrap();
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn read_refuses_members_over_the_configured_limit() {
    let mut opts = npymap::npz::NpzOptions::default();
    opts.max_read_len = 100;
    let path = common::testdata().join("npz/named.npz");
    let mut npz = NpzReader::open_with(&path, opts).unwrap();
    let err = npz.read("alpha").unwrap_err();
    assert_eq!(err.kind().code(), "zip_limit");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: member \"alpha.npy\": member is 176 bytes, over the limit of 100 bytes",
            path.display()
        )
        .split_once(": ")
        .unwrap()
        .1
    );
    // Streaming is not limited: memory does not grow with the member.
    let mut n = 0;
    let mut r = npz.reader("alpha").unwrap();
    let mut buf = [0u8; 7];
    loop {
        match r.read(&mut buf).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    assert_eq!(n, 176);
}

/// Builds a zip64 archive holding one stored member of `payload_len` zero
/// bytes, sparse on disk: only headers are written, the payload is a hole.
fn sparse_zip64(path: &Path, payload_len: u64) -> u64 {
    use std::io::{Seek, SeekFrom};
    let hdr = header("|u1", &[payload_len]).to_bytes(None).unwrap();
    let npy_len = hdr.len() as u64 + payload_len;
    let mut crc = crc32fast_like::Crc::new();
    crc.update(&hdr);
    crc.zeros(payload_len);
    let crc = crc.finish();
    let name = b"big.npy";
    let mut f = std::fs::File::create(path).unwrap();
    let mut local = Vec::new();
    local.extend_from_slice(b"PK\x03\x04");
    local.extend_from_slice(&45u16.to_le_bytes()); // version needed
    local.extend_from_slice(&0u16.to_le_bytes()); // flags
    local.extend_from_slice(&0u16.to_le_bytes()); // stored
    local.extend_from_slice(&0u32.to_le_bytes()); // time/date
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&u32::MAX.to_le_bytes());
    local.extend_from_slice(&u32::MAX.to_le_bytes());
    local.extend_from_slice(&(name.len() as u16).to_le_bytes());
    local.extend_from_slice(&20u16.to_le_bytes());
    local.extend_from_slice(name);
    local.extend_from_slice(&1u16.to_le_bytes());
    local.extend_from_slice(&16u16.to_le_bytes());
    local.extend_from_slice(&npy_len.to_le_bytes());
    local.extend_from_slice(&npy_len.to_le_bytes());
    f.write_all(&local).unwrap();
    f.write_all(&hdr).unwrap();
    let cd_start = local.len() as u64 + npy_len;
    f.seek(SeekFrom::Start(cd_start)).unwrap();
    let mut cd = Vec::new();
    cd.extend_from_slice(b"PK\x01\x02");
    cd.extend_from_slice(&45u16.to_le_bytes()); // made by
    cd.extend_from_slice(&45u16.to_le_bytes()); // needed
    cd.extend_from_slice(&[0; 4]); // flags, method
    cd.extend_from_slice(&[0; 4]); // time, date
    cd.extend_from_slice(&crc.to_le_bytes());
    cd.extend_from_slice(&u32::MAX.to_le_bytes());
    cd.extend_from_slice(&u32::MAX.to_le_bytes());
    cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
    cd.extend_from_slice(&28u16.to_le_bytes()); // extra
    cd.extend_from_slice(&[0; 6]); // comment len, disk, internal attributes
    cd.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    cd.extend_from_slice(&u32::MAX.to_le_bytes()); // offset: in the zip64 field
    cd.extend_from_slice(name);
    cd.extend_from_slice(&1u16.to_le_bytes());
    cd.extend_from_slice(&24u16.to_le_bytes());
    cd.extend_from_slice(&npy_len.to_le_bytes());
    cd.extend_from_slice(&npy_len.to_le_bytes());
    cd.extend_from_slice(&0u64.to_le_bytes());
    let cd_len = cd.len() as u64;
    let eocd64_at = cd_start + cd_len;
    // zip64 end of central directory record + locator + classic EOCD.
    cd.extend_from_slice(b"PK\x06\x06");
    cd.extend_from_slice(&44u64.to_le_bytes());
    cd.extend_from_slice(&45u16.to_le_bytes());
    cd.extend_from_slice(&45u16.to_le_bytes());
    cd.extend_from_slice(&[0; 8]); // disk numbers
    cd.extend_from_slice(&1u64.to_le_bytes());
    cd.extend_from_slice(&1u64.to_le_bytes());
    cd.extend_from_slice(&cd_len.to_le_bytes());
    cd.extend_from_slice(&cd_start.to_le_bytes());
    cd.extend_from_slice(b"PK\x06\x07");
    cd.extend_from_slice(&0u32.to_le_bytes());
    cd.extend_from_slice(&eocd64_at.to_le_bytes());
    cd.extend_from_slice(&1u32.to_le_bytes());
    cd.extend_from_slice(b"PK\x05\x06");
    cd.extend_from_slice(&[0; 4]);
    cd.extend_from_slice(&u16::MAX.to_le_bytes());
    cd.extend_from_slice(&u16::MAX.to_le_bytes());
    cd.extend_from_slice(&u32::MAX.to_le_bytes());
    cd.extend_from_slice(&u32::MAX.to_le_bytes());
    cd.extend_from_slice(&0u16.to_le_bytes());
    f.write_all(&cd).unwrap();
    local.len() as u64
}

/// CRC-32 of a header followed by many zero bytes, fast enough for 4 GiB.
mod crc32fast_like {
    pub struct Crc(crc32fast::Hasher);
    impl Crc {
        pub fn new() -> Self {
            Crc(crc32fast::Hasher::new())
        }
        pub fn update(&mut self, b: &[u8]) {
            self.0.update(b);
        }
        pub fn zeros(&mut self, mut n: u64) {
            let z = vec![0u8; 1 << 20];
            while n > 0 {
                let k = n.min(z.len() as u64) as usize;
                self.0.update(&z[..k]);
                n -= k as u64;
            }
        }
        pub fn finish(self) -> u32 {
            self.0.finalize()
        }
    }
}

/// Needs about 4.2 GiB of free disk (sparse where the file system allows)
/// and a minute. Run with:
/// `cargo test --release --test npz -- --ignored zip64`
#[test]
#[ignore = "writes > 4 GiB; run: cargo test --release --test npz -- --ignored zip64"]
fn zip64_members_over_4_gib_open_read_and_map() {
    let dir = tempfile::tempdir().unwrap();
    let payload_len = (4u64 << 30) + 4096;

    // Reading: a NumPy-layout member > 4 GiB (zip64 sizes in both headers).
    let path = dir.path().join("sparse.npz");
    let local_len = sparse_zip64(&path, payload_len);
    let mut npz = NpzReader::open(&path).unwrap();
    let m = npz.member("big").unwrap().clone();
    assert_eq!(m.header().header.shape, [payload_len]);
    let range = npz.member_range("big").unwrap();
    assert_eq!(range.start, local_len);
    assert_eq!(range.end - range.start, m.npy_len());
    let mut n = 0u64;
    std::io::copy(&mut npz.reader("big").unwrap(), &mut CountingSink(&mut n)).unwrap();
    assert_eq!(n, m.npy_len());

    // Writing: a > 4 GiB member and an archive that ends past 4 GiB, read by
    // NumPy (only the shape and the last element, to stay quick).
    let out = dir.path().join("written.npz");
    let mut w = NpzWriter::create(&out).unwrap();
    w.add_stored("small", &header("<f8", &[2]), &le_f64([1.0, 2.0]))
        .unwrap();
    let h = header("|u1", &[payload_len]);
    let mut mw = w.start("big", &h, Compression::Stored).unwrap();
    let chunk = vec![1u8; 1 << 20];
    while mw.remaining() > 0 {
        let k = mw.remaining().min(chunk.len() as u64) as usize;
        mw.write_all(&chunk[..k]).unwrap();
    }
    mw.finish().unwrap();
    w.add_stored("after", &header("<f8", &[1]), &le_f64([3.0]))
        .unwrap();
    w.finish().unwrap();
    let npz = NpzReader::open(&out).unwrap();
    assert!(npz.member_range("after").unwrap().start > u32::MAX as u64);
    assert_eq!(
        npz.member("big").unwrap().payload_range().unwrap().start % 64,
        0
    );
    let got = python(
        "import sys, numpy as np\n\
         z = np.load(sys.argv[1], mmap_mode='r')\n\
         print(z['small'].tolist(), z['after'].tolist())",
        &[&out],
    );
    assert_eq!(got.trim(), "[1.0, 2.0] [3.0]");
}

struct CountingSink<'a>(&'a mut u64);
impl Write for CountingSink<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        *self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---- Archives read as Python's zipfile reads them, or refused (issue 11 §5) ----

#[path = "support/zipbuild.rs"]
mod zipbuild;

use zipbuild::{Entry, archive, deflate, eocd, npy_i8};

/// What `np.load` makes of the archive: its keys (as JSON), or `error: TYPE`.
fn numpy_keys(path: &Path) -> String {
    python(
        "import sys, json, numpy as np\n\
         try:\n\
         \x20   z = np.load(sys.argv[1])\n\
         \x20   for k in z.files: z[k]\n\
         \x20   print(json.dumps(z.files, ensure_ascii=False))\n\
         except Exception as e: print('error:', type(e).__name__)",
        &[path],
    )
}

fn open_bytes(bytes: &[u8]) -> Result<Vec<String>, Error> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.npz");
    std::fs::write(&p, bytes).unwrap();
    NpzReader::open(&p).map(|n| n.members().iter().map(|m| m.name().to_owned()).collect())
}

fn keys_and_numpy(bytes: &[u8]) -> (Result<Vec<String>, Error>, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.npz");
    std::fs::write(&p, bytes).unwrap();
    let ours =
        NpzReader::open(&p).map(|n| n.members().iter().map(|m| m.name().to_owned()).collect());
    (ours, numpy_keys(&p))
}

#[test]
fn overlapping_entries_are_refused_as_numpy_refuses_them() {
    // 40 central entries with distinct names, all pointing at one deflated
    // member: the findings' 37,000:1 amplification.
    let a = npy_i8(&vec![0; 1 << 16]);
    let comp = deflate(&a);
    let first = Entry::deflated("m0.npy", &a, &comp);
    let mut bytes = first.local();
    bytes.extend_from_slice(&comp);
    let mut cd = Vec::new();
    for i in 0..40 {
        let mut e = first.clone();
        e.name = format!("m{i}.npy").into_bytes();
        cd.extend_from_slice(&e.central(0));
    }
    let cd_off = bytes.len() as u32;
    bytes.extend_from_slice(&cd);
    bytes.extend_from_slice(&eocd(40, cd.len() as u32, cd_off));
    let (ours, numpy) = keys_and_numpy(&bytes);
    assert_eq!(numpy, "error: BadZipFile\n");
    let err = ours.unwrap_err();
    assert_eq!(err.kind().code(), "zip", "{err}");
    // Refused for the first disagreement found: m1's local header is m0's.
    assert!(err.to_string().contains("names it \"m0.npy\""), "{err}");

    // Entries whose data runs into the next local header, with the names
    // matching: refused as overlapping too.
    let b = npy_i8(&[1, 2, 3]);
    let mut e0 = Entry::stored("a.npy", &b);
    let e1 = Entry::stored("b.npy", &b);
    let mut good = archive(&[(e0.clone(), b.clone()), (e1.clone(), b.clone())]);
    assert_eq!(open_bytes(&good).unwrap(), ["a", "b"]);
    let grown = good.clone();
    // Grow a.npy's declared size by 8 in both headers so that its data
    // takes in the start of b's local header.
    e0.csize += 8;
    e0.usize += 8;
    let l0 = e0.local();
    good[..l0.len()].copy_from_slice(&l0);
    let cd_start = good.len() - 22 - (46 + 5) * 2;
    good[cd_start..cd_start + 46 + 5].copy_from_slice(&e0.central(0));
    let (ours, numpy) = keys_and_numpy(&good);
    assert_eq!(numpy, "error: BadZipFile\n");
    let err = ours.unwrap_err();
    assert_eq!(err.kind().code(), "zip", "{err}");
    assert_eq!(err.member(), Some("a.npy"));
    assert!(
        err.to_string()
            .contains("overlaps the local header of member \"b.npy\""),
        "{err}"
    );
    // The last member's data running into the central directory.
    let mut last = grown;
    let e1_at = e0.local().len() + b.len();
    let mut e1 = e1;
    e1.csize += 8;
    e1.usize += 8;
    last[e1_at..e1_at + 30 + 5].copy_from_slice(&e1.local());
    let cd_start = last.len() - 22 - 51;
    last[cd_start..cd_start + 51].copy_from_slice(&e1.central(e1_at as u32));
    let err = open_bytes(&last).unwrap_err();
    assert!(
        err.to_string().contains("overlaps the central directory"),
        "{err}"
    );
}

#[test]
fn a_local_header_that_disagrees_with_the_central_directory_is_refused() {
    let a = npy_i8(&[1, 2, 3]);
    let central = Entry::stored("a.npy", &a);
    let build = |local: &Entry| {
        let mut bytes = local.local();
        bytes.extend_from_slice(&a);
        let cd = central.central(0);
        let off = bytes.len() as u32;
        bytes.extend_from_slice(&cd);
        bytes.extend_from_slice(&eocd(1, cd.len() as u32, off));
        bytes
    };
    assert_eq!(open_bytes(&build(&central)).unwrap(), ["a"]);
    // Another name (NumPy: "File name in directory ... and header ... differ").
    let mut other = central.clone();
    other.name = b"../x.npy".to_vec();
    let (ours, numpy) = keys_and_numpy(&build(&other));
    assert_eq!(numpy, "error: BadZipFile\n");
    let err = ours.unwrap_err();
    assert_eq!(err.kind().code(), "zip");
    assert_eq!(err.member(), Some("a.npy"));
    assert!(err.to_string().contains("local header"), "{err}");
    // Another method, and another size.
    let mut method = central.clone();
    method.method = 8;
    let err = open_bytes(&build(&method)).unwrap_err();
    assert!(err.to_string().contains("method"), "{err}");
    let mut size = central.clone();
    size.csize += 1;
    size.usize += 1;
    let err = open_bytes(&build(&size)).unwrap_err();
    assert!(err.to_string().contains("size"), "{err}");
    // A data descriptor (flag bit 3) legitimately leaves the local sizes 0.
    let mut dd = central.clone();
    dd.flags = 8;
    dd.crc = 0;
    dd.csize = 0;
    dd.usize = 0;
    assert_eq!(open_bytes(&build(&dd)).unwrap(), ["a"]);
}

#[test]
fn an_end_record_that_disagrees_with_the_directory_is_refused() {
    let (a, b) = (npy_i8(&[1, 2, 3]), npy_i8(&[4]));
    let good = archive(&[
        (Entry::stored("a.npy", &a), a.clone()),
        (Entry::stored("b.npy", &b), b.clone()),
    ]);
    let n = good.len();
    let end = n - 22;
    let cd_len = u32::from_le_bytes(good[end + 12..end + 16].try_into().unwrap());
    let cd_off = u32::from_le_bytes(good[end + 16..end + 20].try_into().unwrap());
    assert_eq!(open_bytes(&good).unwrap(), ["a", "b"]);

    // The record says 1 entry; the directory holds 2 (a member hidden from
    // info and unpack that np.load sees).
    let mut hidden = good.clone();
    hidden[end..].copy_from_slice(&eocd(1, cd_len, cd_off));
    let (ours, numpy) = keys_and_numpy(&hidden);
    assert_eq!(numpy, "[\"a\", \"b\"]\n");
    let err = ours.unwrap_err();
    assert_eq!(err.kind().code(), "zip", "{err}");
    assert!(
        err.to_string().contains("end of central directory record"),
        "{err}"
    );
    assert!(err.to_string().contains("1 entr"), "{err}");

    // Three entries declared for two.
    let mut more = good.clone();
    more[end..].copy_from_slice(&eocd(3, cd_len, cd_off));
    let err = open_bytes(&more).unwrap_err();
    assert!(
        err.to_string().contains("end of central directory record"),
        "{err}"
    );

    // A directory size or offset that runs past the file, or that is not
    // where the directory is.
    for (len, off) in [
        (cd_len + 1000, cd_off),
        (cd_len, cd_off + 1000),
        (cd_len, cd_off - 1),
        (cd_len - 1, cd_off),
        (u32::MAX, u32::MAX),
    ] {
        let mut bad = good.clone();
        bad[end..].copy_from_slice(&eocd(2, len, off));
        let err = open_bytes(&bad).unwrap_err();
        assert_eq!(err.kind().code(), "zip", "{len} {off}: {err}");
        assert!(
            err.to_string().contains("end of central directory record"),
            "{len} {off}: {err}"
        );
    }
}

#[test]
fn names_decode_as_zipfile_decodes_them_so_keys_equal_np_load_files() {
    let a = npy_i8(&[7]);
    // UTF-8 bytes without the UTF-8 flag: cp437 to zipfile; with the flag: UTF-8.
    let mut plain = Entry::stored("é.npy", &a);
    let mut flagged = Entry::stored("ü.npy", &a);
    flagged.flags = 1 << 11;
    let mut high = Entry::stored("x.npy", &a);
    high.name = b"\x80\xff\xe1.npy".to_vec();
    let bytes = archive(&[
        (plain.clone(), a.clone()),
        (flagged, a.clone()),
        (high, a.clone()),
    ]);
    let (ours, numpy) = keys_and_numpy(&bytes);
    let ours = ours.unwrap();
    assert_eq!(numpy, "[\"├⌐\", \"ü\", \"Ç\u{a0}ß\"]\n");
    assert_eq!(
        serde_json::to_string(&ours).unwrap().replace(',', ", ") + "\n",
        numpy
    );
    // Flagged UTF-8 but not UTF-8: NumPy refuses, so do we.
    plain.flags = 1 << 11;
    plain.name = b"\xff.npy".to_vec();
    let (ours, numpy) = keys_and_numpy(&archive(&[(plain, a.clone())]));
    assert_eq!(numpy, "error: UnicodeDecodeError\n");
    let err = ours.unwrap_err();
    assert_eq!(err.kind().code(), "zip", "{err}");
    assert!(err.to_string().contains("utf-8"), "{err}");
}

#[test]
fn many_entries_list_quickly() {
    // 65,535 one-element members (the most a plain end record counts).
    let a = npy_i8(&[1]);
    let members: Vec<(Entry, Vec<u8>)> = (0..65_535)
        .map(|i| (Entry::stored(&format!("k{i}.npy"), &a), a.clone()))
        .collect();
    let bytes = archive(&members);
    let t = std::time::Instant::now();
    let npz = NpzArchive::from_bytes(&bytes).unwrap();
    assert_eq!(npz.members().len(), 65_535);
    assert_eq!(npz.members()[65_534].name(), "k65534");
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
}

#[test]
fn archives_written_by_the_zip_command_still_open() {
    // Info-ZIP writes sizes in local headers to a file, and data
    // descriptors (flag bit 3, zero local sizes) to a pipe.
    if std::process::Command::new("zip")
        .arg("-v")
        .output()
        .is_err()
    {
        println!("skipped: the zip command is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import sys, os, numpy as np\n\
         np.save(os.path.join(sys.argv[1], 'a.npy'), np.arange(500))\n\
         np.save(os.path.join(sys.argv[1], 'b.npy'), np.ones((3, 2), '>f4'))",
        &[d],
    );
    let sh = |cmd: &str| {
        let st = std::process::Command::new("sh")
            .args(["-c", cmd])
            .current_dir(d)
            .status()
            .unwrap();
        assert!(st.success(), "{cmd}");
    };
    sh("zip -q file.npz a.npy b.npy");
    sh("zip -q - a.npy b.npy | cat > piped.npz");
    let piped = std::fs::read(d.join("piped.npz")).unwrap();
    assert_ne!(piped[6] & 8, 0, "the piped archive has a data descriptor");
    for name in ["file.npz", "piped.npz"] {
        let mut npz = NpzReader::open(d.join(name)).unwrap();
        assert_eq!(numpy_keys(&d.join(name)), "[\"a\", \"b\"]\n");
        for k in ["a", "b"] {
            let want = std::fs::read(d.join(format!("{k}.npy"))).unwrap();
            assert_eq!(npz.read(k).unwrap(), want, "{name} {k}");
        }
    }
}

#[test]
fn unpack_with_sync_off_writes_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let written = npymap::npz::unpack_with(
        &common::testdata().join("npz/named.npz"),
        &out,
        npymap::npz::UnpackOptions::default().sync(false),
    )
    .unwrap();
    assert_eq!(written.len(), 3);
    let mut npz = NpzReader::open(common::testdata().join("npz/named.npz")).unwrap();
    for name in ["alpha", "beta", "gamma"] {
        let got = std::fs::read(out.join(format!("{name}.npy"))).unwrap();
        assert_eq!(got, npz.read(name).unwrap(), "{name}");
    }
}
