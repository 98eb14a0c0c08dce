//! Text (`U`), byte strings (`S`) and dates (`M8` / `m8`), read and written.
//!
//! NumPy: `np.save("names.npy", np.array(["ada", "grace"]))`,
//! `np.load("testdata/npy/S5.npy")`, `np.load("testdata/npy/M8_D.npy")`.

use npymap::{DateTime64, TimeDelta64, TimeUnit};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;

    // Text: the width is the longest value, as np.array gives ('<U5').
    let names = dir.path().join("names.npy");
    npymap::write(&names, &[2], &["ada", "grace"])?;
    let back = npymap::read::<String>(&names)?;
    assert_eq!(back.as_slice(), ["ada", "grace"]);

    // Byte strings lose their trailing NULs, as in NumPy.
    let s = npymap::read::<Vec<u8>>("testdata/npy/S5.npy")?;
    assert_eq!(s.as_slice()[1], b"ab");

    // Dates: a count of units since 1970-01-01 (2000-01-01, 1970-01-01, NaT,
    // 1900-03-04 here); NaT is `None` from `get`.
    let d = npymap::read::<DateTime64>("testdata/npy/M8_D.npy")?;
    let days: Vec<Option<i64>> = d.as_slice().iter().map(DateTime64::get).collect();
    assert_eq!(days, [Some(10957), Some(0), None, Some(-25505)]);
    assert_eq!(d.as_slice()[0].unit, TimeUnit::Days);

    // Writing dates: every value in one unit.
    let spans = dir.path().join("spans.npy");
    let values = [
        TimeDelta64::new(90, TimeUnit::Seconds),
        TimeDelta64::nat(TimeUnit::Seconds),
    ];
    npymap::write(&spans, &[2], &values)?;
    assert_eq!(npymap::read::<TimeDelta64>(&spans)?.as_slice(), values);

    // The same decoding works on any view: here a file's bytes in memory.
    let bytes = std::fs::read("testdata/npy/U3_be.npy")?;
    let view = npymap::NpyView::new(&bytes)?;
    assert_eq!(view.decode::<String>()?.as_slice()[2], "日本");
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
