//! Reading text as `np.loadtxt` does, streaming the values into an `.npy`.
//!
//! Lines end at `\n`, `\r\n` or `\r` (Python's universal newlines, as
//! `np.loadtxt` reads a file by name). Each line is read whole (at most
//! [`MAX_LINE`] bytes), its values are appended to the output's payload,
//! and the header is written last, once the row count is known.

use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::atomic::{Durability, write_atomic_with};
use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind};
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;

/// The longest line accepted, in bytes (np.loadtxt has no limit; this
/// keeps memory bounded).
pub const MAX_LINE: usize = 256 << 20;

/// Bytes of parsed values buffered before they are written.
const VALUE_BUFFER: usize = 1 << 20;

/// The arguments of `np.loadtxt` this reader supports.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadTxtOptions {
    /// `dtype`: bool, an integer, a float up to `f8` or a complex up to
    /// `c16`, in either byte order.
    pub dtype: Dtype,
    /// `delimiter`: `None` splits at runs of whitespace; otherwise one
    /// character.
    pub delimiter: Option<char>,
    /// `comments`: text from this marker to the end of the line is
    /// ignored; `None` for no comments. Default `#`.
    pub comments: Option<String>,
    /// `skiprows`: lines skipped at the start, comments and blank lines
    /// included.
    pub skiprows: u64,
    /// `usecols`: the columns to keep, in order (negative counts from the
    /// end of each row); `None` keeps all.
    pub usecols: Option<Vec<i64>>,
    /// `ndmin`: 0, 1 or 2.
    pub ndmin: u8,
}

impl LoadTxtOptions {
    /// np.loadtxt's defaults with `dtype`.
    pub fn new(dtype: Dtype) -> Self {
        LoadTxtOptions {
            dtype,
            delimiter: None,
            comments: Some("#".into()),
            skiprows: 0,
            usecols: None,
            ndmin: 0,
        }
    }
}

fn text_error(msg: String) -> Error {
    ErrorKind::Text(msg).into()
}

/// Python's `str.isspace`, which np.loadtxt splits and strips with.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// How one value is parsed and stored.
#[derive(Debug, Clone, Copy)]
struct Target {
    scalar: Scalar,
}

impl Target {
    fn new(dtype: &Dtype) -> Result<Target> {
        let scalar = dtype.as_scalar().copied().filter(|s| match s.kind() {
            ScalarKind::Bool | ScalarKind::Int | ScalarKind::UInt => true,
            ScalarKind::Float => s.itemsize() <= 8,
            ScalarKind::Complex => s.itemsize() <= 16,
            _ => false,
        });
        scalar.map(|scalar| Target { scalar }).ok_or_else(|| {
            text_error(format!(
                "from-text reads bool, integer, float (up to float64) and complex \
                 (up to complex128) dtypes, not {}",
                dtype
                    .as_scalar()
                    .map_or_else(|| dtype.descr(), Scalar::descr)
            ))
        })
    }

    /// NumPy's name of the type, as np.loadtxt's messages spell it.
    fn name(&self) -> String {
        let s = &self.scalar;
        match s.kind() {
            ScalarKind::Bool => "bool".into(),
            ScalarKind::Int => format!("int{}", s.itemsize() * 8),
            ScalarKind::UInt => format!("uint{}", s.itemsize() * 8),
            ScalarKind::Complex => format!("complex{}", s.itemsize() * 8),
            _ => format!("float{}", s.itemsize() * 8),
        }
    }

    /// Parses `field` and appends its bytes to `out`; `None` when it does
    /// not parse as np.loadtxt would parse it.
    fn push(&self, field: &str, out: &mut Vec<u8>) -> Option<()> {
        let t = field.trim_matches(is_space);
        let s = &self.scalar;
        let big = s.byte_order() == ByteOrder::Big;
        let mut put = |le: &[u8]| {
            if big {
                out.extend(le.iter().rev());
            } else {
                out.extend_from_slice(le);
            }
        };
        match (s.kind(), s.itemsize()) {
            (ScalarKind::Bool, _) => put(&[u8::from(parse_int(t)? != 0)]),
            (ScalarKind::Int, n) => {
                let v = parse_int(t)?;
                let bits = u32::try_from(n * 8).ok()?;
                if bits < 64 {
                    let lim = 1i64 << (bits - 1);
                    if v < -lim || v >= lim {
                        return None;
                    }
                }
                put(v.to_le_bytes().get(..n)?);
            }
            (ScalarKind::UInt, n) => {
                let v = parse_uint(t)?;
                let bits = u32::try_from(n * 8).ok()?;
                if bits < 64 && v >> bits != 0 {
                    return None;
                }
                put(v.to_le_bytes().get(..n)?);
            }
            (ScalarKind::Complex, n) => {
                let (re, im) = parse_complex(t)?;
                for x in [re, im] {
                    if n == 8 {
                        put(&(x as f32).to_le_bytes());
                    } else {
                        put(&x.to_le_bytes());
                    }
                }
            }
            (_, n) => {
                let x = parse_float(t)?;
                match n {
                    2 => put(&half::f16::from_f64(x).to_le_bytes()),
                    4 => put(&(x as f32).to_le_bytes()),
                    _ => put(&x.to_le_bytes()),
                }
            }
        }
        Some(())
    }
}

/// Digits with an optional sign, as NumPy's integer parser takes them.
fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, t.get(1..)?),
        b'+' => (false, t.get(1..)?),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mag: u64 = digits.parse().ok()?;
    if neg {
        0i64.checked_sub_unsigned(mag)
    } else {
        i64::try_from(mag).ok()
    }
}

fn parse_uint(t: &str) -> Option<u64> {
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A float as CPython's `float()` parses it without underscores: decimal
/// notation, `inf`, `infinity`, `nan` in any case, with a sign.
fn parse_float(t: &str) -> Option<f64> {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let ok = !body.is_empty()
        && (body
            .bytes()
            .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
            || ["inf", "infinity", "nan"]
                .iter()
                .any(|w| body.eq_ignore_ascii_case(w)));
    if !ok {
        return None;
    }
    let x: f64 = t.parse().ok()?;
    // Rust keeps the sign of "-nan" as CPython does; be explicit.
    Some(if x.is_nan() && t.starts_with('-') {
        -f64::NAN
    } else if x.is_nan() {
        f64::NAN
    } else {
        x
    })
}

/// The length of the longest prefix of `t` that is a float as `strtod`
/// reads it (sign; digits with an optional point; an exponent only when it
/// has digits; or `inf`, `infinity`, `nan`), 0 if none.
fn float_prefix(t: &str) -> usize {
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let rest = t.get(i..).unwrap_or("");
    for word in ["infinity", "inf", "nan"] {
        if rest
            .get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
        {
            return i + word.len();
        }
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return 0;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    i
}

/// A complex number as np.loadtxt reads it: `R`, `Ij`, `R+Ij` or `R-Ij`,
/// optionally inside one pair of parentheses, with no inner spaces.
fn parse_complex(t: &str) -> Option<(f64, f64)> {
    let t = match (t.strip_prefix('('), t.strip_suffix(')')) {
        (Some(inner), Some(_)) => inner.strip_suffix(')')?,
        (None, None) => t,
        _ => return None,
    };
    let n = float_prefix(t);
    let first = parse_float(t.get(..n)?)?;
    match t.get(n..)? {
        "" => Some((first, 0.0)),
        "j" => Some((0.0, first)),
        rest if rest.starts_with(['+', '-']) => {
            let m = float_prefix(rest);
            if rest.get(m..)? != "j" {
                return None;
            }
            Some((first, parse_float(rest.get(..m)?)?))
        }
        _ => None,
    }
}

/// Python's `repr` of a string, for messages.
fn quoted(s: &str) -> String {
    let mut out = String::new();
    crate::dtype::py_repr_str(s, &mut out);
    out
}

/// The lines of a universal-newline stream, one at a time.
struct Lines<R> {
    r: R,
    /// The bytes up to and including the last `\n` read.
    chunk: Vec<u8>,
    /// Where the lines still to return start and end in `chunk` (split
    /// at lone `\r`), in reverse order.
    pending: Vec<(usize, usize)>,
    /// 1-based number of the last line returned.
    number: u64,
}

impl<R: BufRead> Lines<R> {
    /// Puts the next line (ending removed) into `buf`; `false` at the end
    /// of input.
    fn next(&mut self, buf: &mut String) -> Result<bool> {
        if self.pending.is_empty() {
            self.chunk.clear();
            let limit = (MAX_LINE as u64).saturating_add(2);
            let n = (&mut self.r)
                .take(limit)
                .read_until(b'\n', &mut self.chunk)?;
            if n == 0 {
                return Ok(false);
            }
            if self.chunk.len() as u64 >= limit {
                return Err(text_error(format!(
                    "line {} is longer than {MAX_LINE} bytes",
                    self.number + 1
                )));
            }
            let mut end = self.chunk.len();
            if self.chunk.last() == Some(&b'\n') {
                end -= 1;
            }
            if end > 0 && self.chunk.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            let mut start = 0;
            let line = self.chunk.get(..end).unwrap_or_default();
            for (i, &b) in line.iter().enumerate() {
                if b == b'\r' {
                    self.pending.push((start, i));
                    start = i + 1;
                }
            }
            self.pending.push((start, end));
            self.pending.reverse();
        }
        let Some((start, end)) = self.pending.pop() else {
            return Ok(false);
        };
        self.number += 1;
        let bytes = self.chunk.get(start..end).unwrap_or_default();
        let text = std::str::from_utf8(bytes)
            .map_err(|e| text_error(format!("line {} is not UTF-8 text: {e}", self.number)))?;
        buf.clear();
        buf.push_str(text);
        Ok(true)
    }
}

/// The shape np.loadtxt returns for `rows` x `cols` values.
fn final_shape(rows: u64, cols: u64, ndmin: u8) -> Vec<u64> {
    if ndmin >= 2 {
        return vec![rows, cols];
    }
    let mut shape: Vec<u64> = [rows, cols].into_iter().filter(|&d| d != 1).collect();
    if shape.is_empty() && ndmin == 1 {
        shape.push(1);
    }
    shape
}

/// Moves `len` bytes at `from` to `to` inside `file` (either direction).
fn move_bytes(file: &mut File, from: u64, to: u64, len: u64) -> Result<()> {
    let mut buf = crate::convert::buffer(1 << 20, "moving the payload")?;
    let step = buf.len() as u64;
    let mut done = 0u64;
    while done < len {
        let n = step.min(len - done);
        // Forward moves copy from the front, backward moves from the back,
        // so no byte is overwritten before it is read.
        let at = if to < from { done } else { len - done - n };
        let piece = buf
            .get_mut(..usize::try_from(n).unwrap_or(0))
            .ok_or(ErrorKind::Overflow { what: "piece" })?;
        file.seek(SeekFrom::Start(from + at))?;
        file.read_exact(piece)?;
        file.seek(SeekFrom::Start(to + at))?;
        file.write_all(piece)?;
        done += n;
    }
    file.set_len(to + len)?;
    Ok(())
}

/// Reads text from `r` as `np.loadtxt` would and writes the `.npy` that
/// `np.save` writes for the result into `file` (from its start).
fn read_into(r: impl BufRead, file: &mut File, opts: &LoadTxtOptions) -> Result<Header> {
    let target = Target::new(&opts.dtype)?;
    check_options(opts)?;
    let mut lines = Lines {
        r,
        chunk: Vec::new(),
        pending: Vec::new(),
        number: 0,
    };
    let mut line = String::new();
    for _ in 0..opts.skiprows {
        if !lines.next(&mut line)? {
            break;
        }
    }
    let mut payload: Vec<u8> = Vec::with_capacity(VALUE_BUFFER + 16);
    let mut rows: u64 = 0;
    let mut cols: Option<usize> = None;
    let mut provisional: Option<u64> = None;
    let mut written: u64 = 0;
    while lines.next(&mut line)? {
        let mut body = line.as_str();
        if let Some(c) = opts.comments.as_deref().filter(|c| !c.is_empty())
            && let Some(at) = body.find(c)
        {
            body = body.get(..at).unwrap_or("");
        }
        // The values are walked, never collected: a row of millions of
        // values costs no more memory than its line.
        let delimiter = opts.delimiter;
        let fields = || -> Box<dyn Iterator<Item = &str> + '_> {
            match delimiter {
                None => Box::new(body.split(is_space).filter(|f| !f.is_empty())),
                Some(_) if body.is_empty() => Box::new(std::iter::empty()),
                Some(d) => Box::new(body.split(d)),
            }
        };
        let count = fields().count();
        if count == 0 {
            continue;
        }
        let n = match &opts.usecols {
            Some(u) => u.len(),
            None => count,
        };
        let expected = *cols.get_or_insert(n);
        if opts.usecols.is_none() && n != expected {
            return Err(text_error(format!(
                "the number of columns changed from {expected} to {n} at row {} (line {}); \
                 use `usecols` to select a subset and avoid this error",
                rows + 1,
                lines.number
            )));
        }
        if provisional.is_none() {
            // A header for the likely final shape; fixed up at the end.
            let guess = final_shape(2, expected as u64, opts.ndmin);
            let h = Header {
                dtype: opts.dtype.clone(),
                fortran_order: false,
                shape: guess,
            };
            let len = h.to_bytes(None)?.len() as u64;
            file.seek(SeekFrom::Start(len))?;
            provisional = Some(len);
        }
        let push = |col: usize, field: &str, payload: &mut Vec<u8>| {
            target.push(field, payload).ok_or_else(|| {
                text_error(format!(
                    "could not convert string {} to {} at row {rows}, column {} (line {})",
                    quoted(field),
                    target.name(),
                    col + 1,
                    lines.number
                ))
            })
        };
        match &opts.usecols {
            None => {
                for (col, f) in fields().enumerate() {
                    push(col, f, &mut payload)?;
                    flush_full(file, &mut payload, &mut written)?;
                }
            }
            Some(u) => {
                for &c in u {
                    let len = count as i64;
                    let idx = if c < 0 { c + len } else { c };
                    let f = usize::try_from(idx)
                        .ok()
                        .and_then(|i| fields().nth(i).map(|f| (i, f)));
                    let Some((i, f)) = f else {
                        return Err(text_error(format!(
                            "invalid column index {c} at row {} with {len} columns (line {})",
                            rows + 1,
                            lines.number
                        )));
                    };
                    push(i, f, &mut payload)?;
                    flush_full(file, &mut payload, &mut written)?;
                }
            }
        }
        rows += 1;
    }
    file.write_all(&payload)?;
    written += payload.len() as u64;
    let cols = cols.unwrap_or_else(|| opts.usecols.as_ref().map_or(1, |u| u.len().max(1)));
    let header = Header {
        dtype: opts.dtype.clone(),
        fortran_order: false,
        shape: final_shape(rows, cols as u64, opts.ndmin),
    };
    debug_assert_eq!(Some(written), header.payload_len().ok());
    let bytes = header.to_bytes(None)?;
    let len = bytes.len() as u64;
    if let Some(p) = provisional
        && p != len
    {
        move_bytes(file, p, len, written)?;
    }
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&bytes)?;
    file.seek(SeekFrom::Start(len + written))?;
    Ok(header)
}

/// Writes the buffered values once they fill [`VALUE_BUFFER`] bytes, so a
/// very long row never holds more than that in memory besides its line.
fn flush_full(file: &mut File, payload: &mut Vec<u8>, written: &mut u64) -> Result<()> {
    if payload.len() >= VALUE_BUFFER {
        file.write_all(payload)?;
        *written += payload.len() as u64;
        payload.clear();
    }
    Ok(())
}

fn check_options(opts: &LoadTxtOptions) -> Result<()> {
    if opts.ndmin > 2 {
        return Err(text_error(format!(
            "Illegal value of ndmin keyword: {}",
            opts.ndmin
        )));
    }
    if let (Some(d), Some(c)) = (opts.delimiter, opts.comments.as_deref())
        && c.starts_with(d)
    {
        return Err(text_error(format!(
            "the comment marker {} and the delimiter {} are incompatible",
            quoted(c),
            quoted(&d.to_string())
        )));
    }
    if opts.delimiter.is_some_and(|d| d == '\n' || d == '\r') {
        return Err(text_error("the delimiter cannot be a newline".into()));
    }
    Ok(())
}

/// Reads text from `r` as `np.loadtxt(r, dtype=..., ...)` and writes
/// `out` as `np.save` writes the result, atomically. Memory stays bounded
/// by the longest line plus 1 MiB of values.
///
/// # Errors
/// `Text` for a value that does not parse (`could not convert string 'x'
/// to float64 at row 6, column 2 (line 7)`, np.loadtxt's wording plus the
/// 1-based line), a row with a different number of columns, a `usecols`
/// index outside a row, a line over [`MAX_LINE`] bytes or not UTF-8, and a
/// dtype other than bool, integer, float or complex; `Io`. On error `out` is left as
/// it was.
///
/// # Examples
/// ```
/// use npymap::atomic::Durability;
/// use npymap::text::{LoadTxtOptions, from_text};
/// use npymap::Dtype;
/// let dir = std::env::temp_dir().join(format!("npymap-from-text-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let out = dir.join("t.npy");
/// // NumPy: np.save(out, np.loadtxt(f, dtype='<i4', delimiter=',', skiprows=1))
/// let opts = LoadTxtOptions {
///     delimiter: Some(','),
///     skiprows: 1,
///     ..LoadTxtOptions::new(Dtype::from_descr("<i4")?)
/// };
/// let header = from_text("a,b\n1, 2\n3,4 # note\n".as_bytes(), &out, &opts, Durability::Atomic)?;
/// assert_eq!(header.shape, [2, 2]);
/// let a = npymap::read::<i32>(&out)?;
/// assert_eq!(a.as_slice(), [1, 2, 3, 4]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_text(
    r: impl BufRead,
    out: &Path,
    opts: &LoadTxtOptions,
    durability: Durability,
) -> Result<Header> {
    from_text_at(r, None, out, opts, durability)
}

/// As [`from_text`]; errors about the text name `input` when given.
fn from_text_at(
    r: impl BufRead,
    input: Option<&Path>,
    out: &Path,
    opts: &LoadTxtOptions,
    durability: Durability,
) -> Result<Header> {
    Target::new(&opts.dtype)?;
    check_options(opts)?;
    let mut header = None;
    write_atomic_with(out, durability, |file| {
        let h = read_into(r, file, opts).map_err(|e| match (input, e.kind()) {
            (Some(p), ErrorKind::Text(_) | ErrorKind::Io(_)) if e.path().is_none() => e.in_path(p),
            _ => e,
        })?;
        header = Some(h);
        Ok(())
    })?;
    header.ok_or_else(|| text_error("no header was written".into()))
}

/// As [`from_text`], reading the text file at `input`.
///
/// # Errors
/// As [`from_text`]; errors about the text name `input`.
pub fn from_text_file(
    input: &Path,
    out: &Path,
    opts: &LoadTxtOptions,
    durability: Durability,
) -> Result<Header> {
    let f = File::open(input).map_err(|e| Error::from(e).in_path(input))?;
    let r = std::io::BufReader::with_capacity(1 << 16, f);
    from_text_at(r, Some(input), out, opts, durability)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_loadtxt() {
        assert_eq!(final_shape(1, 1, 0), Vec::<u64>::new());
        assert_eq!(final_shape(1, 3, 0), vec![3]);
        assert_eq!(final_shape(3, 1, 0), vec![3]);
        assert_eq!(final_shape(0, 1, 0), vec![0]);
        assert_eq!(final_shape(1, 1, 1), vec![1]);
        assert_eq!(final_shape(3, 1, 2), vec![3, 1]);
    }

    #[test]
    fn numbers_parse_like_numpy() {
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_uint("-0"), None);
        assert_eq!(parse_float("1_000"), None);
        assert_eq!(parse_float("0x10"), None);
        assert_eq!(parse_float("1e"), None);
        assert_eq!(parse_float(".5"), Some(0.5));
        assert!(parse_float("-nan").is_some_and(|x| x.is_nan() && x.is_sign_negative()));
        assert_eq!(parse_float("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_complex("(1+2j)"), Some((1.0, 2.0)));
        assert_eq!(parse_complex("1e3+1e-3j"), Some((1000.0, 0.001)));
        assert_eq!(parse_complex("infj"), Some((0.0, f64::INFINITY)));
        assert_eq!(parse_complex("1+j"), None);
        assert_eq!(parse_complex("1+2"), None);
        assert_eq!(parse_complex("(1+2j"), None);
    }

    #[test]
    fn payload_moves_both_ways() {
        let dir = std::env::temp_dir().join(format!("npymap-text-move-{}", std::process::id()));
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dir)
            .unwrap();
        f.write_all(b"....abcdef").unwrap();
        move_bytes(&mut f, 4, 2, 6).unwrap();
        assert_eq!(std::fs::read(&dir).unwrap(), b"..abcdef");
        move_bytes(&mut f, 2, 5, 6).unwrap();
        assert_eq!(std::fs::read(&dir).unwrap().get(5..), Some(&b"abcdef"[..]));
        std::fs::remove_file(&dir).unwrap();
    }
}
