//! W9 (`pack --compress` of 1 GiB in 8 `<f4` members, and reading such an
//! archive back) and W10 (`info` of a 10,000-member archive), issue 16.
//! Inputs from `numpy_bench.py make-data`: `w9_0.npy` .. `w9_7.npy`
//! (smooth, quantized floats: compressible, as NumPy makes them),
//! `w9_numpy.npz` (the same arrays through `np.savez_compressed`) and
//! `w10_10000.npz` (`np.savez` of 10,000 small arrays).

use std::path::{Path, PathBuf};
use std::process::Command;

use npymap::atomic::Durability;
use npymap::npz::{self, Compression, NpzReader};

use crate::Ctx;
use crate::harness::{Bench, Role, Spec, err, remove, run, timed};

/// W9's members and their total payload bytes.
pub const W9_MEMBERS: usize = 8;
pub const W9_BYTES: u64 = 1 << 30;

fn w9_inputs(ctx: &Ctx) -> Vec<(String, PathBuf)> {
    (0..W9_MEMBERS)
        .map(|i| (format!("arr_{i}"), ctx.input(&format!("w9_{i}.npy"))))
        .collect()
}

/// Reads every file once so the page cache holds it.
fn warm(paths: &[&Path]) {
    for p in paths {
        let _ = std::fs::read(p);
    }
}

pub fn w9(bench: &mut Bench, ctx: &Ctx) {
    let inputs = w9_inputs(ctx);
    if let Some((_, missing)) = inputs.iter().find(|(_, p)| !p.exists()) {
        eprintln!(
            "  W9: {} missing (numpy_bench.py make-data)",
            missing.display()
        );
        return;
    }
    let paths: Vec<&Path> = inputs.iter().map(|(_, p)| p.as_path()).collect();
    warm(&paths);
    let out = ctx.output("w9.npz");
    let case = "pack --compress 1 GiB in 8 <f4 members (.npy files -> .npz)";
    let spec = |system: &str, role| Spec::new("W9", case, system, role, "s").bytes(W9_BYTES);
    let rep = |bench: &mut Bench, spec: Spec, n: usize, f: &dyn Fn(&Path) -> Result<(), String>| {
        bench.time(spec, 0, n, || {
            remove(&out);
            let t = timed(|| f(&out));
            remove(&out);
            t
        });
    };
    rep(
        bench,
        spec("npymap CLI (pack --compress, all cores)", Role::Subject),
        3,
        &|p| {
            run(Command::new(&ctx.cli)
                .arg("pack")
                .arg(p)
                .args(&paths)
                .arg("--compress"))
        },
    );
    for workers in [1, 2] {
        rep(
            bench,
            spec(
                &format!("npymap library (npz::pack_with_workers, {workers} thread(s))"),
                Role::Subject,
            ),
            3,
            &|p| {
                npz::pack_with_workers(
                    p,
                    &inputs,
                    Compression::Deflated,
                    Durability::Atomic,
                    workers,
                )
                .map_err(err)
            },
        );
    }
    // Untimed: one thread and all cores give the same bytes.
    let one = ctx.output("w9_one.npz");
    let same = npz::pack_with_workers(&one, &inputs, Compression::Deflated, Durability::Atomic, 1)
        .and_then(|()| npz::pack(&out, &inputs, Compression::Deflated, Durability::Atomic))
        .map_err(err)
        .and_then(|()| Ok(std::fs::read(&one).map_err(err)? == std::fs::read(&out).map_err(err)?));
    eprintln!("  W9 check: 1-thread archive == all-core archive: {same:?}");
    let size = std::fs::metadata(&out).map(|m| m.len());
    eprintln!("  W9 archive size: {size:?} bytes");
    remove(&one);
    remove(&out);

    // Reading: the archive NumPy wrote (same arrays), every member.
    let archive = ctx.input("w9_numpy.npz");
    warm(&[archive.as_path()]);
    let case = "read back every member of W9's archive (np.savez_compressed, 1 GiB)";
    let spec = |system: &str, role| Spec::new("W9", case, system, role, "s").bytes(W9_BYTES);
    bench.time(
        spec(
            "npymap (NpzReader::read_array::<f32> of each member, CRC checked)",
            Role::Subject,
        ),
        1,
        3,
        || {
            timed(|| {
                let mut npz = NpzReader::open(&archive).map_err(err)?;
                let names: Vec<String> =
                    npz.members().iter().map(|m| m.name().to_owned()).collect();
                let mut total = 0usize;
                for name in &names {
                    total += npz.read_array::<f32>(name).map_err(err)?.len();
                }
                Ok(total)
            })
        },
    );
    bench.time(
        spec(
            "npymap (NpzMap::read_array::<f32>, members on 2 threads)",
            Role::Subject,
        ),
        1,
        3,
        || {
            timed(|| {
                // SAFETY: benchmark data is not modified while mapped.
                let map = unsafe { npymap::mmap::NpzMap::open(&archive) }.map_err(err)?;
                let names: Vec<&str> = map.members().iter().map(|m| m.name()).collect();
                let (a, b): (Vec<_>, Vec<_>) =
                    names.iter().enumerate().partition(|(i, _)| i % 2 == 0);
                let read = |part: Vec<(usize, &&str)>| -> Result<usize, String> {
                    let mut total = 0;
                    for (_, name) in part {
                        total += map.read_array::<f32>(name).map_err(err)?.len();
                    }
                    Ok(total)
                };
                std::thread::scope(|s| {
                    let other = s.spawn(|| read(b));
                    let mine = read(a)?;
                    Ok(mine + other.join().map_err(|_| "thread panicked")??)
                })
            })
        },
    );
    let dir = ctx.output("w9_unpacked");
    bench.time(
        spec(
            "npymap CLI (--no-sync unpack to a directory: writes 1 GiB)",
            Role::Subject,
        ),
        0,
        3,
        || {
            let _ = std::fs::remove_dir_all(&dir);
            let t = timed(|| {
                run(Command::new(&ctx.cli)
                    .arg("--no-sync")
                    .arg("unpack")
                    .arg(&archive)
                    .arg(&dir))
            });
            let _ = std::fs::remove_dir_all(&dir);
            t
        },
    );
}

pub fn w10(bench: &mut Bench, ctx: &Ctx) {
    let archive = ctx.input("w10_10000.npz");
    if !archive.exists() {
        eprintln!(
            "  W10: {} missing (numpy_bench.py make-data)",
            archive.display()
        );
        return;
    }
    warm(&[archive.as_path()]);
    let case = "info of a 10,000-member .npz (every member's header)";
    let spec = |system: &str, role| Spec::new("W10", case, system, role, "ms");
    bench.time(spec("npymap CLI (info)", Role::Subject), 1, 10, || {
        timed(|| run(Command::new(&ctx.cli).arg("info").arg(&archive)))
    });
    bench.time(
        spec("npymap CLI (info --json)", Role::Subject),
        1,
        10,
        || {
            timed(|| {
                run(Command::new(&ctx.cli)
                    .arg("info")
                    .arg(&archive)
                    .arg("--json"))
            })
        },
    );
    bench.time(
        spec(
            "npymap library (NpzReader::open: every header, checked)",
            Role::Subject,
        ),
        1,
        10,
        || {
            timed(|| {
                let npz = NpzReader::open(&archive).map_err(err)?;
                Ok(npz.members().len())
            })
        },
    );
    bench.time(
        spec(
            "npymap library (NpzReader::open + member(name) of each)",
            Role::Subject,
        ),
        1,
        10,
        || {
            timed(|| {
                let npz = NpzReader::open(&archive).map_err(err)?;
                let mut n = 0;
                for i in 0..npz.members().len() {
                    n += npz.member(&format!("arr_{i}")).map_err(err)?.npy_len();
                }
                Ok(n)
            })
        },
    );
    let dir = ctx.output("w10_unpacked");
    bench.time(
        spec(
            "npymap CLI (--no-sync unpack of all 10,000 members)",
            Role::Reference,
        ),
        0,
        3,
        || {
            let _ = std::fs::remove_dir_all(&dir);
            let t = timed(|| {
                run(Command::new(&ctx.cli)
                    .arg("--no-sync")
                    .arg("unpack")
                    .arg(&archive)
                    .arg(&dir))
            });
            let _ = std::fs::remove_dir_all(&dir);
            t
        },
    );
}
