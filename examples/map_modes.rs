//! Memory-map an `.npy` file in each of NumPy's four modes.
//!
//! NumPy:
//! ```python
//! a = np.load("c_2x3.npy", mmap_mode="r")    # read-only
//! a = np.load("c_2x3.npy", mmap_mode="r+")   # writes reach the file
//! a = np.load("c_2x3.npy", mmap_mode="c")    # writes stay private
//! a = np.lib.format.open_memmap("new.npy", mode="w+", dtype="<f8", shape=(2, 3))
//! ```
//!
//! Run with `cargo run --example map_modes`.

use npymap::mmap::{Mode, NpyMap, NpyMapMut};
use npymap::{Dtype, Header};

/// `np.save("c_2x3.npy", np.arange(6.0).reshape(2, 3))`, made by NumPy.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/npy/c_2x3.npy");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let original = std::fs::read(FIXTURE)?;
    let dir = tempfile::tempdir()?;

    // r: a read-only map; the payload is native and aligned, so it is a
    // plain zero-copy `&[f64]`.
    // SAFETY: nobody modifies the fixture while it is mapped.
    let r = unsafe { NpyMap::open(FIXTURE)? };
    assert_eq!(r.header().shape, [2, 3]);
    assert!(!r.header().fortran_order);
    assert_eq!(r.as_slice::<f64>()?, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    drop(r);

    // r+: writes go to the file once flushed.
    let shared = dir.path().join("shared.npy");
    std::fs::copy(FIXTURE, &shared)?;
    {
        // SAFETY: the file is private to this example's temporary directory.
        let mut rw = unsafe { NpyMapMut::open(&shared, Mode::ReadWrite)? };
        let values = rw.as_slice_mut::<f64>()?;
        values[4] = 40.0; // the element a[1, 1]
        rw.flush()?;
    }
    // SAFETY: as above.
    let reread = unsafe { NpyMap::open(&shared)? };
    assert_eq!(reread.as_slice::<f64>()?, [0.0, 1.0, 2.0, 3.0, 40.0, 5.0]);
    drop(reread);
    // Only that one element's 8 bytes changed; the header is untouched.
    let changed = std::fs::read(&shared)?;
    assert_eq!(changed.len(), original.len());
    let diff: Vec<usize> = (0..original.len())
        .filter(|&i| original[i] != changed[i])
        .collect();
    assert!(
        diff.iter()
            .all(|&i| (128 + 4 * 8..128 + 5 * 8).contains(&i))
    );
    assert!(!diff.is_empty());

    // c: copy-on-write; this process sees its change, the file never does.
    let private = dir.path().join("private.npy");
    std::fs::copy(FIXTURE, &private)?;
    {
        // SAFETY: as above.
        let mut cow = unsafe { NpyMapMut::open(&private, Mode::CopyOnWrite)? };
        cow.elements_mut::<f64>()?.set(0, -1.0)?;
        assert_eq!(cow.as_slice::<f64>()?, [-1.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        cow.flush()?; // a no-op for copy-on-write maps
    }
    assert_eq!(std::fs::read(&private)?, original);

    // w+: create a new file of a given dtype and shape, fill it through the
    // map. The result is byte for byte what np.save wrote for the fixture.
    let created = dir.path().join("created.npy");
    let header = Header {
        dtype: Dtype::from_descr("<f8")?,
        fortran_order: false,
        shape: vec![2, 3],
    };
    {
        // SAFETY: as above.
        let mut w = unsafe { NpyMapMut::create(&created, &header)? };
        assert_eq!(w.as_slice::<f64>()?, [0.0; 6]); // zero-filled, like NumPy
        w.elements_mut::<f64>()?
            .copy_from_slice(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])?;
        w.flush()?;
    }
    assert_eq!(std::fs::read(&created)?, original);

    println!("r, r+, c and w+ maps all behave as NumPy's");
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
