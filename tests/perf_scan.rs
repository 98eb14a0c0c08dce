//! Issue 16 items 1 and 2: the vectorized `stats` kernel against a plain
//! per-element reference loop (bit for bit), and the bulk path of the
//! portable element view (`Elements::copy_to_slice`, `to_vec`) against the
//! element-by-element path, for every element type, both byte orders,
//! misaligned starts and partial tails; plus both against NumPy.

mod common;
mod support;

use std::borrow::Cow;
use std::fmt::Debug;

use bytemuck::{Pod, Zeroable};
use half::f16;
use npymap::convert::stats::{Extreme, Stats, stats};
use npymap::{Dtype, Element, ErrorKind, Header, NpyView, Record};
use num_complex::Complex;
use support::Aligned;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------- stats

/// A random float bit pattern of `size` bytes, biased to the awkward
/// values: NaNs (several payloads and signs), infinities, both zeros,
/// subnormals, ties and ordinary numbers.
fn float_bits(rng: &mut Rng, size: usize) -> u64 {
    let (exp_bits, man_bits) = match size {
        2 => (5, 10),
        4 => (8, 23),
        _ => (11, 52),
    };
    let sign = 1u64 << (exp_bits + man_bits);
    let exp_all = ((1u64 << exp_bits) - 1) << man_bits;
    let man = rng.next() & ((1u64 << man_bits) - 1);
    let s = if rng.below(2) == 0 { 0 } else { sign };
    match rng.below(12) {
        0 => s | exp_all | man.max(1),              // NaN
        1 => s | exp_all,                           // +-inf
        2 | 3 => s,                                 // +-0.0
        4 => s | man,                               // subnormal
        5 => s | (1u64 << man_bits) | (man & 0xff), // a few repeated values
        _ => {
            let e = 1 + rng.below((1u64 << exp_bits) - 2);
            s | (e << man_bits) | man
        }
    }
}

/// A random integer of `size` bytes, biased to the extremes.
fn int_bits(rng: &mut Rng, size: usize) -> u64 {
    let mask = if size == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    };
    match rng.below(6) {
        0 => mask,              // all ones: -1 or the unsigned max
        1 => mask >> 1,         // signed max
        2 => (mask >> 1) + 1,   // signed min
        3 => rng.below(4),      // small
        _ => rng.next() & mask, // anything
    }
}

/// `count` elements of `descr` in random bytes, in the file's byte order.
fn payload(rng: &mut Rng, descr: &str, count: usize) -> Vec<u8> {
    let size: usize = descr[2..].parse().unwrap();
    let kind = &descr[1..2];
    let big = descr.starts_with('>');
    let mut out = Vec::with_capacity(count * size);
    for _ in 0..count {
        let v = match kind {
            "f" => float_bits(rng, size),
            "b" => rng.below(2),
            _ => int_bits(rng, size),
        };
        let le = v.to_le_bytes();
        let bytes = &le[..size];
        if big {
            out.extend(bytes.iter().rev());
        } else {
            out.extend_from_slice(bytes);
        }
    }
    out
}

/// One element decoded the obvious way.
fn value(descr: &str, b: &[u8]) -> Num {
    let size = b.len();
    let mut w = [0u8; 8];
    w[..size].copy_from_slice(b);
    if descr.starts_with('>') {
        w[..size].reverse();
    }
    let bits = u64::from_le_bytes(w);
    let shift = 64 - 8 * size as u32;
    match &descr[1..2] {
        "f" => Num::F(match size {
            2 => f16::from_bits(bits as u16).to_f64(),
            4 => f64::from(f32::from_bits(bits as u32)),
            _ => f64::from_bits(bits),
        }),
        "i" => Num::I((((bits << shift) as i64) >> shift) as i128),
        _ => Num::I(bits as i128),
    }
}

enum Num {
    F(f64),
    I(i128),
}

/// The definition of the result (cli.md §9), one element at a time: floats
/// in 16 lanes (element `i` of the whole blocks in lane `i % 16`, the
/// rest in lane 0), strict compare-and-select extremes, NaN skipped and
/// counted, lanes folded with `f64::min` / `f64::max` / a sum; integers
/// exact.
fn reference(descr: &str, bytes: &[u8]) -> Stats {
    let size: usize = descr[2..].parse().unwrap();
    let n = bytes.len() / size;
    let whole = n / 16 * 16;
    let (mut min, mut max, mut sum) = ([f64::INFINITY; 16], [f64::NEG_INFINITY; 16], [0.0; 16]);
    let mut nan = 0u64;
    let (mut imin, mut imax, mut isum) = (None::<i128>, None::<i128>, 0i128);
    for (i, b) in bytes.chunks_exact(size).enumerate() {
        let lane = if i < whole { i % 16 } else { 0 };
        match value(descr, b) {
            Num::F(x) => {
                nan += u64::from(x.is_nan());
                if x < min[lane] {
                    min[lane] = x;
                }
                if x > max[lane] {
                    max[lane] = x;
                }
                if !x.is_nan() {
                    sum[lane] += x;
                }
            }
            Num::I(v) => {
                imin = Some(imin.map_or(v, |m| m.min(v)));
                imax = Some(imax.map_or(v, |m| m.max(v)));
                isum += v;
            }
        }
    }
    if descr.contains('f') {
        let valid = n as u64 - nan;
        let some = valid > 0;
        let fold = |l: &[f64; 16], f: fn(f64, f64) -> f64, init| l.iter().copied().fold(init, f);
        Stats {
            count: n as u64,
            min: some.then(|| Extreme::Float(fold(&min, f64::min, f64::INFINITY))),
            max: some.then(|| Extreme::Float(fold(&max, f64::max, f64::NEG_INFINITY))),
            mean: some.then(|| sum.iter().sum::<f64>() / valid as f64),
            nan_count: nan,
        }
    } else {
        Stats {
            count: n as u64,
            min: imin.map(Extreme::Int),
            max: imax.map(Extreme::Int),
            mean: (n > 0).then(|| isum as f64 / n as f64),
            nan_count: 0,
        }
    }
}

/// Bit-exact form of a result (so `-0.0` differs from `0.0`, NaN equals NaN).
fn exact(s: &Stats) -> String {
    let e = |x: &Option<Extreme>| match x {
        Some(Extreme::Float(f)) => format!("f{:#x}", f.to_bits()),
        Some(Extreme::Int(i)) => format!("i{i}"),
        None => "none".into(),
    };
    let mean = s.mean.map(|m| format!("{:#x}", m.to_bits()));
    format!(
        "count {} min {} max {} mean {mean:?} nan {}",
        s.count,
        e(&s.min),
        e(&s.max),
        s.nan_count
    )
}

const STATS_DESCRS: [&str; 21] = [
    "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2",
    "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8",
];

/// Runs `stats` on `bytes` placed at every misalignment 0..8 and checks
/// the result and the released ranges.
fn check_stats(descr: &str, bytes: &[u8], ctx: &str) {
    let want = exact(&reference(descr, bytes));
    let dtype = Dtype::from_descr(descr).unwrap();
    for shift in [0, 1, 3] {
        let buf = Aligned::new(bytes, shift);
        let mut released = Vec::new();
        let got = stats(&dtype, buf.bytes(), &mut |r| released.push(r)).unwrap();
        assert_eq!(exact(&got), want, "{descr} {ctx} shift {shift}");
        let mut at = 0;
        for r in released {
            assert_eq!(r.start, at, "{descr} {ctx}: released ranges in order");
            at = r.end;
        }
        assert_eq!(at, bytes.len(), "{descr} {ctx}: everything released");
    }
}

#[test]
fn stats_kernel_equals_the_reference_loop_bit_for_bit() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Short lengths around the lane count, and runs across the kernel's
    // 2048-element blocks with partial tails.
    let mut lengths: Vec<usize> = (0..=49).collect();
    lengths.extend([255, 2047, 2048, 2049, 4096 + 17, 6000]);
    for descr in STATS_DESCRS {
        for &n in &lengths {
            for round in 0..if n < 50 { 3 } else { 1 } {
                let bytes = payload(&mut rng, descr, n);
                check_stats(descr, &bytes, &format!("n {n} round {round}"));
            }
        }
    }
}

/// Zeros of both signs spread over the lanes: which one the kernel reports
/// as min and max must not change (the first seen in a lane wins, lanes
/// fold in order).
#[test]
fn stats_keeps_which_zero_wins() {
    let mut rng = Rng(7);
    for descr in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"] {
        let size: usize = descr[2..].parse().unwrap();
        let sign = 1u64 << (8 * size - 1);
        for n in [16, 17, 40, 2048 + 5, 5000] {
            for _ in 0..8 {
                let mut bytes = Vec::new();
                for _ in 0..n {
                    let v = if rng.below(2) == 0 { 0 } else { sign };
                    let le = v.to_le_bytes();
                    if descr.starts_with('>') {
                        bytes.extend(le[..size].iter().rev());
                    } else {
                        bytes.extend_from_slice(&le[..size]);
                    }
                }
                check_stats(descr, &bytes, &format!("zeros n {n}"));
            }
        }
    }
}

/// NaN-free blocks take the fast path, blocks with NaN or a NaN sum
/// (inf - inf) the exact one: both in one payload, over several steps of
/// the streaming scan (8 MiB), one NaN per step, so step edges and the
/// slow path meet.
#[test]
fn stats_over_several_steps_with_sparse_nans_and_infinities() {
    let n = (8 << 20) / 8 * 2 + 37; // a bit over two 8 MiB steps of f8
    for descr in ["<f8", ">f8", "<f4"] {
        let size: usize = descr[2..].parse().unwrap();
        let mut vals: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f64 - 500.25)
            .collect();
        vals[3] = f64::NAN;
        vals[(8 << 20) / size + 11] = f64::NAN;
        vals[n - 2] = f64::NAN;
        vals[100] = f64::INFINITY;
        vals[116] = f64::NEG_INFINITY; // same lane: that lane's sum is NaN from here on
        let mut bytes = Vec::new();
        for v in &vals {
            match descr {
                "<f8" => bytes.extend(v.to_le_bytes()),
                ">f8" => bytes.extend(v.to_be_bytes()),
                _ => bytes.extend((*v as f32).to_le_bytes()),
            }
        }
        let got = stats(&Dtype::from_descr(descr).unwrap(), &bytes, &mut |_| {}).unwrap();
        assert_eq!(exact(&got), exact(&reference(descr, &bytes)), "{descr}");
        assert_eq!(got.nan_count, 3);
        assert_eq!(got.min, Some(Extreme::Float(f64::NEG_INFINITY)));
        assert!(got.mean.unwrap().is_nan());
    }
}

/// NumPy's own numbers for every stats dtype, both byte orders.
#[test]
fn stats_kernel_matches_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import json, sys, numpy as np
rng = np.random.default_rng(16)
d = sys.argv[1]
out = {}
for descr in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "|b1", "|i1", "|u1", "<i2", ">u2",
              "<i4", ">i4", "<u4", "<i8", ">i8", ">u8", "<u8"]:
    n = 5003
    dt = np.dtype(descr)
    if dt.kind == 'f':
        a = (rng.standard_normal(n) * 1000).astype(dt)
        a[::97] = np.nan
    elif dt.kind == 'b':
        a = rng.integers(0, 2, n).astype(dt)
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, n, endpoint=True, dtype=dt.newbyteorder('='))
        a = a.astype(dt)
    name = descr.replace('<', 'le_').replace('>', 'be_').replace('|', 'na_') + '.npy'
    assert a.dtype.str == np.dtype(descr).str, (a.dtype, descr)
    np.save(d + '/' + name, a)
    v = a[~np.isnan(a)] if dt.kind == 'f' else a.astype(object)
    ex = lambda x: float(x) if dt.kind == 'f' else int(x)
    out[name] = [descr, n, ex(v.min()), ex(v.max()),
                 float(np.sum(v.astype(np.float64))) / len(v) if dt.kind == 'f' else float(int(sum(int(x) for x in v))) / n,
                 int(np.isnan(a).sum()) if dt.kind == 'f' else 0]
print(json.dumps(out))
"#;
    let text = common::cli::python_args(script, dir.path(), &[dir.path()]);
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(expected.len(), 18);
    for (name, want) in expected {
        let bytes = std::fs::read(dir.path().join(&name)).unwrap();
        let view = NpyView::new(&bytes).unwrap();
        let got = stats(view.dtype(), view.payload(), &mut |_| {}).unwrap();
        let descr = want[0].as_str().unwrap();
        assert_eq!(got.count, want[1].as_u64().unwrap(), "{name}");
        assert_eq!(got.nan_count, want[5].as_u64().unwrap(), "{name}");
        assert_eq!(
            exact(&got),
            exact(&reference(descr, view.payload())),
            "{name}"
        );
        let num = |e: Option<Extreme>| match e.unwrap() {
            Extreme::Float(f) => f,
            Extreme::Int(i) => i as f64,
        };
        if descr.contains('f') {
            assert_eq!(num(got.min), want[2].as_f64().unwrap(), "{name} min");
            assert_eq!(num(got.max), want[3].as_f64().unwrap(), "{name} max");
            let mean = got.mean.unwrap();
            let np_mean = want[4].as_f64().unwrap();
            assert!(
                mean == np_mean || (mean - np_mean).abs() <= 1e-9 * np_mean.abs().max(1.0),
                "{name} mean {mean} vs {np_mean}"
            );
        } else {
            let int = |e: Option<Extreme>| match e.unwrap() {
                Extreme::Int(i) => i,
                Extreme::Float(_) => panic!("{name}: float extreme"),
            };
            // JSON integers up to u64::MAX parse exactly through i128.
            let want_int = |v: &serde_json::Value| {
                v.as_i64()
                    .map(i128::from)
                    .or(v.as_u64().map(i128::from))
                    .unwrap()
            };
            assert_eq!(int(got.min), want_int(&want[2]), "{name} min");
            assert_eq!(int(got.max), want_int(&want[3]), "{name} max");
            assert_eq!(got.mean.unwrap(), want[4].as_f64().unwrap(), "{name} mean");
        }
    }
}

// ---------------------------------------------- bulk element view path

#[derive(Clone, Copy, Pod, Zeroable, Debug, PartialEq)]
#[repr(C, packed)]
struct Rec {
    a: u8,
    b: i32,
}

impl Record for Rec {
    fn dtype() -> Option<Dtype> {
        let native = if cfg!(target_endian = "little") {
            "<i4"
        } else {
            ">i4"
        };
        Dtype::structured([
            ("a", Dtype::from_descr("|u1").ok()?),
            ("b", Dtype::from_descr(native).ok()?),
        ])
        .ok()
    }
}

/// A view of `count` elements of `dtype` over `bytes` placed at `shift`.
fn view_of<'a>(buf: &'a Aligned, dtype: &Dtype, count: u64) -> NpyView<'a> {
    let header = Header {
        dtype: dtype.clone(),
        fortran_order: false,
        shape: vec![count],
    };
    NpyView::from_parts(Cow::Owned(header), buf.bytes(), 0).unwrap()
}

/// The bulk path equals the element-by-element path (compared as bytes,
/// so NaN payloads count) for runs at several starts and lengths.
fn check_bulk<T: Element + Debug>(dtype: &Dtype, bytes: &[u8], count: usize) {
    for shift in [0, 1, 2, 5] {
        let buf = Aligned::new(bytes, shift);
        let view = view_of(&buf, dtype, count as u64);
        let el = view.elements::<T>().unwrap();
        let by_get: Vec<T> = (0..count).map(|i| el.get(i).unwrap()).collect();
        let as_bytes = |v: &[T]| bytemuck::cast_slice::<T, u8>(v).to_vec();
        assert_eq!(
            as_bytes(&el.to_vec()),
            as_bytes(&by_get),
            "{dtype} shift {shift}"
        );
        let mut blocks = Vec::new();
        let mut sizes = Vec::new();
        el.for_each_block(|b| {
            sizes.push(b.len());
            blocks.extend_from_slice(b);
        });
        assert_eq!(
            as_bytes(&blocks),
            as_bytes(&by_get),
            "{dtype} shift {shift} blocks"
        );
        let per_block = (8192 / std::mem::size_of::<T>()).max(1);
        if let Some((last, whole)) = sizes.split_last() {
            assert!(whole.iter().all(|&n| n == per_block), "{dtype}: {sizes:?}");
            assert!((1..=per_block).contains(last), "{dtype}: {sizes:?}");
        }
        let starts = [0, 1, 3, count / 2, count.saturating_sub(1), count];
        for start in starts.into_iter().filter(|&s| s <= count) {
            let rest = count - start;
            for len in [0, 1, 7, 16, rest / 2, rest] {
                let len = len.min(rest);
                let mut out = vec![T::zero_for_test(); len];
                el.copy_to_slice(start, &mut out).unwrap();
                assert_eq!(
                    as_bytes(&out),
                    as_bytes(&by_get[start..start + len]),
                    "{dtype} shift {shift} start {start} len {len}"
                );
            }
            // One past the end is refused, and names the first missing index.
            let mut out = vec![T::zero_for_test(); rest + 1];
            let err = el.copy_to_slice(start, &mut out).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::IndexOutOfBounds { index, len }
                    if *index == count as u64 && *len == count as u64),
                "{dtype}: {err}"
            );
        }
    }
}

/// A zero to fill output buffers with, for any element type.
trait ZeroForTest: Sized {
    fn zero_for_test() -> Self;
}

impl<T: Element> ZeroForTest for T {
    fn zero_for_test() -> Self {
        bytemuck::checked::pod_read_unaligned(&vec![0u8; std::mem::size_of::<T>()])
    }
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next() as u8).collect()
}

#[test]
fn bulk_copy_equals_element_path_for_every_type_and_byte_order() {
    let mut rng = Rng(42);
    // 2500 elements: several 8 KiB blocks for every type above 3 bytes,
    // the last one partial.
    let count = 2500;
    macro_rules! both {
        ($t:ty, $code:literal, $size:expr) => {
            for order in ["<", ">"] {
                let dtype = Dtype::from_descr(&format!("{order}{}", $code)).unwrap();
                let bytes = random_bytes(&mut rng, count * $size);
                check_bulk::<$t>(&dtype, &bytes, count);
            }
        };
    }
    both!(i16, "i2", 2);
    both!(u16, "u2", 2);
    both!(i32, "i4", 4);
    both!(u32, "u4", 4);
    both!(i64, "i8", 8);
    both!(u64, "u8", 8);
    both!(f16, "f2", 2);
    both!(f32, "f4", 4);
    both!(f64, "f8", 8);
    both!(Complex<f32>, "c8", 8);
    both!(Complex<f64>, "c16", 16);
    let one = |code: &str| Dtype::from_descr(code).unwrap();
    check_bulk::<i8>(&one("|i1"), &random_bytes(&mut rng, count), count);
    check_bulk::<u8>(&one("|u1"), &random_bytes(&mut rng, count), count);
    let bools: Vec<u8> = (0..count).map(|_| rng.below(2) as u8).collect();
    check_bulk::<bool>(&one("|b1"), &bools, count);
    check_bulk::<[u8; 3]>(&one("|S3"), &random_bytes(&mut rng, 3 * count), count);
    let rec = Rec::dtype().unwrap();
    check_bulk::<Rec>(&rec, &random_bytes(&mut rng, 5 * count), count);
    // Empty views copy nothing and refuse anything.
    check_bulk::<f64>(&one(">f8"), &[], 0);
}

/// A structured field is strided: the bulk API walks it element by element.
#[test]
fn bulk_copy_of_a_strided_field_equals_get() {
    let dtype = Dtype::structured([
        ("a", Dtype::from_descr("|u1").unwrap()),
        ("x", Dtype::from_descr(">i4").unwrap()),
    ])
    .unwrap();
    let mut rng = Rng(3);
    let count = 300;
    let bytes = random_bytes(&mut rng, 5 * count);
    let buf = Aligned::new(&bytes, 1);
    let view = view_of(&buf, &dtype, count as u64);
    let el = view.field("x").unwrap().elements::<i32>().unwrap();
    let want: Vec<i32> = (0..count)
        .map(|i| i32::from_be_bytes(bytes[5 * i + 1..5 * i + 5].try_into().unwrap()))
        .collect();
    assert_eq!(el.to_vec(), want);
    let mut out = vec![0i32; 100];
    el.copy_to_slice(150, &mut out).unwrap();
    assert_eq!(out, want[150..250]);
    let mut blocks = Vec::new();
    el.for_each_block(|b| blocks.extend_from_slice(b));
    assert_eq!(blocks, want);
}

/// NumPy-made big-endian and misaligned data through the bulk API.
#[test]
fn bulk_copy_of_numpy_data_matches_numpy_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import json, sys, numpy as np
d = sys.argv[1]
a = (np.arange(5000, dtype='>f8') * 1.25 - 1000.5)
np.save(d + '/be.npy', a)
b = np.arange(-2500, 2500, dtype='<i2') * 13
np.save(d + '/le.npy', b)
print(json.dumps([a.tolist(), b.tolist()]))
"#;
    let text = common::cli::python_args(script, dir.path(), &[dir.path()]);
    let (fs, is): (Vec<f64>, Vec<i16>) = serde_json::from_str(&text).unwrap();
    for shift in [0, 3] {
        let file = Aligned::new(&std::fs::read(dir.path().join("be.npy")).unwrap(), shift);
        let el = NpyView::new(file.bytes())
            .unwrap()
            .elements::<f64>()
            .unwrap();
        let mut got = vec![0f64; fs.len()];
        for start in (0..fs.len()).step_by(999) {
            let end = (start + 999).min(fs.len());
            el.copy_to_slice(start, &mut got[start..end]).unwrap();
        }
        assert_eq!(got, fs);
        assert_eq!(el.to_vec(), fs);
        let mut blocks = Vec::new();
        el.for_each_block(|b| blocks.extend_from_slice(b));
        assert_eq!(blocks, fs);
        let file = Aligned::new(&std::fs::read(dir.path().join("le.npy")).unwrap(), shift);
        let el = NpyView::new(file.bytes())
            .unwrap()
            .elements::<i16>()
            .unwrap();
        assert_eq!(el.to_vec(), is);
        let mut tail = [0i16; 10];
        el.copy_to_slice(is.len() - 10, &mut tail).unwrap();
        assert_eq!(tail, is[is.len() - 10..]);
    }
}
