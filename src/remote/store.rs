//! Where an object lives: a URL turned into an object-store client and a
//! path, the options that shape requests, the runtime the blocking API
//! owns, and the one ranged-read primitive every remote read goes through
//! (which also counts requests and bytes).

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, ObjectStoreScheme,
    RetryConfig,
};

use crate::error::{Error, ErrorKind, Result};

/// Default size of one ranged GET of a large read (8 MiB).
pub const DEFAULT_PART_SIZE: u64 = 8 << 20;
/// Default number of ranged GETs in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Bytes fetched by the first GET of an object: the whole header of
/// almost every `.npy` file (NumPy writes headers of a few hundred bytes).
pub const HEAD_FETCH_LEN: u64 = 64 << 10;

/// How remote objects are reached and read.
///
/// # Examples
/// ```
/// let opts = npymap::remote::RemoteOptions::default()
///     .with_option("aws_endpoint", "http://127.0.0.1:9000")
///     .with_option("allow_http", "true")
///     .with_concurrency(4);
/// assert_eq!(opts.concurrency, 4);
/// ```
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Largest byte range of one GET; bigger reads are split into parts of
    /// this size (default [`DEFAULT_PART_SIZE`]; at least 1).
    pub part_size: u64,
    /// Parts fetched at once (default [`DEFAULT_CONCURRENCY`]; at least 1).
    pub concurrency: usize,
    /// Retries of a failed request on transient errors (5xx, timeouts,
    /// dropped connections), with exponential backoff (default 10).
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt (default 3 min).
    pub retry_timeout: Duration,
    /// First backoff between retries (default 100 ms, doubling up to 15 s).
    pub initial_backoff: Duration,
    /// Explicit store settings, applied after the environment's: the keys
    /// object_store's builders take (`aws_endpoint`, `aws_access_key_id`,
    /// `aws_region`, `allow_http`, `google_service_account`,
    /// `azure_storage_account_name`, ...; case-insensitive). An unknown key
    /// is an error.
    pub store_options: Vec<(String, String)>,
    /// Header limits, as for local files.
    pub parse: crate::header::ParseOptions,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        let retry = RetryConfig::default();
        RemoteOptions {
            part_size: DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            max_retries: retry.max_retries,
            retry_timeout: retry.retry_timeout,
            initial_backoff: retry.backoff.init_backoff,
            store_options: Vec::new(),
            parse: crate::header::ParseOptions::default(),
        }
    }
}

impl RemoteOptions {
    /// Adds one explicit store setting (see [`RemoteOptions::store_options`]).
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.store_options.push((key.into(), value.into()));
        self
    }

    /// Sets the number of parts fetched at once.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets the size of one part of a large read.
    #[must_use]
    pub fn with_part_size(mut self, part_size: u64) -> Self {
        self.part_size = part_size;
        self
    }

    fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: self.initial_backoff,
                ..BackoffConfig::default()
            },
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }

    pub(crate) fn part_size(&self) -> u64 {
        self.part_size.max(1)
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency.max(1)
    }
}

/// Requests made and payload bytes received through one [`Location`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// GET and HEAD requests issued (retries inside the client not counted).
    pub requests: u64,
    /// Bytes received in GET bodies.
    pub bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// Tells whether `s` names a remote object rather than a local path: it
/// starts with `s3://`, `s3a://`, `gs://`, `az://`, `azure://`, `adl://`,
/// `abfs://`, `abfss://`, `http://`, `https://` or `file://`.
///
/// # Examples
/// ```
/// use npymap::remote::is_url;
/// assert!(is_url("s3://bucket/a.npy"));
/// assert!(!is_url("data/a.npy"));
/// assert!(!is_url("C:/a.npy"));
/// ```
pub fn is_url(s: &str) -> bool {
    const SCHEMES: [&str; 11] = [
        "s3", "s3a", "gs", "az", "azure", "adl", "abfs", "abfss", "http", "https", "file",
    ];
    s.split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.iter().any(|k| scheme.eq_ignore_ascii_case(k)))
}

/// One object in a store: the client, the object's path in it, the URL it
/// was named by (for messages), the options, and transfer counters.
#[derive(Debug, Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    url: String,
    opts: RemoteOptions,
    counters: Arc<Counters>,
}

fn bad_url(url: &str, reason: impl std::fmt::Display) -> Error {
    Error::from(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a usable object URL: {reason}"),
    ))
    .in_path(url)
}

macro_rules! configured {
    ($builder:expr, $opts:expr, $url:expr) => {{
        let mut b = $builder.with_retry($opts.retry());
        for (k, v) in &$opts.store_options {
            let key = k
                .to_ascii_lowercase()
                .parse()
                .map_err(|_| bad_url($url, format!("unknown store option {k:?}")))?;
            b = b.with_config(key, v.clone());
        }
        Arc::new(b.build().map_err(|e| store_error(e, $url))?) as Arc<dyn ObjectStore>
    }};
}

/// Store clients already built, by scheme, authority and options: a client
/// holds its connection pool and TLS setup, which are worth reusing across
/// objects (building one per object costs far more than a request).
type ClientCache = std::sync::Mutex<std::collections::HashMap<String, Arc<dyn ObjectStore>>>;
static CLIENTS: OnceLock<ClientCache> = OnceLock::new();

fn client_key(parsed: &url::Url, opts: &RemoteOptions) -> String {
    format!(
        "{}://{}|{:?}|{}|{:?}|{:?}",
        parsed.scheme(),
        parsed.authority(),
        opts.store_options,
        opts.max_retries,
        opts.retry_timeout,
        opts.initial_backoff
    )
}

impl Location {
    /// Parses `url` and builds its store client: credentials, region and
    /// endpoint come from the environment the way object_store's builders
    /// read it (`AWS_*`, `GOOGLE_*`, `AZURE_*`), then from
    /// `opts.store_options`. No request is made. Clients are kept for the
    /// process and shared by every URL with the same scheme, authority
    /// (bucket, host) and options, so the environment is read when the
    /// first such URL is parsed.
    ///
    /// # Errors
    /// `Io` (`InvalidInput`) naming the URL for an unknown scheme, a
    /// missing bucket, an unknown option or an incomplete configuration.
    pub fn parse(url: &str, opts: &RemoteOptions) -> Result<Location> {
        let parsed = url::Url::parse(url).map_err(|e| bad_url(url, e))?;
        let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| bad_url(url, e))?;
        let key = client_key(&parsed, opts);
        let cache = CLIENTS.get_or_init(ClientCache::default);
        let cached = cache.lock().ok().and_then(|m| m.get(&key).cloned());
        if let Some(store) = cached {
            return Ok(Location::new(store, path, url, opts));
        }
        let store: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::Local => {
                let file = parsed
                    .to_file_path()
                    .map_err(|()| bad_url(url, "not an absolute file path"))?;
                let store = object_store::local::LocalFileSystem::new();
                let path = ObjectPath::from_filesystem_path(&file).map_err(|e| bad_url(url, e))?;
                return Ok(Location::new(Arc::new(store), path, url, opts));
            }
            ObjectStoreScheme::AmazonS3 => configured!(
                object_store::aws::AmazonS3Builder::from_env().with_url(url),
                opts,
                url
            ),
            ObjectStoreScheme::GoogleCloudStorage => configured!(
                object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(url),
                opts,
                url
            ),
            ObjectStoreScheme::MicrosoftAzure => configured!(
                object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url),
                opts,
                url
            ),
            ObjectStoreScheme::Http => {
                let base = parsed.origin().ascii_serialization();
                // An `http://` URL asks for plain HTTP in so many words.
                let plain = parsed.scheme() == "http";
                configured!(
                    object_store::http::HttpBuilder::new()
                        .with_url(base)
                        .with_config(object_store::ClientConfigKey::AllowHttp, plain.to_string()),
                    opts,
                    url
                )
            }
            other => return Err(bad_url(url, format!("unsupported scheme {other:?}"))),
        };
        if let Ok(mut m) = cache.lock() {
            m.insert(key, Arc::clone(&store));
        }
        Ok(Location::new(store, path, url, opts))
    }

    /// A location over an existing store client (any [`ObjectStore`]:
    /// a configured S3 client, a prefix store, ...); `url` is used only in
    /// messages.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        url: &str,
        opts: &RemoteOptions,
    ) -> Location {
        Location {
            store,
            path,
            url: url.to_string(),
            opts: opts.clone(),
            counters: Arc::default(),
        }
    }

    /// The URL the object was named by.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options in force.
    pub fn options(&self) -> &RemoteOptions {
        &self.opts
    }

    /// The store client.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object's path inside the store.
    pub fn path(&self) -> &ObjectPath {
        &self.path
    }

    /// Requests and bytes so far (shared by clones of this location).
    pub fn stats(&self) -> TransferStats {
        TransferStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            bytes: self.counters.bytes.load(Ordering::Relaxed),
        }
    }

    fn count(&self, requests: u64, bytes: u64) {
        self.counters
            .requests
            .fetch_add(requests, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds an error's URL context.
    pub(crate) fn err(&self, e: Error) -> Error {
        e.in_path(&self.url)
    }

    /// One GET of the first `len` bytes (clamped by the server to the
    /// object's end): the bytes and the object's total size.
    pub(crate) async fn get_head(&self, len: u64) -> Result<(Bytes, u64)> {
        let (start, bytes, size) = self.get_probe(GetRange::Bounded(0..len)).await?;
        debug_assert_eq!(start, 0);
        Ok((bytes, size))
    }

    /// One GET of the last `len` bytes: where they start, the bytes and
    /// the object's total size.
    pub(crate) async fn get_tail(&self, len: u64) -> Result<(u64, Bytes, u64)> {
        self.get_probe(GetRange::Suffix(len)).await
    }

    /// The first GET of an object, which also learns its size; an empty
    /// object has no byte to return, so a refused range is followed by a
    /// HEAD that tells an empty object from a real failure.
    async fn get_probe(&self, range: GetRange) -> Result<(u64, Bytes, u64)> {
        let suffix = match range {
            GetRange::Suffix(len) => Some(len),
            _ => None,
        };
        let options = GetOptions::new().with_range(Some(range));
        let got = self.store.get_opts(&self.path, options).await;
        let result = match got {
            // A store that refuses suffix ranges before sending anything
            // (Azure's blob API has none): the size from a HEAD, then a
            // bounded GET of the same bytes.
            Err(object_store::Error::NotSupported { .. }) if suffix.is_some() => {
                let len = suffix.unwrap_or(0);
                let meta = self.store.head(&self.path).await;
                self.count(1, 0);
                let size = meta.map_err(|e| store_error(e, &self.url))?.size;
                let start = size.saturating_sub(len);
                let bytes = self.get_exact(start..size).await?;
                return Ok((start, bytes, size));
            }
            Ok(r) => {
                self.count(1, 0);
                r
            }
            Err(e) if !matches!(e, object_store::Error::NotFound { .. }) => {
                self.count(1, 0);
                let meta = self.store.head(&self.path).await;
                self.count(1, 0);
                let meta = meta.map_err(|_| store_error(e, &self.url))?;
                if meta.size == 0 {
                    return Ok((0, Bytes::new(), 0));
                }
                return Err(Error::from(std::io::Error::other(format!(
                    "ranged GET of a {}-byte object failed",
                    meta.size
                )))
                .in_path(&self.url));
            }
            Err(e) => {
                self.count(1, 0);
                return Err(store_error(e, &self.url));
            }
        };
        let size = result.meta.size;
        let (start, end) = (result.range.start, result.range.end);
        let want = end.saturating_sub(start);
        let bytes = result
            .bytes()
            .await
            .map_err(|e| store_error(e, &self.url))?;
        self.count(0, bytes.len() as u64);
        if bytes.len() as u64 != want {
            return Err(Error::new(ErrorKind::Truncated {
                what: "object range",
                needed: end,
                available: start.saturating_add(bytes.len() as u64),
            })
            .in_path(&self.url));
        }
        Ok((start, bytes, size))
    }

    /// One GET of exactly `range`; fewer bytes than asked is `Truncated`
    /// (the object is shorter than its header says, or changed).
    pub(crate) async fn get_exact(&self, range: Range<u64>) -> Result<Bytes> {
        let want = range.end.saturating_sub(range.start);
        if want == 0 {
            return Ok(Bytes::new());
        }
        let got = self.store.get_range(&self.path, range.clone()).await;
        self.count(1, 0);
        let bytes = got.map_err(|e| store_error(e, &self.url))?;
        self.count(0, bytes.len() as u64);
        if bytes.len() as u64 != want {
            return Err(Error::new(ErrorKind::Truncated {
                what: "object range",
                needed: range.end,
                available: range.start.saturating_add(bytes.len() as u64),
            })
            .at(range.start)
            .in_path(&self.url));
        }
        Ok(bytes)
    }

    /// Reads object bytes `start..start + dst.len()` into `dst` with parts
    /// of at most `part_size` bytes, `concurrency` of them in flight. The
    /// parts are as even as the count allows (10 MB at 8 MiB parts is two
    /// GETs of 5 MB, not 8 MiB and a 1.6 MB straggler): the read takes as
    /// long as its longest part.
    pub(crate) async fn read_into(&self, start: u64, dst: &mut [u8]) -> Result<()> {
        let max_part = usize::try_from(self.opts.part_size()).unwrap_or(usize::MAX);
        let parts = dst.len().div_ceil(max_part).max(1);
        let part = dst.len().div_ceil(parts).max(1);
        let jobs = dst.chunks_mut(part).enumerate().map(|(i, chunk)| {
            let from = (i as u64)
                .checked_mul(part as u64)
                .and_then(|o| o.checked_add(start));
            async move {
                let from = from.ok_or(ErrorKind::Overflow {
                    what: "object range",
                })?;
                let to = from
                    .checked_add(chunk.len() as u64)
                    .ok_or(ErrorKind::Overflow {
                        what: "object range",
                    })?;
                let bytes = self.get_exact(from..to).await?;
                // `get_exact` checked the length.
                chunk.copy_from_slice(&bytes);
                Ok::<(), Error>(())
            }
        });
        futures::stream::iter(jobs)
            .buffer_unordered(self.opts.concurrency())
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

/// Copies the whole object at `url` into `out`: the first part with one
/// GET (which gives the size), the rest in windows of `part_size` ×
/// `concurrency` bytes fetched concurrently, so memory stays at one
/// window whatever the object's size. Returns the bytes copied.
///
/// # Errors
/// `Io` naming the URL (the object's or `out`'s), `Truncated` when the
/// object shrinks while it is read.
pub fn copy_to(url: &str, opts: &RemoteOptions, out: &mut dyn std::io::Write) -> Result<u64> {
    copy_to_with(url, opts, out, &mut |_| {})
}

/// [`copy_to`], calling `on_size` once with the object's size as soon as
/// the first GET told it (before the first byte is written), so a caller
/// can size a progress bar that `out` then advances.
///
/// # Errors
/// As [`copy_to`].
pub fn copy_to_with(
    url: &str,
    opts: &RemoteOptions,
    out: &mut dyn std::io::Write,
    on_size: &mut dyn FnMut(u64),
) -> Result<u64> {
    let loc = Location::parse(url, opts)?;
    copy_at(&loc, out, on_size).map_err(|e| loc.err(e))
}

fn copy_at(
    loc: &Location,
    out: &mut dyn std::io::Write,
    on_size: &mut dyn FnMut(u64),
) -> Result<u64> {
    let part = loc.opts.part_size();
    let (first, size) = block_on(loc.get_head(part))??;
    on_size(size);
    out.write_all(&first)?;
    let mut done = first.len() as u64;
    let window = part.saturating_mul(loc.opts.concurrency() as u64);
    let mut buf: Vec<u8> = Vec::new();
    while done < size {
        let n = usize::try_from((size - done).min(window)).map_err(|_| ErrorKind::Overflow {
            what: "copy window",
        })?;
        buf.clear();
        buf.try_reserve_exact(n).map_err(|_| ErrorKind::Overflow {
            what: "copy window",
        })?;
        buf.resize(n, 0);
        block_on(loc.read_into(done, &mut buf))??;
        out.write_all(&buf)?;
        done += n as u64;
    }
    out.flush()?;
    Ok(done)
}

/// An object_store error as the crate's `Io` error naming the URL:
/// `NotFound` and `PermissionDenied` keep their `io::ErrorKind` so callers
/// and the CLI can tell them apart.
pub(crate) fn store_error(e: object_store::Error, url: &str) -> Error {
    use std::io::ErrorKind as K;
    let kind = match &e {
        object_store::Error::NotFound { .. } => K::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => K::PermissionDenied,
        object_store::Error::AlreadyExists { .. } => K::AlreadyExists,
        object_store::Error::InvalidPath { .. }
        | object_store::Error::UnknownConfigurationKey { .. } => K::InvalidInput,
        _ => K::Other,
    };
    Error::from(std::io::Error::new(kind, e)).in_path(url)
}

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Runs `fut` to completion on the runtime the blocking API owns (two
/// worker threads, built on first use and kept for the process).
///
/// # Errors
/// `Unsupported` when called from inside a tokio runtime (blocking there
/// would stall it: use the async API), `Io` when the runtime cannot start.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ErrorKind::Unsupported(
            "the blocking remote API was called inside an async runtime; use the async API".into(),
        )
        .into());
    }
    let rt = match RUNTIME.get() {
        Some(rt) => rt,
        None => {
            let built = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("npymap-remote")
                .enable_all()
                .build()?;
            RUNTIME.get_or_init(|| built)
        }
    };
    Ok(rt.block_on(fut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("S3://b/k"));
        assert!(is_url("https://h/x.npy"));
        assert!(is_url("file:///tmp/x.npy"));
        assert!(!is_url("x.npy"));
        assert!(!is_url("ftp://h/x.npy"));
        assert!(!is_url("dir://x"));
    }

    #[test]
    fn unknown_option_is_an_error_naming_it() {
        let opts = RemoteOptions::default().with_option("aws_no_such_key", "1");
        let e = Location::parse("s3://bucket/a.npy", &opts).unwrap_err();
        assert!(e.to_string().contains("aws_no_such_key"), "{e}");
        assert!(e.to_string().starts_with("s3://bucket/a.npy: "), "{e}");
    }

    #[test]
    fn bad_scheme_is_an_error() {
        let e = Location::parse("memory:///a.npy", &RemoteOptions::default()).unwrap_err();
        assert!(e.to_string().contains("unsupported scheme"), "{e}");
    }
}
