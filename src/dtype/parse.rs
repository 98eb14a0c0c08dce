//! From descr text, literals and JSON to [`Dtype`], following NumPy's
//! `descr_to_dtype` (see `spec/dtypes.md`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use super::{ByteOrder, Dtype, Field, Name, Scalar, ScalarKind, Struct, TimeUnit};
use crate::error::{Error, ErrorKind, Result, snippet};
use crate::literal::{Lit, MAX_DEPTH, Val};

/// Most fields a structured dtype may have. The header size limit bounds it
/// too; this keeps a hostile header's model small.
pub const MAX_FIELDS: usize = 1 << 20;

/// Most dimensions of a subarray field (NumPy's `NPY_MAXDIMS`).
const MAX_SUBARRAY_DIMS: usize = 64;

/// Deepest nesting of structs and subarrays in a dtype: 99, the deepest a
/// struct NumPy writes can be read back at all (CPython's parser stops at
/// 200 nested brackets, two per level), so every dtype NumPy can round-trip
/// opens here, and the recursive walks over a dtype stay shallow. The JSON
/// form of a dtype nested past about 60 levels exceeds serde_json's default
/// recursion limit (128): `--dtype` JSON that deep is refused with an error.
pub const MAX_NESTING: usize = 99;

/// Whether `n` fits NumPy's C `int` (itemsizes, offsets, subarray dims).
fn fits_c_int(n: usize) -> bool {
    i32::try_from(n).is_ok()
}

fn check_nesting(levels: usize) -> Result<()> {
    if levels > MAX_NESTING {
        return Err(ErrorKind::TooDeep { max: MAX_NESTING }.into());
    }
    Ok(())
}

fn bad(descr: &str, reason: impl Into<String>) -> Error {
    ErrorKind::Dtype {
        descr: Some(snippet(descr)),
        reason: reason.into(),
    }
    .into()
}

/// A dtype error about structure rather than one type string.
fn bad_structure(reason: impl Into<String>) -> Error {
    ErrorKind::Dtype {
        descr: None,
        reason: reason.into(),
    }
    .into()
}

/// Names NumPy understands, mapped to kind and size (x86-64 / aarch64 Linux).
fn named(name: &str) -> Option<(ScalarKind, usize)> {
    use ScalarKind::*;
    Some(match name {
        "bool" | "bool_" => (Bool, 1),
        "int8" | "byte" => (Int, 1),
        "int16" | "short" => (Int, 2),
        "int32" | "intc" => (Int, 4),
        "int64" | "int" | "int_" | "intp" | "long" | "longlong" => (Int, 8),
        "uint8" | "ubyte" => (UInt, 1),
        "uint16" | "ushort" => (UInt, 2),
        "uint32" | "uintc" => (UInt, 4),
        "uint64" | "uint" | "uintp" | "ulong" | "ulonglong" => (UInt, 8),
        "float16" | "half" => (Float, 2),
        "float32" | "single" => (Float, 4),
        "float64" | "double" | "float" => (Float, 8),
        "float128" | "longdouble" => (Float, 16),
        "complex64" | "csingle" => (Complex, 8),
        "complex128" | "cdouble" | "complex" => (Complex, 16),
        "complex256" | "clongdouble" => (Complex, 32),
        "object" | "object_" => (Object, 8),
        _ => return None,
    })
}

/// One-character type codes (`np.dtype('d')` etc.).
fn char_code(c: char) -> Option<(ScalarKind, usize)> {
    use ScalarKind::*;
    Some(match c {
        '?' => (Bool, 1),
        'b' => (Int, 1),
        'B' => (UInt, 1),
        'h' => (Int, 2),
        'H' => (UInt, 2),
        'i' => (Int, 4),
        'I' => (UInt, 4),
        'l' | 'q' | 'p' | 'n' => (Int, 8),
        'L' | 'Q' | 'P' | 'N' => (UInt, 8),
        'c' => (Bytes, 1),
        'e' => (Float, 2),
        'f' => (Float, 4),
        'd' => (Float, 8),
        'g' => (Float, 16),
        'F' => (Complex, 8),
        'D' => (Complex, 16),
        'G' => (Complex, 32),
        'O' => (Object, 8),
        _ => return None,
    })
}

/// Parses `[10s]`-style unit text (without the brackets).
fn time_unit(descr: &str, inner: &str) -> Result<(TimeUnit, u32)> {
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = inner.split_at(digits);
    let multiplier = if num.is_empty() {
        1
    } else {
        // NumPy stores the multiplier as a C int.
        num.parse::<u32>()
            .ok()
            .filter(|&m| m > 0 && i32::try_from(m).is_ok())
            .ok_or_else(|| bad(descr, "datetime multiplier must be between 1 and 2^31-1"))?
    };
    let unit = TimeUnit::from_str(unit).ok_or_else(|| {
        bad(
            descr,
            format!(
                "unknown datetime unit {:?} (expected one of Y M W D h m s ms us ns ps fs as generic)",
                snippet(unit)
            ),
        )
    })?;
    if unit == TimeUnit::Generic && multiplier != 1 {
        return Err(bad(descr, "the generic datetime unit takes no multiplier"));
    }
    Ok((unit, multiplier))
}

/// Parses a simple type string: an optional byte-order character followed
/// by a type code with size (`f8`, `S3`, `M8[ns]`), a one-character code
/// (`d`) or a NumPy name (`float64`, `datetime64[ns]`).
pub(crate) fn scalar_from_str(descr: &str) -> Result<Scalar> {
    let (order, body) = match descr.chars().next() {
        Some('<') => (Some(ByteOrder::Little), &descr[1..]),
        Some('>') => (Some(ByteOrder::Big), &descr[1..]),
        Some('=') => (Some(ByteOrder::NATIVE), &descr[1..]),
        Some('|') => (None, &descr[1..]),
        _ => (None, descr),
    };
    if body.is_empty() {
        return Err(bad(descr, "missing type code"));
    }
    // NumPy's names for the flexible types without a size: `np.dtype`
    // gives them itemsize 0, which npymap refuses (dtypes.md §1).
    if matches!(
        body,
        "str" | "bytes" | "void" | "unicode" | "str_" | "bytes_"
    ) {
        return Err(bad(descr, "zero itemsize"));
    }
    if let Some((kind, size)) = named(body) {
        return Scalar::new(kind, order, size);
    }
    // datetime64 / timedelta64 and their codes, with an optional [unit].
    let (head, unit) = match body.find('[') {
        Some(n) => {
            let inner = body
                .get(n + 1..)
                .and_then(|r| r.strip_suffix(']'))
                .ok_or_else(|| bad(descr, "unterminated datetime unit"))?;
            (&body[..n], Some(inner))
        }
        None => (body, None),
    };
    let time = match head {
        "M8" | "M" | "datetime64" => Some(true),
        "m8" | "m" | "timedelta64" => Some(false),
        _ => None,
    };
    if let Some(is_datetime) = time {
        let (unit, multiplier) = match unit {
            Some(u) => time_unit(descr, u)?,
            None => (TimeUnit::Generic, 1),
        };
        let kind = if is_datetime {
            ScalarKind::Datetime { unit, multiplier }
        } else {
            ScalarKind::Timedelta { unit, multiplier }
        };
        return Scalar::new(kind, order, 8);
    }
    if unit.is_some() {
        return Err(bad(descr, "only datetime64 and timedelta64 take a unit"));
    }
    let mut chars = body.chars();
    let code = chars.next().unwrap_or('?');
    let digits = chars.as_str();
    if digits.is_empty() {
        return match char_code(code) {
            Some((kind, size)) => Scalar::new(kind, order, size),
            None if matches!(code, 'S' | 'a' | 'U' | 'V') => Err(bad(descr, "zero itemsize")),
            None => Err(bad(descr, "unknown type code")),
        };
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(descr, "unknown type code"));
    }
    // NumPy keeps a flexible type's itemsize in a C int.
    let n: usize = digits
        .parse()
        .ok()
        .filter(|&n| fits_c_int(n))
        .ok_or_else(|| bad(descr, "size too large (over 2^31-1 bytes)"))?;
    let (kind, size) = match code {
        'b' => (ScalarKind::Bool, n),
        'i' => (ScalarKind::Int, n),
        'u' => (ScalarKind::UInt, n),
        'f' => (ScalarKind::Float, n),
        'c' => (ScalarKind::Complex, n),
        'S' | 'a' => (ScalarKind::Bytes, n),
        'V' => (ScalarKind::Void, n),
        'O' => (ScalarKind::Object, n),
        'U' => (
            ScalarKind::Unicode,
            n.checked_mul(4)
                .filter(|&s| i32::try_from(s).is_ok())
                .ok_or_else(|| bad(descr, "size too large (over 2^31-1 bytes)"))?,
        ),
        _ => return Err(bad(descr, "unknown type code")),
    };
    Scalar::new(kind, order, size).map_err(|e| match e.kind() {
        ErrorKind::Dtype { reason, .. } => bad(descr, reason.clone()),
        _ => e,
    })
}

/// A field as listed in a descr, before layout. Names and titles borrow
/// from the descr text (or its literal) while they are checked; the final
/// [`Field`] is built once, after every check passed.
pub(crate) struct RawField<'a> {
    pub name: Cow<'a, str>,
    pub title: Option<Cow<'a, str>>,
    pub dtype: Dtype,
    /// A NumPy padding entry (`('', '|V4')`): takes room, is not a field.
    pub pad: bool,
}

/// Lays fields out one after another, as `descr_to_dtype` does.
pub(crate) fn build_struct(raw: Vec<RawField<'_>>) -> Result<Dtype> {
    if raw.len() > MAX_FIELDS {
        return Err(bad_structure(format!("more than {MAX_FIELDS} fields")));
    }
    // foldhash with a per-process random seed: several times cheaper than
    // SipHash on short names, and an input cannot precompute collisions.
    let mut seen: HashSet<&str, foldhash::quality::RandomState> =
        HashSet::with_capacity_and_hasher(raw.len(), foldhash::quality::RandomState::default());
    for f in raw.iter().filter(|f| !f.pad) {
        for n in std::iter::once(f.name.as_ref()).chain(f.title.as_deref()) {
            // The header grammar refuses NUL in strings, so a name holding
            // one (possible from JSON or the builder) could be written but
            // never read back.
            if n.contains('\0') {
                return Err(bad_structure(format!(
                    "field name \"{}\" contains a NUL character",
                    snippet(n)
                )));
            }
            if !seen.insert(n) {
                return Err(bad_structure(format!(
                    "field name \"{}\" is used twice (as a name or title)",
                    snippet(n)
                )));
            }
        }
    }
    drop(seen);
    check_nesting(1 + raw.iter().map(|f| f.dtype.nesting()).max().unwrap_or(0))?;
    // Offsets first, so a layout error costs no field.
    // NumPy keeps offsets and itemsizes in C ints (`descr_to_dtype`:
    // "integer won't fit into a C int"); the cap also keeps every padding
    // gap renderable as one `|V<n>` entry. The partial sums only grow, so
    // checking the total is checking every offset.
    let itemsize = raw
        .iter()
        .try_fold(0usize, |o, f| {
            o.checked_add(f.dtype.itemsize()).filter(|&o| fits_c_int(o))
        })
        .ok_or_else(|| {
            bad_structure("structured dtype itemsize must fit into a C int (2^31-1 bytes)")
        })?;
    let mut offset: usize = 0;
    let mut fields = Vec::with_capacity(raw.iter().filter(|f| !f.pad).count());
    for f in raw {
        // Cannot overflow: the sum of every size was checked above.
        let next = offset.saturating_add(f.dtype.itemsize());
        if !f.pad {
            fields.push(Field {
                name: owned_name(f.name),
                title: f.title.map(owned_name),
                offset,
                dtype: f.dtype,
            });
        }
        offset = next;
    }
    Ok(Dtype::Struct(Struct { fields, itemsize }))
}

/// The stored form of a checked name: inline when short, so a borrowed
/// name usually costs no allocation at all.
fn owned_name(n: Cow<'_, str>) -> Name {
    match n {
        Cow::Borrowed(s) => Name::new(s),
        Cow::Owned(s) => Name::from(s),
    }
}

/// A [`Hasher`] for keys that already are seeded 64-bit hashes: it passes
/// the key through, so the set's table uses the hash as given.
#[derive(Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `u64` keys; a plain fold keeps it total.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// How many fields a [`PlainStruct`] checks before it builds them.
const PENDING: usize = 64;

/// Builds NumPy's plain structured dtype, `[('a', '<f4'), ('b', '>i8')]`,
/// one field at a time, for the header fast path (which only ever accepts).
/// A `None` from any step means "not certainly the general parser's
/// answer": a bad type string, a name that is empty, holds a NUL or was
/// seen before, too many fields, an itemsize past a C int, or two distinct
/// names whose seeded 64-bit hashes collide. The fast path then leaves the
/// header to the general parser, which gives the result or the error.
///
/// Each [`Field`] is built once, at its final offset. Names are checked for
/// repeats by their hashes alone (8 bytes a slot, no string compare), which
/// keeps the peak memory of a 1000-field parse small.
pub(crate) struct PlainStruct<'a> {
    fields: Vec<Field>,
    hashes: HashSet<u64, BuildHasherDefault<Passthrough>>,
    seed: foldhash::quality::RandomState,
    /// The last type string and its parse: neighbours usually share one.
    last: Option<(&'a str, Scalar)>,
    /// Fields checked but not yet built: name, type and offset.
    pending: Vec<(&'a str, Scalar, usize)>,
    itemsize: usize,
}

impl<'a> PlainStruct<'a> {
    /// An empty builder with room for about `fields` fields.
    pub(crate) fn with_capacity(fields: usize) -> Self {
        let fields = fields.min(MAX_FIELDS);
        PlainStruct {
            fields: Vec::with_capacity(fields),
            hashes: HashSet::with_capacity_and_hasher(fields, BuildHasherDefault::default()),
            seed: foldhash::quality::RandomState::default(),
            last: None,
            pending: Vec::with_capacity(PENDING.min(fields.max(1))),
            itemsize: 0,
        }
    }

    /// Adds the field `(name, descr)`; `None` if the general parser must
    /// decide (see the type's documentation).
    pub(crate) fn push(&mut self, name: &'a str, descr: &'a str) -> Option<()> {
        let scalar = match self.last {
            Some((d, s)) if d == descr => s,
            _ => {
                let s = scalar_from_str(descr).ok()?;
                self.last = Some((descr, s));
                s
            }
        };
        // '' is padding (void) or an error; NUL is refused; both are the
        // general parser's to handle.
        let count = self.fields.len().saturating_add(self.pending.len());
        if name.is_empty() || name.contains('\0') || count >= MAX_FIELDS {
            return None;
        }
        if !self.hashes.insert(self.seed.hash_one(name)) {
            return None;
        }
        let offset = self.itemsize;
        self.itemsize = offset
            .checked_add(scalar.itemsize)
            .filter(|&end| fits_c_int(end))?;
        // Fields are built in batches by `flush`: an iterator that
        // `extend` consumes builds each in place, where a `Field` pushed
        // whole is first staged on the stack and copied, and reading back
        // bytes just written in smaller pieces stalls the CPU.
        if self.pending.len() == self.pending.capacity() {
            self.flush();
        }
        self.pending.push((name, scalar, offset));
        Some(())
    }

    /// Builds the pending fields.
    fn flush(&mut self) {
        self.fields
            .extend(self.pending.drain(..).map(|(name, scalar, offset)| Field {
                name: Name::new(name),
                title: None,
                offset,
                dtype: Dtype::Scalar(scalar),
            }));
    }

    /// The structured dtype of the fields pushed so far.
    pub(crate) fn finish(mut self) -> Dtype {
        self.flush();
        Dtype::Struct(Struct {
            fields: self.fields,
            itemsize: self.itemsize,
        })
    }
}

fn subarray(base: Dtype, shape_lit: &Lit<'_>) -> Result<Dtype> {
    let dims: Vec<i128> = match &shape_lit.val {
        Val::Int(n) => vec![*n],
        Val::Tuple(items) => items
            .iter()
            .map(|l| match l.val {
                Val::Int(n) => Ok(n),
                _ => Err(bad_structure("subarray shape must hold integers")),
            })
            .collect::<Result<_>>()?,
        other => {
            return Err(bad_structure(format!(
                "subarray shape must be an int or tuple, found {}",
                other.describe()
            )));
        }
    };
    subarray_of(base, dims)
}

/// `base` repeated over `dims` (as `(base, dims)` in a descr), checked.
fn subarray_of(base: Dtype, dims: Vec<i128>) -> Result<Dtype> {
    if dims.is_empty() {
        return Ok(base);
    }
    check_nesting(1 + base.nesting())?;
    if dims.len() > MAX_SUBARRAY_DIMS {
        return Err(bad_structure(format!(
            "subarray has more than {MAX_SUBARRAY_DIMS} dims"
        )));
    }
    let mut shape = Vec::with_capacity(dims.len());
    // NumPy's limits for a fixed-type tuple: every dimension, then the size
    // in bytes, must fit into a C int (a zero dimension makes any size 0).
    for d in dims {
        let d = u64::try_from(d).map_err(|_| bad_structure("subarray dimension is negative"))?;
        if !usize::try_from(d).is_ok_and(fits_c_int) {
            return Err(bad_structure(
                "subarray dimension does not fit into a C int",
            ));
        }
        shape.push(d);
    }
    // With every dim >= 1 each partial product is at most the total, so
    // checking the product as it grows is exact.
    let fits = shape.contains(&0)
        || shape
            .iter()
            .try_fold(base.itemsize(), |size, &d| {
                usize::try_from(d)
                    .ok()
                    .and_then(|d| size.checked_mul(d))
                    .filter(|&s| fits_c_int(s))
            })
            .is_some();
    if !fits {
        return Err(bad_structure(
            "subarray size in bytes must fit into a C int",
        ));
    }
    Ok(Dtype::Subarray {
        base: Box::new(base),
        shape,
    })
}

/// Whether a descr string is in NumPy's comma-string form: fields
/// separated by commas (`'i4,f8'`), or a repeat count or shape before the
/// type (`'3i4'`, `'(2,3)f8'`).
fn is_comma_string(s: &str) -> bool {
    s.contains(',')
        || s.trim_start_matches(['<', '>', '|', '='])
            .starts_with(|c: char| c.is_ascii_digit() || c == '(')
}

/// Splits at commas outside parentheses and brackets.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// One item of a comma string: an optional byte order, an optional repeat
/// (`3` or `(2,3)`), then a type string (`'>2i4'`, `'(2,)f8'`, `'2 i4'`).
fn comma_item(descr: &str, item: &str) -> Result<Dtype> {
    let (order, rest) = match item.strip_prefix(['<', '>', '|', '=']) {
        Some(r) if r.starts_with(|c: char| c.is_ascii_digit() || c == '(') => {
            (item.get(..1).unwrap_or(""), r)
        }
        _ => ("", item),
    };
    let not_understood = || bad(descr, "comma-string item not understood");
    let (dims, ty): (Vec<i128>, &str) = if let Some(r) = rest.strip_prefix('(') {
        let (inside, after) = r.split_once(')').ok_or_else(not_understood)?;
        let inside = inside.trim();
        let inside = inside.strip_suffix(',').unwrap_or(inside);
        let dims = if inside.trim().is_empty() {
            Vec::new()
        } else {
            inside
                .split(',')
                .map(|d| d.trim().parse::<i128>().map_err(|_| not_understood()))
                .collect::<Result<_>>()?
        };
        (dims, after)
    } else {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (n, after) = rest.split_at(digits);
        let dims = if n.is_empty() {
            Vec::new()
        } else {
            vec![n.parse::<i128>().map_err(|_| not_understood())?]
        };
        (dims, after)
    };
    let ty = format!("{order}{}", ty.trim_start());
    let base = scalar_from_str(&ty).map_err(|e| match e.kind() {
        ErrorKind::Dtype { reason, .. } => bad(descr, format!("{reason} in item {item:?}")),
        _ => e,
    })?;
    subarray_of(Dtype::Scalar(base), dims)
}

/// NumPy's comma string: several items make a struct with fields `f0`,
/// `f1`, ... (one trailing comma allowed, `'i4,'` is a one-field struct);
/// a single item with a repeat is a subarray.
fn from_comma_string(descr: &str) -> Result<Dtype> {
    let mut items = split_top_level(descr);
    let trailing = items.len() > 1 && items.last().is_some_and(|s| s.trim().is_empty());
    if trailing {
        items.pop();
    }
    if items.len() == 1 && !trailing {
        return comma_item(descr, items.first().map_or("", |s| s.trim()));
    }
    if items.len() > MAX_FIELDS {
        return Err(bad_structure(format!("more than {MAX_FIELDS} fields")));
    }
    let mut raw = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let item = item.trim();
        if item.is_empty() {
            return Err(bad(descr, "empty item in a comma string"));
        }
        raw.push(RawField {
            name: Cow::Owned(format!("f{n}")),
            title: None,
            dtype: comma_item(descr, item)?,
            pad: false,
        });
    }
    build_struct(raw)
}

/// A string descr: a comma string or a simple type string.
pub(crate) fn from_str(descr: &str) -> Result<Dtype> {
    if is_comma_string(descr) {
        from_comma_string(descr)
    } else {
        scalar_from_str(descr).map(Dtype::Scalar)
    }
}

fn string<'b>(lit: &'b Lit<'_>) -> Option<&'b str> {
    match &lit.val {
        Val::Str(s) => Some(s),
        _ => None,
    }
}

/// Builds a dtype from the literal of a descr: a string, a structured list,
/// or a `(descr, shape)` tuple.
pub(crate) fn from_lit(lit: &Lit<'_>, depth: usize) -> Result<Dtype> {
    if depth > MAX_DEPTH {
        return Err(ErrorKind::TooDeep { max: MAX_DEPTH }.into());
    }
    match &lit.val {
        Val::Str(s) => from_str(s),
        Val::Tuple(items) if items.len() == 2 => match items.as_slice() {
            [descr, shape] => subarray(from_lit(descr, depth + 1)?, shape),
            _ => Err(bad_structure("a subarray must be (descr, shape)")),
        },
        Val::List(items) => {
            let mut raw = Vec::with_capacity(items.len());
            for item in items {
                raw.push(field(item, depth + 1).map_err(|e| e.at(item.at as u64))?);
            }
            build_struct(raw)
        }
        other => Err(bad_structure(format!(
            "expected a type string or a list of fields, found {}",
            other.describe()
        ))),
    }
}

fn field<'b>(item: &'b Lit<'_>, depth: usize) -> Result<RawField<'b>> {
    let parts = match &item.val {
        Val::Tuple(p) | Val::List(p) if p.len() == 2 || p.len() == 3 => p.as_slice(),
        other => {
            return Err(bad_structure(format!(
                "a field must be (name, descr) or (name, descr, shape), found {}",
                other.describe()
            )));
        }
    };
    let (name_lit, descr_lit, shape_lit) = match parts {
        [n, d] => (n, d, None),
        [n, d, s] => (n, d, Some(s)),
        _ => {
            return Err(bad_structure(
                "a field must be (name, descr) or (name, descr, shape)",
            ));
        }
    };
    let (title, name, plain_name) = match &name_lit.val {
        Val::Str(n) => (None, Cow::Borrowed(n.as_ref()), true),
        Val::Tuple(tn) => match tn.as_slice() {
            [t, n] => match (string(t), string(n)) {
                (Some(t), Some(n)) => (Some(Cow::Borrowed(t)), Cow::Borrowed(n), false),
                _ => return Err(bad_structure("a (title, name) pair must hold two strings")),
            },
            _ => return Err(bad_structure("a (title, name) pair must hold two strings")),
        },
        other => {
            return Err(bad_structure(format!(
                "field name must be a string or (title, name), found {}",
                other.describe()
            )));
        }
    };
    let base = from_lit(descr_lit, depth + 1).map_err(|e| e.at(descr_lit.at as u64))?;
    let dtype = match shape_lit {
        Some(shape) => subarray(base, shape).map_err(|e| e.at(shape.at as u64))?,
        None => base,
    };
    // NumPy drops entries named '' whose type is void (padding), and a
    // subarray dtype's type is void too.
    let pad = plain_name
        && name.is_empty()
        && matches!(
            &dtype,
            Dtype::Subarray { .. }
                | Dtype::Scalar(Scalar {
                    kind: ScalarKind::Void,
                    ..
                })
        );
    Ok(RawField {
        name,
        title,
        dtype,
        pad,
    })
}

/// Converts the JSON form of a descr to the literal it mirrors, then builds
/// the dtype from that literal.
pub(crate) fn from_json(v: &serde_json::Value) -> Result<Dtype> {
    let lit = json_descr(v, 0)?;
    from_lit(&lit, 0)
}

fn lit(val: Val<'_>) -> Lit<'_> {
    Lit { at: 0, val }
}

fn json_descr(v: &serde_json::Value, depth: usize) -> Result<Lit<'static>> {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return Err(ErrorKind::TooDeep { max: MAX_DEPTH }.into());
    }
    match v {
        J::String(s) => Ok(lit(Val::Str(Cow::Owned(s.clone())))),
        J::Array(items) if items.iter().all(J::is_array) && !is_subarray_pair(items) => {
            // A structured list: each item is a field tuple.
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let J::Array(parts) = item else { continue };
                let mut tuple = Vec::with_capacity(parts.len());
                for (n, p) in parts.iter().enumerate() {
                    tuple.push(match n {
                        0 => json_plain(p, depth + 1)?,
                        1 => json_descr(p, depth + 1)?,
                        _ => json_plain(p, depth + 1)?,
                    });
                }
                out.push(lit(Val::Tuple(tuple)));
            }
            Ok(lit(Val::List(out)))
        }
        J::Array(items) => {
            // A (descr, shape) subarray tuple.
            let mut tuple = Vec::with_capacity(items.len());
            for (n, p) in items.iter().enumerate() {
                tuple.push(if n == 0 {
                    json_descr(p, depth + 1)?
                } else {
                    json_plain(p, depth + 1)?
                });
            }
            Ok(lit(Val::Tuple(tuple)))
        }
        other => Err(bad(
            &other.to_string(),
            "a JSON descr is a string or an array",
        )),
    }
}

/// Whether an array of arrays is a `(descr, shape)` pair rather than a
/// struct list: a two-item array whose second item holds only integers. No
/// field can look like that (a field starts with its name), so this only
/// settles the one overlap of the JSON form, a subarray of a struct or of a
/// subarray (`[[["x","<f4"]],[2]]`), which `to_json` does write.
fn is_subarray_pair(items: &[serde_json::Value]) -> bool {
    match items {
        [_, serde_json::Value::Array(shape)] => shape.iter().all(serde_json::Value::is_i64),
        _ => false,
    }
}

/// Names, `[title, name]` pairs and shapes: arrays become tuples.
fn json_plain(v: &serde_json::Value, depth: usize) -> Result<Lit<'static>> {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return Err(ErrorKind::TooDeep { max: MAX_DEPTH }.into());
    }
    match v {
        J::String(s) => Ok(lit(Val::Str(Cow::Owned(s.clone())))),
        J::Number(n) => n
            .as_i64()
            .map(|i| lit(Val::Int(i128::from(i))))
            .ok_or_else(|| bad(&n.to_string(), "expected an integer")),
        J::Array(items) => Ok(lit(Val::Tuple(
            items
                .iter()
                .map(|i| json_plain(i, depth + 1))
                .collect::<Result<_>>()?,
        ))),
        other => Err(bad(
            &other.to_string(),
            "expected a string, integer or array",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        match scalar_from_str(s).unwrap_err().kind() {
            ErrorKind::Dtype { reason, .. } => reason.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sizes_and_multipliers_are_capped_at_c_int() {
        assert!(scalar_from_str("|S2147483647").is_ok());
        assert_eq!(reason("|S2147483648"), "size too large (over 2^31-1 bytes)");
        assert_eq!(reason("<U536870912"), "size too large (over 2^31-1 bytes)");
        assert!(scalar_from_str("<M8[2147483647s]").is_ok());
        assert_eq!(
            reason("<M8[2147483648s]"),
            "datetime multiplier must be between 1 and 2^31-1"
        );
        assert_eq!(
            reason("<M8[0s]"),
            "datetime multiplier must be between 1 and 2^31-1"
        );
    }

    #[test]
    fn numpy_byte_orders_only() {
        assert_eq!(reason("!i4"), "unknown type code");
        assert_eq!(
            scalar_from_str("=i4").unwrap().byte_order(),
            ByteOrder::NATIVE
        );
        assert_eq!(
            scalar_from_str("|i4").unwrap().byte_order(),
            ByteOrder::NATIVE
        );
        assert_eq!(
            scalar_from_str(">u1").unwrap().byte_order(),
            ByteOrder::NotApplicable
        );
    }

    fn nested(levels: usize) -> String {
        (0..levels).fold("'<f8'".to_string(), |d, _| format!("[('a', {d})]"))
    }

    #[test]
    fn nesting_is_limited_and_json_reads_back() {
        assert!(Dtype::from_descr_literal(&nested(MAX_NESTING)).is_ok());
        let d = Dtype::from_descr_literal(&nested(32)).unwrap();
        let text = serde_json::to_string(&serde_json::json!({ "descr": d })).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(Dtype::from_json(&v["descr"]).unwrap(), d);
        let e = Dtype::from_descr_literal(&nested(MAX_NESTING + 1)).unwrap_err();
        assert_eq!(e.kind().code(), "too_deep");
        let sub = (0..=MAX_NESTING).fold("'<f8'".to_string(), |d, _| format!("({d}, 1)"));
        let e = Dtype::from_descr_literal(&sub).unwrap_err();
        assert_eq!(e.kind().code(), "too_deep");
        let e = Dtype::structured([(
            "a",
            Dtype::from_descr_literal(&nested(MAX_NESTING)).unwrap(),
        )])
        .unwrap_err();
        assert_eq!(e.kind().code(), "too_deep");
    }

    #[test]
    fn names_with_nul_are_refused_from_json_and_the_builder() {
        let v = serde_json::json!([["a\u{0}", "<f8"]]);
        assert_eq!(Dtype::from_json(&v).unwrap_err().kind().code(), "dtype");
        let f8 = Dtype::from_descr("<f8").unwrap();
        let e = Dtype::structured([("\0", f8)]).unwrap_err();
        assert_eq!(e.kind().code(), "dtype");
    }

    #[test]
    fn json_tells_a_subarray_of_a_struct_from_a_struct_list() {
        for (descr, json) in [
            ("([('x', '<f4')], (2,))", r#"[[["x","<f4"]],[2]]"#),
            ("([], (0,))", "[[],[0]]"),
            ("(('<i2', (3,)), (2,))", r#"[["<i2",[3]],[2]]"#),
            (
                "[('a', '<f4'), ('b', '<i2', (2,))]",
                r#"[["a","<f4"],["b","<i2",[2]]]"#,
            ),
        ] {
            let d = Dtype::from_descr_literal(descr).unwrap();
            assert_eq!(d.to_json().to_string(), json, "{descr}");
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(Dtype::from_json(&v).unwrap(), d, "{json}");
        }
        // The fuzz finding: a bare int shape reads as the same subarray.
        let v: serde_json::Value = serde_json::from_str("[[],0]").unwrap();
        let d = Dtype::from_json(&v).unwrap();
        assert_eq!(d.to_json().to_string(), "[[],[0]]");
        // A field that is all integers is still no field.
        let v: serde_json::Value = serde_json::from_str(r#"[["a","<f4"],[1,2]]"#).unwrap();
        assert_eq!(Dtype::from_json(&v).unwrap_err().kind().code(), "dtype");
    }

    /// The header fast path's builder accepts only what the general parser
    /// parses to the same dtype, and hands everything else back (`None`).
    #[test]
    fn plain_struct_builder_accepts_only_what_the_literal_path_gives() {
        let build = |pairs: &[(&'static str, &'static str)]| {
            let mut b = PlainStruct::with_capacity(2);
            pairs.iter().try_for_each(|&(n, d)| b.push(n, d))?;
            Some(b.finish())
        };
        // (pairs, whether the builder takes them)
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("a", "<f4"), ("b", "<f4"), ("c", ">i8")], true),
            // Runs of one type string, broken and resumed; more fields than
            // the builder's first capacity.
            (
                &[
                    ("a", "<f4"),
                    ("b", ">i8"),
                    ("c", "<f4"),
                    ("d", "<f4"),
                    ("e", "<f4"),
                    ("f", "|u1"),
                    ("g", "|u1"),
                    ("h", "<M8[10s]"),
                    ("i", "|S3"),
                ],
                true,
            ),
            (
                &[
                    ("a_name_longer_than_twenty_two_bytes", "<f8"),
                    ("é€𝄞", "<i2"),
                ],
                true,
            ),
            // Left to the general parser: padding, repeats, bad types, NUL,
            // sizes past a C int.
            (&[("", "|V4"), ("a", "<f4")], false),
            (&[("a", "<f4"), ("b", "|S0")], false),
            (&[("a", "<f4"), ("a", "<f4")], false),
            (&[("a", "<f4"), ("b", "<f4"), ("a", "<f8")], false),
            (&[("", "<f4"), ("", "<f4")], false),
            (&[("a", "<f4"), ("b", "<q9")], false),
            (&[("a", "<f4"), ("b", "<f4"), ("c", "<f9")], false),
            (&[("a\0", "<f4")], false),
            (&[("a", "|V2000000000"), ("b", "|V2000000000")], false),
        ];
        for &(pairs, taken) in cases {
            let lit = format!(
                "[{}]",
                pairs
                    .iter()
                    .map(|(n, d)| format!("('{n}', '{d}')"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let fast = build(pairs);
            assert_eq!(fast.is_some(), taken, "{lit}: {fast:?}");
            if let Some(f) = fast {
                assert_eq!(Dtype::from_descr_literal(&lit).unwrap(), f, "{lit}");
            }
        }
        // At most MAX_FIELDS fields, counting those not yet built.
        let names: Vec<String> = (0..=MAX_FIELDS).map(|i| i.to_string()).collect();
        let mut b = PlainStruct::with_capacity(16);
        for n in names.get(..MAX_FIELDS).unwrap() {
            assert_eq!(b.push(n, "|u1"), Some(()), "{n}");
        }
        assert_eq!(b.push(names.last().unwrap(), "|u1"), None);
        assert_eq!(b.finish().itemsize(), MAX_FIELDS);
        let d = build(&[("a", "<f4"), ("b", "|u1"), ("c", ">f8")]).unwrap();
        let Dtype::Struct(st) = d else {
            panic!("{d:?}")
        };
        let layout: Vec<_> = st.fields().iter().map(|f| (f.name(), f.offset())).collect();
        assert_eq!(layout, [("a", 0), ("b", 4), ("c", 5)]);
        assert_eq!(st.itemsize(), 13);
    }

    /// NumPy 2.4's answers, from `np.dtype((base, shape))` and
    /// `np.lib.format.descr_to_dtype`: dims and sizes are C ints.
    #[test]
    fn subarray_and_struct_sizes_are_capped_at_c_int_like_numpy() {
        let size = |descr: &str| Dtype::from_descr_literal(descr).map(|d| d.itemsize());
        assert_eq!(size("('i1', (2147483647,))").unwrap(), 2_147_483_647);
        assert_eq!(size("('<i4', (1048576, 1048576, 0))").unwrap(), 0);
        assert_eq!(size("('<i4', (0, 1048576, 1048576))").unwrap(), 0);
        for (descr, reason) in [
            (
                "('i1', (2147483648,))",
                "subarray dimension does not fit into a C int",
            ),
            (
                "('<i4', (2147483647,))",
                "subarray size in bytes must fit into a C int",
            ),
            (
                "('i1', (1073741824, 2))",
                "subarray size in bytes must fit into a C int",
            ),
            // The descr fuzz target's find: a padding entry holding 1.9e13 bytes.
            (
                "[('', 'i', (2, 7, 332632230372))]",
                "subarray dimension does not fit into a C int",
            ),
            (
                "[('', '|V2000000000'), ('', '|V2000000000'), ('a', '<i4')]",
                "structured dtype itemsize must fit into a C int (2^31-1 bytes)",
            ),
        ] {
            let e = Dtype::from_descr_literal(descr).unwrap_err();
            match e.kind() {
                ErrorKind::Dtype { reason: r, .. } => assert_eq!(r, reason, "{descr}"),
                other => panic!("{descr}: {other:?}"),
            }
        }
    }
}
