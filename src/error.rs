//! The one error type of the crate.
//!
//! [`Error`] is opaque: callers match on [`Error::kind`], which returns a
//! [`ErrorKind`] carrying the numbers that explain the failure, and may read
//! the context the error was raised in (byte offset, npz member, path).
//! Messages are lowercase, carry those numbers and are pinned by snapshot
//! tests, so their wording is part of the interface.

use std::fmt;
use std::path::{Path, PathBuf};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Each variant carries the data needed to explain it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input does not start with the `\x93NUMPY` magic.
    #[error("not an npy file: expected magic \\x93NUMPY, found {found}")]
    NotNpy {
        /// The first bytes that were found, escaped for display.
        found: String,
    },
    /// The format version is not 1.0, 2.0 or 3.0.
    #[error("unsupported npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The input ended before a part the format requires.
    #[error("truncated {what}: needs {needed} bytes, only {available} available")]
    Truncated {
        /// Which part was cut short.
        what: &'static str,
        /// Bytes the part needs.
        needed: u64,
        /// Bytes that were there.
        available: u64,
    },
    /// The header length exceeds the configured limit.
    #[error("header is {len} bytes, over the limit of {max} bytes")]
    HeaderTooLong {
        /// Declared header length.
        len: u64,
        /// The limit in force.
        max: u64,
    },
    /// The header bytes are not valid in the version's encoding.
    #[error("header is not valid {encoding}")]
    HeaderEncoding {
        /// `"utf-8"` for version 3.0.
        encoding: &'static str,
    },
    /// The header text is not a valid literal of the accepted grammar.
    #[error("header syntax: expected {expected}, found {found}")]
    HeaderSyntax {
        /// What the grammar wanted at that point.
        expected: String,
        /// What was there, quoted and shortened.
        found: String,
    },
    /// A key of the header dict is missing, unknown or repeated.
    #[error("header key {key:?} is {problem}")]
    HeaderKey {
        /// The key.
        key: String,
        /// `"missing"`, `"unknown"` or `"duplicated"`.
        problem: &'static str,
    },
    /// A header value has the wrong type or form.
    #[error("header value for {key:?}: expected {expected}, found {found}")]
    HeaderValue {
        /// The key whose value is wrong.
        key: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// An integer literal has more digits than any valid size could need.
    #[error("integer literal too large: {digits} digits")]
    IntegerTooLarge {
        /// Number of digits seen.
        digits: usize,
    },
    /// A dimension of the shape is negative.
    #[error("shape dimension {axis} is negative: {value}")]
    NegativeDim {
        /// The axis.
        axis: usize,
        /// The value.
        value: i128,
    },
    /// A dimension of the shape exceeds NumPy's `npy_intp` (2**63-1).
    #[error("shape dimension {axis} exceeds 2**63-1: {value}")]
    DimTooLarge {
        /// The axis.
        axis: usize,
        /// The value.
        value: u128,
    },
    /// The shape has more dimensions than NumPy allows.
    #[error("shape has {ndim} dimensions, more than the maximum of {max}")]
    TooManyDims {
        /// Dimensions found.
        ndim: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// Nesting goes deeper than the parser's limit.
    #[error("nesting deeper than the limit of {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A size computation overflows.
    #[error("size overflow: {what}")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// The dtype description is not valid.
    #[error("invalid dtype{}: {reason}", descr.as_ref().map(|d| format!(" \"{d}\"")).unwrap_or_default())]
    Dtype {
        /// The offending descr text (shortened and escaped), when there is one.
        descr: Option<String>,
        /// Why it is invalid.
        reason: String,
    },
    /// The payload has a different length from the one the header implies.
    #[error(
        "payload is {actual} bytes but the header implies {expected}{}",
        if actual > expected {
            "; the bytes past the payload (an interrupted append leaves them) \
             can be dropped with `npymap recover` (`npy::recover`)"
        } else {
            ""
        }
    )]
    PayloadSize {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// Raw data whose length differs from what dtype and shape need.
    #[error("raw data from offset {offset} is {actual} bytes but dtype and shape need {expected}")]
    RawLength {
        /// Bytes dtype × shape need.
        expected: u64,
        /// Bytes present after the offset.
        actual: u64,
        /// The offset reading started at.
        offset: u64,
    },
    /// The array holds Python objects (a pickle), which is never loaded.
    #[error("object dtype: the payload is a Python pickle, which npymap does not load")]
    ObjectDtype,
    /// The requested element type does not match the file's dtype.
    #[error("dtype mismatch: expected {expected}, found {found}")]
    DtypeMismatch {
        /// The dtype the caller asked for.
        expected: String,
        /// The file's dtype.
        found: String,
    },
    /// The payload is not aligned for a zero-copy slice.
    #[error(
        "payload of {dtype} at offset {offset} is not aligned to {align} bytes for the slice view (use the element view)"
    )]
    Misaligned {
        /// The file's dtype.
        dtype: String,
        /// Required alignment.
        align: usize,
        /// Byte offset of the payload in the buffer or file it was viewed from.
        offset: u64,
    },
    /// The payload's byte order is not the machine's.
    #[error(
        "byte order mismatch: the slice view needs {expected} (native order), the file has {found} (use the element view)"
    )]
    ByteOrderMismatch {
        /// The native dtype the slice view needs.
        expected: String,
        /// The file's dtype.
        found: String,
    },
    /// A bool element is neither 0 nor 1.
    #[error("invalid bool byte {value:#04x} at element {index}")]
    InvalidBool {
        /// Element index.
        index: u64,
        /// The byte.
        value: u8,
    },
    /// Arrays whose shapes must agree do not.
    #[error("shape mismatch: expected {expected}, found {found}")]
    ShapeMismatch {
        /// The shape required (with `*` for a free axis).
        expected: String,
        /// The shape found.
        found: String,
    },
    /// A cast between two dtypes is not supported.
    #[error("cannot cast {from} to {to}: {reason}")]
    UnsupportedCast {
        /// The source dtype.
        from: String,
        /// The target dtype.
        to: String,
        /// Why not.
        reason: String,
    },
    /// A cast npymap can do, refused by the casting level asked for.
    #[error("cannot cast {from} to {to} under casting '{casting}' (needs '{needs}')")]
    Casting {
        /// The source dtype.
        from: String,
        /// The target dtype.
        to: String,
        /// The casting level asked for (`safe`).
        casting: &'static str,
        /// The strictest level that allows the cast (`same_kind`).
        needs: &'static str,
    },
    /// A raw file is too small for the requested offset, dtype and shape.
    #[error(
        "file is {available} bytes, too small for the {needed} bytes that offset + dtype x shape need"
    )]
    FileTooSmall {
        /// Bytes needed (offset plus payload).
        needed: u64,
        /// Bytes in the file.
        available: u64,
    },
    /// Raw data whose length is not a whole number of elements.
    #[error("{available} bytes of raw data are not a multiple of the itemsize {itemsize}")]
    RawSize {
        /// Bytes after the offset.
        available: u64,
        /// The dtype's itemsize.
        itemsize: usize,
    },
    /// A structured dtype has no field of that name.
    #[error("no field named {name:?} in dtype {dtype}")]
    FieldNotFound {
        /// The name asked for.
        name: String,
        /// The dtype searched.
        dtype: String,
    },
    /// A writer got a different number of elements from the header's.
    #[error("{actual} elements were written but the header declares {expected}")]
    ElementCount {
        /// Elements the header declares.
        expected: u64,
        /// Elements written.
        actual: u64,
    },
    /// Data to append is not a whole number of rows along the growth axis.
    #[error("{elements} elements are not a whole number of rows of {row_len} elements")]
    NotWholeRows {
        /// Elements offered.
        elements: u64,
        /// Elements in one row (the product of the other axes).
        row_len: u64,
    },
    /// An element index past the end of a view.
    #[error("index {index} is out of bounds for {len} elements")]
    IndexOutOfBounds {
        /// The index.
        index: u64,
        /// Elements in the view.
        len: u64,
    },
    /// A header cannot be written in the requested format version.
    #[error("header of {len} bytes cannot be written as version {version}: {reason}")]
    VersionTooSmall {
        /// Header length in bytes.
        len: u64,
        /// The requested version.
        version: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// The input is not a readable zip archive, or a zip structure in it is
    /// broken (central directory, local header, checksum, compression).
    #[error("zip: {reason}")]
    Zip {
        /// What is wrong, as found.
        reason: String,
    },
    /// The archive has no member of that name.
    #[error("no member named {name:?}")]
    MemberNotFound {
        /// The name asked for.
        name: String,
    },
    /// A member name could escape a directory or is not portable.
    #[error("unsafe member name {name:?}: {reason}")]
    UnsafeName {
        /// The name as stored (escaped for display).
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two members have the same name (or the same key once `.npy` is
    /// stripped).
    #[error("duplicate member {name:?}")]
    DuplicateMember {
        /// The repeated name.
        name: String,
    },
    /// A declared size is over a configured limit.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    ZipLimit {
        /// What was measured.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A member inflates to more bytes than its declared size (a zip bomb
    /// or a lying directory); reading stops one byte past the declared size.
    #[error("member inflates past its declared size of {declared} bytes")]
    InflateOverrun {
        /// The uncompressed size the archive declares.
        declared: u64,
    },
    /// The member is compressed, so its bytes cannot be viewed in place.
    #[error(
        "member is {compression}: only stored members can be viewed without copying \
         (read it into memory with read_array)"
    )]
    NotStored {
        /// `"deflated"`.
        compression: &'static str,
    },
    /// A `.safetensors` file breaks the format's rules (header length,
    /// header JSON, tensor offsets, file length).
    #[error("invalid safetensors file: {reason}")]
    Safetensors {
        /// What is wrong, with the numbers.
        reason: String,
    },
    /// A basic index (`npymap slice`) that does not apply to the array:
    /// bad syntax, out of bounds, too many indices (NumPy's wording).
    #[error("{0}")]
    Index(String),
    /// Text in `np.savetxt` / `np.loadtxt` form that cannot be read or
    /// written as asked: a value that does not parse (with its row and
    /// column), a format that does not fit the values.
    #[error("{0}")]
    Text(String),
    /// The operation is not supported for this input.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An I/O error.
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

impl ErrorKind {
    /// A short stable code naming the variant, e.g. `"header_syntax"`.
    ///
    /// Tests and machine-readable output use it; it never changes for a variant.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::NotNpy { .. } => "not_npy",
            ErrorKind::UnsupportedVersion { .. } => "unsupported_version",
            ErrorKind::Truncated { .. } => "truncated",
            ErrorKind::HeaderTooLong { .. } => "header_too_long",
            ErrorKind::HeaderEncoding { .. } => "header_encoding",
            ErrorKind::HeaderSyntax { .. } => "header_syntax",
            ErrorKind::HeaderKey { .. } => "header_key",
            ErrorKind::HeaderValue { .. } => "header_value",
            ErrorKind::IntegerTooLarge { .. } => "integer_too_large",
            ErrorKind::NegativeDim { .. } => "negative_dim",
            // The code the reader gave for such a dim before it had its own variant.
            ErrorKind::DimTooLarge { .. } => "integer_too_large",
            ErrorKind::TooManyDims { .. } => "too_many_dims",
            ErrorKind::TooDeep { .. } => "too_deep",
            ErrorKind::Overflow { .. } => "overflow",
            ErrorKind::Dtype { .. } => "dtype",
            ErrorKind::PayloadSize { .. } => "payload_size",
            ErrorKind::ObjectDtype => "object_dtype",
            ErrorKind::RawLength { .. } => "raw_size",
            ErrorKind::DtypeMismatch { .. } => "dtype_mismatch",
            ErrorKind::Misaligned { .. } => "misaligned",
            ErrorKind::ByteOrderMismatch { .. } => "byte_order_mismatch",
            ErrorKind::InvalidBool { .. } => "invalid_bool",
            ErrorKind::VersionTooSmall { .. } => "version_too_small",
            ErrorKind::UnsupportedCast { .. } => "unsupported_cast",
            ErrorKind::Casting { .. } => "unsupported_cast",
            ErrorKind::ShapeMismatch { .. } => "shape_mismatch",
            ErrorKind::FileTooSmall { .. } => "file_too_small",
            ErrorKind::RawSize { .. } => "raw_size",
            ErrorKind::FieldNotFound { .. } => "field_not_found",
            ErrorKind::ElementCount { .. } => "element_count",
            ErrorKind::NotWholeRows { .. } => "not_whole_rows",
            ErrorKind::IndexOutOfBounds { .. } => "index_out_of_bounds",
            ErrorKind::Zip { .. } => "zip",
            ErrorKind::MemberNotFound { .. } => "member_not_found",
            ErrorKind::UnsafeName { .. } => "unsafe_name",
            ErrorKind::DuplicateMember { .. } => "duplicate_member",
            // A bomb and an over-limit declared size are the same failure to a
            // caller: the archive wants more memory or output than allowed.
            ErrorKind::ZipLimit { .. } | ErrorKind::InflateOverrun { .. } => "zip_limit",
            ErrorKind::NotStored { .. } => "not_stored",
            ErrorKind::Safetensors { .. } => "safetensors",
            ErrorKind::Index(_) => "index",
            ErrorKind::Text(_) => "text",
            ErrorKind::Unsupported(_) => "unsupported",
            ErrorKind::Io(_) => "io",
        }
    }
}

/// The crate's error: an [`ErrorKind`] plus where it happened.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    offset: Option<u64>,
    member: Option<String>,
    path: Option<PathBuf>,
}

impl Error {
    /// Wraps a kind with no context.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                offset: None,
                member: None,
                path: None,
            }),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// Byte offset in the file (or npz member) where the problem was found.
    pub fn offset(&self) -> Option<u64> {
        self.inner.offset
    }

    /// The npz member the error belongs to.
    pub fn member(&self) -> Option<&str> {
        self.inner.member.as_deref()
    }

    /// The file the error belongs to.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Sets the byte offset (kept if already set: the innermost wins).
    #[must_use]
    pub fn at(mut self, offset: u64) -> Self {
        self.inner.offset.get_or_insert(offset);
        self
    }

    /// Replaces the byte offset.
    #[must_use]
    pub(crate) fn set_offset(mut self, offset: u64) -> Self {
        self.inner.offset = Some(offset);
        self
    }

    /// Adds `delta` to a recorded offset, e.g. when a header parsed alone is
    /// located at `delta` in a file.
    #[must_use]
    pub fn shift(mut self, delta: u64) -> Self {
        if let Some(o) = self.inner.offset.as_mut() {
            *o = o.saturating_add(delta);
        }
        self
    }

    /// Sets the npz member name.
    #[must_use]
    pub fn in_member(mut self, member: impl Into<String>) -> Self {
        self.inner.member.get_or_insert_with(|| member.into());
        self
    }

    /// Sets the path of the file.
    #[must_use]
    pub fn in_path(mut self, path: impl AsRef<Path>) -> Self {
        if self.inner.path.is_none() {
            self.inner.path = Some(path.as_ref().to_path_buf());
        }
        self
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl From<std::io::Error> for Error {
    /// Wraps an I/O error; an [`Error`] that travelled through a `Read` or
    /// `Write` implementation inside an `io::Error` is unwrapped again.
    fn from(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let kind = e.kind();
            return match e.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(ours)) => *ours,
                Some(Err(other)) => Error::new(ErrorKind::Io(std::io::Error::new(kind, other))),
                None => Error::new(ErrorKind::Io(kind.into())),
            };
        }
        Error::new(ErrorKind::Io(e))
    }
}

impl From<Error> for std::io::Error {
    /// Carries an [`Error`] through `Read` / `Write`; `Error::from` takes it
    /// out again unchanged.
    fn from(e: Error) -> Self {
        match e.kind() {
            ErrorKind::Truncated { .. } => {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, e)
            }
            _ => std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        }
    }
}

impl fmt::Display for Error {
    /// `path: member: message at byte N`, each part only when known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.inner.path {
            write!(f, "{}: ", p.display())?;
        }
        if let Some(m) = &self.inner.member {
            write!(f, "member {m:?}: ")?;
        }
        write!(f, "{}", self.inner.kind)?;
        if let Some(o) = self.inner.offset {
            write!(f, " (at byte {o})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("offset", &self.inner.offset)
            .field("member", &self.inner.member)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Shortens and escapes untrusted text for an error message.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX {
            out.push_str("...");
            break;
        }
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && u32::from(c) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Escapes untrusted bytes for an error message.
pub(crate) fn byte_snippet(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(16)
        .flat_map(|b| b.escape_ascii())
        .map(char::from)
        .collect()
}
