//! W1 (open latency of a small file) and W8 (header parse throughput).

use std::collections::HashMap;
use std::fs::File;
use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use memmap2::Mmap;
use ndarray::ArrayView1;
use ndarray_npy::ViewNpyExt;
use npymap::mmap::NpyMap;
use safetensors::tensor::TensorView;
use safetensors::{Dtype as StDtype, SafeTensors};

use crate::Ctx;
use crate::harness::{Bench, Role, Spec, err, timed};

const W1_CASE: &str = "open 1000 x f8 .npy mapped, parse, typed view, read x[500], close";

/// Maps a whole file read-only.
fn map(path: &Path) -> Result<(File, Mmap), String> {
    let file = File::open(path).map_err(err)?;
    // SAFETY: benchmark data is written before the run and not modified
    // while mapped.
    let map = unsafe { Mmap::map(&file) }.map_err(err)?;
    Ok((file, map))
}

/// Writes a safetensors file holding one f64 tensor `x` of `values`.
fn write_safetensors(path: &Path, values: &[f64]) -> Result<(), String> {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    let view = TensorView::new(StDtype::F64, vec![values.len()], bytes).map_err(err)?;
    safetensors::serialize_to_file([("x", view)], None, path).map_err(err)
}

pub fn open_latency(bench: &mut Bench, ctx: &Ctx) {
    let path = ctx.input("small_f8.npy");
    let (warm, reps) = (300, 3000);
    let spec = |system: &str, role| Spec::new("W1", W1_CASE, system, role, "us");

    bench.time(
        spec(
            "floor: open + mmap + read 128 B + munmap + close",
            Role::Floor,
        ),
        warm,
        reps,
        || {
            timed(|| {
                let (_file, map) = map(&path)?;
                let head = map.get(..128).ok_or("short file")?;
                Ok(head.iter().map(|&b| u64::from(b)).sum::<u64>())
            })
        },
    );
    bench.time(
        spec("npymap (NpyMap::open + as_slice)", Role::Subject),
        warm,
        reps,
        || {
            timed(|| {
                // SAFETY: benchmark data is not modified while mapped.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                let values = map.as_slice::<f64>().map_err(err)?;
                values.get(500).copied().ok_or_else(|| "short".to_string())
            })
        },
    );
    bench.time(
        spec("npymap (NpyMap::open + elements)", Role::Subject),
        warm,
        reps,
        || {
            timed(|| {
                // SAFETY: as above.
                let map = unsafe { NpyMap::open(&path) }.map_err(err)?;
                let values = map.elements::<f64>().map_err(err)?;
                values.get(500).ok_or_else(|| "short".to_string())
            })
        },
    );
    bench.time(
        spec(
            "npymap (memmap2 whole file + NpyView::new + as_slice)",
            Role::Subject,
        )
        .note("header parsed from the map: no read(2), no extra fstat"),
        warm,
        reps,
        || {
            timed(|| {
                let (_file, map) = map(&path)?;
                let view = npymap::NpyView::new(&map).map_err(err)?;
                let values = view.as_slice::<f64>().map_err(err)?;
                values.get(500).copied().ok_or_else(|| "short".to_string())
            })
        },
    );
    bench.time(
        spec("ndarray-npy (memmap2 + view_npy)", Role::Peer),
        warm,
        reps,
        || {
            timed(|| {
                let (_file, map) = map(&path)?;
                let view = ArrayView1::<f64>::view_npy(&map).map_err(err)?;
                Ok(view[500])
            })
        },
    );
    bench.time(
        spec("npyz (memmap2 + NpyFile + read_at)", Role::Peer),
        warm,
        reps,
        || {
            timed(|| {
                let (_file, map) = map(&path)?;
                let npy = npyz::NpyFile::new(Cursor::new(&map[..])).map_err(err)?;
                let mut data = npy.data::<f64>().map_err(err)?;
                data.read_at(500).map_err(err)
            })
        },
    );
    bench.time(
        spec("ferray-io (memmap_readonly)", Role::Peer),
        warm,
        reps,
        || {
            timed(|| {
                let map = ferray_io::memmap::memmap_readonly::<f64, _>(&path).map_err(err)?;
                map.as_slice()
                    .get(500)
                    .copied()
                    .ok_or_else(|| "short".into())
            })
        },
    );
    let st_path = ctx.output("small_f8.safetensors");
    let values: Vec<f64> = (0..1000).map(f64::from).collect();
    let made = write_safetensors(&st_path, &values);
    bench.time(
        spec("safetensors (memmap2 + deserialize)", Role::Peer)
            .note("same 1000 f64 as a .safetensors file"),
        warm,
        reps,
        || {
            made.clone()?;
            timed(|| {
                let (_file, map) = map(&st_path)?;
                let st = SafeTensors::deserialize(&map).map_err(err)?;
                let data = st.tensor("x").map_err(err)?.data();
                let b = data.get(4000..4008).ok_or("short")?;
                Ok(f64::from_le_bytes(b.try_into().map_err(err)?))
            })
        },
    );
}

/// The header bytes of a `.npy` file (preamble + dict + padding).
fn header_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(err)?;
    let parsed = npymap::Header::parse(&bytes).map_err(err)?;
    let end = usize::try_from(parsed.data_offset).map_err(err)?;
    Ok(bytes.get(..end).ok_or("short")?.to_vec())
}

/// A whole safetensors file with `n` one-element f32 tensors.
fn safetensors_bytes(n: usize) -> Result<Vec<u8>, String> {
    let one = [0u8; 4];
    let views: Vec<(String, TensorView<'_>)> = (0..n)
        .map(|i| {
            TensorView::new(StDtype::F32, vec![1], &one)
                .map(|v| (format!("f{i}"), v))
                .map_err(err)
        })
        .collect::<Result<_, _>>()?;
    safetensors::serialize(views, None::<HashMap<String, String>>).map_err(err)
}

/// Times `batch` calls of `parse` per repetition; records time per call.
fn parse_rate(
    bench: &mut Bench,
    spec: Spec,
    batch: usize,
    reps: usize,
    bytes: &[u8],
    parse: impl Fn(&[u8]) -> Result<(), String>,
) {
    bench.time(spec, reps / 10, reps, || {
        let start = Instant::now();
        for _ in 0..batch {
            parse(black_box(bytes))?;
        }
        Ok(start.elapsed() / u32::try_from(batch).map_err(err)?)
    });
}

pub fn header_parse(bench: &mut Bench, ctx: &Ctx) {
    let inputs = [
        (
            "parse a simple header ({'descr': '<f8', ..., 'shape': (1000,)})",
            ctx.input("small_f8.npy"),
            1000,
            1,
        ),
        (
            "parse a 1000-field structured header",
            ctx.input("struct_1000.npy"),
            10,
            1000,
        ),
    ];
    for (case, path, batch, st_tensors) in inputs {
        let bytes = match header_bytes(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("  W8 {}: {e}", path.display());
                continue;
            }
        };
        let spec = |system: &str, role| Spec::new("W8", case, system, role, "headers/s");
        let reps = 300;
        parse_rate(
            bench,
            spec("npymap (Header::parse)", Role::Subject),
            batch,
            reps,
            &bytes,
            |b| {
                npymap::Header::parse(b)
                    .map(black_box)
                    .map(drop)
                    .map_err(err)
            },
        );
        parse_rate(
            bench,
            spec("npyz (NpyHeader::from_reader)", Role::Peer),
            batch,
            reps,
            &bytes,
            |b| {
                npyz::NpyHeader::from_reader(b)
                    .map(black_box)
                    .map(drop)
                    .map_err(err)
            },
        );
        parse_rate(
            bench,
            spec("ndarray-npy (Header::from_reader)", Role::Peer),
            batch,
            reps,
            &bytes,
            |mut b| {
                ndarray_npy::npy::header::Header::from_reader(&mut b)
                    .map(black_box)
                    .map(drop)
                    .map_err(err)
            },
        );
        parse_rate(
            bench,
            spec("ferray-io (read_header)", Role::Peer),
            batch,
            reps,
            &bytes,
            |mut b| {
                ferray_io::npy::header::read_header(&mut b)
                    .map(black_box)
                    .map(drop)
                    .map_err(err)
            },
        );
        match safetensors_bytes(st_tensors) {
            Ok(st) => parse_rate(
                bench,
                spec("safetensors (read_metadata)", Role::Peer).note(&format!(
                    "JSON header of {st_tensors} tensor(s), the design peer's equivalent"
                )),
                batch,
                reps,
                &st,
                |b| {
                    SafeTensors::read_metadata(b)
                        .map(black_box)
                        .map(drop)
                        .map_err(err)
                },
            ),
            Err(e) => eprintln!("  W8 safetensors: {e}"),
        }
    }
}
