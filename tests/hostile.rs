//! Every malformed file in `testdata/hostile/` fails with its specific
//! error code, without panicking; the messages are pinned by snapshots.

mod common;

use npymap::npy;

/// Runs the file-level check (header + payload length) on one hostile file.
fn npy_outcome(path: &std::path::Path) -> Result<npymap::ParsedHeader, npymap::Error> {
    npy::inspect(path)
}

#[test]
fn hostile_npy_files_give_their_specific_errors() {
    let mut checked = 0;
    let mut messages = String::new();
    for e in common::hostile() {
        let rel = e["path"].as_str().unwrap();
        if !rel.ends_with(".npy") {
            continue;
        }
        let expect = e["expect"].as_str().unwrap();
        let path = common::testdata().join(rel);
        let outcome = npy_outcome(&path);
        match (expect, outcome) {
            ("ok_header_object", Ok(p)) => assert!(p.header.dtype.has_object(), "{rel}"),
            (_, Ok(p)) => panic!("{rel}: expected {expect}, parsed {:?}", p.header),
            (_, Err(err)) => {
                assert_eq!(err.kind().code(), expect, "{rel}: {err}");
                let shown = err.to_string();
                let shown = shown.split_once(": ").map_or(shown.as_str(), |(_, m)| m);
                messages.push_str(&format!("{rel}: {shown}\n"));
            }
        }
        checked += 1;
    }
    assert!(checked >= 45, "only {checked} hostile npy files");
    insta::assert_snapshot!("hostile_npy_messages", messages);
}
