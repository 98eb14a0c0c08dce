//! Convert an `.npy` file's byte order or memory order into a new file,
//! atomically and with bounded memory.
//!
//! NumPy:
//! ```python
//! np.save("be.npy", np.load("f8_le.npy").astype(">f8"))
//! np.save("f.npy", np.asfortranarray(np.load("c_2x3.npy")))
//! ```
//!
//! Run with `cargo run --example convert`.

use npymap::atomic::Durability;
use npymap::convert::{ConvertOptions, convert_to_file};
use npymap::mmap::NpyMap;
use npymap::{ByteOrder, Dtype, Header};

/// NumPy-made fixtures (see testdata/generate.py).
fn fixture(name: &str) -> String {
    format!("{}/testdata/npy/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;

    // Little-endian -> big-endian: the result is byte for byte the file
    // NumPy saved for the same values as ">f8".
    // SAFETY: nobody modifies the fixtures while they are mapped.
    let le = unsafe { NpyMap::open(fixture("f8_le.npy"))? };
    let be_path = dir.path().join("be.npy");
    let opts = ConvertOptions {
        byte_order: Some(ByteOrder::Big),
        ..ConvertOptions::default()
    };
    let header: Header = convert_to_file(&le, &be_path, &opts, Durability::Atomic)?;
    assert_eq!(header.dtype, Dtype::from_descr(">f8")?);
    assert_eq!(
        std::fs::read(&be_path)?,
        std::fs::read(fixture("f8_be.npy"))?
    );
    // SAFETY: as above; the output is private to this example.
    let be = unsafe { NpyMap::open(&be_path)? };
    let values = be.elements::<f64>()?.to_vec();
    assert_eq!(values, [-1.875, -1.125, -0.375, 0.375, 1.125, 1.875]);

    // C order -> Fortran order: the same 2x3 array, stored column by column,
    // byte for byte np.save(np.asfortranarray(a)).
    // SAFETY: as above.
    let c = unsafe { NpyMap::open(fixture("c_2x3.npy"))? };
    let f_path = dir.path().join("f.npy");
    let opts = ConvertOptions {
        fortran_order: Some(true),
        ..ConvertOptions::default()
    };
    convert_to_file(&c, &f_path, &opts, Durability::Atomic)?;
    assert_eq!(
        std::fs::read(&f_path)?,
        std::fs::read(fixture("f_2x3.npy"))?
    );
    // SAFETY: as above.
    let f = unsafe { NpyMap::open(&f_path)? };
    assert_eq!(f.header().shape, [2, 3]);
    assert_eq!(f.as_slice::<f64>()?, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);

    println!("converted byte order and memory order");
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
