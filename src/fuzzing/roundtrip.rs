//! The structure-aware `roundtrip` target: a generated dtype (scalars of
//! every kind, structs, nesting, subarrays, titles, padding, odd names),
//! shape, order, version and payload, written and parsed back.
//!
//! The generator writes the descr as Python source with its own quoting
//! and spellings (aliases, `=`/`!`/`|` orders, escapes, list-form fields)
//! and computes, without the library, the layout that text must parse to.
//! So the target checks the parser against an independent writer, then
//! the library's writer against its parser.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Cursor;

use arbitrary::{Arbitrary, Unstructured};

use super::check_writes;
use crate::dtype::Dtype;
use crate::header::{Header, MAGIC, ParseOptions, Version};
use crate::npy;

/// Deepest struct / subarray nesting generated.
const MAX_NESTING: usize = 4;
/// Most entries (fields and padding) in one generated struct.
const MAX_ENTRIES: usize = 6;
/// Largest payload assembled into a file.
const MAX_PAYLOAD: u64 = 1 << 16;

/// Names picked often: quotes, backslashes, controls, latin-1 and wider
/// characters, Python keywords and numbers, header keys, brackets.
const ODD_NAMES: &[&str] = &[
    "",
    " ",
    "'",
    "\"",
    "\\",
    "'\"",
    "a'b",
    "\\x00",
    "\u{7f}",
    "\u{80}",
    "\u{a0}",
    "\u{ad}",
    "é",
    "ÿ",
    "Ā",
    "日本語",
    "\u{2028}",
    "\u{feff}",
    "\u{10ffff}",
    "😀",
    "\n",
    "\t",
    "\r",
    "#",
    "descr",
    "shape",
    "f0",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "{",
    "}",
    "True",
    "None",
    "1",
    "-1",
    "1L",
    "_",
    "x\\",
    "\u{1}",
];

const UNITS: &[(&str, &str)] = &[
    ("Y", "Y"),
    ("M", "M"),
    ("W", "W"),
    ("D", "D"),
    ("h", "h"),
    ("m", "m"),
    ("s", "s"),
    ("ms", "ms"),
    ("us", "us"),
    ("μs", "us"),
    ("ns", "ns"),
    ("ps", "ps"),
    ("fs", "fs"),
    ("as", "as"),
];

/// What a generated descr must parse to, computed without the library.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A simple type: its canonical `dtype.str` and itemsize.
    Scalar {
        /// e.g. `<f8`.
        canonical: String,
        /// Bytes per element.
        itemsize: u64,
        /// Whether it holds Python objects.
        object: bool,
    },
    /// A subarray with a non-empty shape.
    Subarray {
        /// The element type.
        base: Box<Expect>,
        /// The shape.
        shape: Vec<u64>,
    },
    /// A struct (padding entries are not fields).
    Struct {
        /// `(name, title, offset, dtype)`.
        fields: Vec<(String, Option<String>, u64, Expect)>,
        /// Bytes per element.
        itemsize: u64,
    },
}

impl Expect {
    fn itemsize(&self) -> u64 {
        match self {
            Expect::Scalar { itemsize, .. } | Expect::Struct { itemsize, .. } => *itemsize,
            Expect::Subarray { base, shape } => shape.iter().product::<u64>() * base.itemsize(),
        }
    }

    fn has_object(&self) -> bool {
        match self {
            Expect::Scalar { object, .. } => *object,
            Expect::Subarray { base, .. } => base.has_object(),
            Expect::Struct { fields, .. } => fields.iter().any(|f| f.3.has_object()),
        }
    }

    /// Whether NumPy's descr reader drops an entry of this type named ''.
    fn is_void(&self) -> bool {
        match self {
            Expect::Scalar { canonical, .. } => canonical.starts_with("|V"),
            Expect::Subarray { .. } => true,
            Expect::Struct { .. } => false,
        }
    }

    fn check(&self, d: &Dtype, path: &str) {
        match (self, d) {
            (Expect::Scalar { canonical, .. }, Dtype::Scalar(s)) => {
                assert_eq!(&s.descr(), canonical, "{path}");
            }
            (Expect::Subarray { base, shape }, Dtype::Subarray { base: b, shape: s }) => {
                assert_eq!(shape, s, "{path}");
                base.check(b, &format!("{path}/base"));
            }
            (Expect::Struct { fields, itemsize }, Dtype::Struct(st)) => {
                assert_eq!(st.fields().len(), fields.len(), "{path}: field count");
                assert_eq!(st.itemsize() as u64, *itemsize, "{path}: itemsize");
                for ((name, title, offset, e), f) in fields.iter().zip(st.fields()) {
                    assert_eq!(f.name(), name, "{path}");
                    assert_eq!(f.title(), title.as_deref(), "{path}/{name}");
                    assert_eq!(f.offset() as u64, *offset, "{path}/{name}");
                    e.check(f.dtype(), &format!("{path}/{name}"));
                }
            }
            _ => panic!("{path}: expected {self:?}, parsed {d:?}"),
        }
        assert_eq!(d.itemsize() as u64, self.itemsize(), "{path}: itemsize");
    }
}

/// One generated array.
#[derive(Debug)]
pub struct ArrayCase {
    /// The descr as Python source, as a header would hold it.
    pub descr_text: String,
    /// What `descr_text` must parse to.
    pub expect: Expect,
    /// The shape.
    pub shape: Vec<u64>,
    /// Fortran order.
    pub fortran_order: bool,
    /// The version to write, or the oldest that holds the header.
    pub version: Option<Version>,
    /// Bytes the payload is made of (cycled to the payload's length).
    pub payload_seed: Vec<u8>,
}

impl<'a> Arbitrary<'a> for ArrayCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut descr_text = String::new();
        let expect = match u.int_in_range(0..=3)? {
            0 => gen_struct(u, &mut descr_text, 0)?,
            1 => gen_subarray(u, &mut descr_text, 0)?,
            _ => gen_dtype(u, &mut descr_text, 0)?,
        };
        let mut shape = Vec::new();
        for _ in 0..u.int_in_range(0..=4)? {
            shape.push(u64::from(u.int_in_range(0..=6u8)?));
        }
        if u.ratio(1, 16)? {
            // A huge axis beside an empty one: no payload, but the size
            // rule (nonzero dims times itemsize fit in i64) must hold.
            let others: u64 = shape.iter().filter(|&&d| d > 0).product();
            let max = i64::MAX as u64 / others / expect.itemsize().max(1);
            let huge = u.int_in_range(1..=max)?;
            let at = u.int_in_range(0..=shape.len())?;
            shape.insert(at, huge);
            shape.push(0);
        }
        let version = match u.int_in_range(0..=3)? {
            0 => Some(Version::V1_0),
            1 => Some(Version::V2_0),
            2 => Some(Version::V3_0),
            _ => None,
        };
        Ok(ArrayCase {
            descr_text,
            expect,
            shape,
            fortran_order: u.arbitrary()?,
            version,
            payload_seed: u.arbitrary()?,
        })
    }
}

/// `roundtrip`: generates an [`ArrayCase`] from the bytes and checks it.
///
/// Properties: the generated descr parses to the expected layout; the
/// header writes (in the requested version unless it cannot hold it) and
/// re-parses equal, 64-byte aligned and ending in `\n`; the same dict
/// written by hand parses equal; with the payload appended the file's
/// payload length checks out, one byte short does not, and the streaming
/// reader stops at the payload.
pub fn check_roundtrip(data: &[u8]) {
    let u = Unstructured::new(data);
    if let Ok(case) = ArrayCase::arbitrary_take_rest(u) {
        case.check();
    }
}

/// `convert`: generates an [`ArrayCase`], builds its payload and checks
/// that byte-order and memory-order conversions there and back give the
/// same bytes and compare equal at every stage.
pub fn check_convert(data: &[u8]) {
    let u = Unstructured::new(data);
    let Ok(case) = ArrayCase::arbitrary_take_rest(u) else {
        return;
    };
    // The roundtrip target checks that generated descrs parse.
    let Ok(dtype) = Dtype::from_descr_literal(&case.descr_text) else {
        return;
    };
    if dtype.has_object() {
        return;
    }
    // Files hold a top-level subarray folded into the shape (the parser
    // folds it, or refuses a Fortran-ordered one NumPy has no layout for),
    // so conversions only ever see folded headers.
    let Ok(header) = (Header {
        dtype,
        fortran_order: case.fortran_order,
        shape: case.shape.clone(),
    })
    .fold_subarray() else {
        return;
    };
    let Ok(nbytes) = header.payload_len() else {
        return;
    };
    if nbytes > MAX_PAYLOAD {
        return;
    }
    let bytes = case
        .payload_seed
        .iter()
        .chain(&[0x5a])
        .cycle()
        .take(nbytes as usize)
        .copied()
        .collect();
    super::payload::check_conversions(&crate::convert::InMemory {
        header,
        bytes,
        version: None,
    });
}

impl ArrayCase {
    /// Runs the properties of [`check_roundtrip`].
    pub fn check(&self) {
        let dtype = Dtype::from_descr_literal(&self.descr_text)
            .unwrap_or_else(|e| panic!("generated descr {:?}: {e}", self.descr_text));
        self.expect.check(&dtype, "descr");
        let unfolded = Header {
            dtype,
            fortran_order: self.fortran_order,
            shape: self.shape.clone(),
        };
        // A top-level subarray is read and written folded into the shape;
        // one NumPy has no layout for (Fortran order over two or more
        // outer axes) is refused by the writer (checked here) and the parser.
        let Ok(header) = unfolded.clone().fold_subarray() else {
            assert!(check_writes(&unfolded, self.version).is_none());
            return;
        };
        self.check_hand_written(&header);
        let Some(bytes) = check_writes(&header, self.version) else {
            return;
        };
        let count: u64 = if self.shape.contains(&0) {
            0
        } else {
            self.shape.iter().product()
        };
        let nbytes = count * self.expect.itemsize();
        assert_eq!(header.payload_len().ok(), Some(nbytes));
        if nbytes > MAX_PAYLOAD {
            return;
        }
        let mut file = bytes.clone();
        file.extend(
            self.payload_seed
                .iter()
                .chain(&[0x5a])
                .cycle()
                .take(nbytes as usize),
        );
        let parsed = Header::parse(&file).expect("header with payload");
        assert_eq!(parsed.header, header);
        assert_eq!(parsed.data_offset, bytes.len() as u64);
        let mut cursor = Cursor::new(&file);
        let streamed = Header::read_from(&mut cursor, &ParseOptions::default()).expect("read_from");
        assert_eq!(streamed, parsed);
        assert_eq!(cursor.position(), parsed.data_offset);
        if !self.expect.has_object() {
            assert_eq!(npy::check_payload(&parsed, nbytes).ok(), Some(nbytes));
            for wrong in [nbytes + 1, nbytes.wrapping_sub(1)] {
                let e = npy::check_payload(&parsed, wrong).expect_err("wrong payload length");
                assert_eq!(e.kind().code(), "payload_size");
            }
        }
    }

    /// The header dict written by hand around the generated descr text, as
    /// a version 3.0 file, parses to `header`.
    fn check_hand_written(&self, header: &Header) {
        let mut text = format!(
            "{{'shape': ({}), 'fortran_order': {}, \"descr\":{}}}",
            self.shape
                .iter()
                .map(|d| format!("{d},"))
                .collect::<String>(),
            if self.fortran_order { "True" } else { "False" },
            self.descr_text,
        );
        text.push('\n');
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&[3, 0]);
        file.extend_from_slice(&(text.len() as u32).to_le_bytes());
        file.extend_from_slice(text.as_bytes());
        let parsed = Header::parse(&file)
            .unwrap_or_else(|e| panic!("hand-written header {text:?} does not parse: {e}"));
        assert_eq!(&parsed.header, header, "hand-written {text:?}");
    }
}

/// A dtype of any form, at nesting `depth`.
fn gen_dtype(
    u: &mut Unstructured<'_>,
    out: &mut String,
    depth: usize,
) -> arbitrary::Result<Expect> {
    if depth < MAX_NESTING {
        match u.int_in_range(0..=7)? {
            0 => return gen_struct(u, out, depth + 1),
            1 => return gen_subarray(u, out, depth + 1),
            _ => {}
        }
    }
    gen_scalar(u, out)
}

/// A simple type string, quoted, in one of the spellings NumPy reads.
fn gen_scalar(u: &mut Unstructured<'_>, out: &mut String) -> arbitrary::Result<Expect> {
    // No "!": NumPy refuses it, and so does the parser.
    let order = *u.choose(&["<", ">", "=", "|", ""])?;
    let pick = |u: &mut Unstructured<'_>, sizes: &[u64]| u.choose(sizes).copied();
    // (text after the order char, canonical code, itemsize, byte order applies)
    let (code, canonical, itemsize, ordered) = match u.int_in_range(0..=11)? {
        0 => ("b1".to_string(), "b1".to_string(), 1, false),
        1 | 2 => {
            let n = pick(u, &[1, 2, 4, 8])?;
            let k = if u.arbitrary()? { 'i' } else { 'u' };
            (format!("{k}{n}"), format!("{k}{n}"), n, n > 1)
        }
        3 => {
            let n = pick(u, &[2, 4, 8, 16])?;
            (format!("f{n}"), format!("f{n}"), n, true)
        }
        4 => {
            let n = pick(u, &[8, 16, 32])?;
            (format!("c{n}"), format!("c{n}"), n, true)
        }
        5 => {
            let n = u.int_in_range(1..=12u64)?;
            let k = if u.ratio(1, 4)? { 'a' } else { 'S' };
            (format!("{k}{n}"), format!("S{n}"), n, false)
        }
        6 => {
            let n = u.int_in_range(1..=5u64)?;
            (format!("U{n}"), format!("U{n}"), 4 * n, true)
        }
        7 => {
            let n = u.int_in_range(1..=9u64)?;
            (format!("V{n}"), format!("V{n}"), n, false)
        }
        8 | 9 => {
            let k = if u.arbitrary()? { 'M' } else { 'm' };
            let (code, canonical) = if u.ratio(1, 6)? {
                let written = *u.choose(&["8", "8[generic]"])?;
                (format!("{k}{written}"), format!("{k}8"))
            } else {
                let (unit, canon_unit) = *u.choose(UNITS)?;
                let mult = if u.arbitrary()? {
                    u.int_in_range(1..=1000u32)?
                } else {
                    1
                };
                let written = if mult == 1 && u.arbitrary()? {
                    String::new()
                } else {
                    mult.to_string()
                };
                let canon_mult = if mult == 1 {
                    String::new()
                } else {
                    mult.to_string()
                };
                (
                    format!("{k}8[{written}{unit}]"),
                    format!("{k}8[{canon_mult}{canon_unit}]"),
                )
            };
            (code, canonical, 8, true)
        }
        10 => ("O".to_string(), "O".to_string(), 8, false),
        _ => {
            let (name, canonical, n) = *u.choose(&[
                ("float64", "f8", 8u64),
                ("float32", "f4", 4),
                ("int16", "i2", 2),
                ("uint64", "u8", 8),
                ("complex64", "c8", 8),
                ("d", "f8", 8),
                ("h", "i2", 2),
                ("?", "b1", 1),
                ("B", "u1", 1),
            ])?;
            (name.to_string(), canonical.to_string(), n, n > 1)
        }
    };
    let native = if cfg!(target_endian = "big") {
        '>'
    } else {
        '<'
    };
    let canon_order = match (ordered, order) {
        (false, _) => '|',
        (true, "<") => '<',
        (true, ">") => '>',
        (true, _) => native,
    };
    let text = format!("{order}{code}");
    write_str(u, &text, out)?;
    Ok(Expect::Scalar {
        canonical: format!("{canon_order}{canonical}"),
        itemsize,
        object: canonical == "O",
    })
}

/// A subarray dims literal: an int or a tuple of up to three small dims.
fn gen_dims(u: &mut Unstructured<'_>, out: &mut String) -> arbitrary::Result<Vec<u64>> {
    let n = u.int_in_range(0..=3)?;
    let dims: Vec<u64> = (0..n)
        .map(|_| u.int_in_range(0..=3u64))
        .collect::<arbitrary::Result<_>>()?;
    if let [d] = dims.as_slice()
        && u.arbitrary()?
    {
        let _ = write!(out, "{d}");
        return Ok(dims);
    }
    out.push('(');
    for d in &dims {
        let _ = write!(out, "{d},");
    }
    out.push(')');
    Ok(dims)
}

fn subarray_expect(base: Expect, dims: Vec<u64>) -> Expect {
    if dims.is_empty() {
        base
    } else {
        Expect::Subarray {
            base: Box::new(base),
            shape: dims,
        }
    }
}

/// `(descr, shape)`.
fn gen_subarray(
    u: &mut Unstructured<'_>,
    out: &mut String,
    depth: usize,
) -> arbitrary::Result<Expect> {
    out.push('(');
    let base = gen_dtype(u, out, depth)?;
    out.push_str(", ");
    let dims = gen_dims(u, out)?;
    out.push(')');
    Ok(subarray_expect(base, dims))
}

/// `[(name, descr[, shape]), ...]` with padding entries, titles and odd names.
fn gen_struct(
    u: &mut Unstructured<'_>,
    out: &mut String,
    depth: usize,
) -> arbitrary::Result<Expect> {
    let mut used: HashSet<String> = HashSet::new();
    let mut fields = Vec::new();
    let mut offset = 0u64;
    out.push('[');
    let entries = u.int_in_range(0..=MAX_ENTRIES)?;
    for n in 0..entries {
        if n > 0 {
            out.push_str(u.choose(&[", ", ",", " ,\n "])?);
        }
        if u.ratio(1, 6)? {
            let pad = u.int_in_range(1..=8u64)?;
            out.push_str("('', ");
            write_str(u, &format!("|V{pad}"), out)?;
            out.push(')');
            offset += pad;
            continue;
        }
        let list = u.ratio(1, 8)?;
        out.push(if list { '[' } else { '(' });
        let mut name = gen_name(u)?;
        let title = if u.ratio(1, 5)? {
            Some(unique(gen_name(u)?, &mut used))
        } else {
            None
        };
        let mut entry = String::new();
        let e = gen_dtype(u, &mut entry, depth)?;
        let (e, shape_text) = if u.ratio(1, 4)? {
            let mut s = String::new();
            let dims = gen_dims(u, &mut s)?;
            (subarray_expect(e, dims), Some(s))
        } else {
            (e, None)
        };
        // NumPy drops void entries named '' as padding; keep those as
        // padding, and give every other field a name of its own.
        let pad = name.is_empty() && title.is_none() && e.is_void();
        if !pad {
            name = unique(name, &mut used);
        }
        match &title {
            Some(t) => {
                out.push('(');
                write_str(u, t, out)?;
                out.push_str(", ");
                write_str(u, &name, out)?;
                out.push(')');
            }
            None => write_str(u, &name, out)?,
        }
        out.push_str(", ");
        out.push_str(&entry);
        if let Some(s) = shape_text {
            out.push_str(", ");
            out.push_str(&s);
        }
        out.push(if list { ']' } else { ')' });
        let size = e.itemsize();
        if !pad {
            fields.push((name, title, offset, e));
        }
        offset += size;
    }
    if entries > 0 && u.ratio(1, 4)? {
        out.push(',');
    }
    out.push(']');
    Ok(Expect::Struct {
        fields,
        itemsize: offset,
    })
}

/// A field name or title: an odd one from the table or arbitrary text.
fn gen_name(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    if u.arbitrary()? {
        return Ok((*u.choose(ODD_NAMES)?).to_string());
    }
    let s: String = u.arbitrary()?;
    // A NUL never belongs in a header string (see literal.rs).
    Ok(s.chars().filter(|&c| c != '\0').take(12).collect())
}

fn unique(name: String, used: &mut HashSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 0;
    while used.contains(&candidate) {
        n += 1;
        candidate = format!("{name}~{n}");
    }
    used.insert(candidate.clone());
    candidate
}

/// Writes `s` as a Python string literal, with quotes and escapes chosen
/// from the input (independently of the library's `repr`).
fn write_str(u: &mut Unstructured<'_>, s: &str, out: &mut String) -> arbitrary::Result<()> {
    let quote = if u.arbitrary()? { '\'' } else { '"' };
    if u.ratio(1, 8)? {
        out.push('u');
    }
    out.push(quote);
    for c in s.chars() {
        let code = u32::from(c);
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c.is_ascii_graphic() || c == ' ') && !u.ratio(1, 16)? => out.push(c),
            c if !c.is_ascii() && !c.is_control() && u.arbitrary()? => out.push(c),
            _ => match (code, u.int_in_range(0..=2)?) {
                (0..=0o377, 0) => {
                    let _ = write!(out, "\\{code:o}");
                    // An octal escape takes up to 3 digits: pad so a digit
                    // after it is not read as part of it.
                    let len = out.len();
                    let digits = format!("{code:o}").len();
                    if digits < 3 {
                        out.insert_str(len - digits, &"0".repeat(3 - digits));
                    }
                }
                (0..=0xff, _) => {
                    let _ = write!(out, "\\x{code:02x}");
                }
                (0..=0xffff, 1) => {
                    let _ = write!(out, "\\u{code:04x}");
                }
                _ => {
                    let _ = write!(out, "\\U{code:08x}");
                }
            },
        }
    }
    out.push(quote);
    Ok(())
}
