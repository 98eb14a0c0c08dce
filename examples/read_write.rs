//! Read a `.npy` file, change it, and write it back: one call each.
//!
//! NumPy: `a = np.load("testdata/npy/f8_be.npy"); np.save("out.npy", a * 2)`
//! and `np.save("grid.npy", np.arange(6.0).reshape(2, 3))`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any byte order, any format version: values come back native.
    let a = npymap::read::<f64>("testdata/npy/f8_be.npy")?;
    assert_eq!(a.shape(), [6]);
    assert_eq!(a.as_slice()[0], -1.875);

    let dir = tempfile::tempdir()?;

    // `save` keeps the array's shape and memory order.
    let (shape, fortran, values) = a.into_parts();
    let doubled: Vec<f64> = values.iter().map(|v| v * 2.0).collect();
    let out = npymap::Array::from_parts(shape, fortran, doubled)?;
    let path = dir.path().join("out.npy");
    npymap::save(&path, &out)?;
    assert_eq!(npymap::read::<f64>(&path)?.as_slice()[0], -3.75);

    // `write` takes a shape and C-order values; the bytes are np.save's.
    let grid = dir.path().join("grid.npy");
    npymap::write(&grid, &[2, 3], &[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0])?;
    assert_eq!(
        std::fs::read(&grid)?,
        std::fs::read("testdata/npy/c_2x3.npy")?
    );
    let back = npymap::read::<f64>(&grid)?;
    assert_eq!(back.get(&[1, 2]), Some(&5.0));

    // A wrong type is an error that names both sides.
    let e = npymap::read::<i32>(&grid).unwrap_err();
    assert!(e.to_string().contains("expected '<i4' (i32), found '<f8'"));
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
