//! `npymap to-text` / `from-text` against NumPy: output byte-identical to
//! `np.savetxt` with the same arguments, and `.npy` files byte-identical
//! to `np.save(OUT, np.loadtxt(IN, ...))`; refusals where NumPy refuses;
//! Python's `%` operator over thousands of random doubles and integers.

mod common;

use std::path::Path;

use common::cli::{assert_error, npymap, ok, python_args};
use npymap::text::{Arg, PyFormat};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Arrays (every dtype family to-text writes, with their edge values) and
/// savetxt argument sets; the script writes each array as `.npy`, runs
/// np.savetxt for every pair and prints a manifest: for each case the
/// reference file, or the exception savetxt raised.
const SAVETXT_CASES: &str = r#"
import json, sys
import numpy as np
specials = [0.1, -0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, 2.2250738585072014e-308,
            1e300, -1.7976931348623157e308, 1.5, 2.5, 0.5, 123456789.0, 1e-5, 1e16, 9.999999e15,
            -3.75, 1e-300, 0.000123456, 65504.0, 1e6, 999999.0, 999.0, 1000.0]
ints = lambda t: np.array([np.iinfo(t).min, np.iinfo(t).max, 0, 1, -1 if np.iinfo(t).min < 0 else 2, 42], dtype=t)
with np.errstate(over='ignore'):
    arrays = {
        'f8': np.array(specials),
        'f8_be': np.array(specials, dtype='>f8'),
        'f4': np.array(specials, dtype='f4'),
        'f2': np.array(specials, dtype='f2'),
        'i1': ints('i1'), 'i2': ints('>i2'), 'i4': ints('i4'), 'i8': ints('i8'),
        'u1': ints('u1'), 'u2': ints('u2'), 'u4': ints('>u4'), 'u8': ints('u8'),
        'b1': np.array([True, False, True]),
        'c16': np.array([1+2j, -0.5-1e-300j, complex(np.nan, np.inf), complex(-np.inf, -0.0), 0j]),
        'c8': np.array([1+2j, -0.5-0.25j, complex(3.5, -np.inf)], dtype='c8'),
        'c_2x3': np.arange(6.0).reshape(2, 3) - 2.5,
        'f_3x2': np.asfortranarray(np.arange(6.0).reshape(3, 2) * 1.25 - 3),
        'i_2x3': np.arange(-3, 3, dtype='i4').reshape(2, 3),
        'c16_2x2': (np.arange(4.0) - 1.5 + 1j * np.arange(4.0)[::-1]).reshape(2, 2),
        'rec': np.array([(1, 2.5, True, 7), (-3, np.nan, False, 2**64 - 1)],
                        dtype=[('a', '<i2'), ('b', '>f4'), ('c', '?'), ('d', '<u8')]),
        'empty': np.zeros(0),
        'e3x0': np.zeros((3, 0)),
    }
fmts = [
    {}, {'fmt': '%.6f'}, {'fmt': '%d'}, {'fmt': '%10.3g'}, {'fmt': '%s'}, {'fmt': '%g'},
    {'fmt': '%#.3g'}, {'fmt': '%-12.4e'}, {'fmt': '%+.0f'}, {'fmt': '%x'}, {'fmt': '%#5o'},
    {'fmt': '%08.3f', 'delimiter': ','}, {'fmt': '%.17g', 'delimiter': ', '},
    {'header': 'a b\nc', 'footer': 'end', 'comments': '## '},
    {'fmt': '%.2E', 'newline': '\r\n', 'header': 'h'},
    {'fmt': '%i %.3f %s %u'}, {'fmt': ['%5d', '%.1e', '%s', '%x']}, {'fmt': '%.3e;%G;%.1f'},
    {'fmt': ['%.2f', '%.3e']}, {'fmt': '%.1f|%.2f|%.3f|%.4f'},
]
out = []
for name, a in arrays.items():
    np.save(name + '.npy', a)
    for i, kw in enumerate(fmts):
        ref = f'{name}.{i}.txt'
        try:
            np.savetxt(ref, a, **kw)
            out.append({'array': name, 'kw': kw, 'ref': ref})
        except Exception as e:
            out.append({'array': name, 'kw': kw, 'error': f'{type(e).__name__}: {e}'})
print(json.dumps(out))
"#;

/// The CLI arguments for one savetxt keyword set.
fn to_text_args(kw: &Value) -> Vec<String> {
    let mut args = Vec::new();
    for (k, v) in kw.as_object().unwrap() {
        match v {
            Value::Array(list) => {
                for f in list {
                    args.push(format!("--{k}"));
                    args.push(f.as_str().unwrap().to_string());
                }
            }
            v => {
                args.push(format!("--{k}"));
                args.push(v.as_str().unwrap().to_string());
            }
        }
    }
    args
}

#[test]
fn to_text_is_byte_identical_to_savetxt() {
    let dir = tempfile::tempdir().unwrap();
    let manifest: Value =
        serde_json::from_str(&python_args(SAVETXT_CASES, dir.path(), &[])).unwrap();
    let cases = manifest.as_array().unwrap();
    assert!(cases.len() > 400, "{}", cases.len());
    let (mut same, mut refused) = (0, 0);
    for case in cases {
        let array = case["array"].as_str().unwrap();
        let input = dir.path().join(format!("{array}.npy"));
        let out = dir.path().join("out.txt");
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["to-text".to_string(), s(&input).into(), s(&out).into()];
        args.extend(to_text_args(&case["kw"]));
        let run = npymap(&args);
        let what = format!("{array} {}", case["kw"]);
        match case.get("ref") {
            Some(r) => {
                ok(&run, &what);
                let want = std::fs::read(dir.path().join(r.as_str().unwrap())).unwrap();
                let got = std::fs::read(&out).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "{what}"
                );
                assert_eq!(got, want, "{what}");
                same += 1;
            }
            None => {
                // savetxt raised: npymap refuses too, and writes nothing.
                assert_error(&run, &format!("{what} (numpy: {})", case["error"]));
                assert!(!out.exists(), "{what}: output left behind");
                refused += 1;
            }
        }
    }
    assert!(
        same > 300 && refused > 50,
        "{same} identical, {refused} refused"
    );
}

/// Text inputs and loadtxt argument sets; the script writes each input,
/// runs np.loadtxt and np.save for every case and prints a manifest.
const LOADTXT_CASES: &str = r#"
import json, warnings
import numpy as np
warnings.simplefilter('ignore')
texts = {
    'grid': '1 2 3\n4 5 6\n',
    'csv': 'x,y\n1.5, -2\n 3 ,4e3\n',
    'comments': '# head\n1 2 # tail\n\n   \n3 4\n// other\n',
    'one_row': '1 2 3\n',
    'one_col': '1\n2\n3\n',
    'one': '  7  \n',
    'empty': '',
    'blank': '\n# nothing\n\n',
    'specials': 'nan -nan inf -inf Infinity +1e3 .5 1. 4.9e-324 1e400 -0.0 0.1 2.2250738585072011e-308\n',
    'digits': '0.1000000000000000055511151231257827 123456789012345678901234567890 1.00000000000000011102230246251565404236316680908203125\n',
    'crlf': '1 2\r\n3 4\r\n',
    'cr': '1 2\r3 4\r',
    'tabs': '1\t2\x0b3\n4\x0c5 6\n',
    'ints': '-128 127 0 +5\n',
    'uints': '0 255 +1 18446744073709551615\n',
    'i8': '-9223372036854775808 9223372036854775807\n',
    'bools': '1\n0\n-1\n 5 \n',
    'f2': '65504 65520 1e-8 0.1 -nan 1e5\n',
    'f4': '3.4028235e38 3.5e38 1e-46 0.1 16777217\n',
    'bad7': '1 2\n3 4\n5 6\n7 8\n9 10\n11 12\n13 x\n',
    'ragged': '1 2\n3\n',
    'float_as_int': '1.5\n',
    'ext': '1_000\n',
    'hex': '0x10\n',
    'semi': '1;2;3\n4;5;6\n',
    'complex': '1+2j (1+2j) 1 2j -1.5e3-2j nan+nanj inf-infj -nan-nanj +2j (1) -0-0j 1-0j infj 1e3+1e-3j\n',
    'complex_bad': '1 1+2J\n',
    'complex_bad2': '(1+2j 3\n',
    'complex_bad3': '1+j 3\n',
    'long_row': ' '.join(str(i % 97 - 48.5) for i in range(140000)) + '\n',
    'wide': ' '.join(str(i * 0.5) for i in range(300)) + '\n' + ' '.join(str(-i) for i in range(300)) + '\n',
}
cases = [
    ('grid', {}), ('grid', {'dtype': 'i4'}), ('grid', {'dtype': '>f8'}), ('grid', {'usecols': [0, -1]}),
    ('grid', {'usecols': [1]}), ('grid', {'usecols': [5]}), ('grid', {'ndmin': 2}), ('grid', {'skiprows': 1}),
    ('grid', {'skiprows': 9}),
    ('csv', {'delimiter': ',', 'skiprows': 1}), ('csv', {'delimiter': ',', 'skiprows': 1, 'dtype': 'f4'}),
    ('csv', {'delimiter': ','}),
    ('comments', {}), ('comments', {'comments': '//', 'skiprows': 1}),
    ('one_row', {}), ('one_row', {'ndmin': 2}), ('one_col', {}), ('one_col', {'ndmin': 2}),
    ('one_col', {'ndmin': 1}), ('one', {}), ('one', {'ndmin': 1}), ('one', {'ndmin': 2}),
    ('empty', {}), ('empty', {'ndmin': 2}), ('blank', {}), ('blank', {'dtype': 'u2'}),
    ('specials', {}), ('specials', {'dtype': 'f4'}), ('specials', {'dtype': 'f2'}), ('digits', {}),
    ('crlf', {}), ('cr', {}), ('tabs', {}),
    ('ints', {'dtype': 'i1'}), ('ints', {'dtype': 'u1'}), ('ints', {'dtype': '>i2'}),
    ('uints', {'dtype': 'u8'}), ('uints', {'dtype': 'u1'}), ('uints', {'dtype': 'i8'}),
    ('i8', {'dtype': 'i8'}), ('i8', {'dtype': 'i4'}), ('bools', {'dtype': '?'}),
    ('f2', {'dtype': 'f2'}), ('f4', {'dtype': 'f4'}),
    ('bad7', {}), ('ragged', {}), ('float_as_int', {'dtype': 'i8'}), ('float_as_int', {'dtype': '?'}),
    ('complex', {'dtype': 'c16'}), ('complex', {'dtype': '>c8'}), ('complex_bad', {'dtype': 'c16'}),
    ('complex_bad2', {'dtype': 'c16'}), ('complex_bad3', {'dtype': 'c8'}), ('grid', {'dtype': 'c8'}),
    ('ext', {}), ('hex', {}), ('semi', {'delimiter': ';'}), ('wide', {}), ('long_row', {}), ('long_row', {'usecols': [-1, 0, 139998]}), ('wide', {'dtype': 'f4', 'usecols': [299, 0]}),
]
out = []
for name, text in texts.items():
    with open(name + '.txt', 'w', newline='') as f:
        f.write(text)
for i, (name, kw) in enumerate(cases):
    ref = f'{name}.{i}.npy'
    try:
        np.save(ref, np.loadtxt(name + '.txt', **kw))
        out.append({'text': name, 'kw': kw, 'ref': ref})
    except Exception as e:
        out.append({'text': name, 'kw': kw, 'error': f'{type(e).__name__}: {e}'})
print(json.dumps(out))
"#;

fn from_text_args(kw: &Value) -> Vec<String> {
    let mut args = Vec::new();
    for (k, v) in kw.as_object().unwrap() {
        args.push(format!("--{k}"));
        args.push(match v {
            Value::String(t) => t.clone(),
            Value::Array(list) => list
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        });
    }
    args
}

#[test]
fn from_text_is_byte_identical_to_loadtxt_and_save() {
    let dir = tempfile::tempdir().unwrap();
    let manifest: Value =
        serde_json::from_str(&python_args(LOADTXT_CASES, dir.path(), &[])).unwrap();
    let (mut same, mut refused) = (0, 0);
    for case in manifest.as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let input = dir.path().join(format!("{text}.txt"));
        let out = dir.path().join("out.npy");
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["from-text".to_string(), s(&input).into(), s(&out).into()];
        args.extend(from_text_args(&case["kw"]));
        let run = npymap(&args);
        let what = format!("{text} {}", case["kw"]);
        match case.get("ref") {
            Some(r) => {
                ok(&run, &what);
                let want = std::fs::read(dir.path().join(r.as_str().unwrap())).unwrap();
                let got = std::fs::read(&out).unwrap();
                assert_eq!(got, want, "{what}");
                same += 1;
            }
            None => {
                assert_error(&run, &format!("{what} (numpy: {})", case["error"]));
                assert!(!out.exists(), "{what}: output left behind");
                refused += 1;
            }
        }
    }
    assert!(
        same >= 38 && refused >= 12,
        "{same} identical, {refused} refused"
    );
}

#[test]
fn from_text_names_row_column_and_line_like_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.txt");
    std::fs::write(&input, "# c\n1 2\n3 4\n5 6\n\n7 8\n13 x\n").unwrap();
    let out = dir.path().join("out.npy");
    std::fs::write(&out, b"keep").unwrap();
    let run = npymap(&["from-text", s(&input), s(&out)]);
    assert_error(&run, "bad number");
    assert_eq!(
        stderr(&run),
        format!(
            "npymap: error: {}: could not convert string 'x' to float64 at row 4, column 2 (line 7)\n",
            input.display()
        )
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep", "OUT untouched");
    std::fs::write(&input, "1 2\n3\n").unwrap();
    let run = npymap(&["from-text", s(&input), s(&out), "--dtype", "i8"]);
    assert!(
        stderr(&run).contains("the number of columns changed from 2 to 1 at row 2 (line 2)"),
        "{}",
        stderr(&run)
    );
    let run = npymap(&["from-text", s(&input), s(&out), "--dtype", "<U3"]);
    assert!(stderr(&run).contains("not <U3"), "{}", stderr(&run));
    let run = npymap(&["from-text", s(&input), s(&out), "--delimiter", ";;"]);
    assert!(
        stderr(&run).contains("single character"),
        "{}",
        stderr(&run)
    );
    assert_eq!(common::cli::listing(dir.path()), ["bad.txt", "out.npy"]);
}

#[test]
fn to_text_refuses_what_savetxt_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    python_args(
        "import numpy as np\n\
         np.save('d3.npy', np.zeros((2, 2, 2)))\n\
         np.save('d0.npy', np.float64(1.5))\n\
         np.save('u.npy', np.array(['ab', 'c']))\n\
         np.save('m.npy', np.array(['2020-01-01'], dtype='M8[D]'))\n\
         np.save('rec2.npy', np.zeros((2, 2), dtype=[('a', 'i4')]))\n\
         np.save('nan.npy', np.array([1.0, np.nan]))\n\
         np.save('wide0.npy', np.zeros((2**20 + 1, 0)))\n",
        dir.path(),
        &[],
    );
    let out = dir.path().join("out.txt");
    let cases: [(&str, &[&str], &str); 7] = [
        (
            "wide0.npy",
            &[],
            "1048577 rows without values would print only newlines",
        ),
        (
            "d3.npy",
            &[],
            "Expected 1D or 2D array, got 3D array instead",
        ),
        (
            "d0.npy",
            &[],
            "Expected 1D or 2D array, got 0D array instead",
        ),
        ("u.npy", &[], "the array's dtype is <U2"),
        ("m.npy", &[], "the array's dtype is <M8[D]"),
        ("rec2.npy", &[], "1-D structured arrays"),
        (
            "nan.npy",
            &["--fmt", "%d"],
            "row 1: value 1: cannot convert float NaN to integer",
        ),
    ];
    for (file, extra, msg) in cases {
        let input = dir.path().join(file);
        let mut args = vec!["to-text", s(&input), s(&out)];
        args.extend_from_slice(extra);
        let run = npymap(&args);
        assert_error(&run, file);
        assert!(stderr(&run).contains(msg), "{file}: {}", stderr(&run));
        assert!(!out.exists(), "{file}: output written");
    }
    // A failure after rows were written leaves an existing OUT as it was.
    std::fs::write(&out, b"keep").unwrap();
    let nan = dir.path().join("nan.npy");
    let run = npymap(&["to-text", s(&nan), s(&out), "--fmt", "%d"]);
    assert_error(&run, "NaN as %d over an existing OUT");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    std::fs::remove_file(&out).unwrap();
    let bad_fmt = npymap(&[
        "to-text",
        s(&dir.path().join("nan.npy")),
        s(&out),
        "--fmt",
        "%q",
    ]);
    assert!(
        stderr(&bad_fmt).contains("unsupported format character 'q' at index 1"),
        "{}",
        stderr(&bad_fmt)
    );
    assert_eq!(
        common::cli::listing(dir.path()),
        [
            "d0.npy",
            "d3.npy",
            "m.npy",
            "nan.npy",
            "rec2.npy",
            "u.npy",
            "wide0.npy"
        ]
    );
}

/// A deterministic stream of 64-bit patterns (splitmix64).
fn patterns(n: usize) -> Vec<u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
        .collect()
}

const FLOAT_FMTS: [&str; 15] = [
    "%.18e", "%g", "%.3g", "%#.10g", "%.17g", "%.0e", "%#.0e", "%12.4G", "%-+.1e", "% .25g",
    "%.6f", "%s", "%.0f", "%#.0f", "%.22f",
];
const INT_FMTS: [&str; 6] = ["%d", "%x", "%#o", "%+08d", "%-#12X", "%.20d"];

#[test]
fn python_percent_operator_over_random_values() {
    let dir = tempfile::tempdir().unwrap();
    let bits = patterns(3000);
    // Random bit patterns cover every exponent; add values near the %g
    // thresholds, halfway cases and small integers.
    let mut doubles: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
    doubles.extend(
        bits.iter()
            .take(500)
            .map(|&b| (b % 2_000_000) as f64 / 16.0),
    );
    doubles.extend(
        bits.iter()
            .take(500)
            .map(|&b| 10f64.powi((b % 40) as i32 - 20) * (1.0 - (b >> 50) as f64 * 1e-16)),
    );
    // The u128 fast path's range (about 1e-20..3e38), and exact ties at
    // 19 and fewer digits (multiples of 2^-28 have up to 20 significant
    // digits ending in 5).
    doubles.extend(bits.iter().take(1500).map(|&b| {
        let exponent = 1023 - 70 + (b >> 52) % 200;
        f64::from_bits((exponent << 52) | (b & ((1 << 52) - 1)))
    }));
    doubles.extend((1..500).map(|i| f64::from(i) * 2f64.powi(-28)));
    doubles.extend((1..200).map(|i| f64::from(i) * 0.5));
    let ints: Vec<i64> = bits.iter().map(|&b| b as i64 >> (b % 64)).collect();
    let singles: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b as u32)).collect();
    let halves: Vec<u16> = bits.iter().map(|&b| (b >> 40) as u16).collect();
    let raw = |v: Vec<u8>, name: &str| std::fs::write(dir.path().join(name), v).unwrap();
    raw(
        doubles.iter().flat_map(|x| x.to_le_bytes()).collect(),
        "d.bin",
    );
    raw(ints.iter().flat_map(|x| x.to_le_bytes()).collect(), "i.bin");
    raw(
        singles.iter().flat_map(|x| x.to_le_bytes()).collect(),
        "s.bin",
    );
    raw(
        halves.iter().flat_map(|x| x.to_le_bytes()).collect(),
        "h.bin",
    );
    let script = format!(
        "import json, numpy as np\n\
         d = np.fromfile('d.bin', '<f8'); i = np.fromfile('i.bin', '<i8')\n\
         s = np.fromfile('s.bin', '<f4'); h = np.fromfile('h.bin', '<f2')\n\
         out = {{}}\n\
         for f in {FLOAT_FMTS:?}: out[f] = [f % x for x in d.tolist()]\n\
         for f in {INT_FMTS:?}: out[f] = [f % x for x in i.tolist()]\n\
         out['f4'] = [('%s' % x, '%.18e' % x) for x in s]\n\
         out['f2'] = [('%s' % x, '%g' % x) for x in h]\n\
         print(json.dumps(out))\n"
    );
    let want: Value = serde_json::from_str(&python_args(&script, dir.path(), &[])).unwrap();
    let one = |fmt: &str, a: Arg| {
        let mut out = String::new();
        PyFormat::parse(fmt)
            .unwrap()
            .format(&[a], &mut out)
            .unwrap();
        out
    };
    for fmt in FLOAT_FMTS {
        for (x, w) in doubles.iter().zip(want[fmt].as_array().unwrap()) {
            assert_eq!(
                one(fmt, Arg::Float(*x, 8)),
                w.as_str().unwrap(),
                "{fmt} % {x:e} ({:#x})",
                x.to_bits()
            );
        }
    }
    for fmt in INT_FMTS {
        for (v, w) in ints.iter().zip(want[fmt].as_array().unwrap()) {
            assert_eq!(one(fmt, Arg::Int(*v)), w.as_str().unwrap(), "{fmt} % {v}");
        }
    }
    for (x, w) in singles.iter().zip(want["f4"].as_array().unwrap()) {
        let a = Arg::Float(f64::from(*x), 4);
        assert_eq!(one("%s", a), w[0].as_str().unwrap(), "str(float32({x:e}))");
        assert_eq!(
            one("%.18e", a),
            w[1].as_str().unwrap(),
            "%.18e % float32({x:e})"
        );
    }
    for (x, w) in halves.iter().zip(want["f2"].as_array().unwrap()) {
        let a = Arg::Float(npymap::half::f16::from_bits(*x).to_f64(), 2);
        assert_eq!(
            one("%s", a),
            w[0].as_str().unwrap(),
            "str(float16 bits {x:#x})"
        );
        assert_eq!(
            one("%g", a),
            w[1].as_str().unwrap(),
            "%g % float16 bits {x:#x}"
        );
    }
}

#[test]
fn help_has_an_example_per_command() {
    let mut text = String::new();
    for cmd in ["to-text", "from-text"] {
        let out = ok(&npymap(&[cmd, "--help"]), cmd);
        assert!(out.contains(&format!("Example: npymap {cmd} ")), "{out}");
        text.push_str(&format!("$ npymap {cmd} --help\n{out}\n"));
    }
    insta::assert_snapshot!("text_help", text);
}
