//! Read and write `ndarray` arrays of any layout (feature `ndarray`).
//!
//! NumPy: `a = np.load("testdata/npy/f_2x3.npy"); np.save("t.npy", a.T)`.

use ndarray::{Array2, s};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A Fortran-order file comes back as an F-layout array: same values,
    // nothing transposed.
    let a: Array2<f64> = npymap::read_npy("testdata/npy/f_2x3.npy")?;
    assert_eq!(a.shape(), [2, 3]);
    assert_eq!(a[[1, 0]], 3.0);

    let dir = tempfile::tempdir()?;

    // Any view writes as np.save writes the same array: here a transposed
    // view (F-contiguous) and a strided, reversed slice (copied in C order).
    let t = dir.path().join("t.npy");
    npymap::write_npy(&t, &a.t())?;
    let back: Array2<f64> = npymap::read_npy(&t)?;
    assert_eq!(back, a.t());

    let r = dir.path().join("r.npy");
    npymap::write_npy(&r, &a.slice(s![.., ..;-2]))?;
    let back: Array2<f64> = npymap::read_npy(&r)?;
    assert_eq!(back, ndarray::array![[2.0, 0.0], [5.0, 3.0]]);

    // Asking for the wrong number of dimensions says what the file holds.
    let e = npymap::read_npy::<f64, ndarray::Ix3>(&t).unwrap_err();
    assert!(
        e.to_string()
            .contains("expected 3 dimensions, found 2 (shape (3, 2))")
    );
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
