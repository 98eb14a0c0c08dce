//! Shared helpers for the integration tests: the testdata manifest.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// `testdata/manifest.json`, parsed.
pub fn manifest() -> Value {
    let text = std::fs::read_to_string(testdata().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest json")
}

/// The manifest entries of one kind (`npy`, `npz`, `raw`).
pub fn entries(kind: &str) -> Vec<Value> {
    manifest()["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["kind"] == kind)
        .cloned()
        .collect()
}

/// The hostile entries.
pub mod cli;

pub fn hostile() -> Vec<Value> {
    manifest()["hostile"].as_array().expect("hostile").clone()
}
