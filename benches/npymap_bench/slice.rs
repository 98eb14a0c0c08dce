//! SL (issue 15 §2): `npymap slice` of 1% of the rows of the 4 GiB f32
//! file W6 uses, time and peak RSS, against a floor that reads those rows
//! with `pread` and writes them (in this process) and against NumPy
//! (`numpy_bench.py`: mmap, slice, `np.save`, in a child process).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use crate::Ctx;
use crate::harness::{Bench, Role, Spec, err, peak_rss, remove};

/// The two slices: rows `::100` (328 rows of 128 KiB, spread over the
/// file) and the same number of rows in one run.
pub const CASES: [(&str, &str); 2] = [
    (
        "::100",
        "slice rows ::100 (1% of rows, 42 MB) of a 4 GiB f32 .npy",
    ),
    (
        "16384:16712",
        "slice rows 16384:16712 (1% of rows, 42 MB) of a 4 GiB f32 .npy",
    ),
];

/// Reads rows `rows` of the `side`-wide f32 C array at `offset` with one
/// `pread` each and writes them after a copy of the header.
fn floor(
    input: &File,
    head: &[u8],
    rows: &[u64],
    side: u64,
    out: &std::path::Path,
) -> Result<(), String> {
    let row_bytes = side * 4;
    let mut dst = std::io::BufWriter::with_capacity(1 << 20, File::create(out).map_err(err)?);
    dst.write_all(head).map_err(err)?;
    let mut buf = vec![0u8; row_bytes as usize];
    for &r in rows {
        input
            .read_exact_at(&mut buf, head.len() as u64 + r * row_bytes)
            .map_err(err)?;
        dst.write_all(&buf).map_err(err)?;
    }
    dst.flush().map_err(err)
}

pub fn slice(bench: &mut Bench, ctx: &Ctx) {
    let input = ctx.input("f32_4g.npy");
    if !input.exists() {
        eprintln!(
            "  SL: {} missing (make it with numpy_bench.py make-data --big4)",
            input.display()
        );
        return;
    }
    let out = ctx.output("sl.npy");
    let input_s = input.to_string_lossy().into_owned();
    let out_s = out.to_string_lossy().into_owned();
    let Ok(file) = File::open(&input) else {
        eprintln!("  SL: cannot open {}", input.display());
        return;
    };
    let side = 32768u64;
    // The header np.save writes for a (328, 32768) <f4 array (the floor
    // copies NumPy's 128-byte header; the bytes after it are what counts).
    let head = {
        let mut h = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (328, 32768), }".to_vec();
        h.resize(127, b' ');
        h.push(b'\n');
        h
    };
    for (index, case) in CASES {
        let rows: Vec<u64> = if index == "::100" {
            (0..side).step_by(100).collect()
        } else {
            (16384..16712).collect()
        };
        remove(&out);
        let start = std::time::Instant::now();
        let res = floor(&file, &head, &rows, side, &out);
        let secs = start.elapsed().as_secs_f64();
        remove(&out);
        bench.values(
            Spec::new(
                "SL",
                &format!("{case} (wall time, 1 run)"),
                "floor: pread each row + write (in process)",
                Role::Floor,
                "s",
            ),
            "time",
            res.map(|()| vec![secs]),
        );
        let start = std::time::Instant::now();
        let rss = peak_rss(&ctx.cli, &["slice", &input_s, &out_s, index]);
        let secs = start.elapsed().as_secs_f64();
        remove(&out);
        let ok = rss.is_ok();
        let system = "npymap CLI (slice)";
        bench.values(
            Spec::new(
                "SL",
                &format!("peak RSS, {case}"),
                system,
                Role::Subject,
                "MiB",
            ),
            "rss",
            rss.map(|r| vec![r]),
        );
        if ok {
            bench.values(
                Spec::new(
                    "SL",
                    &format!("{case} (wall time, 1 run)"),
                    system,
                    Role::Subject,
                    "s",
                ),
                "time",
                Ok(vec![secs]),
            );
        }
    }
}
