//! `np.save(OUT, np.load(IN, mmap_mode='r')[FIELDS][INDEX])` without loading
//! IN: the view's geometry is computed from the header alone, then its
//! elements are gathered in the order `np.save` writes them, reading the
//! input through bounded windows (see spec/cli.md §15).

use std::io::Write;
use std::path::Path;

use super::gather::{WINDOW, address, gather, range};
use super::index::{Geometry, Index};
use super::{Payload, buffer};
use crate::atomic::{Durability, write_atomic_with};
use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;

/// What to take from an array: structured fields, then a basic index.
#[derive(Debug, Clone, Default)]
pub struct SliceOptions {
    /// Fields to select first. One name is `a[NAME]` (the field's own
    /// dtype; a subarray field adds its shape as trailing axes); two or
    /// more are `a[[NAME, ...]]` (a structured dtype keeping the fields'
    /// offsets and the full itemsize, as NumPy 2.x). A name may be a dotted
    /// path into nested structs (`pos.x`); with several names, all must
    /// share the same parent path. Empty: no field selection.
    pub fields: Vec<String>,
    /// The basic index applied after the field selection.
    pub index: Index,
}

/// A planned slice: the output header and where its elements are.
#[derive(Debug, Clone)]
pub struct SlicePlan {
    /// The header `np.save` writes for the view. One exception: when the
    /// index picks a single byte-string or text element (`S`, `U`), NumPy
    /// saves the scalar, whose length is that of the value with trailing
    /// NULs stripped; [`SlicePlan::write`] returns the header with that
    /// length (here: the input's).
    pub header: Header,
    view: Geometry,
    /// The view's dtype as the input stores it (before a scalar is made native).
    stored: Dtype,
    scalar: ScalarMode,
}

/// How a single element picked by integers alone is saved: NumPy hands
/// `np.save` a scalar, which it turns back into an array (spec/cli.md §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarMode {
    /// Not a scalar, or a scalar saved as it is (records, void, bool).
    Keep,
    /// A number or date: saved in the machine's byte order.
    Native,
    /// `S` / `U`: trailing NULs stripped, at least one character.
    Text,
}

impl SlicePlan {
    /// Plans `a[FIELDS][INDEX]` for the array `input` describes.
    ///
    /// # Errors
    /// `ObjectDtype`; `FieldNotFound`; `Index` (bad index, NumPy's
    /// wording); `Unsupported` for fields asked out of their dtype order
    /// (NumPy's `np.save` cannot write that view either); `Dtype`,
    /// `Overflow`.
    pub fn new(input: &Header, opts: &SliceOptions) -> Result<SlicePlan> {
        if input.dtype.has_object() {
            return Err(ErrorKind::ObjectDtype.into());
        }
        let item = input.dtype.itemsize();
        let mut g = base_geometry(input, item);
        let dtype = select_fields(&input.dtype, &opts.fields, &mut g)?;
        if g.shape.len() > crate::header::MAX_DIMS {
            return Err(ErrorKind::TooManyDims {
                ndim: g.shape.len(),
                max: crate::header::MAX_DIMS,
            }
            .into());
        }
        let items = opts.index.items();
        let is_scalar = items.len() == g.shape.len()
            && items.iter().all(|i| matches!(i, super::IndexItem::Int(_)));
        let view = opts.index.apply(&g)?;
        let (c, f) = contiguity(&view, dtype.itemsize());
        let mut scalar = ScalarMode::Keep;
        let stored = dtype.clone();
        let mut dtype = dtype;
        if is_scalar && let Some(sc) = dtype.as_scalar() {
            use crate::dtype::ScalarKind as K;
            match sc.kind() {
                K::Bytes | K::Unicode => scalar = ScalarMode::Text,
                K::Void | K::Object | K::Bool => {}
                _ => {
                    scalar = ScalarMode::Native;
                    dtype = dtype.with_byte_order(crate::dtype::ByteOrder::NATIVE);
                }
            }
        }
        let header = Header {
            dtype,
            fortran_order: f && !c,
            shape: view.shape.clone(),
        };
        header.payload_len()?;
        header.to_bytes(None)?;
        Ok(SlicePlan {
            header,
            view,
            stored,
            scalar,
        })
    }

    /// Writes the output `.npy` (header and payload) for `source` (the
    /// array this plan was made for) to `out`, in order, reading the input
    /// through windows of at most 1 MiB and releasing them after use.
    /// Returns the header written.
    ///
    /// # Errors
    /// `PayloadSize` when `source`'s payload is not what its header says;
    /// `Io` from reading or writing.
    pub fn write(&self, source: &dyn Payload, out: &mut dyn Write) -> Result<Header> {
        let input = source.header();
        let expected = input.payload_len()?;
        let actual = source.payload().len() as u64;
        if actual != expected {
            return Err(ErrorKind::PayloadSize { expected, actual }.into());
        }
        match self.scalar {
            ScalarMode::Keep => {}
            ScalarMode::Native => return self.write_native_scalar(source, out),
            ScalarMode::Text => return self.write_text_scalar(source, out),
        }
        out.write_all(&self.header.to_bytes(None)?)?;
        self.write_payload(source, out)?;
        Ok(self.header.clone())
    }

    /// A number picked by integers: its bytes in the machine's order.
    fn write_native_scalar(&self, source: &dyn Payload, out: &mut dyn Write) -> Result<Header> {
        let (Some(dst), Some(src)) = (self.header.dtype.as_scalar(), self.stored.as_scalar())
        else {
            return Ok(self.header.clone());
        };
        let mut item = [0u8; 32];
        let buf = item.get_mut(..dst.itemsize()).ok_or(ErrorKind::Overflow {
            what: "scalar size",
        })?;
        let at = address(self.view.offset)?;
        source.read_at(at, buf)?;
        source.release(range(at, buf.len()));
        if src.byte_order() != dst.byte_order() {
            for unit in buf.chunks_mut(dst.swap_unit().max(1)) {
                unit.reverse();
            }
        }
        if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
            x87_clear_padding(src, buf);
        }
        out.write_all(&self.header.to_bytes(None)?)?;
        out.write_all(buf)?;
        Ok(self.header.clone())
    }

    /// A byte string or text picked by integers: NumPy's `np.bytes_` /
    /// `np.str_` drop trailing NULs, so the saved length is the value's
    /// (at least 1), in the machine's byte order. Read in pieces of at
    /// most 1 MiB, whatever the itemsize.
    fn write_text_scalar(&self, source: &dyn Payload, out: &mut dyn Write) -> Result<Header> {
        use crate::dtype::{ByteOrder, ScalarKind};
        let Some(src) = self.stored.as_scalar() else {
            return Ok(self.header.clone());
        };
        let unit = if src.kind() == ScalarKind::Unicode {
            4
        } else {
            1
        };
        let at = address(self.view.offset)?;
        let size = src.itemsize();
        let piece_len = WINDOW - WINDOW % unit;
        let mut piece = buffer(piece_len.min(size), "the slice buffer")?;
        // Find the end of the value: the last unit that is not all zero.
        let mut end = size;
        let mut found = false;
        while end > 0 && !found {
            let start = end.saturating_sub(piece_len);
            let buf = piece.get_mut(..end - start).unwrap_or_default();
            source.read_at(at + start as u64, buf)?;
            match buf.chunks(unit).rposition(|u| u.iter().any(|&b| b != 0)) {
                Some(i) => {
                    end = start + (i + 1) * unit;
                    found = true;
                }
                None => end = start,
            }
        }
        let len = end.max(unit);
        let header = Header {
            dtype: Dtype::scalar(src.kind(), Some(ByteOrder::NATIVE), len)?,
            fortran_order: false,
            shape: Vec::new(),
        };
        out.write_all(&header.to_bytes(None)?)?;
        let swap = unit > 1 && src.byte_order() != ByteOrder::NATIVE;
        let mut done = 0;
        while done < len {
            let n = (len - done).min(piece_len);
            let buf = piece.get_mut(..n).unwrap_or_default();
            if done < end {
                source.read_at(at + done as u64, buf)?;
            } else {
                buf.fill(0);
            }
            if swap {
                for u in buf.chunks_mut(unit) {
                    u.reverse();
                }
            }
            out.write_all(buf)?;
            done += n;
        }
        source.release(range(at, size));
        Ok(header)
    }

    /// The payload of a view (not a scalar), gathered in output order.
    fn write_payload(&self, source: &dyn Payload, out: &mut dyn Write) -> Result<()> {
        gather(
            &self.view,
            self.header.dtype.itemsize(),
            self.header.fortran_order,
            source,
            out,
        )
    }
}

/// Writes `np.save(out, input[FIELDS][INDEX])` for the array `input`
/// (any [`Payload`]: a map, a view, bytes in memory) as a new `.npy` at
/// `out`, atomically and synced as `durability` says; returns its header.
/// Memory stays bounded whatever the sizes: the input is read through
/// windows of at most 1 MiB, released as they are used.
///
/// ```
/// use npymap::convert::{InMemory, SliceOptions, slice};
/// use npymap::{Dtype, Header, atomic::Durability};
/// let header = Header::new(Dtype::from_descr("<i4")?, &[2, 3]);
/// let bytes = (0..6i32).flat_map(|v| v.to_le_bytes()).collect();
/// let input = InMemory { header, bytes, version: None };
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("col.npy");
/// let opts = SliceOptions { index: ":, 1".parse()?, ..Default::default() };
/// let h = slice(&input, &out, &opts, Durability::Atomic)?;
/// assert_eq!(h.shape, vec![2]);
/// let file = std::fs::read(&out)?;
/// assert_eq!(&file[file.len() - 8..], &[1, 0, 0, 0, 4, 0, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`SlicePlan::new`] and [`SlicePlan::write`]; an error leaves
/// `out` as it was.
pub fn slice(
    input: &impl Payload,
    out: &Path,
    opts: &SliceOptions,
    durability: Durability,
) -> Result<Header> {
    let plan = SlicePlan::new(input.header(), opts)?;
    let mut header = None;
    write_atomic_with(out, durability, |file| {
        header = Some(plan.write(input, file)?);
        Ok(())
    })?;
    Ok(header.unwrap_or(plan.header))
}

/// The geometry `np.load(mmap_mode='r')` gives the whole array: C or F
/// strides, a zero dim counted as 1 (as NumPy fills strides).
fn base_geometry(h: &Header, item: usize) -> Geometry {
    let n = h.shape.len();
    let mut strides = vec![0i128; n];
    let mut acc = item as i128;
    let order: Box<dyn Iterator<Item = usize>> = if h.fortran_order {
        Box::new(0..n)
    } else {
        Box::new((0..n).rev())
    };
    for k in order {
        if let (Some(s), Some(&d)) = (strides.get_mut(k), h.shape.get(k)) {
            *s = acc;
            acc = acc.saturating_mul(i128::from(d.max(1)));
        }
    }
    Geometry {
        offset: 0,
        shape: h.shape.clone(),
        strides,
    }
}

/// NumPy's `C_CONTIGUOUS` and `F_CONTIGUOUS` flags for a view (dims of 1
/// are ignored; any dim of 0 makes both true).
fn contiguity(g: &Geometry, item: usize) -> (bool, bool) {
    if g.shape.contains(&0) {
        return (true, true);
    }
    let check = |pairs: &mut dyn Iterator<Item = (&u64, &i128)>| {
        let mut expected = item as i128;
        for (&d, &s) in pairs {
            if d != 1 {
                if s != expected {
                    return false;
                }
                expected = expected.saturating_mul(i128::from(d));
            }
        }
        true
    };
    let c = check(&mut g.shape.iter().zip(&g.strides).rev());
    let f = check(&mut g.shape.iter().zip(&g.strides));
    (c, f)
}

/// Resolves a dotted field path in `dtype` to the chain of fields it names.
/// At each level the whole remaining path is tried first, so a field whose
/// name contains dots is still found.
fn field_chain<'d>(dtype: &'d Dtype, path: &str) -> Result<Vec<&'d crate::dtype::Field>> {
    let mut chain = Vec::new();
    let mut d = dtype;
    let mut rest = path;
    loop {
        while let Dtype::Subarray { base, .. } = d {
            d = base;
        }
        let not_found = |name: &str| -> Error {
            ErrorKind::FieldNotFound {
                name: name.to_string(),
                dtype: d.to_string(),
            }
            .into()
        };
        let Some(st) = d.as_struct() else {
            return Err(not_found(rest));
        };
        if let Some(f) = st.field(rest) {
            chain.push(f);
            return Ok(chain);
        }
        let Some((head, tail)) = rest.split_once('.') else {
            return Err(not_found(rest));
        };
        let f = st.field(head).ok_or_else(|| not_found(head))?;
        chain.push(f);
        d = f.dtype();
        rest = tail;
    }
}

/// Steps into one field: its offset, plus a subarray field's shape as
/// trailing C-order axes; returns the field's element dtype.
fn enter(f: &crate::dtype::Field, g: &mut Geometry) -> Dtype {
    g.offset += f.offset() as i128;
    let mut d = f.dtype();
    while let Dtype::Subarray { base, shape } = d {
        let mut stride = base.itemsize() as i128;
        let at = g.shape.len();
        for &dim in shape.iter().rev() {
            g.shape.insert(at, dim);
            g.strides.insert(at, stride);
            stride = stride.saturating_mul(i128::from(dim.max(1)));
        }
        d = base;
    }
    d.clone()
}

/// Applies `a[name]` or `a[[name, ...]]` to the geometry; returns the view's dtype.
fn select_fields(dtype: &Dtype, names: &[String], g: &mut Geometry) -> Result<Dtype> {
    match names {
        [] => Ok(dtype.clone()),
        [one] => {
            let mut d = dtype.clone();
            for f in field_chain(dtype, one)? {
                d = enter(f, g);
            }
            Ok(d)
        }
        many => {
            let chains = many
                .iter()
                .map(|n| field_chain(dtype, n))
                .collect::<Result<Vec<_>>>()?;
            let Some(first) = chains.first() else {
                return Ok(dtype.clone());
            };
            let parent_len = first.len() - 1;
            for (chain, name) in chains.iter().zip(many) {
                let same = chain.len() == first.len()
                    && chain
                        .iter()
                        .zip(first.iter())
                        .take(parent_len)
                        .all(|(a, b)| std::ptr::eq(*a, *b));
                if !same {
                    return Err(ErrorKind::Unsupported(format!(
                        "fields {:?} and {name:?} are not in the same struct (several --field names must share their parent path)",
                        many.first().map_or("", |s| s.as_str())
                    ))
                    .into());
                }
            }
            let mut parent = dtype.clone();
            for f in first.iter().take(parent_len) {
                parent = enter(f, g);
            }
            let itemsize = parent.itemsize();
            let picked: Vec<&crate::dtype::Field> =
                chains.iter().filter_map(|c| c.last().copied()).collect();
            multi_field_dtype(&picked, itemsize)
        }
    }
}

/// The dtype of `a[['x', 'y']]` in NumPy 2.x: the named fields at their
/// own offsets, in the order asked, the parent's itemsize; the bytes
/// between them become padding (`('', '|V8')`) in the header.
fn multi_field_dtype(fields: &[&crate::dtype::Field], itemsize: usize) -> Result<Dtype> {
    use serde_json::Value as J;
    let pad = |n: usize| J::Array(vec![J::from(""), J::String(format!("|V{n}"))]);
    let mut items = Vec::new();
    let mut end = 0usize;
    let mut prev: Option<&str> = None;
    for f in fields {
        if fields.iter().filter(|g| std::ptr::eq(**g, *f)).count() > 1 {
            return Err(
                ErrorKind::Unsupported(format!("duplicate field of name {:?}", f.name())).into(),
            );
        }
        if f.offset() < end {
            // NumPy builds this view, but its `dtype.descr` (and so
            // `np.save`) refuses it.
            return Err(ErrorKind::Unsupported(format!(
                "field {:?} comes before {:?} in the dtype; np.save cannot write fields out of order (dtype.descr is not defined for types with overlapping or out-of-order fields)",
                f.name(),
                prev.unwrap_or("")
            ))
            .into());
        }
        if f.offset() > end {
            items.push(pad(f.offset() - end));
        }
        let name = match f.title() {
            Some(t) => J::Array(vec![J::from(t), J::from(f.name())]),
            None => J::from(f.name()),
        };
        items.push(match f.dtype() {
            Dtype::Subarray { base, shape } => J::Array(vec![
                name,
                base.to_json(),
                J::Array(shape.iter().map(|&d| J::from(d)).collect()),
            ]),
            other => J::Array(vec![name, other.to_json()]),
        });
        end = f.offset().saturating_add(f.dtype().itemsize());
        prev = Some(f.name());
    }
    if itemsize > end {
        items.push(pad(itemsize - end));
    }
    Dtype::from_json(&J::Array(items))
}

/// NumPy's long double scalar (x87: 10 value bytes in 12 or 16) is
/// stored with a long double assignment, which writes the value bytes
/// only: the padding of the saved real part comes out zero. (The imaginary
/// part of a `clongdouble` scalar keeps whatever memory held; we write
/// zeros there too; spec/cli.md §15.)
fn x87_clear_padding(src: &crate::dtype::Scalar, buf: &mut [u8]) {
    use crate::dtype::ScalarKind;
    let part = match (src.kind(), src.itemsize()) {
        (ScalarKind::Float, n @ (12 | 16)) => n,
        (ScalarKind::Complex, n @ (24 | 32)) => n / 2,
        _ => return,
    };
    for half in buf.chunks_mut(part) {
        if let Some(pad) = half.get_mut(10..) {
            pad.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::InMemory;

    fn run(h: Header, bytes: Vec<u8>, index: &str) -> (Header, Vec<u8>) {
        let plan = SlicePlan::new(
            &h,
            &SliceOptions {
                index: index.parse().unwrap(),
                fields: vec![],
            },
        )
        .unwrap();
        let src = InMemory {
            header: h,
            bytes,
            version: None,
        };
        let mut out = Vec::new();
        plan.write_payload(&src, &mut out).unwrap();
        (plan.header, out)
    }

    #[test]
    fn c_and_f_orders_of_the_output() {
        let h = Header::new(Dtype::from_descr("u1").unwrap(), &[3, 4]).fortran();
        // F order: element (i, j) holds byte i + 3j.
        let bytes: Vec<u8> = (0..12).collect();
        let (o, b) = run(h.clone(), bytes.clone(), ":, 1:3");
        assert!(o.fortran_order);
        assert_eq!(b, vec![3, 4, 5, 6, 7, 8]);
        let (o, b) = run(h.clone(), bytes.clone(), "::-2, 1:3");
        assert!(!o.fortran_order);
        assert_eq!(b, vec![5, 8, 3, 6]);
        let (o, b) = run(h, bytes, "1");
        assert!(!o.fortran_order);
        assert_eq!(b, vec![1, 4, 7, 10]);
    }

    #[test]
    fn slabs_transpose_fortran_views() {
        // F (40, 250_000) u1 reversed along axis 0: written in C order in
        // two slabs (33 rows of 250_000 bytes fit in 8 MiB, then 7).
        let h = Header::new(Dtype::from_descr("u1").unwrap(), &[40, 250_000]).fortran();
        let bytes: Vec<u8> = (0..10_000_000u32).map(|v| (v % 253) as u8).collect();
        let (o, b) = run(h, bytes.clone(), "::-1");
        assert!(!o.fortran_order);
        assert_eq!(b.len(), bytes.len());
        for r in 0..40 {
            for c in (0..250_000).step_by(997) {
                assert_eq!(b[r * 250_000 + c], bytes[(39 - r) + 40 * c], "({r}, {c})");
            }
        }
    }

    #[test]
    fn windows_cover_big_strides() {
        // 3 rows of 600_000 bytes: a column crosses window boundaries.
        let h = Header::new(Dtype::from_descr("u1").unwrap(), &[3, 600_000]);
        let bytes: Vec<u8> = (0..1_800_000u32).map(|v| (v % 251) as u8).collect();
        let (_, b) = run(h.clone(), bytes.clone(), ":, 599_999::-299_999");
        let expect: Vec<u8> = [0usize, 1, 2]
            .iter()
            .flat_map(|r| [599_999usize, 300_000, 1].map(|c| bytes[r * 600_000 + c]))
            .collect();
        assert_eq!(b, expect);
        let (_, b) = run(h, bytes.clone(), "::-1, ::7");
        let expect: Vec<u8> = [2usize, 1, 0]
            .iter()
            .flat_map(|r| (0..600_000).step_by(7).map(move |c| (r, c)))
            .map(|(r, c)| bytes[r * 600_000 + c])
            .collect();
        assert_eq!(b, expect);
    }
}
