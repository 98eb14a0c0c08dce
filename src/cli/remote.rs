//! URLs on the command line (feature `remote`): the one place that tells
//! a URL from a path (`npymap::remote::is_url`) and turns URL arguments
//! into local files and back.
//!
//! `info` reads only the header (one ranged GET for a `.npy`; the tail and
//! member headers for a `.npz`). Every other command runs its local code
//! on local files: URL inputs are first copied (in concurrent ranged GETs,
//! one window of memory) to a private temp directory, and URL outputs are
//! written there and uploaded with one multipart upload only after the
//! command succeeded, so a failed command leaves no object. Messages name
//! the URL, never the temp file. See spec/remote.md §CLI.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use npymap::remote::{RemoteFile, RemoteOptions, RemoteWriter, copy_to, is_url};

use super::{CliError, CmdResult, Command};

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
        copy_to(&url, &self.opts, &mut file)?;
        self.names.push((local.clone(), url));
        *path = local;
        Ok(())
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
    let mut out = RemoteWriter::create(url, opts)?;
    std::io::copy(&mut file, &mut out).map_err(|e| CliError(npymap::Error::from(e).to_string()))?;
    out.finish()?;
    Ok(())
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
            Command::Slice { input, output, .. }
            | Command::ToText { input, output, .. }
            | Command::FromText { input, output, .. } => {
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
