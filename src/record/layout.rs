//! The dtype of a record type, derived by serializing its values: serde
//! tells the field names, their order and each value's type; a pass over
//! all records gives the widths of text and byte strings.

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::dtype::{Dtype, MAX_NESTING, ScalarKind};
use crate::error::{ErrorKind, Result};

use super::dates;
use super::problem::{Loc, Problem, RecError, join};

/// NumPy keeps itemsizes in a C `int`.
const MAX_ITEMSIZE: usize = i32::MAX as usize;

/// What one value says about its dtype.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// A number, bool or date: its dtype is fixed by its Rust type.
    Fixed(Dtype),
    /// Text of this many code points (`U<n>`).
    Text(usize),
    /// A byte string of this many bytes (`S<n>`).
    Bytes(usize),
    /// A sequence of this length; `None` while no element was seen.
    Seq(usize, Option<Box<Shape>>),
    /// Named fields in declaration order.
    Struct(Vec<(&'static str, Shape)>),
}

/// The derived dtype of `records` (see [`super::dtype_for`]).
pub(crate) fn dtype_for<R: Serialize>(records: &[R]) -> Result<Dtype> {
    let mut merged: Option<Shape> = None;
    for (index, r) in records.iter().enumerate() {
        let shape = r
            .serialize(Shaper {
                path: Loc::Root,
                depth: 0,
            })
            .and_then(|s| match merged.take() {
                None => Ok(s),
                Some(m) => merge(m, s, &Loc::Root),
            })
            .map_err(|e| e.into_error(index, None))?;
        merged = Some(shape);
    }
    let Some(shape) = merged else {
        return Err(ErrorKind::Unsupported(
            "records: no record to derive the dtype from; give the dtype (write_with_dtype)"
                .to_string(),
        )
        .into());
    };
    if !matches!(shape, Shape::Struct(_)) {
        return Err(ErrorKind::Unsupported(
            "records: the record type does not serialize as a struct with named fields".to_string(),
        )
        .into());
    }
    to_dtype(shape, "")
}

/// One shape covering `a` and `b`: the wider text, the same numbers, the
/// same lengths and fields.
fn merge(a: Shape, b: Shape, path: &Loc<'_>) -> Result<Shape, RecError> {
    match (a, b) {
        (Shape::Text(x), Shape::Text(y)) => Ok(Shape::Text(x.max(y))),
        (Shape::Bytes(x), Shape::Bytes(y)) => Ok(Shape::Bytes(x.max(y))),
        (Shape::Fixed(x), Shape::Fixed(y)) if x == y => Ok(Shape::Fixed(x)),
        (Shape::Seq(n, x), Shape::Seq(m, y)) if n == m => Ok(Shape::Seq(
            n,
            match (x, y) {
                (Some(x), Some(y)) => Some(Box::new(merge(*x, *y, &Loc::Elem(path))?)),
                (x, y) => x.or(y),
            },
        )),
        (Shape::Struct(x), Shape::Struct(y))
            if x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.0 == q.0) =>
        {
            x.into_iter()
                .zip(y)
                .map(|((name, p), (_, q))| Ok((name, merge(p, q, &Loc::Field(path, name))?)))
                .collect::<Result<Vec<_>, RecError>>()
                .map(Shape::Struct)
        }
        (a, b) => Err(RecError::at(
            path,
            Problem::Value(format!(
                "is {} here but {} before; every record must have the same layout",
                describe(&b),
                describe(&a)
            )),
        )),
    }
}

fn describe(s: &Shape) -> String {
    match s {
        Shape::Fixed(d) => d.descr(),
        Shape::Text(_) => "text".to_string(),
        Shape::Bytes(_) => "a byte string".to_string(),
        Shape::Seq(n, _) => format!("a sequence of {n}"),
        Shape::Struct(f) => format!("a struct of {} fields", f.len()),
    }
}

/// The dtype of a merged shape.
fn to_dtype(shape: Shape, path: &str) -> Result<Dtype> {
    let located = |reason: String| -> crate::error::Error {
        ErrorKind::Unsupported(format!(
            "records: field `{}`: {reason}",
            if path.is_empty() { "<record>" } else { path }
        ))
        .into()
    };
    match shape {
        Shape::Fixed(d) => Ok(d),
        Shape::Text(n) => {
            let size = n.max(1).checked_mul(4).filter(|&s| s <= MAX_ITEMSIZE);
            let size =
                size.ok_or_else(|| located(format!("text of {n} characters is too long")))?;
            Dtype::scalar(ScalarKind::Unicode, None, size)
        }
        Shape::Bytes(n) => {
            if n > MAX_ITEMSIZE {
                return Err(located(format!("{n} bytes are too long")));
            }
            Dtype::scalar(ScalarKind::Bytes, None, n.max(1))
        }
        Shape::Seq(_, None) => Err(located(
            "every record has an empty sequence here, so its element type is unknown; \
             give the dtype (write_with_dtype)"
                .to_string(),
        )),
        Shape::Seq(n, Some(elem)) => {
            let elem = to_dtype(*elem, &format!("{path}[]"))?;
            let n = n as u64;
            // NumPy folds a subarray of subarrays into one shape.
            let (base, shape) = match elem {
                Dtype::Subarray { base, shape } => {
                    let mut s = vec![n];
                    s.extend(shape);
                    (base, s)
                }
                other => (Box::new(other), vec![n]),
            };
            let d = Dtype::Subarray { base, shape };
            let size = d.itemsize();
            if size > MAX_ITEMSIZE || d.nesting() > MAX_NESTING {
                return Err(located(format!(
                    "a subarray of {size} bytes and {} levels is past NumPy's limits",
                    d.nesting()
                )));
            }
            Ok(d)
        }
        Shape::Struct(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for (name, s) in fields {
                out.push((name, to_dtype(s, &join(path, name))?));
            }
            Dtype::structured(out)
        }
    }
}

fn fixed(kind: ScalarKind, size: usize) -> Result<Shape, RecError> {
    Dtype::scalar(kind, None, size)
        .map(Shape::Fixed)
        .map_err(|e| RecError::new(Problem::Value(e.to_string())))
}

/// Serializes one value into its [`Shape`].
struct Shaper<'a> {
    path: Loc<'a>,
    depth: usize,
}

impl Shaper<'_> {
    fn refuse(&self, what: &str) -> RecError {
        RecError::at(
            &self.path,
            Problem::Value(format!(
                "{what} has no dtype; records hold structs, numbers, bool, text, bytes and sequences"
            )),
        )
    }

    /// The depth of the values inside this one, refused past
    /// [`MAX_NESTING`].
    fn deeper(&self) -> Result<usize, RecError> {
        if self.depth >= MAX_NESTING {
            return Err(RecError::at(
                &self.path,
                Problem::Value(format!("nesting deeper than {MAX_NESTING} levels")),
            ));
        }
        Ok(self.depth + 1)
    }
}

impl<'a> ser::Serializer for Shaper<'a> {
    type Ok = Shape;
    type Error = RecError;
    type SerializeSeq = SeqShaper<'a>;
    type SerializeTuple = SeqShaper<'a>;
    type SerializeTupleStruct = SeqShaper<'a>;
    type SerializeTupleVariant = Impossible<Shape, RecError>;
    type SerializeMap = Impossible<Shape, RecError>;
    type SerializeStruct = StructShaper<'a>;
    type SerializeStructVariant = Impossible<Shape, RecError>;

    fn serialize_bool(self, _: bool) -> Result<Shape, RecError> {
        fixed(ScalarKind::Bool, 1)
    }
    fn serialize_i8(self, _: i8) -> Result<Shape, RecError> {
        fixed(ScalarKind::Int, 1)
    }
    fn serialize_i16(self, _: i16) -> Result<Shape, RecError> {
        fixed(ScalarKind::Int, 2)
    }
    fn serialize_i32(self, _: i32) -> Result<Shape, RecError> {
        fixed(ScalarKind::Int, 4)
    }
    fn serialize_i64(self, _: i64) -> Result<Shape, RecError> {
        fixed(ScalarKind::Int, 8)
    }
    fn serialize_u8(self, _: u8) -> Result<Shape, RecError> {
        fixed(ScalarKind::UInt, 1)
    }
    fn serialize_u16(self, _: u16) -> Result<Shape, RecError> {
        fixed(ScalarKind::UInt, 2)
    }
    fn serialize_u32(self, _: u32) -> Result<Shape, RecError> {
        fixed(ScalarKind::UInt, 4)
    }
    fn serialize_u64(self, _: u64) -> Result<Shape, RecError> {
        fixed(ScalarKind::UInt, 8)
    }
    fn serialize_i128(self, _: i128) -> Result<Shape, RecError> {
        Err(self.refuse("i128"))
    }
    fn serialize_u128(self, _: u128) -> Result<Shape, RecError> {
        Err(self.refuse("u128"))
    }
    fn serialize_f32(self, _: f32) -> Result<Shape, RecError> {
        fixed(ScalarKind::Float, 4)
    }
    fn serialize_f64(self, _: f64) -> Result<Shape, RecError> {
        fixed(ScalarKind::Float, 8)
    }
    fn serialize_char(self, _: char) -> Result<Shape, RecError> {
        Ok(Shape::Text(1))
    }
    fn serialize_str(self, v: &str) -> Result<Shape, RecError> {
        Ok(Shape::Text(v.chars().count()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Shape, RecError> {
        Ok(Shape::Bytes(v.len()))
    }
    fn serialize_none(self) -> Result<Shape, RecError> {
        Err(self.refuse("None"))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Shape, RecError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Shape, RecError> {
        Err(self.refuse("()"))
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Shape, RecError> {
        Err(self.refuse(&format!("unit struct {name}")))
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Shape, RecError> {
        Err(self.refuse(&format!("enum {name}")))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Shape, RecError> {
        if let Some(parts) = date_parts(name, value) {
            let (_, unit, mult) = parts.map_err(|m| RecError::at(&self.path, Problem::Value(m)))?;
            let kind = dates::kind(name, unit, mult).unwrap_or(ScalarKind::Void);
            return fixed(kind, 8);
        }
        let inner = value.serialize(self)?;
        // `half::f16` serializes as a newtype around its `u16` bits.
        if name == "f16"
            && matches!(&inner, Shape::Fixed(d) if d.as_scalar().is_some_and(|s| s.kind() == ScalarKind::UInt && s.itemsize() == 2))
        {
            return fixed(ScalarKind::Float, 2);
        }
        Ok(inner)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Shape, RecError> {
        Err(self.refuse(&format!("enum {name}")))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqShaper<'a>, RecError> {
        Ok(SeqShaper {
            depth: self.deeper()?,
            parent: self.path,
            len: 0,
            elem: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqShaper<'a>, RecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<SeqShaper<'a>, RecError> {
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
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<StructShaper<'a>, RecError> {
        let depth = self.deeper()?;
        Ok(StructShaper {
            path: self.path,
            depth,
            fields: Vec::with_capacity(len.min(1024)),
        })
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

/// The elements of a sequence, merged into one element shape.
struct SeqShaper<'a> {
    depth: usize,
    parent: Loc<'a>,
    len: usize,
    elem: Option<Shape>,
}

impl SeqShaper<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        let path = Loc::Index(&self.parent, self.len);
        let s = value.serialize(Shaper {
            path,
            depth: self.depth,
        })?;
        self.elem = Some(match self.elem.take() {
            None => s,
            Some(e) => merge(e, s, &path)?,
        });
        self.len += 1;
        Ok(())
    }

    fn done(self) -> Shape {
        Shape::Seq(self.len, self.elem.map(Box::new))
    }
}

impl ser::SerializeSeq for SeqShaper<'_> {
    type Ok = Shape;
    type Error = RecError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, RecError> {
        Ok(self.done())
    }
}

impl ser::SerializeTuple for SeqShaper<'_> {
    type Ok = Shape;
    type Error = RecError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, RecError> {
        Ok(self.done())
    }
}

impl ser::SerializeTupleStruct for SeqShaper<'_> {
    type Ok = Shape;
    type Error = RecError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), RecError> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, RecError> {
        Ok(self.done())
    }
}

/// The fields of a struct in declaration order.
struct StructShaper<'a> {
    path: Loc<'a>,
    depth: usize,
    fields: Vec<(&'static str, Shape)>,
}

impl ser::SerializeStruct for StructShaper<'_> {
    type Ok = Shape;
    type Error = RecError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RecError> {
        let s = value.serialize(Shaper {
            path: Loc::Field(&self.path, key),
            depth: self.depth,
        })?;
        self.fields.push((key, s));
        Ok(())
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), RecError> {
        Err(RecError::at(
            &Loc::Field(&self.path, key),
            Problem::Value(
                "is skipped in this record; every record must write every field".to_string(),
            ),
        ))
    }
    fn end(self) -> Result<Shape, RecError> {
        Ok(Shape::Struct(self.fields))
    }
}

/// For a date newtype ([`dates::DATETIME`], [`dates::TIMEDELTA`]): its
/// parts, or why its text is not a date.
pub(crate) fn date_parts<T: ?Sized + Serialize>(
    name: &str,
    value: &T,
) -> Option<std::result::Result<dates::Parts, String>> {
    dates::kind(name, crate::dtype::TimeUnit::Generic, 1)?;
    let text = dates::text_of(value);
    Some(
        text.as_deref()
            .and_then(dates::parse)
            .ok_or_else(|| format!("{text:?} is not a date value such as \"5[s]\"")),
    )
}
