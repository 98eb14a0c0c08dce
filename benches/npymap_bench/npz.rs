//! W7: member 7 of a stored 10 x 50 MB archive written by `np.savez`.

use std::borrow::Cow;
use std::fs::File;
use std::ops::Range;

use ndarray::{Array1, OwnedRepr};
use npymap::NpyView;
use npymap::npz::{NpzArchive, NpzReader};

use crate::Ctx;
use crate::big::map_file;
use crate::harness::{Bench, Role, Spec, err, timed};

const MEMBER: &str = "arr_7";

fn member_range(path: &std::path::Path) -> Result<Range<usize>, String> {
    let npz = NpzReader::open(path).map_err(err)?;
    let r = npz
        .member(MEMBER)
        .map_err(err)?
        .payload_range()
        .ok_or("not stored")?;
    Ok(usize::try_from(r.start).map_err(err)?..usize::try_from(r.end).map_err(err)?)
}

/// `src` copied into a fresh `Vec` whose pages are advised for
/// transparent huge pages first (as NumPy's allocator and npymap's typed
/// reads do for buffers of 4 MiB or more).
fn huge_page_copy(src: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; src.len()];
    #[cfg(target_os = "linux")]
    {
        let at = v.as_mut_ptr() as usize;
        let start = at.next_multiple_of(4096);
        let end = (at + v.len()) / 4096 * 4096;
        if end > start {
            // SAFETY: the range is inside `v`, owned here; the advice
            // changes how faults are served, never the bytes.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    v.copy_from_slice(src);
    v
}

pub fn npz(bench: &mut Bench, ctx: &Ctx) {
    let path = ctx.input("npz_10x50mb.npz");
    let range = match member_range(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("  W7: {e}");
            return;
        }
    };
    let bytes = range.len() as u64;
    let _ = std::fs::read(&path); // page cache warm
    let full = "npz: full read of member 7 (50 MB f8) into memory";
    let spec = |system: &str, role| Spec::new("W7", full, system, role, "ms").bytes(bytes);
    let (w, n) = (3, 30);
    bench.time(
        spec("floor: mmap + copy the member's bytes", Role::Floor),
        w,
        n,
        || {
            timed(|| {
                let map = map_file(&path)?;
                Ok(map.get(range.clone()).ok_or("short")?.to_vec())
            })
        },
    );
    bench.time(
        spec(
            "floor: mmap + copy the member's bytes into a huge-page Vec",
            Role::Floor,
        ),
        w,
        n,
        || {
            timed(|| {
                let map = map_file(&path)?;
                let src = map.get(range.clone()).ok_or("short")?;
                Ok(huge_page_copy(src))
            })
        },
    );
    bench.time(
        spec(
            "npymap (NpzReader::read_array::<f64>, CRC checked)",
            Role::Subject,
        ),
        w,
        n,
        || {
            timed(|| {
                let mut npz = NpzReader::open(&path).map_err(err)?;
                npz.read_array::<f64>(MEMBER).map_err(err)
            })
        },
    );
    bench.time(
        spec(
            "npymap (NpzReader::read_payload, CRC checked)",
            Role::Subject,
        ),
        w,
        n,
        || {
            timed(|| {
                let mut npz = NpzReader::open(&path).map_err(err)?;
                npz.read_payload(MEMBER).map_err(err)
            })
        },
    );
    bench.time(
        spec("npymap (mmap + NpzArchive + to_vec, no CRC)", Role::Subject),
        w,
        n,
        || {
            timed(|| {
                let map = map_file(&path)?;
                let npz = NpzArchive::from_bytes(&map).map_err(err)?;
                let m = npz.member(MEMBER).map_err(err)?;
                let view = NpyView::from_parts(
                    Cow::Borrowed(&m.header().header),
                    npz.payload(MEMBER).map_err(err)?,
                    0,
                )
                .map_err(err)?;
                view.to_vec::<f64>().map_err(err)
            })
        },
    );
    bench.time(
        spec("ndarray-npy (NpzReader::by_name)", Role::Peer),
        w,
        n,
        || {
            timed(|| {
                let mut npz =
                    ndarray_npy::NpzReader::new(File::open(&path).map_err(err)?).map_err(err)?;
                let a: Array1<f64> = npz.by_name::<OwnedRepr<f64>, _>(MEMBER).map_err(err)?;
                Ok(a)
            })
        },
    );
    bench.time(
        spec("npyz (NpzArchive::by_name + into_vec)", Role::Peer),
        w,
        n,
        || {
            timed(|| {
                let mut npz = npyz::npz::NpzArchive::open(&path).map_err(err)?;
                let npy = npz.by_name(MEMBER).map_err(err)?.ok_or("no member")?;
                npy.into_vec::<f64>().map_err(err)
            })
        },
    );
    bench.time(spec("ferray-io (NpzFile::get)", Role::Peer), w, n, || {
        timed(|| {
            let mut npz = ferray_io::NpzFile::open(&path).map_err(err)?;
            npz.get(MEMBER).map_err(err)
        })
    });

    let first = "npz: first element of member 7";
    let spec = |system: &str, role| Spec::new("W7", first, system, role, "us");
    bench.time(
        spec(
            "floor: open + mmap + read 8 bytes at the known offset",
            Role::Floor,
        ),
        100,
        1000,
        || {
            timed(|| {
                let map = map_file(&path)?;
                let b = map.get(range.start..range.start + 8).ok_or("short")?;
                Ok(f64::from_le_bytes(b.try_into().map_err(err)?))
            })
        },
    );
    bench.time(
        spec(
            "npymap (mmap + NpzArchive + elements().get(0))",
            Role::Subject,
        ),
        100,
        1000,
        || {
            timed(|| {
                let map = map_file(&path)?;
                let npz = NpzArchive::from_bytes(&map).map_err(err)?;
                let view = NpyView::new(npz.member_bytes(MEMBER).map_err(err)?).map_err(err)?;
                view.elements::<f64>()
                    .map_err(err)?
                    .get(0)
                    .ok_or_else(|| "empty".to_string())
            })
        },
    );
}
