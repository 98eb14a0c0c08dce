//! What can go wrong inside one record, located by field path, and how it
//! becomes the crate's [`Error`] once the record index is known.

use std::fmt;

use crate::dtype::{Dtype, ScalarKind};
use crate::error::{Error, ErrorKind};

/// The kind of problem met inside a record.
#[derive(Debug)]
pub(crate) enum Problem {
    /// The Rust type needs `expected` (`'<f4' (f32)`) where the dtype is
    /// `found` (`'<f8'`).
    Mismatch { expected: String, found: String },
    /// The dtype has no field the Rust type needs; the path ends in it.
    Missing,
    /// A field of the dtype that the Rust type does not write.
    NotWritten,
    /// Anything else: a value that cannot be decoded or encoded, or a
    /// message from serde (unknown field, wrong length).
    Value(String),
}

/// A problem plus the field path it was met at (`None` until located).
#[derive(Debug)]
pub(crate) struct RecError {
    problem: Problem,
    /// For [`Problem::Missing`] raised by serde: the field's own name,
    /// joined to the path when the error is located.
    field: Option<String>,
    path: Option<String>,
}

impl RecError {
    pub(crate) fn new(problem: Problem) -> Self {
        RecError {
            problem,
            field: None,
            path: None,
        }
    }

    /// A field `name` the Rust type needs and the dtype lacks.
    pub(crate) fn missing(name: &str) -> Self {
        RecError {
            problem: Problem::Missing,
            field: Some(name.to_string()),
            path: None,
        }
    }

    /// A problem already located at `loc`.
    pub(crate) fn at(loc: &Loc<'_>, problem: Problem) -> Self {
        RecError::new(problem).located(loc)
    }

    /// Sets the path if it is not set yet (the innermost location wins).
    pub(crate) fn located(mut self, loc: &Loc<'_>) -> Self {
        if self.path.is_none() {
            let path = loc.to_string();
            self.path = Some(match self.field.take() {
                Some(f) => join(&path, &f),
                None => path,
            });
        }
        self
    }

    /// The crate error for this problem in record `index` of an array of
    /// `whole` (`None` while the dtype is being derived).
    pub(crate) fn into_error(self, index: usize, whole: Option<&Dtype>) -> Error {
        let whole = whole.map_or_else(|| "(derived)".to_string(), Dtype::descr);
        let path = self.path.unwrap_or_default();
        let shown = if path.is_empty() { "<record>" } else { &path };
        match self.problem {
            Problem::Mismatch { expected, found } => ErrorKind::DtypeMismatch {
                expected: format!("{expected} for field `{shown}`"),
                found,
            }
            .into(),
            Problem::Missing => ErrorKind::FieldNotFound {
                name: path,
                dtype: whole,
            }
            .into(),
            Problem::NotWritten => Error::new(ErrorKind::Unsupported(format!(
                "records: record {index}: the Rust type has no field `{shown}` of dtype {whole}"
            ))),
            Problem::Value(msg) => Error::new(ErrorKind::Unsupported(format!(
                "records: record {index}, field `{shown}`: {msg}"
            ))),
        }
    }
}

impl fmt::Display for RecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.as_deref().unwrap_or("");
        match &self.problem {
            Problem::Mismatch { expected, found } => {
                write!(f, "field `{path}`: expected {expected}, found {found}")
            }
            Problem::Missing => write!(f, "missing field `{path}`"),
            Problem::NotWritten => write!(f, "field `{path}` not written"),
            Problem::Value(m) => write!(f, "field `{path}`: {m}"),
        }
    }
}

impl std::error::Error for RecError {}

impl serde::de::Error for RecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RecError::new(Problem::Value(msg.to_string()))
    }

    fn missing_field(field: &'static str) -> Self {
        RecError::missing(field)
    }
}

impl serde::ser::Error for RecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RecError::new(Problem::Value(msg.to_string()))
    }
}

/// Where a value sits in a record: built on the stack as the walk goes
/// down, rendered to text (`pos.x`, `pts[1].y`) only for an error, so
/// the success path allocates nothing for it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loc<'a> {
    /// The record itself.
    Root,
    /// A named field of the value at the parent location.
    Field(&'a Loc<'a>, &'a str),
    /// One element of a sequence.
    Index(&'a Loc<'a>, usize),
    /// Every element of a sequence (`v[]`), for layouts merged over them.
    Elem(&'a Loc<'a>),
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Root => Ok(()),
            Loc::Field(Loc::Root, name) => f.write_str(name),
            Loc::Field(parent, name) => write!(f, "{parent}.{name}"),
            Loc::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Loc::Elem(parent) => write!(f, "{parent}[]"),
        }
    }
}

/// `parent.name`, or `name` at the top.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `'<f4' (f32)`: the native dtype of a Rust scalar and its name.
pub(crate) fn want(kind: ScalarKind, size: usize, rust: &str) -> String {
    match Dtype::scalar(kind, None, size) {
        Ok(d) => format!("{} ({rust})", d.descr()),
        Err(_) => rust.to_string(),
    }
}
