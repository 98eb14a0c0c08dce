//! End-to-end tests of the `npymap` binary against the CLI contract, with
//! real NumPy checking the files it writes.

mod common;

use common::cli::{assert_error, listing, npymap, ok, python};
use serde_json::Value;

fn fixture(rel: &str) -> String {
    common::testdata().join(rel).to_string_lossy().into_owned()
}

/// Every npy fixture except object arrays (whose payload is a pickle).
fn data_fixtures() -> Vec<Value> {
    common::entries("npy")
        .into_iter()
        .filter(|e| e["descr"] != "|O")
        .collect()
}

#[test]
fn info_json_matches_manifest_for_every_npy() {
    for e in common::entries("npy") {
        let path = fixture(e["path"].as_str().unwrap());
        let out = ok(&npymap(&["info", "--json", &path]), &path);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["format"], "npy", "{path}");
        for key in [
            "version",
            "descr",
            "fortran_order",
            "shape",
            "data_offset",
            "itemsize",
            "nbytes",
        ] {
            assert_eq!(v[key], e[key], "{path}: {key}");
        }
    }
}

#[test]
fn info_human_output() {
    let mut text = String::new();
    for rel in [
        "npy/c_2x3.npy",
        "npy/f_2x3x4.npy",
        "npy/struct_titles.npy",
        "npy/v3_utf8_names.npy",
        "npy/zero_d.npy",
        "npy/M8_ns_be.npy",
    ] {
        let out = npymap(&["info", &fixture(rel)]);
        let s = ok(&out, rel);
        text.push_str(&s.replace(&fixture(""), "testdata/"));
    }
    insta::assert_snapshot!("info_human", text);
}

#[test]
fn help_texts() {
    let mut text = String::new();
    for cmd in [
        vec!["--help"],
        vec!["info", "--help"],
        vec!["convert", "--help"],
        vec!["from-raw", "--help"],
        vec!["to-raw", "--help"],
        vec!["cmp", "--help"],
        vec!["stats", "--help"],
        vec!["append", "--help"],
        vec!["pack", "--help"],
        vec!["unpack", "--help"],
        vec!["recover", "--help"],
        vec!["show", "--help"],
    ] {
        text.push_str(&format!("$ npymap {}\n", cmd.join(" ")));
        text.push_str(&ok(&npymap(&cmd), &cmd.join(" ")));
        text.push('\n');
    }
    insta::assert_snapshot!("help", text);
}

#[test]
fn usage_errors_exit_2_with_prefix() {
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["info"],
        vec!["convert", "a.npy"],
        vec!["convert", "a.npy", "b.npy", "--order", "X"],
        vec!["convert", "a.npy", "b.npy", "--byte-order", "middle"],
        vec!["convert", "a.npy", "b.npy", "--format-version", "4.0"],
        vec!["from-raw", "a", "b", "--dtype", "<x9"],
        vec!["from-raw", "a", "b", "--dtype", "f8", "--shape", "3,-1"],
        vec!["info", "/nonexistent/file.npy"],
    ] {
        assert_error(&npymap(&args), &args.join(" "));
    }
}

#[test]
fn hostile_files_exit_2_never_panic() {
    let commands: &[&[&str]] = &[&["info"], &["info", "--json"], &["stats"], &["to-raw"]];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let mut n = 0;
    for e in common::hostile() {
        let path = fixture(e["path"].as_str().unwrap());
        let expect = e["expect"].as_str().unwrap();
        if !path.ends_with(".npy") {
            continue;
        }
        for cmd in commands {
            let mut args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
            args.push(path.clone());
            if cmd[0] == "to-raw" {
                args.push(out.to_string_lossy().into_owned());
            }
            let res = npymap(&args);
            if expect == "ok_header_object" && cmd[0] == "info" {
                ok(&res, &path);
            } else {
                assert_error(&res, &format!("{} {path}", cmd.join(" ")));
            }
            n += 1;
        }
    }
    assert!(n > 150, "only {n} runs");
    assert!(!out.exists(), "a failed to-raw left its output");
}

#[test]
fn convert_without_options_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for e in data_fixtures() {
        if e["numpy_default"] != true {
            continue;
        }
        let path = fixture(e["path"].as_str().unwrap());
        let out = dir.path().join("same.npy");
        ok(
            &npymap(&[path.as_str(), out.to_str().unwrap()].iter().fold(
                vec!["convert"],
                |mut v, s| {
                    v.push(s);
                    v
                },
            )),
            &path,
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(&path).unwrap(),
            "{path}"
        );
        n += 1;
    }
    assert!(n >= 80);
}

#[test]
fn convert_round_trips_load_equal_in_numpy() {
    // Every data fixture -> big-endian, Fortran order, format 3.0; NumPy must
    // load the same values; converting back must restore NumPy's bytes.
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = Vec::new();
    for (n, e) in data_fixtures().into_iter().enumerate() {
        let src = fixture(e["path"].as_str().unwrap());
        let mid = dir.path().join(format!("{n}_mid.npy"));
        let back = dir.path().join(format!("{n}_back.npy"));
        let mid_s = mid.to_str().unwrap();
        ok(
            &npymap(&[
                "convert",
                &src,
                mid_s,
                "--byte-order",
                "big",
                "--order",
                "F",
                "--format-version",
                "3.0",
            ]),
            &src,
        );
        let info: Value =
            serde_json::from_str(&ok(&npymap(&["info", "--json", mid_s]), mid_s)).unwrap();
        assert_eq!(info["version"], "3.0");
        let both = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d.as_u64() > Some(1))
            .count()
            <= 1
            || e["shape"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d.as_u64() == Some(0));
        assert_eq!(info["fortran_order"], !both, "{src}");
        ok(
            &npymap(&[
                "convert",
                mid_s,
                back.to_str().unwrap(),
                "--byte-order",
                "little",
                "--order",
                if e["fortran_order"] == true { "F" } else { "C" },
                "--format-version",
                e["version"].as_str().unwrap(),
            ]),
            mid_s,
        );
        // Back to little-endian restores NumPy's bytes for little/1-byte files.
        let descr = e["descr"].to_string();
        if e["numpy_default"] == true && !descr.contains('>') {
            assert_eq!(
                std::fs::read(&back).unwrap(),
                std::fs::read(&src).unwrap(),
                "{src}"
            );
        }
        pairs.push((src, mid_s.to_string()));
    }
    let list: Vec<Value> = pairs
        .iter()
        .map(|(a, b)| serde_json::json!([a, b]))
        .collect();
    let script = format!(
        r#"
import json, numpy as np
def eq(x, y):
    # Field by field (padding bytes are not data); NaN equals NaN.
    if x.dtype.names is not None:
        return all(eq(x[n], y[n]) for n in x.dtype.names)
    if x.dtype.kind in 'fc':
        return np.array_equal(x, y, equal_nan=True)
    if x.dtype.kind in 'Mm':
        # Compare the int64 counts (NumPy's astype does not byte-swap generic units).
        i8 = lambda a: a.view(a.dtype.str[0] + 'i8').astype('<i8')
        return np.array_equal(i8(x), i8(y))
    return x.shape == y.shape and np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y.astype(x.dtype)).tobytes()
bad = []
for a, b in json.loads({list:?}):
    x, y = np.load(a, max_header_size=1 << 24), np.load(b, max_header_size=1 << 24)
    if x.dtype.newbyteorder('<') != y.dtype.newbyteorder('<') or x.shape != y.shape:
        bad.append((a, 'dtype/shape', str(x.dtype), str(y.dtype)))
    elif not eq(x, y):
        bad.append((a, 'values'))
print(json.dumps(bad))
"#,
        list = serde_json::to_string(&list).unwrap()
    );
    let bad = python(&script, dir.path());
    assert_eq!(bad.trim(), "[]", "arrays that changed in the round trip");
}

#[test]
fn safe_casts_match_numpy_astype_and_unsafe_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = [
        "|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8",
        "<c16",
    ];
    // Source fixtures: one per kind (little-endian, values from the manifest).
    let sources: Vec<Value> = data_fixtures()
        .into_iter()
        .filter(|e| {
            kinds.contains(&e["descr"].as_str().unwrap_or(""))
                && e["path"].as_str().unwrap().contains("extremes")
                || [
                    "npy/b1.npy",
                    "npy/f2_le.npy",
                    "npy/f4_le.npy",
                    "npy/f8_le.npy",
                    "npy/c8_le.npy",
                    "npy/c16_le.npy",
                ]
                .contains(&e["path"].as_str().unwrap())
        })
        .collect();
    assert!(sources.len() >= 12, "{}", sources.len());
    let mut cases = Vec::new();
    for e in &sources {
        let src = fixture(e["path"].as_str().unwrap());
        for to in kinds {
            let out = dir.path().join(format!(
                "{}_{}.npy",
                cases.len(),
                to.replace(['<', '|'], "")
            ));
            let res = npymap(&["convert", &src, out.to_str().unwrap(), "--dtype", to]);
            let done = res.status.success();
            if !done {
                assert_error(&res, &format!("{src} -> {to}"));
                assert!(!out.exists());
            }
            cases.push(serde_json::json!([src, to, out.to_str().unwrap(), done]));
        }
    }
    let script = format!(
        r#"
import json, numpy as np
bad = []
for src, to, out, done in json.loads({cases:?}):
    a = np.load(src)
    safe = bool(np.can_cast(a.dtype, np.dtype(to), 'safe'))
    if safe != done:
        bad.append((src, to, 'numpy safe=%s, npymap converted=%s' % (safe, done)))
    elif done:
        b = np.load(out)
        if b.dtype != np.dtype(to) or b.tobytes() != a.astype(to).tobytes():
            bad.append((src, to, 'values differ from astype'))
print(json.dumps(bad))
"#,
        cases = serde_json::to_string(&cases).unwrap()
    );
    assert_eq!(python(&script, dir.path()).trim(), "[]");
}

#[test]
fn raw_round_trips_are_byte_identical_to_numpy() {
    let dir = tempfile::tempdir().unwrap();
    // from-raw of each tofile() fixture == np.save of the array it holds.
    let mut cases = Vec::new();
    for e in common::entries("raw") {
        let raw = fixture(e["path"].as_str().unwrap());
        let out = dir.path().join(format!("{}.npy", cases.len()));
        let shape: Vec<String> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect();
        ok(
            &npymap(&[
                "from-raw",
                &raw,
                out.to_str().unwrap(),
                "--dtype",
                e["descr"].as_str().unwrap(),
                "--shape",
                &shape.join(","),
                "--order",
                e["order"].as_str().unwrap(),
                "--offset",
                &e["offset"].to_string(),
            ]),
            &raw,
        );
        cases.push(serde_json::json!([
            raw,
            out.to_str().unwrap(),
            e["descr"],
            e["shape"],
            e["order"],
            e["offset"]
        ]));
    }
    let script = format!(
        r#"
import io, json, numpy as np
bad = []
for raw, out, descr, shape, order, offset in json.loads({cases:?}):
    a = np.memmap(raw, dtype=descr, mode='r', offset=offset, shape=tuple(shape), order=order)
    buf = io.BytesIO(); np.save(buf, np.array(a, order='K'))
    if open(out, 'rb').read() != buf.getvalue(): bad.append(raw)
print(json.dumps(bad))
"#,
        cases = serde_json::to_string(&cases).unwrap()
    );
    assert_eq!(python(&script, dir.path()).trim(), "[]");

    // to-raw writes the payload and prints flags that map it back exactly.
    for e in data_fixtures() {
        let src = fixture(e["path"].as_str().unwrap());
        let raw = dir.path().join("x.bin");
        let back = dir.path().join("x.npy");
        let flags = ok(&npymap(&["to-raw", &src, raw.to_str().unwrap()]), &src);
        let bytes = std::fs::read(&src).unwrap();
        let off = e["data_offset"].as_u64().unwrap() as usize;
        assert_eq!(std::fs::read(&raw).unwrap(), &bytes[off..], "{src}");
        let script = format!(
            "import shlex; print('\\n'.join(shlex.split({:?})))",
            flags.trim()
        );
        let words: Vec<String> = python(&script, dir.path())
            .lines()
            .map(str::to_string)
            .collect();
        let mut args = vec![
            "from-raw".to_string(),
            raw.to_str().unwrap().into(),
            back.to_str().unwrap().into(),
        ];
        args.extend(words);
        ok(&npymap(&args), &format!("{src}: {flags}"));
        // NumPy's default version choice (the explicit-version files differ).
        if e["numpy_default"] == true && !src.contains("explicit") {
            assert_eq!(std::fs::read(&back).unwrap(), bytes, "{src}: {flags}");
        }
    }
}

#[test]
fn from_raw_size_errors_name_both_counts_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let raw = fixture("raw/f4_c_3x4.bin");
    let out = dir.path().join("out.npy");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--dtype", "<f4", "--shape", "3,5"],
            "is 48 bytes but dtype and shape need 60",
        ),
        (
            vec!["--dtype", "<f4", "--shape", "2,4"],
            "is 48 bytes but dtype and shape need 32",
        ),
        (
            vec!["--dtype", "<f8", "--offset", "4"],
            "44 bytes of raw data are not a multiple of the itemsize 8",
        ),
        (
            vec!["--dtype", "<f4", "--offset", "100"],
            "offset is past the end",
        ),
    ] {
        let mut all = vec!["from-raw", raw.as_str(), o];
        all.extend(args);
        let res = npymap(&all);
        assert_error(&res, &all.join(" "));
        assert!(
            String::from_utf8_lossy(&res.stderr).contains(needle),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }
}

#[test]
fn stats_match_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for e in data_fixtures() {
        let d = e["descr"].as_str().unwrap_or("");
        // Long double (f16) is read as f64; its values here are f64-exact.
        let numeric = d.len() >= 3 && "biuf".contains(&d[1..2]);
        let src = fixture(e["path"].as_str().unwrap());
        let res = npymap(&["stats", "--json", &src]);
        if !numeric {
            assert_error(&res, &src);
            continue;
        }
        let v: Value = serde_json::from_str(&ok(&res, &src)).unwrap();
        cases.push(serde_json::json!([src, v]));
    }
    assert!(cases.len() >= 30);
    let script = format!(
        r#"
import json, math, numpy as np
bad = []
def same(x, y):
    if x is None or y is None: return x is y
    if isinstance(x, str) or isinstance(y, str): return str(x) == str(y)
    return x == y or math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-300)
def enc(v):
    if isinstance(v, float) and math.isinf(v): return 'inf' if v > 0 else '-inf'
    return v
for src, got in json.loads({cases:?}):
    a = np.load(src, max_header_size=1 << 24)
    flat = a.ravel()
    if a.dtype.kind == 'b': flat = flat.astype('u1')
    isf = a.dtype.kind == 'f'
    nan = int(np.isnan(flat).sum()) if isf else 0
    rest = flat[~np.isnan(flat)] if isf else flat
    want = {{'count': int(a.size), 'nan_count': nan}}
    if rest.size:
        mn, mx = rest.min(), rest.max()
        want['min'] = enc(float(mn) if isf else int(mn))
        want['max'] = enc(float(mx) if isf else int(mx))
        m = float(rest.astype('f8').mean()) if isf else float(sum(int(x) for x in rest)) / rest.size
        want['mean'] = 'nan' if math.isnan(m) else enc(m)
    else:
        want.update(min=None, max=None, mean=None)
    for k, v in want.items():
        if not same(got[k], v): bad.append((src, k, got[k], v))
print(json.dumps(bad))
"#,
        cases = serde_json::to_string(&cases).unwrap()
    );
    assert_eq!(python(&script, dir.path()).trim(), "[]");
}

#[test]
fn cmp_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = r#"
import numpy as np
a = np.arange(12, dtype='<f8').reshape(3, 4); a[0, 1] = np.nan
np.save('a.npy', a)
np.save('a_be_f.npy', np.asfortranarray(a.astype('>f8')))
b = a.copy(); b[2, 1] = 7.5; np.save('b_f.npy', np.asfortranarray(b))
np.save('c.npy', a.reshape(4, 3))
np.save('d.npy', a.astype('<f4'))
t = np.array([1, 2, 3], dtype='M8[s]'); np.save('t.npy', t)
t2 = t.copy(); t2[1] = np.datetime64('NaT'); np.save('t2.npy', t2)
e = a.copy(); e[1, 0] = -1; e[0, 3] = -2
np.save('a_f.npy', np.asfortranarray(a)); np.save('e_f.npy', np.asfortranarray(e))
"#;
    python(script, d);
    let p = |n: &str| d.join(n).to_string_lossy().into_owned();
    let run = |a: &str, b: &str| npymap(&["cmp", &p(a), &p(b)]);
    let same = run("a.npy", "a_be_f.npy");
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    let diff = run("a.npy", "b_f.npy");
    assert_eq!(diff.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&diff.stdout),
        "first difference at index (2, 1): 9.0 vs 7.5\n"
    );
    let shape = run("a.npy", "c.npy");
    assert_eq!(shape.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&shape.stdout),
        "shapes differ: (3, 4) vs (4, 3)\n"
    );
    let dtype = run("a.npy", "d.npy");
    assert_eq!(dtype.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&dtype.stdout),
        "dtypes differ: '<f8' vs '<f4'\n"
    );
    let nat = run("t.npy", "t2.npy");
    assert_eq!(nat.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&nat.stdout),
        "first difference at index (1,): 1970-01-01T00:00:02 vs NaT\n"
    );
    assert_eq!(run("t2.npy", "t2.npy").status.code(), Some(0));
    // Fortran storage: still the first difference in C order.
    let f = run("a_f.npy", "e_f.npy");
    assert_eq!(f.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&f.stdout),
        "first difference at index (0, 3): 3.0 vs -2.0\n"
    );
    assert_error(&run("a.npy", "missing.npy"), "missing");
}

#[test]
fn failed_convert_leaves_no_output_and_keeps_input() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.npy");
    std::fs::copy(fixture("npy/f8_le.npy"), &src).unwrap();
    let before = std::fs::read(&src).unwrap();
    let out = dir.path().join("out.npy");
    // Unsafe cast: refused.
    assert_error(
        &npymap(&[
            "convert",
            src.to_str().unwrap(),
            out.to_str().unwrap(),
            "--dtype",
            "<i4",
        ]),
        "unsafe cast",
    );
    // In place onto itself with a version too small for the header: refused.
    let wide = dir.path().join("wide.npy");
    std::fs::copy(fixture("npy/v2_many_fields.npy"), &wide).unwrap();
    let wide_before = std::fs::read(&wide).unwrap();
    assert_error(
        &npymap(&[
            "convert",
            wide.to_str().unwrap(),
            wide.to_str().unwrap(),
            "--format-version",
            "1.0",
        ]),
        "v1 too small",
    );
    assert_eq!(std::fs::read(&wide).unwrap(), wide_before);
    assert_eq!(std::fs::read(&src).unwrap(), before);
    assert_eq!(
        listing(dir.path()),
        vec!["in.npy".to_string(), "wide.npy".to_string()]
    );
    // In place with a real change works and stays loadable.
    ok(
        &npymap(&[
            "convert",
            src.to_str().unwrap(),
            src.to_str().unwrap(),
            "--byte-order",
            "big",
        ]),
        "in place",
    );
    let v: Value = serde_json::from_str(&ok(
        &npymap(&["info", "--json", src.to_str().unwrap()]),
        "info",
    ))
    .unwrap();
    assert_eq!(v["descr"], ">f8");
    assert_eq!(
        listing(dir.path()),
        vec!["in.npy".to_string(), "wide.npy".to_string()]
    );
}

#[test]
fn append_matches_numpy_concatenate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        r#"
import numpy as np
a = np.arange(12, dtype='<f8').reshape(3, 4)
np.save('c.npy', a)
np.save('src_be_f.npy', np.asfortranarray((a[:2] + 100).astype('>f8')))
np.save('src_c.npy', a[:1] + 200)
f = np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3))
np.save('f.npy', f)
np.save('fsrc.npy', np.arange(4, dtype='>i4').reshape(2, 2) + 50)
# A header with no growth room: written by hand, minimal padding.
h = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"
pad = 64 - (10 + len(h) + 1) % 64
open('tight.npy', 'wb').write(b'\x93NUMPY\x01\x00' + (len(h) + pad + 1).to_bytes(2, 'little') + h + b' ' * pad + b'\n' + a.tobytes())
np.save('zero_d.npy', np.float64(1.0))
np.save('ints.npy', np.zeros((1, 4), dtype='<i8'))
np.save('wide.npy', np.zeros((1, 5)))
"#,
        d,
    );
    let p = |n: &str| d.join(n).to_string_lossy().into_owned();
    let offset = |n: &str| -> Value {
        serde_json::from_str::<Value>(&ok(&npymap(&["info", "--json", &p(n)]), n)).unwrap()["data_offset"].clone()
    };
    let before = offset("c.npy");
    ok(
        &npymap(&["append", &p("c.npy"), &p("src_be_f.npy"), &p("src_c.npy")]),
        "append C",
    );
    assert_eq!(offset("c.npy"), before, "in place keeps the data offset");
    ok(
        &npymap(&["append", &p("f.npy"), &p("fsrc.npy")]),
        "append F",
    );
    ok(
        &npymap(&["append", &p("tight.npy"), &p("src_c.npy")]),
        "append rewrite",
    );
    let check = python(
        r#"
import numpy as np
a = np.arange(12, dtype='<f8').reshape(3, 4)
want = np.concatenate([a, a[:2] + 100, a[:1] + 200])
got = np.load('c.npy')
f = np.concatenate([np.arange(6, dtype='<i4').reshape(2, 3), np.arange(4, dtype='<i4').reshape(2, 2) + 50], axis=1)
gf = np.load('f.npy')
t = np.load('tight.npy')
print(np.array_equal(got, want), got.dtype, np.array_equal(gf, f), gf.dtype, np.isfortran(gf), np.array_equal(t, np.concatenate([a, a[:1] + 200])))
"#,
        d,
    );
    assert_eq!(check.trim(), "True float64 True int32 True True");
    let c_before = std::fs::read(p("c.npy")).unwrap();
    for (args, needle) in [
        (
            vec!["append", &p("c.npy"), &p("ints.npy")],
            "dtype mismatch",
        ),
        (
            vec!["append", &p("c.npy"), &p("wide.npy")],
            "shape mismatch: expected (*, 4), found (1, 5)",
        ),
        (vec!["append", &p("zero_d.npy"), &p("src_c.npy")], "0-d"),
    ] {
        let res = npymap(&args);
        assert_error(&res, needle);
        assert!(
            String::from_utf8_lossy(&res.stderr).contains(needle),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
    }
    assert_eq!(
        std::fs::read(p("c.npy")).unwrap(),
        c_before,
        "a refused append changes nothing"
    );
    assert!(!listing(d).iter().any(|n| n.ends_with(".tmp")));
}

#[test]
fn npy_commands_name_an_npz_input_for_what_it_is() {
    let npz = fixture("npz/named.npz");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.npy");
    let o = out.to_str().unwrap();
    for args in [
        vec!["stats", npz.as_str()],
        vec!["convert", npz.as_str(), o],
        vec!["cmp", npz.as_str(), npz.as_str()],
    ] {
        let res = npymap(&args);
        assert_error(&res, &args.join(" "));
        assert!(String::from_utf8_lossy(&res.stderr).contains("found an .npz archive"));
    }
    assert!(!out.exists());
}

#[test]
fn ctrl_c_leaves_no_output_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.save('big.npy', np.zeros((4096, 8192), dtype='<f4'))",
        d,
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_npymap"))
        .args(["convert", "big.npy", "out.npy", "--order", "F"])
        .current_dir(d)
        .spawn()
        .unwrap();
    // The signal goes as soon as the temp output exists (the command is
    // then mid-write), not after a fixed sleep a fast build outruns.
    let started = std::time::Instant::now();
    while listing(d).len() < 2 && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "the 128 MiB transpose finished before the signal"
    );
    assert_eq!(listing(d), vec!["big.npy".to_string()]);
}
