//! Encodes one record into its slot of a payload: a serde serializer that
//! walks the value and the target dtype together, fields matched by name.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::dtype::{ByteOrder, Dtype, Field, Scalar, ScalarKind, Struct};
use crate::typed::encode::encode_ucs4;

use super::dates;
use super::layout::date_parts;
use super::problem::{Loc, Problem, RecError, want};

/// Encodes `value` as one element of `dtype` into `slot` (its itemsize,
/// zeroed).
pub(crate) fn encode<R: Serialize + ?Sized>(
    value: &R,
    dtype: &Dtype,
    slot: &mut [u8],
) -> Result<(), RecError> {
    value.serialize(Encoder {
        dtype,
        slot,
        path: Loc::Root,
    })
}

/// Serializes one value of `dtype` into `slot`.
struct Encoder<'a> {
    dtype: &'a Dtype,
    slot: &'a mut [u8],
    path: Loc<'a>,
}

impl<'a> Encoder<'a> {
    fn mismatch(&self, expected: String) -> RecError {
        RecError::at(
            &self.path,
            Problem::Mismatch {
                expected,
                found: self.dtype.descr(),
            },
        )
    }

    fn value(&self, msg: String) -> RecError {
        RecError::at(&self.path, Problem::Value(msg))
    }

    /// The scalar if the dtype is exactly `kind` of `size` bytes.
    fn exact(&self, kind: ScalarKind, size: usize, rust: &str) -> Result<Scalar, RecError> {
        match self.dtype.as_scalar() {
            Some(s) if s.kind() == kind && s.itemsize() == size && self.slot.len() == size => {
                Ok(*s)
            }
            _ => Err(self.mismatch(want(kind, size, rust))),
        }
    }

    /// Writes a number's little- or big-endian bytes as the dtype says.
    fn put<const N: usize>(
        self,
        kind: ScalarKind,
        rust: &str,
        le: [u8; N],
        be: [u8; N],
    ) -> Result<(), RecError> {
        let s = self.exact(kind, N, rust)?;
        let bytes = if s.byte_order() == ByteOrder::Big {
            be
        } else {
            le
        };
        self.slot.copy_from_slice(&bytes);
        Ok(())
    }

    /// Puts a byte string into an `S<n>` slot (NUL-padded).
    fn put_bytes(self, v: &[u8], rust: &str) -> Result<(), RecError> {
        match self.dtype.as_scalar() {
            Some(s) if s.kind() == ScalarKind::Bytes => match self.slot.get_mut(..v.len()) {
                Some(dst) => {
                    dst.copy_from_slice(v);
                    Ok(())
                }
                None => Err(self.too_long(v.len(), "bytes")),
            },
            _ => Err(self.mismatch(format!("'|S<n>' ({rust})"))),
        }
    }

    fn too_long(&self, len: usize, unit: &str) -> RecError {
        self.value(format!(
            "{len} {unit} do not fit {} (NumPy would cut them; npymap refuses)",
            self.dtype.descr()
        ))
    }

    fn refuse(&self, what: &str) -> RecError {
        self.value(format!(
            "{what} has no dtype; records write structs, numbers, bool, text, bytes and sequences"
        ))
    }
}

impl<'a> ser::Serializer for Encoder<'a> {
    type Ok = ();
    type Error = RecError;
    type SerializeSeq = SeqEncoder<'a>;
    type SerializeTuple = SeqEncoder<'a>;
    type SerializeTupleStruct = SeqEncoder<'a>;
    type SerializeTupleVariant = Impossible<(), RecError>;
    type SerializeMap = Impossible<(), RecError>;
    type SerializeStruct = StructEncoder<'a>;
    type SerializeStructVariant = Impossible<(), RecError>;

    fn serialize_bool(self, v: bool) -> Result<(), RecError> {
        self.put(ScalarKind::Bool, "bool", [u8::from(v)], [u8::from(v)])
    }
    fn serialize_i8(self, v: i8) -> Result<(), RecError> {
        self.put(ScalarKind::Int, "i8", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_i16(self, v: i16) -> Result<(), RecError> {
        self.put(ScalarKind::Int, "i16", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_i32(self, v: i32) -> Result<(), RecError> {
        self.put(ScalarKind::Int, "i32", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_i64(self, v: i64) -> Result<(), RecError> {
        self.put(ScalarKind::Int, "i64", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_u8(self, v: u8) -> Result<(), RecError> {
        self.put(ScalarKind::UInt, "u8", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_u16(self, v: u16) -> Result<(), RecError> {
        self.put(ScalarKind::UInt, "u16", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_u32(self, v: u32) -> Result<(), RecError> {
        self.put(ScalarKind::UInt, "u32", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_u64(self, v: u64) -> Result<(), RecError> {
        self.put(ScalarKind::UInt, "u64", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_i128(self, _: i128) -> Result<(), RecError> {
        Err(self.refuse("i128"))
    }
    fn serialize_u128(self, _: u128) -> Result<(), RecError> {
        Err(self.refuse("u128"))
    }
    fn serialize_f32(self, v: f32) -> Result<(), RecError> {
        self.put(ScalarKind::Float, "f32", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_f64(self, v: f64) -> Result<(), RecError> {
        self.put(ScalarKind::Float, "f64", v.to_le_bytes(), v.to_be_bytes())
    }
    fn serialize_char(self, v: char) -> Result<(), RecError> {
        let mut buf = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut buf))
    }
    /// `U<n>` as UCS-4; `S<n>` as the text's UTF-8 bytes.
    fn serialize_str(self, v: &str) -> Result<(), RecError> {
        match self.dtype.as_scalar() {
            Some(s) if s.kind() == ScalarKind::Unicode => {
                if encode_ucs4(v, s.byte_order() == ByteOrder::Big, self.slot) {
                    Ok(())
                } else {
                    Err(self.too_long(v.chars().count(), "characters"))
                }
            }
            Some(s) if s.kind() == ScalarKind::Bytes => self.put_bytes(v.as_bytes(), "str"),
            _ => Err(self.mismatch("'<U<n>' or '|S<n>' (str)".to_string())),
        }
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), RecError> {
        self.put_bytes(v, "bytes")
    }
    fn serialize_none(self) -> Result<(), RecError> {
        Err(self.refuse("None"))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), RecError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), RecError> {
        Err(self.refuse("()"))
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), RecError> {
        Err(self.refuse(&format!("unit struct {name}")))
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), RecError> {
        Err(self.refuse(&format!("enum {name}")))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), RecError> {
        if let Some(parts) = date_parts(name, value) {
            let (v, unit, mult) = parts.map_err(|m| self.value(m))?;
            let want_kind = dates::kind(name, unit, mult);
            return match self.dtype.as_scalar() {
                Some(s) if Some(s.kind()) == want_kind && self.slot.len() == 8 => {
                    let bytes = if s.byte_order() == ByteOrder::Big {
                        v.to_be_bytes()
                    } else {
                        v.to_le_bytes()
                    };
                    self.slot.copy_from_slice(&bytes);
                    Ok(())
                }
                _ => {
                    let rust = if name == dates::DATETIME {
                        "DateTime64"
                    } else {
                        "TimeDelta64"
                    };
                    let d = want_kind.and_then(|k| Dtype::scalar(k, None, 8).ok());
                    Err(self.mismatch(format!(
                        "{} ({rust})",
                        d.map_or_else(|| "a date".to_string(), |d| d.descr())
                    )))
                }
            };
        }
        if name == "f16" {
            // `half::f16` serializes its bits as a `u16`: written as a
            // `u2` of the field's byte order, they are the `f2` element.
            let s = self.exact(ScalarKind::Float, 2, "f16")?;
            let bits = Dtype::scalar(ScalarKind::UInt, Some(s.byte_order()), 2)
                .map_err(|e| self.value(e.to_string()))?;
            return value.serialize(Encoder {
                dtype: &bits,
                slot: self.slot,
                path: self.path,
            });
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), RecError> {
        Err(self.refuse(&format!("enum {name}")))
    }
    /// A subarray's first axis, or the bytes of an `S<n>` (so a `Vec<u8>`
    /// writes one).
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqEncoder<'a>, RecError> {
        let target = match self.dtype {
            Dtype::Subarray { base, shape } => {
                let (count, elem) = match shape.split_first() {
                    None => (1, Cow::Borrowed(&**base)),
                    Some((&n, [])) => (n, Cow::Borrowed(&**base)),
                    Some((&n, rest)) => (
                        n,
                        Cow::Owned(Dtype::Subarray {
                            base: base.clone(),
                            shape: rest.to_vec(),
                        }),
                    ),
                };
                let count = usize::try_from(count)
                    .map_err(|_| self.value("subarray too long".to_string()))?;
                let elem_size = elem.itemsize();
                if count.checked_mul(elem_size) != Some(self.slot.len()) {
                    return Err(self.value("subarray does not fill its field".to_string()));
                }
                SeqTarget::Elements {
                    elem,
                    elem_size,
                    count,
                }
            }
            Dtype::Scalar(s) if s.kind() == ScalarKind::Bytes => SeqTarget::Bytes(
                Dtype::scalar(ScalarKind::UInt, None, 1).map_err(|e| self.value(e.to_string()))?,
            ),
            _ => return Err(self.mismatch("a subarray (sequence)".to_string())),
        };
        Ok(SeqEncoder {
            target,
            slot: self.slot,
            path: self.path,
            next: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqEncoder<'a>, RecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<SeqEncoder<'a>, RecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, RecError> {
        Err(self.refuse(&format!("enum {name}")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, RecError> {
        Err(self.refuse("a map"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<StructEncoder<'a>, RecError> {
        match self.dtype {
            Dtype::Struct(st) => Ok(StructEncoder {
                st,
                written: vec![false; st.fields().len()],
                slot: self.slot,
                path: self.path,
            }),
            _ => Err(self.mismatch("a structured dtype (struct)".to_string())),
        }
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, RecError> {
        Err(self.refuse(&format!("enum {name}")))
    }
}

/// Where a sequence's elements go.
enum SeqTarget<'a> {
    /// Along a subarray's first axis: `count` elements of `elem`.
    Elements {
        elem: Cow<'a, Dtype>,
        elem_size: usize,
        count: usize,
    },
    /// One `u8` (this `|u1`) per byte of an `S<n>`.
    Bytes(Dtype),
}

/// The elements of one sequence.
struct SeqEncoder<'a> {
    target: SeqTarget<'a>,
    slot: &'a mut [u8],
    path: Loc<'a>,
    next: usize,
}

impl SeqEncoder<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        let i = self.next;
        self.next += 1;
        let path = Loc::Index(&self.path, i);
        let (dtype, start, size) = match &self.target {
            SeqTarget::Elements {
                elem,
                elem_size,
                count,
            } => {
                if i >= *count {
                    return Err(RecError::at(
                        &self.path,
                        Problem::Value(format!(
                            "has more than the {count} elements of its subarray"
                        )),
                    ));
                }
                (&**elem, i.saturating_mul(*elem_size), *elem_size)
            }
            SeqTarget::Bytes(u1) => (u1, i, 1),
        };
        let len = self.slot.len();
        let Some(slot) = self.slot.get_mut(start..start.saturating_add(size)) else {
            return Err(RecError::at(
                &self.path,
                Problem::Value(format!("has more than the {len} bytes of its field")),
            ));
        };
        value
            .serialize(Encoder { dtype, slot, path })
            .map_err(|e| e.located(&path))
    }

    fn done(self) -> Result<(), RecError> {
        match self.target {
            SeqTarget::Elements { count, .. } if self.next != count => Err(RecError::at(
                &self.path,
                Problem::Value(format!("has {} elements, its subarray {count}", self.next)),
            )),
            _ => Ok(()),
        }
    }
}

impl ser::SerializeSeq for SeqEncoder<'_> {
    type Ok = ();
    type Error = RecError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RecError> {
        self.done()
    }
}

impl ser::SerializeTuple for SeqEncoder<'_> {
    type Ok = ();
    type Error = RecError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RecError> {
        self.done()
    }
}

impl ser::SerializeTupleStruct for SeqEncoder<'_> {
    type Ok = ();
    type Error = RecError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RecError> {
        self.done()
    }
}

/// The fields of one struct, found in the dtype by name.
struct StructEncoder<'a> {
    st: &'a Struct,
    written: Vec<bool>,
    slot: &'a mut [u8],
    path: Loc<'a>,
}

impl ser::SerializeStruct for StructEncoder<'_> {
    type Ok = ();
    type Error = RecError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RecError> {
        let path = Loc::Field(&self.path, key);
        let found = self.st.fields().iter().position(|f| f.name() == key);
        let Some((i, f)) = found.and_then(|i| Some((i, self.st.fields().get(i)?))) else {
            return Err(RecError::at(&path, Problem::Missing));
        };
        if let Some(w) = self.written.get_mut(i) {
            *w = true;
        }
        let slot = field_slot(self.slot, f).ok_or_else(|| {
            RecError::at(
                &path,
                Problem::Value("field lies outside the record".into()),
            )
        })?;
        value
            .serialize(Encoder {
                dtype: f.dtype(),
                slot,
                path,
            })
            .map_err(|e| e.located(&path))
    }
    fn end(self) -> Result<(), RecError> {
        match self.written.iter().position(|w| !w) {
            Some(i) => {
                let name = self.st.fields().get(i).map_or("", |f| f.name());
                Err(RecError::at(
                    &Loc::Field(&self.path, name),
                    Problem::NotWritten,
                ))
            }
            None => Ok(()),
        }
    }
}

fn field_slot<'s>(slot: &'s mut [u8], f: &Field) -> Option<&'s mut [u8]> {
    let end = f.offset().checked_add(f.dtype().itemsize())?;
    slot.get_mut(f.offset()..end)
}
