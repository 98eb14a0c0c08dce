//! W4 (byte-swap 1 GiB), W5 (C -> Fortran of 16384 x 16384 f32), C1 (f8 -> f4
//! cast of 1 GiB) and W6
//! (peak RSS converting 4 GiB), with their floors.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::process::Command;

use ndarray::{Array2, ShapeBuilder};
use npymap::convert::{ConvertOptions, convert_to_file};
use npymap::mmap::NpyMap;
use npymap::{ByteOrder, Header};
use npyz::WriterBuilder;

use crate::Ctx;
use crate::big::{BIG, BIG_BYTES, SIDE, map_file};
use crate::harness::{Bench, Role, Spec, err, peak_rss, remove, run, timed};

/// A mapped input for the library's `convert_to_file`: the library's own
/// `NpyMap`, so a transpose reads tiles in place from the map (the CLI
/// reads its input with `pread` windows instead; these rows show what the
/// conversion itself costs). A wrapper that forwarded only `payload()`
/// measured the `pread`-window path under this label until 2026-12-06.
fn open_mapped(path: &Path) -> Result<NpyMap, String> {
    // SAFETY: benchmark data is not modified while mapped.
    unsafe { NpyMap::open(path) }.map_err(err)
}

/// The header bytes NumPy writes for `header` (same length as the input's).
fn header_bytes(header: &Header) -> Result<Vec<u8>, String> {
    header.to_bytes(None).map_err(err)
}

/// The byte-swap floor: read 1 MiB, swap every 4-byte word, write; the
/// output header is NumPy's for the big-endian dtype.
pub fn floor_swap(input: &Path, output: &Path) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(input).map_err(err)?);
    let parsed = npymap::Header::read_from(&mut reader, &Default::default()).map_err(err)?;
    let mut header = parsed.header;
    header.dtype = header.dtype.with_byte_order(ByteOrder::Big);
    let mut out = File::create(output).map_err(err)?;
    out.write_all(&header_bytes(&header)?).map_err(err)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read_full(&mut reader, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let chunk = buf.get_mut(..n).ok_or("read past buffer")?;
        for word in chunk.as_chunks_mut::<4>().0 {
            word.reverse();
        }
        out.write_all(chunk).map_err(err)?;
    }
}

/// Fills `buf` as far as the input allows; the count read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, String> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(err(e)),
        }
    }
    Ok(n)
}

/// The transpose reference: output row-bands of 64 rows (= input column
/// bands) built from 64 x 64 tiles staged in a padded buffer, each band
/// written with one `write_all`.
fn tiled_to_fortran(input: &Path, output: &Path) -> Result<(), String> {
    const T: usize = 64;
    const PAD: usize = T + 16; // row stride of the tile buffer: avoids set conflicts
    let map = map_file(input)?;
    let parsed = npymap::Header::parse(&map).map_err(err)?;
    let [rows, cols] = parsed.header.shape[..] else {
        return Err("want a 2-d input".into());
    };
    let (rows, cols) = (
        usize::try_from(rows).map_err(err)?,
        usize::try_from(cols).map_err(err)?,
    );
    let start = usize::try_from(parsed.data_offset).map_err(err)?;
    let src: &[f32] = bytemuck::try_cast_slice(map.get(start..).ok_or("short")?).map_err(err)?;
    if rows % T != 0 || cols % T != 0 {
        return Err("the reference wants dims that are multiples of 64".into());
    }
    let mut header = parsed.header.clone();
    header.fortran_order = true;
    let mut out = File::create(output).map_err(err)?;
    out.write_all(&header_bytes(&header)?).map_err(err)?;
    let mut band = vec![0f32; T * rows];
    let mut tile = vec![0f32; T * PAD];
    for j0 in (0..cols).step_by(T) {
        for i0 in (0..rows).step_by(T) {
            // Load tile rows i0.. (contiguous runs of 64 input values).
            for di in 0..T {
                let row = (i0 + di) * cols + j0;
                tile[di * PAD..di * PAD + T].copy_from_slice(&src[row..row + T]);
            }
            // Store transposed: band row dj holds input column j0 + dj.
            for dj in 0..T {
                let dst = &mut band[dj * rows + i0..dj * rows + i0 + T];
                for (di, d) in dst.iter_mut().enumerate() {
                    *d = tile[di * PAD + dj];
                }
            }
        }
        out.write_all(bytemuck::cast_slice(&band)).map_err(err)?;
    }
    Ok(())
}

/// Whether two files have the same bytes (a check of the floors, untimed).
fn same_bytes(a: &Path, b: &Path) -> Result<bool, String> {
    let (ma, mb) = (map_file(a)?, map_file(b)?);
    Ok(ma[..] == mb[..])
}

fn cli_convert(
    ctx: &Ctx,
    input: &Path,
    output: &Path,
    flag: &str,
    value: &str,
) -> Result<(), String> {
    run(Command::new(&ctx.cli)
        .arg("convert")
        .arg(input)
        .arg(output)
        .arg(flag)
        .arg(value))
}

pub fn byte_swap(bench: &mut Bench, ctx: &Ctx) {
    let input = ctx.input(BIG);
    let out = ctx.output("w4.npy");
    let check = ctx.output("w4_floor.npy");
    let case = "byte-swap 1 GiB f32 .npy to a new file (>f4)";
    let spec = |system: &str, role| Spec::new("W4", case, system, role, "s").bytes(BIG_BYTES);
    let (w, n) = (1, 5);
    let rep = |bench: &mut Bench, spec: Spec, n: usize, f: &dyn Fn(&Path) -> Result<(), String>| {
        bench.time(spec, w, n, || {
            remove(&out);
            let t = timed(|| f(&out));
            remove(&out);
            t
        });
    };
    rep(
        bench,
        spec("floor: read + swap + write, 1 MiB buffer", Role::Floor),
        n,
        &|p| floor_swap(&input, p),
    );
    rep(bench, spec("cp", Role::Reference), n, &|p| {
        run(Command::new("cp").arg(&input).arg(p))
    });
    rep(
        bench,
        spec("npymap CLI (convert --byte-order big)", Role::Subject),
        n,
        &|p| cli_convert(ctx, &input, p, "--byte-order", "big"),
    );
    let opts = ConvertOptions {
        byte_order: Some(ByteOrder::Big),
        ..Default::default()
    };
    rep(
        bench,
        spec(
            "npymap library (convert_to_file, mapped input)",
            Role::Subject,
        ),
        n,
        &|p| {
            let src = open_mapped(&input)?;
            convert_to_file(&src, p, &opts, npymap::atomic::Durability::Atomic)
                .map(drop)
                .map_err(err)
        },
    );
    rep(
        bench,
        spec("npyz (mapped reader -> >f4 writer)", Role::Peer),
        1,
        &|p| {
            let map = map_file(&input)?;
            let data = npyz::NpyFile::new(&map[..])
                .map_err(err)?
                .data::<f32>()
                .map_err(err)?;
            let dtype = npyz::DType::Plain(">f4".parse().map_err(err)?);
            let file = std::io::BufWriter::new(File::create(p).map_err(err)?);
            let mut w = npyz::WriteOptions::<f32>::new()
                .dtype(dtype)
                .shape(&[SIDE as u64, SIDE as u64])
                .writer(file)
                .begin_nd()
                .map_err(err)?;
            w.extend(data.map(|x| x.unwrap_or(f32::NAN))).map_err(err)?;
            w.finish().map_err(err)
        },
    );
    // Untimed: the floor and the CLI must agree byte for byte.
    let agree = floor_swap(&input, &check)
        .and_then(|()| cli_convert(ctx, &input, &out, "--byte-order", "big"))
        .and_then(|()| same_bytes(&check, &out));
    eprintln!("  W4 check: floor output == CLI output: {agree:?}");
    remove(&check);
    remove(&out);
}

/// C1 (issue 15): cast a 1 GiB f8 .npy to f4, against W4's byte-swap
/// floor measured in the same run (the goal is at most 1.2x that floor).
pub fn cast_f8_f4(bench: &mut Bench, ctx: &Ctx) {
    let input = ctx.input(crate::big::BIG_F8);
    let swap_input = ctx.input(BIG);
    let out = ctx.output("c1.npy");
    let case = "cast 1 GiB f8 .npy to f4 (--casting same_kind)";
    let spec = |system: &str, role| {
        Spec::new("C1", case, system, role, "s").bytes(crate::big::BIG_F8_BYTES)
    };
    let rep = |bench: &mut Bench, spec: Spec, n: usize, f: &dyn Fn(&Path) -> Result<(), String>| {
        bench.time(spec, 1, n, || {
            remove(&out);
            let t = timed(|| f(&out));
            remove(&out);
            t
        });
    };
    rep(
        bench,
        spec(
            "floor: W4's read + swap + write of 1 GiB f32, 1 MiB buffer",
            Role::Floor,
        )
        .note("moves 1 GiB in and 1 GiB out; the cast 1 GiB in and 0.5 GiB out"),
        5,
        &|p| floor_swap(&swap_input, p),
    );
    rep(
        bench,
        spec(
            "npymap CLI (convert --dtype f4 --casting same_kind)",
            Role::Subject,
        ),
        5,
        &|p| {
            run(Command::new(&ctx.cli)
                .arg("convert")
                .arg(&input)
                .arg(p)
                .args(["--dtype", "<f4", "--casting", "same_kind"]))
        },
    );
    rep(
        bench,
        spec(
            "npymap library (convert_to_file, mapped input)",
            Role::Subject,
        ),
        5,
        &|p| {
            let opts = ConvertOptions {
                dtype: Some(npymap::Dtype::from_descr("<f4").map_err(err)?),
                casting: npymap::convert::Casting::SameKind,
                ..Default::default()
            };
            let src = open_mapped(&input)?;
            convert_to_file(&src, p, &opts, npymap::atomic::Durability::Atomic)
                .map(drop)
                .map_err(err)
        },
    );
}

pub fn to_fortran(bench: &mut Bench, ctx: &Ctx) {
    let input = ctx.input(BIG);
    let out = ctx.output("w5.npy");
    let check = ctx.output("w5_ref.npy");
    let case = "C -> Fortran order, 16384 x 16384 f32 (1 GiB)";
    let spec = |system: &str, role| Spec::new("W5", case, system, role, "s").bytes(BIG_BYTES);
    let rep = |bench: &mut Bench, spec: Spec, n: usize, f: &dyn Fn(&Path) -> Result<(), String>| {
        bench.time(spec, 1, n, || {
            remove(&out);
            let t = timed(|| f(&out));
            remove(&out);
            t
        });
    };
    rep(
        bench,
        spec(
            "floor: tiled transpose (64x64, padded), streamed",
            Role::Floor,
        ),
        5,
        &|p| tiled_to_fortran(&input, p),
    );
    rep(bench, spec("cp", Role::Reference), 5, &|p| {
        run(Command::new("cp").arg(&input).arg(p))
    });
    rep(
        bench,
        spec("npymap CLI (convert --order F)", Role::Subject),
        3,
        &|p| cli_convert(ctx, &input, p, "--order", "F"),
    );
    let opts = ConvertOptions {
        fortran_order: Some(true),
        ..Default::default()
    };
    rep(
        bench,
        spec(
            "npymap library (convert_to_file, mapped input)",
            Role::Subject,
        ),
        3,
        &|p| {
            let src = open_mapped(&input)?;
            convert_to_file(&src, p, &opts, npymap::atomic::Durability::Atomic)
                .map(drop)
                .map_err(err)
        },
    );
    rep(
        bench,
        spec(
            "ndarray-npy (read_npy, assign to F layout, write_npy)",
            Role::Peer,
        ),
        2,
        &|p| {
            let a: Array2<f32> = ndarray_npy::read_npy(&input).map_err(err)?;
            let mut f = Array2::<f32>::zeros(a.raw_dim().f());
            f.assign(&a);
            drop(a);
            ndarray_npy::write_npy(p, &f).map_err(err)
        },
    );
    let agree = tiled_to_fortran(&input, &check)
        .and_then(|()| cli_convert(ctx, &input, &out, "--order", "F"))
        .and_then(|()| same_bytes(&check, &out));
    eprintln!("  W5 check: reference output == CLI output: {agree:?}");
    remove(&check);
    remove(&out);
}

pub fn rss(bench: &mut Bench, ctx: &Ctx) {
    let input = ctx.input("f32_4g.npy");
    if !input.exists() {
        eprintln!(
            "  W6: {} missing (make it with numpy_bench.py make-data --big4)",
            input.display()
        );
        return;
    }
    let out = ctx.output("w6.npy");
    let input_s = input.to_string_lossy().into_owned();
    let out_s = out.to_string_lossy().into_owned();
    let cases: [(&str, &str, &Path, Vec<&str>); 3] = [
        (
            "peak RSS, byte-swap a 4 GiB f32 .npy",
            "floor: read + swap + write, 1 MiB buffer (child process)",
            &ctx.exe,
            vec!["--floor-swap", &input_s, &out_s],
        ),
        (
            "peak RSS, byte-swap a 4 GiB f32 .npy",
            "npymap CLI (convert --byte-order big)",
            &ctx.cli,
            vec!["convert", &input_s, &out_s, "--byte-order", "big"],
        ),
        (
            "peak RSS, C -> Fortran of a 32768 x 32768 f32 .npy (4 GiB)",
            "npymap CLI (convert --order F)",
            &ctx.cli,
            vec!["convert", &input_s, &out_s, "--order", "F"],
        ),
    ];
    for (case, system, program, args) in cases {
        let role = if system.starts_with("floor") {
            Role::Floor
        } else {
            Role::Subject
        };
        remove(&out);
        let start = std::time::Instant::now();
        let rss = peak_rss(program, &args);
        let secs = start.elapsed().as_secs_f64();
        remove(&out);
        let ok = rss.is_ok();
        bench.values(
            Spec::new("W6", case, system, role, "MiB"),
            "rss",
            rss.map(|r| vec![r]),
        );
        if ok {
            bench.values(
                Spec::new(
                    "W6",
                    &format!("{case} (wall time, 1 run)"),
                    system,
                    role,
                    "s",
                ),
                "time",
                Ok(vec![secs]),
            );
        }
    }
}
