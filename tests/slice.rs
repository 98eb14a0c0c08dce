//! `npymap slice IN OUT INDEX [--field NAME]...` against NumPy: every case's
//! output is byte-compared with `np.save(OUT, np.load(IN, mmap_mode='r')
//! [FIELDS][INDEX])`, computed by one Python call for the whole table;
//! refusals carry NumPy's IndexError text; a failed slice leaves OUT as it
//! was (spec/cli.md §15).

mod common;

use std::path::Path;

use common::cli::{assert_error, limited, listing, npymap, ok, python_args};

/// The arrays the table slices, made by NumPy (`name = expression`; `m` in
/// the table is `np.load(name.npy, mmap_mode='r')`).
const INPUTS: &str = r#"
import numpy as np
rng = np.random.default_rng(15)
rec_dt = np.dtype([('x', '<i4'), ('y', '>f8', (2,)),
                   ('pos', [('a', 'u1'), ('b', '<i2')]), ('s', 'S3'), ('t', '<u2')])
rec = np.zeros((5, 4), rec_dt)
rec['x'] = np.arange(20).reshape(5, 4)
rec['y'] = rng.normal(size=(5, 4, 2))
rec['pos']['a'] = np.arange(20).reshape(5, 4) * 3
rec['pos']['b'] = -np.arange(20).reshape(5, 4)
rec['s'] = [[b'ab%d' % (i + j) for j in range(4)] for i in range(5)]
rec['t'] = 7
inputs = {
    'c3': np.arange(24, dtype='<i4').reshape(2, 3, 4),
    'f3': np.asfortranarray(rng.normal(size=(2, 3, 4)).astype('>f8')),
    'd0': np.array(3.25, '<f8'),
    'e2': np.zeros((0, 3), '<i2'),
    'ef': np.asfortranarray(np.zeros((3, 0, 2), '>u4')),
    'b1': rng.integers(0, 2, 10).astype('?'),
    'u1': np.array(['a', 'bc', 'déf', '', 'xyz', 'q'], '<U3'),
    'cf': np.asfortranarray((rng.normal(size=(4, 5)) + 1j * rng.normal(size=(4, 5))).astype('<c8')),
    'dt': np.arange(12).astype('M8[ms]').reshape(3, 4),
    'rec': rec,
    'recf': np.asfortranarray(rec),
    'big': np.asfortranarray(rng.integers(0, 65535, (700, 600)).astype('<u2')),
    'sb': np.array([b'ab', b'', b'a\x00b', b'a\x00\x00', b'xyz'], 'S3'),
    'ub': np.array(['ab', '', 'xyz', 'a\x00b'], '>U3'),
    'g': np.array([[1.5, -2.25], [3.0, 1e300]], '>g'),
    'bigc': rng.integers(0, 2**31, (400, 900)).astype('>i4'),
}
"#;

/// Python that builds the inputs, then for each case (input, index,
/// fields) writes `exp_N.npy` or records NumPy's exception.
const EXPECT: &str = r#"
import json, sys
cases = json.load(open(sys.argv[1]))
for name, a in inputs.items():
    np.save(name + '.npy', a)
result = []
for n, (name, index, fields) in enumerate(cases):
    m = np.load(name + '.npy', mmap_mode='r')
    try:
        v = m
        if len(fields) == 1:
            for part in fields[0].split('.'):
                v = v[part]
        elif fields:
            for part in fields[0].split('.')[:-1]:
                v = v[part]
            v = v[[f.split('.')[-1] for f in fields]]
        v = eval('v[' + index + ']', {'v': v, 'np': np})
        with open('exp_%d.npy' % n, 'wb') as f:
            np.save(f, v)
        result.append(None)
    except Exception as e:
        result.append('%s: %s' % (type(e).__name__, e))
print(json.dumps(result))
"#;

/// `(input, INDEX, fields)`: every case must give NumPy's bytes.
fn table() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let mut t = Vec::new();
    let nd3 = [
        "...",
        "()",
        "1",
        "-1",
        "1:2",
        "::-1",
        ":, 1",
        ":, :, 2",
        "1, 2",
        "1, 2, 3",
        "-1, -1, -1",
        "-1, ::-2, 1::2",
        "..., 0",
        "0, ...",
        "None",
        "None, :, None, 1",
        ":, 1:3",
        ":, :, 1:3",
        "..., 1",
        ":, 1:2",
        "1:, :, :2",
        "::2, -5:",
        "5:",
        "1:0",
        "::-1, ::-1, ::-1",
        ":, 0:1",
        "0:1, 0:1, 0:1",
        "-100:100, 1",
        ":, ::2, ::3",
        "..., None",
    ];
    for name in ["c3", "f3"] {
        for i in nd3 {
            t.push((name, i, vec![]));
        }
    }
    for i in ["...", "()", "None", "None, None"] {
        t.push(("d0", i, vec![]));
    }
    for i in ["...", ":, 1", "1:", "::-1, 2"] {
        t.push(("e2", i, vec![]));
    }
    for i in ["...", "1", ":, :, 1", "::-1, :, 1"] {
        t.push(("ef", i, vec![]));
    }
    for i in ["::3", "-3:", "5", "::-2", "None, 2:5", "3:3"] {
        t.push(("b1", i, vec![]));
        t.push(("u1", i.split(',').next_back().unwrap_or(i), vec![]));
    }
    for i in [":, 1:3", "1:3", "::-1", "2, ::2", ":, 0", "-1"] {
        t.push(("cf", i, vec![]));
        t.push(("dt", i, vec![]));
    }
    for name in ["rec", "recf"] {
        for i in ["...", "1", ":, 1:3", "::2, ::-1", "2, 3", ":, 0"] {
            t.push((name, i, vec![]));
        }
        for (i, f) in [
            ("...", vec!["x"]),
            ("...", vec!["y"]),
            ("..., 1", vec!["y"]),
            ("1:3", vec!["pos.b"]),
            ("..., 0", vec!["pos"]),
            (":, 2", vec!["s"]),
            ("...", vec!["x", "s"]),
            ("::-1, 1", vec!["x", "pos", "t"]),
            ("1, 1", vec!["y", "t"]),
            ("...", vec!["pos.a", "pos.b"]),
            (":, ::2", vec!["pos.b"]),
            ("()", vec!["x"]),
        ] {
            t.push((name, i, f));
        }
    }
    // One element picked by integers alone: NumPy saves a scalar (native
    // byte order; S and U shortened to the value without trailing NULs).
    for (name, i) in [
        ("cf", "1, 2"),
        ("dt", "2, 3"),
        ("dt", "-1, 0"),
        ("g", "1, 1"),
        ("g", "0, ..."),
        ("big", "3, 4"),
        ("bigc", "-3, 4"),
        ("bigc", "3, 4, ..."),
        ("b1", "3"),
        ("d0", "()"),
    ] {
        t.push((name, i, vec![]));
    }
    for n in ["0", "1", "2", "3", "-1", "..., 1", "1:2"] {
        t.push(("sb", n, vec![]));
        if n != "-1" {
            t.push(("ub", n, vec![]));
        }
    }
    for (i, f) in [
        ("1, 1", vec!["s"]),
        ("1, 1", vec!["y"]),
        ("1, 1, 1", vec!["y"]),
        ("0, 2", vec!["pos.b"]),
        ("0, 2", vec!["pos"]),
        ("0, 2", vec!["x", "t"]),
        ("4, 3", vec![]),
    ] {
        t.push(("rec", i, f.clone()));
        t.push(("recf", i, f));
    }
    // Through windows: rows and columns of a 800 KB F array and a 1.4 MB
    // C array (the input is read in 1 MiB windows).
    for i in [
        "::100",
        "7",
        ":, 5",
        "100:107, ::-50",
        "::-3, 599",
        ":, 1:3",
        "::7, ::11",
    ] {
        t.push(("big", i, vec![]));
        t.push(("bigc", i, vec![]));
    }
    t
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn slices_match_numpy_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let cases = table();
    let json = serde_json::to_string(&cases).unwrap();
    let case_file = dir.path().join("cases.json");
    std::fs::write(&case_file, json).unwrap();
    let out = python_args(&format!("{INPUTS}\n{EXPECT}"), dir.path(), &[&case_file]);
    let expected: Vec<Option<String>> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(expected.len(), cases.len());
    let mut checked = 0;
    for (n, ((name, index, fields), numpy_error)) in cases.iter().zip(&expected).enumerate() {
        let what = format!("case {n}: {name}[{fields:?}][{index}]");
        assert_eq!(numpy_error, &None, "{what}: NumPy refused it");
        let input = dir.path().join(format!("{name}.npy"));
        let output = dir.path().join(format!("out_{n}.npy"));
        let mut args = vec![
            "slice".to_string(),
            s(&input),
            s(&output),
            index.to_string(),
        ];
        for f in fields {
            args.push("--field".into());
            args.push(f.to_string());
        }
        ok(&npymap(&args), &what);
        let got = std::fs::read(&output).unwrap();
        let want = std::fs::read(dir.path().join(format!("exp_{n}.npy"))).unwrap();
        assert!(
            got == want,
            "{what}: bytes differ\n ours:  {:?}\n numpy: {:?}",
            String::from_utf8_lossy(&got[..got.len().min(160)]),
            String::from_utf8_lossy(&want[..want.len().min(160)])
        );
        checked += 1;
    }
    assert_eq!(checked, cases.len());
}

/// Index errors: NumPy's IndexError/ValueError text, computed by NumPy.
#[test]
fn bad_indices_fail_like_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let too_many_dims = format!("{}...", "None, ".repeat(62));
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("c3", too_many_dims.as_str(), vec![]),
        ("c3", "2", vec![]),
        ("c3", "0, 3", vec![]),
        ("c3", "0, 0, -5", vec![]),
        ("c3", "0, 0, 0, 0", vec![]),
        ("c3", "..., 0, ...", vec![]),
        ("c3", "::0", vec![]),
        ("d0", "0", vec![]),
        ("e2", "0", vec![]),
        ("ef", ":, 0", vec![]),
        ("rec", "5", vec!["x"]),
        ("rec", ":, 4", vec!["y"]),
        ("rec", "..., 2", vec!["y"]),
    ];
    let json = serde_json::to_string(&cases).unwrap();
    let case_file = dir.path().join("cases.json");
    std::fs::write(&case_file, json).unwrap();
    let out = python_args(&format!("{INPUTS}\n{EXPECT}"), dir.path(), &[&case_file]);
    let expected: Vec<Option<String>> = serde_json::from_str(out.trim()).unwrap();
    for ((name, index, fields), numpy) in cases.iter().zip(&expected) {
        let numpy = numpy.as_deref().expect("NumPy must refuse this case");
        let message = numpy.split_once(": ").map_or(numpy, |(_, m)| m);
        let input = dir.path().join(format!("{name}.npy"));
        let output = dir.path().join("never.npy");
        let mut args = vec![
            "slice".to_string(),
            s(&input),
            s(&output),
            index.to_string(),
        ];
        for f in fields {
            args.push("--field".into());
            args.push(f.to_string());
        }
        let res = npymap(&args);
        let what = format!("{name}[{index}]");
        assert_error(&res, &what);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(
            stderr.trim_end(),
            format!("npymap: error: {}: {message}", s(&input)),
            "{what}"
        );
        assert!(!output.exists(), "{what}: OUT written");
    }
}

/// Syntax and field errors, which NumPy reports at a different level (a
/// Python SyntaxError, a KeyError): our own precise text.
#[test]
fn bad_syntax_and_fields_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    python_args(
        &format!("{INPUTS}\nfor n in ['c3', 'rec']: np.save(n + '.npy', inputs[n])"),
        dir.path(),
        &[],
    );
    let c3 = s(&dir.path().join("c3.npy"));
    let rec = s(&dir.path().join("rec.npy"));
    let out = s(&dir.path().join("out.npy"));
    for (args, message) in [
        (
            vec![&c3, &out, "1:2:3:4"],
            r#"invalid index "1:2:3:4": "1:2:3:4" has more than two ':' (expected start:stop:step)"#.to_string(),
        ),
        (
            vec![&c3, &out, "a"],
            r#"invalid index "a": "a" is not an integer, a slice (start:stop:step), '...', None or np.newaxis"#.to_string(),
        ),
        (
            vec![&c3, &out, "1,,2"],
            r#"invalid index "1,,2": empty item between commas"#.to_string(),
        ),
        (
            vec![&c3, &out, "(1"],
            r#"invalid index "(1": unbalanced parentheses"#.to_string(),
        ),
        (
            vec![&rec, &out, "...", "--field", "q"],
            format!(r#"{rec}: no field named "q" in dtype {}"#, rec_descr()),
        ),
        (
            vec![&rec, &out, "...", "--field", "pos.c"],
            format!(r#"{rec}: no field named "c" in dtype [('a', '|u1'), ('b', '<i2')]"#),
        ),
        (
            vec![&c3, &out, "...", "--field", "x"],
            format!(r#"{c3}: no field named "x" in dtype '<i4'"#),
        ),
        (
            vec![&rec, &out, "...", "--field", "s", "--field", "x"],
            format!(
                r#"{rec}: unsupported: field "x" comes before "s" in the dtype; np.save cannot write fields out of order (dtype.descr is not defined for types with overlapping or out-of-order fields)"#
            ),
        ),
        (
            vec![&rec, &out, "...", "--field", "x", "--field", "pos.a"],
            format!(
                r#"{rec}: unsupported: fields "x" and "pos.a" are not in the same struct (several --field names must share their parent path)"#
            ),
        ),
    ] {
        let mut full = vec!["slice"];
        full.extend(args.iter().map(|a| -> &str { a }));
        let res = npymap(&full);
        assert_error(&res, &message);
        assert_eq!(
            String::from_utf8_lossy(&res.stderr).trim_end(),
            format!("npymap: error: {message}")
        );
    }
    assert!(!dir.path().join("out.npy").exists());
}

/// A field whose name holds a dot is found by its whole name; a repeated
/// name is refused (NumPy: `duplicate field of name`).
#[test]
fn dotted_field_names_and_repeats() {
    let dir = tempfile::tempdir().unwrap();
    python_args(
        "import numpy as np\n\
         a = np.zeros(4, [('a.b', '<i4'), ('c', [('d', 'u1'), ('e.f', '>u2')])])\n\
         a['a.b'] = [1, 2, 3, 4]; a['c']['e.f'] = [5, 6, 7, 8]\n\
         np.save('dots.npy', a)\n\
         m = np.load('dots.npy', mmap_mode='r')\n\
         np.save('exp1.npy', m['a.b'][1:])\n\
         np.save('exp2.npy', m['c']['e.f'])\n\
         np.save('exp3.npy', m['c'][['d', 'e.f']])\n",
        dir.path(),
        &[],
    );
    let input = s(&dir.path().join("dots.npy"));
    for (n, args) in [
        vec!["1:", "--field", "a.b"],
        vec!["...", "--field", "c.e.f"],
        vec!["...", "--field", "c.d", "--field", "c.e.f"],
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("out{}.npy", n + 1));
        let mut full = vec!["slice", input.as_str(), out.to_str().unwrap()];
        full.extend(args.iter().copied());
        ok(&npymap(&full), &format!("{args:?}"));
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(dir.path().join(format!("exp{}.npy", n + 1))).unwrap(),
            "{args:?}"
        );
    }
    let out = s(&dir.path().join("dup.npy"));
    let res = npymap(&["slice", &input, &out, "--field", "a.b", "--field", "a.b"]);
    assert_error(&res, "repeated field");
    assert_eq!(
        String::from_utf8_lossy(&res.stderr).trim_end(),
        format!(r#"npymap: error: {input}: unsupported: duplicate field of name "a.b""#)
    );
}

fn rec_descr() -> &'static str {
    "[('x', '<i4'), ('y', '>f8', (2,)), ('pos', [('a', '|u1'), ('b', '<i2')]), ('s', '|S3'), ('t', '<u2')]"
}

/// A failed slice leaves an existing OUT byte for byte as it was, and no
/// temporary file behind; a good one replaces it whole.
#[test]
fn failed_slice_leaves_out_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    python_args(
        &format!("{INPUTS}\nnp.save('c3.npy', inputs['c3'])"),
        dir.path(),
        &[],
    );
    let input = s(&dir.path().join("c3.npy"));
    let out_path = dir.path().join("out.npy");
    let out = s(&out_path);
    std::fs::write(&out_path, b"precious").unwrap();
    for args in [
        vec!["slice", &input, &out, "7"],
        vec!["slice", &input, &out, "::0"],
        vec!["slice", &input, &out, "..., --field, x"],
        vec!["slice", &input, &out, "...", "--field", "x"],
        vec!["slice", &input, &out, "0, 0, 0, 0"],
    ] {
        assert_error(&npymap(&args), &args.join(" "));
        assert_eq!(std::fs::read(&out_path).unwrap(), b"precious");
        assert_eq!(listing(dir.path()), vec!["c3.npy", "out.npy"]);
    }
    ok(&npymap(&["slice", &input, &out, "-1, -1"]), "good slice");
    let check = python_args(
        "import numpy as np; print(np.load('out.npy').tolist())",
        dir.path(),
        &[],
    );
    assert_eq!(check.trim(), "[20, 21, 22, 23]");
    assert_eq!(listing(dir.path()), vec!["c3.npy", "out.npy"]);
}

#[test]
fn slice_help_has_examples() {
    let help = ok(&npymap(&["slice", "--help"]), "slice --help");
    insta::assert_snapshot!("slice_help", help);
}

/// Elements of megabytes and a 30 MB string scalar slice under an
/// address-space limit of the mapped input plus 128 MiB (no buffer grows
/// with the itemsize); the bytes are still NumPy's. IN == OUT works.
#[test]
fn megabyte_elements_slice_under_address_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python_args(
        r#"
import numpy as np
rng = np.random.default_rng(5)
v = np.frombuffer(rng.bytes(12 * 3000000), dtype='V3000000').reshape(4, 3)
np.save('v.npy', np.asfortranarray(v))
np.save('s.npy', np.array(b'ab' * 15000000 + b'\0' * 7, 'S30000007'))
for name, index in [('v', '::-1, 1'), ('v', ':, ::2'), ('v', '1, 2'), ('s', '()')]:
    m = np.load(name + '.npy', mmap_mode='r')
    np.save('exp_%s_%d.npy' % (name, len(index)), eval('m[' + index + ']'))
"#,
        d,
        &[],
    );
    for (name, index) in [
        ("v", "::-1, 1"),
        ("v", ":, ::2"),
        ("v", "1, 2"),
        ("s", "()"),
    ] {
        let input = format!("{name}.npy");
        let res = limited(d, 128 + 40, &["slice", &input, "out.npy", index]);
        ok(&res, &format!("{name}[{index}]"));
        assert!(
            std::fs::read(d.join("out.npy")).unwrap()
                == std::fs::read(d.join(format!("exp_{name}_{}.npy", index.len()))).unwrap(),
            "{name}[{index}]"
        );
    }
    // IN == OUT: the input is replaced by its slice, atomically.
    ok(
        &npymap(&["slice", &s(&d.join("v.npy")), &s(&d.join("v.npy")), "1, 2"]),
        "in place",
    );
    assert_eq!(
        std::fs::read(d.join("v.npy")).unwrap(),
        std::fs::read(d.join("exp_v_4.npy")).unwrap()
    );
    // An archive is refused the way every .npy command refuses it.
    python_args(
        "import numpy as np; np.savez('a.npz', x=np.arange(3))",
        d,
        &[],
    );
    let z = s(&d.join("a.npz"));
    let res = npymap(&["slice", &z, &s(&d.join("o.npy")), "1"]);
    assert_error(&res, "npz input");
    assert_eq!(
        String::from_utf8_lossy(&res.stderr),
        format!(
            "npymap: error: {z}: expected an .npy file, found an .npz archive (extract members with `npymap unpack`)\n"
        )
    );
}
