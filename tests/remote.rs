//! `.npy` objects read over the network (feature `remote`), against real
//! servers started by the tests: moto's S3 server and nginx, both on
//! 127.0.0.1 (tests/common/servers.rs). Nothing stands in for the network.
#![cfg(feature = "remote")]

mod common;
#[path = "common/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use npymap::ErrorKind;
use npymap::remote::{
    NPZ_HEADER_WINDOW, NPZ_TAIL_LEN, RemoteNpy, RemoteNpz, RemoteOptions, RemoteWriter,
};
use servers::{BUCKET, servers};
use std::io::Write as _;

/// S3 options for the test server plus `part_size` / `concurrency`.
fn s3_opts() -> RemoteOptions {
    // Fail fast in tests: transient errors are still retried, briefly.
    RemoteOptions {
        store_options: servers::s3_options(),
        max_retries: 2,
        ..RemoteOptions::default()
    }
}

fn http_opts() -> RemoteOptions {
    RemoteOptions {
        store_options: vec![("allow_http".into(), "true".into())],
        max_retries: 2,
        ..RemoteOptions::default()
    }
}

/// Every `.npy` in testdata/npy and testdata/hostile, uploaded once to the
/// bucket (keys `npy/...`, `hostile/...`) and copied into nginx's root.
fn fixtures() -> &'static Vec<String> {
    static FIXTURES: OnceLock<Vec<String>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let s = servers();
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        for sub in ["npy", "hostile"] {
            let dir = common::testdata().join(sub);
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".npy"))
                .collect();
            names.sort();
            std::fs::create_dir_all(s.www.join(sub)).unwrap();
            for n in names {
                let local = dir.join(&n);
                std::fs::copy(&local, s.www.join(sub).join(&n)).unwrap();
                files.push((local, format!("{sub}/{n}")));
            }
        }
        servers::upload(&files);
        files.into_iter().map(|(_, k)| k).collect()
    })
}

fn s3_url(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

fn http_url(key: &str) -> String {
    format!("{}/{key}", servers().http_base)
}

/// The local read of a fixture: header and payload bytes.
fn local(path: &Path) -> npymap::Result<(npymap::ParsedHeader, Vec<u8>)> {
    let parsed = npymap::npy::inspect(path)?;
    let bytes = std::fs::read(path).unwrap();
    let payload = if parsed.header.dtype.has_object() {
        Vec::new()
    } else {
        bytes[parsed.data_offset as usize..].to_vec()
    };
    Ok((parsed, payload))
}

/// The remote read of an object: header and payload bytes (all elements).
fn remote(url: &str, opts: &RemoteOptions) -> npymap::Result<(npymap::ParsedHeader, Vec<u8>)> {
    let r = RemoteNpy::open(url, opts)?;
    let parsed = r.header().clone();
    if parsed.header.dtype.has_object() {
        // A pickle is never read, remotely as locally: only the header
        // compares, and the payload read says why not.
        let e = r.read_bytes_into(0..0, &mut []).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::ObjectDtype), "{url}: {e}");
        return Ok((parsed, Vec::new()));
    }
    let n = parsed.header.element_count()?;
    let mut buf = vec![0u8; parsed.header.payload_len()? as usize];
    r.read_bytes_into(0..n, &mut buf)?;
    Ok((parsed, buf))
}

#[test]
fn every_npy_fixture_reads_remotely_as_locally_over_s3_and_http() {
    let keys = fixtures();
    let mut checked = 0;
    for key in keys.iter().filter(|k| k.starts_with("npy/")) {
        let path = common::testdata().join(key);
        let want = local(&path);
        for (url, opts) in [(s3_url(key), s3_opts()), (http_url(key), http_opts())] {
            let got = remote(&url, &opts);
            match (&want, got) {
                (Ok(w), Ok(g)) => assert_eq!(*w, g, "{url}"),
                (Err(w), Err(g)) => {
                    assert_eq!(w.kind().code(), g.kind().code(), "{url}: {g}");
                    assert!(g.to_string().starts_with(&format!("{url}: ")), "{g}");
                }
                (w, g) => panic!("{url}: local {w:?}, remote {g:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 2 * 100, "only {checked} fixture reads");
}

#[test]
fn typed_remote_reads_convert_byte_order_like_the_local_read() {
    fixtures();
    for (key, url) in [
        ("npy/f8_be.npy", s3_url("npy/f8_be.npy")),
        ("npy/f8_be.npy", http_url("npy/f8_be.npy")),
    ] {
        let want = npymap::read::<f64>(common::testdata().join(key)).unwrap();
        let opts = if url.starts_with("s3") {
            s3_opts()
        } else {
            http_opts()
        };
        let got = RemoteNpy::open(&url, &opts)
            .unwrap()
            .read_all::<f64>()
            .unwrap();
        assert_eq!(got, want, "{url}");
        assert_eq!(got.as_slice()[0], -1.875);
    }
    // A dtype mismatch names both sides, as locally.
    let r = RemoteNpy::open(&s3_url("npy/f8_le.npy"), &s3_opts()).unwrap();
    let e = r.read_all::<f32>().unwrap_err();
    assert!(
        e.to_string().contains("expected '<f4' (f32), found '<f8'"),
        "{e}"
    );
}

#[test]
fn hostile_headers_served_remotely_fail_as_locally() {
    let keys = fixtures();
    let mut checked = 0;
    for key in keys.iter().filter(|k| k.starts_with("hostile/")) {
        let path = common::testdata().join(key);
        let want = npymap::npy::inspect(&path);
        let url = s3_url(key);
        let got = RemoteNpy::open(&url, &s3_opts()).map(|r| r.header().clone());
        match (want, got) {
            (Ok(w), Ok(g)) => assert_eq!(w, g, "{key}"),
            (Err(w), Err(g)) => {
                assert_eq!(w.kind().to_string(), g.kind().to_string(), "{key}");
                assert_eq!(w.offset(), g.offset(), "{key}");
                assert_eq!(g.path(), Some(Path::new(&url)), "{key}");
            }
            (w, g) => panic!("{key}: local {w:?}, remote {g:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} hostile files");
}

/// Writes `script`'s `a` with NumPy to a temp `.npy`, uploads it as `key`
/// to S3 and nginx, and returns the local path.
fn numpy_object(key: &str, script: &str) -> PathBuf {
    let s = servers();
    let local = s.dir.join(key.replace('/', "_"));
    common::cli::python(
        &format!(
            "import numpy as np\n{script}\nnp.save({:?}, a)\n",
            local.display().to_string()
        ),
        &s.dir,
    );
    std::fs::copy(&local, s.www.join(key)).unwrap();
    servers::upload(&[(local.clone(), key.to_string())]);
    local
}

#[test]
fn header_costs_one_get_and_rows_cost_only_their_bytes() {
    let local = numpy_object(
        "rows_c.npy",
        "a = (np.arange(1000 * 64, dtype='<f4') * 0.5).reshape(1000, 64)",
    );
    let part = 16 << 10;
    let opts = s3_opts().with_part_size(part).with_concurrency(4);
    let r = RemoteNpy::open(&s3_url("rows_c.npy"), &opts).unwrap();
    let object_size = std::fs::metadata(&local).unwrap().len();
    assert_eq!(r.object_size(), object_size);
    // The header: one GET (of the whole 256 KiB? no: of the first 64 KiB).
    let after_open = r.stats();
    assert_eq!(after_open.requests, 1);
    assert_eq!(after_open.bytes, 64 << 10);
    // Rows 100..300: 200 rows x 256 bytes, in parts of 16 KiB.
    let rows = r.read_rows::<f32>(100..300).unwrap();
    let stats = r.stats();
    let row_bytes = 200 * 64 * 4;
    assert_eq!(stats.bytes - after_open.bytes, row_bytes);
    assert!(stats.bytes - after_open.bytes <= row_bytes + part);
    assert_eq!(
        stats.requests - after_open.requests,
        row_bytes.div_ceil(part)
    );
    assert_eq!(rows.shape(), [200, 64]);
    // Values against NumPy's.
    let want: Vec<f32> = (100 * 64..300 * 64).map(|i| i as f32 * 0.5).collect();
    assert_eq!(rows.as_slice(), want.as_slice());
    let numpy_sum = common::cli::python(
        "import numpy as np\nprint(float(np.load('rows_c.npy')[100:300].astype('f8').sum()))",
        &servers().dir,
    );
    let ours: f64 = rows.as_slice().iter().map(|&v| f64::from(v)).sum();
    assert_eq!(numpy_sum.trim().parse::<f64>().unwrap(), ours);
    // Rows past the end: an error, no request.
    let before = r.stats();
    let e = r.read_rows::<f32>(999..1001).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::IndexOutOfBounds { .. }),
        "{e}"
    );
    assert_eq!(r.stats(), before);
}

#[test]
fn row_reads_over_http_send_exactly_the_rows_range() {
    numpy_object(
        "rows_http.npy",
        "a = np.arange(500 * 8, dtype='>i8').reshape(500, 8)",
    );
    let r = RemoteNpy::open(&http_url("rows_http.npy"), &http_opts()).unwrap();
    let off = r.header().data_offset;
    let rows = r.read_rows::<i64>(10..20).unwrap();
    assert_eq!(rows.as_slice(), (80..160).collect::<Vec<i64>>().as_slice());
    // nginx saw the header GET and one GET of exactly rows 10..20.
    let log = servers().access_log_settled();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("GET /rows_http.npy "))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].ends_with(" bytes=0-65535 206 32128"),
        "{}",
        lines[0]
    );
    let (a, b) = (off + 10 * 64, off + 20 * 64 - 1);
    assert!(
        lines[1].ends_with(&format!(" bytes={a}-{b} 206 640")),
        "{}",
        lines[1]
    );
}

#[test]
fn a_long_read_is_split_into_even_parts() {
    numpy_object("even_parts.npy", "a = np.arange(1000, dtype='<i8')");
    let opts = RemoteOptions {
        part_size: 3000,
        ..http_opts()
    };
    let r = RemoteNpy::open(&http_url("even_parts.npy"), &opts).unwrap();
    let off = r.header().data_offset;
    // 500 elements, 4000 bytes: two parts of 2000 (not 3000 and 1000).
    let v = r.read_elements::<i64>(0..500).unwrap();
    assert_eq!(v, (0..500).collect::<Vec<i64>>());
    let log = servers().access_log_settled();
    let mut got: Vec<String> = log
        .lines()
        .filter(|l| l.contains("GET /even_parts.npy "))
        .skip(1)
        .map(|l| l.rsplit_once("bytes=").unwrap().1.to_string())
        .collect();
    got.sort();
    let mut want = vec![
        format!("{}-{} 206 2000", off, off + 1999),
        format!("{}-{} 206 2000", off + 2000, off + 3999),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn fortran_arrays_read_column_ranges() {
    numpy_object(
        "cols_f.npy",
        "a = np.asfortranarray(np.arange(30, dtype='<i2').reshape(5, 6))",
    );
    let r = RemoteNpy::open(&s3_url("cols_f.npy"), &s3_opts()).unwrap();
    assert!(r.header().header.fortran_order);
    let cols = r.read_rows::<i16>(2..4).unwrap();
    assert_eq!(cols.shape(), [5, 2]);
    assert!(cols.fortran_order());
    // Column j of a (5, 6) arange: 6*i + j.
    for i in 0..5usize {
        for j in 0..2usize {
            assert_eq!(cols.get(&[i, j]), Some(&((6 * i + j + 2) as i16)));
        }
    }
}

#[test]
fn a_header_past_64_kib_costs_exactly_two_gets() {
    numpy_object(
        "long_header.npy",
        "a = np.zeros(3, dtype=[(f'field_{i:05d}', '<f4') for i in range(5000)])",
    );
    let r = RemoteNpy::open(&s3_url("long_header.npy"), &s3_opts()).unwrap();
    assert!(r.header().data_offset > 64 << 10);
    assert_eq!(r.stats().requests, 2);
    assert_eq!(r.stats().bytes, r.header().data_offset);
}

#[test]
fn missing_object_is_not_found_naming_the_url() {
    fixtures();
    for (url, opts) in [
        (s3_url("npy/no_such.npy"), s3_opts()),
        (http_url("npy/no_such.npy"), http_opts()),
    ] {
        let e = RemoteNpy::open(&url, &opts).unwrap_err();
        let ErrorKind::Io(io) = e.kind() else {
            panic!("{e}")
        };
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound, "{e}");
        assert!(e.to_string().starts_with(&format!("{url}: ")), "{e}");
    }
}

#[test]
fn bad_credentials_are_permission_denied() {
    let endpoint = servers::strict_s3();
    let opts = RemoteOptions {
        max_retries: 0,
        store_options: vec![
            ("aws_endpoint".into(), endpoint.to_string()),
            ("aws_access_key_id".into(), "AKIANOTAREALKEY00000".into()),
            ("aws_secret_access_key".into(), "wrong".into()),
            ("aws_region".into(), "us-east-1".into()),
            ("allow_http".into(), "true".into()),
        ],
        ..RemoteOptions::default()
    };
    let url = "s3://any-bucket/a.npy";
    let e = RemoteNpy::open(url, &opts).unwrap_err();
    let ErrorKind::Io(io) = e.kind() else {
        panic!("{e}")
    };
    assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().starts_with("s3://any-bucket/a.npy: "), "{e}");
    // nginx saying 403 is the same kind.
    let url = http_url("forbidden/a.npy");
    let e = RemoteNpy::open(&url, &http_opts()).unwrap_err();
    let ErrorKind::Io(io) = e.kind() else {
        panic!("{e}")
    };
    assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
}

#[test]
fn an_object_shorter_than_its_header_says_is_payload_size() {
    let local = numpy_object("short.npy", "a = np.arange(100, dtype='<f8')");
    let bytes = std::fs::read(&local).unwrap();
    let cut = servers().dir.join("short_cut.npy");
    std::fs::write(&cut, &bytes[..bytes.len() - 8]).unwrap();
    servers::upload(&[(cut.clone(), "short_cut.npy".into())]);
    let e = RemoteNpy::open(&s3_url("short_cut.npy"), &s3_opts()).unwrap_err();
    let local_err = npymap::npy::inspect(&cut).unwrap_err();
    assert_eq!(e.kind().to_string(), local_err.kind().to_string());
    assert!(
        matches!(
            e.kind(),
            ErrorKind::PayloadSize {
                expected: 800,
                actual: 792
            }
        ),
        "{e}"
    );
}

#[test]
fn blocking_api_inside_a_runtime_is_an_error_not_a_panic() {
    fixtures();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = s3_url("npy/f8_le.npy");
    let e = rt.block_on(async { RemoteNpy::open(&url, &s3_opts()).unwrap_err() });
    assert!(matches!(e.kind(), ErrorKind::Unsupported(_)), "{e}");
    // The async API works there.
    let a = rt.block_on(async {
        let r = npymap::remote::AsyncRemoteNpy::open(&url, &s3_opts())
            .await
            .unwrap();
        r.read_all::<f64>().await.unwrap()
    });
    assert_eq!(
        a,
        npymap::read::<f64>(common::testdata().join("npy/f8_le.npy")).unwrap()
    );
}

/// Every `.npz` in testdata/npz and testdata/hostile, uploaded once (keys
/// `npz/...`, `hostile/...`).
fn npz_fixtures() -> &'static Vec<String> {
    static NPZ: OnceLock<Vec<String>> = OnceLock::new();
    NPZ.get_or_init(|| {
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        for sub in ["npz", "hostile"] {
            let dir = common::testdata().join(sub);
            for e in std::fs::read_dir(&dir).unwrap() {
                let n = e.unwrap().file_name().into_string().unwrap();
                if n.ends_with(".npz") {
                    files.push((dir.join(&n), format!("{sub}/{n}")));
                }
            }
        }
        files.sort();
        servers::upload(&files);
        files.into_iter().map(|(_, k)| k).collect()
    })
}

#[test]
fn every_npz_fixture_lists_and_reads_remotely_as_locally() {
    let keys = npz_fixtures();
    let mut members = 0;
    for key in keys {
        let path = common::testdata().join(key);
        let url = s3_url(key);
        let local = npymap::npz::NpzReader::open(&path);
        let remote = RemoteNpz::open(&url, &s3_opts());
        match (local, remote) {
            (Ok(mut l), Ok(mut r)) => {
                let names: Vec<String> = l.members().iter().map(|m| m.name().into()).collect();
                let rnames: Vec<String> = r.members().iter().map(|m| m.name().into()).collect();
                assert_eq!(names, rnames, "{key}");
                for n in &names {
                    let lm = l.member(n).unwrap();
                    let rm = r.member(n).unwrap();
                    assert_eq!(lm.header(), rm.header(), "{key} {n}");
                    assert_eq!(lm.compression(), rm.compression(), "{key} {n}");
                    // The member's whole .npy bytes (inflated, CRC checked).
                    let want = l.read(n);
                    let got = r.reader().read(n);
                    match (want, got) {
                        (Ok(w), Ok(g)) => assert_eq!(w, g, "{key} {n}"),
                        (Err(w), Err(g)) => {
                            assert_eq!(w.kind().to_string(), g.kind().to_string(), "{key}")
                        }
                        (w, g) => panic!("{key} {n}: local {w:?}, remote {g:?}"),
                    }
                    members += 1;
                }
            }
            (Err(w), Err(g)) => {
                assert_eq!(w.kind().to_string(), g.kind().to_string(), "{key}");
                assert_eq!(w.offset(), g.offset(), "{key}");
                assert_eq!(w.member(), g.member(), "{key}");
                assert!(g.to_string().starts_with(&format!("{url}: ")), "{g}");
            }
            (w, g) => panic!("{key}: local {:?}, remote {:?}", w.err(), g.err()),
        }
    }
    assert!(
        keys.len() >= 12 && members >= 10,
        "{} archives, {members} members",
        keys.len()
    );
}

#[test]
fn npz_listing_costs_the_tail_plus_one_coalesced_get_of_headers_and_rows_read_in_place() {
    let s = servers();
    let local = s.dir.join("big_members.npz");
    common::cli::python(
        &format!(
            "import numpy as np\n\
             np.savez({:?}, a=np.arange(2 ** 17, dtype='<f8'), \
             b=np.arange(2 ** 17, dtype='>i4').reshape(-1, 4), c=np.ones((300, 300), dtype='<f4'))\n",
            local.display().to_string()
        ),
        &s.dir,
    );
    servers::upload(&[(local.clone(), "big_members.npz".into())]);
    let npz = RemoteNpz::open(&s3_url("big_members.npz"), &s3_opts()).unwrap();
    let size = std::fs::metadata(&local).unwrap().len();
    assert_eq!(npz.object_size(), size);
    let listed = npz.stats();
    // The tail (end records + central directory, and the end of member c),
    // then the three local headers, less than NPZ_COALESCE_GAP apart, in
    // one coalesced GET from a's header to NPZ_HEADER_WINDOW past c's.
    assert_eq!(listed.requests, 2, "{listed:?}");
    let c_npy = npz.member("c").unwrap().npy_range().unwrap().start;
    assert!(listed.bytes > NPZ_TAIL_LEN + c_npy, "{listed:?}");
    assert!(
        listed.bytes <= NPZ_TAIL_LEN + c_npy + NPZ_HEADER_WINDOW,
        "{listed:?}"
    );
    let names: Vec<&str> = npz.members().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(
        npz.member("b").unwrap().header().header.shape,
        [1u64 << 15, 4]
    );
    // Rows 1000..1010 of b: one GET of exactly 10 x 4 x 4 bytes.
    let rows = npz.read_rows::<i32>("b", 1000..1010).unwrap();
    let after = npz.stats();
    assert_eq!(after.requests - listed.requests, 1);
    assert_eq!(after.bytes - listed.bytes, 160);
    assert_eq!(rows.shape(), [10, 4]);
    assert_eq!(
        rows.as_slice(),
        (4000..4040).collect::<Vec<i32>>().as_slice()
    );
}

#[test]
fn deflated_members_are_streamed_and_refuse_row_reads() {
    npz_fixtures();
    let url = s3_url("npz/compressed.npz");
    let mut npz = RemoteNpz::open(&url, &s3_opts()).unwrap();
    let mut l =
        npymap::npz::NpzReader::open(common::testdata().join("npz/compressed.npz")).unwrap();
    let name = npz.members()[0].name().to_string();
    assert_eq!(
        npz.members()[0].compression(),
        npymap::npz::Compression::Deflated
    );
    let dtype = npz.members()[0].header().header.dtype.descr();
    assert_eq!(
        npz.reader().read_payload(&name).unwrap(),
        l.read_payload(&name).unwrap(),
        "{dtype}"
    );
    let e = npz.read_rows::<u8>(&name, 0..1).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotStored { .. }), "{e}");
}

/// Runs `code` in Python with `a`, the `.npy` object `key` of the test
/// bucket as NumPy loads it (fetched with boto3, an independent client).
fn numpy_s3(key: &str, code: &str) -> String {
    let s = servers();
    common::cli::python(
        &format!(
            "import io, boto3, numpy as np\n\
             s3 = boto3.client('s3', endpoint_url={:?}, aws_access_key_id='test', \
             aws_secret_access_key='test', region_name='us-east-1')\n\
             a = np.load(io.BytesIO(s3.get_object(Bucket={BUCKET:?}, Key={key:?})['Body'].read()))\n\
             {code}\n",
            s.s3_endpoint
        ),
        &s.dir,
    )
}

fn not_found(key: &str) -> bool {
    match RemoteNpy::open(&s3_url(key), &s3_opts()) {
        Err(e) => {
            matches!(e.kind(), ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
        }
        Ok(_) => false,
    }
}

#[test]
fn written_objects_are_numpys_bytes_and_numpy_reads_them() {
    let data: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.25 - 1.0).collect();
    npymap::remote::write("s3://npymap-test/written/a.npy", &[3, 4], &data, &s3_opts()).unwrap();
    // The bytes are the local writer's.
    let local = servers().dir.join("written_a.npy");
    npymap::write(&local, &[3, 4], &data).unwrap();
    let r = RemoteNpy::open(&s3_url("written/a.npy"), &s3_opts()).unwrap();
    let mut got = vec![0u8; r.object_size() as usize - r.header().data_offset as usize];
    r.read_bytes_into(0..12, &mut got).unwrap();
    let want = std::fs::read(&local).unwrap();
    assert_eq!(r.object_size(), want.len() as u64);
    assert_eq!(got, want[r.header().data_offset as usize..]);
    // NumPy reads it.
    let out = numpy_s3("written/a.npy", "print(a.dtype.str, a.shape, a.tolist())");
    assert_eq!(
        out.trim(),
        "<f8 (3, 4) [[-1.0, -0.75, -0.5, -0.25], [0.0, 0.25, 0.5, 0.75], [1.0, 1.25, 1.5, 1.75]]"
    );
}

#[test]
fn a_multipart_write_in_several_parts_reads_back_in_numpy() {
    // 6.4 MB of '<f4': two parts of 5 MiB (S3's smallest) and a tail.
    let n = 1_600_000usize;
    let data: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let opts = s3_opts().with_part_size(1 << 20);
    let out = RemoteWriter::create("s3://npymap-test/written/big.npy", &opts).unwrap();
    let mut w =
        npymap::npy::NpyWriter::new(out, &npymap::Header::for_type::<f32>(&[n]).unwrap()).unwrap();
    w.write_slice(&data).unwrap();
    w.finish().unwrap().finish().unwrap();
    let out = numpy_s3(
        "written/big.npy",
        "print(a.shape[0], int(a.astype('i8').sum()), a[123456])",
    );
    let sum: i64 = data.iter().map(|&v| v as i64).sum();
    assert_eq!(out.trim(), format!("{n} {sum} 456.0"));
    assert!(open_uploads_for("written/big.npy").is_empty());
}

fn open_uploads_for(key: &str) -> Vec<String> {
    servers::open_uploads()
        .into_iter()
        .filter(|k| k == key)
        .collect()
}

#[test]
fn an_interrupted_upload_leaves_no_object_and_no_parts() {
    fixtures();
    // Dropped after one whole part went up.
    let mut out = RemoteWriter::create("s3://npymap-test/written/dropped.npy", &s3_opts()).unwrap();
    out.write_all(&vec![7u8; 6 << 20]).unwrap();
    assert_eq!(open_uploads_for("written/dropped.npy").len(), 1);
    drop(out);
    assert!(not_found("written/dropped.npy"));
    assert!(open_uploads_for("written/dropped.npy").is_empty());
    // A writer that fails its own check (too few elements): no object.
    let out = RemoteWriter::create("s3://npymap-test/written/short.npy", &s3_opts()).unwrap();
    let mut w =
        npymap::npy::NpyWriter::new(out, &npymap::Header::for_type::<i32>(&[10]).unwrap()).unwrap();
    w.write_slice(&[1i32, 2, 3]).unwrap();
    let e = w.finish().unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ElementCount {
                expected: 10,
                actual: 3
            }
        ),
        "{e}"
    );
    assert!(not_found("written/short.npy"));
    assert!(open_uploads_for("written/short.npy").is_empty());
    // An npz dropped unfinished: no object.
    let mut npz =
        npymap::remote::create_npz("s3://npymap-test/written/dropped.npz", &s3_opts()).unwrap();
    npz.add_array("x", &[2], &[1i64, 2], npymap::npz::Compression::Stored)
        .unwrap();
    drop(npz);
    assert!(not_found("written/dropped.npz"));
}

#[test]
fn npz_written_to_s3_loads_in_numpy_and_reads_back() {
    let url = "s3://npymap-test/written/pair.npz";
    let mut npz = npymap::remote::create_npz(url, &s3_opts()).unwrap();
    npz.add_array(
        "x",
        &[2, 2],
        &[1.5f64, 2.5, 3.5, 4.5],
        npymap::npz::Compression::Stored,
    )
    .unwrap();
    npz.add_array("y", &[3], &[7i16, 8, 9], npymap::npz::Compression::Deflated)
        .unwrap();
    npz.finish().unwrap();
    let out = numpy_s3_npz("written/pair.npz");
    assert_eq!(out.trim(), "['x', 'y'] [[1.5, 2.5], [3.5, 4.5]] [7, 8, 9]");
    let mut r = RemoteNpz::open(url, &s3_opts()).unwrap();
    assert_eq!(
        r.read_rows::<f64>("x", 1..2).unwrap().as_slice(),
        [3.5, 4.5]
    );
    assert_eq!(r.read_array::<i16>("y").unwrap().as_slice(), [7, 8, 9]);
}

fn numpy_s3_npz(key: &str) -> String {
    let s = servers();
    common::cli::python(
        &format!(
            "import io, boto3, numpy as np\n\
             s3 = boto3.client('s3', endpoint_url={:?}, aws_access_key_id='test', \
             aws_secret_access_key='test', region_name='us-east-1')\n\
             z = np.load(io.BytesIO(s3.get_object(Bucket={BUCKET:?}, Key={key:?})['Body'].read()))\n\
             print(sorted(z.files), z['x'].tolist(), z['y'].tolist())\n",
            s.s3_endpoint
        ),
        &s.dir,
    )
}

/// Runs the CLI with the test S3 server's endpoint and credentials in its
/// environment, as a user would set them.
fn cli(args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_npymap"));
    c.args(args);
    for (k, v) in servers::s3_env() {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn cli_info_reads_urls_like_paths() {
    fixtures();
    npz_fixtures();
    for key in ["npy/c_2x3.npy", "npy/struct_nested.npy", "npz/named.npz"] {
        let local = common::testdata().join(key);
        let want = common::cli::ok(
            &common::cli::npymap(&["info".as_ref(), local.as_os_str()]),
            key,
        );
        let url = s3_url(key);
        let got = common::cli::ok(&cli(&["info", &url]), key);
        assert_eq!(
            got,
            want.replace(&local.display().to_string(), &url),
            "{key}"
        );
        let want = common::cli::ok(
            &common::cli::npymap(&["info".as_ref(), "--json".as_ref(), local.as_os_str()]),
            key,
        );
        assert_eq!(
            common::cli::ok(&cli(&["info", "--json", &url]), key),
            want,
            "{key}"
        );
    }
    let url = http_url("npy/f8_be.npy");
    let got = common::cli::ok(&cli(&["info", &url]), &url);
    assert!(got.starts_with(&format!("{url}: npy\n")), "{got}");
}

#[test]
fn cli_whole_array_commands_take_urls() {
    fixtures();
    let local = common::testdata().join("npy/f8_be.npy");
    let url = s3_url("npy/f8_be.npy");
    for cmd in ["stats", "show"] {
        let want = common::cli::ok(
            &common::cli::npymap(&[cmd.as_ref(), local.as_os_str()]),
            cmd,
        );
        let got = common::cli::ok(&cli(&[cmd, &url]), cmd);
        assert_eq!(
            got,
            want.replace(&local.display().to_string(), &url),
            "{cmd}"
        );
    }
    let out = cli(&["cmp", &url, local.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // convert: URL in, URL out; NumPy reads the result.
    let out_url = "s3://npymap-test/cli/converted.npy";
    common::cli::ok(
        &cli(&[
            "convert",
            &url,
            out_url,
            "--byte-order",
            "little",
            "--order",
            "F",
        ]),
        "convert",
    );
    let got = numpy_s3(
        "cli/converted.npy",
        "print(a.dtype.str, a.flags.f_contiguous, a.tolist())",
    );
    let want = common::cli::python(
        "import numpy as np\na = np.load('testdata/npy/f8_be.npy')\nprint('<f8', True, a.tolist())",
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(got, want);
    // pack: URL members into a URL archive.
    common::cli::ok(
        &cli(&[
            "pack",
            "s3://npymap-test/cli/packed.npz",
            &format!("x={url}"),
            &s3_url("npy/i4_le.npy"),
        ]),
        "pack",
    );
    let npz = RemoteNpz::open("s3://npymap-test/cli/packed.npz", &s3_opts()).unwrap();
    let names: Vec<&str> = npz.members().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["x", "i4_le"]);
}

/// Two URL inputs with the same file name are staged as two files: `cmp`
/// of different objects named `c_2x3.npy` reports the difference (it
/// compared one staged copy with itself before).
#[test]
fn cli_inputs_with_the_same_file_name_stay_apart() {
    fixtures();
    let other = "s3://npymap-test/cli/same-name/c_2x3.npy";
    let f8 = common::testdata().join("npy/f8_le.npy");
    common::cli::ok(&cli(&["convert", f8.to_str().unwrap(), other]), "upload");
    let out = cli(&["cmp", &s3_url("npy/c_2x3.npy"), other]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("shapes differ"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn cli_errors_name_the_url_and_failed_commands_leave_no_object() {
    fixtures();
    let missing = s3_url("npy/missing.npy");
    for args in [
        vec!["info", missing.as_str()],
        vec!["stats", missing.as_str()],
    ] {
        let out = cli(&args);
        common::cli::assert_error(&out, &args.join(" "));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("npymap: error: {missing}: ")),
            "{stderr}"
        );
    }
    // A hostile header names the URL and gives the local message.
    let key = "hostile/bad_magic.npy";
    let local = common::testdata().join(key);
    let want = String::from_utf8_lossy(
        &common::cli::npymap(&["stats".as_ref(), local.as_os_str()]).stderr,
    )
    .replace(&local.display().to_string(), &s3_url(key));
    let out = cli(&["stats", &s3_url(key)]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
    // An unsafe cast fails: the output object never appears.
    let out = cli(&[
        "convert",
        &s3_url("npy/f8_le.npy"),
        "s3://npymap-test/cli/never.npy",
        "--dtype",
        "<i2",
    ]);
    common::cli::assert_error(&out, "unsafe cast");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(".npymap-remote-"),
        "temp path leaked: {stderr}"
    );
    assert!(not_found("cli/never.npy"));
    // In-place commands refuse URLs.
    let out = cli(&["recover", &s3_url("npy/f8_le.npy")]);
    common::cli::assert_error(&out, "recover");
}

/// A real HTTP server on 127.0.0.1 that serves `body` with `Range`
/// support but cuts the connection half-way through the body of the first
/// `drops` data responses (ranges not starting at 0): a server that drops
/// the connection mid-range. Returns its URL and how many it dropped.
fn flaky_server(
    body: Vec<u8>,
    drops: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dropped = std::sync::Arc::new(AtomicUsize::new(0));
    let count = dropped.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(r) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    let (a, b) = r.trim().split_once('-').unwrap();
                    range = Some((a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
                }
            }
            let (a, b) = range.unwrap_or((0, body.len() - 1));
            let b = b.min(body.len() - 1);
            let part = &body[a..=b];
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{b}/{}\r\n\
                 ETag: \"v1\"\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                part.len(),
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            if a > 0 && count.load(Ordering::SeqCst) < drops {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(&part[..part.len() / 2]);
                let _ = conn.shutdown(std::net::Shutdown::Both);
                continue;
            }
            let _ = conn.write_all(part);
        }
    });
    (format!("http://127.0.0.1:{port}/flaky.npy"), dropped)
}

fn npy_bytes(values: &[i64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = npymap::npy::NpyWriter::new(
        &mut out,
        &npymap::Header::for_type::<i64>(&[values.len()]).unwrap(),
    )
    .unwrap();
    w.write_slice(values).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn a_connection_dropped_mid_range_is_retried() {
    let values: Vec<i64> = (0..20_000).collect();
    let (url, dropped) = flaky_server(npy_bytes(&values), 2);
    let opts = RemoteOptions {
        max_retries: 3,
        initial_backoff: std::time::Duration::from_millis(10),
        ..RemoteOptions::default()
    };
    let r = RemoteNpy::open(&url, &opts).unwrap();
    let got = r.read_elements::<i64>(5_000..15_000).unwrap();
    assert_eq!(got, values[5_000..15_000]);
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn a_connection_dropped_every_time_is_a_clear_error() {
    let values: Vec<i64> = (0..20_000).collect();
    let (url, dropped) = flaky_server(npy_bytes(&values), usize::MAX);
    let opts = RemoteOptions {
        max_retries: 2,
        initial_backoff: std::time::Duration::from_millis(10),
        ..RemoteOptions::default()
    };
    let r = RemoteNpy::open(&url, &opts).unwrap();
    let e = r.read_elements::<i64>(5_000..15_000).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io(_)), "{e}");
    assert!(e.to_string().starts_with(&format!("{url}: ")), "{e}");
    // The first attempt and two retries, then the error.
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 3, "{e}");
}

// --- rlib ---

/// Field `path` of every record of a local `.npy`, through the local view.
fn local_field<T: npymap::view::Element + Copy>(path: &Path, field: &[&str]) -> Vec<T> {
    let bytes = std::fs::read(path).unwrap();
    let view = npymap::NpyView::new(&bytes).unwrap();
    view.field_path(field)
        .unwrap()
        .elements::<T>()
        .unwrap()
        .to_vec()
}

const RECORDS_DTYPE: &str = "np.dtype([('id', '<i4'), ('x', '>f8'), \
     ('p', [('a', '<f4'), ('b', '>i2', (3,))]), ('v', '<f4', (2,)), ('s', 'S5')])";

/// 3,000 NumPy-made records of mixed byte orders with nested and
/// subarray fields, at `key`.
fn numpy_records(key: &str, shape: &str) -> PathBuf {
    numpy_object(
        key,
        &format!(
            "dt = {RECORDS_DTYPE}\n\
             a = np.zeros({shape}, dtype=dt).reshape(-1)\n\
             n = a.shape[0]\n\
             a['id'] = np.arange(n) * 3 - 7\n\
             a['x'] = np.arange(n) * 0.5 + 0.25\n\
             a['p']['a'] = -np.arange(n, dtype='f4')\n\
             a['p']['b'] = (np.arange(n * 3) % 1000 - 500).reshape(n, 3)\n\
             a['v'] = np.arange(n * 2, dtype='f4').reshape(n, 2) / 4\n\
             a['s'] = [b'r%d' % (i % 999) for i in range(n)]\n\
             a = a.reshape({shape})\n"
        ),
    )
}

#[test]
fn field_rows_read_as_locally_in_one_coalesced_get() {
    let local = numpy_records("records.npy", "(3000,)");
    let url = s3_url("records.npy");
    let r = RemoteNpy::open(&url, &s3_opts()).unwrap();
    let stride = r.header().header.dtype.itemsize() as u64;
    assert_eq!(stride, 4 + 8 + 4 + 6 + 8 + 5);
    let (a, b) = (100u64, 1300u64);
    let rows = (a as usize)..(b as usize);
    // A scalar field in the other byte order: values as locally, one GET
    // of at most the rows' span.
    let before = r.stats();
    let x = r.read_field_rows::<f64>("x", a..b).unwrap();
    let cost = r.stats();
    assert_eq!(cost.requests - before.requests, 1, "{cost:?}");
    assert_eq!(cost.bytes - before.bytes, (b - a - 1) * stride + 8);
    assert!(cost.bytes - before.bytes <= (b - a) * stride);
    assert_eq!(x.shape(), [1200]);
    assert_eq!(
        x.as_slice(),
        &local_field::<f64>(&local, &["x"])[rows.clone()]
    );
    assert_eq!(x.as_slice()[0], 100.0 * 0.5 + 0.25);
    // Integers, a nested subarray field and a subarray field.
    let id = r.read_field_rows::<i32>("id", a..b).unwrap();
    assert_eq!(
        id.as_slice(),
        &local_field::<i32>(&local, &["id"])[rows.clone()]
    );
    let pb = r.read_field_path_rows::<i16>(&["p", "b"], a..b).unwrap();
    assert_eq!(pb.shape(), [1200, 3]);
    assert_eq!(
        pb.as_slice(),
        &local_field::<i16>(&local, &["p", "b"])[3 * rows.start..3 * rows.end]
    );
    let v = r.read_field_rows::<f32>("v", a..b).unwrap();
    assert_eq!(v.shape(), [1200, 2]);
    assert_eq!(
        v.as_slice(),
        &local_field::<f32>(&local, &["v"])[2 * rows.start..2 * rows.end]
    );
    // Byte strings through the typed layer, checked against NumPy.
    let s = r.read_field_rows::<Vec<u8>>("s", 998..1001).unwrap();
    assert_eq!(
        s.as_slice(),
        [b"r998".to_vec(), b"r0".to_vec(), b"r1".to_vec()]
    );
    let numpy = common::cli::python(
        "import numpy as np\na = np.load('records.npy')\n\
         print(float(a['p']['a'][100:1300].astype('f8').sum()))",
        &servers().dir,
    );
    let pa = r.read_field_path_rows::<f32>(&["p", "a"], a..b).unwrap();
    let ours: f64 = pa.as_slice().iter().map(|&v| f64::from(v)).sum();
    assert_eq!(numpy.trim().parse::<f64>().unwrap(), ours);
    // Small parts split the coalesced range at record boundaries.
    let small = RemoteNpy::open(&url, &s3_opts().with_part_size(4096)).unwrap();
    let before = small.stats();
    let x2 = small.read_field_rows::<f64>("x", a..b).unwrap();
    assert_eq!(x2, x);
    let per_get = 4096 / stride;
    let cost = small.stats();
    assert_eq!(cost.requests - before.requests, (b - a).div_ceil(per_get));
    assert!(cost.bytes - before.bytes <= (b - a) * stride);
}

#[test]
fn field_row_errors_are_the_local_ones_and_cost_no_request() {
    let local = numpy_records("records_err.npy", "(40,)");
    let bytes = std::fs::read(&local).unwrap();
    let view = npymap::NpyView::new(&bytes).unwrap();
    let r = RemoteNpy::open(&s3_url("records_err.npy"), &s3_opts()).unwrap();
    let before = r.stats();
    // The wrong element type.
    let want = view.field("x").unwrap().elements::<f32>().unwrap_err();
    let got = r.read_field_rows::<f32>("x", 0..4).unwrap_err();
    assert!(
        matches!(got.kind(), ErrorKind::DtypeMismatch { .. }),
        "{got}"
    );
    assert_eq!(want.kind().code(), got.kind().code());
    // A missing field, and one nested too deep.
    for path in [&["nope"][..], &["x", "y"], &["p", "c"]] {
        let want = view.field_path(path).unwrap_err();
        let got = r.read_field_path_rows::<f64>(path, 0..4).unwrap_err();
        assert_eq!(want.kind().to_string(), got.kind().to_string(), "{path:?}");
        assert!(got.to_string().starts_with("s3://"), "{got}");
    }
    // Rows past the end.
    let e = r.read_field_rows::<f64>("x", 30..41).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::IndexOutOfBounds { index: 41, len: 40 }),
        "{e}"
    );
    // An empty row range: no values.
    assert!(
        r.read_field_rows::<f64>("x", 7..7)
            .unwrap()
            .as_slice()
            .is_empty()
    );
    assert_eq!(r.stats(), before);
    // A plain (not structured) array has no fields, as locally.
    fixtures();
    let plain = RemoteNpy::open(&s3_url("npy/f8_le.npy"), &s3_opts()).unwrap();
    let e = plain.read_field_rows::<f64>("x", 0..1).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::FieldNotFound { .. }), "{e}");
}

#[test]
fn field_rows_of_a_c_order_matrix_keep_the_other_axes() {
    let local = numpy_records("records_2d.npy", "(50, 4)");
    let r = RemoteNpy::open(&s3_url("records_2d.npy"), &s3_opts()).unwrap();
    let v = r.read_field_rows::<f32>("v", 10..20).unwrap();
    assert_eq!(v.shape(), [10, 4, 2]);
    assert_eq!(v.as_slice(), &local_field::<f32>(&local, &["v"])[80..160]);
    // The async form, inside the caller's runtime.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = s3_url("records_2d.npy");
    let id = rt.block_on(async {
        let a = npymap::remote::AsyncRemoteNpy::open(&url, &s3_opts())
            .await
            .unwrap();
        a.read_field_rows::<i32>("id", 49..50).await.unwrap()
    });
    assert_eq!(id.shape(), [1, 4]);
    assert_eq!(
        id.as_slice(),
        &local_field::<i32>(&local, &["id"])[196..200]
    );
}

#[test]
fn widely_spaced_field_rows_cost_one_small_get_each() {
    // Records of 1.1 MB: a field's ranges are more than 1 MiB apart.
    let pad = npymap::remote::FIELD_COALESCE_GAP + 50_000;
    let local = numpy_object(
        "wide_records.npy",
        &format!(
            "a = np.zeros(12, dtype=[('t', '>f8'), ('pad', 'u1', ({pad},)), ('k', '<i8')])\n\
             a['t'] = np.arange(12) * 1.5\na['k'] = np.arange(12) - 6\n"
        ),
    );
    let r = RemoteNpy::open(&s3_url("wide_records.npy"), &s3_opts()).unwrap();
    let before = r.stats();
    let t = r.read_field_rows::<f64>("t", 2..8).unwrap();
    let cost = r.stats();
    assert_eq!(t.as_slice(), &local_field::<f64>(&local, &["t"])[2..8]);
    assert_eq!(t.as_slice(), [3.0, 4.5, 6.0, 7.5, 9.0, 10.5]);
    // Six GETs of 8 bytes, where one coalesced GET would cost 5.5 MB.
    assert_eq!(cost.requests - before.requests, 6);
    assert_eq!(cost.bytes - before.bytes, 6 * 8);
    let k = r.read_field_rows::<i64>("k", 0..12).unwrap();
    assert_eq!(k.as_slice(), (-6..6).collect::<Vec<i64>>().as_slice());
    assert_eq!(r.stats().requests - cost.requests, 12);
}

#[test]
fn async_npz_lists_and_reads_as_the_blocking_one() {
    let keys = npz_fixtures();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut members = 0;
    for key in keys {
        let url = s3_url(key);
        let blocking = RemoteNpz::open(&url, &s3_opts());
        let asynced = rt.block_on(npymap::remote::AsyncRemoteNpz::open(&url, &s3_opts()));
        match (blocking, asynced) {
            (Ok(mut b), Ok(a)) => {
                // The same requests for the listing.
                assert_eq!(b.stats(), a.stats(), "{key}");
                assert_eq!(b.object_size(), a.object_size(), "{key}");
                assert_eq!(b.members().len(), a.members().len(), "{key}");
                let names: Vec<String> = b.members().iter().map(|m| m.name().into()).collect();
                for n in &names {
                    let (bm, am) = (b.member(n).unwrap(), a.member(n).unwrap());
                    assert_eq!(bm.name(), am.name(), "{key}");
                    assert_eq!(bm.header(), am.header(), "{key} {n}");
                    assert_eq!(bm.compression(), am.compression(), "{key} {n}");
                    let want = b.reader().read(n);
                    let got = rt.block_on(a.read(n));
                    match (want, got) {
                        (Ok(w), Ok(g)) => assert_eq!(w, g, "{key} {n}"),
                        (Err(w), Err(g)) => {
                            assert_eq!(w.kind().to_string(), g.kind().to_string(), "{key} {n}");
                            // The blocking reader's raw NpzReader does not
                            // name the URL; the async handle does.
                            assert_eq!(g.to_string(), format!("{url}: {w}"), "{key} {n}");
                        }
                        (w, g) => panic!("{key} {n}: blocking {w:?}, async {g:?}"),
                    }
                    members += 1;
                }
            }
            (Err(w), Err(g)) => {
                assert_eq!(w.to_string(), g.to_string(), "{key}");
                assert_eq!(w.offset(), g.offset(), "{key}");
            }
            (w, g) => panic!("{key}: blocking {:?}, async {:?}", w.err(), g.err()),
        }
    }
    assert!(keys.len() >= 12 && members >= 10, "{members}");
}

#[test]
fn async_npz_reads_rows_in_place_and_whole_members_like_numpy() {
    let s = servers();
    let local = s.dir.join("async_members.npz");
    common::cli::python(
        &format!(
            "import numpy as np\n\
             np.savez({:?}, b=np.arange(2 ** 15, dtype='>i4').reshape(-1, 4), \
             r=np.array([(1, 2.5), (-3, 4.0)], dtype=[('k', '<i2'), ('w', '>f4')]))\n\
             np.savez_compressed({:?}, z=np.arange(1000, dtype='<u2'))\n",
            local.display().to_string(),
            s.dir.join("async_deflated.npz").display().to_string()
        ),
        &s.dir,
    );
    servers::upload(&[
        (local.clone(), "async_members.npz".into()),
        (
            s.dir.join("async_deflated.npz"),
            "async_deflated.npz".into(),
        ),
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let blocking = RemoteNpz::open(&s3_url("async_members.npz"), &s3_opts()).unwrap();
    let want_rows = blocking.read_rows::<i32>("b", 1000..1010).unwrap();
    rt.block_on(async {
        let npz = npymap::remote::AsyncRemoteNpz::open(&s3_url("async_members.npz"), &s3_opts())
            .await
            .unwrap();
        let listed = npz.stats();
        let rows = npz.read_rows::<i32>("b", 1000..1010).await.unwrap();
        assert_eq!(rows, want_rows);
        assert_eq!(
            rows.as_slice(),
            (4000..4040).collect::<Vec<i32>>().as_slice()
        );
        // One GET of exactly the rows' 160 bytes.
        let after = npz.stats();
        assert_eq!(after.requests - listed.requests, 1);
        assert_eq!(after.bytes - listed.bytes, 160);
        // Whole members (CRC checked), and a field of a stored member.
        let b = npz.read_array::<i32>("b").await.unwrap();
        assert_eq!(b.shape(), [1 << 13, 4]);
        assert_eq!(b.as_slice(), (0..1 << 15).collect::<Vec<i32>>().as_slice());
        let w = npz
            .member_npy("r")
            .unwrap()
            .read_field_rows::<f32>("w", 0..2)
            .await
            .unwrap();
        assert_eq!(w.as_slice(), [2.5, 4.0]);
        let e = npz.member("nope").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::MemberNotFound { .. }), "{e}");
        // A deflated member: read whole, never by rows.
        let z = npymap::remote::AsyncRemoteNpz::open(&s3_url("async_deflated.npz"), &s3_opts())
            .await
            .unwrap();
        let all = z.read_array::<u16>("z").await.unwrap();
        assert_eq!(all.as_slice(), (0..1000).collect::<Vec<u16>>().as_slice());
        let e = z.read_rows::<u16>("z", 0..1).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotStored { .. }), "{e}");
    });
}

/// The whole object `key` of the test bucket, fetched by another client.
fn object_bytes(key: &str) -> Vec<u8> {
    use npymap::remote::object_store::{ObjectStoreExt, path::Path as Key};
    let client = servers::s3_client();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        client
            .get(&Key::from(key))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    })
}

#[test]
fn async_writes_are_numpys_bytes_in_one_or_several_parts() {
    fixtures();
    let s = servers();
    common::cli::python(
        "import numpy as np\n\
         np.save('async_small.npy', (np.arange(12) * 0.25 - 1.0).reshape(3, 4))\n\
         np.save('async_big.npy', (np.arange(1_600_000) % 1000).astype('<f4'))\n",
        &s.dir,
    );
    let small: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.25 - 1.0).collect();
    let big: Vec<f32> = (0..1_600_000).map(|i| (i % 1000) as f32).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        npymap::remote::write_async(
            &s3_url("written/async_small.npy"),
            &[3, 4],
            &small,
            &s3_opts(),
        )
        .await
        .unwrap();
        // 6.4 MB: two parts of 5 MiB (S3's smallest) and a tail.
        let opts = s3_opts().with_part_size(1 << 20);
        npymap::remote::write_async(&s3_url("written/async_big.npy"), &[1_600_000], &big, &opts)
            .await
            .unwrap();
        // A shape that does not fit the data: an error, no upload.
        let e = npymap::remote::write_async(&s3_url("written/async_bad.npy"), &[5], &small, &opts)
            .await
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::ShapeMismatch { .. }), "{e}");
    });
    for key in ["async_small.npy", "async_big.npy"] {
        let want = std::fs::read(s.dir.join(key)).unwrap();
        assert_eq!(object_bytes(&format!("written/{key}")), want, "{key}");
        assert!(open_uploads_for(&format!("written/{key}")).is_empty());
    }
    assert!(not_found("written/async_bad.npy"));
    assert!(open_uploads_for("written/async_bad.npy").is_empty());
}

#[test]
fn an_aborted_or_dropped_async_upload_leaves_no_object_and_no_parts() {
    fixtures();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (key, how) in [
        ("written/async_aborted.npy", "abort"),
        ("written/async_dropped.npy", "drop"),
    ] {
        rt.block_on(async {
            let mut out = npymap::remote::AsyncRemoteWriter::create(&s3_url(key), &s3_opts())
                .await
                .unwrap();
            // One whole part goes up.
            out.write_all(&vec![7u8; 6 << 20]).await.unwrap();
            assert_eq!(out.written(), 6 << 20);
            assert_eq!(open_uploads_for(key).len(), 1, "{how}");
            if how == "abort" {
                out.abort().await.unwrap();
            } else {
                drop(out);
            }
        });
        // The dropped upload's abort runs on the runtime's workers.
        let t0 = std::time::Instant::now();
        while !open_uploads_for(key).is_empty() && t0.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(open_uploads_for(key).is_empty(), "{how}");
        assert!(not_found(key), "{how}");
    }
}

// --- rbench ---

/// A NumPy `.npz` of 1,000 small members of mixed dtypes and shapes
/// (`savez` or `savez_compressed`), written once under the test servers'
/// directory; what NumPy says of each member: `(name, dtype.str, shape)`.
fn thousand_member_npz(file: &str, save: &str) -> (PathBuf, Vec<(String, String, Vec<u64>)>) {
    let s = servers();
    let local = s.dir.join(file);
    let out = common::cli::python(
        &format!(
            "import numpy as np\n\
             dts = ['<f4', '>i8', '|u1', '<c16', '|b1', '<U3', '<M8[s]', '>f2']\n\
             shapes = lambda i: [(i % 7,), (i % 5, 3), (), (2, i % 4, 1)][i % 4]\n\
             arrs = {{}}\n\
             for i in range(1000):\n\
             \x20   d = np.dtype(dts[i % len(dts)]); sh = shapes(i)\n\
             \x20   arrs['m%04d' % i] = np.zeros(sh, dtype=d)\n\
             np.{save}({path:?}, **arrs)\n\
             with np.load({path:?}) as z:\n\
             \x20   for k in z.files:\n\
             \x20       a = z[k]; print(k, repr(a.dtype.str), ','.join(map(str, a.shape)))\n",
            path = local.display().to_string()
        ),
        &s.dir,
    );
    let listed = out
        .lines()
        .map(|l| {
            let mut w = l.split(' ');
            let (k, d, sh) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap_or(""));
            let shape = sh
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap())
                .collect();
            (k.to_string(), d.to_string(), shape)
        })
        .collect();
    (local, listed)
}

#[test]
fn thousand_member_npz_lists_every_header_in_two_requests_over_s3_and_http() {
    let s = servers();
    let (local, numpy) = thousand_member_npz("thousand.npz", "savez");
    assert_eq!(numpy.len(), 1000);
    servers::upload(&[(local.clone(), "thousand.npz".into())]);
    std::fs::copy(&local, s.www.join("thousand.npz")).unwrap();
    let size = std::fs::metadata(&local).unwrap().len();
    let want = npymap::npz::NpzReader::open(&local).unwrap();
    for (url, opts) in [
        (s3_url("thousand.npz"), s3_opts()),
        (http_url("thousand.npz"), http_opts()),
    ] {
        let npz = RemoteNpz::open(&url, &opts).unwrap();
        let stats = npz.stats();
        // The tail (end records and the whole central directory, 57 KB),
        // then every local header and `.npy` header in one coalesced GET
        // (the archive is smaller than one part).
        assert!(size > NPZ_TAIL_LEN && size < opts.part_size, "{size}");
        assert_eq!(stats.requests, 2, "{url}: {stats:?}");
        assert!(stats.bytes <= size, "{url}: {stats:?}, {size}");
        assert_eq!(npz.members().len(), 1000, "{url}");
        for ((m, w), (name, descr, shape)) in npz.members().iter().zip(want.members()).zip(&numpy) {
            assert_eq!(m.name(), name, "{url}");
            assert_eq!(m.header(), w.header(), "{url}: {name}");
            assert_eq!(m.header().header.dtype.descr(), *descr, "{url}: {name}");
            assert_eq!(m.header().header.shape, *shape, "{url}: {name}");
            assert_eq!(m.npy_range(), w.npy_range(), "{url}: {name}");
        }
        // Nothing is fetched again to read a member afterwards (the
        // prefetched bytes are dropped, the member is read on demand).
        let mut npz = npz;
        let before = npz.stats();
        let got = npz.read_array::<f32>("m0000").unwrap();
        assert_eq!(got.shape(), [0]);
        assert_eq!(npz.stats().requests - before.requests, 1, "{url}");
    }
}

#[test]
fn thousand_member_compressed_npz_lists_in_two_requests() {
    let (local, numpy) = thousand_member_npz("thousand_z.npz", "savez_compressed");
    servers::upload(&[(local.clone(), "thousand_z.npz".into())]);
    let npz = RemoteNpz::open(&s3_url("thousand_z.npz"), &s3_opts()).unwrap();
    let stats = npz.stats();
    assert_eq!(stats.requests, 2, "{stats:?}");
    for (m, (name, descr, shape)) in npz.members().iter().zip(&numpy) {
        assert_eq!(m.name(), name);
        assert_eq!(m.header().header.dtype.descr(), *descr, "{name}");
        assert_eq!(m.header().header.shape, *shape, "{name}");
        assert_eq!(m.compression(), npymap::npz::Compression::Deflated);
    }
}

// --- rcli ---

/// [`numpy_object`] under `rcli/` (its nginx directory made first).
fn rcli_object(key: &str, script: &str) -> PathBuf {
    std::fs::create_dir_all(servers().www.join("rcli")).unwrap();
    numpy_object(key, script)
}

/// nginx's GET lines for `/key` from now on: call with the log length
/// taken before the command ran.
fn rcli_log_len() -> usize {
    servers().access_log_settled().len()
}

/// The GET requests nginx logged for `/key` since `from` (a log length)
/// and the body bytes it sent for them.
fn rcli_gets_since(from: usize, key: &str) -> (usize, u64) {
    let log = servers().access_log_settled();
    let lines: Vec<&str> = log[from..]
        .lines()
        .filter(|l| l.contains(&format!("GET /{key} ")))
        .collect();
    let bytes = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    (lines.len(), bytes)
}

/// The local command's stdout, stderr and exit code, with the fixture's
/// path written as `url`.
fn rcli_local(args: &[&str], local: &Path, url: &str) -> (String, String, Option<i32>) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{}", &local.display().to_string()))
        .collect();
    let out = common::cli::npymap(&args);
    let fix = |b: &[u8]| String::from_utf8_lossy(b).replace(&local.display().to_string(), url);
    (fix(&out.stdout), fix(&out.stderr), out.status.code())
}

fn rcli_remote(args: &[&str], url: &str) -> (String, String, Option<i32>) {
    let args: Vec<String> = args.iter().map(|a| a.replace("{}", url)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli(&args);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// `show URL` prints what `show` of the same file prints, reading only
/// the header GET and the runs of elements it prints.
#[test]
fn rcli_show_url_fetches_only_the_printed_elements() {
    // (key, NumPy code, most payload bytes the printed elements need)
    let cases = [
        // 400 x 400 f8, C: rows 0..3 and 397..400, 3 rows each = 9600 B.
        (
            "rcli/show_c.npy",
            "a = (np.arange(160000, dtype='<f8') * 0.25).reshape(400, 400)",
            2 * 3 * 400 * 8,
        ),
        // Fortran 3-D big-endian ints: edge items in storage order.
        (
            "rcli/show_f.npy",
            "a = np.asfortranarray(np.arange(80 * 60 * 50, dtype='>i4').reshape(80, 60, 50))",
            // Runs closer than 64 KiB merge: the first and the last
            // three 80 x 60 planes (storage order), at most.
            2 * 3 * 80 * 60 * 4,
        ),
        // 1-D, 200 000 elements: the first and last 3.
        (
            "rcli/show_1d.npy",
            "a = np.arange(200000, dtype='<i8') - 7",
            2 * 3 * 8,
        ),
        // Small: every element printed, the whole payload.
        (
            "rcli/show_small.npy",
            "a = np.linspace(0, 1, 30, dtype='<f4').reshape(5, 6)",
            30 * 4,
        ),
    ];
    for (key, code, payload_bound) in cases {
        let local = rcli_object(key, code);
        let size = std::fs::metadata(&local).unwrap().len();
        for full in [false, true] {
            let mut args = vec!["show", "{}"];
            if full {
                args.push("--full");
            }
            let want = rcli_local(&args, &local, "");
            assert_eq!(want.2, Some(0), "{key}: {}", want.1);
            for url in [s3_url(key), http_url(key)] {
                let before = rcli_log_len();
                let got = rcli_remote(&args, &url);
                assert_eq!(got, want, "{url} {args:?}");
                if url.starts_with("http") && !full {
                    let (gets, bytes) = rcli_gets_since(before, key);
                    // The header GET (the first 64 KiB, or the whole object
                    // when smaller) plus the printed runs.
                    let head = size.min(64 << 10);
                    assert!(
                        bytes <= head + payload_bound,
                        "{url}: {bytes} bytes in {gets} GETs, object {size}"
                    );
                    assert!(gets >= 1, "{url}: no GET logged");
                }
            }
        }
    }
    // The 400 x 400 case in numbers: one header GET and two runs.
    let url = http_url("rcli/show_c.npy");
    let before = rcli_log_len();
    rcli_remote(&["show", "{}"], &url);
    let (gets, bytes) = rcli_gets_since(before, "rcli/show_c.npy");
    assert_eq!(gets, 3, "{bytes}");
    assert!(bytes <= (64 << 10) + 2 * 3 * 3200, "{bytes}");
    // NumPy's own repr of the file is what both print.
    let numpy = common::cli::python(
        "import numpy as np\nprint(repr(np.load('rcli_show_c.npy')))",
        &servers().dir,
    );
    assert_eq!(rcli_remote(&["show", "{}"], &url).0, numpy);
}

/// `slice URL OUT INDEX` writes the local command's bytes and fetches the
/// header plus only the selected row span when the index starts with an
/// integer or a slice; other cases are staged and still equal.
#[test]
fn rcli_slice_url_fetches_only_the_row_span() {
    let key = "rcli/slice_c.npy";
    let local = rcli_object(
        key,
        "a = (np.arange(2000 * 256, dtype='<f4') * 0.5).reshape(2000, 256)",
    );
    let size = std::fs::metadata(&local).unwrap().len();
    let row = 256 * 4;
    let dir = tempfile::tempdir().unwrap();
    // (index, rows in the span: None when the whole object is staged)
    let cases: [(&str, Option<u64>); 12] = [
        ("100:300", Some(200)),
        ("-5", Some(1)),
        ("7, ::2", Some(1)),
        ("10:20, 3", Some(10)),
        ("1500:100:-7", Some(1 + (1400 - 1) / 7 * 7)),
        ("-1:-4:-1", Some(3)),
        ("5:5", Some(1)),
        ("1990:5000", Some(10)),
        ("::-500", Some(1501)),
        ("..., 3", None),
        ("None, 4", None),
        ("()", None),
    ];
    for (n, (index, span)) in cases.iter().enumerate() {
        let want_path = dir.path().join(format!("want{n}.npy"));
        let out = common::cli::npymap(&[
            "slice".as_ref(),
            local.as_os_str(),
            want_path.as_os_str(),
            index.as_ref(),
        ]);
        common::cli::ok(&out, index);
        let want = std::fs::read(&want_path).unwrap();
        for url in [s3_url(key), http_url(key)] {
            let got_path = dir.path().join(format!("got{n}.npy"));
            let before = rcli_log_len();
            let out = cli(&["slice", &url, got_path.to_str().unwrap(), index]);
            common::cli::ok(&out, &format!("{url} {index}"));
            assert!(
                out.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(std::fs::read(&got_path).unwrap(), want, "{url} [{index}]");
            if url.starts_with("http") {
                let (gets, bytes) = rcli_gets_since(before, key);
                match span {
                    // The header GET, then exactly the span's rows.
                    Some(rows) => {
                        assert_eq!(bytes, (64 << 10) + rows * row, "[{index}]: {gets} GETs")
                    }
                    None => assert!(bytes >= size, "[{index}]: {bytes} of {size}"),
                }
            }
        }
    }
    // NumPy agrees on one of them, through a URL output.
    let out = cli(&[
        "slice",
        &s3_url(key),
        "s3://npymap-test/rcli/sliced.npy",
        "1500:100:-7, 5:9",
    ]);
    common::cli::ok(&out, "slice to URL");
    let got = numpy_s3("rcli/sliced.npy", "print(a.shape, a.dtype.str, a.sum())");
    let want = common::cli::python(
        "import numpy as np\na = np.load('rcli_slice_c.npy')[1500:100:-7, 5:9]\nprint(a.shape, a.dtype.str, a.sum())",
        &servers().dir,
    );
    assert_eq!(got, want);
}

/// Structured fields and 1-D arrays take the row-span path too.
#[test]
fn rcli_slice_url_of_records_and_1d_arrays_matches_local() {
    let cases = [
        (
            "rcli/rec.npy",
            "a = np.zeros(5000, dtype=[('x', '<f8'), ('y', '>i2'), ('s', 'S5')])\n\
             a['x'] = np.arange(5000) / 3\na['y'] = np.arange(5000) % 300\n\
             a['s'] = [b'r%d' % (i % 999) for i in range(5000)]",
            vec![
                vec!["10:4000:3", "--field", "x"],
                vec!["-2", "--field", "s"],
                vec!["7", "--field", "x", "--field", "y"],
                vec!["4999"],
            ],
        ),
        (
            "rcli/u1.npy",
            "a = (np.arange(100000) % 251).astype('u1')",
            vec![vec!["50000:50010"], vec!["-1"], vec!["::-999"]],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (key, code, indices) in cases {
        let local = rcli_object(key, code);
        for (n, extra) in indices.iter().enumerate() {
            let want_path = dir.path().join(format!("w{n}.npy"));
            let got_path = dir.path().join(format!("g{n}.npy"));
            let mut args = vec![
                "slice",
                local.to_str().unwrap(),
                want_path.to_str().unwrap(),
            ];
            args.extend(extra);
            common::cli::ok(&common::cli::npymap(&args), key);
            let url = s3_url(key);
            let mut args = vec!["slice", url.as_str(), got_path.to_str().unwrap()];
            args.extend(extra);
            common::cli::ok(&cli(&args), key);
            assert_eq!(
                std::fs::read(&got_path).unwrap(),
                std::fs::read(&want_path).unwrap(),
                "{key} {extra:?}"
            );
        }
    }
}

/// Errors of `show URL` / `slice URL` are the local command's, naming the
/// URL, with the same exit code.
#[test]
fn rcli_show_and_slice_errors_are_the_local_ones() {
    fixtures();
    npz_fixtures();
    let c = common::testdata().join("npy/c_2x3.npy");
    let npz = common::testdata().join("npz/named.npz");
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        (
            vec!["slice", "{}", "OUT", "5"],
            c.as_path(),
            "npy/c_2x3.npy",
        ),
        (
            vec!["slice", "{}", "OUT", "1:2:0"],
            c.as_path(),
            "npy/c_2x3.npy",
        ),
        (
            vec!["slice", "{}", "OUT", "0, 0, 0"],
            c.as_path(),
            "npy/c_2x3.npy",
        ),
        (
            vec!["slice", "{}", "OUT", "[1"],
            c.as_path(),
            "npy/c_2x3.npy",
        ),
        (
            vec!["slice", "{}", "OUT", "0", "--field", "nope"],
            c.as_path(),
            "npy/c_2x3.npy",
        ),
        (vec!["show", "{}"], npz.as_path(), "npz/named.npz"),
        (
            vec!["slice", "{}", "OUT", "0"],
            npz.as_path(),
            "npz/named.npz",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    let out = out.to_str().unwrap();
    for (args, local, key) in cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("OUT", out)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let url = s3_url(key);
        let want = rcli_local(&args, local, &url);
        let got = rcli_remote(&args, &url);
        assert_eq!(want.2, Some(2), "{args:?}: {}", want.1);
        assert_eq!(got, want, "{args:?}");
        assert!(!Path::new(out).exists());
    }
    // A missing object: exit 2, the URL first.
    let missing = s3_url("rcli/missing.npy");
    for args in [
        vec!["show", missing.as_str()],
        vec!["slice", missing.as_str(), out, "0"],
    ] {
        let o = cli(&args);
        common::cli::assert_error(&o, &args.join(" "));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.starts_with(&format!("npymap: error: {missing}: ")),
            "{stderr}"
        );
    }
}

/// Runs `args` under a pseudo-terminal (util-linux `script`), with the
/// test S3 server's environment: what the terminal showed.
fn rcli_in_pty(args: &[&str]) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_npymap"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"]).env("TERM", "xterm");
    for (k, v) in servers::s3_env() {
        c.env(k, v);
    }
    // `script` is part of util-linux; a missing one fails the test.
    let out = c.output().expect("util-linux `script` must be installed");
    assert!(
        out.status.success(),
        "{line}: {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Downloads and uploads of URLs draw a byte progress bar on a terminal's
/// stderr; never with --quiet or --json, and never when stderr is a pipe.
#[test]
fn rcli_transfers_draw_progress_bars_only_on_a_terminal() {
    let key = "rcli/progress.npy";
    rcli_object(key, "a = np.arange(3 << 18, dtype='<f8')");
    let url = s3_url(key);
    let up = "s3://npymap-test/rcli/progress_up.npy";
    // Staged download (stats) and upload (convert to a URL).
    let tty = rcli_in_pty(&["stats", &url]);
    assert!(tty.contains(&url) && tty.contains("MiB"), "{tty:?}");
    let tty = rcli_in_pty(&["convert", &url, up]);
    assert!(tty.contains(up) && tty.contains("MiB"), "{tty:?}");
    // The row span of a slice.
    let dir = tempfile::tempdir().unwrap();
    let sliced = dir.path().join("sliced.npy");
    let tty = rcli_in_pty(&["slice", &url, sliced.to_str().unwrap(), "10:"]);
    assert!(tty.contains(&url) && tty.contains("MiB"), "{tty:?}");
    // --quiet and --json: the command's output only.
    let quiet = rcli_in_pty(&["stats", "--quiet", &url]);
    assert!(!quiet.contains("MiB"), "{quiet:?}");
    let json = rcli_in_pty(&["stats", "--json", &url]);
    assert!(!json.contains("MiB"), "{json:?}");
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["count"], 3 << 18);
    // A pipe: nothing on stderr.
    for args in [
        vec!["stats", url.as_str()],
        vec!["convert", url.as_str(), up],
    ] {
        let out = cli(&args);
        common::cli::ok(&out, &args.join(" "));
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
