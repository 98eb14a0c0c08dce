//! NumPy's dtype model, as `.npy` headers describe it.
//!
//! A [`Dtype`] is a simple [`Scalar`] (kind, byte order, size), a
//! [`Subarray`](Dtype::Subarray) of a fixed shape, or a [`Struct`] of named
//! fields. Parsing follows NumPy's `descr_to_dtype` (padding entries dropped,
//! fields laid out one after another); rendering follows `dtype.descr` and
//! Python's `repr`, so a dtype read from a NumPy file renders to the same
//! text. No I/O happens here. See `spec/dtypes.md` for the support matrix.

mod name;
mod parse;
mod render;
mod unprintable;

use std::fmt;

use name::Name;

pub use parse::{MAX_FIELDS, MAX_NESTING};
pub(crate) use parse::{PlainStruct, scalar_from_str};
pub(crate) use render::{py_escape_str, py_repr_str};

use crate::error::{ErrorKind, Result};

/// Byte order of a dtype's elements, as written in a descr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`: least significant byte first.
    Little,
    /// `>`: most significant byte first.
    Big,
    /// `|`: byte order does not apply (single bytes, strings, void, object).
    NotApplicable,
}

impl ByteOrder {
    /// The machine's byte order.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };

    /// The descr character: `<`, `>` or `|`.
    pub fn as_char(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        }
    }

    /// `"little"`, `"big"` or `"not applicable"`.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
            ByteOrder::NotApplicable => "not applicable",
        }
    }

    /// Whether data in this order can be read without swapping.
    pub fn is_native(self) -> bool {
        self != ByteOrder::opposite(ByteOrder::NATIVE)
    }

    fn opposite(self) -> ByteOrder {
        match self {
            ByteOrder::Little => ByteOrder::Big,
            ByteOrder::Big => ByteOrder::Little,
            ByteOrder::NotApplicable => ByteOrder::NotApplicable,
        }
    }
}

/// Unit of a `datetime64` / `timedelta64` dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `Y`
    Years,
    /// `M`
    Months,
    /// `W`
    Weeks,
    /// `D`
    Days,
    /// `h`
    Hours,
    /// `m`
    Minutes,
    /// `s`
    Seconds,
    /// `ms`
    Millis,
    /// `us` (also read as `μs`)
    Micros,
    /// `ns`
    Nanos,
    /// `ps`
    Picos,
    /// `fs`
    Femtos,
    /// `as`
    Attos,
    /// No unit (`M8`, `M8[generic]`).
    Generic,
}

impl TimeUnit {
    const ALL: [(TimeUnit, &'static str); 14] = [
        (TimeUnit::Years, "Y"),
        (TimeUnit::Months, "M"),
        (TimeUnit::Weeks, "W"),
        (TimeUnit::Days, "D"),
        (TimeUnit::Hours, "h"),
        (TimeUnit::Minutes, "m"),
        (TimeUnit::Seconds, "s"),
        (TimeUnit::Millis, "ms"),
        (TimeUnit::Micros, "us"),
        (TimeUnit::Nanos, "ns"),
        (TimeUnit::Picos, "ps"),
        (TimeUnit::Femtos, "fs"),
        (TimeUnit::Attos, "as"),
        (TimeUnit::Generic, "generic"),
    ];

    /// The unit as NumPy spells it (`"ns"`, `"D"`, `"generic"`).
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(u, _)| *u == self)
            .map_or("generic", |(_, s)| s)
    }

    fn from_str(s: &str) -> Option<TimeUnit> {
        if s == "μs" {
            return Some(TimeUnit::Micros);
        }
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(u, _)| *u)
    }
}

/// The kind of a simple dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// `b1`: one byte, 0 or 1.
    Bool,
    /// `i1`..`i8`.
    Int,
    /// `u1`..`u8`.
    UInt,
    /// `f2`, `f4`, `f8`, `f16` (x87 long double in 16 bytes).
    Float,
    /// `c8`, `c16`, `c32`.
    Complex,
    /// `S<n>`: n bytes, NUL-padded.
    Bytes,
    /// `U<n>`: n UCS-4 code units (itemsize 4n).
    Unicode,
    /// `V<n>`: n opaque bytes.
    Void,
    /// `M8[unit]`: datetime64, an i64 count of `multiplier` units.
    Datetime {
        /// The unit.
        unit: TimeUnit,
        /// How many units one step is (`M8[10s]` has 10); 1 when not written.
        multiplier: u32,
    },
    /// `m8[unit]`: timedelta64.
    Timedelta {
        /// The unit.
        unit: TimeUnit,
        /// How many units one step is.
        multiplier: u32,
    },
    /// `O`: a Python object pointer; files holding it are pickles.
    Object,
}

/// A simple dtype: kind, byte order and itemsize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    kind: ScalarKind,
    byte_order: ByteOrder,
    itemsize: usize,
}

impl Scalar {
    /// The kind.
    pub fn kind(&self) -> ScalarKind {
        self.kind
    }

    /// The byte order (`NotApplicable` for one-byte and byte-string types).
    pub fn byte_order(&self) -> ByteOrder {
        self.byte_order
    }

    /// Size of one element in bytes (for `U<n>`, 4n).
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }

    /// Alignment NumPy gives the type on x86-64 / aarch64.
    pub fn alignment(&self) -> usize {
        match self.kind {
            ScalarKind::Bool | ScalarKind::Bytes | ScalarKind::Void => 1,
            ScalarKind::Int | ScalarKind::UInt | ScalarKind::Float => self.itemsize,
            ScalarKind::Complex => self.itemsize / 2,
            ScalarKind::Unicode => 4,
            ScalarKind::Datetime { .. } | ScalarKind::Timedelta { .. } | ScalarKind::Object => 8,
        }
    }

    /// Size in bytes of the unit that byte order applies to: the whole
    /// element for numbers, each half of a complex, each UCS-4 code unit,
    /// and 1 (nothing to swap) for bytes, void, bool and one-byte ints.
    pub fn swap_unit(&self) -> usize {
        match self.kind {
            ScalarKind::Complex => self.itemsize / 2,
            ScalarKind::Unicode => 4,
            ScalarKind::Bool | ScalarKind::Bytes | ScalarKind::Void | ScalarKind::Object => 1,
            _ => self.itemsize,
        }
    }

    /// Builds a scalar, normalising byte order the way NumPy does (`|` for
    /// types it does not apply to, the machine's order when unspecified).
    ///
    /// # Errors
    /// `Dtype` when the size is not one NumPy has for the kind.
    pub fn new(kind: ScalarKind, byte_order: Option<ByteOrder>, itemsize: usize) -> Result<Self> {
        let ok = match kind {
            ScalarKind::Bool => itemsize == 1,
            ScalarKind::Int | ScalarKind::UInt => matches!(itemsize, 1 | 2 | 4 | 8),
            ScalarKind::Float => matches!(itemsize, 2 | 4 | 8 | 16),
            ScalarKind::Complex => matches!(itemsize, 8 | 16 | 32),
            ScalarKind::Bytes | ScalarKind::Void => itemsize > 0,
            ScalarKind::Unicode => itemsize > 0 && itemsize.is_multiple_of(4),
            ScalarKind::Datetime { .. } | ScalarKind::Timedelta { .. } | ScalarKind::Object => {
                itemsize == 8
            }
        };
        if !ok {
            let s = Scalar {
                kind,
                byte_order: ByteOrder::NotApplicable,
                itemsize,
            };
            return Err(ErrorKind::Dtype {
                descr: Some(s.descr()),
                reason: if itemsize == 0 {
                    "zero itemsize".to_string()
                } else {
                    "no such size for this kind".to_string()
                },
            }
            .into());
        }
        let mut s = Scalar {
            kind,
            byte_order: ByteOrder::NotApplicable,
            itemsize,
        };
        if s.swap_unit() > 1 {
            s.byte_order = match byte_order {
                Some(ByteOrder::Little) => ByteOrder::Little,
                Some(ByteOrder::Big) => ByteOrder::Big,
                _ => ByteOrder::NATIVE,
            };
        }
        Ok(s)
    }

    /// The descr string NumPy writes (`dtype.str`), e.g. `<f8`, `|S3`, `<M8[ns]`.
    pub fn descr(&self) -> String {
        render::scalar_descr(self)
    }
}

/// One named field of a [`Struct`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    name: Name,
    title: Option<Name>,
    offset: usize,
    dtype: Dtype,
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The field's title, if it has one (`(('title', 'name'), descr)`).
    pub fn title(&self) -> Option<&str> {
        self.title.as_ref().map(Name::as_str)
    }

    /// Byte offset of the field inside one element.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The field's dtype (a `Subarray` for fields with a shape).
    pub fn dtype(&self) -> &Dtype {
        &self.dtype
    }
}

/// A structured dtype: named fields at byte offsets inside an element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Struct {
    fields: Vec<Field>,
    itemsize: usize,
}

impl Struct {
    /// The fields in order (padding entries are not fields).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Size of one element in bytes, padding included.
    pub fn itemsize(&self) -> usize {
        self.itemsize
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == *name)
    }
}

/// A NumPy dtype as an `.npy` header describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// A simple type.
    Scalar(Scalar),
    /// A fixed-shape block of `base` elements (only inside structs, or from
    /// a hand-written tuple descr).
    Subarray {
        /// The element type.
        base: Box<Dtype>,
        /// The block's shape (C order).
        shape: Vec<u64>,
    },
    /// Named fields.
    Struct(Struct),
}

impl Dtype {
    /// Parses descr text as it appears in a header: a quoted string
    /// (`'<f8'`) or a structured list (`[('x', '<i4'), ...]`).
    ///
    /// # Errors
    /// `HeaderSyntax` for text that is not a literal, `Dtype` for a literal
    /// that is not a dtype NumPy would build.
    pub fn from_descr_literal(text: &str) -> Result<Dtype> {
        let lit = crate::literal::parse(text, crate::literal::Grammar { long_suffix: false })?;
        Dtype::from_lit(&lit)
    }

    /// Parses a type string without quotes: `<f8`, `f8`, `=i4`, `|S3`,
    /// `<M8[ns]`, one of NumPy's names (`float32`, `bool`, ...), or a
    /// comma string (`i4,f8`: fields `f0`, `f1`; `3i4`: a subarray), as a
    /// header's string descr is read.
    ///
    /// # Errors
    /// `Dtype` when NumPy would not understand the string, or it names a type
    /// with no size (`S`, `U0`).
    pub fn from_descr(text: &str) -> Result<Dtype> {
        parse::from_str(text)
    }

    /// Builds a dtype from the JSON form of a descr (see [`Dtype::to_json`]).
    ///
    /// # Errors
    /// `Dtype` when the value is not a descr.
    pub fn from_json(value: &serde_json::Value) -> Result<Dtype> {
        parse::from_json(value)
    }

    /// Builds a dtype from a parsed literal (the value of `'descr'`).
    ///
    /// # Errors
    /// `Dtype` when the literal is not a descr NumPy accepts.
    pub fn from_lit(lit: &crate::literal::Lit<'_>) -> Result<Dtype> {
        parse::from_lit(lit, 0).map_err(|e| e.at(lit.at as u64))
    }

    /// A simple dtype.
    ///
    /// # Errors
    /// As [`Scalar::new`].
    pub fn scalar(
        kind: ScalarKind,
        byte_order: Option<ByteOrder>,
        itemsize: usize,
    ) -> Result<Dtype> {
        Scalar::new(kind, byte_order, itemsize).map(Dtype::Scalar)
    }

    /// A structured dtype from `(name, dtype)` pairs laid out one after
    /// another (as NumPy's `descr_to_dtype` does), with no titles.
    ///
    /// # Errors
    /// `Dtype` for duplicate names, names holding NUL or an itemsize past
    /// 2^31-1 bytes (NumPy's C `int`), `TooDeep` past [`MAX_NESTING`] levels.
    pub fn structured<S: Into<String>>(
        fields: impl IntoIterator<Item = (S, Dtype)>,
    ) -> Result<Dtype> {
        parse::build_struct(
            fields
                .into_iter()
                .map(|(n, d)| parse::RawField {
                    name: std::borrow::Cow::Owned(n.into()),
                    title: None,
                    dtype: d,
                    pad: false,
                })
                .collect(),
        )
    }

    /// Size of one element in bytes.
    pub fn itemsize(&self) -> usize {
        match self {
            Dtype::Scalar(s) => s.itemsize,
            Dtype::Subarray { base, shape } => {
                // Checked when the subarray was built.
                shape
                    .iter()
                    .try_fold(base.itemsize(), |acc, &d| {
                        usize::try_from(d).ok().and_then(|d| acc.checked_mul(d))
                    })
                    .unwrap_or(usize::MAX)
            }
            Dtype::Struct(s) => s.itemsize,
        }
    }

    /// Levels of structs and subarrays: 0 for a scalar (at most
    /// [`MAX_NESTING`] for any dtype this crate builds).
    pub(crate) fn nesting(&self) -> usize {
        match self {
            Dtype::Scalar(_) => 0,
            Dtype::Subarray { base, .. } => 1 + base.nesting(),
            Dtype::Struct(s) => {
                1 + s
                    .fields
                    .iter()
                    .map(|f| f.dtype.nesting())
                    .max()
                    .unwrap_or(0)
            }
        }
    }

    /// Alignment NumPy reports (`dtype.alignment`); structs read from
    /// headers are packed, so 1.
    pub fn alignment(&self) -> usize {
        match self {
            Dtype::Scalar(s) => s.alignment(),
            Dtype::Subarray { base, .. } => base.alignment(),
            Dtype::Struct(_) => 1,
        }
    }

    /// The scalar, if this is a simple dtype.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Dtype::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The struct, if this is a structured dtype.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Dtype::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// Whether any part holds Python objects (such arrays are pickled).
    pub fn has_object(&self) -> bool {
        match self {
            Dtype::Scalar(s) => s.kind == ScalarKind::Object,
            Dtype::Subarray { base, .. } => base.has_object(),
            Dtype::Struct(s) => s.fields.iter().any(|f| f.dtype.has_object()),
        }
    }

    /// Whether every multi-byte part is in the machine's byte order.
    pub fn is_native(&self) -> bool {
        match self {
            Dtype::Scalar(s) => s.byte_order.is_native(),
            Dtype::Subarray { base, .. } => base.is_native(),
            Dtype::Struct(s) => s.fields.iter().all(|f| f.dtype.is_native()),
        }
    }

    /// The same dtype with every byte-order-carrying part set to `order`
    /// (`NotApplicable` leaves the dtype unchanged).
    #[must_use]
    pub fn with_byte_order(&self, order: ByteOrder) -> Dtype {
        match self {
            Dtype::Scalar(s) => {
                let mut s = *s;
                if s.byte_order != ByteOrder::NotApplicable && order != ByteOrder::NotApplicable {
                    s.byte_order = order;
                }
                Dtype::Scalar(s)
            }
            Dtype::Subarray { base, shape } => Dtype::Subarray {
                base: Box::new(base.with_byte_order(order)),
                shape: shape.clone(),
            },
            Dtype::Struct(st) => Dtype::Struct(Struct {
                fields: st
                    .fields
                    .iter()
                    .map(|f| Field {
                        dtype: f.dtype.with_byte_order(order),
                        ..f.clone()
                    })
                    .collect(),
                itemsize: st.itemsize,
            }),
        }
    }

    /// The descr as Python `repr` writes it in a header: `'<f8'` or
    /// `[('x', '<i4'), ('y', '<f8', (2,))]`.
    pub fn descr(&self) -> String {
        let mut out = String::new();
        render::descr_repr(self, &mut out);
        out
    }

    /// Whether the descr needs characters outside latin-1 (so a header
    /// holding it needs format version 3.0).
    pub fn needs_utf8(&self) -> bool {
        // What counts is the rendered text: `repr` escapes some characters.
        self.descr().chars().any(|c| u32::from(c) > 0xff)
    }

    /// The JSON form of the descr: a string for simple types, and for
    /// structured types the list `dtype.descr` gives with tuples as arrays.
    pub fn to_json(&self) -> serde_json::Value {
        render::to_json(self)
    }
}

impl fmt::Display for Dtype {
    /// The descr as NumPy writes it in a header (see [`Dtype::descr`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.descr())
    }
}

impl serde::Serialize for Dtype {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Dtype {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Dtype::from_json(&v).map_err(serde::de::Error::custom)
    }
}
