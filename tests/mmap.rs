//! Memory maps in modes r, r+, c and w+, for .npy and raw files, with
//! NumPy in the loop for interop.

mod common;
mod support;

use std::time::Instant;

use npymap::mmap::{Advice, Mode, NpyMap, NpyMapMut, RawOptions};
use npymap::{Dtype, Header};
use support::{check_entry, numpy};

fn fixture(rel: &str) -> std::path::PathBuf {
    common::testdata().join(rel)
}

/// Copies a fixture into a fresh temp dir.
fn scratch(rel: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    std::fs::copy(fixture(rel), &path).unwrap();
    (dir, path)
}

#[test]
fn every_numeric_fixture_maps_read_only_with_manifest_values() {
    let mut checked = 0;
    for e in common::entries("npy") {
        if e.get("values").is_none() {
            continue;
        }
        let rel = e["path"].as_str().unwrap();
        // SAFETY: test data is not modified while mapped.
        let map =
            unsafe { NpyMap::open(fixture(rel)) }.unwrap_or_else(|err| panic!("{rel}: {err}"));
        assert_eq!(
            map.data_offset(),
            e["data_offset"].as_u64().unwrap(),
            "{rel}"
        );
        if check_entry(&map.view(), &e, rel).is_some() {
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked}");
}

#[test]
fn raw_files_map_with_offset_shape_and_order() {
    for e in common::entries("raw") {
        let rel = e["path"].as_str().unwrap();
        let shape: Vec<u64> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let opts = RawOptions::new(Dtype::from_descr(e["descr"].as_str().unwrap()).unwrap())
            .shape(shape)
            .offset(e["offset"].as_u64().unwrap())
            .fortran_order(e["order"] == "F");
        // SAFETY: test data is not modified while mapped.
        let map = unsafe { NpyMap::open_raw(fixture(rel), &opts) }.unwrap();
        assert!(check_entry(&map.view(), &e, rel).is_some(), "{rel}");
    }
    // 1-D shape inferred from the size.
    let opts = RawOptions::new(Dtype::from_descr(">i2").unwrap());
    // SAFETY: as above.
    let map = unsafe { NpyMap::open_raw(fixture("raw/i2_be_1d.bin"), &opts) }.unwrap();
    assert_eq!(map.header().shape, [10]);
    assert_eq!(map.elements::<i16>().unwrap().get(9), Some(4000));
}

#[test]
fn raw_file_too_small_names_both_byte_counts() {
    let opts = RawOptions::new(Dtype::from_descr("<f4").unwrap()).shape([4, 4]);
    // SAFETY: as above.
    let err = unsafe { NpyMap::open_raw(fixture("raw/f4_c_3x4.bin"), &opts) }.unwrap_err();
    assert_eq!(err.kind().code(), "file_too_small");
    assert!(
        err.to_string()
            .contains("file is 48 bytes, too small for the 64 bytes"),
        "{err}"
    );
    let opts = RawOptions::new(Dtype::from_descr("<f8").unwrap()).offset(4);
    // SAFETY: as above.
    let err = unsafe { NpyMap::open_raw(fixture("raw/f4_c_3x4.bin"), &opts) }.unwrap_err();
    assert_eq!(err.kind().code(), "raw_size", "{err}");
}

#[test]
fn raw_growth_is_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.bin");
    std::fs::write(&path, [1u8, 0]).unwrap();
    let opts = RawOptions::new(Dtype::from_descr("<u2").unwrap()).shape([3]);
    // SAFETY: the file is private to this test.
    let err = unsafe { NpyMapMut::open_raw(&path, &opts, Mode::ReadWrite) }.unwrap_err();
    assert_eq!(err.kind().code(), "file_too_small");
    // SAFETY: as above.
    let map =
        unsafe { NpyMapMut::open_raw(&path, &opts.clone().grow(true), Mode::ReadWrite) }.unwrap();
    assert_eq!(map.elements::<u16>().unwrap().to_vec(), [1, 0, 0]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 6);
}

#[test]
fn create_w_plus_writes_numpy_header_and_numpy_reads_values() {
    let dir = tempfile::tempdir().unwrap();
    for fortran in [false, true] {
        let path = dir.path().join(format!("w{fortran}.npy"));
        let header = Header {
            dtype: Dtype::from_descr(">i4").unwrap(),
            fortran_order: fortran,
            shape: vec![2, 3],
        };
        // SAFETY: the file is private to this test.
        let mut map = unsafe { NpyMapMut::create(&path, &header) }.unwrap();
        // Storage order: C rows, or Fortran columns.
        let storage: Vec<i32> = if fortran {
            vec![0, 3, 1, 4, 2, 5]
        } else {
            (0..6).collect()
        };
        map.elements_mut::<i32>()
            .unwrap()
            .copy_from_slice(&storage)
            .unwrap();
        map.flush().unwrap();
        drop(map);
        let order = if fortran { "True" } else { "False" };
        let out = numpy(
            &format!(
                "a = np.load(p)\nassert a.dtype == np.dtype('>i4') and a.flags.f_contiguous == {order}\n\
                 print(a.ravel().tolist())\n\
                 q = p + '.ref.npy'\n\
                 np.lib.format.open_memmap(q, mode='w+', dtype='>i4', shape=(2, 3), fortran_order={order}).flush()\n\
                 print(open(p, 'rb').read()[:128] == open(q, 'rb').read()[:128])"
            ),
            &path,
        );
        assert_eq!(out, "[0, 1, 2, 3, 4, 5]\nTrue\n", "fortran={fortran}");
    }
}

#[test]
fn r_plus_changes_reach_the_file_and_numpy() {
    let (_dir, path) = scratch("npy/f8_le.npy");
    // SAFETY: the file is private to this test.
    let mut map = unsafe { NpyMapMut::open(&path, Mode::ReadWrite) }.unwrap();
    map.as_slice_mut::<f64>().unwrap()[2] = 99.5;
    map.flush_range(16, 8).unwrap();
    assert_eq!(
        map.flush_range(40, 16).unwrap_err().kind().code(),
        "index_out_of_bounds"
    );
    drop(map);
    assert_eq!(numpy("print(np.load(p)[2])", &path), "99.5\n");
}

#[test]
fn c_mode_changes_stay_private() {
    let (_dir, path) = scratch("npy/i8_le.npy");
    let before = std::fs::read(&path).unwrap();
    // SAFETY: the file is private to this test.
    let mut map = unsafe { NpyMapMut::open(&path, Mode::CopyOnWrite) }.unwrap();
    map.elements_mut::<i64>().unwrap().set(0, 7).unwrap();
    map.flush().unwrap();
    assert_eq!(map.elements::<i64>().unwrap().get(0), Some(7));
    assert_eq!(
        map.advise(Advice::DontNeed).unwrap_err().kind().code(),
        "unsupported"
    );
    drop(map);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(numpy("print(np.load(p)[0])", &path), "-3000000000000\n");
}

#[test]
fn two_processes_sharing_r_plus_see_each_others_writes_after_flush() {
    let (_dir, path) = scratch("npy/i4_le.npy");
    // SAFETY: the only other writer is the Python process below, which
    // runs while we do not touch the map, and writes a different element.
    let mut map = unsafe { NpyMapMut::open(&path, Mode::ReadWrite) }.unwrap();
    map.as_slice_mut::<i32>().unwrap()[0] = 4242;
    map.flush().unwrap();
    let out = numpy(
        "m = np.load(p, mmap_mode='r+')\nprint(m[0])\nm[1] = -17\nm.flush()\ndel m",
        &path,
    );
    assert_eq!(out, "4242\n");
    // Our live map sees the other process's write.
    assert_eq!(map.as_slice::<i32>().unwrap()[1], -17);
}

#[test]
fn zero_size_and_zero_d_maps() {
    for rel in [
        "npy/empty_0.npy",
        "npy/empty_3x0.npy",
        "npy/empty_0x5_fortran.npy",
        "npy/struct_empty.npy",
    ] {
        // SAFETY: test data is not modified while mapped.
        let map = unsafe { NpyMap::open(fixture(rel)) }.unwrap();
        assert!(map.view().payload().is_empty(), "{rel}");
        map.advise(Advice::Sequential).unwrap();
    }
    // SAFETY: as above.
    let map = unsafe { NpyMap::open(fixture("npy/zero_d.npy")) }.unwrap();
    assert_eq!(map.as_slice::<f64>().unwrap(), [3.5]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.npy");
    let header = Header {
        dtype: Dtype::from_descr("<f4").unwrap(),
        fortran_order: false,
        shape: vec![0, 4],
    };
    // SAFETY: the file is private to this test.
    let mut map = unsafe { NpyMapMut::create(&path, &header) }.unwrap();
    assert!(map.as_slice_mut::<f32>().unwrap().is_empty());
    map.flush().unwrap();
    drop(map);
    assert_eq!(numpy("print(np.load(p).shape)", &path), "(0, 4)\n");
}

#[test]
fn object_and_bad_length_files_are_refused() {
    // SAFETY: test data is not modified while mapped.
    let err = unsafe { NpyMap::open(fixture("npy/object.npy")) }.unwrap_err();
    assert_eq!(err.kind().code(), "object_dtype");
    assert!(err.path().is_some());
    // SAFETY: as above.
    let err = unsafe { NpyMap::open(fixture("hostile/payload_short.npy")) }.unwrap_err();
    assert_eq!(err.kind().code(), "payload_size");
}

#[test]
fn every_advice_is_accepted_on_read_only_maps() {
    // SAFETY: test data is not modified while mapped.
    let map = unsafe { NpyMap::open(fixture("npy/c_rand_3x4.npy")) }.unwrap();
    for a in [
        Advice::Normal,
        Advice::Sequential,
        Advice::Random,
        Advice::WillNeed,
        Advice::DontNeed,
    ] {
        map.advise(a).unwrap();
    }
    assert_eq!(map.as_slice::<f32>().unwrap().len(), 12);
    assert!(map.advise_range(Advice::Random, 40, 9).is_err());
}

#[test]
fn opening_does_not_read_the_payload() {
    // A 4 GiB sparse file opens as fast as a small one: only the header is read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let header = Header {
        dtype: Dtype::from_descr("<f8").unwrap(),
        fortran_order: false,
        shape: vec![1 << 29],
    };
    let bytes = header.to_bytes(None).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut &file, &bytes).unwrap();
    file.set_len(bytes.len() as u64 + (8u64 << 29)).unwrap();
    let t = Instant::now();
    // SAFETY: the file is private to this test.
    let map = unsafe { NpyMap::open(&path) }.unwrap();
    assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
    assert_eq!(map.elements::<f64>().unwrap().get((1 << 29) - 1), Some(0.0));
}
