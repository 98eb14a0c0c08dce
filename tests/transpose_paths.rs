//! Memory-order conversion (C <-> Fortran) through every path the
//! transpose has (spec/write-path.md §2), byte for byte against NumPy's
//! `np.save(np.asfortranarray(a))` / `np.save(np.ascontiguousarray(a))`:
//!
//! - read in place from a memory map ([`NpyMap`]) and from bytes in memory
//!   ([`NpyView`]): bands of whole output rows, one write each, or windows
//!   when an output row is longer than a band;
//! - through `read_at` only (a payload that does not offer in-place reads,
//!   as the CLI's `pread` input): bounded windows;
//! - the CLI (`npymap convert IN OUT --order F|C`).
//!
//! On odd shapes (1 x N, N x 1, sizes that are no multiple of the tile,
//! 3-D and 4-D, empty), every itemsize class (1, 2, 4, 8, 16 bytes, odd
//! sizes from strings and records) and both byte orders.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::cli::{npymap, ok, python};
use npymap::atomic::Durability;
use npymap::convert::{ConvertOptions, Payload, convert_to_file};
use npymap::mmap::NpyMap;
use npymap::view::NpyView;

/// Writes `in_N.npy` (the input) and `want_N.npy` (NumPy's conversion) for
/// each case, and prints `N order` per line (`order` is what to convert to).
const MAKE: &str = r#"
import numpy as np
rng = np.random.default_rng(16)
dtypes = ['u1', '<i2', '>i2', '<f4', '>f4', '<f8', '>i8', '<c16', '>c16', 'S3', '<U3',
          [('a', '<i2'), ('b', '>f8')]]
shapes = [(1, 37), (37, 1), (70, 33), (65, 129), (3, 5, 7), (2, 3, 4, 5), (33, 1, 70), (0, 3),
          (1,), (5,)]
cases = []
for dt in dtypes:
    for shape in shapes:
        cases.append((dt, shape))
# An output row longer than a band (4 MiB): the in-place path uses windows.
cases.append(('u1', (4 * 1024 * 1024 + 3, 2)))
cases.append(('<f4', (2, 3, 1024 * 1024 + 5)))
# The last axis as long as a 32 MiB window's side plus its padding (2896 +
# 16 for 4-byte elements), with several middle rows: the pread path once
# read such a strip as one run and left rows short (wrong output).
cases.append(('>f4', (2, 3, 2912)))
n = 0
for dt, shape in cases:
    dt = np.dtype(dt)
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * dt.itemsize, dtype=np.uint8)
    a = raw.view(dt).reshape(shape) if dt.itemsize else np.zeros(shape, dt)
    for src_f in (False, True):
        if src_f and len(shape) < 2:
            continue
        src = np.asfortranarray(a) if src_f else np.ascontiguousarray(a)
        np.save(f'in_{n}.npy', src)
        want = np.ascontiguousarray(a) if src_f else np.asfortranarray(a)
        np.save(f'want_{n}.npy', want)
        print(n, 'C' if src_f else 'F')
        n += 1
"#;

/// A payload that offers only `read_at` (as a `pread` file input does).
struct ByReadAt<'a>(NpyView<'a>);

impl Payload for ByReadAt<'_> {
    fn header(&self) -> &npymap::Header {
        self.0.header()
    }
    fn payload(&self) -> &[u8] {
        self.0.payload()
    }
}

fn check(got: &Path, want: &Path, what: &str) {
    let (g, w) = (std::fs::read(got).unwrap(), std::fs::read(want).unwrap());
    assert!(
        g == w,
        "{what}: {} differs from NumPy's {} ({} vs {} bytes, first difference at {:?})",
        got.display(),
        want.display(),
        g.len(),
        w.len(),
        g.iter().zip(&w).position(|(a, b)| a != b)
    );
}

#[test]
fn every_transpose_path_matches_numpy_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let listing = python(MAKE, d);
    let mut cases = 0;
    for line in listing.lines() {
        let (n, order) = line.split_once(' ').unwrap();
        let input = d.join(format!("in_{n}.npy"));
        let want = d.join(format!("want_{n}.npy"));
        let opts = ConvertOptions {
            fortran_order: Some(order == "F"),
            ..Default::default()
        };
        let bytes = std::fs::read(&input).unwrap();
        let what = |path: &str| format!("case {n} (to {order}) via {path}");

        // SAFETY: the test's own file, not modified while mapped.
        let map = unsafe { NpyMap::open(&input) }.unwrap();
        let out = d.join(format!("map_{n}.npy"));
        convert_to_file(&map, &out, &opts, Durability::Atomic).unwrap();
        check(&out, &want, &what("NpyMap (in place)"));

        let view = NpyView::new(&bytes).unwrap();
        let out = d.join(format!("view_{n}.npy"));
        convert_to_file(&view, &out, &opts, Durability::Atomic).unwrap();
        check(&out, &want, &what("NpyView (in place)"));

        let windowed = ByReadAt(NpyView::new(&bytes).unwrap());
        let out = d.join(format!("readat_{n}.npy"));
        convert_to_file(&windowed, &out, &opts, Durability::Atomic).unwrap();
        check(&out, &want, &what("read_at windows"));

        let out = d.join(format!("cli_{n}.npy"));
        ok(
            &npymap(&[
                OsStr::new("convert"),
                input.as_os_str(),
                out.as_os_str(),
                OsStr::new("--order"),
                OsStr::new(order),
            ]),
            &what("CLI"),
        );
        check(&out, &want, &what("CLI"));
        cases += 1;
    }
    // 12 dtypes x (8 shapes of 2+ dims in both orders + 2 1-D) + 3 extra shapes x 2.
    assert_eq!(cases, 12 * (8 * 2 + 2) + 6);
}
