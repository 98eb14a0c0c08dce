//! `convert --dtype T --casting LEVEL` and `ConvertOptions::casting`
//! against NumPy's `astype` and `can_cast` (issue 15 item 1, spec/cli.md
//! §5.1): every source x target among the numeric dtypes, at the strictest
//! level NumPy allows, byte for byte against `np.save(a.astype(T))`; every
//! stricter level refused with the level that would allow it.
//!
//! One Python call makes every input (NaN with payloads, ±inf, -0.0,
//! subnormals, extremes, rounding ties, random values) and every expected
//! file.

mod common;

use std::path::Path;

use common::cli::{assert_error, npymap, ok, python};
use npymap::Dtype;
use npymap::atomic::Durability;
use npymap::convert::{Casting, ConvertOptions, convert_to_file, required_casting};
use npymap::view::NpyView;

/// Source dtypes: every numeric family, and big-endian ones.
const SOURCES: &[&str] = &[
    "|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8",
    "<c16", ">f8", ">i2", ">c16", ">f2",
];
/// Target dtypes: the same, and big-endian ones.
const TARGETS: &[&str] = &[
    "|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8",
    "<c16", ">f8", ">f4", ">u4", ">i8", ">c8", ">f2",
];

/// Writes `in_K.npy` for every source K, `out_K_J.npy` = `a.astype(T_J)`
/// for every target J, and prints, per pair, NumPy's strictest casting
/// level. The arrays end with 4 ordinary numbers, so NumPy's vectorised
/// float -> uint32 loop handles every special value (spec/cli.md §5.1).
const GENERATE: &str = r#"
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
sources, targets = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rng = np.random.default_rng(15)
LEVELS = ["no", "equiv", "safe", "same_kind", "unsafe"]

def pad(a):
    # A multiple of 4 elements, the last 4 ordinary numbers: NumPy's
    # scalar tail loops (spec/cli.md 5.1) then see no out-of-range value.
    a = np.concatenate([a, a[:-len(a) % 4]])
    return np.concatenate([a, np.array([0, 1, 2, 3], dtype=a.dtype)])

def floats(dt):
    fi = np.finfo(dt)
    vals = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5,
            1.0, -1.0, 127.5, 128.0, -128.5, -129.0, 255.5, 256.0, 32767.5, -32769.0,
            65504.0, 65519.99, 65520.0, -65520.0, 70000.0, -70000.0,
            2.0**31 - 1, 2.0**31, -2.0**31, -2.0**31 - 1, 2.0**32 - 1, 2.0**32, -3e9, 5e9,
            2.0**63, -2.0**63, 2.0**64, 1e19, -1e19, 1.8e19, 1e300, -1e300,
            1 + 2.0**-11 + 2.0**-40, 1 + 2.0**-11, 1 + 2.0**-24 + 2.0**-50, 1 + 2.0**-24,
            2.0**-24, 2.0**-25, 2.0**-25 * 1.0001, 1.5 * 2.0**-24, 2.0**-14 * (1 - 2.0**-12),
            6.1e-5, 1e-40, 1.4e-45, 1e-310, 5e-324, 3.4e38, 3.5e38]
    a = np.array(vals, dtype=np.float64).astype(dt)
    a = np.concatenate([a, np.array([fi.max, -fi.max, fi.tiny, fi.smallest_subnormal,
                                     -fi.smallest_subnormal], dtype=dt)])
    # NaNs with payloads, signalling ones included.
    nan_bits = {2: [0x7c01, 0x7d00, 0xfe01], 4: [0x7f800001, 0x7fa00000, 0xffc00001],
                8: [0x7ff0000000000001, 0x7ff4000000000000, 0xfff8000000000100,
                    0x7ff0000000002001]}[a.itemsize]
    a = np.concatenate([a, np.array(nan_bits, dtype="u%d" % a.itemsize).view(dt)])
    r = rng.standard_normal(40) * 10.0 ** rng.uniform(-8, 25, 40)
    return pad(np.concatenate([a, r.astype(dt)]))

def array(descr):
    dt = np.dtype(descr)
    k = dt.kind
    if k == "b":
        return np.array([True, False, True, True, False, False, True, False])
    if k in "iu":
        ii = np.iinfo(dt)
        cand = [0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, 65535,
                65536, 2**31 - 1, 2**31, -2**31, 2**32 - 1, 2**32, 2**53 + 1, 2**62 + 2**40 + 1,
                2**63 - 1, -2**63, 2**64 - 1, 2049, 4097, 65519, 65520, 16777217]
        v = [c for c in cand if ii.min <= c <= ii.max] + [ii.min, ii.max]
        r = rng.integers(ii.min, ii.max, 40, dtype=dt, endpoint=True)
        return pad(np.concatenate([np.array(v, dtype=dt), r]))
    if k == "f":
        return floats(dt)
    # Real and imaginary parts keep the float inputs' exact bits.
    part = floats(np.dtype("f%d" % (dt.itemsize // 2)))
    a = np.empty(len(part), dtype=dt)
    a.real, a.imag = part, np.roll(part, 7)
    return a

out = []
for i, s in enumerate(sources):
    # Made in native order; a byte swap keeps every bit.
    a = array(np.dtype(s).newbyteorder("=")).astype(s)
    np.save("in_%d.npy" % i, a)
    for j, t in enumerate(targets):
        np.save("out_%d_%d.npy" % (i, j), a.astype(t))
        need = next(l for l in LEVELS if np.can_cast(np.dtype(s), np.dtype(t), l))
        out.append([i, j, need])
print(json.dumps(out))
"#;

fn level(name: &str) -> Casting {
    name.parse().unwrap()
}

fn p(d: &Path, n: &str) -> String {
    d.join(n).to_string_lossy().into_owned()
}

/// Converts `input` with the library into `out`.
fn convert_lib(input: &Path, out: &Path, opts: &ConvertOptions) -> npymap::Result<()> {
    let bytes = std::fs::read(input).unwrap();
    let view = NpyView::new(&bytes).unwrap();
    convert_to_file(&view, out, opts, Durability::Atomic).map(|_| ())
}

#[test]
fn every_numeric_cast_equals_numpy_astype_at_each_level() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(usize, usize, String)> = serde_json::from_str(&python_args_json(d)).unwrap();
    assert_eq!(cases.len(), SOURCES.len() * TARGETS.len());
    let mut refusals_via_cli = std::collections::BTreeSet::new();
    let mut cli_levels = std::collections::BTreeSet::new();
    for (i, j, need) in &cases {
        let (src, dst) = (SOURCES[*i], TARGETS[*j]);
        let what = format!("{src} -> {dst}");
        let need = level(need);
        let from = Dtype::from_descr(src).unwrap();
        let to = Dtype::from_descr(dst).unwrap();
        assert_eq!(required_casting(&from, &to).unwrap(), need, "{what}");
        let input = d.join(format!("in_{i}.npy"));
        let expected = std::fs::read(d.join(format!("out_{i}_{j}.npy"))).unwrap();
        // The CLI at exactly the level NumPy needs, on a quarter of the
        // pairs (every source, every target, every level; the library
        // below does every pair through the same code).
        if (i + j) % 4 == 0 {
            cli_levels.insert(need);
            let cli_out = d.join("cli.npy");
            ok(
                &npymap(&[
                    "--no-sync",
                    "convert",
                    input.to_str().unwrap(),
                    cli_out.to_str().unwrap(),
                    "--dtype",
                    dst,
                    "--casting",
                    need.name(),
                ]),
                &what,
            );
            assert!(
                std::fs::read(&cli_out).unwrap() == expected,
                "{what}: CLI output differs from NumPy's astype"
            );
            std::fs::remove_file(&cli_out).unwrap();
        }
        // The library at every level.
        let lib_out = d.join("lib.npy");
        for casting in Casting::ALL {
            let opts = ConvertOptions {
                dtype: Some(to.clone()),
                casting,
                ..Default::default()
            };
            // The level only decides whether to cast: the output is checked
            // at the strictest level that allows it.
            if casting > need {
                continue;
            }
            let res = convert_lib(&input, &lib_out, &opts);
            if casting >= need {
                res.unwrap_or_else(|e| panic!("{what} under {casting}: {e}"));
                assert!(
                    std::fs::read(&lib_out).unwrap() == expected,
                    "{what} under {casting}: library output differs from NumPy's astype"
                );
            } else {
                let err = res.expect_err(&what);
                assert_eq!(err.kind().code(), "unsupported_cast", "{what}");
                assert_eq!(
                    err.to_string(),
                    format!(
                        "cannot cast {} to {} under casting '{casting}' (needs '{need}')",
                        from, to
                    ),
                    "{what}"
                );
                // One CLI refusal per (level asked, level needed).
                if refusals_via_cli.insert((casting, need)) {
                    let gone = d.join("refused.npy");
                    let o = npymap(&[
                        "convert",
                        input.to_str().unwrap(),
                        gone.to_str().unwrap(),
                        "--dtype",
                        dst,
                        "--casting",
                        casting.name(),
                    ]);
                    assert_error(&o, &what);
                    let stderr = String::from_utf8_lossy(&o.stderr);
                    assert!(
                        stderr.contains(&format!("under casting '{casting}' (needs '{need}')")),
                        "{what}: {stderr}"
                    );
                    assert!(!gone.exists(), "{what}: output written");
                }
            }
        }
    }
    assert_eq!(cli_levels.len(), 5, "{cli_levels:?}");
    // Every (asked, needed) refusal pair came up: 10 for five levels.
    assert_eq!(refusals_via_cli.len(), 10, "{refusals_via_cli:?}");
}

fn python_args_json(d: &Path) -> String {
    let arg = |v: &[&str]| serde_json::to_string(v).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(GENERATE)
        .arg(arg(SOURCES))
        .arg(arg(TARGETS))
        .current_dir(d)
        .output()
        .expect("python3 with numpy is required for these tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn safe_stays_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np; np.save('a.npy', np.arange(6, dtype='<f8'))",
        d,
    );
    let o = npymap(&["convert", &p(d, "a.npy"), &p(d, "b.npy"), "--dtype", "f4"]);
    assert_error(&o, "default level");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .ends_with("cannot cast '<f8' to '<f4' under casting 'safe' (needs 'same_kind')\n"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(ConvertOptions::default().casting, Casting::Safe);
    // A byte-order change is a cast of level 'equiv'.
    let o = npymap(&[
        "convert",
        &p(d, "a.npy"),
        &p(d, "b.npy"),
        "--byte-order",
        "big",
        "--casting",
        "no",
    ]);
    assert_error(&o, "no byte order change under 'no'");
    assert!(String::from_utf8_lossy(&o.stderr).contains("(needs 'equiv')"));
    assert!(!d.join("b.npy").exists());
    // A memory-order change is no cast at all.
    ok(
        &npymap(&[
            "convert",
            &p(d, "a.npy"),
            &p(d, "b.npy"),
            "--order",
            "F",
            "--casting",
            "no",
        ]),
        "order under 'no'",
    );
    let o = npymap(&[
        "convert",
        &p(d, "a.npy"),
        &p(d, "b.npy"),
        "--casting",
        "sometimes",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("same_kind"));
}

#[test]
fn casts_compose_with_byte_order_and_memory_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // (input made by NumPy, npymap flags, the NumPy expression of the output)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "np.asfortranarray(v.reshape(6, 14)).astype('>f8', order='K')",
            &["--dtype", "<f4", "--casting", "same_kind", "--order", "C"],
            "np.ascontiguousarray(a.astype('<f4'))",
        ),
        (
            "v.reshape(4, 3, 7).astype('<f8')",
            &[
                "--dtype",
                "f2",
                "--casting",
                "same_kind",
                "--order",
                "F",
                "--byte-order",
                "big",
            ],
            "np.asfortranarray(a.astype('>f2'))",
        ),
        (
            "(v.reshape(12, 7) * 1e3).astype('>i8')",
            &["--dtype", "u2", "--casting", "unsafe", "--order", "F"],
            "np.asfortranarray(a.astype('<u2'))",
        ),
        (
            "np.asfortranarray((v + 1j * v[::-1]).reshape(7, 12)).astype('<c16', order='K')",
            &[
                "--dtype",
                "<f4",
                "--casting",
                "unsafe",
                "--byte-order",
                "big",
            ],
            "np.asfortranarray(a.astype('>f4'))",
        ),
    ];
    let mut script = String::from(
        "import warnings, numpy as np\nwarnings.simplefilter('ignore')\n\
         v = np.concatenate([[np.nan, -np.inf, np.inf, -0.0, 1e-30, 65519.99, 1e5, -2.5], \
         np.random.default_rng(1).standard_normal(76) * 100])\n",
    );
    for (n, (make, _, expect)) in cases.iter().enumerate() {
        script.push_str(&format!(
            "a = {make}\nnp.save('in{n}.npy', a)\nnp.save('want{n}.npy', {expect})\n"
        ));
    }
    python(&script, d);
    for (n, (_, flags, expect)) in cases.iter().enumerate() {
        let input = p(d, &format!("in{n}.npy"));
        let want = std::fs::read(d.join(format!("want{n}.npy"))).unwrap();
        let mut args = vec!["convert", input.as_str()];
        let out = p(d, &format!("out{n}.npy"));
        args.push(&out);
        args.extend(flags.iter().copied());
        ok(&npymap(&args), expect);
        assert!(std::fs::read(&out).unwrap() == want, "CLI: {expect}");
        // The same through the library.
        let get = |k: &str| flags.iter().position(|f| *f == k).map(|at| flags[at + 1]);
        let opts = ConvertOptions {
            dtype: get("--dtype").map(|t| Dtype::from_descr(t).unwrap()),
            casting: level(get("--casting").unwrap()),
            fortran_order: get("--order").map(|o| o == "F"),
            byte_order: get("--byte-order").map(|_| npymap::ByteOrder::Big),
            ..Default::default()
        };
        let lib = d.join(format!("lib{n}.npy"));
        convert_lib(Path::new(&input), &lib, &opts).unwrap();
        assert!(std::fs::read(&lib).unwrap() == want, "library: {expect}");
    }
}

#[test]
fn casts_npymap_does_not_do_are_refused_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        "import numpy as np\n\
         np.save('ld.npy', np.arange(4, dtype=np.longdouble))\n\
         np.save('s.npy', np.array([b'1', b'2']))\n\
         np.save('f.npy', np.arange(4.0))\n\
         np.save('rec.npy', np.zeros(2, dtype=[('x', '<i4'), ('y', '<f8')]))\n",
        d,
    );
    for (input, to, why) in [
        ("ld.npy", "<f8", "long double"),
        ("f.npy", "<f16", "long double"),
        ("s.npy", "<f8", "casts are supported among"),
        ("f.npy", "<M8[s]", "casts are supported among"),
        ("rec.npy", "<f8", "only simple numeric types"),
    ] {
        let o = npymap(&[
            "convert",
            &p(d, input),
            &p(d, "out.npy"),
            "--dtype",
            to,
            "--casting",
            "unsafe",
        ]);
        assert_error(&o, to);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(why), "{input} -> {to}: {stderr}");
        assert!(!d.join("out.npy").exists());
    }
    // Long double and structured dtypes still change byte order ('equiv').
    for input in ["ld.npy", "rec.npy"] {
        ok(
            &npymap(&[
                "convert",
                &p(d, input),
                &p(d, "out.npy"),
                "--byte-order",
                "big",
                "--casting",
                "equiv",
            ]),
            input,
        );
        let same = python(
            &format!(
                "import numpy as np; a, b = np.load('{input}'), np.load('out.npy'); \
                 print(b.dtype.byteorder, (a == b).all())"
            ),
            d,
        );
        assert_eq!(
            same.trim(),
            if input == "ld.npy" {
                "> True"
            } else {
                "| True"
            }
        );
    }
}
