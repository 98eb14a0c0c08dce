//! npymap's side of the remote benchmarks W11–W13 (issue 14): time,
//! requests and bytes transferred (from [`TransferStats`]), next to the raw
//! floors made with the same object_store client.
//!
//! Run by `bash benches/remote_run.sh`, which makes the data with
//! `benches/remote_bench.py make-data`, starts the servers (moto S3 and
//! nginx, and s3s-fs when installed) on 127.0.0.1, uploads the objects and
//! runs this binary and `remote_bench.py run`. By hand:
//!
//! ```text
//! cargo bench --features remote --bench remote_bench -- --bench \
//!     --s3 http://127.0.0.1:PORT --http http://127.0.0.1:PORT \
//!     [--s3fs-server http://127.0.0.1:PORT] [--only W11,W12,W13] [--json out.json]
//! ```
//!
//! Objects: `s3://npymap-bench/w11.npy` ((N, 256) `<f4`, N > 1,010,000),
//! `s3://npymap-bench/w12.npz` (1,000 members), `HTTP/w13.npy` (1 GiB `<f4`);
//! with `--s3fs-server`, `s3://npymap-bench/w11_4g.npy` there. Without
//! `--bench` (which `cargo bench` passes) the binary does nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use npymap::remote::object_store::{self, ObjectStore, ObjectStoreExt as _, path::Path as Key};
use npymap::remote::{RemoteNpy, RemoteNpz, RemoteOptions, TransferStats};

const BUCKET: &str = "npymap-bench";
const W11_ROWS: std::ops::Range<u64> = 1_000_000..1_010_000;

/// One measured row.
#[derive(serde::Serialize)]
struct Row {
    id: &'static str,
    server: String,
    case: String,
    system: String,
    /// Median, min and max seconds per operation.
    median: f64,
    min: f64,
    max: f64,
    n: usize,
    /// Requests and body bytes of one operation (`None` for the floors,
    /// which make exactly the requests they name).
    requests: Option<u64>,
    bytes: Option<u64>,
    /// Payload bytes the operation needs (for throughput and the bytes goal).
    needed: u64,
}

fn stats_of(runs: Vec<Duration>) -> (f64, f64, f64, usize) {
    let mut xs: Vec<f64> = runs.iter().map(Duration::as_secs_f64).collect();
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (median, xs[0], xs[n - 1], n)
}

struct Bench {
    rows: Vec<Row>,
    runtime: tokio::runtime::Runtime,
}

impl Bench {
    /// Times `op` once untimed then `reps` times; `op` returns the transfer
    /// stats of its one operation (or `None` for a floor).
    #[allow(clippy::too_many_arguments)]
    fn measure(
        &mut self,
        id: &'static str,
        server: &str,
        case: &str,
        system: &str,
        needed: u64,
        reps: usize,
        mut op: impl FnMut() -> Option<TransferStats>,
    ) {
        op();
        let mut runs = Vec::new();
        let mut last = None;
        for _ in 0..reps {
            let t = Instant::now();
            last = op();
            runs.push(t.elapsed());
        }
        let (median, min, max, n) = stats_of(runs);
        eprintln!(
            "{id} [{server}] {case} / {system}: median {:.2} ms (min {:.2}, max {:.2}, n {n}){}",
            median * 1e3,
            min * 1e3,
            max * 1e3,
            last.map_or(String::new(), |s| format!(
                ", {} requests, {} bytes",
                s.requests, s.bytes
            ))
        );
        self.rows.push(Row {
            id,
            server: server.to_string(),
            case: case.to_string(),
            system: system.to_string(),
            median,
            min,
            max,
            n,
            requests: last.map(|s| s.requests),
            bytes: last.map(|s| s.bytes),
            needed,
        });
    }
}

fn s3_options(endpoint: &str) -> Vec<(String, String)> {
    vec![
        ("aws_endpoint".into(), endpoint.into()),
        ("aws_access_key_id".into(), "test".into()),
        ("aws_secret_access_key".into(), "testtesttest".into()),
        ("aws_region".into(), "us-east-1".into()),
        ("allow_http".into(), "true".into()),
    ]
}

/// A raw client for the floors, configured as npymap configures its own.
fn s3_client(endpoint: &str) -> Arc<dyn ObjectStore> {
    let mut b = object_store::aws::AmazonS3Builder::new().with_bucket_name(BUCKET);
    for (k, v) in s3_options(endpoint) {
        b = b.with_config(k.parse().expect("a known key"), v);
    }
    Arc::new(b.build().expect("an S3 client"))
}

fn http_client(base: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        object_store::http::HttpBuilder::new()
            .with_url(base)
            .with_config(object_store::ClientConfigKey::AllowHttp, "true")
            .build()
            .expect("an HTTP client"),
    )
}

/// W11: rows 1,000,000..1,010,000 of an (N, 256) `<f4` object.
fn w11(b: &mut Bench, server: &str, endpoint: &str, key: &str, reps: usize) {
    let opts = RemoteOptions {
        store_options: s3_options(endpoint),
        ..RemoteOptions::default()
    };
    let url = format!("s3://{BUCKET}/{key}");
    let npy = RemoteNpy::open(&url, &opts).expect("open W11 object");
    let row_bytes = 256 * 4;
    let data_offset = npy.header().data_offset;
    let needed = (W11_ROWS.end - W11_ROWS.start) * row_bytes;
    let start = data_offset + W11_ROWS.start * row_bytes;
    let case = "rows 1,000,000..1,010,000 of (N, 256) <f4";
    b.measure(
        "W11",
        server,
        case,
        "npymap open + read_rows",
        needed,
        reps,
        || {
            let npy = RemoteNpy::open(&url, &opts).expect("open");
            let rows = npy.read_rows::<f32>(W11_ROWS).expect("read_rows");
            assert_eq!(rows.shape(), [10_000, 256]);
            Some(npy.stats())
        },
    );
    // Where the time goes: the header GET alone, and the rows alone.
    b.measure(
        "W11",
        server,
        case,
        "npymap open (header GET)",
        0,
        reps,
        || {
            let npy = RemoteNpy::open(&url, &opts).expect("open");
            Some(npy.stats())
        },
    );
    b.measure(
        "W11",
        server,
        case,
        "npymap read_rows (opened)",
        needed,
        reps,
        || {
            let before = npy.stats();
            let rows = npy.read_rows::<f32>(W11_ROWS).expect("read_rows");
            assert_eq!(rows.shape(), [10_000, 256]);
            let after = npy.stats();
            Some(TransferStats {
                requests: after.requests - before.requests,
                bytes: after.bytes - before.bytes,
            })
        },
    );
    let client = s3_client(endpoint);
    let path = Key::from(key);
    let rt = &b.runtime;
    let floor = || {
        let got = rt
            .block_on(client.get_range(&path, start..start + needed))
            .expect("floor GET");
        assert_eq!(got.len() as u64, needed);
    };
    let mut runs = Vec::new();
    floor();
    for _ in 0..reps {
        let t = Instant::now();
        floor();
        runs.push(t.elapsed());
    }
    let (median, min, max, n) = stats_of(runs);
    eprintln!("W11 [{server}] floor: median {:.2} ms", median * 1e3);
    b.rows.push(Row {
        id: "W11",
        server: server.to_string(),
        case: case.to_string(),
        system: "floor: 1 raw ranged GET of the rows' bytes".into(),
        median,
        min,
        max,
        n,
        requests: Some(1),
        bytes: Some(needed),
        needed,
    });
}

/// W12: list a 1,000-member `.npz`: every member's dtype and shape.
fn w12(b: &mut Bench, endpoint: &str, reps: usize) {
    let opts = RemoteOptions {
        store_options: s3_options(endpoint),
        ..RemoteOptions::default()
    };
    let url = format!("s3://{BUCKET}/w12.npz");
    b.measure(
        "W12",
        "moto",
        "list 1,000-member .npz: dtype + shape of every member",
        "npymap RemoteNpz::open",
        0,
        reps,
        || {
            let npz = RemoteNpz::open(&url, &opts).expect("open W12");
            // Every member's dtype and shape is read (held since open).
            let seen: usize = npz
                .members()
                .iter()
                .map(|m| m.header().header.shape.len() + m.header().header.dtype.descr().len())
                .sum();
            assert_eq!(npz.members().len(), 1000);
            assert!(seen >= 1000);
            Some(npz.stats())
        },
    );
}

/// W13: the whole payload of a 1 GiB `.npy` over HTTP at concurrency 8.
fn w13(b: &mut Bench, base: &str, reps: usize) {
    let url = format!("{base}/w13.npy");
    let case = "full read of a 1 GiB <f4 .npy, concurrency 8";
    let npy = RemoteNpy::open(&url, &RemoteOptions::default()).expect("open W13");
    let n = npy.header().header.element_count().expect("count");
    let len = usize::try_from(npy.header().header.payload_len().expect("len")).expect("fits");
    let data_offset = npy.header().data_offset;
    let mut buf = vec![0u8; len];
    for (system, part) in [
        ("npymap read_bytes_into (8 MiB parts)", 8u64 << 20),
        ("npymap read_bytes_into (8 parts)", (len as u64).div_ceil(8)),
    ] {
        let opts = RemoteOptions {
            part_size: part,
            concurrency: 8,
            ..RemoteOptions::default()
        };
        b.measure("W13", "nginx", case, system, len as u64, reps, || {
            let npy = RemoteNpy::open(&url, &opts).expect("open");
            npy.read_bytes_into(0..n, &mut buf).expect("read");
            Some(npy.stats())
        });
    }
    // Floor: 8 concurrent raw ranged GETs of the payload, copied into the
    // same buffer (as a caller's buffer is filled).
    let client = http_client(base);
    let path = Key::from("w13.npy");
    let rt = &b.runtime;
    let floor = |buf: &mut [u8]| {
        let part = len.div_ceil(8);
        let jobs = buf.chunks_mut(part).enumerate().map(|(i, chunk)| {
            let from = data_offset + (i * part) as u64;
            let to = from + chunk.len() as u64;
            let (client, path) = (&client, &path);
            async move {
                let got = client.get_range(path, from..to).await?;
                chunk.copy_from_slice(&got);
                Ok::<(), object_store::Error>(())
            }
        });
        rt.block_on(
            futures::stream::iter(jobs)
                .buffer_unordered(8)
                .try_collect::<Vec<()>>(),
        )
        .expect("floor GETs");
    };
    let mut runs = Vec::new();
    floor(&mut buf);
    for _ in 0..reps {
        let t = Instant::now();
        floor(&mut buf);
        runs.push(t.elapsed());
    }
    let (median, min, max, n) = stats_of(runs);
    eprintln!("W13 floor: median {:.2} ms", median * 1e3);
    b.rows.push(Row {
        id: "W13",
        server: "nginx".into(),
        case: case.into(),
        system: "floor: 8 concurrent raw ranged GETs".into(),
        median,
        min,
        max,
        n,
        requests: Some(8),
        bytes: Some(len as u64),
        needed: len as u64,
    });
}

fn value_of(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let only = value_of(&args, "--only").unwrap_or_else(|| "W11,W12,W13".into());
    let reps: usize = value_of(&args, "--reps").map_or(5, |r| r.parse().expect("--reps N"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut b = Bench {
        rows: Vec::new(),
        runtime,
    };
    let s3 = value_of(&args, "--s3");
    for w in only.split(',') {
        match (w, &s3) {
            ("W11", Some(s3)) => {
                let on = value_of(&args, "--w11-on").unwrap_or_else(|| "moto,s3s-fs".into());
                if on.contains("moto") {
                    w11(&mut b, "moto", s3, "w11.npy", reps);
                }
                if let Some(fs) = value_of(&args, "--s3fs-server").filter(|_| on.contains("s3s-fs"))
                {
                    w11(&mut b, "s3s-fs", &fs, "w11_4g.npy", reps);
                }
            }
            ("W12", Some(s3)) => w12(&mut b, s3, reps),
            ("W13", _) => {
                let http = value_of(&args, "--http").expect("--http BASE for W13");
                w13(&mut b, &http, reps);
            }
            (w, _) => panic!("unknown workload {w} (or --s3 missing)"),
        }
    }
    let json = serde_json::to_string_pretty(&b.rows).expect("json");
    match value_of(&args, "--json") {
        Some(path) => std::fs::write(path, json).expect("write --json"),
        None => println!("{json}"),
    }
}
