//! An array as NumPy's `repr` prints it (NumPy 2.x, default print options):
//! `array([[1, 2], [3, 4]], dtype=int32)`, summarised with `...` past 1000
//! elements.
//!
//! The rules are those of `numpy/_core/arrayprint.py`: one format per array
//! (widths, fixed or scientific notation) computed from the elements that
//! are printed — with summarisation only the three leading and trailing
//! items of each long axis, as `_leading_trailing` does — then
//! `_formatArray`'s nesting, wrapping at 75 columns and blank lines between
//! blocks, then `array_repr`'s `shape=` / `dtype=` suffix.
//!
//! Elements are read on demand through a [`ByteSource`], by logical (C
//! order) index, with Fortran strides for Fortran-order payloads. Nothing
//! is copied beyond the element being looked at (and an element over
//! 64 KiB is read and printed in pieces: the `stream` module), so a
//! summarised repr of a many-gigabyte payload reads only the printed
//! elements, and the output is written as it is produced
//! ([`write_array_repr`]), so even a `full` repr uses memory bounded by a
//! constant plus the formats of the fields, whatever the itemsize.
//!
//! Known limits: `longdouble` values are formatted from their nearest `f64`
//! (see the `float` module); object arrays are refused.

mod dtype_text;
mod element;
mod float;
mod stream;

use std::io::Write;
use std::iter::Chain;
use std::ops::Range;

use element::{Node, Pass};
use stream::Pieces;

use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;

/// NumPy's default `threshold`: arrays with more elements are summarised.
pub const THRESHOLD: u64 = 1000;

/// NumPy's default `edgeitems`: items kept at each end of a summarised axis.
pub const EDGE_ITEMS: u64 = 3;

/// NumPy's default `linewidth`.
pub const LINE_WIDTH: usize = 75;

/// Most zero-size elements (records without fields) printed in one repr.
const MAX_PRINTED_EMPTY: u64 = 1 << 20;

/// Where the formatter reads payload bytes from: a slice in memory, a
/// memory map, or a file read on demand.
pub trait ByteSource {
    /// Fills `buf` with the payload bytes starting at `offset` (counted
    /// from the start of the payload).
    ///
    /// # Errors
    /// Whatever reading fails with; `Truncated` when the bytes are not there.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;
}

impl ByteSource for &[u8] {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(buf.len())?))
            .and_then(|range| self.get(range));
        match src {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(ErrorKind::Truncated {
                what: "payload",
                needed: offset.saturating_add(buf.len() as u64),
                available: self.len() as u64,
            }
            .into()),
        }
    }
}

/// The text `repr(np.load(path))` prints for the array `header` describes,
/// with `payload` its bytes (in the file's memory order and byte order).
/// With `full`, nothing is summarised (NumPy with `threshold=sys.maxsize`).
///
/// # Errors
/// `PayloadSize` when `payload` is not the length the header implies,
/// `ObjectDtype` for object arrays, `Unsupported` for datetime64 values
/// with generic units (NumPy cannot print them either).
///
/// # Examples
/// ```
/// use npymap::{Dtype, Header};
/// let header = Header {
///     dtype: Dtype::from_descr("<i4")?,
///     fortran_order: false,
///     shape: vec![2, 2],
/// };
/// let payload: Vec<u8> = [1i32, 2, 3, 40].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let text = npymap::repr::array_repr(&header, &payload, false)?;
/// assert_eq!(text, "array([[ 1,  2],\n       [ 3, 40]], dtype=int32)");
/// # Ok::<(), npymap::Error>(())
/// ```
pub fn array_repr(header: &Header, payload: &[u8], full: bool) -> Result<String> {
    if header.dtype.has_object() {
        return Err(ErrorKind::ObjectDtype.into());
    }
    let expected = header.payload_len()?;
    if payload.len() as u64 != expected {
        return Err(ErrorKind::PayloadSize {
            expected,
            actual: payload.len() as u64,
        }
        .into());
    }
    let mut out = Vec::new();
    let mut source = payload;
    write_array_repr(header, &mut source, full, &mut out)?;
    String::from_utf8(out).map_err(|_| {
        Error::from(ErrorKind::Unsupported(
            "formatted text is not UTF-8".to_string(),
        ))
    })
}

/// Writes what [`array_repr`] returns to `out`, reading elements from
/// `source` as they are needed (each printed element up to three times:
/// ranges, widths, text; the strings of an element over 64 KiB twice, in
/// pieces of 64 KiB: length, text). No read asks for more than 64 KiB,
/// and no write carries more than the text of one such piece or one small
/// element. No trailing newline.
///
/// # Errors
/// As [`array_repr`] (except `PayloadSize`), plus the source's read errors
/// and `Io` from `out`.
pub fn write_array_repr(
    header: &Header,
    source: &mut dyn ByteSource,
    full: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if header.dtype.has_object() {
        return Err(ErrorKind::ObjectDtype.into());
    }
    // Validates that every byte offset below fits in a u64.
    header.payload_len()?;
    let layout = Layout::new(header);
    let count = layout
        .shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .ok_or(ErrorKind::Overflow {
            what: "element count",
        })?;
    let threshold = if full { u64::MAX } else { THRESHOLD };
    let summarise = count > threshold;
    // Printing time is bounded by the payload size, except for zero-size
    // elements (empty records), where a tiny file can claim any count.
    let printed = layout
        .shape
        .iter()
        .map(|&len| {
            if summarise && len > 2 * EDGE_ITEMS {
                2 * EDGE_ITEMS
            } else {
                len
            }
        })
        .try_fold(1u64, |a, d| a.checked_mul(d));
    if layout.itemsize == 0 && printed.is_none_or(|p| p > MAX_PRINTED_EMPTY) {
        return Err(ErrorKind::Unsupported(format!(
            "printing more than {MAX_PRINTED_EMPTY} zero-size elements"
        ))
        .into());
    }
    let mut text = Out {
        sink: out,
        held: String::new(),
        col: 0,
    };
    text.push("array(")?;
    if count == 0 {
        text.push("[]")?;
    } else {
        // Large elements are read and formatted in pieces (`stream`).
        let large = layout.itemsize > stream::SMALL;
        let mut walker = Walker {
            layout: &layout,
            source,
            buf: if large {
                Vec::new()
            } else {
                vec![0; layout.itemsize]
            },
            pieces: large.then(Pieces::new),
            summarise,
        };
        let mut node = Node::new(layout.dtype, layout.shape.is_empty(), threshold)?;
        walker.observe(&mut node, Pass::Range, 0, 0)?;
        node.end_range_pass()?;
        if node.needs_width_pass() {
            walker.observe(&mut node, Pass::Width, 0, 0)?;
        }
        node.end_width_pass();
        let hanging = "array([".len();
        walker.emit(&node, &mut text, 0, 0, hanging, LINE_WIDTH - ")".len())?;
    }
    let mut extras = Vec::new();
    if (count == 0 && layout.shape != [0]) || summarise {
        let mut s = String::from("shape=");
        dtype_text::shape_repr(&layout.shape, &mut s);
        extras.push(s);
    }
    if !dtype_text::is_implied(layout.dtype) || count == 0 {
        extras.push(format!("dtype={}", dtype_text::short_repr(layout.dtype)));
    }
    if extras.is_empty() {
        text.push(")")?;
    } else {
        text.push(",")?;
        let extra = format!("{})", extras.join(", "));
        if text.col + extra.chars().count() + 1 > LINE_WIDTH {
            text.newline(false)?;
            text.push(&" ".repeat("array(".len()))?;
        } else {
            text.push(" ")?;
        }
        text.push(&extra)?;
    }
    text.finish()
}

/// The block shape and base dtype of a (possibly nested) subarray dtype;
/// other dtypes come back as they are with an empty shape.
pub(crate) fn flatten_subarray(mut dtype: &Dtype) -> (&Dtype, Vec<u64>) {
    let mut shape = Vec::new();
    while let Dtype::Subarray { base, shape: s } = dtype {
        shape.extend_from_slice(s);
        dtype = base;
    }
    (dtype, shape)
}

/// `bytes[offset..offset + len]`, if it is there.
pub(crate) fn chunk(bytes: &[u8], offset: usize, len: usize) -> Option<&[u8]> {
    bytes.get(offset..offset.checked_add(len)?)
}

/// The array as NumPy sees it after loading: a subarray dtype becomes
/// extra trailing axes, and each axis has a byte stride.
struct Layout<'h> {
    shape: Vec<u64>,
    strides: Vec<u64>,
    dtype: &'h Dtype,
    itemsize: usize,
}

impl<'h> Layout<'h> {
    /// Strides are only ever multiplied by indexes below their axis length,
    /// which [`Header::payload_len`] has shown fit in a u64.
    fn new(header: &'h Header) -> Layout<'h> {
        let outer_size = header.dtype.itemsize() as u64;
        let n = header.shape.len();
        let mut strides = vec![0u64; n];
        let mut step = outer_size;
        let mut set = |axis: usize, step: &mut u64| {
            if let (Some(s), Some(&d)) = (strides.get_mut(axis), header.shape.get(axis)) {
                *s = *step;
                *step = step.saturating_mul(d);
            }
        };
        if header.fortran_order {
            (0..n).for_each(|axis| set(axis, &mut step));
        } else {
            (0..n).rev().for_each(|axis| set(axis, &mut step));
        }
        let (dtype, sub_shape) = flatten_subarray(&header.dtype);
        let itemsize = dtype.itemsize();
        let mut sub_strides = vec![0u64; sub_shape.len()];
        let mut step = itemsize as u64;
        for (s, &d) in sub_strides.iter_mut().zip(&sub_shape).rev() {
            *s = step;
            step = step.saturating_mul(d);
        }
        let mut shape = header.shape.clone();
        shape.extend_from_slice(&sub_shape);
        strides.extend_from_slice(&sub_strides);
        Layout {
            shape,
            strides,
            dtype,
            itemsize,
        }
    }
}

/// The indexes printed along an axis of length `len`.
fn positions(len: u64, summarise: bool) -> Chain<Range<u64>, Range<u64>> {
    if summarise && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).chain(len - EDGE_ITEMS..len)
    } else {
        (0..len).chain(len..len)
    }
}

/// Reads the printed elements in order.
struct Walker<'a> {
    layout: &'a Layout<'a>,
    source: &'a mut dyn ByteSource,
    /// One whole element, when elements are small.
    buf: Vec<u8>,
    /// Scratch for reading and formatting large elements in pieces.
    pieces: Option<Pieces>,
    summarise: bool,
}

/// The text of one printed element: formatted, or (for large elements)
/// only measured, to be written in pieces.
enum Word {
    Text(String),
    Large { offset: u64, len: u64 },
}

impl Walker<'_> {
    fn axis(&self, axis: usize) -> (u64, u64) {
        let len = self.layout.shape.get(axis).copied().unwrap_or(0);
        let stride = self.layout.strides.get(axis).copied().unwrap_or(0);
        (len, stride)
    }

    /// Feeds each printed element from `axis` on, in C order, to `node`'s
    /// statistics.
    fn observe(&mut self, node: &mut Node, pass: Pass, axis: usize, offset: u64) -> Result<()> {
        if axis == self.layout.shape.len() {
            return match &mut self.pieces {
                Some(pieces) => {
                    let size = self.layout.itemsize as u64;
                    pieces.observe(node, &mut *self.source, offset, size, pass)
                }
                None => {
                    self.source.read_at(offset, &mut self.buf)?;
                    node.observe(&self.buf, pass);
                    Ok(())
                }
            };
        }
        let (len, stride) = self.axis(axis);
        for i in positions(len, self.summarise) {
            let at = offset.saturating_add(i.saturating_mul(stride));
            self.observe(node, pass, axis + 1, at)?;
        }
        Ok(())
    }

    /// The element at `offset`, formatted or measured.
    fn word(&mut self, node: &Node, offset: u64) -> Result<Word> {
        match &mut self.pieces {
            Some(pieces) => {
                let size = self.layout.itemsize as u64;
                let len = pieces.measure(node, &mut *self.source, offset, size)?;
                Ok(Word::Large { offset, len })
            }
            None => {
                self.source.read_at(offset, &mut self.buf)?;
                let mut word = String::new();
                node.format(&self.buf, &mut word)?;
                Ok(Word::Text(word))
            }
        }
    }

    fn put(&mut self, node: &Node, word: Word, out: &mut Out<'_>) -> Result<()> {
        match (word, &mut self.pieces) {
            (Word::Text(text), _) => out.push(&text),
            (Word::Large { offset, .. }, Some(pieces)) => {
                let size = self.layout.itemsize as u64;
                pieces.write(node, &mut *self.source, offset, size, out)
            }
            (Word::Large { .. }, None) => Ok(()),
        }
    }

    /// `_formatArray`'s recurser: writes the block at `axis` whose first
    /// byte is at `offset`; `hanging` is the column after its `[`.
    fn emit(
        &mut self,
        node: &Node,
        out: &mut Out<'_>,
        axis: usize,
        offset: u64,
        hanging: usize,
        width: usize,
    ) -> Result<()> {
        let ndim = self.layout.shape.len();
        if axis == ndim {
            let word = self.word(node, offset)?;
            return self.put(node, word, out);
        }
        let (len, stride) = self.axis(axis);
        // The printed items, `None` for the `...` of a summarised axis: no
        // list of them is built (a row of `--full` can be billions long).
        let cut = self.summarise && len > 2 * EDGE_ITEMS;
        let count = if cut { 2 * EDGE_ITEMS + 1 } else { len };
        let items = (0..count).map(|k| match k {
            _ if !cut || k < EDGE_ITEMS => Some(k),
            _ if k == EDGE_ITEMS => None,
            _ => Some(len - count + k),
        });
        let at = |i: u64| offset.saturating_add(i.saturating_mul(stride));
        out.push("[")?;
        if axis + 1 == ndim {
            // A row: words separated by ", ", wrapped to fit.
            let elem_width = width.saturating_sub(1) as u64;
            let last = count.saturating_sub(1);
            for (k, item) in (0..).zip(items) {
                let word = match item {
                    Some(i) => self.word(node, at(i))?,
                    None => Word::Text("...".to_string()),
                };
                let len = match &word {
                    Word::Text(text) => text.chars().count() as u64,
                    Word::Large { len, .. } => *len,
                };
                if (out.col as u64).saturating_add(len) > elem_width && out.col > hanging {
                    out.newline(true)?;
                    out.push(&" ".repeat(hanging))?;
                }
                self.put(node, word, out)?;
                if k != last {
                    out.push(", ")?;
                }
            }
        } else {
            // Blocks: one per line, a blank line per extra dimension below.
            for (k, item) in items.enumerate() {
                if k > 0 {
                    out.push(",")?;
                    for _ in axis + 1..ndim {
                        out.newline(false)?;
                    }
                    out.push(&" ".repeat(hanging))?;
                }
                match item {
                    Some(i) => self.emit(
                        node,
                        out,
                        axis + 1,
                        at(i),
                        hanging + 1,
                        width.saturating_sub(1),
                    )?,
                    None => out.push("...")?,
                }
            }
        }
        out.push("]")
    }
}

/// The output, written through as it comes, except trailing whitespace:
/// wrapping needs the current line's length (in characters, as Python
/// counts) and may strip the line's trailing spaces. A line can be as long
/// as an element's text (hundreds of MB), so it is never held whole.
struct Out<'w> {
    sink: &'w mut dyn Write,
    /// Whitespace at the end of the text so far, not yet written.
    held: String,
    col: usize,
}

impl Out<'_> {
    fn push(&mut self, s: &str) -> Result<()> {
        self.col += s.chars().count();
        let body = s.trim_end();
        if !body.is_empty() {
            self.sink.write_all(self.held.as_bytes())?;
            self.held.clear();
            self.sink.write_all(body.as_bytes())?;
        }
        self.held.push_str(s.get(body.len()..).unwrap_or_default());
        Ok(())
    }

    fn newline(&mut self, strip: bool) -> Result<()> {
        if !strip {
            self.sink.write_all(self.held.as_bytes())?;
        }
        self.held.clear();
        self.sink.write_all(b"\n")?;
        self.col = 0;
        Ok(())
    }

    fn finish(self) -> Result<()> {
        self.sink.write_all(self.held.as_bytes())?;
        self.sink.flush()?;
        Ok(())
    }
}
