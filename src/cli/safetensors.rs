//! `.safetensors` in the CLI (spec/cli.md §16): the hooks `convert`,
//! `unpack` and `info` call when a path ends in `.safetensors`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use npymap::atomic::Durability;
use npymap::convert::{ConvertOptions, Payload};
use npymap::npy::{self, Format};
use npymap::npz::{Compression, NpzReader, UnpackOptions};
use npymap::safetensors::{self as st, METADATA_KEY, SafetensorsFile, SafetensorsPlan};
use npymap::{Header, Version};
use serde_json::{Value, json};

use super::{CliError, CmdResult, input, with_path};

/// Whether `path` names a `.safetensors` file (by its extension, any case).
pub(crate) fn is_safetensors(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
}

fn is_npz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// `convert`'s dispatch table: which conversion a pair of paths asks for.
/// `None` when neither side is `.safetensors` (the `.npy` conversion).
pub(crate) fn convert(
    input: &Path,
    out: &Path,
    opts: &ConvertOptions,
    durability: Durability,
) -> Option<CmdResult> {
    let (from_st, to_st) = (is_safetensors(input), is_safetensors(out));
    if !from_st && !to_st {
        return None;
    }
    if opts.byte_order.is_some()
        || opts.fortran_order.is_some()
        || opts.version.is_some()
        || opts.dtype.is_some()
    {
        return Some(Err(CliError(
            "--byte-order, --order, --format-version and --dtype do not apply to \
             .safetensors conversions (safetensors is little-endian, C order)"
                .into(),
        )));
    }
    Some(match (from_st, to_st) {
        (true, true) => Err(CliError(
            "IN and OUT are both .safetensors: nothing to convert".into(),
        )),
        (true, false) if is_npz(out) => st::to_npz(input, out, durability)
            .map(|()| ExitCode::SUCCESS)
            .map_err(with_path(input)),
        (true, false) => Err(CliError(format!(
            "{}: a .safetensors file converts to an .npz archive (OUT ending in .npz); \
             for one .npy per tensor use `npymap unpack IN DIR`",
            out.display()
        ))),
        (false, _) => to_safetensors(input, out, durability),
    })
}

/// `unpack IN.safetensors DIR`.
pub(crate) fn unpack(input: &Path, dir: &Path, sync: bool) -> CmdResult {
    st::unpack(input, dir, UnpackOptions::default().sync(sync)).map_err(with_path(input))?;
    Ok(ExitCode::SUCCESS)
}

/// Where a tensor's array comes from.
enum Source {
    /// An `.npy` file.
    File(PathBuf),
    /// A stored archive member: its payload's byte range in the archive.
    Stored(Range<u64>),
    /// A deflated archive member (staged to a temporary file when written).
    Deflated,
}

/// The arrays an input holds: name, header, source; and `__metadata__`.
struct Arrays {
    tensors: Vec<(String, Header, Source)>,
    metadata: Option<BTreeMap<String, String>>,
}

/// `convert IN OUT.safetensors` for IN an `.npz`, a directory of `.npy`
/// files or one `.npy`.
fn to_safetensors(input: &Path, out: &Path, durability: Durability) -> CmdResult {
    let md = fs::metadata(input).map_err(|e| CliError(format!("{}: {e}", input.display())))?;
    let mut npz = None;
    let arrays = if md.is_dir() {
        from_dir(input)?
    } else {
        // The archive is opened once: the listing, every stored member's
        // map and every staged member read this one file (duplicated
        // descriptors, not new opens), even if the path is replaced.
        let file = npy::open_input(input).map_err(with_path(input))?;
        match npy::detect_open(&file).map_err(with_path(input))? {
            Format::Npy => {
                let name = stem(input)?;
                let p = npy::inspect(input).map_err(with_path(input))?;
                Arrays {
                    tensors: vec![(name, p.header, Source::File(input.to_path_buf()))],
                    metadata: None,
                }
            }
            Format::Npz => {
                let listed = file
                    .try_clone()
                    .map_err(npymap::Error::from)
                    .and_then(|f| NpzReader::new(std::io::BufReader::new(f)));
                let mut r = listed.map_err(with_path(input))?;
                let arrays = from_npz(&mut r, input)?;
                npz = Some((r, file));
                arrays
            }
        }
    };
    let list: Vec<(String, Header)> = arrays
        .tensors
        .iter()
        .map(|(n, h, _)| (n.clone(), h.clone()))
        .collect();
    let plan = SafetensorsPlan::new(&list, arrays.metadata.as_ref()).map_err(with_path(input))?;
    let stage_dir = npymap_parent(out);
    let index: HashMap<&str, usize> = arrays
        .tensors
        .iter()
        .enumerate()
        .map(|(i, (n, _, _))| (n.as_str(), i))
        .collect();
    plan.write_file(
        out,
        durability,
        |name| -> Result<Box<dyn Payload>, CliError> {
            let found = index.get(name).and_then(|&i| arrays.tensors.get(i));
            let Some((_, header, source)) = found else {
                return Err(CliError(format!("tensor {name:?} was not planned")));
            };
            match source {
                Source::File(p) => Ok(Box::new(input::open(p)?)),
                Source::Stored(range) => {
                    let Some((_, file)) = npz.as_ref() else {
                        return Err(CliError(format!("tensor {name:?}: archive not open")));
                    };
                    let file = file
                        .try_clone()
                        .map_err(|e| CliError(format!("{}: {e}", input.display())))?;
                    Ok(Box::new(input::open_at(file, input, header, range.start)?))
                }
                Source::Deflated => {
                    let Some((r, _)) = npz.as_mut() else {
                        return Err(CliError(format!("tensor {name:?}: archive not open")));
                    };
                    Ok(Box::new(stage(r, input, name, &stage_dir)?))
                }
            }
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The directory temporary files for `out` go in.
fn npymap_parent(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A file's stem as a tensor name.
fn stem(path: &Path) -> Result<String, CliError> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError(format!(
                "{}: the file name is not UTF-8, so it cannot name a tensor",
                path.display()
            ))
        })
}

/// Every regular `*.npy` file directly in `dir`, by name; `__metadata__.npy`
/// is the metadata.
fn from_dir(dir: &Path) -> Result<Arrays, CliError> {
    let io = |e: std::io::Error| CliError(format!("{}: {e}", dir.display()));
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let is_npy = path.extension().is_some_and(|e| e == "npy");
        if is_npy && entry.file_type().map_err(io)?.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut arrays = Arrays {
        tensors: Vec::new(),
        metadata: None,
    };
    for path in paths {
        let name = stem(&path)?;
        if name == METADATA_KEY {
            let src = input::open(&path)?;
            arrays.metadata = Some(
                st::parse_metadata_member(src.header(), src.payload()).map_err(with_path(&path))?,
            );
            continue;
        }
        let p = npy::inspect(&path).map_err(with_path(&path))?;
        arrays.tensors.push((name, p.header, Source::File(path)));
    }
    Ok(arrays)
}

/// Every member of an archive; `__metadata__` is the metadata.
fn from_npz(
    r: &mut NpzReader<std::io::BufReader<fs::File>>,
    path: &Path,
) -> Result<Arrays, CliError> {
    let mut arrays = Arrays {
        tensors: Vec::new(),
        metadata: None,
    };
    let mut meta_header = None;
    for m in r.members() {
        let header = m.header().header.clone();
        if m.name() == METADATA_KEY {
            meta_header = Some(header);
            continue;
        }
        let source = match (m.compression(), m.payload_range()) {
            (Compression::Stored, Some(range)) => Source::Stored(range),
            _ => Source::Deflated,
        };
        arrays.tensors.push((m.name().to_owned(), header, source));
    }
    if let Some(h) = meta_header {
        // Bounded before it is read: the parser refuses longer text anyway.
        let len = h.payload_len().map_err(with_path(path))?;
        if len > st::MAX_HEADER_LEN {
            return Err(CliError(format!(
                "{}: member \"{METADATA_KEY}\": {len} bytes, over the limit of {}",
                path.display(),
                st::MAX_HEADER_LEN
            )));
        }
        let payload = r.read_payload(METADATA_KEY).map_err(with_path(path))?;
        arrays.metadata = Some(st::parse_metadata_member(&h, &payload).map_err(with_path(path))?);
    }
    Ok(arrays)
}

/// A deflated member inflated into a temporary `.npy` beside OUT and
/// mapped; the file goes when this is dropped.
struct Staged {
    // Dropped first: the map before its file is removed.
    input: input::Input,
    _tmp: st::StagedMember,
}

fn stage(
    r: &mut NpzReader<std::io::BufReader<fs::File>>,
    archive: &Path,
    name: &str,
    dir: &Path,
) -> Result<Staged, CliError> {
    let tmp = st::stage_member(r, name, dir).map_err(with_path(archive))?;
    let input = input::open(tmp.path())?;
    Ok(Staged { input, _tmp: tmp })
}

impl Payload for Staged {
    fn header(&self) -> &Header {
        self.input.header()
    }
    fn payload(&self) -> &[u8] {
        self.input.payload()
    }
    fn version(&self) -> Option<Version> {
        self.input.version()
    }
    fn path(&self) -> Option<&Path> {
        self.input.path()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> npymap::Result<()> {
        self.input.read_at(offset, buf)
    }
    fn release(&self, range: Range<usize>) {
        self.input.release(range);
    }
}

/// A name as it is when printable, else quoted with escapes, so a name
/// cannot move the cursor or forge lines.
fn display_name(name: &str) -> String {
    if name.chars().any(char::is_control) {
        format!("{name:?}")
    } else {
        name.to_owned()
    }
}

fn shape_text(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `info FILE.safetensors [--json]`.
pub(crate) fn info(path: &Path, json_out: bool) -> CmdResult {
    let file = SafetensorsFile::open(path).map_err(with_path(path))?;
    let c = file.contents();
    let out = if json_out {
        let tensors: Vec<Value> = c
            .tensors
            .iter()
            .map(|t| {
                let r = t.range();
                json!({
                    "name": t.name(),
                    "dtype": t.dtype(),
                    "descr": st::numpy_dtype(t.dtype()).map(|d| d.to_json()),
                    "shape": t.shape(),
                    "data_offset": r.start,
                    "nbytes": r.end - r.start,
                })
            })
            .collect();
        let v = json!({
            "format": "safetensors",
            "header_len": c.data_start - 8,
            "metadata": c.metadata,
            "tensors": tensors,
        });
        let mut s = serde_json::to_string(&v).map_err(|e| CliError(e.to_string()))?;
        s.push('\n');
        s
    } else {
        let n = c.tensors.len();
        let mut s = format!(
            "{}: safetensors, {n} tensor{}, header {} bytes\n",
            path.display(),
            if n == 1 { "" } else { "s" },
            c.data_start - 8
        );
        if let Some(m) = &c.metadata {
            let text = serde_json::to_string(m).map_err(|e| CliError(e.to_string()))?;
            s.push_str(&format!("  metadata: {}\n", display_name(&text)));
        }
        for t in &c.tensors {
            let r = t.range();
            let numpy = match st::numpy_dtype(t.dtype()) {
                Some(d) => d.descr().trim_matches('\'').to_string(),
                None => "no NumPy dtype".to_string(),
            };
            s.push_str(&format!(
                "  {}: {} ({numpy}), shape {}, {} bytes at offset {}\n",
                display_name(t.name()),
                t.dtype(),
                shape_text(t.shape()),
                r.end - r.start,
                r.start
            ));
        }
        s
    };
    super::stdout::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
