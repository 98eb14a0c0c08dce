//! The fast path for the header NumPy writes for a simple dtype,
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`, or for a
//! structured dtype of plain named fields, `{'descr': [('a', '<f4'),
//! ('b', '<i8')], ...}`, followed by spaces and a newline.
//!
//! Nearly every file in the wild has exactly this shape, byte for byte, so
//! it is matched directly instead of going through the general literal
//! grammar. The fast path only ever *accepts*: anything that is not
//! NumPy's exact spelling, and anything the checks after parsing would
//! refuse, returns `None` and the general parser decides — so results and
//! errors (kind, message and offset) are the general parser's by
//! construction. A test runs both on every fixture and hostile file.

use super::{Header, MAX_DIMS, payload_len};
use crate::dtype::{Dtype, scalar_from_str};

/// Longest dim accepted here: 18 digits always fits in an `i64` (NumPy's
/// `npy_intp`); longer numbers take the general path and its checks.
const MAX_DIM_DIGITS: usize = 18;

/// Characters of a simple descr (`<f8`, `|S3`, `<M8[ns]`, `|V16`, `|O`):
/// no quote, no backslash and nothing outside ASCII, so the bytes are the
/// string's value in every header encoding.
fn is_descr_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'<' | b'>' | b'|' | b'=' | b'[' | b']')
}

/// Parses `text` if it is NumPy's canonical simple header; `None` otherwise
/// (including every header the general parser would reject).
pub(super) fn parse(text: &[u8]) -> Option<Header> {
    let rest = text.strip_prefix(b"{'descr': ")?;
    let (dtype, rest) = match rest.first()? {
        b'\'' => simple_descr(rest.get(1..)?)?,
        b'[' => fields(rest.get(1..)?)?,
        _ => return None,
    };
    let rest = rest.strip_prefix(b", 'fortran_order': ")?;
    let (fortran_order, rest) = if let Some(r) = rest.strip_prefix(b"False") {
        (false, r)
    } else {
        (true, rest.strip_prefix(b"True")?)
    };
    let rest = rest.strip_prefix(b", 'shape': (")?;
    let (shape, rest) = dims(rest)?;
    let rest = rest.strip_prefix(b"), }")?;
    // No early exit, so the check over the padding vectorizes.
    let padding = rest
        .iter()
        .fold(true, |ok, &b| ok & ((b == b' ') | (b == b'\n')));
    if !padding {
        return None;
    }
    payload_len(&shape, dtype.itemsize()).ok()?;
    Some(Header {
        dtype,
        fortran_order,
        shape,
    })
}

/// `rest` split before the first byte that fails `keep` (`None` if none does).
fn take_while(rest: &str, keep: impl Fn(u8) -> bool) -> Option<(&str, &str)> {
    let len = rest.bytes().position(|b| !keep(b))?;
    rest.split_at_checked(len)
}

/// A simple descr up to its closing quote, and what follows the quote.
fn quoted_descr(rest: &str) -> Option<(&str, &str)> {
    let (descr, rest) = take_while(rest, is_descr_byte)?;
    Some((descr, rest.strip_prefix('\'')?))
}

/// `<f8'` (the opening quote already taken): a simple dtype.
fn simple_descr(rest: &[u8]) -> Option<(Dtype, &[u8])> {
    let len = rest.iter().position(|&b| !is_descr_byte(b))?;
    let (descr, rest) = rest.split_at(len);
    // What the general path's `Dtype::from_lit` does with a string value.
    let scalar = scalar_from_str(std::str::from_utf8(descr).ok()?).ok()?;
    Some((Dtype::Scalar(scalar), rest.strip_prefix(b"'")?))
}

/// Characters of a field name taken here: printable ASCII other than the
/// quote and the backslash, so Python's `repr` of the name is the name in
/// single quotes and the bytes are the value in every header encoding.
fn is_name_byte(b: u8) -> bool {
    (b' '..=b'~').contains(&b) && b != b'\'' && b != b'\\'
}

/// `('a', '<f4'), ('b', '>i8')]` (the opening bracket already taken): the
/// structured descr NumPy writes for plain fields. Titles, subarrays,
/// nested structs, padding entries and odd names go to the general parser.
fn fields(rest: &[u8]) -> Option<(Dtype, &[u8])> {
    // Everything taken here is ASCII: one UTF-8 check of the rest of the
    // header lets names and type strings be cut as `&str` with none each.
    let mut rest = std::str::from_utf8(rest).ok()?;
    // NumPy writes about 16 bytes a field: size the builder from that, so a
    // header of up to ~1000 fields grows nothing while it is parsed. The cap
    // keeps a hostile 16 MiB header from reserving memory it never fills.
    let mut dtype = crate::dtype::PlainStruct::with_capacity((rest.len() / 16).min(1 << 10));
    loop {
        let (name, r) = take_while(rest.strip_prefix("('")?, is_name_byte)?;
        let (descr, r) = quoted_descr(r.strip_prefix("', '")?)?;
        dtype.push(name, descr)?;
        rest = r.strip_prefix(')')?;
        if let Some(r) = rest.strip_prefix(']') {
            rest = r;
            break;
        }
        rest = rest.strip_prefix(", ")?;
    }
    let dtype = dtype.finish();
    Some((dtype, rest.as_bytes()))
}

fn dims(mut rest: &[u8]) -> Option<(Vec<u64>, &[u8])> {
    let mut shape = Vec::new();
    if rest.first() == Some(&b')') {
        return Some((shape, rest));
    }
    loop {
        let digits = rest.iter().position(|b| !b.is_ascii_digit())?;
        // Python 3 refuses leading zeros ("01"); leave oddities to the general path.
        if digits == 0 || digits > MAX_DIM_DIGITS || (digits > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        let (num, r) = rest.split_at(digits);
        let value = num
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
        shape.push(value);
        if shape.len() > MAX_DIMS {
            return None;
        }
        rest = r;
        match rest {
            [b',', b')', ..] if shape.len() == 1 => return Some((shape, rest.get(1..)?)),
            [b')', ..] if shape.len() > 1 => return Some((shape, rest)),
            [b',', b' ', ..] => rest = rest.get(2..)?,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ParseOptions, Version, parse_text};

    /// The header text of a whole `.npy` file, with its version.
    fn text_of(bytes: &[u8]) -> Option<(&[u8], Version)> {
        let (version, len) = super::super::preamble(bytes, &ParseOptions::default()).ok()?;
        let pre = version.preamble_len();
        let text = bytes.get(pre..pre + usize::try_from(len).ok()?)?;
        Some((text, version))
    }

    fn files(dir: &str) -> Vec<std::path::PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "npy"))
            .collect();
        out.sort();
        out
    }

    /// Whatever the fast path accepts, the general parser parses to the
    /// same header; and `Header::parse` (fast path first) gives exactly the
    /// general parser's result, errors included.
    fn agree(name: &str, bytes: &[u8]) -> bool {
        if std::panic::catch_unwind(|| crate::fuzzing::check_fast_path(bytes)).is_err() {
            panic!("{name}: Header::parse differs from the general parser");
        }
        let Some((text, version)) = text_of(bytes) else {
            return false;
        };
        let fast = parse(text);
        if let Some(h) = &fast {
            let general = parse_text(text, version);
            assert_eq!(general.as_ref().ok(), Some(h), "{name}: fast path differs");
        }
        fast.is_some()
    }

    #[test]
    fn fast_path_agrees_with_general_parser_on_fixtures() {
        let npy = files("testdata/npy");
        assert!(npy.len() > 50);
        let fast = npy
            .iter()
            .filter(|p| agree(&p.display().to_string(), &std::fs::read(p).unwrap()))
            .count();
        // Most NumPy-written fixtures are simple dtypes: the fast path must
        // actually take them.
        assert!(
            fast * 2 > npy.len(),
            "fast path took {fast} of {}",
            npy.len()
        );
    }

    #[test]
    fn fast_path_agrees_with_general_parser_on_hostile_files() {
        let hostile = files("testdata/hostile");
        assert!(!hostile.is_empty());
        for p in &hostile {
            agree(&p.display().to_string(), &std::fs::read(p).unwrap());
        }
    }

    /// Plain structured headers built from a pool of names and type
    /// strings, some with repeats, bad types or padding and some past the
    /// builder's first capacity: wherever the fast path takes one, the
    /// general parser gives the same header, and `Header::parse` always
    /// gives the general parser's answer, errors included.
    #[test]
    fn fast_path_agrees_on_generated_structured_headers() {
        let names = [
            "a",
            "b",
            "f0",
            "f1",
            "x y",
            "a_name_longer_than_twenty_two_bytes",
            "",
        ];
        let types = ["<f4", "<f4", ">i8", "|u1", "<M8[ns]", "|S3", "<f9", "|V4"];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            usize::try_from(state >> 33).unwrap() % n
        };
        let (mut taken, mut left) = (0, 0);
        for case in 0..400 {
            let count = match case % 4 {
                0 => 1 + next(8),
                1 => 1 + next(40),
                _ => 1000 + next(1200),
            };
            // Mostly unique names (`f<i>`), with a chance of a pool name.
            let fields: Vec<String> = (0..count)
                .map(|i| {
                    let name = if next(500) == 0 {
                        names[next(names.len())].to_string()
                    } else {
                        format!("f{i}")
                    };
                    let ty = if next(800) == 0 {
                        types[next(types.len())]
                    } else {
                        "<f4"
                    };
                    format!("('{name}', '{ty}')")
                })
                .collect();
            let dict = format!(
                "{{'descr': [{}], 'fortran_order': False, 'shape': ({},), }}",
                fields.join(", "),
                next(5)
            );
            let mut text = dict.into_bytes();
            let total = (10 + text.len() + 1).div_ceil(64) * 64;
            text.resize(total - 10 - 1, b' ');
            text.push(b'\n');
            let mut file = b"\x93NUMPY\x01\x00".to_vec();
            file.extend_from_slice(&u16::try_from(text.len()).unwrap().to_le_bytes());
            file.extend_from_slice(&text);
            if agree(&format!("generated case {case}"), &file) {
                taken += 1;
            } else {
                left += 1;
            }
        }
        // Both outcomes occur, so both sides of the check ran.
        assert!(taken > 100 && left > 20, "taken {taken}, left {left}");
    }

    fn header_text(dict: &str) -> Vec<u8> {
        let mut t = dict.as_bytes().to_vec();
        t.extend_from_slice(b"          \n");
        t
    }

    #[test]
    fn fast_path_takes_numpys_spellings() {
        let cases: [(&str, &[u64], bool); 5] = [
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                &[],
                false,
            ),
            (
                "{'descr': '|b1', 'fortran_order': False, 'shape': (0,), }",
                &[0],
                false,
            ),
            (
                "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }",
                &[2, 3],
                true,
            ),
            (
                "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (5,), }",
                &[5],
                false,
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999999, 1), }",
                &[999_999_999_999_999_999, 1],
                false,
            ),
        ];
        for (dict, shape, fortran) in cases {
            let text = header_text(dict);
            let h = parse(&text).unwrap_or_else(|| panic!("not taken: {dict}"));
            assert_eq!(h.shape, shape, "{dict}");
            assert_eq!(h.fortran_order, fortran, "{dict}");
            assert_eq!(Some(h), parse_text(&text, Version::V1_0).ok(), "{dict}");
        }
    }

    #[test]
    fn fast_path_takes_numpys_plain_structured_spelling() {
        for (dict, names, itemsize) in [
            (
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
                &["a"][..],
                8,
            ),
            (
                "{'descr': [('x y', '>i2'), ('f1', '|b1'), ('t', '<M8[us]'), ('s', '|S5')], \
                 'fortran_order': True, 'shape': (2, 1), }",
                &["x y", "f1", "t", "s"][..],
                16,
            ),
            (
                "{'descr': [('\"q\"', '<c16'), ('~!@#', '<U2')], 'fortran_order': False, 'shape': (), }",
                &["\"q\"", "~!@#"][..],
                24,
            ),
        ] {
            let text = header_text(dict);
            let h = parse(&text).unwrap_or_else(|| panic!("not taken: {dict}"));
            let Dtype::Struct(st) = &h.dtype else {
                panic!("{dict}: not a struct: {:?}", h.dtype);
            };
            let got: Vec<&str> = st.fields().iter().map(|f| f.name()).collect();
            assert_eq!(got, names, "{dict}");
            assert_eq!(h.dtype.itemsize(), itemsize, "{dict}");
            assert_eq!(Some(h), parse_text(&text, Version::V1_0).ok(), "{dict}");
        }
    }

    #[test]
    fn fast_path_leaves_everything_else_to_the_general_parser() {
        for dict in [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,4), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (03,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1234567890123456789,), }",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
            "{'descr': '<f9', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'shape': (3,), 'fortran_order': False, }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1, }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
            "{'descr': [], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8'),], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8') ], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8'),('b', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('', '|V4'), ('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8'), ('a', '<i4')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8', (2,))], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [(('t', 'a'), '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('s', [('a', '<f8')])], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [(\"it's\", '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a\\n', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('\u{e9}', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f9')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4611686018427387904,), }",
            "{\"descr\": '<f8', 'fortran_order': False, 'shape': (3,), }",
        ] {
            assert_eq!(parse(&header_text(dict)), None, "{dict}");
        }
        // The general parser decides these: an error, a padding entry, a subarray.
        for (dict, ok) in [
            (
                "{'descr': [('a', '<f8'), ('a', '<i4')], 'fortran_order': False, 'shape': (3,), }",
                false,
            ),
            (
                "{'descr': [('', '|V4'), ('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
                true,
            ),
            (
                "{'descr': [('a', '<f8', (2,))], 'fortran_order': False, 'shape': (3,), }",
                true,
            ),
        ] {
            let general = parse_text(&header_text(dict), Version::V1_0);
            assert_eq!(general.is_ok(), ok, "{dict}: {general:?}");
        }
        let mut tab = header_text("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }");
        tab.insert(tab.len() - 2, b'\t');
        assert_eq!(parse(&tab), None);
    }
}
