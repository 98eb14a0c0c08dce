//! Helpers shared by the view, mmap and npy tests: manifest values decoded
//! into Rust numbers, aligned buffers, and a NumPy runner.
#![allow(dead_code)]

use std::fmt::Debug;
use std::path::Path;

use npymap::{Element, NpyView};
use num_complex::Complex;
use serde_json::Value;

/// A manifest value as a float ("nan", "inf", "-inf", "-0.0" arrive as strings).
pub fn float(v: &Value) -> f64 {
    match v {
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "-0.0" => -0.0,
            other => panic!("unexpected float string {other:?}"),
        },
        v => v.as_f64().expect("number"),
    }
}

/// Bit-exact equality for floats (NaN equals NaN).
pub trait Same {
    fn same(&self, other: &Self) -> bool;
}

macro_rules! same_eq {
    ($($t:ty),*) => {$(impl Same for $t { fn same(&self, o: &Self) -> bool { self == o } })*};
}
same_eq!(bool, i8, i16, i32, i64, u8, u16, u32, u64, [u8; 3], [u8; 5]);

impl Same for f32 {
    fn same(&self, o: &Self) -> bool {
        self.to_bits() == o.to_bits() || (self.is_nan() && o.is_nan())
    }
}
impl Same for f64 {
    fn same(&self, o: &Self) -> bool {
        self.to_bits() == o.to_bits() || (self.is_nan() && o.is_nan())
    }
}
impl Same for half::f16 {
    fn same(&self, o: &Self) -> bool {
        self.to_bits() == o.to_bits() || (self.is_nan() && o.is_nan())
    }
}
impl<T: Same> Same for Complex<T> {
    fn same(&self, o: &Self) -> bool {
        self.re.same(&o.re) && self.im.same(&o.im)
    }
}

/// Storage position -> C-order flat index, for Fortran-ordered payloads.
pub fn storage_to_c(shape: &[u64], fortran: bool, p: usize) -> usize {
    if !fortran {
        return p;
    }
    let mut rest = p as u64;
    let mut idx = vec![0u64; shape.len()];
    for (i, &d) in shape.iter().enumerate() {
        idx[i] = rest % d;
        rest /= d;
    }
    let mut c = 0u64;
    for (i, &d) in shape.iter().enumerate() {
        c = c * d + idx[i];
    }
    c as usize
}

/// The manifest values in storage order, decoded by `f`.
pub fn storage_values<T>(entry: &Value, f: impl Fn(&Value) -> T) -> Vec<T> {
    let vals = entry["values"].as_array().expect("values");
    let shape: Vec<u64> = entry["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let fortran =
        entry["fortran_order"].as_bool().unwrap_or(false) || entry["order"].as_str() == Some("F");
    (0..vals.len())
        .map(|p| f(&vals[storage_to_c(&shape, fortran, p)]))
        .collect()
}

/// A copy of `bytes` starting at an 8-aligned address plus `shift`.
pub struct Aligned {
    words: Vec<u64>,
    shift: usize,
    len: usize,
}

impl Aligned {
    pub fn new(bytes: &[u8], shift: usize) -> Self {
        let mut words = vec![0u64; (bytes.len() + shift).div_ceil(8) + 1];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[shift..shift + bytes.len()]
            .copy_from_slice(bytes);
        Aligned {
            words,
            shift,
            len: bytes.len(),
        }
    }
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[self.shift..self.shift + self.len]
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        let (s, l) = (self.shift, self.len);
        &mut bytemuck::cast_slice_mut::<u64, u8>(&mut self.words)[s..s + l]
    }
}

/// Checks one view against expected storage-order values through the
/// element view, and through the slice view when the file is native.
/// Returns whether the slice view was exercised.
pub fn check_both<T: Element + Same + Debug>(
    view: &NpyView<'_>,
    expected: &[T],
    ctx: &str,
) -> bool {
    let got = view
        .elements::<T>()
        .unwrap_or_else(|e| panic!("{ctx}: {e}"))
        .to_vec();
    assert_eq!(got.len(), expected.len(), "{ctx}");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(g.same(e), "{ctx}[{i}]: element view {g:?} != {e:?}");
    }
    let el = view.elements::<T>().unwrap();
    for (i, e) in expected.iter().enumerate() {
        assert!(el.get(i).unwrap().same(e), "{ctx}: get({i})");
    }
    assert!(el.get(expected.len()).is_none(), "{ctx}: get past end");
    if view.dtype().is_native() {
        let s = view
            .as_slice::<T>()
            .unwrap_or_else(|e| panic!("{ctx}: slice view: {e}"));
        assert_eq!(s.len(), expected.len());
        for (i, (g, e)) in s.iter().zip(expected).enumerate() {
            assert!(g.same(e), "{ctx}[{i}]: slice view {g:?} != {e:?}");
        }
        true
    } else {
        let err = view.as_slice::<T>().unwrap_err();
        assert_eq!(err.kind().code(), "byte_order_mismatch", "{ctx}: {err}");
        false
    }
}

/// Dispatches on the dtype string; returns None for types without a Rust
/// element here (long double, strings of other sizes, datetimes, structs).
pub fn check_entry(view: &NpyView<'_>, entry: &Value, ctx: &str) -> Option<bool> {
    let descr = entry["descr"].as_str()?;
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let int = |v: &Value| v.as_i64().expect("int");
    let uint = |v: &Value| v.as_u64().expect("uint");
    let cplx = |v: &Value| (float(&v[0]), float(&v[1]));
    let bytes_n = |v: &Value| -> Vec<u8> {
        v.as_str()
            .unwrap()
            .chars()
            .map(|c| c as u32 as u8)
            .collect()
    };
    Some(match code {
        "b1" => check_both(view, &storage_values(entry, |v| v.as_bool().unwrap()), ctx),
        "i1" => check_both(view, &storage_values(entry, |v| int(v) as i8), ctx),
        "i2" => check_both(view, &storage_values(entry, |v| int(v) as i16), ctx),
        "i4" => check_both(view, &storage_values(entry, |v| int(v) as i32), ctx),
        "i8" => check_both(view, &storage_values(entry, int), ctx),
        "u1" => check_both(view, &storage_values(entry, |v| uint(v) as u8), ctx),
        "u2" => check_both(view, &storage_values(entry, |v| uint(v) as u16), ctx),
        "u4" => check_both(view, &storage_values(entry, |v| uint(v) as u32), ctx),
        "u8" => check_both(view, &storage_values(entry, uint), ctx),
        "f2" => check_both(
            view,
            &storage_values(entry, |v| half::f16::from_f64(float(v))),
            ctx,
        ),
        "f4" => check_both(view, &storage_values(entry, |v| float(v) as f32), ctx),
        "f8" => check_both(view, &storage_values(entry, float), ctx),
        "c8" => check_both(
            view,
            &storage_values(entry, |v| {
                let (r, i) = cplx(v);
                Complex::new(r as f32, i as f32)
            }),
            ctx,
        ),
        "c16" => check_both(
            view,
            &storage_values(entry, |v| {
                let (r, i) = cplx(v);
                Complex::new(r, i)
            }),
            ctx,
        ),
        "S5" => check_both(
            view,
            &storage_values(entry, |v| {
                let mut a = [0u8; 5];
                let b = bytes_n(v);
                a[..b.len()].copy_from_slice(&b);
                a
            }),
            ctx,
        ),
        "S3" => check_both(
            view,
            &storage_values(entry, |v| {
                let mut a = [0u8; 3];
                let b = bytes_n(v);
                a[..b.len()].copy_from_slice(&b);
                a
            }),
            ctx,
        ),
        _ => return None,
    })
}

/// Runs a NumPy snippet with `path` bound to `p`; panics with its stderr on failure.
pub fn numpy(script: &str, path: &Path) -> String {
    let script = format!("import numpy as np, sys\np = sys.argv[1]\n{script}");
    crate::common::cli::python_args(&script, Path::new("."), &[path])
}
