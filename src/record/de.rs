//! The serde deserializer over one record's bytes and its dtype.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::convert::value::{Num, Value, decode_num, decode_value};
use crate::dtype::{Dtype, Scalar, ScalarKind};

/// A decode error; `located` once the field path has been put in.
#[derive(Debug)]
pub(crate) struct DeError {
    msg: String,
    located: bool,
}

impl DeError {
    pub(crate) fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            msg: msg.to_string(),
            located: false,
        }
    }
}

fn at(path: &str, msg: String) -> DeError {
    let p = if path.is_empty() { "<record>" } else { path };
    DeError {
        msg: format!("field `{p}`: {msg}"),
        located: true,
    }
}

fn locate(path: &str, e: DeError) -> DeError {
    if e.located { e } else { at(path, e.msg) }
}

/// Deserializes one value of `dtype` from `bytes`; `path` names it.
pub(crate) struct Decoder<'d> {
    dtype: &'d Dtype,
    bytes: &'d [u8],
    path: String,
}

impl<'d> Decoder<'d> {
    pub(crate) fn new(dtype: &'d Dtype, bytes: &'d [u8], path: String) -> Self {
        Decoder { dtype, bytes, path }
    }

    fn scalar(&self) -> Option<&'d Scalar> {
        match self.dtype {
            Dtype::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn mismatch(&self, want: &str) -> DeError {
        at(
            &self.path,
            format!("Rust type {want} does not match dtype {}", self.dtype),
        )
    }

    /// The number if the dtype is exactly `kind` of `size` bytes.
    fn num(&self, kind: ScalarKind, size: usize, want: &str) -> Result<Num, DeError> {
        match self.scalar() {
            Some(s) if s.kind() == kind && s.itemsize() == size => Ok(decode_num(s, self.bytes)),
            _ => Err(self.mismatch(want)),
        }
    }
}

macro_rules! int {
    ($name:ident, $visit:ident, $t:ty, $kind:ident, $variant:ident) => {
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let size = std::mem::size_of::<$t>();
            match self.num(ScalarKind::$kind, size, stringify!($t))? {
                Num::$variant(x) => {
                    let x = <$t>::try_from(x).map_err(|_| self.mismatch(stringify!($t)))?;
                    v.$visit(x)
                }
                _ => Err(self.mismatch(stringify!($t))),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Decoder<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
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
                (ScalarKind::Float, 4) => self.deserialize_f32(v),
                (ScalarKind::Float, 8) => self.deserialize_f64(v),
                (ScalarKind::Unicode, _) => self.deserialize_string(v),
                (ScalarKind::Bytes, _) => self.deserialize_byte_buf(v),
                _ => Err(self.mismatch("(any)")),
            },
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.num(ScalarKind::Bool, 1, "bool")? {
            Num::Bool(b) => v.visit_bool(b),
            _ => Err(self.mismatch("bool")),
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

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.num(ScalarKind::Float, 4, "f32")? {
            Num::Float(x) => v.visit_f32(x as f32),
            _ => Err(self.mismatch("f32")),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.num(ScalarKind::Float, 8, "f64")? {
            Num::Float(x) => v.visit_f64(x),
            _ => Err(self.mismatch("f64")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_string(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_string(v)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.scalar().ok_or_else(|| self.mismatch("String"))?;
        match (s.kind(), decode_value(s, self.bytes)) {
            (ScalarKind::Unicode, Value::Str(t)) => v.visit_string(t),
            (ScalarKind::Bytes, Value::Bytes(b)) => match String::from_utf8(b) {
                Ok(t) => v.visit_string(t),
                Err(_) => Err(at(&self.path, format!("dtype {} is not UTF-8", self.dtype))),
            },
            _ => Err(self.mismatch("String")),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_byte_buf(v)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.scalar().map(|s| decode_value(s, self.bytes)) {
            Some(Value::Bytes(b)) => v.visit_byte_buf(b),
            _ => Err(self.mismatch("bytes")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.dtype {
            Dtype::Subarray { base, shape } => {
                let (first, rest) = match shape.split_first() {
                    Some((f, r)) => (*f, r.to_vec()),
                    None => (1, Vec::new()),
                };
                let count = usize::try_from(first).map_err(|_| self.mismatch("sequence"))?;
                let seq = Seq {
                    base,
                    rest,
                    bytes: self.bytes,
                    count,
                    next: 0,
                    path: &self.path,
                };
                let path = self.path.clone();
                v.visit_seq(seq).map_err(|e| locate(&path, e))
            }
            Dtype::Scalar(s) if s.kind() == ScalarKind::Bytes => {
                match decode_value(s, self.bytes) {
                    Value::Bytes(b) => v.visit_seq(b.into_deserializer()),
                    _ => Err(self.mismatch("sequence")),
                }
            }
            _ => Err(self.mismatch("sequence")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.dtype {
            Dtype::Struct(st) => {
                let map = Fields {
                    fields: st.fields(),
                    bytes: self.bytes,
                    next: 0,
                    path: &self.path,
                };
                let path = self.path.clone();
                v.visit_map(map).map_err(|e| locate(&path, e))
            }
            _ => Err(self.mismatch("struct")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, DeError> {
        Err(self.mismatch("enum"))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_string(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

/// The elements of one subarray dimension.
struct Seq<'d, 'p> {
    base: &'d Dtype,
    rest: Vec<u64>,
    bytes: &'d [u8],
    count: usize,
    next: usize,
    path: &'p str,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.next >= self.count {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        let path = format!("{}[{i}]", self.path);
        let sub;
        let dtype = if self.rest.is_empty() {
            self.base
        } else {
            sub = Dtype::Subarray {
                base: Box::new(self.base.clone()),
                shape: self.rest.clone(),
            };
            &sub
        };
        let size = dtype.itemsize();
        let bytes = i
            .checked_mul(size)
            .and_then(|s| self.bytes.get(s..s.checked_add(size)?))
            .ok_or_else(|| at(&path, "element lies outside the record".to_string()))?;
        seed.deserialize(Decoder::new(dtype, bytes, path.clone()))
            .map(Some)
            .map_err(|e| locate(&path, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.count.saturating_sub(self.next).min(self.bytes.len()))
    }
}

/// The fields of one struct, as a map from name to value.
struct Fields<'d, 'p> {
    fields: &'d [crate::dtype::Field],
    bytes: &'d [u8],
    next: usize,
    path: &'p str,
}

impl<'de> MapAccess<'de> for Fields<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.fields.get(self.next) {
            None => Ok(None),
            Some(f) => seed
                .deserialize(f.name().to_string().into_deserializer())
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let f = self
            .fields
            .get(self.next)
            .ok_or_else(|| at(self.path, "value without a field".to_string()))?;
        self.next += 1;
        let path = if self.path.is_empty() {
            f.name().to_string()
        } else {
            format!("{}.{}", self.path, f.name())
        };
        let size = f.dtype().itemsize();
        let bytes = f
            .offset()
            .checked_add(size)
            .and_then(|end| self.bytes.get(f.offset()..end))
            .ok_or_else(|| at(&path, "field lies outside the record".to_string()))?;
        seed.deserialize(Decoder::new(f.dtype(), bytes, path.clone()))
            .map_err(|e| locate(&path, e))
    }
}
