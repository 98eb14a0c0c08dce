//! Grow an `.npy` file along its growth axis without rewriting it: axis 0
//! for C order, the last axis for Fortran order.
//!
//! NumPy has no in-place append; the nearest is
//! ```python
//! np.save("log.npy", np.concatenate([np.load("log.npy"), rows]))
//! ```
//!
//! Run with `cargo run --example append`.

use npymap::mmap::NpyMap;

/// NumPy-made fixtures: `np.arange(6.0).reshape(2, 3)` in C and in Fortran order.
fn fixture(name: &str) -> String {
    format!("{}/testdata/npy/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;

    // C order: whole rows of 3 go after the last row.
    let log = dir.path().join("log.npy");
    std::fs::copy(fixture("c_2x3.npy"), &log)?;
    let header = npymap::npy::append(&log, &[6.0f64, 7.0, 8.0])?;
    assert_eq!(header.shape, [3, 3]);
    let header = npymap::npy::append(&log, &[9.0f64, 10.0, 11.0, 12.0, 13.0, 14.0])?;
    assert_eq!(header.shape, [5, 3]);
    // SAFETY: the file is private to this example's temporary directory.
    let map = unsafe { NpyMap::open(&log)? };
    let expected: Vec<f64> = (0..15).map(f64::from).collect();
    assert_eq!(map.as_slice::<f64>()?, expected);
    // NumPy's header had room to grow, so the payload did not move.
    assert_eq!(map.data_offset(), 128);
    drop(map);

    // A part of a row is refused and the file is left as it was.
    let before = std::fs::read(&log)?;
    assert!(npymap::npy::append(&log, &[1.0f64, 2.0]).is_err());
    assert_eq!(std::fs::read(&log)?, before);

    // Fortran order: the data is in storage order, one column of 2 at a time.
    let cols = dir.path().join("cols.npy");
    std::fs::copy(fixture("f_2x3.npy"), &cols)?;
    let header = npymap::npy::append(&cols, &[6.0f64, 7.0])?;
    assert_eq!(header.shape, [2, 4]);
    assert!(header.fortran_order);
    // SAFETY: as above.
    let map = unsafe { NpyMap::open(&cols)? };
    // Column-major storage of [[0, 1, 2, 6], [3, 4, 5, 7]].
    assert_eq!(
        map.as_slice::<f64>()?,
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0, 6.0, 7.0]
    );

    // A different element type is refused before anything is written.
    assert!(npymap::npy::append(&cols, &[1i64, 2]).is_err());

    println!("appended along the growth axis in place");
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
