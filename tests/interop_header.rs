//! Header bytes against real NumPy: `tests/interop/random_headers.py` has
//! NumPy write headers for hundreds of random dtypes, shapes and orders
//! (seeded, so reproducible); each must parse to what NumPy wrote and
//! re-render byte for byte (`spec/npy-format.md`, `spec/dtypes.md`).
//!
//! Needs `python3` with NumPy (the README's test command installs it); the
//! test fails rather than skips when they are missing.

use std::path::PathBuf;
use std::process::Command;

use npymap::{Dtype, Header, Version};
use serde_json::Value;

/// Number of random cases and the seed. `NPYMAP_INTEROP_COUNT` and
/// `NPYMAP_INTEROP_SEED` override them to explore further.
const COUNT: &str = "500";
const SEED: &str = "20240611";

fn setting(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

fn numpy_cases(count: &str, seed: &str) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/random_headers.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([count, seed])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (needed with numpy): {e}"));
    assert!(
        out.status.success(),
        "{} failed (is numpy installed? `python3 -m pip install 'numpy>=2,<3'`):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("script prints UTF-8 JSON lines");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The first differing byte and some context on both sides, for messages.
fn diff(expected: &[u8], actual: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let from = at.saturating_sub(40);
    let show = |b: &[u8]| {
        String::from_utf8_lossy(&b[from.min(b.len())..(at + 40).min(b.len())]).into_owned()
    };
    format!(
        "lengths {} (numpy) vs {} (npymap), first difference at byte {at}:\n  numpy:   {:?}\n  npymap:  {:?}",
        expected.len(),
        actual.len(),
        show(expected),
        show(actual)
    )
}

/// Checks one case; returns a description of every disagreement.
fn check(case: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let bytes = hex(case["header_hex"].as_str().expect("header_hex"));
    let shape: Vec<u64> = case["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim"))
        .collect();
    let fortran_order = case["fortran_order"].as_bool().expect("fortran_order");
    let version = case["version"].as_str().expect("version");

    // (1) Parsing NumPy's bytes gives what NumPy wrote.
    match Header::parse(&bytes) {
        Ok(p) => {
            if p.header.dtype.to_json() != case["descr"] {
                problems.push(format!(
                    "parsed descr {} != numpy's {}",
                    p.header.dtype.to_json(),
                    case["descr"]
                ));
            }
            if p.header.shape != shape {
                problems.push(format!("parsed shape {:?} != {shape:?}", p.header.shape));
            }
            if p.header.fortran_order != fortran_order {
                problems.push("parsed fortran_order differs".to_string());
            }
            if p.version.as_str() != version {
                problems.push(format!(
                    "parsed version {} != {version}",
                    p.version.as_str()
                ));
            }
            if p.data_offset != bytes.len() as u64 {
                problems.push(format!(
                    "data_offset {} != header length {}",
                    p.data_offset,
                    bytes.len()
                ));
            }
            match p.header.to_bytes(Some(p.version)) {
                Ok(b) if b == bytes => {}
                Ok(b) => problems.push(format!("re-render of parsed header: {}", diff(&bytes, &b))),
                Err(e) => problems.push(format!("re-render of parsed header failed: {e}")),
            }
        }
        Err(e) => problems.push(format!("parse failed: {e}")),
    }

    // (2) Writing from the JSON descr gives NumPy's bytes.
    let dtype = match Dtype::from_json(&case["descr"]) {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!("Dtype::from_json failed: {e}"));
            return problems;
        }
    };
    let header = Header {
        dtype,
        fortran_order,
        shape,
    };
    let forced = case["forced"]
        .as_str()
        .map(|v| Version::from_name(v).expect("version"));
    if case["forced_refused"] == true {
        // NumPy refused the forced version; so must we.
        match header.to_bytes(forced) {
            Err(e) if e.kind().code() == "version_too_small" => {}
            Err(e) => problems.push(format!("forced {forced:?}: wrong error {e}")),
            Ok(_) => problems.push(format!("forced {forced:?}: numpy refused, npymap wrote")),
        }
    }
    let forced = if case["forced_refused"] == true {
        None
    } else {
        forced
    };
    match header.to_bytes(forced) {
        Ok(b) if b == bytes => {}
        Ok(b) => problems.push(format!("to_bytes({forced:?}): {}", diff(&bytes, &b))),
        Err(e) => problems.push(format!("to_bytes({forced:?}) failed: {e}")),
    }
    problems
}

#[test]
fn random_numpy_headers_parse_and_rerender_byte_identical() {
    let (count, seed) = (
        setting("NPYMAP_INTEROP_COUNT", COUNT),
        setting("NPYMAP_INTEROP_SEED", SEED),
    );
    let cases = numpy_cases(&count, &seed);
    assert_eq!(cases.len().to_string(), count, "script printed every case");
    let mut failures = Vec::new();
    let mut versions = [0usize; 3];
    for (n, case) in cases.iter().enumerate() {
        match case["version"].as_str() {
            Some("1.0") => versions[0] += 1,
            Some("2.0") => versions[1] += 1,
            _ => versions[2] += 1,
        }
        let problems = check(case);
        if !problems.is_empty() {
            failures.push(format!(
                "case {n} (descr {}, shape {}, fortran_order {}):\n    {}",
                case["descr"],
                case["shape"],
                case["fortran_order"],
                problems.join("\n    ")
            ));
        }
    }
    // Every version is exercised (the seed was chosen so they are).
    assert!(
        versions.iter().all(|&v| v > 0),
        "versions seen: {versions:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} NumPy headers disagree (rerun: python3 tests/interop/random_headers.py {count} {seed}):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
