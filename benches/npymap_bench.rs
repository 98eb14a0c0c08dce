//! npymap's benchmark suite (issue 7): npymap, its Rust peers and the floor
//! of each workload, measured in one process on the same data.
//!
//! Run everything with `bash benches/run.sh`, which makes the data (with
//! NumPy), runs this harness and `benches/numpy_bench.py`, and writes
//! `BENCHMARKS.md`. By hand:
//!
//! ```text
//! cargo bench --bench npymap_bench -- --data DIR --cli target/release/npymap \
//!     --json out.json [--only W1,W2,...] [--quick]
//! ```
//!
//! `DIR` holds the files `numpy_bench.py make-data` writes. Without
//! `--bench` (which `cargo bench` passes) the binary does nothing, so a
//! `cargo test --all-targets` does not run the workloads.

#[path = "npymap_bench/big.rs"]
mod big;
#[path = "npymap_bench/convert.rs"]
mod convert;
#[path = "npymap_bench/harness.rs"]
mod harness;
#[path = "npymap_bench/npz.rs"]
mod npz;
#[path = "npymap_bench/pack.rs"]
mod pack;
#[path = "npymap_bench/slice.rs"]
mod slice;
#[path = "npymap_bench/small.rs"]
mod small;

use std::path::{Path, PathBuf};

use harness::Bench;

/// Where the data and the tools are.
pub struct Ctx {
    /// The data directory (inputs from `numpy_bench.py make-data`).
    pub data: PathBuf,
    /// Scratch directory for outputs, inside `data`.
    pub out: PathBuf,
    /// The release `npymap` binary.
    pub cli: PathBuf,
    /// This benchmark binary (re-run as a child for the RSS floor).
    pub exe: PathBuf,
}

impl Ctx {
    pub fn input(&self, name: &str) -> PathBuf {
        self.data.join(name)
    }

    pub fn output(&self, name: &str) -> PathBuf {
        self.out.join(name)
    }
}

const WORKLOADS: [&str; 13] = [
    "W1", "W2", "S", "W3", "W4", "W5", "W6", "W7", "W8", "C1", "SL", "W9", "W10",
];

fn value_of(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Child mode for W6: the streaming byte-swap floor, alone in a process
    // so `/usr/bin/time -v` sees its peak RSS.
    if let Some(i) = args.iter().position(|a| a == "--floor-swap") {
        let (Some(input), Some(output)) = (args.get(i + 1), args.get(i + 2)) else {
            eprintln!("usage: --floor-swap IN OUT");
            std::process::exit(2);
        };
        if let Err(e) = convert::floor_swap(Path::new(input), Path::new(output)) {
            eprintln!("floor-swap: {e}");
            std::process::exit(2);
        }
        return;
    }
    // Profiling mode: parse one file's header N times with npymap only, e.g.
    // `valgrind --tool=callgrind target/release/deps/npymap_bench-* --profile-header F 100`.
    if let Some(i) = args.iter().position(|a| a == "--profile-header") {
        let path = args.get(i + 1).map(PathBuf::from).unwrap_or_default();
        let n: usize = args.get(i + 2).and_then(|s| s.parse().ok()).unwrap_or(100);
        let bytes = std::fs::read(&path).unwrap_or_default();
        for _ in 0..n {
            std::hint::black_box(npymap::Header::parse(std::hint::black_box(&bytes)).is_ok());
        }
        return;
    }
    // CPU-time mode for W2/S on a loaded machine: thread CPU time is not
    // inflated by waiting for a core, so ratios hold when wall time does
    // not: `npymap_bench-* --cpu-scan DIR/f32_1g.npy`.
    if let Some(i) = args.iter().position(|a| a == "--cpu-scan") {
        let path = args.get(i + 1).map(PathBuf::from).unwrap_or_default();
        big::cpu_scan(&path);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("npymap_bench: run through `cargo bench` or `bash benches/run.sh`");
        return;
    }
    let (Some(data), Some(json)) = (value_of(&args, "--data"), value_of(&args, "--json")) else {
        eprintln!(
            "usage: cargo bench --bench npymap_bench -- --data DIR --json OUT [--cli NPYMAP] [--only W1,..] [--quick]"
        );
        std::process::exit(2);
    };
    let only: Vec<String> = value_of(&args, "--only")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| WORKLOADS.iter().map(|s| s.to_string()).collect());
    let data = PathBuf::from(data);
    let ctx = Ctx {
        out: data.join("out"),
        data,
        cli: PathBuf::from(value_of(&args, "--cli").unwrap_or("target/release/npymap".into())),
        exe: std::env::current_exe().unwrap_or_default(),
    };
    if let Err(e) = std::fs::create_dir_all(&ctx.out) {
        eprintln!("cannot create {}: {e}", ctx.out.display());
        std::process::exit(2);
    }
    let mut bench = Bench {
        records: Vec::new(),
        quick: args.iter().any(|a| a == "--quick"),
    };
    for w in &only {
        eprintln!("{w}:");
        match w.as_str() {
            "W1" => small::open_latency(&mut bench, &ctx),
            "W2" => big::scan(&mut bench, &ctx),
            "S" => big::stats(&mut bench, &ctx),
            "W3" => big::write(&mut bench, &ctx),
            "W4" => convert::byte_swap(&mut bench, &ctx),
            "W5" => convert::to_fortran(&mut bench, &ctx),
            "W6" => convert::rss(&mut bench, &ctx),
            "W7" => npz::npz(&mut bench, &ctx),
            "W8" => small::header_parse(&mut bench, &ctx),
            "C1" => convert::cast_f8_f4(&mut bench, &ctx),
            "SL" => slice::slice(&mut bench, &ctx),
            // --- pnpz ---
            "W9" => pack::w9(&mut bench, &ctx),
            "W10" => pack::w10(&mut bench, &ctx),
            other => eprintln!("  unknown workload {other}; known: {WORKLOADS:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&ctx.out);
    let text = serde_json::to_string_pretty(&bench.records).unwrap_or_default();
    if let Err(e) = std::fs::write(&json, text) {
        eprintln!("cannot write {json}: {e}");
        std::process::exit(2);
    }
}
