//! The fuzz targets' checks on stable Rust: every saved regression in
//! `testdata/fuzz-regressions/<target>/` and every input the seed corpus
//! is made from (`fuzz/seeds.sh` builds the corpus from the same files)
//! goes through the same `npymap::fuzzing` function as the target's body.

mod common;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use npymap::Header;
use npymap::fuzzing::{TARGETS, Target};

fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

/// Runs one input, naming it if the check panics.
fn replay(t: &Target, what: &str, data: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| (t.check)(data))).is_err() {
        panic!("fuzz check {} failed on {what}", t.name);
    }
}

#[test]
fn every_saved_regression_passes_its_check() {
    let root = common::testdata().join("fuzz-regressions");
    let mut count = 0;
    for dir in fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()) {
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let Some(t) = target(&name) else {
            assert!(
                (name == "roundtrip" || name == "convert") && !cfg!(feature = "arbitrary"),
                "no fuzz check named {name:?} for {}",
                dir.display()
            );
            continue;
        };
        for f in files_in(&dir) {
            replay(t, &f.display().to_string(), &fs::read(&f).unwrap());
            count += 1;
        }
    }
    assert!(count > 0, "no regression files under {}", root.display());
}

/// The npy fixtures and hostile files: the `header` (and `roundtrip`) seeds.
fn npy_files() -> Vec<PathBuf> {
    let td = common::testdata();
    let mut files = files_in(&td.join("npy"));
    files.extend(
        files_in(&td.join("hostile"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "npy")),
    );
    assert!(files.len() > 100);
    files
}

#[test]
fn header_seeds_pass() {
    let t = target("header").unwrap();
    for f in npy_files() {
        replay(t, &f.display().to_string(), &fs::read(&f).unwrap());
    }
}

#[test]
fn npy_seeds_pass() {
    let t = target("npy").unwrap();
    for f in npy_files() {
        replay(t, &f.display().to_string(), &fs::read(&f).unwrap());
    }
}

#[test]
fn npz_seeds_pass() {
    let t = target("npz").unwrap();
    let td = common::testdata();
    let mut files = files_in(&td.join("npz"));
    files.extend(
        files_in(&td.join("hostile"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "npz")),
    );
    assert!(files.len() > 10);
    for f in files {
        replay(t, &f.display().to_string(), &fs::read(&f).unwrap());
    }
}

#[test]
fn roundtrip_seeds_pass() {
    let Some(t) = target("roundtrip") else {
        return;
    };
    for f in npy_files() {
        replay(t, &f.display().to_string(), &fs::read(&f).unwrap());
    }
}

/// The `descr` seeds: each fixture's descr as NumPy writes it, as first
/// written (hand-made headers) and as JSON; the `literal` seeds: each
/// fixture's header text.
#[test]
fn descr_and_literal_seeds_pass() {
    let descr = target("descr").unwrap();
    let literal = target("literal").unwrap();
    for e in common::entries("npy") {
        let rel = e["path"].as_str().unwrap();
        let bytes = fs::read(common::testdata().join(rel)).unwrap();
        let p = Header::parse(&bytes).unwrap();
        let pre = p.version.preamble_len();
        let text = &bytes[pre..p.data_offset as usize];
        replay(literal, rel, text);
        replay(descr, rel, p.header.dtype.descr().as_bytes());
        replay(descr, rel, e["descr"].to_string().as_bytes());
        if let Some(w) = e.get("descr_as_written") {
            replay(descr, rel, w.to_string().as_bytes());
            if let Some(s) = w.as_str() {
                replay(descr, rel, s.as_bytes());
            }
        }
    }
}

/// The `safetensors` seeds: a file with every dtype, 0-d and empty tensors
/// and metadata (the layout `fuzz/seeds.sh` writes with Python), each of
/// its truncations and each one-byte change of its header.
#[test]
fn safetensors_seeds_pass() {
    let t = target("safetensors").unwrap();
    let json = concat!(
        r#"{"__metadata__":{"format":"pt"},"#,
        r#""a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"#,
        r#""b":{"dtype":"C64","shape":[],"data_offsets":[16,24]},"#,
        r#""c":{"dtype":"F32","shape":[1,1],"data_offsets":[24,28]},"#,
        r#""d":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]},"#,
        r#""e":{"dtype":"I16","shape":[0,5],"data_offsets":[32,32]},"#,
        r#""f":{"dtype":"BOOL","shape":[3],"data_offsets":[32,35]}}"#
    );
    let mut header = json.as_bytes().to_vec();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&header);
    file.extend((0..35u8).map(|i| i.wrapping_mul(37)));
    replay(t, "seed", &file);
    // Without the BF16 tensor the file is rewritten and compared.
    let no_bf16 = json
        .replace(
            r#""d":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]},"#,
            "",
        )
        .replace("[32,32]", "[28,28]")
        .replace("[32,35]", "[28,31]");
    let mut h2 = no_bf16.into_bytes();
    while !h2.len().is_multiple_of(8) {
        h2.push(b' ');
    }
    let mut file2 = (h2.len() as u64).to_le_bytes().to_vec();
    file2.extend_from_slice(&h2);
    file2.extend((0..31u8).map(|i| i.wrapping_mul(37)));
    replay(t, "seed without BF16", &file2);
    for len in 0..file.len() {
        replay(t, &format!("seed cut to {len} bytes"), &file[..len]);
    }
    for at in 0..8 + header.len() {
        for b in [0u8, b'0', b'9', b'[', b'"', 0xff] {
            let mut bad = file.clone();
            bad[at] = b;
            replay(t, &format!("seed with byte {at} = {b:#x}"), &bad);
        }
    }
}
