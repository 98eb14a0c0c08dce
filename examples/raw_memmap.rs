//! Map headerless binary files (`ndarray.tofile`, `np.memmap`) with a
//! dtype, shape, order and byte offset given by the caller.
//!
//! NumPy:
//! ```python
//! a = np.memmap("f4_c_3x4.bin", dtype="<f4", mode="r", shape=(3, 4))
//! b = np.memmap("u2_offset16.bin", dtype="<u2", mode="r", offset=16, shape=(2, 5))
//! c = np.memmap("f8_fortran_2x3.bin", dtype="<f8", mode="r", shape=(2, 3), order="F")
//! d = np.memmap("i2_be_1d.bin", dtype=">i2", mode="r")   # shape inferred
//! e = np.memmap("new.bin", dtype="<f4", mode="w+", shape=(3, 4))
//! ```
//!
//! Run with `cargo run --example raw_memmap`.

use npymap::Dtype;
use npymap::mmap::{NpyMap, NpyMapMut, RawOptions};

/// The raw fixtures, written by NumPy's `tofile` (see testdata/generate.py).
fn fixture(name: &str) -> String {
    format!("{}/testdata/raw/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // np.arange(12, dtype="<f4").reshape(3, 4) / 4, C order.
    let opts = RawOptions::new(Dtype::from_descr("<f4")?).shape([3, 4]);
    // SAFETY: nobody modifies the fixtures while they are mapped.
    let c = unsafe { NpyMap::open_raw(fixture("f4_c_3x4.bin"), &opts)? };
    let expected: Vec<f32> = (0..12).map(|i| i as f32 / 4.0).collect();
    assert_eq!(c.as_slice::<f32>()?, expected);
    assert_eq!(c.header().shape, [3, 4]);
    assert_eq!(c.version(), None); // no header, so no format version

    // 16 bytes of something else, then np.arange(10).reshape(2, 5) * 3 as <u2.
    let opts = RawOptions::new(Dtype::from_descr("<u2")?)
        .shape([2, 5])
        .offset(16);
    // SAFETY: as above.
    let skipped = unsafe { NpyMap::open_raw(fixture("u2_offset16.bin"), &opts)? };
    let values = skipped.elements::<u16>()?.to_vec();
    assert_eq!(values, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    assert_eq!(skipped.data_offset(), 16);

    // np.arange(6.0).reshape(2, 3) + 0.5 written in Fortran order: the
    // storage order is column by column.
    let opts = RawOptions::new(Dtype::from_descr("<f8")?)
        .shape([2, 3])
        .fortran_order(true);
    // SAFETY: as above.
    let f = unsafe { NpyMap::open_raw(fixture("f8_fortran_2x3.bin"), &opts)? };
    assert!(f.header().fortran_order);
    assert_eq!(f.as_slice::<f64>()?, [0.5, 3.5, 1.5, 4.5, 2.5, 5.5]);

    // Big-endian with the length inferred from the file size: the element
    // view swaps on the fly (a plain slice would be refused).
    let opts = RawOptions::new(Dtype::from_descr(">i2")?);
    // SAFETY: as above.
    let be = unsafe { NpyMap::open_raw(fixture("i2_be_1d.bin"), &opts)? };
    assert_eq!(be.header().shape, [10]);
    let values = be.elements::<i16>()?.to_vec();
    assert_eq!(
        values,
        [-5000, -4000, -3000, -2000, -1000, 0, 1000, 2000, 3000, 4000]
    );
    assert!(be.as_slice::<i16>().is_err() || cfg!(target_endian = "big"));

    // w+: a new raw file, zero-filled and mapped; filled with the same
    // values it is byte for byte NumPy's tofile output.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("new.bin");
    let opts = RawOptions::new(Dtype::from_descr("<f4")?).shape([3, 4]);
    {
        // SAFETY: the file is private to this example's temporary directory.
        let mut w = unsafe { NpyMapMut::create_raw(&path, &opts)? };
        w.elements_mut::<f32>()?.copy_from_slice(&expected)?;
        w.flush()?;
    }
    assert_eq!(
        std::fs::read(&path)?,
        std::fs::read(fixture("f4_c_3x4.bin"))?
    );

    println!("raw files map like np.memmap");
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
