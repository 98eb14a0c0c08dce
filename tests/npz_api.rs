//! The typed npz API: NumPy-made archives read into `Array<T>` with the
//! values NumPy wrote, `add_array` archives load in NumPy, and hostile
//! archives give errors (never panics) through the typed calls.

mod common;

use std::path::Path;

use npymap::mmap::NpzMap;
use npymap::npz::{Compression, NpzArchive, NpzReader, NpzWriter};
use num_complex::Complex;

fn python(script: &str, args: &[&Path]) -> String {
    common::cli::python_args(script, Path::new("."), args)
}

/// One archive per `savez` flavour with the awkward members: big-endian,
/// F order, bool, complex, 0-d.
fn numpy_archive(dir: &Path, compressed: bool) -> std::path::PathBuf {
    let path = dir.join(if compressed { "c.npz" } else { "s.npz" });
    let func = if compressed {
        "savez_compressed"
    } else {
        "savez"
    };
    python(
        &format!(
            "import sys, numpy as np\n\
             np.{func}(sys.argv[1],\n\
               le=np.arange(6, dtype='<i4').reshape(2, 3) - 2,\n\
               be=np.array([1.5, -2.25, 1e300], dtype='>f8'),\n\
               fo=np.asfortranarray(np.arange(6, dtype='<i2').reshape(2, 3)),\n\
               flags=np.array([True, False, True]),\n\
               z=np.array([1+2j, -3.5-0.5j], dtype='>c16'),\n\
               scalar=np.float32(7.25))\n"
        ),
        &[&path],
    );
    path
}

fn check_typed_reads(path: &Path) {
    let mut npz = NpzReader::open(path).unwrap();
    let le = npz.read_array::<i32>("le").unwrap();
    assert_eq!(le.shape(), [2, 3]);
    assert_eq!(le.as_slice(), [-2, -1, 0, 1, 2, 3]);
    assert!(!le.fortran_order());

    let be = npz.read_array::<f64>("be").unwrap();
    assert_eq!(be.as_slice(), [1.5, -2.25, 1e300]);

    let fo = npz.read_array::<i16>("fo").unwrap();
    assert!(fo.fortran_order());
    assert_eq!(fo.shape(), [2, 3]);
    // Storage order is column-major: [[0,1,2],[3,4,5]] -> 0,3,1,4,2,5.
    assert_eq!(fo.as_slice(), [0, 3, 1, 4, 2, 5]);
    assert_eq!(fo.get(&[1, 2]), Some(&5));

    let flags = npz.read_array::<bool>("flags").unwrap();
    assert_eq!(flags.as_slice(), [true, false, true]);

    let z = npz.read_array::<Complex<f64>>("z").unwrap();
    assert_eq!(
        z.as_slice(),
        [Complex::new(1.0, 2.0), Complex::new(-3.5, -0.5)]
    );

    let scalar = npz.read_array::<f32>("scalar.npy").unwrap();
    assert_eq!(scalar.shape(), [] as [usize; 0]);
    assert_eq!(scalar.as_slice(), [7.25]);

    // A wrong type is refused with the member named.
    let err = npz.read_array::<f32>("le").unwrap_err();
    assert_eq!(err.kind().code(), "dtype_mismatch", "{err}");
    assert!(err.to_string().contains("le.npy"), "{err}");
    let err = npz.read_array::<i32>("missing").unwrap_err();
    assert_eq!(err.kind().code(), "member_not_found", "{err}");
}

#[test]
fn savez_members_read_typed_by_value() {
    let dir = tempfile::tempdir().unwrap();
    check_typed_reads(&numpy_archive(dir.path(), false));
}

#[test]
fn savez_compressed_members_read_typed_by_value() {
    let dir = tempfile::tempdir().unwrap();
    check_typed_reads(&numpy_archive(dir.path(), true));
}

#[test]
fn archive_in_memory_reads_typed() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(numpy_archive(dir.path(), false)).unwrap();
    let mut npz = NpzArchive::from_bytes(&bytes).unwrap();
    assert_eq!(
        npz.read_array::<i32>("le").unwrap().as_slice(),
        [-2, -1, 0, 1, 2, 3]
    );
    let all = npz.read_all().unwrap();
    assert_eq!(
        all["be"].to_array::<f64>().unwrap().as_slice(),
        [1.5, -2.25, 1e300]
    );
}

#[test]
fn add_array_archives_load_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    w.add_array(
        "a",
        &[2, 3],
        &[1.0f64, 2.0, 3.0, 4.0, 5.0, -6.5],
        Compression::Stored,
    )
    .unwrap();
    w.add_array("b", &[3], &[true, false, true], Compression::Deflated)
        .unwrap();
    w.add_array("s", &[], &[42u16], Compression::Stored)
        .unwrap();
    let f = npymap::array::Array::from_vec_fortran(vec![2, 2], vec![1i64, 2, 3, 4]).unwrap();
    w.add_owned("f", &f, Compression::Deflated).unwrap();
    // Length disagreeing with the shape is refused and leaves nothing.
    let err = w
        .add_array("bad", &[4], &[1u8, 2], Compression::Stored)
        .unwrap_err();
    assert_eq!(err.kind().code(), "payload_size", "{err}");
    w.finish().unwrap();

    let out = python(
        "import sys, numpy as np\n\
         z = np.load(sys.argv[1])\n\
         assert sorted(z.files) == ['a', 'b', 'f', 's'], z.files\n\
         assert z['a'].dtype == np.float64 and z['a'].tolist() == [[1, 2, 3], [4, 5, -6.5]]\n\
         assert z['b'].dtype == np.bool_ and z['b'].tolist() == [True, False, True]\n\
         assert z['s'].shape == () and z['s'].dtype == np.uint16 and int(z['s']) == 42\n\
         assert z['f'].flags.f_contiguous and z['f'].tolist() == [[1, 3], [2, 4]]\n\
         print('ok')\n",
        &[&path],
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn hostile_archives_give_errors_through_typed_reads() {
    let dir = common::testdata().join("hostile");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("npz") {
            continue;
        }
        seen += 1;
        let Ok(mut npz) = NpzReader::open(&path) else {
            continue;
        };
        let names: Vec<String> = npz.members().iter().map(|m| m.name().to_owned()).collect();
        let mut failed = false;
        for name in names {
            failed |= npz.read_array::<f64>(&name).is_err();
            failed |= npz.read_array::<u8>(&name).is_err();
        }
        assert!(failed, "{} read cleanly", path.display());
    }
    assert!(seen >= 8, "only {seen} hostile archives");
}

/// 13.7: a member's `Misaligned` error gives the payload's offset in the
/// archive, not the (aligned) offset 128 inside the member.
#[test]
fn misaligned_member_error_names_archive_offset() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(numpy_archive(dir.path(), false)).unwrap();
    let le_start = NpzArchive::from_bytes(&bytes)
        .unwrap()
        .member("le")
        .unwrap()
        .payload_range()
        .unwrap()
        .start;
    // Place the archive in an 8-aligned buffer at a shift that leaves the
    // `<i4` payload off a 4-byte boundary, whatever NumPy's zip layout.
    let shift = if (le_start + 1).is_multiple_of(4) {
        2
    } else {
        1
    };
    let mut words = vec![0u64; (bytes.len() + shift).div_ceil(8)];
    let buf: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    buf[shift..shift + bytes.len()].copy_from_slice(&bytes);
    let npz = NpzArchive::from_bytes(&buf[shift..shift + bytes.len()]).unwrap();
    // The element view reads any member in place (swapped from big-endian).
    assert_eq!(
        npz.view("be").unwrap().to_vec::<f64>().unwrap(),
        [1.5, -2.25, 1e300]
    );
    let le = npz.view("le").unwrap();
    assert_eq!(le.to_vec::<i32>().unwrap(), [-2, -1, 0, 1, 2, 3]);
    let err = le.as_slice::<i32>().unwrap_err();
    assert_eq!(err.kind().code(), "misaligned", "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("at offset {le_start}")), "{msg}");
    assert!(!msg.contains("offset 128"), "{msg}");
    // Deflated members cannot be viewed in place.
    let cbytes = std::fs::read(numpy_archive(dir.path(), true)).unwrap();
    let c = NpzArchive::from_bytes(&cbytes).unwrap();
    let err = c.view("le").unwrap_err();
    assert_eq!(err.kind().code(), "not_stored", "{err}");
}

/// `NpzMap`: zero-copy views of stored members (portable element view at
/// NumPy's unaligned offsets, plain slices of npymap's aligned members),
/// typed reads of any member, and a deflated member refused by name.
#[test]
fn npz_map_views_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = numpy_archive(dir.path(), false);
    // SAFETY: the archive is private to this test and not modified.
    let npz = unsafe { NpzMap::open(&path) }.unwrap();
    let names: Vec<&str> = npz.members().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["le", "be", "fo", "flags", "z", "scalar"]);
    assert_eq!(
        npz.elements::<f64>("be").unwrap().to_vec(),
        [1.5, -2.25, 1e300]
    );
    assert_eq!(
        npz.view("le").unwrap().to_vec::<i32>().unwrap(),
        [-2, -1, 0, 1, 2, 3]
    );
    // The view borrows the map: its payload is the archive's own bytes.
    let range = npz.member("le").unwrap().payload_range().unwrap();
    let payload = npz.view("le").unwrap().payload().as_ptr();
    assert_eq!(
        payload,
        npz.bytes()[range.start as usize..].as_ptr(),
        "not zero-copy"
    );
    let fo = npz.read_array::<i16>("fo").unwrap();
    assert!(fo.fortran_order());
    assert_eq!(fo.as_slice(), [0, 3, 1, 4, 2, 5]);
    assert_eq!(
        npz.read_array::<bool>("flags").unwrap().as_slice(),
        [true, false, true]
    );
    let err = npz.elements::<f32>("le").unwrap_err();
    assert_eq!(err.kind().code(), "dtype_mismatch", "{err}");
    assert!(err.to_string().contains("le.npy"), "{err}");

    // Deflated members: no view, a clear error; a typed read works.
    let cpath = numpy_archive(dir.path(), true);
    // SAFETY: as above.
    let c = unsafe { NpzMap::open(&cpath) }.unwrap();
    let err = c.view("be").unwrap_err();
    assert_eq!(err.kind().code(), "not_stored", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("be.npy") && msg.contains("read_array"),
        "{msg}"
    );
    assert!(c.as_slice::<f64>("be").is_err());
    assert_eq!(
        c.read_array::<f64>("be").unwrap().as_slice(),
        [1.5, -2.25, 1e300]
    );
    let all = c.read_all().unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(
        all["fo"].to_array::<i16>().unwrap().as_slice(),
        [0, 3, 1, 4, 2, 5]
    );

    // npymap's own stored members are 64-byte aligned: plain slices.
    let wpath = dir.path().join("aligned.npz");
    let mut w = NpzWriter::create(&wpath).unwrap();
    let values: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.5).collect();
    w.add_array("v", &[10, 100], &values, Compression::Stored)
        .unwrap();
    w.add_array("w", &[3], &[7u32, 8, 9], Compression::Stored)
        .unwrap();
    w.finish().unwrap();
    // SAFETY: as above.
    let a = unsafe { NpzMap::open(&wpath) }.unwrap();
    assert_eq!(a.as_slice::<f64>("v").unwrap(), values.as_slice());
    assert_eq!(a.as_slice::<u32>("w").unwrap(), [7, 8, 9]);
    assert_eq!(a.view("v").unwrap().shape(), [10, 100]);
    let err = a.as_slice::<f64>("nope").unwrap_err();
    assert_eq!(err.kind().code(), "member_not_found", "{err}");
}

/// A typed read checks the CRC-32 on the way (a view does not), for a
/// member large enough to be read in several pieces.
#[test]
fn typed_read_checks_crc_of_big_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npz");
    let cpath = dir.path().join("bigc.npz");
    python(
        "import sys, numpy as np\n\
         a = np.arange(700_000, dtype='<f8') * 0.25\n\
         b = (np.arange(300_001, dtype='>i4') * 7 - 5)\n\
         np.savez(sys.argv[1], a=a, b=b)\n\
         np.savez_compressed(sys.argv[2], a=a, b=b)\n",
        &[&path, &cpath],
    );
    let want_a: Vec<f64> = (0..700_000).map(|i| f64::from(i) * 0.25).collect();
    let want_b: Vec<i32> = (0..300_001).map(|i| i * 7 - 5).collect();
    for p in [&path, &cpath] {
        let mut npz = NpzReader::open(p).unwrap();
        assert_eq!(npz.read_array::<f64>("a").unwrap().as_slice(), want_a);
        assert_eq!(npz.read_array::<i32>("b").unwrap().as_slice(), want_b);
    }

    // One payload byte flipped in the stored archive: the view reads it
    // (no checksum), the typed reads refuse it.
    let mut bytes = std::fs::read(&path).unwrap();
    let range = NpzArchive::from_bytes(&bytes)
        .unwrap()
        .member("a")
        .unwrap()
        .payload_range()
        .unwrap();
    let at = (range.start + 5_000_000) as usize;
    bytes[at] ^= 0x40;
    let bad = dir.path().join("bad.npz");
    std::fs::write(&bad, &bytes).unwrap();
    let mut npz = NpzReader::open(&bad).unwrap();
    let err = npz.read_array::<f64>("a").unwrap_err();
    assert_eq!(err.kind().code(), "zip", "{err}");
    assert!(err.to_string().contains("crc-32"), "{err}");
    assert!(err.to_string().contains("a.npy"), "{err}");
    // The other member is intact.
    assert_eq!(npz.read_array::<i32>("b").unwrap().as_slice(), want_b);
    // SAFETY: private to this test.
    let map = unsafe { NpzMap::open(&bad) }.unwrap();
    assert_eq!(
        map.view("a").unwrap().to_vec::<f64>().unwrap().len(),
        700_000
    );
    assert_eq!(map.read_array::<f64>("a").unwrap_err().kind().code(), "zip");
    assert!(npymap::npz::read_all(&bad).is_err());
}

/// Text, bytes and dates read typed from NumPy's archives.
#[test]
fn typed_reads_of_text_bytes_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.npz");
    python(
        "import sys, numpy as np\n\
         np.savez_compressed(sys.argv[1],\n\
           u=np.array(['ab', 'é', '']),\n\
           s=np.array([b'x', b'yz\\x00']),\n\
           d=np.array(['2024-01-02', 'NaT'], dtype='>M8[D]'))\n",
        &[&path],
    );
    let mut npz = NpzReader::open(&path).unwrap();
    assert_eq!(
        npz.read_array::<String>("u").unwrap().as_slice(),
        ["ab", "é", ""]
    );
    assert_eq!(
        npz.read_array::<Vec<u8>>("s").unwrap().into_vec(),
        [b"x".to_vec(), b"yz".to_vec()]
    );
    let d = npz
        .read_array::<npymap::DateTime64>("d")
        .unwrap()
        .into_vec();
    assert_eq!(d[0].get(), Some(19724));
    assert_eq!(d[0].unit, npymap::TimeUnit::Days);
    assert!(d[1].is_nat());
    let err = npz.read_array::<String>("s").unwrap_err();
    assert_eq!(err.kind().code(), "dtype_mismatch", "{err}");
}

/// `read_all` is `dict(np.load(f))`: every member, values as NumPy reads
/// them, typed accessors checked; limits and object members refused.
#[test]
fn read_all_matches_numpy() {
    let dir = tempfile::tempdir().unwrap();
    for compressed in [false, true] {
        let path = numpy_archive(dir.path(), compressed);
        let all = npymap::npz::read_all(&path).unwrap();
        let keys: Vec<&str> = all.keys().map(String::as_str).collect();
        assert_eq!(keys, ["be", "flags", "fo", "le", "scalar", "z"]);
        let le = &all["le"];
        assert_eq!(le.shape(), [2, 3]);
        assert_eq!(le.as_slice::<i32>().unwrap(), [-2, -1, 0, 1, 2, 3]);
        assert_eq!(le.to_array::<i32>().unwrap().shape(), [2, 3]);
        let be = &all["be"];
        assert_eq!(be.dtype().descr(), "'>f8'");
        // Big-endian: no plain slice on this machine, an owned swapped copy.
        let err = be.as_slice::<f64>().unwrap_err();
        assert_eq!(err.kind().code(), "byte_order_mismatch", "{err}");
        assert_eq!(
            be.to_array::<f64>().unwrap().as_slice(),
            [1.5, -2.25, 1e300]
        );
        assert!(all["fo"].fortran_order());
        assert_eq!(all["fo"].to_array::<i16>().unwrap().get(&[1, 2]), Some(&5));
        assert_eq!(
            all["flags"].as_slice::<bool>().unwrap(),
            [true, false, true]
        );
        assert_eq!(
            all["z"].to_array::<Complex<f64>>().unwrap().as_slice(),
            [Complex::new(1.0, 2.0), Complex::new(-3.5, -0.5)]
        );
        assert_eq!(all["scalar"].as_slice::<f32>().unwrap(), [7.25]);
        assert_eq!(all["scalar"].payload(), 7.25f32.to_le_bytes());
        let err = all["le"].as_slice::<f64>().unwrap_err();
        assert_eq!(err.kind().code(), "dtype_mismatch", "{err}");

        // The members together may not pass max_read_len.
        let mut opts = npymap::npz::NpzOptions::default();
        opts.max_read_len = 100;
        let err = npymap::npz::read_all_with(&path, opts).unwrap_err();
        assert_eq!(err.kind().code(), "zip_limit", "{err}");
    }
    let opath = dir.path().join("o.npz");
    python(
        "import sys, numpy as np\n\
         np.savez(sys.argv[1], a=np.arange(3), o=np.array([1, 'x'], dtype=object))\n",
        &[&opath],
    );
    let err = npymap::npz::read_all(&opath).unwrap_err();
    assert_eq!(err.kind().code(), "object_dtype", "{err}");
    assert!(err.to_string().contains("o.npy"), "{err}");
}

/// `add_ndarray` stores every layout as `np.savez` does: C as is, F with
/// fortran_order, other views as their C-order copy.
#[cfg(feature = "ndarray")]
#[test]
fn add_ndarray_layouts_load_in_numpy() {
    use ndarray::{Array2, s};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nd.npz");
    let a = Array2::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as f32);
    let mut w = NpzWriter::create(&path).unwrap();
    w.add_ndarray("c", &a, Compression::Stored).unwrap();
    w.add_ndarray("f", &a.t(), Compression::Deflated).unwrap();
    w.add_ndarray("strided", &a.slice(s![..;2, 1..;2]), Compression::Stored)
        .unwrap();
    w.add_ndarray("reversed", &a.slice(s![..;-1, ..]), Compression::Deflated)
        .unwrap();
    w.add_ndarray("d", &ndarray::arr0(3i64), Compression::Stored)
        .unwrap();
    w.finish().unwrap();
    let out = python(
        "import sys, numpy as np\n\
         z = np.load(sys.argv[1])\n\
         a = (np.arange(3)[:, None] * 10 + np.arange(4)).astype('<f4')\n\
         assert z['c'].dtype == np.float32 and z['c'].flags.c_contiguous and (z['c'] == a).all()\n\
         assert z['f'].flags.f_contiguous and not z['f'].flags.c_contiguous and (z['f'] == a.T).all()\n\
         assert z['strided'].flags.c_contiguous and (z['strided'] == a[::2, 1::2]).all()\n\
         assert (z['reversed'] == a[::-1]).all()\n\
         assert z['d'].shape == () and int(z['d']) == 3 and z['d'].dtype == np.int64\n\
         print('ok')\n",
        &[&path],
    );
    assert_eq!(out.trim(), "ok");
}

/// Hostile archives through the map and `read_all`: errors, never panics.
#[test]
fn hostile_archives_through_map_and_read_all() {
    let dir = common::testdata().join("hostile");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("npz") {
            continue;
        }
        seen += 1;
        let all = npymap::npz::read_all(&path);
        // SAFETY: test data, not modified.
        let Ok(map) = (unsafe { NpzMap::open(&path) }) else {
            assert!(all.is_err(), "{}", path.display());
            continue;
        };
        let mut failed = all.is_err();
        for m in map.members() {
            let name = m.name();
            failed |= map.read_array::<f64>(name).is_err();
            if let Ok(view) = map.view(name) {
                let _ = view.to_vec::<f64>();
            }
            let _ = map.elements::<u8>(name);
        }
        assert!(failed, "{} read cleanly", path.display());
    }
    assert!(seen >= 8, "only {seen} hostile archives");
}

/// Zeros deflate close to deflate's 1032:1 limit; the typed read's check
/// against that limit must still accept them.
#[test]
fn highly_compressed_members_are_not_mistaken_for_bombs() {
    let zeros = vec![0u64; 500_000];
    let mut w = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    w.add_array("z", &[500_000], &zeros, Compression::Deflated)
        .unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let npz = NpzArchive::from_bytes(&bytes).unwrap();
    let m = npz.member("z").unwrap();
    let ratio = m.npy_len() as f64 / m.compressed_len() as f64;
    assert!(ratio > 1000.0, "ratio {ratio}");
    let mut npz = NpzArchive::from_bytes(&bytes).unwrap();
    let z = npz.read_array::<u64>("z").unwrap();
    assert_eq!(z.len(), 500_000);
    assert!(z.as_slice().iter().all(|&v| v == 0));
}
