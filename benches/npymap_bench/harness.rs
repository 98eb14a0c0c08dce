//! Timing, statistics and the JSON records every workload produces.
//!
//! Each measurement is a warm-up followed by `reps` timed repetitions; a
//! record keeps the median, min and max. Times are stored in seconds; the
//! report formatter (`benches/report.py`) turns them into the display unit
//! and computes the ratios.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What a row is compared as.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The lower bound the workload is judged against.
    Floor,
    /// npymap itself.
    Subject,
    /// Another library doing the same work.
    Peer,
    /// A number for context (e.g. `cp`, memcpy bandwidth).
    Reference,
}

/// One workload row: who ran what, and the measured numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Workload group (`"W1"`, ..., `"S"` for stats).
    pub id: &'static str,
    /// The operation measured.
    pub case: String,
    /// Who did it (`"npymap"`, `"floor: ..."`, `"npyz"`, ...).
    pub system: String,
    /// How the report compares it.
    pub role: Role,
    /// `"time"` (seconds per operation) or `"rss"` (bytes).
    pub kind: &'static str,
    /// Display unit: `us`, `ms`, `s`, `GB/s`, `headers/s`, `MiB`.
    pub unit: &'static str,
    /// Bytes processed per operation (for `GB/s`).
    pub bytes: Option<u64>,
    /// Median, min and max, in seconds (or bytes for `rss`).
    pub median: Option<f64>,
    /// Fastest repetition.
    pub min: Option<f64>,
    /// Slowest repetition.
    pub max: Option<f64>,
    /// Timed repetitions.
    pub n: usize,
    /// Caveats, or the error when the system could not do the workload.
    pub note: String,
}

/// What is about to be measured.
pub struct Spec {
    pub id: &'static str,
    pub case: String,
    pub system: String,
    pub role: Role,
    pub unit: &'static str,
    pub bytes: Option<u64>,
    pub note: String,
}

impl Spec {
    pub fn new(id: &'static str, case: &str, system: &str, role: Role, unit: &'static str) -> Self {
        Spec {
            id,
            case: case.to_string(),
            system: system.to_string(),
            role,
            unit,
            bytes: None,
            note: String::new(),
        }
    }

    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    pub fn note(mut self, note: &str) -> Self {
        self.note = note.to_string();
        self
    }
}

/// A measurement's result: the time of one operation, or why it failed.
pub type Outcome = Result<Duration, String>;

/// Collects records and prints progress to stderr.
pub struct Bench {
    pub records: Vec<Record>,
    /// Fewer repetitions (smoke runs).
    pub quick: bool,
}

fn median_min_max(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (median, xs[0], xs[n - 1])
}

impl Bench {
    /// Runs `f` `warmup` times untimed, then `reps` times; `f` returns the
    /// duration of one operation (it may time only part of its body, so
    /// set-up such as deleting an old output stays outside the clock).
    pub fn time(&mut self, spec: Spec, warmup: usize, reps: usize, mut f: impl FnMut() -> Outcome) {
        let reps = if self.quick {
            reps.div_ceil(10).max(1)
        } else {
            reps
        };
        let warmup = if self.quick { warmup.min(1) } else { warmup };
        let mut samples = Vec::with_capacity(reps);
        let mut error = None;
        for i in 0..warmup + reps {
            match f() {
                Ok(d) if i >= warmup => samples.push(d.as_secs_f64()),
                Ok(_) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        self.push(spec, samples, error, "time");
    }

    /// Records already measured values (`rss` in bytes, or seconds).
    pub fn values(&mut self, spec: Spec, kind: &'static str, values: Result<Vec<f64>, String>) {
        match values {
            Ok(v) => self.push(spec, v, None, kind),
            Err(e) => self.push(spec, Vec::new(), Some(e), kind),
        }
    }

    fn push(&mut self, spec: Spec, samples: Vec<f64>, error: Option<String>, kind: &'static str) {
        let n = samples.len();
        let (median, min, max) = match (&error, n) {
            (None, 1..) => {
                let (a, b, c) = median_min_max(samples);
                (Some(a), Some(b), Some(c))
            }
            _ => (None, None, None),
        };
        let note = match error {
            Some(e) => format!("could not run: {e}"),
            None => spec.note,
        };
        eprintln!(
            "  {:3} {:<44} {:<40} {}",
            spec.id,
            truncate(&spec.case, 44),
            truncate(&spec.system, 40),
            match median {
                Some(m) if kind == "rss" => format!("{:.1} MiB", m / 1048576.0),
                Some(m) => format!("{:.6} s (n={n})", m),
                None => note.clone(),
            }
        );
        self.records.push(Record {
            id: spec.id,
            case: spec.case,
            system: spec.system,
            role: spec.role,
            kind,
            unit: spec.unit,
            bytes: spec.bytes,
            median,
            min,
            max,
            n,
            note,
        });
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Times `f`.
pub fn timed<T>(f: impl FnOnce() -> Result<T, String>) -> Outcome {
    let start = Instant::now();
    let out = f()?;
    let elapsed = start.elapsed();
    std::hint::black_box(out);
    Ok(elapsed)
}

/// Turns any displayable error into the harness's error string.
pub fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Runs a command to completion, failing on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!("{cmd:?} exited {}: {}", out.status, stderr.trim()))
    }
}

/// Peak resident set size of `cmd` in bytes, from GNU time's `-v` report.
pub fn peak_rss(program: &Path, args: &[&str]) -> Result<f64, String> {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("/usr/bin/time: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "{} exited {}: {}",
            program.display(),
            out.status,
            stderr.trim()
        ));
    }
    stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map(|kb| kb * 1024.0)
        .ok_or_else(|| "no 'Maximum resident set size' in /usr/bin/time -v output".to_string())
}

/// The floor's reduction: f32 values summed in 16 independent f64 lanes,
/// so the loop vectorizes and is limited by memory, not by add latency;
/// compiled for AVX2 when the CPU has it, as npymap's own kernels are.
pub fn sum16(xs: &[f32]) -> f64 {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            let mut acc = [0f64; 16];
            let (blocks, tail) = xs.as_chunks::<16>();
            for block in blocks {
                for (a, &x) in acc.iter_mut().zip(block) {
                    *a += f64::from(x);
                }
            }
            acc.iter().sum::<f64>() + tail.iter().map(|&x| f64::from(x)).sum::<f64>()
        },
    )
}

/// The same 16-lane reduction over any iterator of f32 (for element views
/// and readers that hand out values one by one).
pub fn sum16_iter(mut it: impl Iterator<Item = f32>) -> f64 {
    let mut acc = [0f64; 16];
    'outer: loop {
        for a in acc.iter_mut() {
            match it.next() {
                Some(x) => *a += f64::from(x),
                None => break 'outer,
            }
        }
    }
    acc.iter().sum()
}

/// Adds `xs` to 16 running f64 lanes (element `i` to lane `i % 16`, a
/// partial tail to the first lanes): the floor's reduction, block by block.
pub fn add16(acc: &mut [f64; 16], xs: &[f32]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            let mut lanes = *acc;
            let (blocks, tail) = xs.as_chunks::<16>();
            for block in blocks {
                for (a, &x) in lanes.iter_mut().zip(block) {
                    *a += f64::from(x);
                }
            }
            for (a, &x) in lanes.iter_mut().zip(tail) {
                *a += f64::from(x);
            }
            *acc = lanes;
        },
    )
}

/// Removes a file if it exists.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}
