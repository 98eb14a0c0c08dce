//! Streaming read/write, atomic save, append, make-appendable and recover,
//! checked against NumPy's own bytes and arrays.

mod common;
mod support;

use std::borrow::Cow;
use std::io::Read;

use npymap::npy::{self, GrowingNpyWriter, NpyReader, NpyWriter};
use npymap::{Dtype, ErrorKind, Header, NpyView};
use support::{check_entry, numpy};

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(common::testdata().join(rel)).unwrap()
}

/// A reader that cannot seek and hands out a few bytes at a time.
struct Trickle<'a>(&'a [u8]);
impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn reader_reads_every_numeric_fixture_from_a_plain_stream() {
    let mut checked = 0;
    for e in common::entries("npy") {
        if e.get("values").is_none() {
            continue;
        }
        let rel = e["path"].as_str().unwrap();
        let bytes = load(rel);
        let r = NpyReader::new(Trickle(&bytes)).unwrap();
        let header = r.header().clone();
        let offset = r.parsed().data_offset;
        let payload = r.read_payload().unwrap();
        let view = NpyView::from_parts(Cow::Owned(header), &payload, offset).unwrap();
        if check_entry(&view, &e, rel).is_some() {
            checked += 1;
        }
    }
    assert!(checked >= 60);
    let bytes = load("npy/c16_be.npy");
    let v = NpyReader::new(Trickle(&bytes))
        .unwrap()
        .read_vec::<num_complex::Complex<f64>>()
        .unwrap();
    assert_eq!(v[3], num_complex::Complex::new(3.5, -0.75));
    let err = NpyReader::new(Trickle(&bytes))
        .unwrap()
        .read_vec::<f64>()
        .unwrap_err();
    assert_eq!(err.kind().code(), "dtype_mismatch");
    let cut = &bytes[..bytes.len() - 3];
    let err = NpyReader::new(Trickle(cut))
        .unwrap()
        .read_payload()
        .unwrap_err();
    assert_eq!(err.kind().code(), "truncated");
}

#[cfg(feature = "ndarray")]
#[test]
fn reader_builds_ndarrays_in_the_header_order() {
    let bytes = load("npy/f_2x3x4.npy");
    let a = NpyReader::new(&bytes[..])
        .unwrap()
        .read_array::<i32>()
        .unwrap();
    assert_eq!(a.shape(), [2, 3, 4]);
    assert_eq!(
        a.iter().copied().collect::<Vec<_>>(),
        (0..24).collect::<Vec<_>>()
    );
}

#[test]
fn writer_output_is_byte_identical_to_np_save_fixtures() {
    let mut checked = 0;
    for e in common::entries("npy") {
        if e["numpy_default"] != true {
            continue;
        }
        let rel = e["path"].as_str().unwrap();
        let bytes = load(rel);
        let Ok(view) = NpyView::new(&bytes) else {
            continue;
        }; // object
        // Typed path where we have a type, raw bytes otherwise.
        let version = npymap::Version::from_name(e["version"].as_str().unwrap());
        let mut w = NpyWriter::with_version(Vec::new(), view.header(), version).unwrap();
        let code = view.dtype().descr();
        match code.as_str() {
            "'<f8'" | "'>f8'" => w.write_slice(&view.to_vec::<f64>().unwrap()).unwrap(),
            "'<i4'" | "'>i4'" => w
                .write_iter(view.elements::<i32>().unwrap().iter())
                .unwrap(),
            "'<c8'" | "'>c8'" => w
                .write_slice(&view.to_vec::<num_complex::Complex<f32>>().unwrap())
                .unwrap(),
            _ => {
                for chunk in view.payload().chunks(view.dtype().itemsize().max(1) * 3) {
                    w.write_bytes(chunk).unwrap();
                }
            }
        }
        assert_eq!(w.finish().unwrap(), bytes, "{rel}");
        checked += 1;
    }
    assert!(checked >= 80, "{checked}");
}

#[test]
fn writer_refuses_wrong_counts() {
    let header = Header {
        dtype: Dtype::from_descr("<u2").unwrap(),
        fortran_order: false,
        shape: vec![3],
    };
    let mut w = NpyWriter::new(Vec::new(), &header).unwrap();
    w.write_slice(&[1u16, 2]).unwrap();
    assert_eq!(
        w.write_slice(&[3u16, 4]).unwrap_err().kind().code(),
        "element_count"
    );
    let err = NpyWriter::new(Vec::new(), &header)
        .unwrap()
        .finish()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "0 elements were written but the header declares 3"
    );
}

#[test]
fn growing_writer_fixes_the_shape_at_finish() {
    let cursor = std::io::Cursor::new(Vec::new());
    let mut w =
        GrowingNpyWriter::new(cursor, Dtype::from_descr("<f8").unwrap(), true, &[2, 0]).unwrap();
    w.write_slice(&[0.0f64, 3.0, 1.0]).unwrap();
    w.write_iter([4.0f64, 2.0, 5.0]).unwrap();
    let (out, header) = w.finish().unwrap();
    assert_eq!(header.shape, [2, 3]);
    assert_eq!(out.into_inner(), load("npy/f_2x3.npy"));

    let cursor = std::io::Cursor::new(Vec::new());
    let mut w =
        GrowingNpyWriter::new(cursor, Dtype::from_descr("<f8").unwrap(), false, &[0, 4]).unwrap();
    w.write_slice(&[1.0f64; 6]).unwrap();
    assert_eq!(w.finish().unwrap_err().kind().code(), "not_whole_rows");
}

#[test]
fn save_is_byte_identical_to_numpy_and_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.npy");
    let theirs = dir.path().join("theirs.npy");
    std::fs::write(&ours, b"old content").unwrap();
    let header = Header {
        dtype: Dtype::from_descr(">i8").unwrap(),
        fortran_order: false,
        shape: vec![4, 5],
    };
    let data: Vec<i64> = (0..20).map(|i| i * 1_000_000_007 - 9).collect();
    npy::save(&ours, &header, &data).unwrap();
    numpy(
        "np.save(p, (np.arange(20, dtype=np.int64) * 1000000007 - 9).reshape(4, 5).astype('>i8'))",
        &theirs,
    );
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn interrupted_save_leaves_the_old_file_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.npy");
    std::fs::copy(common::testdata().join("npy/f8_le.npy"), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let header = Header {
        dtype: Dtype::from_descr("<f8").unwrap(),
        fortran_order: false,
        shape: vec![1000],
    };
    let err = npy::save_with(&path, &header, |w| {
        w.write_slice(&[1.0f64; 500])?;
        Err(ErrorKind::Unsupported("simulated failure midway".into()).into())
    })
    .unwrap_err();
    assert!(err.to_string().contains("simulated failure"), "{err}");
    // Too few elements is a failure too.
    let err = npy::save_with(&path, &header, |w| w.write_slice(&[1.0f64; 999])).unwrap_err();
    assert_eq!(err.kind().code(), "element_count");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn append_matches_np_concatenate_and_keeps_the_data_offset() {
    let dir = tempfile::tempdir().unwrap();
    // C order grows along axis 0.
    let path = dir.path().join("c.npy");
    std::fs::copy(common::testdata().join("npy/c_2x3x4.npy"), &path).unwrap();
    let extra: Vec<i32> = (100..112).collect();
    let h = npy::append(&path, &extra).unwrap();
    assert_eq!(h.shape, [3, 3, 4]);
    assert_eq!(npy::inspect(&path).unwrap().data_offset, 128);
    let out = numpy(
        "a = np.load(p)\nb = np.concatenate([np.arange(24, dtype='<i4').reshape(2, 3, 4), np.arange(100, 112, dtype='<i4').reshape(1, 3, 4)])\nprint(a.dtype, a.shape, (a == b).all())",
        &path,
    );
    assert_eq!(out, "int32 (3, 3, 4) True\n");
    // Fortran order grows along the last axis; big-endian data is swapped.
    let path = dir.path().join("f.npy");
    let header = Header {
        dtype: Dtype::from_descr(">f8").unwrap(),
        fortran_order: true,
        shape: vec![2, 3],
    };
    npy::save(&path, &header, &[0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0]).unwrap();
    npy::append(&path, &[6.0f64, 7.0]).unwrap();
    npy::append(&path, &[8.0f64, 9.0, 10.0, 11.0]).unwrap();
    let out = numpy(
        "a = np.load(p)\nb = np.concatenate([np.array([[0., 1, 2], [3, 4, 5]]), np.array([[6.], [7]]), np.array([[8., 10], [9, 11]])], axis=1)\nprint(a.dtype.str, a.shape, np.isfortran(a), (a == b).all())",
        &path,
    );
    assert_eq!(out, ">f8 (2, 6) True True\n");
    assert_eq!(npy::inspect(&path).unwrap().data_offset, 128);
    // Refusals.
    assert_eq!(
        npy::append(&path, &[1.0f64]).unwrap_err().kind().code(),
        "not_whole_rows"
    );
    assert_eq!(
        npy::append(&path, &[1i32, 2]).unwrap_err().kind().code(),
        "dtype_mismatch"
    );
    let zero_d = dir.path().join("z.npy");
    std::fs::copy(common::testdata().join("npy/zero_d.npy"), &zero_d).unwrap();
    assert_eq!(
        npy::append(&zero_d, &[1.0f64]).unwrap_err().kind().code(),
        "unsupported"
    );
}

#[test]
fn header_without_room_is_rewritten_atomically_and_make_appendable_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    // Old NumPy: payload at 80, no growth padding.
    let path = dir.path().join("old.npy");
    std::fs::copy(common::testdata().join("npy/hand_align16.npy"), &path).unwrap();
    npy::append(&path, &[4i64, 5]).unwrap();
    assert_eq!(npy::inspect(&path).unwrap().data_offset, 128);
    assert_eq!(
        numpy("print(np.load(p).tolist())", &path),
        "[0, 1, 2, 3, 4, 5]\n"
    );

    let path = dir.path().join("old2.npy");
    std::fs::copy(common::testdata().join("npy/hand_align16.npy"), &path).unwrap();
    assert!(npy::make_appendable(&path).unwrap());
    assert!(!npy::make_appendable(&path).unwrap());
    assert_eq!(npy::inspect(&path).unwrap().data_offset, 128);
    // A padded header (4 KiB of spaces) is already appendable and keeps its offset.
    let path = dir.path().join("pad.npy");
    std::fs::copy(common::testdata().join("npy/hand_pad_4k.npy"), &path).unwrap();
    assert!(!npy::make_appendable(&path).unwrap());
    npy::append(&path, &[5i16]).unwrap();
    assert_eq!(npy::inspect(&path).unwrap().data_offset, 4224);
    assert_eq!(
        numpy("print(np.load(p).tolist())", &path),
        "[0, 1, 2, 3, 4, 5]\n"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn recover_truncates_to_whole_rows_and_fixes_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.npy");
    let bytes = load("npy/c_2x3x4.npy");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    assert_eq!(
        npy::inspect(&path).unwrap_err().kind().code(),
        "payload_size"
    );
    let r = npy::recover(&path).unwrap();
    assert_eq!((r.rows_before, r.rows_after, r.bytes_dropped), (2, 1, 38));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 48);
    assert_eq!(
        numpy("a = np.load(p); print(a.shape, a.ravel()[-1])", &path),
        "(1, 3, 4) 11\n"
    );
    // A crash after an append's data but before its header: the header is
    // the commit record, so the bytes past the payload are dropped (they may
    // be rows written out of order, or never synced) and NumPy's view stays.
    let path = dir.path().join("long.npy");
    let mut long = load("npy/one_d.npy");
    long.extend_from_slice(&[7, 0, 8, 0, 9]);
    std::fs::write(&path, &long).unwrap();
    let r = npy::recover(&path).unwrap();
    assert_eq!((r.rows_before, r.rows_after, r.bytes_dropped), (7, 7, 5));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        load("npy/one_d.npy"),
        "back to the bytes before the append"
    );
    // Nothing to do on a healthy file.
    let r = npy::recover(&path).unwrap();
    assert_eq!((r.rows_before, r.rows_after, r.bytes_dropped), (7, 7, 0));
}

#[test]
fn save_durable_writes_the_same_bytes_as_save() {
    let dir = tempfile::tempdir().unwrap();
    let header = Header {
        dtype: Dtype::from_descr("<f8").unwrap(),
        fortran_order: false,
        shape: vec![2, 3],
    };
    let data = [0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0];
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    npy::save(&a, &header, &data).unwrap();
    npy::save_durable(&b, &header, &data).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(std::fs::read(&a).unwrap(), load("npy/c_2x3.npy"));
    // The streaming form with a durability choice, in one call.
    let c = dir.path().join("c.npy");
    npy::save_with_durability(&c, &header, npymap::atomic::Durability::Durable, |w| {
        w.write_slice(&data)
    })
    .unwrap();
    assert_eq!(std::fs::read(&c).unwrap(), load("npy/c_2x3.npy"));
}

#[test]
fn library_appends_from_many_threads_never_lose_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.npy");
    let header = Header {
        dtype: Dtype::from_descr("<i8").unwrap(),
        fortran_order: false,
        shape: vec![0, 64],
    };
    npy::save::<i64>(&path, &header, &[]).unwrap();
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let path = &path;
            s.spawn(move || {
                for i in 0..50i64 {
                    npy::append(path, &[t * 1000 + i; 64]).unwrap();
                }
            });
        }
    });
    assert_eq!(
        numpy(
            "a = np.load(p); print(a.shape, all((r == r[0]).all() for r in a), sorted(a[:, 0].tolist()) == sorted(t * 1000 + i for t in range(4) for i in range(50)))",
            &path
        ),
        "(200, 64) True True\n"
    );
}
