//! The typed npz API: NumPy-made archives read into `Array<T>` with the
//! values NumPy wrote, `add_array` archives load in NumPy, and hostile
//! archives give errors (never panics) through the typed calls.

mod common;

use std::path::Path;

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
