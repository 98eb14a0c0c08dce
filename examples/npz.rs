//! Read, write and map `.npz` archives.
//!
//! NumPy: `z = np.load("testdata/npz/named.npz"); z["beta"]`,
//! `dict(np.load(path))`, and
//! `np.savez(path, weights=np.arange(6.0).reshape(2, 3), labels=np.array([1, 2, 3], dtype=np.int32))`.

use npymap::mmap::NpzMap;
use npymap::npz::{Compression, NpzReader, NpzWriter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read one member, typed: any byte order comes back native, the CRC
    // is checked on the way.
    let mut npz = NpzReader::open("testdata/npz/named.npz")?;
    let beta = npz.read_array::<i32>("beta")?; // '>i4' in the file
    assert_eq!(beta.as_slice(), [1, -2, 3]);
    let gamma = npz.read_array::<Vec<u8>>("gamma")?; // 'S3'
    assert_eq!(gamma.into_vec(), [b"ab".to_vec(), b"cde".to_vec()]);

    // Read every member at once, like dict(np.load(path)).
    let all = npymap::npz::read_all("testdata/npz/named.npz")?;
    assert_eq!(all["alpha"].shape(), [2, 3]);
    assert_eq!(all["alpha"].as_slice::<f64>()?[4], 4.0);

    // Write an archive: one call per array, stored or deflated; the file
    // appears whole when `finish` succeeds.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.npz");
    let mut w = NpzWriter::create(&path)?;
    w.add_array(
        "weights",
        &[2, 3],
        &[0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0],
        Compression::Stored,
    )?;
    w.add_array("labels", &[3], &[1i32, 2, 3], Compression::Deflated)?;
    w.finish()?;

    // Map it: stored members are viewed in place, without copying (npymap
    // aligns their payloads, so plain slices work too); deflated ones are
    // read into memory.
    // SAFETY: the archive is private to this example and not modified
    // while mapped.
    let map = unsafe { NpzMap::open(&path)? };
    let weights: &[f64] = map.as_slice("weights")?;
    assert_eq!(weights, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(map.view("weights")?.shape(), [2, 3]);
    assert!(map.view("labels").is_err()); // deflated: nothing to map
    assert_eq!(map.read_array::<i32>("labels")?.as_slice(), [1, 2, 3]);
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
