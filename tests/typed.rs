//! The everyday API (spec/api.md): `read`, `write`, `save`, `write_with`,
//! `NpyView::decode`, `read_npy` / `write_npy`, against real NumPy both
//! ways, and the exact text of its errors.

mod common;

use std::path::Path;

use half::f16;
#[cfg(feature = "ndarray")]
use ndarray::{Array2, Ix2, Ix3, IxDyn, s};
use npymap::{
    Array, DateTime64, Dtype, Header, LossyString, NpyView, TimeDelta64, TimeUnit, read, save,
    write, write_with,
};
use num_complex::Complex;

use common::cli::python_args;

/// The values every interop test uses, with NumPy's spelling of each array.
/// Rust and Python build the same arrays from these literals.
const PY_CASES: &str = r#"
import numpy as np
NaT = np.iinfo(np.int64).min
cases = {
 'i1': np.array([0, 1, -2, 3, -128, 127], 'i1').reshape(2, 3),
 'i2': np.array([0, 1, -2, 3, -32768, 32767], 'i2').reshape(2, 3),
 'i4': np.array([0, 1, -2, 3, -2**31, 2**31 - 1], 'i4').reshape(2, 3),
 'i8': np.array([0, 1, -2, 3, -2**63, 2**63 - 1], 'i8').reshape(2, 3),
 'u1': np.array([0, 1, 2, 3, 254, 255], 'u1').reshape(2, 3),
 'u2': np.array([0, 1, 2, 3, 65534, 65535], 'u2').reshape(2, 3),
 'u4': np.array([0, 1, 2, 3, 2**32 - 2, 2**32 - 1], 'u4').reshape(2, 3),
 'u8': np.array([0, 1, 2, 3, 2**64 - 2, 2**64 - 1], 'u8').reshape(2, 3),
 'f2': np.array([0, 1.5, -2.25, 65504, -np.inf, 0.1], 'f2').reshape(2, 3),
 'f4': np.array([0, 1.5, -2.25, 1e30, -np.inf, 0.1], 'f4').reshape(2, 3),
 'f8': np.array([0, 1.5, -2.25, 1e300, -np.inf, 0.1], 'f8').reshape(2, 3),
 'c8': np.array([1 - 2j, 0.5, complex(0, -0.25), 3 + 4j], 'c8'),
 'c16': np.array([1 - 2j, 0.5, complex(0, -0.25), 3 + 4j], 'c16'),
 'b1': np.array([True, False, True, True, False, False]).reshape(3, 2),
 'U': np.array(['abc', 'é', '日本', '', '😀x']),
 'U_empty': np.array(['', '']),
 'S': np.array([b'hello', b'ab', b'', b'a\x00b', b'\xff\xfe12']),
 'M8ns': np.array([1704164645123456789, NaT, -1000000000, 0], 'M8[ns]'),
 'M8D': np.array([10957, 0, NaT, -25138], 'M8[D]'),
 'm8_10s': np.array([0, 1, -2, 360], 'm8[10s]'),
 'm8us': np.array([1, -1, 987654321, NaT], 'm8[us]'),
 'f8_F': np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)),
 'i4_F': np.asfortranarray(np.arange(-3, 3, dtype='i4').reshape(2, 3)),
 'U_F': np.asfortranarray(np.array([['a', 'bc', 'def'], ['', 'é', 'xy']])),
 'f8_0d': np.array(2.5),
 'i2_empty': np.zeros((0, 5), 'i2'),
}
"#;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn f2(v: &[f64]) -> Vec<f16> {
    v.iter().map(|&x| f16::from_f64(x)).collect()
}

fn floats() -> [f64; 6] {
    [0.0, 1.5, -2.25, 0.0, f64::NEG_INFINITY, 0.1]
}

fn complexes<T: num_traits_float::F>() -> Vec<Complex<T>> {
    [(1.0, -2.0), (0.5, 0.0), (0.0, -0.25), (3.0, 4.0)]
        .iter()
        .map(|&(re, im)| Complex::new(T::of(re), T::of(im)))
        .collect()
}

/// A tiny float abstraction for the complex test values.
mod num_traits_float {
    pub trait F: Copy {
        fn of(x: f64) -> Self;
    }
    impl F for f32 {
        fn of(x: f64) -> Self {
            x as f32
        }
    }
    impl F for f64 {
        fn of(x: f64) -> Self {
            x
        }
    }
}

fn dates(unit: TimeUnit, values: &[i64]) -> Vec<DateTime64> {
    values.iter().map(|&v| DateTime64::new(v, unit)).collect()
}

fn deltas(unit: TimeUnit, multiplier: u32, values: &[i64]) -> Vec<TimeDelta64> {
    values
        .iter()
        .map(|&value| TimeDelta64 {
            value,
            unit,
            multiplier,
        })
        .collect()
}

const NAT: i64 = i64::MIN;
const M8NS: [i64; 4] = [1_704_164_645_123_456_789, NAT, -1_000_000_000, 0];
const M8D: [i64; 4] = [10957, 0, NAT, -25138];
const M8_10S: [i64; 4] = [0, 1, -2, 360];
const M8US: [i64; 4] = [1, -1, 987_654_321, NAT];
const TEXT: [&str; 5] = ["abc", "é", "日本", "", "😀x"];
const BYTES: [&[u8]; 5] = [b"hello", b"ab", b"", b"a\0b", b"\xff\xfe12"];

/// Writes every case of [`PY_CASES`] with npymap into `dir` as `<name>.npy`.
fn write_all_cases(dir: &Path) {
    let p = |n: &str| dir.join(format!("{n}.npy"));
    let mut f = floats();
    write(p("i1"), &[2, 3], &[0i8, 1, -2, 3, i8::MIN, i8::MAX]).unwrap();
    write(p("i2"), &[2, 3], &[0i16, 1, -2, 3, i16::MIN, i16::MAX]).unwrap();
    write(p("i4"), &[2, 3], &[0i32, 1, -2, 3, i32::MIN, i32::MAX]).unwrap();
    write(p("i8"), &[2, 3], &[0i64, 1, -2, 3, i64::MIN, i64::MAX]).unwrap();
    write(p("u1"), &[2, 3], &[0u8, 1, 2, 3, 254, 255]).unwrap();
    write(p("u2"), &[2, 3], &[0u16, 1, 2, 3, 65534, 65535]).unwrap();
    write(p("u4"), &[2, 3], &[0u32, 1, 2, 3, u32::MAX - 1, u32::MAX]).unwrap();
    write(p("u8"), &[2, 3], &[0u64, 1, 2, 3, u64::MAX - 1, u64::MAX]).unwrap();
    f[3] = 65504.0;
    write(p("f2"), &[2, 3], &f2(&f)).unwrap();
    f[3] = 1e30;
    let f4: Vec<f32> = f.iter().map(|&x| x as f32).collect();
    write(p("f4"), &[2, 3], &f4).unwrap();
    f[3] = 1e300;
    write(p("f8"), &[2, 3], &f).unwrap();
    write(p("c8"), &[4], &complexes::<f32>()).unwrap();
    write(p("c16"), &[4], &complexes::<f64>()).unwrap();
    write(p("b1"), &[3, 2], &[true, false, true, true, false, false]).unwrap();
    write(p("U"), &[5], &TEXT).unwrap();
    write(p("U_empty"), &[2], &[String::new(), String::new()]).unwrap();
    write(p("S"), &[5], &BYTES).unwrap();
    write(p("M8ns"), &[4], &dates(TimeUnit::Nanos, &M8NS)).unwrap();
    write(p("M8D"), &[4], &dates(TimeUnit::Days, &M8D)).unwrap();
    write(p("m8_10s"), &[4], &deltas(TimeUnit::Seconds, 10, &M8_10S)).unwrap();
    write(p("m8us"), &[4], &deltas(TimeUnit::Micros, 1, &M8US)).unwrap();
    // Fortran order: values in column-major storage order.
    let f_values: Vec<f64> = (0..24)
        .map(|k| {
            let (i, j, l) = (k % 2, (k / 2) % 3, k / 6);
            f64::from(i * 12 + j * 4 + l)
        })
        .collect();
    save(
        p("f8_F"),
        &Array::from_vec_fortran(vec![2, 3, 4], f_values).unwrap(),
    )
    .unwrap();
    save(
        p("i4_F"),
        &Array::from_vec_fortran(vec![2, 3], vec![-3i32, 0, -2, 1, -1, 2]).unwrap(),
    )
    .unwrap();
    save(
        p("U_F"),
        &Array::from_vec_fortran(vec![2, 3], vec!["a", "", "bc", "é", "def", "xy"]).unwrap(),
    )
    .unwrap();
    write(p("f8_0d"), &[], &[2.5f64]).unwrap();
    write::<i16>(p("i2_empty"), &[0, 5], &[]).unwrap();
}

/// Every file npymap writes loads in NumPy with the dtype, shape, order and
/// values NumPy gives the same array, and is byte for byte what `np.save`
/// writes for it.
#[test]
fn npymap_writes_load_in_numpy_and_match_np_save_byte_for_byte() {
    let dir = tmp();
    write_all_cases(dir.path());
    let script = format!(
        r#"{PY_CASES}
import io, sys, os
d = sys.argv[1]
for name, want in cases.items():
    path = os.path.join(d, name + '.npy')
    got = np.load(path)
    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)
    assert got.dtype.str == want.dtype.str, (name, got.dtype.str, want.dtype.str)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert got.flags.f_contiguous == want.flags.f_contiguous, name
    if got.dtype.kind in 'mM':  # NaT != NaT: compare the stored counts
        assert np.array_equal(got.view('i8'), want.view('i8')), (name, got, want)
    else:
        assert np.array_equal(got, want), (name, got, want)
    buf = io.BytesIO()
    np.save(buf, want)
    with open(path, 'rb') as fh:
        mine = fh.read()
    assert mine == buf.getvalue(), (name, mine, buf.getvalue())
    print(name)
"#
    );
    let out = python_args(&script, dir.path(), &[dir.path()]);
    let checked: Vec<&str> = out.lines().collect();
    assert_eq!(checked.len(), 26, "{out}");
    assert!(checked.contains(&"m8_10s") && checked.contains(&"U_F"));
}

/// NumPy's files, in both byte orders and in format versions 1, 2 and 3,
/// read with npymap give the values they were made from.
#[test]
fn numpy_files_in_both_byte_orders_read_back_as_their_values() {
    let dir = tmp();
    let script = format!(
        r#"{PY_CASES}
import sys, os
d = sys.argv[1]
for name, a in cases.items():
    for order in '<>':
        b = a.astype(a.dtype.newbyteorder(order)) if a.dtype.byteorder != '|' else a
        if a.flags.f_contiguous and not a.flags.c_contiguous:
            b = np.asfortranarray(b)
        np.save(os.path.join(d, f'{{name}}{{order}}.npy'), b)
for v in [(1, 0), (2, 0), (3, 0)]:
    with open(os.path.join(d, f'v{{v[0]}}.npy'), 'wb') as fh:
        np.lib.format.write_array(fh, cases['U'], version=v)
print('ok')
"#
    );
    python_args(&script, dir.path(), &[dir.path()]);
    for order in ["<", ">"] {
        let p = |n: &str| dir.path().join(format!("{n}{order}.npy"));
        let mut f = floats();
        assert_eq!(
            read::<i8>(p("i1")).unwrap().as_slice(),
            [0, 1, -2, 3, i8::MIN, i8::MAX]
        );
        assert_eq!(
            read::<i16>(p("i2")).unwrap().as_slice(),
            [0, 1, -2, 3, i16::MIN, i16::MAX]
        );
        let i4 = read::<i32>(p("i4")).unwrap();
        assert_eq!(i4.shape(), [2, 3]);
        assert_eq!(i4.as_slice(), [0, 1, -2, 3, i32::MIN, i32::MAX]);
        assert_eq!(
            read::<i64>(p("i8")).unwrap().as_slice(),
            [0, 1, -2, 3, i64::MIN, i64::MAX]
        );
        assert_eq!(
            read::<u16>(p("u2")).unwrap().as_slice(),
            [0, 1, 2, 3, 65534, 65535]
        );
        assert_eq!(
            read::<u32>(p("u4")).unwrap().as_slice(),
            [0, 1, 2, 3, u32::MAX - 1, u32::MAX]
        );
        assert_eq!(
            read::<u64>(p("u8")).unwrap().as_slice(),
            [0, 1, 2, 3, u64::MAX - 1, u64::MAX]
        );
        f[3] = 65504.0;
        assert_eq!(read::<f16>(p("f2")).unwrap().into_vec(), f2(&f));
        f[3] = 1e30;
        let f4: Vec<f32> = f.iter().map(|&x| x as f32).collect();
        assert_eq!(read::<f32>(p("f4")).unwrap().into_vec(), f4);
        f[3] = 1e300;
        assert_eq!(read::<f64>(p("f8")).unwrap().into_vec(), f);
        assert_eq!(
            read::<Complex<f32>>(p("c8")).unwrap().into_vec(),
            complexes::<f32>()
        );
        assert_eq!(
            read::<Complex<f64>>(p("c16")).unwrap().into_vec(),
            complexes::<f64>()
        );
        let b = read::<bool>(p("b1")).unwrap();
        assert_eq!(b.shape(), [3, 2]);
        assert_eq!(b.as_slice(), [true, false, true, true, false, false]);
        assert_eq!(read::<String>(p("U")).unwrap().into_vec(), TEXT);
        assert_eq!(read::<String>(p("U_empty")).unwrap().into_vec(), ["", ""]);
        let s = read::<Vec<u8>>(p("S")).unwrap().into_vec();
        assert_eq!(s, BYTES.map(<[u8]>::to_vec));
        assert_eq!(
            read::<DateTime64>(p("M8ns")).unwrap().into_vec(),
            dates(TimeUnit::Nanos, &M8NS)
        );
        let d = read::<DateTime64>(p("M8D")).unwrap().into_vec();
        assert_eq!(d, dates(TimeUnit::Days, &M8D));
        assert_eq!(d[2].get(), None);
        assert!(d[2].is_nat());
        assert_eq!(
            read::<TimeDelta64>(p("m8_10s")).unwrap().into_vec(),
            deltas(TimeUnit::Seconds, 10, &M8_10S)
        );
        assert_eq!(
            read::<TimeDelta64>(p("m8us")).unwrap().into_vec(),
            deltas(TimeUnit::Micros, 1, &M8US)
        );
        let fa = read::<f64>(p("f8_F")).unwrap();
        assert!(fa.fortran_order());
        assert_eq!(fa.shape(), [2, 3, 4]);
        for (i, j, l) in [(0, 0, 0), (1, 2, 3), (1, 0, 2), (0, 2, 1)] {
            assert_eq!(
                fa.get(&[i, j, l]),
                Some(&((i * 12 + j * 4 + l) as f64)),
                "{order} {i} {j} {l}"
            );
        }
        let ua = read::<String>(p("U_F")).unwrap();
        assert_eq!(ua.get(&[0, 2]).map(String::as_str), Some("def"));
        assert_eq!(ua.get(&[1, 1]).map(String::as_str), Some("é"));
        let z = read::<f64>(p("f8_0d")).unwrap();
        assert_eq!((z.shape(), z.as_slice()), (&[][..], &[2.5][..]));
        let e = read::<i16>(p("i2_empty")).unwrap();
        assert_eq!((e.shape(), e.len()), (&[0, 5][..], 0));
    }
    for v in 1..=3 {
        let a = read::<String>(dir.path().join(format!("v{v}.npy"))).unwrap();
        assert_eq!(a.into_vec(), TEXT, "version {v}");
    }
}

/// The same payloads decoded through an in-memory view and a map.
#[test]
fn views_decode_text_bytes_and_dates() {
    let td = common::testdata().join("npy");
    let bytes = std::fs::read(td.join("U3_be.npy")).unwrap();
    let view = NpyView::new(&bytes).unwrap();
    assert_eq!(view.decode::<String>().unwrap().into_vec(), TEXT);
    let bytes = std::fs::read(td.join("S5.npy")).unwrap();
    let s = NpyView::new(&bytes).unwrap().decode::<Vec<u8>>().unwrap();
    assert_eq!(s.into_vec(), BYTES.map(<[u8]>::to_vec));
    // A misaligned copy of the payload reads the same (decode works at any alignment).
    let bytes = std::fs::read(td.join("M8_ns_be.npy")).unwrap();
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&bytes);
    let view = NpyView::new(&shifted[1..]).unwrap();
    let d = view.decode::<DateTime64>().unwrap().into_vec();
    assert_eq!(d, dates(TimeUnit::Nanos, &[1_704_164_645_000_000_000, NAT]));
    // SAFETY: the test data is not modified while mapped.
    let map = unsafe { npymap::mmap::NpyMap::open(td.join("m8_10s.npy")).unwrap() };
    let m = map.view().decode::<TimeDelta64>().unwrap().into_vec();
    assert_eq!(m, deltas(TimeUnit::Seconds, 10, &M8_10S));
    assert_eq!(m[1].to_string(), "1[10s]");
    assert_eq!(TimeDelta64::nat(TimeUnit::Seconds).to_string(), "NaT[s]");
    let g = read::<DateTime64>(td.join("M8_generic.npy")).unwrap();
    assert!(
        g.as_slice()
            .iter()
            .all(|v| v.is_nat() && v.unit == TimeUnit::Generic)
    );
}

/// A lone surrogate (NumPy stores UCS-4 code units as given) is an error
/// naming the element for `String`, and U+FFFD for `LossyString`.
#[test]
fn lone_surrogates_fail_as_string_and_become_replacement_chars_lossily() {
    let dir = tmp();
    python_args(
        "import numpy as np, sys; np.save(sys.argv[1] + '/s.npy', np.array(['ok', 'a\\ud800b'])); \
         np.save(sys.argv[1] + '/sb.npy', np.array(['ok', 'a\\udfffb'], '>U3'))",
        dir.path(),
        &[dir.path()],
    );
    let path = dir.path().join("s.npy");
    let e = read::<String>(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: cannot cast '<U3' to String: element 1 holds U+D800, a lone surrogate, which a \
             Rust String cannot hold (read it as LossyString to get U+FFFD in its place) (at byte 128)",
            path.display()
        )
    );
    let lossy = read::<LossyString>(&path).unwrap().into_vec();
    assert_eq!(
        lossy,
        [LossyString("ok".into()), LossyString("a\u{fffd}b".into())]
    );
    let lossy = read::<LossyString>(dir.path().join("sb.npy"))
        .unwrap()
        .into_vec();
    assert_eq!(lossy[1].0, "a\u{fffd}b");
}

/// Errors name both sides: the wanted dtype with the Rust type, and what
/// the file holds; dimensionality errors name the shape.
#[test]
fn typed_errors_name_both_sides() {
    let td = common::testdata().join("npy");
    let at = |name: &str| td.join(name);
    let msg = |name: &str, e: npymap::Error| {
        let text = e.to_string();
        let prefix = format!("{}: ", at(name).display());
        text.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(text)
    };
    assert_eq!(
        msg("f8_le.npy", read::<f32>(at("f8_le.npy")).unwrap_err()),
        "dtype mismatch: expected '<f4' (f32), found '<f8'"
    );
    assert_eq!(
        msg(
            "f8_be.npy",
            read::<Complex<f64>>(at("f8_be.npy")).unwrap_err()
        ),
        "dtype mismatch: expected '<c16' (Complex<f64>), found '>f8'"
    );
    assert_eq!(
        msg("U3_le.npy", read::<Vec<u8>>(at("U3_le.npy")).unwrap_err()),
        "dtype mismatch: expected '|S<n>' (Vec<u8>), found '<U3'"
    );
    assert_eq!(
        msg("S5.npy", read::<String>(at("S5.npy")).unwrap_err()),
        "dtype mismatch: expected '<U<n>' (String), found '|S5'"
    );
    assert_eq!(
        msg(
            "m8_us.npy",
            read::<DateTime64>(at("m8_us.npy")).unwrap_err()
        ),
        "dtype mismatch: expected '<M8[unit]' (DateTime64), found '<m8[us]'"
    );
    assert_eq!(
        msg("object.npy", read::<f64>(at("object.npy")).unwrap_err()),
        "object dtype: the payload is a Python pickle, which npymap does not load (at byte 128)"
    );
}

/// A wrong number of dimensions names both counts and the file's shape
/// (ndarray itself says only `IncompatibleShape`).
#[cfg(feature = "ndarray")]
#[test]
fn dimensionality_errors_name_the_shape() {
    let td = common::testdata().join("npy");
    let at = |name: &str| td.join(name);
    let msg = |name: &str, e: npymap::Error| {
        let text = e.to_string();
        let prefix = format!("{}: ", at(name).display());
        text.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(text)
    };
    let e = npymap::read_npy::<f64, Ix2>(at("c_2x3x4.npy")).unwrap_err();
    assert_eq!(
        msg("c_2x3x4.npy", e),
        "shape mismatch: expected 2 dimensions, found 3 (shape (2, 3, 4))"
    );
    let bytes = std::fs::read(at("c_2x3x4.npy")).unwrap();
    let e = NpyView::new(&bytes)
        .unwrap()
        .as_array_dim::<f64, ndarray::Ix1>()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "shape mismatch: expected 1 dimension, found 3 (shape (2, 3, 4))"
    );
    let e = npymap::read_npy::<f64, Ix2>(at("one_d.npy")).unwrap_err();
    assert!(
        msg("one_d.npy", e).ends_with("expected 2 dimensions, found 1 (shape (7,))"),
        "one_d"
    );
}

/// Writes refuse what they cannot write exactly, before touching the
/// destination, and say why.
#[test]
fn write_errors_are_exact_and_leave_the_destination_alone() {
    let dir = tmp();
    let path = dir.path().join("x.npy");
    std::fs::write(&path, b"keep").unwrap();
    let check = |e: npymap::Error, want: &str| {
        assert_eq!(e.to_string(), format!("{}: {want}", path.display()));
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
        assert_eq!(common::cli::listing(dir.path()), ["x.npy"]);
    };
    check(
        write(&path, &[2, 3], &[1.0f64; 5]).unwrap_err(),
        "shape mismatch: expected 6 values for shape (2, 3), found 5 values",
    );
    let header = Header::new(Dtype::from_descr("<U2").unwrap(), &[2]);
    check(
        write_with(&path, &header, &["ab", "abc"]).unwrap_err(),
        "cannot cast element 1 (3 characters) to '<U2': it is longer than the dtype holds \
         (NumPy would cut it; npymap refuses)",
    );
    let header = Header::new(Dtype::from_descr("<f8").unwrap(), &[2]);
    check(
        write_with(&path, &header, &[1i32, 2]).unwrap_err(),
        "dtype mismatch: expected '<i4' (i32), found '<f8'",
    );
    let mixed = [
        DateTime64::new(1, TimeUnit::Seconds),
        DateTime64::new(1, TimeUnit::Days),
    ];
    check(
        write(&path, &[2], &mixed).unwrap_err(),
        "unsupported: M8 values in two units, [s] and [D]: convert them to one unit first",
    );
    check(
        write(&path, &[1], &[[0u8; 4]]).unwrap_err(),
        "unsupported: [u8; 4] does not name a dtype on its own; give the dtype (write_with)",
    );
}

/// Explicit dtypes: the other byte order, a wider string, `[u8; N]` as `V4`.
#[test]
fn write_with_takes_the_headers_dtype() {
    let dir = tmp();
    let p = |n: &str| dir.path().join(n);
    write_with(
        p("be.npy"),
        &Header::new(Dtype::from_descr(">i4").unwrap(), &[3]),
        &[1i32, -2, 300],
    )
    .unwrap();
    write_with(
        p("u.npy"),
        &Header::new(Dtype::from_descr(">U4").unwrap(), &[2]),
        &["ab", "日本"],
    )
    .unwrap();
    write_with(
        p("s.npy"),
        &Header::new(Dtype::from_descr("|S4").unwrap(), &[2]),
        &[b"ab".as_slice(), b"\x00\x01"],
    )
    .unwrap();
    write_with(
        p("v.npy"),
        &Header::new(Dtype::from_descr("|V4").unwrap(), &[1]),
        &[[1u8, 2, 3, 4]],
    )
    .unwrap();
    let out = python_args(
        "import numpy as np, sys, os\n\
         d = sys.argv[1]\n\
         a = np.load(os.path.join(d, 'be.npy')); print(a.dtype.str, a.tolist())\n\
         a = np.load(os.path.join(d, 'u.npy')); print(a.dtype.str, a.tolist())\n\
         a = np.load(os.path.join(d, 's.npy')); print(a.dtype.str, a.tolist())\n\
         a = np.load(os.path.join(d, 'v.npy')); print(a.dtype.str, a.tobytes())\n",
        dir.path(),
        &[dir.path()],
    );
    assert_eq!(
        out,
        ">i4 [1, -2, 300]\n>U4 ['ab', '日本']\n|S4 [b'ab', b'\\x00\\x01']\n|V4 b'\\x01\\x02\\x03\\x04'\n"
    );
    assert_eq!(read::<i32>(p("be.npy")).unwrap().into_vec(), [1, -2, 300]);
}

/// Bad input: a lying shape is refused before any allocation, and a bool
/// byte other than 0 or 1 is named.
#[test]
fn hostile_files_are_refused_with_a_precise_error() {
    let dir = tmp();
    let p = dir.path().join("big.npy");
    let header = Header::new(Dtype::from_descr("<f8").unwrap(), &[1 << 40]);
    let mut bytes = header.to_bytes(None).unwrap();
    bytes.extend_from_slice(&[0u8; 16]);
    std::fs::write(&p, &bytes).unwrap();
    let e = read::<f64>(&p).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: payload is 16 bytes but the header implies 8796093022208 (at byte 128)",
            p.display()
        )
    );
    let b = dir.path().join("bool.npy");
    let header = Header::new(Dtype::from_descr("|b1").unwrap(), &[3]);
    let mut bytes = header.to_bytes(None).unwrap();
    bytes.extend_from_slice(&[0, 1, 2]);
    std::fs::write(&b, &bytes).unwrap();
    let e = read::<bool>(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: invalid bool byte 0x02 at element 2 (at byte 128)",
            b.display()
        )
    );
    // A structured dtype of no fields claims elements that hold no bytes.
    let z = dir.path().join("zero.npy");
    let empty = npymap::npy::inspect(&common::testdata().join("npy/struct_empty.npy")).unwrap();
    assert_eq!(empty.header.dtype.itemsize(), 0);
    let header = Header::new(empty.header.dtype, &[1 << 40]);
    std::fs::write(&z, header.to_bytes(None).unwrap()).unwrap();
    let e = read::<[u8; 0]>(&z).unwrap_err();
    assert!(e.to_string().contains("zero bytes each"), "{e}");
}

#[cfg(feature = "ndarray")]
fn np_save_bytes(dir: &Path, names_and_exprs: &[(&str, &str)]) -> Vec<std::path::PathBuf> {
    let mut script = String::from(
        "import numpy as np, sys, os\n\
         d = sys.argv[1]\n\
         a = np.arange(24.0).reshape(4, 6)\n\
         a3 = np.arange(24, dtype='i4').reshape(2, 3, 4)\n",
    );
    for (name, expr) in names_and_exprs {
        script.push_str(&format!(
            "np.save(os.path.join(d, 'np_{name}.npy'), {expr})\n"
        ));
    }
    python_args(&script, dir, &[dir]);
    names_and_exprs
        .iter()
        .map(|(n, _)| dir.join(format!("np_{n}.npy")))
        .collect()
}

#[cfg(feature = "ndarray")]
/// `write_npy` of every layout is byte-identical to `np.save` of the same
/// array; `read_npy` and the conversions give the values back.
#[test]
fn write_npy_matches_np_save_for_every_layout() {
    let dir = tmp();
    let a = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f64);
    let a3 = ndarray::Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as i32);
    let p = |n: &str| dir.path().join(format!("{n}.npy"));
    npymap::write_npy(p("c"), &a).unwrap();
    npymap::write_npy(p("f"), &a.t().as_standard_layout().reversed_axes()).unwrap();
    npymap::write_npy(p("t"), &a.t()).unwrap();
    npymap::write_npy(p("strided"), &a.slice(s![..;2, 1..;2])).unwrap();
    npymap::write_npy(p("neg"), &a.slice(s![..;-1, ..])).unwrap();
    npymap::write_npy(p("perm"), &a3.view().permuted_axes([1, 0, 2])).unwrap();
    npymap::write_npy(p("col"), &a.slice(s![.., 2..3])).unwrap();
    npymap::write_npy(p("row"), &a.slice(s![1..2, ..]).t()).unwrap();
    npymap::write_npy(p("empty_t"), &Array2::<f64>::zeros((0, 3)).t()).unwrap();
    let strings = ndarray::arr2(&[["a", "bc"], ["déf", ""]]);
    npymap::write_npy(p("u_t"), &strings.t()).unwrap();
    let refs = np_save_bytes(
        dir.path(),
        &[
            ("c", "a"),
            ("f", "np.asfortranarray(a)"),
            ("t", "a.T"),
            ("strided", "a[::2, 1::2]"),
            ("neg", "a[::-1, :]"),
            ("perm", "np.transpose(a3, (1, 0, 2))"),
            ("col", "a[:, 2:3]"),
            ("u_t", "np.array([['a', 'bc'], ['déf', '']]).T"),
            ("row", "a[1:2, :].T"),
            ("empty_t", "np.zeros((0, 3)).T"),
        ],
    );
    for (name, reference) in [
        "c", "f", "t", "strided", "neg", "perm", "col", "u_t", "row", "empty_t",
    ]
    .iter()
    .zip(&refs)
    {
        assert_eq!(
            std::fs::read(p(name)).unwrap(),
            std::fs::read(reference).unwrap(),
            "{name}"
        );
    }
    let f: Array2<f64> = npymap::read_npy(p("f")).unwrap();
    assert_eq!(f, a);
    assert!(f.t().is_standard_layout(), "Fortran storage kept");
    let t: Array2<f64> = npymap::read_npy(p("t")).unwrap();
    assert_eq!(t, a.t());
    let neg = npymap::read_npy::<f64, IxDyn>(p("neg")).unwrap();
    assert_eq!(neg, a.slice(s![..;-1, ..]).into_dyn());
    let perm = npymap::read_npy::<i32, Ix3>(p("perm")).unwrap();
    assert_eq!(perm, a3.view().permuted_axes([1, 0, 2]));
    let u = npymap::read_npy::<String, Ix2>(p("u_t")).unwrap();
    assert_eq!(u[[0, 1]], "déf");
    // Array <-> ndarray.
    let back: Array<f64> = Array::from(f.clone().into_dyn());
    assert!(back.fortran_order());
    assert_eq!(back.get(&[1, 0]), Some(&6.0));
    assert_eq!(back.into_ndarray().unwrap(), a.clone().into_dyn());
    let sliced = a.slice(s![1.., ..]).to_owned();
    let from_c: Array<f64> = sliced.clone().into();
    assert!(!from_c.fortran_order());
    assert_eq!(from_c.as_slice(), sliced.as_slice().unwrap());
    // SAFETY: the file is not modified while mapped.
    let map = unsafe { npymap::mmap::NpyMap::open(p("c")).unwrap() };
    assert_eq!(map.as_array_dim::<f64, Ix2>().unwrap(), a);
    assert_eq!(map.as_array::<f64>().unwrap()[[3, 5]], 23.0);
}
