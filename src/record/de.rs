//! The serde deserializer over one record's bytes and its dtype.
//!
//! Numbers are decoded by `convert::value::decode_num` (any byte order,
//! any alignment), `U<n>` text by the typed layer's `decode_ucs4`, `S<n>`
//! by `decode_value`: one decoder per dtype family in the crate.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::convert::value::{Num, Value, decode_num, decode_value};
use crate::dtype::{ByteOrder, Dtype, Field, Scalar, ScalarKind};
use crate::typed::decode::{decode_ucs4, ucs4_problem};
use crate::typed::{DateTime64, TimeDelta64};

use super::dates;
use super::problem::{Loc, Problem, RecError, want};

/// The most zero-byte elements one subarray may hand out: they carry no
/// data, and a header may claim any count of them.
const MAX_EMPTY_ELEMENTS: usize = 1 << 16;

/// Deserializes one value of `dtype` from `bytes` (exactly its itemsize);
/// `path` names it in errors.
pub(crate) struct Decoder<'d> {
    dtype: &'d Dtype,
    /// When not empty, the value is a subarray of this shape over `dtype`
    /// (the inner axes of a multi-dimensional subarray), so walking one
    /// builds no `Dtype` per element.
    dims: &'d [u64],
    bytes: &'d [u8],
    path: Loc<'d>,
}

impl<'d> Decoder<'d> {
    pub(crate) fn new(dtype: &'d Dtype, bytes: &'d [u8], path: Loc<'d>) -> Self {
        Decoder {
            dtype,
            dims: &[],
            bytes,
            path,
        }
    }

    /// The scalar, if the value is one.
    fn scalar(&self) -> Option<&'d Scalar> {
        if self.dims.is_empty() {
            self.dtype.as_scalar()
        } else {
            None
        }
    }

    /// The value's dtype as a descr, for messages.
    fn shown(&self) -> String {
        if self.dims.is_empty() {
            self.dtype.descr()
        } else {
            Dtype::Subarray {
                base: Box::new(self.dtype.clone()),
                shape: self.dims.to_vec(),
            }
            .descr()
        }
    }

    fn mismatch(&self, expected: String) -> RecError {
        RecError::at(
            &self.path,
            Problem::Mismatch {
                expected,
                found: self.shown(),
            },
        )
    }

    fn value(&self, msg: String) -> RecError {
        RecError::at(&self.path, Problem::Value(msg))
    }

    /// The number if the dtype is exactly `kind` of `size` bytes (any
    /// byte order): no widening, no narrowing.
    fn num(&self, kind: ScalarKind, size: usize, rust: &str) -> Result<Num, RecError> {
        match self.scalar() {
            Some(s) if s.kind() == kind && s.itemsize() == size && self.bytes.len() == size => {
                Ok(decode_num(s, self.bytes))
            }
            _ => Err(self.mismatch(want(kind, size, rust))),
        }
    }

    /// The bits of an `f2` element, for `half::f16` (which serde sees as
    /// a newtype around its `u16` bits).
    fn f16_bits(&self) -> Result<u16, RecError> {
        match (self.scalar(), self.bytes) {
            (Some(s), &[a, b]) if s.kind() == ScalarKind::Float && s.itemsize() == 2 => {
                Ok(if s.byte_order() == ByteOrder::Big {
                    u16::from_be_bytes([a, b])
                } else {
                    u16::from_le_bytes([a, b])
                })
            }
            _ => Err(self.mismatch(want(ScalarKind::Float, 2, "f16"))),
        }
    }

    /// The text of a `U<n>` element, or of an `S<n>` element holding UTF-8.
    fn text(&self) -> Result<String, RecError> {
        let expected = || "'<U<n>' or '|S<n>' (String)".to_string();
        let s = self.scalar().ok_or_else(|| self.mismatch(expected()))?;
        match s.kind() {
            ScalarKind::Unicode => decode_ucs4(self.bytes, s.byte_order() == ByteOrder::Big)
                .map_err(|u| {
                    self.value(format!(
                        "holds U+{u:04X}, {}, which a Rust String cannot hold",
                        ucs4_problem(u)
                    ))
                }),
            ScalarKind::Bytes => match decode_value(s, self.bytes) {
                Value::Bytes(b) => String::from_utf8(b).map_err(|e| {
                    self.value(format!(
                        "{} bytes are not UTF-8 ({e}); read them as bytes",
                        self.dtype.descr()
                    ))
                }),
                _ => Err(self.mismatch(expected())),
            },
            _ => Err(self.mismatch(expected())),
        }
    }

    /// The text (`"5[s]"`, `"NaT[ns]"`) of an `M8` element for the date
    /// newtype `name` ([`dates::DATETIME`]), or of an `m8` element for
    /// [`dates::TIMEDELTA`].
    fn date_text(&self, name: &str) -> Result<String, RecError> {
        let (rust, code) = if name == dates::DATETIME {
            ("DateTime64", "M8")
        } else {
            ("TimeDelta64", "m8")
        };
        match self.scalar().map(|s| decode_value(s, self.bytes)) {
            Some(Value::Datetime(v, unit, multiplier)) if name == dates::DATETIME => {
                Ok(DateTime64 {
                    value: v.unwrap_or(DateTime64::NAT),
                    unit,
                    multiplier,
                }
                .to_string())
            }
            Some(Value::Timedelta(v, unit, multiplier)) if name == dates::TIMEDELTA => {
                Ok(TimeDelta64 {
                    value: v.unwrap_or(TimeDelta64::NAT),
                    unit,
                    multiplier,
                }
                .to_string())
            }
            _ => Err(self.mismatch(format!("'<{code}[unit]' ({rust})"))),
        }
    }

    /// The bytes of an `S<n>` element without its trailing NULs, as NumPy
    /// returns them.
    fn byte_string(&self) -> Result<Vec<u8>, RecError> {
        match self.scalar() {
            Some(s) if s.kind() == ScalarKind::Bytes => match decode_value(s, self.bytes) {
                Value::Bytes(b) => Ok(b),
                _ => Err(self.mismatch("'|S<n>' (bytes)".to_string())),
            },
            _ => Err(self.mismatch("'|S<n>' (bytes)".to_string())),
        }
    }
}

macro_rules! int {
    ($name:ident, $visit:ident, $t:ty, $kind:ident, $variant:ident) => {
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
            let rust = stringify!($t);
            let size = std::mem::size_of::<$t>();
            let n = self.num(ScalarKind::$kind, size, rust)?;
            // The dtype's size equals the type's, so the value fits.
            let x = match n {
                Num::$variant(x) => <$t>::try_from(x).ok(),
                _ => None,
            };
            match x {
                Some(x) => v.$visit(x),
                None => Err(self.mismatch(want(ScalarKind::$kind, size, rust))),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Decoder<'_> {
    type Error = RecError;

    /// Self-describing formats' view: each dtype as the Rust value it
    /// reads as (`f2` as `f32`, `S<n>` as a sequence of `u8`, dates as
    /// their text; kinds with no serde value are refused).
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        if !self.dims.is_empty() {
            return self.deserialize_seq(v);
        }
        match self.dtype {
            Dtype::Struct(_) => self.deserialize_map(v),
            Dtype::Subarray { .. } => self.deserialize_seq(v),
            Dtype::Scalar(s) => match (s.kind(), s.itemsize()) {
                (ScalarKind::Bool, _) => self.deserialize_bool(v),
                (ScalarKind::Int, 1) => self.deserialize_i8(v),
                (ScalarKind::Int, 2) => self.deserialize_i16(v),
                (ScalarKind::Int, 4) => self.deserialize_i32(v),
                (ScalarKind::Int, 8) => self.deserialize_i64(v),
                (ScalarKind::UInt, 1) => self.deserialize_u8(v),
                (ScalarKind::UInt, 2) => self.deserialize_u16(v),
                (ScalarKind::UInt, 4) => self.deserialize_u32(v),
                (ScalarKind::UInt, 8) => self.deserialize_u64(v),
                (ScalarKind::Float, 2) => {
                    let bits = self.f16_bits()?;
                    v.visit_f32(half::f16::from_bits(bits).to_f32())
                }
                (ScalarKind::Float, 4) => self.deserialize_f32(v),
                (ScalarKind::Float, 8) => self.deserialize_f64(v),
                (ScalarKind::Unicode, _) => self.deserialize_string(v),
                (ScalarKind::Datetime { .. }, _) => {
                    v.visit_string(self.date_text(dates::DATETIME)?)
                }
                (ScalarKind::Timedelta { .. }, _) => {
                    v.visit_string(self.date_text(dates::TIMEDELTA)?)
                }
                // As a sequence of `u8`, the form `Vec<u8>` takes in serde
                // (self-describing values such as JSON's have no bytes).
                (ScalarKind::Bytes, _) => self.deserialize_seq(v),
                _ => Err(self.value(format!(
                    "dtype {} has no serde value; name a Rust type for it",
                    self.dtype.descr()
                ))),
            },
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        self.num(ScalarKind::Bool, 1, "bool")?;
        match self.bytes {
            [0] => v.visit_bool(false),
            [1] => v.visit_bool(true),
            [b, ..] => Err(self.value(format!("bool byte {b:#04x} is neither 0 nor 1"))),
            [] => Err(self.mismatch(want(ScalarKind::Bool, 1, "bool"))),
        }
    }

    int!(deserialize_i8, visit_i8, i8, Int, Int);
    int!(deserialize_i16, visit_i16, i16, Int, Int);
    int!(deserialize_i32, visit_i32, i32, Int, Int);
    int!(deserialize_i64, visit_i64, i64, Int, Int);
    int!(deserialize_u8, visit_u8, u8, UInt, UInt);
    int!(deserialize_u16, visit_u16, u16, UInt, UInt);
    int!(deserialize_u32, visit_u32, u32, UInt, UInt);
    int!(deserialize_u64, visit_u64, u64, UInt, UInt);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        match self.num(ScalarKind::Float, 4, "f32")? {
            // Exact: the f64 came from an f32.
            Num::Float(x) => v.visit_f32(x as f32),
            _ => Err(self.mismatch(want(ScalarKind::Float, 4, "f32"))),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        match self.num(ScalarKind::Float, 8, "f64")? {
            Num::Float(x) => v.visit_f64(x),
            _ => Err(self.mismatch(want(ScalarKind::Float, 8, "f64"))),
        }
    }

    /// A `char` from `U1` (or any `U<n>` holding one character).
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        let t = self.text()?;
        let mut chars = t.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => v.visit_char(c),
            _ => Err(self.value(format!(
                "holds {} characters, a char needs exactly 1",
                t.chars().count()
            ))),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        self.deserialize_string(v)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        v.visit_string(self.text()?)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        self.deserialize_byte_buf(v)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        v.visit_byte_buf(self.byte_string()?)
    }

    /// A field that is in the dtype is always `Some`; serde's derive makes
    /// an `Option` field the dtype lacks `None`.
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        v.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, RecError> {
        Err(self.mismatch("a value with data, not ()".to_string()))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, RecError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, RecError> {
        if name == dates::DATETIME || name == dates::TIMEDELTA {
            // `DateTime64` / `TimeDelta64`: a newtype around their text.
            let text = self.date_text(name)?;
            return v.visit_newtype_struct(text.into_deserializer());
        }
        if name == "f16" {
            // `half::f16` asks for its bits as a newtype around a `u16`.
            let bits = self.f16_bits()?;
            return v.visit_newtype_struct(bits.into_deserializer());
        }
        v.visit_newtype_struct(self)
    }

    /// A subarray's first axis; `S<n>` bytes (without trailing NULs) as a
    /// sequence of `u8`, so `Vec<u8>` reads them.
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        if !self.dims.is_empty() {
            let seq = Seq::new(self.dtype, self.dims, self.bytes, &self.path)?;
            return v.visit_seq(seq).map_err(|e| e.located(&self.path));
        }
        match self.dtype {
            Dtype::Subarray { base, shape } => {
                let seq = Seq::new(base, shape, self.bytes, &self.path)?;
                v.visit_seq(seq).map_err(|e| e.located(&self.path))
            }
            Dtype::Scalar(s) if s.kind() == ScalarKind::Bytes => {
                let b = self.byte_string()?;
                v.visit_seq(b.into_deserializer())
                    .map_err(|e: RecError| e.located(&self.path))
            }
            _ => Err(self.mismatch("a subarray (sequence)".to_string())),
        }
    }

    /// As a sequence; `S<n>` gives all `n` bytes, NULs included, so a
    /// `[u8; n]` reads them.
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, RecError> {
        match self.scalar() {
            Some(s) if s.kind() == ScalarKind::Bytes && s.itemsize() == len => v
                .visit_seq(self.bytes.to_vec().into_deserializer())
                .map_err(|e: RecError| e.located(&self.path)),
            _ => self.deserialize_seq(v),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, RecError> {
        self.deserialize_tuple(len, v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        match self.dtype {
            Dtype::Struct(st) if self.dims.is_empty() => {
                let map = Fields {
                    fields: st.fields(),
                    bytes: self.bytes,
                    next: 0,
                    path: &self.path,
                };
                v.visit_map(map).map_err(|e| e.located(&self.path))
            }
            _ => Err(self.mismatch("a structured dtype (struct)".to_string())),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, RecError> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, RecError> {
        Err(self.value("enums have no dtype; records read structs, numbers, text".to_string()))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        self.deserialize_string(v)
    }

    /// A field the Rust type does not name: skipped without decoding.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RecError> {
        v.visit_unit()
    }
}

/// The elements along a subarray's first axis.
struct Seq<'d, 'p> {
    /// Each element is `base`, or a subarray of the `rest` axes over it.
    base: &'d Dtype,
    rest: &'d [u64],
    elem_size: usize,
    bytes: &'d [u8],
    count: usize,
    next: usize,
    path: &'p Loc<'p>,
}

impl<'d, 'p> Seq<'d, 'p> {
    fn new(
        base: &'d Dtype,
        shape: &'d [u64],
        bytes: &'d [u8],
        path: &'p Loc<'p>,
    ) -> Result<Self, RecError> {
        let (count, rest) = match shape.split_first() {
            None => (1, shape),
            Some((&first, rest)) => (first, rest),
        };
        // The element's size; `None` (refused below) when it overflows.
        let elem_size = rest.iter().try_fold(base.itemsize(), |acc, &d| {
            usize::try_from(d).ok().and_then(|d| acc.checked_mul(d))
        });
        let fits = elem_size.and_then(|size| {
            usize::try_from(count).ok().filter(|&c| {
                c.checked_mul(size).is_some_and(|n| n <= bytes.len())
                    && (size > 0 || c <= MAX_EMPTY_ELEMENTS)
            })
        });
        let elem_size = elem_size.unwrap_or(usize::MAX);
        let Some(count) = fits else {
            let msg = if elem_size == 0 {
                format!(
                    "a subarray of {count} elements of zero bytes each: \
                     npymap reads at most {MAX_EMPTY_ELEMENTS}"
                )
            } else {
                format!(
                    "a subarray of {count} elements of {elem_size} bytes does not fit its {} bytes",
                    bytes.len()
                )
            };
            return Err(RecError::at(path, Problem::Value(msg)));
        };
        Ok(Seq {
            base,
            rest,
            elem_size,
            bytes,
            count,
            next: 0,
            path,
        })
    }
}

impl<'de> SeqAccess<'de> for Seq<'_, '_> {
    type Error = RecError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, RecError> {
        if self.next >= self.count {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        let path = Loc::Index(self.path, i);
        // In range: `count * elem_size <= bytes.len()` was checked in `new`.
        let start = i.saturating_mul(self.elem_size);
        let bytes = self
            .bytes
            .get(start..start.saturating_add(self.elem_size))
            .ok_or_else(|| {
                RecError::at(
                    &path,
                    Problem::Value("element lies outside the record".into()),
                )
            })?;
        let elem = Decoder {
            dtype: self.base,
            dims: self.rest,
            bytes,
            path,
        };
        seed.deserialize(elem)
            .map(Some)
            .map_err(|e| e.located(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.count.saturating_sub(self.next))
    }
}

/// The fields of one struct, as a map from name to value.
struct Fields<'d, 'p> {
    fields: &'d [Field],
    bytes: &'d [u8],
    next: usize,
    path: &'p Loc<'p>,
}

impl<'de> MapAccess<'de> for Fields<'_, '_> {
    type Error = RecError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RecError> {
        match self.fields.get(self.next) {
            None => Ok(None),
            Some(f) => {
                let key: de::value::StrDeserializer<'_, RecError> = f.name().into_deserializer();
                seed.deserialize(key)
                    .map(Some)
                    .map_err(|e| e.located(&Loc::Field(self.path, f.name())))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RecError> {
        let Some(f) = self.fields.get(self.next) else {
            return Err(RecError::at(
                self.path,
                Problem::Value("value without a field".into()),
            ));
        };
        self.next += 1;
        let path = Loc::Field(self.path, f.name());
        let size = f.dtype().itemsize();
        let bytes = f
            .offset()
            .checked_add(size)
            .and_then(|end| self.bytes.get(f.offset()..end))
            .ok_or_else(|| {
                RecError::at(
                    &path,
                    Problem::Value("field lies outside the record".into()),
                )
            })?;
        seed.deserialize(Decoder::new(f.dtype(), bytes, path))
            .map_err(|e| e.located(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len().saturating_sub(self.next))
    }
}
