//! `convert::value::format_float` against NumPy's own `str` of float16,
//! float32 and float64 scalars (spec/float-text.md), on every float16, on
//! random bit patterns and on the edge cases: subnormals, exact ties at the
//! last digit, powers of ten and of two with their neighbours, and the
//! values on both sides of each width's positional / scientific boundary.
//! NumPy prints every expected string in one `python3` run.

use std::io::Write as _;
use std::process::{Command, Stdio};

use npymap::convert::value::format_float;

/// A deterministic xorshift64* stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn next_up(x: f64) -> f64 {
    if x == 0.0 {
        return f64::from_bits(1);
    }
    f64::from_bits(if x > 0.0 {
        x.to_bits() + 1
    } else {
        x.to_bits() - 1
    })
}

fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

/// `(size, bits)` of every value to check.
fn cases() -> Vec<(usize, u64)> {
    let mut v: Vec<(usize, u64)> = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // float16: all of them.
    v.extend((0..=u16::MAX).map(|b| (2, u64::from(b))));
    // float32 / float64: random bit patterns (every exponent equally often).
    v.extend((0..40_000).map(|_| (4, rng.next() >> 32)));
    v.extend((0..40_000).map(|_| (8, rng.next())));
    // Random significands in a narrow band of exponents (ordinary numbers).
    v.extend((0..10_000).map(|_| {
        let x = f64::from_bits((rng.next() >> 12) | (1023u64 - 30 + rng.next() % 60) << 52);
        (8, x.to_bits())
    }));
    // Exact ties at the last digit: multiples of 1/4 in [2^50, 2^51)
    // (float64) and [2^21, 2^22) (float32) ending in .25 or .75.
    for _ in 0..5_000 {
        let n = (1u64 << 50) + rng.next() % (1 << 50);
        let x = n as f64
            + if rng.next().is_multiple_of(2) {
                0.25
            } else {
                0.75
            };
        v.push((8, x.to_bits()));
        let n = (1u32 << 21) + (rng.next() % (1 << 21)) as u32;
        let x = n as f32
            + if rng.next().is_multiple_of(2) {
                0.25
            } else {
                0.75
            };
        v.push((4, u64::from(x.to_bits())));
    }
    v.push((8, 0x4312_9879_088f_f039));
    // Powers of ten and of two, their neighbours, the range boundaries.
    let mut edges: Vec<f64> = Vec::new();
    for e in -324..=308 {
        let p: f64 = format!("1e{e}").parse().unwrap_or(0.0);
        edges.extend([p, next_up(p), next_down(p), 5.0 * p, 9.999_999 * p]);
    }
    for e in -1074..=1023 {
        let p = 2f64.powi(e);
        edges.extend([p, next_up(p), next_down(p)]);
    }
    for b in [1e-4, 1e3, 1e6, 1e16] {
        let mut x = b;
        for _ in 0..4 {
            x = next_up(x);
        }
        for _ in 0..9 {
            edges.push(x);
            x = next_down(x);
        }
    }
    edges.extend([
        f64::MAX,
        f64::MIN_POSITIVE,
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NAN,
    ]);
    for x in edges {
        for s in [x, -x] {
            v.push((8, s.to_bits()));
            let f = s as f32;
            v.push((4, u64::from(f.to_bits())));
            // float32 neighbours of the rounded value.
            v.push((4, u64::from(f.to_bits().wrapping_add(1))));
            v.push((4, u64::from(f.to_bits().wrapping_sub(1))));
        }
    }
    // float32 subnormals and the smallest normals.
    v.extend((0..2_000u64).map(|b| (4, b)));
    v.extend((0..2_000u64).map(|b| (4, 0x0080_0000 - 1_000 + b)));
    v.extend((0..2_000u64).map(|b| (8, b)));
    v
}

fn value(size: usize, bits: u64) -> f64 {
    match size {
        2 => half::f16::from_bits(bits as u16).to_f64(),
        4 => f64::from(f32::from_bits(bits as u32)),
        _ => f64::from_bits(bits),
    }
}

const SCRIPT: &str = r#"
import sys
import numpy as np
types = {2: (np.float16, np.uint16), 4: (np.float32, np.uint32), 8: (np.float64, np.uint64)}
out = []
for line in sys.stdin:
    size, bits = line.split()
    t, u = types[int(size)]
    out.append(str(np.array([int(bits, 16)], dtype=u).view(t)[0]))
sys.stdout.write("\n".join(out) + "\n")
"#;

fn numpy_strings(cases: &[(usize, u64)]) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with numpy is needed for this test");
    let mut input = String::with_capacity(cases.len() * 20);
    for (size, bits) in cases {
        input.push_str(&format!("{size} {bits:x}\n"));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 ran");
    writer.join().expect("writer").expect("wrote cases");
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn format_float_matches_numpy_str_for_every_width() {
    let cases = cases();
    let want = numpy_strings(&cases);
    assert_eq!(want.len(), cases.len(), "one line per case from NumPy");
    let mut bad = Vec::new();
    for ((size, bits), want) in cases.iter().zip(&want) {
        let got = format_float(value(*size, *bits), *size);
        if &got != want {
            bad.push(format!(
                "size {size} bits {bits:#x}: got {got}, numpy {want}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ, first ones:\n{}",
        bad.len(),
        cases.len(),
        bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    // The set really holds what it is meant to.
    assert!(cases.len() > 200_000);
    assert!(want.iter().any(|w| w == "1308548795726862.2"));
    assert!(want.iter().any(|w| w.ends_with("e-324")));
    assert!(want.iter().any(|w| w == "6.55e+04"));
}
