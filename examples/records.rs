//! Structured arrays as Rust structs through serde: read NumPy's records
//! by field name, write a `Vec` of structs that NumPy loads as the same
//! structured array.
//!
//! NumPy: `np.load("testdata/npy/struct_nested.npy")` and
//! `np.save("stations.npy", np.array(rows, [('name', '<U6'), ('pos', [('lat', '<f8'), ('lon', '<f8')]), ('temps', '<f4', (3,)), ('active', '?')]))`.

use serde::{Deserialize, Serialize};

/// A nested record in `struct_nested.npy`: `('p', [('x', '<f4'), ('y', '<f4')])`.
#[derive(Debug, PartialEq, Deserialize)]
struct P {
    x: f32,
    y: f32,
}

/// The file's fields are `p` then `id`; the order here does not matter.
#[derive(Debug, PartialEq, Deserialize)]
struct Item {
    id: u16,
    p: P,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct LatLon {
    lat: f64,
    lon: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Station {
    name: String,
    pos: LatLon,
    temps: [f32; 3],
    active: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read: every record of a NumPy-made structured array into a struct.
    let items = npymap::record::read::<Item>("testdata/npy/struct_nested.npy")?;
    assert_eq!(items.shape(), [2]);
    assert_eq!(
        items.as_slice()[1],
        Item {
            id: 2,
            p: P { x: 3.0, y: 4.0 }
        }
    );

    // Write: the dtype comes from the struct (declaration order, packed,
    // text as wide as the longest name), the file is what np.save writes.
    let stations = vec![
        Station {
            name: "Oslo".into(),
            pos: LatLon {
                lat: 59.91,
                lon: 10.75,
            },
            temps: [-4.5, -3.0, 1.5],
            active: true,
        },
        Station {
            name: "Tromsø".into(),
            pos: LatLon {
                lat: 69.65,
                lon: 18.96,
            },
            temps: [-8.0, -7.5, -5.0],
            active: false,
        },
    ];
    let dtype = npymap::record::dtype_for(&stations)?;
    assert_eq!(
        dtype.descr(),
        "[('name', '<U6'), ('pos', [('lat', '<f8'), ('lon', '<f8')]), ('temps', '<f4', (3,)), ('active', '|b1')]"
    );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("stations.npy");
    npymap::record::write(&path, &[2], &stations)?;

    let back = npymap::record::read::<Station>(&path)?;
    assert_eq!(back.into_vec(), stations);
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
