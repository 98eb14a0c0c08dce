//! `npymap info PATH [--json]`.

use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use npymap::header::shape_text;
use npymap::npy::{self, Format};
use npymap::npz::{Member, NpzReader};
use npymap::{Dtype, ParseOptions, ParsedHeader};
use serde_json::{Value, json};

use super::{CliError, CmdResult, with_path};

/// The npy fields of `info --json` (shared with npz members), plus `extra`.
pub(crate) fn npy_json(p: &ParsedHeader, extra: &[(&str, Value)]) -> Value {
    let h = &p.header;
    let mut v = json!({
        "version": p.version.as_str(),
        "descr": h.dtype.to_json(),
        "fortran_order": h.fortran_order,
        "shape": h.shape,
        "data_offset": p.data_offset,
        "itemsize": h.dtype.itemsize(),
        "nbytes": h.payload_len().unwrap_or(0),
    });
    if let Some(o) = v.as_object_mut() {
        for (k, x) in extra {
            o.insert((*k).to_string(), x.clone());
        }
    }
    v
}

/// A readable name for a dtype, like NumPy's `dtype.name` where simple.
fn dtype_name(d: &Dtype) -> String {
    use npymap::ScalarKind as K;
    match d {
        Dtype::Scalar(s) => {
            let bits = s.itemsize() * 8;
            match s.kind() {
                K::Bool => "bool".into(),
                K::Int => format!("int{bits}"),
                K::UInt => format!("uint{bits}"),
                K::Float if s.itemsize() == 16 => "longdouble".into(),
                K::Float => format!("float{bits}"),
                K::Complex if s.itemsize() == 32 => "clongdouble".into(),
                K::Complex => format!("complex{bits}"),
                K::Bytes => format!("bytes{bits}"),
                K::Unicode => format!("str{bits}"),
                K::Void => format!("void{bits}"),
                K::Datetime { .. } => "datetime64".into(),
                K::Timedelta { .. } => "timedelta64".into(),
                K::Object => "object".into(),
            }
        }
        Dtype::Subarray { .. } => "subarray".into(),
        Dtype::Struct(s) => format!("structured, {} fields", s.fields().len()),
    }
}

/// The human summary of one array header, indented by `indent`.
pub(crate) fn npy_text(p: &ParsedHeader, indent: &str) -> String {
    let h = &p.header;
    let descr = match &h.dtype {
        Dtype::Scalar(s) => s.descr(),
        other => other.descr(),
    };
    let order = if h.fortran_order { "Fortran" } else { "C" };
    let nbytes = h.payload_len().unwrap_or(0);
    format!(
        "{indent}version:     {}\n{indent}dtype:       {descr} ({}, {} bytes per element)\n\
         {indent}shape:       {} ({} element{}, {order} order)\n\
         {indent}payload:     {nbytes} bytes at offset {}\n",
        p.version.as_str(),
        dtype_name(&h.dtype),
        h.dtype.itemsize(),
        shape_text(&h.shape),
        h.element_count().unwrap_or(0),
        if h.element_count().unwrap_or(0) == 1 {
            ""
        } else {
            "s"
        },
        p.data_offset,
    )
}

pub(crate) fn run(path: &Path, json: bool) -> CmdResult {
    if super::safetensors::is_safetensors(path) {
        return super::safetensors::info(path, json);
    }
    // Opened once (a regular file only, never blocking on a FIFO): the
    // format and the header come from the same file.
    let file = npy::open_input(path).map_err(with_path(path))?;
    match npy::detect_open(&file).map_err(with_path(path))? {
        Format::Npy => {
            let p = npy::inspect_open(&file, &ParseOptions::default()).map_err(with_path(path))?;
            let out = if json {
                let v = npy_json(&p, &[("format", "npy".into())]);
                let mut s = serde_json::to_string(&v).map_err(|e| CliError(e.to_string()))?;
                s.push('\n');
                s
            } else {
                format!("{}: npy\n{}", path.display(), npy_text(&p, "  "))
            };
            super::stdout::print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Format::Npz => {
            let npz = NpzReader::new(BufReader::new(file)).map_err(with_path(path))?;
            let out = if json {
                let mut s = serde_json::to_string(&npz_json(npz.members()))
                    .map_err(|e| CliError(e.to_string()))?;
                s.push('\n');
                s
            } else {
                npz_text(path, npz.members())
            };
            super::stdout::print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `{"format":"npz","members":[{"name":..,"compression":.., npy fields}]}`.
pub(crate) fn npz_json(members: &[Member]) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| {
            npy_json(
                m.header(),
                &[
                    ("name", m.name().into()),
                    ("compression", m.compression().as_str().into()),
                ],
            )
        })
        .collect();
    json!({"format": "npz", "members": members})
}

/// The human summary of an archive: one block per member.
pub(crate) fn npz_text(path: &Path, members: &[Member]) -> String {
    let plural = if members.len() == 1 { "" } else { "s" };
    let mut out = format!(
        "{}: npz, {} member{plural}\n",
        path.display(),
        members.len()
    );
    for m in members {
        out.push_str(&format!(
            "  {} ({}, {} bytes in the archive):\n",
            m.display_name(),
            m.compression().as_str(),
            m.compressed_len()
        ));
        out.push_str(&npy_text(m.header(), "    "));
    }
    out
}
