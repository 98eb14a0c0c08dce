//! URLs on the command line (feature `remote`): the one place that tells
//! a URL from a path (`npymap::remote::is_url`) and turns URL arguments
//! into local files and back.
//!
//! `info` reads only the header (one ranged GET for a `.npy`; the tail and
//! member headers for a `.npz`). `show` reads the header and the elements
//! it prints; `slice` of a C-order or 1-D array whose index starts with an
//! integer or a slice copies only the selected row span into a local
//! `.npy` and slices that. Every other command runs its local code on
//! local files: URL inputs are first copied (in concurrent ranged GETs,
//! one window of memory) to a private temp directory, and URL outputs are
//! written there and uploaded with one multipart upload only after the
//! command succeeded, so a failed command leaves no object. Transfers of
//! [`PROGRESS_MIN_BYTES`] or more draw a progress bar by bytes (stderr
//! only, when it is a terminal, never with `--quiet` or `--json`).
//! Messages name the URL, never the temp file. See spec/remote.md §10.

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget};
use npymap::convert::{Index, IndexItem, SliceOptions, SlicePlan};
use npymap::remote::{RemoteFile, RemoteNpy, RemoteOptions, RemoteWriter, copy_to_with, is_url};
use npymap::repr::ByteSource;
use npymap::{Dtype, Header};

use super::{CliError, CmdResult, Command, with_path};

/// Transfers smaller than this draw no progress bar (they end too fast).
pub(crate) const PROGRESS_MIN_BYTES: u64 = 1 << 20;

/// Bytes between two runs of printed elements that `show` fetches rather
/// than paying one more request.
const SHOW_GAP_BYTES: u64 = 64 << 10;

/// Most elements `show` plans to fetch one by one; a summary with more
/// (8 or more summarised axes) is staged instead.
const SHOW_MAX_PRINTED: u64 = 1 << 20;

/// A writer that advances a progress bar by the bytes it takes.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    bar: Option<ProgressBar>,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The URL an argument names, if it is one.
fn url_of(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| is_url(s))
}

/// Options for every URL of this run: credentials and endpoints from the
/// environment, `--concurrency` parts in flight.
fn options(concurrency: Option<usize>) -> RemoteOptions {
    let opts = RemoteOptions::default();
    match concurrency {
        Some(n) => opts.with_concurrency(n),
        None => opts,
    }
}

/// `npymap info URL`: the header only.
pub(crate) fn info(url: &str, json: bool, concurrency: Option<usize>) -> CmdResult {
    let path = Path::new(url);
    let out = match RemoteFile::open(url, &options(concurrency))? {
        RemoteFile::Npy(npy) => {
            let p = npy.header();
            if json {
                let v = super::info::npy_json(p, &[("format", "npy".into())]);
                let mut s = serde_json::to_string(&v).map_err(|e| CliError(e.to_string()))?;
                s.push('\n');
                s
            } else {
                format!("{url}: npy\n{}", super::info::npy_text(p, "  "))
            }
        }
        RemoteFile::Npz(npz) => {
            if json {
                let mut s = serde_json::to_string(&super::info::npz_json(npz.members()))
                    .map_err(|e| CliError(e.to_string()))?;
                s.push('\n');
                s
            } else {
                super::info::npz_text(path, npz.members())
            }
        }
    };
    super::stdout::print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The local stand-ins of this run's URL arguments.
pub(crate) struct Staging {
    dir: Option<tempfile::TempDir>,
    opts: RemoteOptions,
    /// (local file, URL) of every output to upload on success.
    outputs: Vec<(PathBuf, String)>,
    /// (local file, URL) of every argument, to put URLs back in messages.
    names: Vec<(PathBuf, String)>,
}

impl Staging {
    fn dir(&mut self) -> Result<PathBuf, CliError> {
        if self.dir.is_none() {
            let d = tempfile::Builder::new()
                .prefix(".npymap-remote-")
                .tempdir()
                .map_err(|e| CliError(format!("cannot create a temp directory: {e}")))?;
            self.dir = Some(d);
        }
        let root = self.dir.as_ref().map(|d| d.path().to_path_buf());
        let sub = root.unwrap_or_default().join(self.names.len().to_string());
        std::fs::create_dir(&sub)
            .map_err(|e| CliError(format!("cannot create a temp directory: {e}")))?;
        Ok(sub)
    }

    /// The local file for `url`, keeping its file name (commands use the
    /// name: `pack` takes member names from it).
    fn local_for(&mut self, url: &str) -> Result<PathBuf, CliError> {
        let name = url
            .rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or("object")
            .to_string();
        // One sub-directory per staged object: `cmp s3://a/x.npy
        // s3://b/x.npy` stages two different files, and each keeps its own
        // file name (the extension chooses the format).
        let sub = self.dir()?.join(self.names.len().to_string());
        std::fs::create_dir(&sub)
            .map_err(|e| CliError(format!("{url}: cannot stage a local copy: {e}")))?;
        Ok(sub.join(name))
    }

    /// Replaces a URL input by a local copy of the object.
    fn input(&mut self, path: &mut PathBuf) -> Result<(), CliError> {
        let Some(url) = url_of(path).map(str::to_string) else {
            return Ok(());
        };
        let local = self.local_for(&url)?;
        let mut file = File::create(&local)
            .map_err(|e| CliError(format!("{url}: cannot stage a local copy: {e}")))?;
        // The bar learns its length from the first GET and is drawn only
        // from then on, for an object big enough.
        let bar = super::input::hidden_bar(0, 0, &url);
        let mut on_size = |size: u64| {
            if let Some(b) = &bar
                && size >= PROGRESS_MIN_BYTES
            {
                b.set_length(size);
                b.set_draw_target(ProgressDrawTarget::stderr());
            }
        };
        let mut out = Counted {
            inner: &mut file,
            bar: bar.clone(),
        };
        copy_to_with(&url, &self.opts, &mut out, &mut on_size)?;
        drop(out);
        self.names.push((local.clone(), url));
        *path = local;
        Ok(())
    }

    /// `slice URL OUT INDEX` of a C-order or 1-D `.npy` whose index starts
    /// with an integer or a slice: copies only the rows that item selects
    /// into a local `.npy` (the same dtype and order, fewer rows) and
    /// rewrites INDEX to count from the first of them, so the local slice
    /// writes the same bytes. Returns `false`, touching nothing, for any
    /// other case (the caller stages the whole object).
    fn slice_rows(
        &mut self,
        path: &mut PathBuf,
        index: &mut String,
        fields: &[String],
    ) -> Result<bool, CliError> {
        let Some(url) = url_of(path).map(str::to_string) else {
            return Ok(false);
        };
        // The local command parses INDEX before it opens IN.
        let parsed = Index::parse(index).map_err(|e| CliError(e.to_string()))?;
        // Anything unusual (a missing object, an archive, a bad header)
        // goes the staged way, which gives the local command's message.
        let Ok(RemoteFile::Npy(npy)) = RemoteFile::open(&url, &self.opts) else {
            return Ok(false);
        };
        let h = npy.header().header.clone();
        let plain = !h.dtype.has_object()
            && !matches!(h.dtype, Dtype::Subarray { .. })
            && (!h.fortran_order || h.shape.len() == 1);
        let (Some(&n), Some(first), true) = (h.shape.first(), parsed.items().first(), plain) else {
            return Ok(false);
        };
        if n == 0 {
            return Ok(false);
        }
        let opts = SliceOptions {
            fields: fields.to_vec(),
            index: parsed.clone(),
        };
        // What IN cannot give (index, fields): the local message, naming the URL.
        SlicePlan::new(&h, &opts).map_err(with_path(Path::new(&url)))?;
        let Some((rows, item)) = row_span(*first, n) else {
            return Ok(false);
        };
        let mut items = parsed.items().to_vec();
        if let Some(slot) = items.first_mut() {
            *slot = item;
        }
        let local = self.local_for(&url)?;
        self.names.push((local.clone(), url.clone()));
        copy_rows(&npy, &h, rows, &local, &url)?;
        *index = Index::new(items).to_string();
        *path = local;
        Ok(true)
    }

    /// Replaces a URL output by a local file uploaded on success.
    fn output(&mut self, path: &mut PathBuf) -> Result<(), CliError> {
        let Some(url) = url_of(path).map(str::to_string) else {
            return Ok(());
        };
        let local = self.local_for(&url)?;
        self.names.push((local.clone(), url.clone()));
        self.outputs.push((local.clone(), url));
        *path = local;
        Ok(())
    }

    /// Refuses a URL where the command needs a local file it changes.
    fn local_only(path: &Path, command: &str) -> Result<(), CliError> {
        match url_of(path) {
            Some(url) => Err(CliError(format!(
                "{url}: {command} changes a file in place; give a local path"
            ))),
            None => Ok(()),
        }
    }

    /// Puts URLs back where the temp files' paths appear in a message.
    fn rename(&self, msg: String) -> String {
        self.names.iter().fold(msg, |m, (local, url)| {
            m.replace(&local.display().to_string(), url)
        })
    }

    /// After the command: on success, uploads the outputs (each appears
    /// whole or not at all); messages name the URLs. The temp directory
    /// goes when `self` does.
    pub(crate) fn finish(self, result: CmdResult) -> CmdResult {
        let result = result.and_then(|code| {
            for (local, url) in &self.outputs {
                upload(local, url, &self.opts)?;
            }
            Ok(code)
        });
        result.map_err(|CliError(m)| CliError(self.rename(m)))
    }
}

fn upload(local: &Path, url: &str, opts: &RemoteOptions) -> Result<(), CliError> {
    let mut file =
        File::open(local).map_err(|e| CliError(format!("{url}: nothing was written: {e}")))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut out = RemoteWriter::create(url, opts)?;
    let mut counted = Counted {
        inner: &mut out,
        bar: super::input::progress_bar(len, PROGRESS_MIN_BYTES, url),
    };
    std::io::copy(&mut file, &mut counted)
        .map_err(|e| CliError(npymap::Error::from(e).to_string()))?;
    drop(counted);
    out.finish()?;
    Ok(())
}

/// The rows of axis 0 (of length `n`) that `item` selects, as one span
/// `lo..hi`, and the item that selects the same rows of an array holding
/// only that span. `None` for items that do not select rows.
fn row_span(item: IndexItem, n: u64) -> Option<(Range<u64>, IndexItem)> {
    let len = i128::from(n);
    match item {
        IndexItem::Int(i) => {
            let i = i128::from(i);
            let row = if i < 0 { i + len } else { i };
            // Out of range was refused by the plan; checked again here.
            let row = u64::try_from(row).ok().filter(|&r| r < n)?;
            Some((row..row + 1, IndexItem::Int(0)))
        }
        IndexItem::Slice { start, stop, step } => {
            // Python's slice.indices(n).
            let step = i128::from(step.unwrap_or(1));
            if step == 0 {
                return None;
            }
            let clamp = |v: Option<i64>, default: i128| -> i128 {
                match v {
                    None => default,
                    Some(v) => {
                        let v = i128::from(v);
                        let v = if v < 0 { v + len } else { v };
                        if step > 0 {
                            v.clamp(0, len)
                        } else {
                            v.clamp(-1, len - 1)
                        }
                    }
                }
            };
            let (start, stop) = if step > 0 {
                (clamp(start, 0), clamp(stop, len))
            } else {
                (clamp(start, len - 1), clamp(stop, -1))
            };
            let count = if step > 0 && stop > start {
                (stop - start + step - 1) / step
            } else if step < 0 && start > stop {
                (start - stop - step - 1) / -step
            } else {
                0
            };
            let step64 = i64::try_from(step).ok()?;
            if count == 0 {
                // Nothing selected: one row, sliced to nothing.
                let empty = IndexItem::Slice {
                    start: Some(0),
                    stop: Some(0),
                    step: Some(step64),
                };
                return Some((0..1, empty));
            }
            let last = start + (count - 1) * step;
            let (lo, hi) = (start.min(last), start.max(last) + 1);
            let span = hi - lo;
            let first = if step > 0 { 0 } else { span - 1 };
            let item = IndexItem::Slice {
                start: Some(i64::try_from(first).ok()?),
                stop: None,
                step: Some(step64),
            };
            Some((u64::try_from(lo).ok()?..u64::try_from(hi).ok()?, item))
        }
        IndexItem::Ellipsis | IndexItem::NewAxis => None,
    }
}

/// Writes rows `rows` of the C-order (or 1-D) array `h` describes, read
/// from `npy` in windows of `part_size × concurrency` bytes, as a `.npy`
/// at `local`.
fn copy_rows(
    npy: &RemoteNpy,
    h: &Header,
    rows: Range<u64>,
    local: &Path,
    url: &str,
) -> Result<(), CliError> {
    let overflow = || CliError(format!("{url}: the row span overflows"));
    let n = h.shape.first().copied().unwrap_or(1).max(1);
    let row_len = h.element_count()?.checked_div(n).unwrap_or(0);
    let mut shape = h.shape.clone();
    if let Some(d) = shape.first_mut() {
        *d = rows.end - rows.start;
    }
    let part = Header {
        dtype: h.dtype.clone(),
        fortran_order: h.fortran_order,
        shape,
    };
    let head = part.to_bytes(None).map_err(with_path(Path::new(url)))?;
    let stage_err = |e: std::io::Error| CliError(format!("{url}: cannot stage a local copy: {e}"));
    let mut file = File::create(local).map_err(stage_err)?;
    file.write_all(&head).map_err(stage_err)?;
    let itemsize = h.dtype.itemsize() as u64;
    let first = rows.start.checked_mul(row_len).ok_or_else(overflow)?;
    let end = rows.end.checked_mul(row_len).ok_or_else(overflow)?;
    let total = (end - first).checked_mul(itemsize).ok_or_else(overflow)?;
    let opts = npy.as_async().location().options().clone();
    let window_bytes = opts
        .part_size
        .max(1)
        .saturating_mul(opts.concurrency.max(1) as u64);
    let window = (window_bytes / itemsize.max(1)).max(1);
    let mut out = Counted {
        inner: &mut file,
        bar: super::input::progress_bar(total, PROGRESS_MIN_BYTES, url),
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut at = first;
    while at < end {
        let upto = end.min(at.saturating_add(window));
        let len = usize::try_from((upto - at).saturating_mul(itemsize)).map_err(|_| overflow())?;
        buf.clear();
        buf.try_reserve_exact(len).map_err(|_| overflow())?;
        buf.resize(len, 0);
        npy.read_bytes_into(at..upto, &mut buf)?;
        out.write_all(&buf).map_err(stage_err)?;
        at = upto;
    }
    drop(out);
    file.flush().map_err(stage_err)?;
    Ok(())
}

/// `npymap show URL [--full]` of a `.npy` object without copying it: the
/// header, then only the elements the repr prints (the whole payload when
/// it prints them all and it is at most 16 MiB). `None` when that does not
/// apply (an archive, a missing object, a bad header, object or zero-size
/// elements, `--full` of a larger payload, a summary of too many
/// elements): the caller stages the object as other commands do.
pub(crate) fn show(url: &str, full: bool, concurrency: Option<usize>) -> Option<CmdResult> {
    let Ok(RemoteFile::Npy(npy)) = RemoteFile::open(url, &options(concurrency)) else {
        return None;
    };
    let h = npy.header().header.clone();
    if h.dtype.has_object() || h.dtype.itemsize() == 0 {
        return None;
    }
    let runs = show_runs(&h, full)?;
    let itemsize = h.dtype.itemsize() as u64;
    let run = || -> CmdResult {
        let mut fetched = Vec::with_capacity(runs.len());
        for r in runs {
            let len = usize::try_from((r.end - r.start).saturating_mul(itemsize))
                .map_err(|_| CliError(format!("{url}: the read is too large")))?;
            let mut buf = Vec::new();
            buf.try_reserve_exact(len)
                .map_err(|_| CliError(format!("{url}: out of memory reading {len} bytes")))?;
            buf.resize(len, 0);
            npy.read_bytes_into(r.clone(), &mut buf)?;
            fetched.push((r.start.saturating_mul(itemsize), buf));
        }
        let mut source = Fetched {
            npy: &npy,
            itemsize,
            runs: fetched,
            miss: None,
        };
        super::show::print(&h, &mut source, full, Path::new(url))
    };
    Some(run())
}

/// The element runs (storage order) `show` fetches: the whole payload
/// when every element is printed, else the edge items of each axis,
/// runs closer than [`SHOW_GAP_BYTES`] merged. `None`: stage instead.
fn show_runs(h: &Header, full: bool) -> Option<Vec<Range<u64>>> {
    use npymap::repr::{EDGE_ITEMS, THRESHOLD};
    let count = h.element_count().ok()?;
    let itemsize = h.dtype.itemsize() as u64;
    let limit = super::show::FULL_READ_LIMIT;
    if full || count <= THRESHOLD {
        let all = h.payload_len().ok()? <= limit;
        return all.then(|| std::iter::once(0..count).collect());
    }
    // Each axis's printed positions, as NumPy's summary keeps them.
    let kept: Vec<Vec<u64>> = h
        .shape
        .iter()
        .map(|&d| {
            if d > 2 * EDGE_ITEMS {
                (0..EDGE_ITEMS).chain(d - EDGE_ITEMS..d).collect()
            } else {
                (0..d).collect()
            }
        })
        .collect();
    let printed = kept
        .iter()
        .try_fold(1u64, |a, k| a.checked_mul(k.len() as u64))?;
    if printed > SHOW_MAX_PRINTED || printed.checked_mul(itemsize)? > limit {
        return None;
    }
    // Element strides of the storage order.
    let mut strides = vec![0u64; h.shape.len()];
    let mut pairs: Vec<(&mut u64, u64)> = strides.iter_mut().zip(h.shape.iter().copied()).collect();
    if !h.fortran_order {
        pairs.reverse();
    }
    let mut acc = 1u64;
    for (s, d) in pairs {
        *s = acc;
        acc = acc.checked_mul(d)?;
    }
    // Storage index of every printed element: the product of the axes'
    // kept positions.
    let mut indices: Vec<u64> = vec![0];
    for (k, stride) in kept.iter().zip(&strides) {
        let mut next = Vec::with_capacity(indices.len().checked_mul(k.len())?);
        for base in &indices {
            next.extend(k.iter().map(|p| base + p * stride));
        }
        indices = next;
    }
    indices.sort_unstable();
    indices.dedup();
    let gap = (SHOW_GAP_BYTES / itemsize.max(1)).max(1);
    let mut runs: Vec<Range<u64>> = Vec::new();
    for i in indices {
        match runs.last_mut() {
            Some(r) if i <= r.end.saturating_add(gap) => r.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    Some(runs)
}

/// The payload bytes `show` fetched, by byte offset; a read outside them
/// (which the plan should make impossible) fetches the elements it covers.
struct Fetched<'a> {
    npy: &'a RemoteNpy,
    itemsize: u64,
    runs: Vec<(u64, Vec<u8>)>,
    miss: Option<(u64, Vec<u8>)>,
}

fn serve(run: &(u64, Vec<u8>), offset: u64, buf: &mut [u8]) -> bool {
    let Some(skip) = offset.checked_sub(run.0) else {
        return false;
    };
    let got = usize::try_from(skip)
        .ok()
        .and_then(|s| run.1.get(s..s.checked_add(buf.len())?));
    match got {
        Some(src) => {
            buf.copy_from_slice(src);
            true
        }
        None => false,
    }
}

impl ByteSource for Fetched<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> npymap::Result<()> {
        let at = self.runs.partition_point(|r| r.0 <= offset);
        if let Some(run) = at.checked_sub(1).and_then(|i| self.runs.get(i))
            && serve(run, offset, buf)
        {
            return Ok(());
        }
        if let Some(run) = &self.miss
            && serve(run, offset, buf)
        {
            return Ok(());
        }
        let item = self.itemsize.max(1);
        let end = offset.saturating_add(buf.len() as u64);
        let (e0, e1) = (offset / item, end.div_ceil(item));
        let len = usize::try_from((e1 - e0).saturating_mul(item))
            .map_err(|_| npymap::Error::from(npymap::ErrorKind::Overflow { what: "read size" }))?;
        let mut block = vec![0u8; len];
        self.npy.read_bytes_into(e0..e1, &mut block)?;
        let run = (e0 * item, block);
        let served = serve(&run, offset, buf);
        self.miss = Some(run);
        if served {
            Ok(())
        } else {
            Err(npymap::ErrorKind::Truncated {
                what: "payload",
                needed: end,
                available: e1.saturating_mul(item),
            }
            .into())
        }
    }
}

/// Stages the URL arguments of `cmd` (inputs copied, outputs redirected)
/// and rewrites them to local paths. `info` is left alone (it reads URLs
/// itself).
pub(crate) fn stage(cmd: &mut Command, concurrency: Option<usize>) -> Result<Staging, CliError> {
    let mut s = Staging {
        dir: None,
        opts: options(concurrency),
        outputs: Vec::new(),
        names: Vec::new(),
    };
    let mut run = |s: &mut Staging| -> Result<(), CliError> {
        match cmd {
            Command::Info { .. } => {}
            Command::Convert { input, output, .. } | Command::ToRaw { input, output } => {
                s.input(input)?;
                s.output(output)?;
            }
            Command::FromRaw { raw, output, .. } => {
                s.input(raw)?;
                s.output(output)?;
            }
            Command::Cmp { a, b } => {
                s.input(a)?;
                s.input(b)?;
            }
            Command::Stats { path, .. } | Command::Show { path, .. } => s.input(path)?,
            Command::Unpack { input, dir } => {
                s.input(input)?;
                Staging::local_only(dir, "unpack")?;
            }
            Command::Pack { out, inputs, .. } => {
                s.output(out)?;
                for arg in inputs.iter_mut() {
                    // `NAME=URL` or `URL`: the member name stays the user's.
                    let (name, rest) = match arg.split_once('=') {
                        Some((n, r)) if !is_url(arg) && is_url(r) => (Some(n.to_string()), r),
                        _ => (None, arg.as_str()),
                    };
                    let mut p = PathBuf::from(rest);
                    if url_of(&p).is_none() {
                        continue;
                    }
                    s.input(&mut p)?;
                    let local = p.display().to_string();
                    *arg = match name {
                        Some(n) => format!("{n}={local}"),
                        None => local,
                    };
                }
            }
            Command::Append { dst, sources } => {
                Staging::local_only(dst, "append")?;
                for src in sources.iter_mut() {
                    s.input(src)?;
                }
            }
            Command::Recover { path } => Staging::local_only(path, "recover")?,
            Command::Slice {
                input,
                output,
                index,
                fields,
            } => {
                if !s.slice_rows(input, index, fields)? {
                    s.input(input)?;
                }
                s.output(output)?;
            }
            Command::ToText { input, output, .. } | Command::FromText { input, output, .. } => {
                s.input(input)?;
                s.output(output)?;
            }
        }
        Ok(())
    };
    let staged = run(&mut s);
    staged.map_err(|CliError(m)| CliError(s.rename(m)))?;
    Ok(s)
}
