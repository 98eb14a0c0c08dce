//! The `.npy` preamble and header: parse from bytes, write NumPy's bytes.
//!
//! A file starts with the magic `\x93NUMPY`, two version bytes, a
//! little-endian header length (u16 for 1.0, u32 for 2.0 / 3.0), and the
//! header: a Python dict literal with the keys `descr`, `fortran_order` and
//! `shape`, padded with spaces and a newline so the payload starts at a
//! multiple of 64 bytes. `spec/npy-format.md` describes the format and the
//! choices made here; everything is pure over bytes or a `Read`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Read;

use byteorder::{ByteOrder as _, LittleEndian};

use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result, byte_snippet};
use crate::literal::{self, Grammar, Lit, Val};

mod simple;

/// The magic bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// NumPy's payload alignment: the header is padded so the payload starts at
/// a multiple of this many bytes.
pub const ARRAY_ALIGN: usize = 64;

/// Spaces of room NumPy leaves after the dict for the growth axis to reach
/// 21 digits, so a header can be rewritten in place as the array grows.
pub const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Most dimensions an array may have (NumPy's `NPY_MAXDIMS`).
pub const MAX_DIMS: usize = 64;

/// Default limit on the header length: far above NumPy's 10,000-character
/// default, so large structured dtypes open, but bounded.
pub const DEFAULT_MAX_HEADER_LEN: u64 = 16 << 20;

/// Largest payload an array may declare (NumPy's `NPY_MAX_INTP`).
pub const MAX_PAYLOAD_LEN: u64 = i64::MAX as u64;

/// A format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 1.0: u16 header length, latin-1 header.
    V1_0,
    /// 2.0: u32 header length, latin-1 header.
    V2_0,
    /// 3.0: u32 header length, UTF-8 header.
    V3_0,
}

impl Version {
    /// `"1.0"`, `"2.0"` or `"3.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V2_0 => "2.0",
            Version::V3_0 => "3.0",
        }
    }

    /// The version named by `"1.0"`, `"2.0"`, `"3.0"` (or `"1"`, `"2"`, `"3"`).
    pub fn from_name(s: &str) -> Option<Version> {
        match s {
            "1.0" | "1" => Some(Version::V1_0),
            "2.0" | "2" => Some(Version::V2_0),
            "3.0" | "3" => Some(Version::V3_0),
            _ => None,
        }
    }

    /// The two version bytes after the magic.
    pub fn bytes(self) -> [u8; 2] {
        match self {
            Version::V1_0 => [1, 0],
            Version::V2_0 => [2, 0],
            Version::V3_0 => [3, 0],
        }
    }

    /// Bytes before the header text: magic, version and the length field.
    pub fn preamble_len(self) -> usize {
        match self {
            Version::V1_0 => 10,
            _ => 12,
        }
    }

    fn from_bytes(major: u8, minor: u8) -> Result<Version> {
        match (major, minor) {
            (1, 0) => Ok(Version::V1_0),
            (2, 0) => Ok(Version::V2_0),
            (3, 0) => Ok(Version::V3_0),
            _ => Err(ErrorKind::UnsupportedVersion { major, minor }.into()),
        }
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a header says about the array: dtype, memory order and shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Header {
    /// The element type.
    #[serde(rename = "descr")]
    pub dtype: Dtype,
    /// Whether the payload is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The shape; empty for a 0-d array.
    pub shape: Vec<u64>,
}

/// A parsed header plus where it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParsedHeader {
    /// The format version of the file.
    pub version: Version,
    /// The header's content.
    #[serde(flatten)]
    pub header: Header,
    /// Byte offset of the payload (preamble plus header length).
    pub data_offset: u64,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Longest header accepted, in bytes (default [`DEFAULT_MAX_HEADER_LEN`]).
    pub max_header_len: u64,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_header_len: DEFAULT_MAX_HEADER_LEN,
        }
    }
}

/// Reads the preamble: version, header length and the preamble's length.
fn preamble(bytes: &[u8], opts: &ParseOptions) -> Result<(Version, u64)> {
    let head = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if !MAGIC.starts_with(head) {
        return Err(ErrorKind::NotNpy {
            found: format!("\"{}\"", byte_snippet(head)),
        }
        .into());
    }
    let truncated = |needed: usize| {
        Error::new(ErrorKind::Truncated {
            what: "preamble",
            needed: needed as u64,
            available: bytes.len() as u64,
        })
    };
    let (Some(&major), Some(&minor)) = (bytes.get(6), bytes.get(7)) else {
        return Err(truncated(8));
    };
    let version = Version::from_bytes(major, minor).map_err(|e| e.at(6))?;
    let pre = version.preamble_len();
    let field = bytes.get(8..pre).ok_or_else(|| truncated(pre))?;
    let header_len = match version {
        Version::V1_0 => u64::from(LittleEndian::read_u16(field)),
        _ => u64::from(LittleEndian::read_u32(field)),
    };
    if header_len > opts.max_header_len {
        return Err(Error::new(ErrorKind::HeaderTooLong {
            len: header_len,
            max: opts.max_header_len,
        })
        .at(8));
    }
    Ok((version, header_len))
}

impl Header {
    /// A C-order header for `dtype` and `shape`.
    #[must_use]
    pub fn new(dtype: Dtype, shape: &[usize]) -> Header {
        Header {
            dtype,
            fortran_order: false,
            shape: shape.iter().map(|&d| d as u64).collect(),
        }
    }

    /// A C-order header for elements of type `T` (its
    /// [`Element::native_dtype`](crate::Element::native_dtype)) and `shape`.
    ///
    /// # Errors
    /// `Unsupported` when `T` does not name a dtype on its own (`[u8; N]`,
    /// a [`Record`](crate::Record) without a description): build the header
    /// with [`Header::new`] and the dtype instead.
    ///
    /// # Examples
    /// ```
    /// let h = npymap::Header::for_type::<f64>(&[2, 3])?;
    /// assert_eq!(h.dtype.descr(), "'<f8'");
    /// assert_eq!(h.shape, [2, 3]);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn for_type<T: crate::Element>(shape: &[usize]) -> Result<Header> {
        let dtype = T::native_dtype().ok_or_else(|| {
            Error::new(ErrorKind::Unsupported(format!(
                "{} does not name a dtype on its own; give the dtype (Header::new)",
                std::any::type_name::<T>()
            )))
        })?;
        Ok(Header::new(dtype, shape))
    }

    /// The same header in Fortran (column-major) order.
    #[must_use]
    pub fn fortran(mut self) -> Header {
        self.fortran_order = true;
        self
    }

    /// Parses the preamble and header at the start of `bytes` (the rest of
    /// the file may follow; it is not read).
    ///
    /// # Errors
    /// `NotNpy`, `UnsupportedVersion`, `Truncated`, `HeaderTooLong`,
    /// `HeaderEncoding`, `HeaderSyntax`, `HeaderKey`, `HeaderValue`,
    /// `IntegerTooLarge`, `NegativeDim`, `TooManyDims`, `TooDeep`,
    /// `Overflow` or `Dtype`, each with the byte offset of the problem.
    ///
    /// # Examples
    /// ```
    /// let bytes = std::fs::read("testdata/npy/c_2x3.npy")?;
    /// let parsed = npymap::Header::parse(&bytes)?;
    /// assert_eq!(parsed.header.shape, [2, 3]);
    /// assert_eq!(parsed.header.dtype.descr(), "'<f8'");
    /// assert_eq!(parsed.data_offset, 128);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<ParsedHeader> {
        Header::parse_with(bytes, &ParseOptions::default())
    }

    /// [`Header::parse`] with explicit limits.
    ///
    /// # Errors
    /// As [`Header::parse`].
    pub fn parse_with(bytes: &[u8], opts: &ParseOptions) -> Result<ParsedHeader> {
        Header::parse_impl(bytes, opts, true)
    }

    /// [`Header::parse_with`] without the fast path, for the tests and the
    /// fuzz target that compare the two.
    pub(crate) fn parse_general(bytes: &[u8], opts: &ParseOptions) -> Result<ParsedHeader> {
        Header::parse_impl(bytes, opts, false)
    }

    fn parse_impl(bytes: &[u8], opts: &ParseOptions, fast: bool) -> Result<ParsedHeader> {
        let (version, header_len) = preamble(bytes, opts)?;
        let pre = version.preamble_len();
        // header_len <= max_header_len, which fits in usize on 64-bit targets.
        let end = usize::try_from(header_len)
            .ok()
            .and_then(|l| l.checked_add(pre))
            .ok_or(ErrorKind::Overflow {
                what: "header length",
            })?;
        let text = bytes.get(pre..end).ok_or_else(|| {
            Error::new(ErrorKind::Truncated {
                what: "header",
                needed: end as u64,
                available: bytes.len() as u64,
            })
        })?;
        // NumPy's own spelling of a simple header skips the general grammar;
        // anything else, and every error, comes from the general parser.
        let header = match fast.then(|| simple::parse(text)).flatten() {
            Some(header) => header,
            None => parse_text(text, version).map_err(|e| e.shift(pre as u64))?,
        };
        Ok(ParsedHeader {
            version,
            header,
            data_offset: end as u64,
        })
    }

    /// Reads the preamble and header from a stream, leaving it positioned at
    /// the first payload byte. Never allocates more than the bytes actually
    /// read (a lying length field cannot force a large buffer).
    ///
    /// # Errors
    /// As [`Header::parse`], plus `Io`.
    pub fn read_from(mut reader: impl Read, opts: &ParseOptions) -> Result<ParsedHeader> {
        let mut buf = Vec::with_capacity(256);
        (&mut reader).take(8).read_to_end(&mut buf)?;
        let pre = match (buf.get(..6), buf.get(6..8)) {
            (Some(m), Some(&[major, minor])) if m == MAGIC => Version::from_bytes(major, minor)
                .map_err(|e| e.at(6))?
                .preamble_len(),
            // Bad magic or too short: let `preamble` give the error.
            _ => 8,
        };
        (&mut reader).take(pre as u64 - 8).read_to_end(&mut buf)?;
        let (_, header_len) = preamble(&buf, opts)?;
        // The length was checked against the limit; read only what arrives.
        reader.take(header_len).read_to_end(&mut buf)?;
        Header::parse_with(&buf, opts)
    }

    /// Number of elements: the product of the shape (1 for 0-d).
    ///
    /// # Errors
    /// `Overflow` when the product does not fit in a `u64`.
    pub fn element_count(&self) -> Result<u64> {
        element_count(&self.shape)
    }

    /// Payload size in bytes (`itemsize * element_count`), checked.
    ///
    /// # Errors
    /// `Overflow` when it exceeds [`MAX_PAYLOAD_LEN`].
    pub fn payload_len(&self) -> Result<u64> {
        payload_len(&self.shape, self.dtype.itemsize())
    }

    /// Folds a top-level subarray dtype into the shape, as NumPy does: no
    /// NumPy array has one (`np.zeros(3, ('<i4', (2,)))` has shape `(3, 2)`
    /// and dtype `<i4`), so this is the header `np.save` writes for the
    /// same bytes. Nested subarrays fold outermost first. Any other dtype
    /// is returned unchanged.
    ///
    /// # Errors
    /// `TooManyDims` when the folded shape has more than [`MAX_DIMS`] axes;
    /// `Overflow` when the folded shape's size check fails (see
    /// [`Header::payload_len`]);
    /// `Unsupported` for Fortran order over two or more axes longer than 1
    /// with a subarray of more than one element: each element's subarray
    /// is in C order inside a Fortran-ordered outer array, a layout that is
    /// neither C nor Fortran order of the folded shape.
    pub fn fold_subarray(self) -> Result<Header> {
        if !matches!(self.dtype, Dtype::Subarray { .. }) {
            return Ok(self);
        }
        let outer_both = self.is_both_orders();
        let Header {
            mut dtype,
            fortran_order,
            mut shape,
        } = self;
        let mut sub_count: u64 = 1;
        while let Dtype::Subarray { base, shape: sub } = dtype {
            for &d in &sub {
                sub_count = sub_count.saturating_mul(d);
            }
            shape.extend(sub);
            dtype = *base;
        }
        if shape.len() > MAX_DIMS {
            return Err(ErrorKind::TooManyDims {
                ndim: shape.len(),
                max: MAX_DIMS,
            }
            .into());
        }
        if fortran_order && !outer_both && sub_count > 1 {
            return Err(ErrorKind::Unsupported(
                "a top-level subarray dtype with fortran_order True over two or more axes \
                 has no NumPy layout (each subarray is C-ordered inside a Fortran-ordered \
                 array); give the base dtype and the full shape"
                    .into(),
            )
            .into());
        }
        let mut folded = Header {
            dtype,
            // Outer axes at most one long: the bytes are the C order of the
            // folded shape; a one-element subarray keeps Fortran order.
            fortran_order: fortran_order && sub_count <= 1,
            shape,
        };
        if folded.is_both_orders() {
            folded.fortran_order = false;
        }
        // Folding can make a zero-itemsize dtype (a subarray with a 0 in its
        // shape) non-zero and so bring the size check of the folded shape
        // into play: `('S9', (2, 0))` over `(2**62,)` is `S9` over
        // `(2**62, 2, 0)`, which NumPy refuses as too big. Reader and writer
        // both go through here, so both refuse it.
        folded.payload_len()?;
        Ok(folded)
    }

    /// Whether the array is contiguous in both C and Fortran order (at most
    /// one dimension above 1, or no elements), in which case NumPy writes
    /// `fortran_order: False`.
    pub fn is_both_orders(&self) -> bool {
        self.shape.contains(&0) || self.shape.iter().filter(|&&d| d > 1).count() <= 1
    }

    /// The dict text NumPy writes, with the growth-axis room but without the
    /// alignment padding: `{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }`.
    pub fn dict_text(&self) -> String {
        let descr = self.dtype.descr();
        let mut s = String::with_capacity(descr.len() + 80);
        s.push_str("{'descr': ");
        s.push_str(&descr);
        s.push_str(", 'fortran_order': ");
        s.push_str(if self.fortran_order { "True" } else { "False" });
        s.push_str(", 'shape': (");
        for (n, d) in self.shape.iter().enumerate() {
            if n > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{d}");
        }
        if self.shape.len() == 1 {
            s.push(',');
        }
        s.push_str("), }");
        let axis = if self.fortran_order {
            self.shape.last()
        } else {
            self.shape.first()
        };
        if let Some(d) = axis {
            let digits = d.checked_ilog10().map_or(1, |l| l as usize + 1);
            s.extend(std::iter::repeat_n(
                ' ',
                GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
            ));
        }
        s
    }

    /// The preamble and header NumPy 2.x writes for this array, in the given
    /// version or, with `None`, the oldest version that holds it (NumPy's rule).
    ///
    /// # Errors
    /// `VersionTooSmall` when a forced version cannot hold the header.
    ///
    /// # Examples
    /// ```
    /// use npymap::{Dtype, Header};
    /// let h = Header { dtype: Dtype::from_descr("<f8")?, fortran_order: false, shape: vec![3] };
    /// let bytes = h.to_bytes(None)?;
    /// assert_eq!(bytes.len(), 128);
    /// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"));
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn to_bytes(&self, version: Option<Version>) -> Result<Vec<u8>> {
        if matches!(self.dtype, Dtype::Subarray { .. }) {
            // NumPy cannot load a top-level subarray header: write the
            // folded header `np.save` writes for the same bytes.
            return self.clone().fold_subarray()?.to_bytes(version);
        }
        let text = self.dict_text();
        match version {
            Some(v) => wrap(&text, v),
            None => wrap(&text, Version::V1_0)
                .or_else(|_| wrap(&text, Version::V2_0))
                .or_else(|_| wrap(&text, Version::V3_0)),
        }
    }
}

/// A shape as NumPy prints the tuple: `()`, `(3,)`, `(2, 3)`.
///
/// The one spelling used by every message and listing that shows a shape
/// (the library's errors and the CLI's `info`, `cmp` and `recover`).
///
/// ```
/// use npymap::header::shape_text;
/// assert_eq!(shape_text(&[] as &[u64]), "()");
/// assert_eq!(shape_text(&[3u64]), "(3,)");
/// assert_eq!(shape_text(&[2usize, 3]), "(2, 3)");
/// assert_eq!(shape_text(&["*", "4"]), "(*, 4)");
/// ```
pub fn shape_text<D: std::fmt::Display>(dims: &[D]) -> String {
    let mut out = String::from("(");
    for (n, d) in dims.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{d}");
    }
    if dims.len() == 1 {
        out.push(',');
    }
    out.push(')');
    out
}

/// Product of `shape`, checked; 0 for any shape holding a 0 (whatever the
/// other dims are, so the result does not depend on the order of the dims).
pub(crate) fn element_count(shape: &[u64]) -> Result<u64> {
    if shape.contains(&0) {
        return Ok(0);
    }
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            ErrorKind::Overflow {
                what: "element count",
            }
            .into()
        })
}

/// `itemsize * product(shape)`, checked against [`MAX_PAYLOAD_LEN`].
///
/// As NumPy's array constructor (`PyArray_NewFromDescr_int`) does, the
/// check multiplies the itemsize by every non-zero dim, so an empty array
/// such as `(0, 2**40, 2**40)` of `<f8` is still too big
/// (`spec/safety.md`). With itemsize 0 NumPy checks nothing; we still
/// require the element count to fit in a `u64`.
pub(crate) fn payload_len(shape: &[u64], itemsize: usize) -> Result<u64> {
    let overflow = || {
        Error::from(ErrorKind::Overflow {
            what: "payload size",
        })
    };
    // Every dim is an npy_intp in NumPy, whatever the itemsize; a writer
    // (`append` of zero-itemsize rows) must not step past it.
    if let Some((axis, &d)) = shape
        .iter()
        .enumerate()
        .find(|&(_, &d)| d > MAX_PAYLOAD_LEN)
    {
        return Err(ErrorKind::DimTooLarge {
            axis,
            value: u128::from(d),
        }
        .into());
    }
    if itemsize == 0 {
        element_count(shape)?;
        return Ok(0);
    }
    let nbytes = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(itemsize as u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_PAYLOAD_LEN)
        .ok_or_else(overflow)?;
    Ok(if shape.contains(&0) { 0 } else { nbytes })
}

/// Adds the preamble, the alignment padding and the newline.
fn wrap(text: &str, version: Version) -> Result<Vec<u8>> {
    let pre = version.preamble_len();
    let too_small = |reason| {
        Error::from(ErrorKind::VersionTooSmall {
            len: text.len() as u64,
            version: version.as_str(),
            reason,
        })
    };
    let mut out = Vec::with_capacity(text.len() + pre + ARRAY_ALIGN + 1);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.bytes());
    let len_field = out.len();
    out.resize(pre, 0);
    match version {
        Version::V3_0 => out.extend_from_slice(text.as_bytes()),
        _ => {
            for c in text.chars() {
                let b = u8::try_from(u32::from(c))
                    .map_err(|_| too_small("names need characters outside latin-1 (use 3.0)"))?;
                out.push(b);
            }
        }
    }
    // hlen counts the newline; NumPy pads a full ARRAY_ALIGN when already aligned.
    let hlen = out.len() - pre + 1;
    let padlen = ARRAY_ALIGN - (pre + hlen) % ARRAY_ALIGN;
    let total = hlen + padlen;
    match version {
        Version::V1_0 => {
            let n = u16::try_from(total).map_err(|_| too_small("over 65535 bytes (use 2.0)"))?;
            if let Some(field) = out.get_mut(len_field..pre) {
                LittleEndian::write_u16(field, n);
            }
        }
        _ => {
            let n = u32::try_from(total).map_err(|_| too_small("over 4 GiB"))?;
            if let Some(field) = out.get_mut(len_field..pre) {
                LittleEndian::write_u32(field, n);
            }
        }
    }
    out.resize(out.len() + padlen, b' ');
    out.push(b'\n');
    Ok(out)
}

/// Decodes and interprets the header text.
fn parse_text(raw: &[u8], version: Version) -> Result<Header> {
    let text: Cow<'_, str> = match version {
        Version::V3_0 => Cow::Borrowed(std::str::from_utf8(raw).map_err(|e| {
            Error::new(ErrorKind::HeaderEncoding { encoding: "utf-8" }).at(e.valid_up_to() as u64)
        })?),
        _ => match std::str::from_utf8(raw) {
            Ok(s) if s.is_ascii() => Cow::Borrowed(s),
            _ => Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()),
        },
    };
    let latin1 = matches!(text, Cow::Owned(_));
    let grammar = Grammar {
        long_suffix: version != Version::V3_0,
    };
    // Offsets from the parser count bytes of `text`; for decoded latin-1
    // each file byte is one char, so count chars to get the file offset.
    let fix = |e: Error| -> Error {
        match (latin1, e.offset()) {
            (true, Some(o)) => {
                let chars = text
                    .get(..o as usize)
                    .map_or(o, |s| s.chars().count() as u64);
                e.set_offset(chars)
            }
            _ => e,
        }
    };
    let lit = literal::parse(&text, grammar).map_err(&fix)?;
    interpret(&lit).map_err(fix)
}

fn value_err(key: &'static str, expected: &'static str, lit: &Lit<'_>) -> Error {
    Error::new(ErrorKind::HeaderValue {
        key,
        expected,
        found: lit.val.describe(),
    })
    .at(lit.at as u64)
}

/// Checks the dict's keys and values and builds the [`Header`].
fn interpret(lit: &Lit<'_>) -> Result<Header> {
    let Val::Dict(items) = &lit.val else {
        return Err(Error::new(ErrorKind::HeaderSyntax {
            expected: "a dict".to_string(),
            found: lit.val.describe(),
        })
        .at(lit.at as u64));
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (k, v) in items {
        let Val::Str(key) = &k.val else {
            return Err(Error::new(ErrorKind::HeaderKey {
                key: k.val.describe(),
                problem: "not a string",
            })
            .at(k.at as u64));
        };
        let slot = match key.as_ref() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => {
                return Err(Error::new(ErrorKind::HeaderKey {
                    key: key.to_string(),
                    problem: "unknown",
                })
                .at(k.at as u64));
            }
        };
        if slot.replace(v).is_some() {
            return Err(Error::new(ErrorKind::HeaderKey {
                key: key.to_string(),
                problem: "duplicated",
            })
            .at(k.at as u64));
        }
    }
    let missing = |key: &str| {
        Error::new(ErrorKind::HeaderKey {
            key: key.to_string(),
            problem: "missing",
        })
        .at(lit.at as u64)
    };
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape_lit = shape.ok_or_else(|| missing("shape"))?;

    let Val::Bool(fortran_order) = fortran.val else {
        return Err(value_err("fortran_order", "True or False", fortran));
    };
    let Val::Tuple(dims) = &shape_lit.val else {
        return Err(value_err("shape", "a tuple of integers", shape_lit));
    };
    if dims.len() > MAX_DIMS {
        return Err(Error::new(ErrorKind::TooManyDims {
            ndim: dims.len(),
            max: MAX_DIMS,
        })
        .at(shape_lit.at as u64));
    }
    let mut shape = Vec::with_capacity(dims.len());
    for (axis, d) in dims.iter().enumerate() {
        let Val::Int(n) = d.val else {
            return Err(value_err("shape", "a tuple of integers", d));
        };
        if n < 0 {
            return Err(Error::new(ErrorKind::NegativeDim { axis, value: n }).at(d.at as u64));
        }
        // NumPy's dims are signed 64-bit (npy_intp).
        let n = i64::try_from(n).map_err(|_| {
            Error::new(ErrorKind::DimTooLarge {
                axis,
                value: n.unsigned_abs(),
            })
            .at(d.at as u64)
        })?;
        shape.push(n.unsigned_abs());
    }
    if !matches!(descr.val, Val::Str(_) | Val::List(_) | Val::Tuple(_)) {
        return Err(value_err(
            "descr",
            "a type string or a list of fields",
            descr,
        ));
    }
    let dtype = Dtype::from_lit(descr)?;
    payload_len(&shape, dtype.itemsize()).map_err(|e| e.at(shape_lit.at as u64))?;
    Header {
        dtype,
        fortran_order,
        shape,
    }
    .fold_subarray()
    .map_err(|e| e.at(descr.at as u64))
}
