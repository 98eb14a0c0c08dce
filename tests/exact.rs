//! Exact answers where NumPy gives them: long-double comparison, NumPy's
//! `str` of timedeltas, top-level subarray dtypes folded into the shape,
//! the dtype spellings NumPy accepts, `repr` escaping over every code point
//! and the small CLI argument rules (issue 12 §5, findings §J 8, 9, 17, 18).

mod common;

use std::path::Path;

use common::cli::{assert_error, listing, npymap, ok, python};

fn p(d: &Path, n: &str) -> String {
    d.join(n).to_string_lossy().into_owned()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn shape_refuses_empty_dims_and_unbalanced_parentheses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("r.bin"), [0u8; 12]).unwrap();
    for bad in [
        "3,,4", "(3,4", "3,4)", "((12,))", ",", ",3", "(,)", "3,4,,", "( )x", "3 4",
    ] {
        let o = npymap(&[
            "from-raw",
            &p(d, "r.bin"),
            &p(d, "o.npy"),
            "--dtype",
            "u1",
            "--shape",
            bad,
        ]);
        assert_error(&o, bad);
        assert!(
            stderr(&o).contains("invalid shape"),
            "{bad}: {}",
            stderr(&o)
        );
        assert!(!d.join("o.npy").exists(), "{bad}");
    }
    for (good, want) in [
        ("3,4", "(3, 4)"),
        ("(3,4)", "(3, 4)"),
        (" ( 3 , 4 ) ", "(3, 4)"),
        ("12,", "(12,)"),
        ("(12,)", "(12,)"),
        ("(12)", "(12,)"),
        ("1,12", "(1, 12)"),
    ] {
        let o = npymap(&[
            "from-raw",
            &p(d, "r.bin"),
            &p(d, "o.npy"),
            "--dtype",
            "u1",
            "--shape",
            good,
        ]);
        ok(&o, good);
        let shape = python("import numpy as np; print(np.load('o.npy').shape)", d);
        assert_eq!(shape.trim(), want, "{good}");
    }
    // A comma-string DESCR, as a header reads it.
    ok(
        &npymap(&[
            "from-raw",
            &p(d, "r.bin"),
            &p(d, "o.npy"),
            "--dtype",
            "i4,u1,(7,)u1,",
        ]),
        "comma string",
    );
    let dt = python(
        "import numpy as np; a = np.load('o.npy'); print(a.shape, a.dtype.descr)",
        d,
    );
    assert_eq!(
        dt.trim(),
        "(1,) [('f0', '<i4'), ('f1', '|u1'), ('f2', '|u1', (7,))]"
    );
    for zero_d in ["", "()", " ( ) "] {
        std::fs::write(d.join("one.bin"), [7u8]).unwrap();
        let o = npymap(&[
            "from-raw",
            &p(d, "one.bin"),
            &p(d, "z.npy"),
            "--dtype",
            "u1",
            "--shape",
            zero_d,
        ]);
        ok(&o, zero_d);
        let shape = python("import numpy as np; print(np.load('z.npy').shape)", d);
        assert_eq!(shape.trim(), "()", "{zero_d:?}");
    }
}

/// `cmp` of long doubles (x87, 80 bits in 16 bytes) and their complex form
/// compares every bit of the value, and prints what NumPy's `str` prints.
#[test]
fn cmp_compares_long_doubles_at_full_precision() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expected = python(
        r#"
import numpy as np
ld, cld = np.longdouble, np.clongdouble
eps = np.finfo(ld).eps
x = np.array([ld(2), ld(1) + eps, ld(5)]); y = np.array([ld(2), ld(1), ld(5)])
np.save('x.npy', x); np.save('y.npy', y); np.save('y_be.npy', y.astype('>f16'))
np.save('nan.npy', np.array([ld('nan'), -ld(0)])); np.save('nan2.npy', np.array([-ld('nan'), ld(0)]))
cx = np.array([cld(1), cld(complex(1, 1)) + 1j * eps]); cy = np.array([cld(1), cld(complex(1, 1))])
np.save('cx.npy', cx); np.save('cy.npy', cy)
third = np.array([ld(1) / 3, ld(2) ** -16000]); np.save('t.npy', third)
np.save('t2.npy', third * (1 + eps))
print(np.array_equal(x, y), np.array_equal(cx, cy))
print('first difference at index (1,): %s vs %s' % (str(x[1]), str(y[1])))
print('first difference at index (1,): %s vs %s' % (str(cx[1]), str(cy[1])))
print('first difference at index (0,): %s vs %s' % (str(third[0]), str((third * (1 + eps))[0])))
"#,
        d,
    );
    let lines: Vec<&str> = expected.lines().collect();
    assert_eq!(lines[0], "False False");
    let run = |a: &str, b: &str| npymap(&["cmp", &p(d, a), &p(d, b)]);
    let o = run("x.npy", "y.npy");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim_end(), lines[1]);
    let o = run("x.npy", "y_be.npy");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim_end(), lines[1]);
    assert_eq!(run("y.npy", "y_be.npy").status.code(), Some(0));
    // NaN equals NaN whatever its sign and payload; -0 equals 0.
    let o = run("nan.npy", "nan2.npy");
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run("cx.npy", "cy.npy");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim_end(), lines[2]);
    let o = run("t.npy", "t2.npy");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim_end(), lines[3]);
}

/// `stats` min/max on long doubles are their nearest `f64` (cli.md §9):
/// what `float(a.min())` gives in NumPy.
#[test]
fn stats_reports_long_double_extremes_as_nearest_f64() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expected = python(
        r#"
import numpy as np
ld = np.longdouble
a = np.array([ld(1) / 3, ld(1) + np.finfo(ld).eps, ld(-7) / 3]); np.save('a.npy', a)
print(repr(float(a.min())), repr(float(a.max())))
"#,
        d,
    );
    let o = npymap(&["stats", &p(d, "a.npy"), "--json"]);
    let text = ok(&o, "stats");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (min, max) = expected.trim().split_once(' ').unwrap();
    assert_eq!(v["min"].to_string(), min, "{text}");
    assert_eq!(v["max"].to_string(), max, "{text}");
}

/// `cmp` prints timedeltas as NumPy's `str`: generic units and multipliers.
#[test]
fn cmp_prints_timedeltas_like_numpy_str() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expected = python(
        r#"
import numpy as np
units = ['', '[3s]', '[2D]', '[7ms]', '[5M]', '[s]', '[2W]']
for n, u in enumerate(units):
    a = np.array([5, 2**62], dtype='i8').view('m8' + u)
    b = np.array([5, -2], dtype='i8').view('m8' + u)
    np.save(f'a{n}.npy', a); np.save(f'b{n}.npy', b)
    print('first difference at index (1,): %s vs %s' % (str(a[1]), str(b[1])))
"#,
        d,
    );
    for (n, line) in expected.lines().enumerate() {
        let o = npymap(&[
            "cmp",
            &p(d, &format!("a{n}.npy")),
            &p(d, &format!("b{n}.npy")),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim_end(), line);
    }
}

/// A top-level subarray dtype is folded into the shape, as NumPy's
/// `descr_to_dtype` and `np.save` do: the file npymap writes is the one
/// `np.save` writes for the array `np.load` returns. A Fortran-order file
/// whose folded layout is neither C nor Fortran order is refused.
#[test]
fn top_level_subarray_is_folded_into_the_shape() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        r#"
import numpy as np
np.arange(24, dtype='u1').tofile('r.bin')
def put(name, descr, fortran, shape):
    hdr = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    hdr = hdr + ' ' * (118 - len(hdr) - 1) + '\n'
    open(name, 'wb').write(b'\x93NUMPY\x01\x00' + len(hdr).to_bytes(2, 'little') + hdr.encode() + bytes(range(24)))
put('sub.npy', "('<i2', (2,))", False, (3, 2))
put('sub1f.npy', "('<i2', (2,))", True, (6,))
put('subf.npy', "('<i2', (2,))", True, (3, 2))
"#,
        d,
    );
    let cases: [(&[&str], &str); 5] = [
        (&["--dtype", r#"["<i4",[2]]"#], "s1.npy"),
        (&["--dtype", r#"["<i4",[2]]"#, "--order", "F"], "s2.npy"),
        (&["--dtype", r#"["<i2",[2]]"#, "--shape", "3,2"], "s3.npy"),
        (&["--dtype", r#"[["<i2",[2]],[3]]"#], "s5.npy"),
        (
            &[
                "--dtype",
                r#"["<i2",[2]]"#,
                "--shape",
                "1,6",
                "--order",
                "F",
            ],
            "s6.npy",
        ),
    ];
    let raw = p(d, "r.bin");
    for (args, out) in cases {
        let o = p(d, out);
        let mut v = vec!["from-raw", raw.as_str(), o.as_str()];
        v.extend_from_slice(args);
        ok(&npymap(&v), out);
    }
    for (src, out) in [("sub.npy", "c1.npy"), ("sub1f.npy", "c2.npy")] {
        ok(&npymap(&["convert", &p(d, src), &p(d, out)]), src);
    }
    // What NumPy makes of each: the raw bytes as np.frombuffer with the
    // subarray dtype, saved with np.save.
    let check = python(
        r#"
import io, numpy as np
def saved(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
raw = open('r.bin', 'rb').read()
want = {
  's1.npy': np.frombuffer(raw, dtype=('<i4', (2,))),
  's2.npy': np.frombuffer(raw, dtype=('<i4', (2,))),
  's3.npy': np.frombuffer(raw, dtype=('<i2', (2,))).reshape(3, 2, 2),
  's5.npy': np.frombuffer(raw, dtype=(('<i2', (2,)), (3,))),
  's6.npy': np.frombuffer(raw, dtype=('<i2', (2,))).reshape(1, 6, 2),
  'c1.npy': np.frombuffer(raw, dtype=('<i2', (2,))).reshape(3, 2, 2),
  'c2.npy': np.frombuffer(raw, dtype=('<i2', (2,))),
}
for name, a in sorted(want.items()):
    got = np.load(name)
    print(name, open(name, 'rb').read() == saved(a), got.shape, got.dtype.str, np.array_equal(got, a))
"#,
        d,
    );
    for line in check.lines() {
        assert!(
            line.contains(" True ") && line.ends_with("True"),
            "{line}\n{check}"
        );
    }
    assert_eq!(check.lines().count(), 7, "{check}");
    let s = python(
        "import numpy as np; print(np.load('s1.npy').shape, np.load('s5.npy').shape, np.load('c2.npy').shape)",
        d,
    );
    assert_eq!(s.trim(), "(3, 2) (2, 3, 2) (6, 2)");
    // Outer Fortran order over two or more axes, subarray in C order
    // inside each element: no C or Fortran layout holds that.
    let o = npymap(&[
        "from-raw",
        &raw,
        &p(d, "s4.npy"),
        "--dtype",
        r#"["<i2",[2]]"#,
        "--shape",
        "3,2",
        "--order",
        "F",
    ]);
    assert_error(&o, "F subarray");
    assert!(stderr(&o).contains("subarray"), "{}", stderr(&o));
    assert!(!d.join("s4.npy").exists());
    let o = npymap(&["convert", &p(d, "subf.npy"), &p(d, "c3.npy")]);
    assert_error(&o, "F subarray file");
    assert!(stderr(&o).contains("subarray"), "{}", stderr(&o));
    assert!(!d.join("c3.npy").exists());
}

/// Every dtype spelling NumPy's `descr_to_dtype` accepts in a header is
/// accepted, and `convert` writes what `np.save` writes for the array
/// `np.load` returns; the zero-itemsize names say so.
#[test]
fn header_dtype_spellings_numpy_accepts_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names = python(
        r#"
import io, numpy as np
spellings = ['c', 'n', 'N', 'i4,f8', '<i4,<f8', 'i4, f8', 'i4 ,>f8', 'i4,', 'S3,U2', 'M8[D],m8[s]',
             'f8,c,?', 'd,d', 'a1,b', '=i4,|u1', 'i4,(2)f8', '(2,)i4,', '()i4', 'i4,2f8', '>2i4,u1',
             'i4,(2, 3)f8', 'i4,2 i2', 'U3,(0,)f8']
for n, s in enumerate(spellings):
    hdr = "{'descr': %r, 'fortran_order': False, 'shape': (2,), }" % s
    hdr = hdr + ' ' * (246 - len(hdr) - 1) + '\n'
    dt = np.dtype(s)
    payload = bytes((i * 7 + 3) % 251 for i in range(2 * dt.itemsize))
    open(f'in{n}.npy', 'wb').write(b'\x93NUMPY\x01\x00' + len(hdr).to_bytes(2, 'little') + hdr.encode() + payload)
    b = io.BytesIO(); np.save(b, np.load(f'in{n}.npy')); open(f'want{n}.npy', 'wb').write(b.getvalue())
    print(n, s)
"#,
        d,
    );
    for line in names.lines() {
        let (n, s) = line.split_once(' ').unwrap();
        let out = p(d, &format!("out{n}.npy"));
        ok(&npymap(&["convert", &p(d, &format!("in{n}.npy")), &out]), s);
        let got = std::fs::read(&out).unwrap();
        let want = std::fs::read(d.join(format!("want{n}.npy"))).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{s}"
        );
    }
    python(
        r#"
for n, s in enumerate(['str', 'bytes', 'void', 'a', 'S', 'U', 'V', 'unicode', 'str_', 'bytes_']):
    hdr = "{'descr': %r, 'fortran_order': False, 'shape': (2,), }" % s
    hdr = hdr + ' ' * (118 - len(hdr) - 1) + '\n'
    open(f'zero{n}.npy', 'wb').write(b'\x93NUMPY\x01\x00' + len(hdr).to_bytes(2, 'little') + hdr.encode())
"#,
        d,
    );
    for n in 0..10 {
        let o = npymap(&["info", &p(d, &format!("zero{n}.npy"))]);
        assert_error(&o, "zero itemsize");
        assert!(stderr(&o).contains("zero itemsize"), "{}", stderr(&o));
    }
}

/// `show` escapes what Python's `repr` escapes (`str.isprintable`), over
/// every code point except surrogates, in 64-character strings, 1024 per
/// file (NumPy's repr of one 17,000-element array takes minutes).
#[test]
fn show_escapes_code_points_as_python_repr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let files = python(
        r#"
import sys, numpy as np
cps = [c for c in range(1, 0x110000) if not 0xd800 <= c <= 0xdfff]
cps += [0x41] * (-len(cps) % 64)
s = [''.join(map(chr, cps[i:i + 64])) for i in range(0, len(cps), 64)]
np.set_printoptions(threshold=sys.maxsize)
for n in range(0, len(s), 1024):
    a = np.array(s[n:n + 1024], dtype='<U64')
    np.save(f'u{n // 1024}.npy', a)
    open(f'want{n // 1024}.txt', 'w', encoding='utf-8').write(repr(a) + '\n')
print((len(s) + 1023) // 1024)
"#,
        d,
    );
    let count: usize = files.trim().parse().unwrap();
    assert_eq!(count, 17);
    for n in 0..count {
        let o = npymap(&["show", &p(d, &format!("u{n}.npy")), "--full"]);
        let got = ok(&o, "show");
        let want = std::fs::read_to_string(d.join(format!("want{n}.txt"))).unwrap();
        if got != want {
            let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
            let l = g.iter().zip(&w).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "file {n}, first differing line {l}:\n got {:?}\nwant {:?}",
                g.get(l),
                w.get(l)
            );
        }
    }
}

#[test]
fn append_names_the_source_that_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        r#"
import numpy as np
np.save('dst.npy', np.zeros((1, 3))); np.save('s1.npy', np.ones((2, 3))); np.save('s2.npy', np.ones((2, 2)))
np.save('s3.npy', np.ones((2, 3), dtype='<f4'))
"#,
        d,
    );
    let before = std::fs::read(d.join("dst.npy")).unwrap();
    for bad in ["s2.npy", "s3.npy"] {
        let o = npymap(&["append", &p(d, "dst.npy"), &p(d, "s1.npy"), &p(d, bad)]);
        assert_error(&o, bad);
        let e = stderr(&o);
        assert!(
            e.starts_with(&format!("npymap: error: {}: ", p(d, bad))),
            "{e}"
        );
    }
    assert_eq!(std::fs::read(d.join("dst.npy")).unwrap(), before);
    assert!(!listing(d).iter().any(|n| n.ends_with(".tmp")));
}

/// An archive where an `.npy` is expected gets one message from every
/// command (cli.md §2.3).
#[test]
fn every_npy_command_names_an_npz_input_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.savez('a.npz', x=np.arange(3)); np.save('b.npy', np.arange(3))",
        d,
    );
    let (z, y, o) = (p(d, "a.npz"), p(d, "b.npy"), p(d, "o.npy"));
    let oz = p(d, "o.npz");
    let runs: [Vec<&str>; 7] = [
        vec!["convert", &z, &o],
        vec!["stats", &z],
        vec!["cmp", &z, &y],
        vec!["to-raw", &z, &o],
        vec!["append", &y, &z],
        vec!["append", &z, &y],
        vec!["pack", &oz, &z],
    ];
    for args in &runs {
        let out = npymap(args);
        assert_error(&out, &args.join(" "));
        let want = format!(
            "npymap: error: {z}: expected an .npy file, found an .npz archive (extract members with `npymap unpack`)\n"
        );
        assert_eq!(stderr(&out), want, "{}", args.join(" "));
    }
    assert!(!d.join("o.npy").exists() && !d.join("o.npz").exists());
}

/// The fuzz target's properties hold for comma strings and folded
/// subarrays (render, re-parse, JSON, header round trip).
#[test]
fn comma_strings_pass_the_descr_fuzz_checks() {
    for s in [
        "i4,f8",
        "<i4, >f8",
        "i4,",
        "3i4",
        "(2,3)f8",
        ">2i4,u1",
        "i4,(0,)f8",
        "M8[D],m8[s],U3,c",
        "()i4",
        "(2,)(3,)i4",
        "i4,,f8",
        "(",
        "2,3f8",
        "(99999999999999999999999)i4",
        "(2147483647,2)i4",
    ] {
        npymap::fuzzing::check_descr(s.as_bytes());
        npymap::fuzzing::check_descr(format!("'{s}'").as_bytes());
        npymap::fuzzing::check_descr(format!("[[\"{s}\", [2]]]").as_bytes());
    }
}

/// A subarray with a 0 in its shape has itemsize 0, so its outer shape is
/// not size-checked; folded, the base's itemsize applies and NumPy refuses
/// the array as too big. Reader and writer must refuse it too (found by the
/// `roundtrip` fuzz target: the writer wrote a header the parser refused).
#[test]
fn a_fold_that_makes_the_array_too_big_is_refused_like_numpy() {
    let text =
        "{'descr': ('|S9', (2, 0)), 'fortran_order': False, 'shape': (4611686018427387904,), }";
    let mut dict = text.to_owned();
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    file.extend_from_slice(&u16::try_from(dict.len()).unwrap().to_le_bytes());
    file.extend_from_slice(dict.as_bytes());
    let err = npymap::Header::parse(&file).unwrap_err();
    assert_eq!(err.kind().code(), "overflow", "{err}");
    let header = npymap::Header {
        dtype: npymap::Dtype::from_descr_literal("('|S9', (2, 0))").unwrap(),
        fortran_order: false,
        shape: vec![1 << 62],
    };
    assert_eq!(header.payload_len().unwrap(), 0, "unfolded: zero itemsize");
    let err = header.to_bytes(None).unwrap_err();
    assert_eq!(err.kind().code(), "overflow", "{err}");
    // NumPy: ValueError: array is too big.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    std::fs::write(&path, &file).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, numpy as np\ntry:\n    np.load(sys.argv[1])\nexcept ValueError as e:\n    print('ValueError', e)",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("ValueError array is too big"),
        "{out:?}"
    );
}
