//! Real servers for the remote tests: an S3-protocol server (moto in
//! server mode, from PyPI) and nginx (Range support) on free 127.0.0.1
//! ports, started once per test binary.
//!
//! Each server runs under a small `sh` watchdog that polls the test
//! process's pid and kills the server when that process is gone, however
//! it ends (a `Drop` in a static never runs, and `PR_SET_PDEATHSIG` fires
//! when the spawning *thread* exits, which in the test harness is one
//! test's thread).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The watchdog: runs "$@" in the background, kills it when the test
/// process (`$1`) or the server itself is gone, then removes the fixture's
/// scratch directory (`$NPYMAP_TEST_SCRATCH`, see [`scratch_dir`]) once
/// the test process is gone.
const WATCHDOG: &str = r#"
parent=$1; shift
"$@" &
child=$!
trap 'kill $child 2>/dev/null; exit 0' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.2; done
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
if [ -n "$NPYMAP_TEST_SCRATCH" ] && ! kill -0 "$parent" 2>/dev/null; then
    rm -rf "$NPYMAP_TEST_SCRATCH"
fi
"#;

/// The scratch directory of the servers started next.
static SCRATCH: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// A new scratch directory under the system temp dir for a server
/// fixture: it lives as long as the test process (a fixture in a static
/// is never dropped), and the watchdogs of the servers started after this
/// call remove it once the process is gone.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir")
        .keep();
    *SCRATCH.lock().unwrap() = Some(dir.clone());
    dir
}

/// A free port on 127.0.0.1 (the OS picks it; the listener is closed
/// again, leaving a short race nobody else on the machine is likely to win).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

static WATCHDOGS: std::sync::Mutex<Vec<std::process::Child>> = std::sync::Mutex::new(Vec::new());

/// Starts `cmd` under the watchdog, logging to `log`, and waits until
/// `port` accepts connections.
pub fn spawn_watched(cmd: &[&str], envs: &[(&str, &str)], log: &Path, port: u16) {
    let out = std::fs::File::create(log).expect("server log");
    let err = out.try_clone().expect("log clone");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(WATCHDOG)
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .args(cmd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for (k, v) in envs {
        c.env(k, v);
    }
    if let Some(dir) = SCRATCH.lock().unwrap().as_ref() {
        c.env("NPYMAP_TEST_SCRATCH", dir);
    }
    let mut child = c.spawn().expect("start server watchdog");
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // The watchdog runs for the rest of the process; keep its handle.
            WATCHDOGS.lock().unwrap().push(child);
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{cmd:?} exited ({status}) before listening on {port}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{cmd:?} did not listen on {port} within 60 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The running servers and where their files are.
pub struct Servers {
    /// Scratch directory of the fixture (kept for the process's life).
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT` of the S3 server.
    pub s3_endpoint: String,
    /// `http://127.0.0.1:PORT` of nginx.
    pub http_base: String,
    /// nginx's document root: files put here are served at `http_base`.
    pub www: PathBuf,
    /// nginx's access log: `"GET /path HTTP/1.1" bytes=a-b 206 len` lines.
    pub access_log: PathBuf,
}

impl Servers {
    /// nginx's access log once it has settled: nginx logs a request after
    /// sending its last byte, so a client that has just read a response
    /// can see the log without that line. Reads until two reads 100 ms
    /// apart agree (at most ~5 s).
    pub fn access_log_settled(&self) -> String {
        let read = || std::fs::read_to_string(&self.access_log).unwrap_or_default();
        let mut last = read();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = read();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }
}

static SERVERS: OnceLock<Servers> = OnceLock::new();

/// The shared servers, started on first use.
pub fn servers() -> &'static Servers {
    SERVERS.get_or_init(start)
}

/// The bucket the fixtures are uploaded to.
pub const BUCKET: &str = "npymap-test";

fn start() -> Servers {
    let dir = scratch_dir("npymap-remote-");
    // S3: moto in server mode.
    let s3_port = free_port();
    let port_text = s3_port.to_string();
    spawn_watched(
        &[
            "python3",
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port_text,
        ],
        &[],
        &dir.join("moto.log"),
        s3_port,
    );
    let s3_endpoint = format!("http://127.0.0.1:{s3_port}");
    // HTTP: nginx serving `www/` with Range support.
    let www = dir.join("www");
    std::fs::create_dir_all(&www).expect("www");
    std::fs::create_dir_all(dir.join("tmp")).expect("tmp");
    let http_port = free_port();
    let access_log = dir.join("access.log");
    let d = dir.display();
    let conf = format!(
        "daemon off;\nuser root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  log_format ranges '\"$request\" $http_range $status $body_bytes_sent';\n\
           access_log {log} ranges;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
           fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
           server {{\n    listen 127.0.0.1:{http_port};\n    root {www};\n\
             location /forbidden/ {{ return 403; }}\n  }}\n}}\n",
        log = access_log.display(),
        www = www.display(),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("nginx.conf");
    let conf_text = conf_path.display().to_string();
    spawn_watched(
        &["nginx", "-c", &conf_text, "-p", &d.to_string()],
        &[],
        &dir.join("nginx.log"),
        http_port,
    );
    let http_base = format!("http://127.0.0.1:{http_port}");
    let servers = Servers {
        dir,
        s3_endpoint,
        http_base,
        www,
        access_log,
    };
    create_bucket(&servers.s3_endpoint, BUCKET);
    servers
}

/// One unsigned HTTP/1.1 request (moto accepts them): the whole reply.
pub fn raw_http(endpoint: &str, method: &str, target: &str) -> String {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect to the server");
    write!(
        c,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    reply
}

/// Creates `bucket` with a plain `PUT /bucket`.
pub fn create_bucket(endpoint: &str, bucket: &str) {
    let reply = raw_http(endpoint, "PUT", &format!("/{bucket}"));
    assert!(reply.starts_with("HTTP/1.1 200"), "create bucket: {reply}");
}

/// The multipart uploads in progress in the test bucket (S3's
/// ListMultipartUploads), as the keys they are for.
pub fn open_uploads() -> Vec<String> {
    let reply = raw_http(&servers().s3_endpoint, "GET", &format!("/{BUCKET}?uploads"));
    assert!(reply.starts_with("HTTP/1.1 200"), "list uploads: {reply}");
    reply
        .split("<Upload>")
        .skip(1)
        .filter_map(|u| Some(u.split_once("<Key>")?.1.split_once("</Key>")?.0.to_string()))
        .collect()
}

/// A plain S3 client of the test server (object_store's, not npymap's
/// code), for test setup: uploads and listings.
pub fn s3_client() -> std::sync::Arc<dyn npymap::remote::object_store::ObjectStore> {
    let mut b = npymap::remote::object_store::aws::AmazonS3Builder::new().with_bucket_name(BUCKET);
    for (k, v) in s3_options() {
        b = b.with_config(k.parse().unwrap(), v);
    }
    std::sync::Arc::new(b.build().unwrap())
}

/// Uploads local files to the test bucket: `(local path, key)` pairs,
/// eight at a time.
pub fn upload(files: &[(PathBuf, String)]) {
    use futures::StreamExt;
    use npymap::remote::object_store::{ObjectStoreExt, path::Path as Key};
    let client = s3_client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        futures::stream::iter(files.iter().map(|(path, key)| {
            let client = client.clone();
            let bytes = std::fs::read(path).unwrap();
            async move {
                client
                    .put(&Key::from(key.as_str()), bytes.into())
                    .await
                    .unwrap();
            }
        }))
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    });
}

/// Store options for the test S3 server (moto accepts any credentials).
pub fn s3_options() -> Vec<(String, String)> {
    let s = servers();
    vec![
        ("aws_endpoint".into(), s.s3_endpoint.clone()),
        ("aws_access_key_id".into(), "test".into()),
        ("aws_secret_access_key".into(), "test".into()),
        ("aws_region".into(), "us-east-1".into()),
        ("allow_http".into(), "true".into()),
    ]
}

/// Environment variables that point a process (the CLI) at the test S3 server.
pub fn s3_env() -> Vec<(String, String)> {
    s3_options()
        .into_iter()
        .map(|(k, v)| {
            let k = if k == "allow_http" {
                "AWS_ALLOW_HTTP".to_string()
            } else {
                k.to_ascii_uppercase()
            };
            (k, v)
        })
        .collect()
}

/// Starts a second moto server that enforces authentication from the
/// first request on (`INITIAL_NO_AUTH_ACTION_COUNT=0`): any request with
/// made-up credentials gets 403. Returns its endpoint.
pub fn strict_s3() -> &'static str {
    static STRICT: OnceLock<String> = OnceLock::new();
    STRICT.get_or_init(|| {
        let s = servers();
        let port = free_port();
        let port_text = port.to_string();
        spawn_watched(
            &[
                "python3",
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port_text,
            ],
            &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")],
            &s.dir.join("moto-strict.log"),
            port,
        );
        format!("http://127.0.0.1:{port}")
    })
}
