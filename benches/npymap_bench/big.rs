//! W2 (scan a warm 1 GiB f32 file), S (`stats`) and W3 (write 1 GiB).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use memmap2::Mmap;
use ndarray::ArrayView2;
use ndarray_npy::{ViewNpyExt, WriteNpyExt};
use npymap::mmap::{NpyMap, NpyMapMut};
use npymap::npy::NpyWriter;
use npymap::{Dtype, Elements, Header, NpyView};
use npyz::WriterBuilder;
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;

use crate::Ctx;
use crate::harness::{Bench, Role, Spec, add16, err, remove, run, sum16, sum16_iter, timed};

/// The big input: 16384 x 16384 `<f4`, C order (1 GiB of payload).
pub const BIG: &str = "f32_1g.npy";
pub const SIDE: usize = 16384;
pub const BIG_BYTES: u64 = (SIDE * SIDE * 4) as u64;
/// C1's input: 1 GiB of f8, 8192 x 16384 (made by numpy_bench.py make-data).
pub const BIG_F8: &str = "f64_1g.npy";
pub const BIG_F8_BYTES: u64 = (SIDE * SIDE * 4) as u64;

/// How the floor's 16-lane sum (and every slice or block sum in W2 and S:
/// `harness::sum16`, `add16`) is compiled; the per-element iterator rows
/// (`sum16_iter`) are not dispatched.
const AVX2_NOTE: &str = "the 16-lane sums of slices and blocks here (not of the element iterator) run compiled for AVX2 when the CPU has it (pulp dispatch), as npymap's kernels do";

/// Maps a whole file read-only.
pub fn map_file(path: &Path) -> Result<Mmap, String> {
    let file = File::open(path).map_err(err)?;
    // SAFETY: benchmark data is written before the run and not modified
    // while mapped.
    unsafe { Mmap::map(&file) }.map_err(err)
}

/// Reads the whole file once so the page cache holds it.
fn warm(path: &Path) -> Result<f64, String> {
    let map = map_file(path)?;
    Ok(map.iter().step_by(4096).map(|&b| f64::from(b)).sum())
}

/// The payload of a mapped `.npy`, as the floor finds it: the header length
/// field says where the data starts, nothing else is checked.
fn raw_payload(map: &Mmap) -> Result<&[f32], String> {
    let len = map.get(8..10).ok_or("short")?;
    let start = 10 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    bytemuck::try_cast_slice(map.get(start..).ok_or("short")?).map_err(err)
}

pub fn scan(bench: &mut Bench, ctx: &Ctx) {
    let path = ctx.input(BIG);
    let _ = warm(&path);
    let case = "sum a page-cache-warm 1 GiB f32 file (map each rep)";
    let spec = |system: &str, role| Spec::new("W2", case, system, role, "GB/s").bytes(BIG_BYTES);
    let (w, n) = (2, 10);
    bench.time(
        spec("floor: memmap2 + 16-lane f64 sum", Role::Floor).note(AVX2_NOTE),
        w,
        n,
        || timed(|| Ok(sum16(raw_payload(&map_file(&path)?)?))),
    );
    bench.time(
        spec("npymap (NpyMap + as_slice, 16-lane sum)", Role::Subject),
        w,
        n,
        || {
            timed(|| {
                // SAFETY: benchmark data is not modified while mapped.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                Ok(sum16(map.as_slice::<f32>().map_err(err)?))
            })
        },
    );
    bench.time(
        spec(
            "npymap (NpyMap + elements iter, 16-lane sum)",
            Role::Subject,
        )
        .note("portable element view (any byte order / alignment)"),
        w,
        n,
        || {
            timed(|| {
                // SAFETY: as above.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                Ok(sum16_iter(map.elements::<f32>().map_err(err)?.iter()))
            })
        },
    );
    bench.time(
        spec(
            "npymap (NpyMap + elements copy_to_slice, 16-lane sum)",
            Role::Subject,
        )
        .note("portable element view, bulk API (blocks of 4096)"),
        w,
        n,
        || {
            timed(|| {
                // SAFETY: as above.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                sum16_bulk(&map.elements::<f32>().map_err(err)?)
            })
        },
    );
    bench.time(
        spec(
            "npymap (NpyMap + elements for_each_block, 16-lane sum)",
            Role::Subject,
        )
        .note("portable element view, block API (zero-copy when native)"),
        w,
        n,
        || {
            timed(|| {
                // SAFETY: as above.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                Ok(sum16_blocks(&map.elements::<f32>().map_err(err)?))
            })
        },
    );
    bench.time(
        spec(
            "ndarray-npy (view_npy + .sum(), f32 accumulation)",
            Role::Peer,
        ),
        w,
        n,
        || {
            timed(|| {
                let map = map_file(&path)?;
                Ok(ArrayView2::<f32>::view_npy(&map).map_err(err)?.sum())
            })
        },
    );
    bench.time(
        spec("ndarray-npy (view_npy + as_slice, 16-lane sum)", Role::Peer),
        w,
        n,
        || {
            timed(|| {
                let map = map_file(&path)?;
                let view = ArrayView2::<f32>::view_npy(&map).map_err(err)?;
                Ok(sum16(view.as_slice().ok_or("not contiguous")?))
            })
        },
    );
    bench.time(
        spec("npyz (NpyFile over mapped bytes, 16-lane sum)", Role::Peer),
        1,
        3,
        || {
            timed(|| {
                let map = map_file(&path)?;
                let data = npyz::NpyFile::new(&map[..])
                    .map_err(err)?
                    .data::<f32>()
                    .map_err(err)?;
                Ok(sum16_iter(data.map(|x| x.unwrap_or(f32::NAN))))
            })
        },
    );
    bench.time(
        spec("ferray-io (memmap_readonly, 16-lane sum)", Role::Peer),
        w,
        n,
        || {
            timed(|| {
                let map = ferray_io::memmap::memmap_readonly::<f32, _>(&path).map_err(err)?;
                Ok(sum16(map.as_slice()))
            })
        },
    );
    scan_mapped_once(bench, &path);
    // The design peer on the same bytes, as a .safetensors file.
    let st = ctx.output("f32_1g.safetensors");
    let made = map_file(&path).and_then(|map| {
        let bytes = bytemuck::cast_slice::<f32, u8>(raw_payload(&map)?);
        let view =
            TensorView::new(safetensors::Dtype::F32, vec![SIDE, SIDE], bytes).map_err(err)?;
        safetensors::serialize_to_file([("x", view)], None, &st).map_err(err)
    });
    let _ = warm(&st);
    bench.time(
        spec(
            "safetensors (memmap2 + deserialize, 16-lane sum)",
            Role::Peer,
        ),
        w,
        n,
        || {
            made.clone()?;
            timed(|| {
                let map = map_file(&st)?;
                let tensors = SafeTensors::deserialize(&map).map_err(err)?;
                let data = tensors.tensor("x").map_err(err)?.data();
                Ok(sum16(bytemuck::try_cast_slice(data).map_err(err)?))
            })
        },
    );
    remove(&st);
    scan_portable(bench);
    // Memory bandwidth for context: copy 256 MiB between warm heap buffers.
    let src = vec![1u8; 256 << 20];
    let mut dst = vec![0u8; 256 << 20];
    bench.time(
        Spec::new(
            "W2",
            "memcpy 256 MiB heap to heap (context)",
            "memcpy",
            Role::Reference,
            "GB/s",
        )
        .bytes(256 << 20),
        2,
        10,
        || {
            let start = Instant::now();
            dst.copy_from_slice(&src);
            std::hint::black_box(&mut dst);
            Ok(start.elapsed())
        },
    );
}

/// The same scan with one mapping kept across repetitions, so the page
/// tables are warm and only the reduction and memory bandwidth are timed.
fn scan_mapped_once(bench: &mut Bench, path: &Path) {
    let case = "sum a warm 1 GiB f32 file, mapping kept across reps";
    let spec = |system: &str, role| Spec::new("W2", case, system, role, "GB/s").bytes(BIG_BYTES);
    let (w, n) = (2, 10);
    let Ok(raw) = map_file(path) else { return };
    // SAFETY: benchmark data is not modified while mapped.
    let Ok(map) = (unsafe { NpyMap::open(path) }) else {
        return;
    };
    bench.time(
        spec("floor: memmap2 + 16-lane f64 sum", Role::Floor).note(AVX2_NOTE),
        w,
        n,
        || timed(|| Ok(sum16(raw_payload(&raw)?))),
    );
    bench.time(
        spec("npymap (as_slice, 16-lane sum)", Role::Subject),
        w,
        n,
        || timed(|| Ok(sum16(map.as_slice::<f32>().map_err(err)?))),
    );
    bench.time(
        spec("npymap (elements iter, 16-lane sum)", Role::Subject),
        w,
        n,
        || timed(|| Ok(sum16_iter(map.elements::<f32>().map_err(err)?.iter()))),
    );
    bench.time(
        spec(
            "npymap (elements copy_to_slice, 16-lane sum)",
            Role::Subject,
        )
        .note("bulk API, blocks of 4096"),
        w,
        n,
        || timed(|| sum16_bulk(&map.elements::<f32>().map_err(err)?)),
    );
    bench.time(
        spec(
            "npymap (elements for_each_block, 16-lane sum)",
            Role::Subject,
        )
        .note("block API, zero-copy when native"),
        w,
        n,
        || timed(|| Ok(sum16_blocks(&map.elements::<f32>().map_err(err)?))),
    );
    bench.time(
        spec(
            "ndarray-npy (view_npy + .sum(), f32 accumulation)",
            Role::Peer,
        ),
        w,
        n,
        || timed(|| Ok(ArrayView2::<f32>::view_npy(&raw).map_err(err)?.sum())),
    );
}

/// The 16-lane sum through the portable view's bulk API: blocks of 4096
/// elements copied (and swapped, if need be) into a stack buffer.
fn sum16_bulk(el: &Elements<'_, f32>) -> Result<f64, String> {
    let mut buf = [0f32; 4096];
    let mut acc = [0f64; 16];
    let mut start = 0;
    while start < el.len() {
        let n = buf.len().min(el.len() - start);
        let block = &mut buf[..n];
        el.copy_to_slice(start, block).map_err(err)?;
        add16(&mut acc, block);
        start += n;
    }
    Ok(acc.iter().sum())
}

/// The 16-lane sum through the portable view's block API.
fn sum16_blocks(el: &Elements<'_, f32>) -> f64 {
    let mut acc = [0f64; 16];
    el.for_each_block(|block| add16(&mut acc, block));
    acc.iter().sum()
}

/// The portable view's goal (issue 16): big-endian or misaligned data
/// scanned through the bulk API at >= 0.8x the native slice scan of the
/// same values, all in memory (256 MiB), so only the view is measured.
fn scan_portable(bench: &mut Bench) {
    let count = 64usize << 20;
    let bytes = (count * 4) as u64;
    let native: Vec<f32> = (0..count)
        .map(|i| (i % 1000) as f32 * 0.5 - 250.0)
        .collect();
    let le: &[u8] = bytemuck::cast_slice(&native);
    let mut big = Vec::with_capacity(le.len());
    big.extend(native.iter().flat_map(|x| x.to_be_bytes()));
    let mut odd = Vec::with_capacity(le.len() + 1);
    odd.push(0u8);
    odd.extend_from_slice(le);
    let odd = odd.get(1..).unwrap_or_default();
    let case = "sum 256 MiB of f32 in memory: big-endian / misaligned through the portable view";
    let spec = |system: &str, role| Spec::new("W2", case, system, role, "GB/s").bytes(bytes);
    let (w, n) = (2, 10);
    bench.time(
        spec("floor: native &[f32], 16-lane f64 sum", Role::Floor).note(AVX2_NOTE),
        w,
        n,
        || timed(|| Ok(sum16(&native))),
    );
    for (label, descr, payload) in [("big-endian", ">f4", &big[..]), ("misaligned", "<f4", odd)] {
        bench.time(
            spec(
                &format!("npymap (elements copy_to_slice, {label}, 16-lane sum)"),
                Role::Subject,
            )
            .note("bulk API, blocks of 4096"),
            w,
            n,
            || timed(|| sum16_bulk(&view(descr, payload, count)?.elements().map_err(err)?)),
        );
        bench.time(
            spec(
                &format!("npymap (elements for_each_block, {label}, 16-lane sum)"),
                Role::Subject,
            )
            .note("block API"),
            w,
            n,
            || {
                timed(|| {
                    Ok(sum16_blocks(
                        &view(descr, payload, count)?.elements().map_err(err)?,
                    ))
                })
            },
        );
        bench.time(
            spec(
                &format!("npymap (elements iter, {label}, 16-lane sum)"),
                Role::Subject,
            ),
            w,
            n,
            || {
                timed(|| {
                    let v = view(descr, payload, count)?;
                    Ok(sum16_iter(v.elements::<f32>().map_err(err)?.iter()))
                })
            },
        );
    }
}

/// A view of `count` elements of `descr` over `payload`.
fn view<'a>(descr: &str, payload: &'a [u8], count: usize) -> Result<NpyView<'a>, String> {
    let header = Header {
        dtype: Dtype::from_descr(descr).map_err(err)?,
        fortran_order: false,
        shape: vec![count as u64],
    };
    NpyView::from_parts(std::borrow::Cow::Owned(header), payload, 0).map_err(err)
}

pub fn stats(bench: &mut Bench, ctx: &Ctx) {
    let path = ctx.input(BIG);
    let _ = warm(&path);
    let case = "stats (count, min, max, mean, NaNs) of a warm 1 GiB f32 file";
    let spec = |system: &str, role| Spec::new("S", case, system, role, "GB/s").bytes(BIG_BYTES);
    bench.time(
        spec("floor: memmap2 + 16-lane f64 sum", Role::Floor).note(AVX2_NOTE),
        2,
        10,
        || timed(|| Ok(sum16(raw_payload(&map_file(&path)?)?))),
    );
    bench.time(
        spec("npymap CLI (npymap stats --json)", Role::Subject),
        1,
        5,
        || timed(|| run(Command::new(&ctx.cli).arg("stats").arg(&path).arg("--json"))),
    );
    bench.time(
        spec(
            "npymap library (convert::stats::stats over NpyMap)",
            Role::Subject,
        ),
        1,
        5,
        || {
            timed(|| {
                // SAFETY: benchmark data is not modified while mapped.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                let view = map.view();
                npymap::convert::stats::stats(view.dtype(), view.payload(), &mut |_| {})
                    .map_err(err)
            })
        },
    );
}

/// The array W3 writes: the big file's values, in memory, as
/// `npymap::read` returns them. Like the array NumPy's row saves (from
/// `np.load`), its buffer is backed by huge pages, which makes every
/// system's write of it (the floor's too) cheaper than from 4 KiB pages.
fn big_values(path: &Path) -> Result<Vec<f32>, String> {
    Ok(npymap::read::<f32>(path).map_err(err)?.into_vec())
}

pub fn write(bench: &mut Bench, ctx: &Ctx) {
    let values = match big_values(&ctx.input(BIG)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("  W3: {e}");
            return;
        }
    };
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let header = Header {
        dtype: Dtype::from_descr("<f4").unwrap_or_else(|e| panic!("{e}")),
        fortran_order: false,
        shape: vec![SIDE as u64, SIDE as u64],
    };
    let out = ctx.output("w3.npy");
    let case = "write 1 GiB f32 from memory to a new .npy (page cache)";
    let spec = |system: &str, role| Spec::new("W3", case, system, role, "s").bytes(BIG_BYTES);
    let (w, n) = (1, 5);
    // Each repetition writes a new file: remove the last one off the clock.
    let rep = |bench: &mut Bench, spec: Spec, n: usize, f: &dyn Fn(&Path) -> Result<(), String>| {
        bench.time(spec, w, n, || {
            remove(&out);
            let t = timed(|| f(&out));
            remove(&out);
            t
        });
    };
    rep(bench, spec("floor: std::fs::write", Role::Floor), n, &|p| {
        std::fs::write(p, bytes).map_err(err)
    });
    rep(
        bench,
        spec(
            "npymap (npy::save: temp file + rename, no fsync)",
            Role::Subject,
        )
        .note("one write(2) of the caller's bytes after the header"),
        n,
        &|p| npymap::npy::save(p, &header, &values).map_err(err),
    );
    rep(
        bench,
        spec("npymap (NpyWriter over BufWriter<File>)", Role::Subject),
        n,
        &|p| {
            let file = File::create(p).map_err(err)?;
            let mut w = NpyWriter::new(BufWriter::new(file), &header).map_err(err)?;
            w.write_slice(&values).map_err(err)?;
            w.finish().map_err(err)?.flush().map_err(err)
        },
    );
    rep(
        bench,
        spec("npymap (NpyMapMut::create + copy, no flush)", Role::Subject)
            .note("writes through a shared map"),
        n,
        &|p| {
            // SAFETY: the file is ours and not touched by anyone else while mapped.
            let mut map = unsafe { NpyMapMut::create(p, &header) }.map_err(err)?;
            map.as_slice_mut::<f32>()
                .map_err(err)?
                .copy_from_slice(&values);
            Ok(())
        },
    );
    rep(
        bench,
        spec("ndarray-npy (write_npy of a view)", Role::Peer),
        n,
        &|p| {
            let view = ArrayView2::from_shape((SIDE, SIDE), &values[..]).map_err(err)?;
            let file = BufWriter::new(File::create(p).map_err(err)?);
            view.write_npy(file).map_err(err)
        },
    );
    rep(
        bench,
        spec("npyz (WriteOptions + extend)", Role::Peer),
        3,
        &|p| {
            let file = BufWriter::new(File::create(p).map_err(err)?);
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[SIDE as u64, SIDE as u64])
                .writer(file)
                .begin_nd()
                .map_err(err)?;
            w.extend(values.iter().copied()).map_err(err)?;
            w.finish().map_err(err)
        },
    );
    match ferray_core::Array::<f32, ferray_core::Ix2>::from_vec(
        ferray_core::Ix2::new([SIDE, SIDE]),
        values.clone(),
    ) {
        Ok(arr) => rep(bench, spec("ferray-io (save)", Role::Peer), n, &|p| {
            ferray_io::save(p, &arr).map_err(err)
        }),
        Err(e) => eprintln!("  W3 ferray: {e}"),
    }
    rep(
        bench,
        spec("safetensors (serialize_to_file)", Role::Peer),
        n,
        &|p| {
            let view =
                TensorView::new(safetensors::Dtype::F32, vec![SIDE, SIDE], bytes).map_err(err)?;
            safetensors::serialize_to_file([("x", view)], None, p).map_err(err)
        },
    );

    let case = "write 1 GiB f32 from memory to a new .npy, durable (fsync)";
    let spec = |system: &str, role| Spec::new("W3", case, system, role, "s").bytes(BIG_BYTES);
    rep(
        bench,
        spec(
            "floor: fs::write + fsync (File::write_all + sync_all)",
            Role::Floor,
        ),
        3,
        &|p| {
            let mut file = File::create(p).map_err(err)?;
            file.write_all(bytes).map_err(err)?;
            file.sync_all().map_err(err)
        },
    );
    rep(
        bench,
        spec(
            "npymap (npy::save_durable: temp file + fsync + rename + dir fsync)",
            Role::Subject,
        ),
        3,
        &|p| npymap::npy::save_durable(p, &header, &values).map_err(err),
    );
}

/// This thread's CPU time (user + system) in seconds.
fn thread_cpu() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Median thread CPU time of `reps` runs of `f` after one warm-up.
fn cpu_median(reps: usize, mut f: impl FnMut() -> Result<f64, String>) -> Result<f64, String> {
    std::hint::black_box(f()?);
    let mut xs = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = thread_cpu();
        std::hint::black_box(f()?);
        xs.push(thread_cpu() - t);
    }
    xs.sort_by(f64::total_cmp);
    Ok(xs.get(reps / 2).copied().unwrap_or(f64::NAN))
}

/// W2/S in thread CPU time (see `--cpu-scan` in main): each subject's
/// CPU-time ratio against its floor, measured back to back.
pub fn cpu_scan(path: &Path) {
    let report = |what: &str, floor: Result<f64, String>, t: Result<f64, String>| match (floor, t) {
        (Ok(f), Ok(t)) => eprintln!("  {what:58} {t:.4} s cpu, {:.2}x floor throughput", f / t),
        (Err(e), _) | (_, Err(e)) => eprintln!("  {what}: {e}"),
    };
    let _ = warm(path);
    let reps = 7;
    let Ok(raw) = map_file(path) else { return };
    // SAFETY: benchmark data is not modified while mapped.
    let Ok(map) = (unsafe { NpyMap::open(path) }) else {
        return;
    };
    let floor = || Ok(sum16(raw_payload(&raw)?));
    let el = || map.elements::<f32>().map_err(err);
    report(
        "mapped once: elements for_each_block",
        cpu_median(reps, floor),
        cpu_median(reps, || Ok(sum16_blocks(&el()?))),
    );
    report(
        "mapped once: elements copy_to_slice",
        cpu_median(reps, floor),
        cpu_median(reps, || sum16_bulk(&el()?)),
    );
    report(
        "mapped once: elements iter",
        cpu_median(reps, floor),
        cpu_median(reps, || Ok(sum16_iter(el()?.iter()))),
    );
    report(
        "mapped once: stats library",
        cpu_median(reps, floor),
        cpu_median(reps, || {
            let view = map.view();
            npymap::convert::stats::stats(view.dtype(), view.payload(), &mut |_| {})
                .map_err(err)
                .map(|s| s.mean.unwrap_or(0.0))
        }),
    );
    report(
        "map each rep: stats library",
        cpu_median(reps, || Ok(sum16(raw_payload(&map_file(path)?)?))),
        cpu_median(reps, || {
            // SAFETY: as above.
            let map = unsafe { NpyMap::open(path) }.map_err(err)?;
            let view = map.view();
            npymap::convert::stats::stats(view.dtype(), view.payload(), &mut |_| {})
                .map_err(err)
                .map(|s| s.mean.unwrap_or(0.0))
        }),
    );
    let count = 64usize << 20;
    let native: Vec<f32> = (0..count)
        .map(|i| (i % 1000) as f32 * 0.5 - 250.0)
        .collect();
    let le: &[u8] = bytemuck::cast_slice(&native);
    let big: Vec<u8> = native.iter().flat_map(|x| x.to_be_bytes()).collect();
    let mut odd = Vec::with_capacity(le.len() + 1);
    odd.push(0u8);
    odd.extend_from_slice(le);
    let odd = odd.get(1..).unwrap_or_default();
    let floor = || Ok(sum16(&native));
    for (label, descr, payload) in [("big-endian", ">f4", &big[..]), ("misaligned", "<f4", odd)] {
        let el = || view(descr, payload, count)?.elements::<f32>().map_err(err);
        report(
            &format!("256 MiB {label}: for_each_block"),
            cpu_median(reps, floor),
            cpu_median(reps, || Ok(sum16_blocks(&el()?))),
        );
        report(
            &format!("256 MiB {label}: copy_to_slice"),
            cpu_median(reps, floor),
            cpu_median(reps, || sum16_bulk(&el()?)),
        );
        report(
            &format!("256 MiB {label}: iter"),
            cpu_median(reps, floor),
            cpu_median(reps, || Ok(sum16_iter(el()?.iter()))),
        );
    }
}
