//! Large elements, in pieces: an element (or field, or subarray item) of
//! more than [`SMALL`] bytes is never read or formatted whole.
//!
//! Its text is produced twice from the source, in pieces of at most
//! [`SMALL`] bytes: once to count its characters (what `_formatArray`'s
//! line wrapping needs, and the quote `repr` chooses for `S` and `U`,
//! which depends on the whole value), once to write it. Parts of at most
//! [`SMALL`] bytes are read whole and formatted by [`Node::format`], so the
//! text is the same as for small elements by construction; only the `S`,
//! `U` and `V` leaves larger than that, and the records and subarrays
//! around them, are walked here. Memory: one [`SMALL`] buffer, the text of
//! one piece (at most ten characters per byte), and one quote per large
//! text leaf of the element being printed.

use super::element::{Node, Pass, field_out_of_range, summarises, void_body};
use super::{ByteSource, EDGE_ITEMS, Out};
use crate::convert::value::{Value, decode_value, py_escape_bytes};
use crate::dtype::{Scalar, ScalarKind, py_escape_str};
use crate::error::{ErrorKind, Result};

/// Parts of an element up to this many bytes are read and formatted whole;
/// larger `S`, `U`, `V` values are read in pieces of this size (a multiple
/// of a `U` code unit).
pub(super) const SMALL: usize = 64 << 10;

/// NULs escaped at a time when a run of them turns out not to be trailing.
const NUL_RUN: usize = 4096;

/// Where text goes: counted, or written.
enum Dest<'a, 'w> {
    Count(u64),
    Write(&'a mut Out<'w>),
}

impl Dest<'_, '_> {
    fn put(&mut self, s: &str) -> Result<()> {
        match self {
            Dest::Count(n) => *n = n.saturating_add(s.chars().count() as u64),
            Dest::Write(out) => out.push(s)?,
        }
        Ok(())
    }
}

/// The scratch space for formatting large elements.
pub(super) struct Pieces {
    buf: Vec<u8>,
    text: String,
    /// The quote of each large `S` / `U` leaf of the element last measured,
    /// in the order they print.
    quotes: Vec<char>,
    /// The next entry of `quotes` a write uses.
    next_quote: usize,
    byte_widths: ByteWidths,
}

/// How many characters each byte of an `S` value escapes to with `'`
/// quotes, taken from the escaping function itself.
struct ByteWidths([u8; 256]);

impl ByteWidths {
    fn new() -> ByteWidths {
        let mut widths = [0; 256];
        let mut text = String::new();
        for (b, w) in (0..=255u8).zip(widths.iter_mut()) {
            text.clear();
            py_escape_bytes(&[b], '\'', &mut text);
            *w = u8::try_from(text.chars().count()).unwrap_or(u8::MAX);
        }
        ByteWidths(widths)
    }

    fn get(&self, b: u8) -> u64 {
        u64::from(self.0.get(usize::from(b)).copied().unwrap_or(0))
    }
}

/// `source[offset..offset + len]`, read into the front of `buf`.
fn read_into<'b>(
    source: &mut dyn ByteSource,
    buf: &'b mut [u8],
    offset: u64,
    len: u64,
) -> Result<&'b [u8]> {
    let part = usize::try_from(len)
        .ok()
        .and_then(|len| buf.get_mut(..len))
        .ok_or(ErrorKind::Overflow {
            what: "element piece",
        })?;
    source.read_at(offset, part)?;
    Ok(part)
}

fn at(offset: u64, delta: u64) -> Result<u64> {
    offset.checked_add(delta).ok_or_else(|| {
        ErrorKind::Overflow {
            what: "payload offset",
        }
        .into()
    })
}

impl Pieces {
    pub(super) fn new() -> Pieces {
        Pieces {
            buf: vec![0; SMALL],
            text: String::new(),
            quotes: Vec::new(),
            next_quote: 0,
            byte_widths: ByteWidths::new(),
        }
    }

    /// Feeds the numbers of the element of `size` bytes at `offset` to
    /// `node`'s statistics, as [`Node::observe`] does with its bytes.
    pub(super) fn observe(
        &mut self,
        node: &mut Node,
        source: &mut dyn ByteSource,
        offset: u64,
        size: u64,
        pass: Pass,
    ) -> Result<()> {
        if size <= SMALL as u64 {
            let bytes = read_into(source, &mut self.buf, offset, size)?;
            node.observe(bytes, pass);
            return Ok(());
        }
        match node {
            Node::Struct(fields) => {
                for f in fields {
                    check_field(f.offset, f.size, size)?;
                    let off = at(offset, f.offset as u64)?;
                    self.observe(&mut f.node, source, off, f.size as u64, pass)?;
                }
            }
            Node::Sub {
                shape,
                base_size,
                node,
                ..
            } if *base_size > 0 => {
                let count = element_count(shape)?;
                let base = *base_size as u64;
                if base <= SMALL as u64 {
                    // Batches of whole items, read at once.
                    let per = SMALL as u64 / base;
                    let mut i = 0;
                    while i < count {
                        let n = per.min(count - i);
                        let bytes =
                            read_into(source, &mut self.buf, at(offset, i * base)?, n * base)?;
                        for item in bytes.chunks_exact(*base_size) {
                            node.observe(item, pass);
                        }
                        i += n;
                    }
                } else {
                    for i in 0..count {
                        self.observe(node, source, at(offset, i * base)?, base, pass)?;
                    }
                }
            }
            // Text and void values have no statistics.
            _ => {}
        }
        Ok(())
    }

    /// The number of characters (as Python counts them) of the text of the
    /// element of `size` bytes at `offset`.
    pub(super) fn measure(
        &mut self,
        node: &Node,
        source: &mut dyn ByteSource,
        offset: u64,
        size: u64,
    ) -> Result<u64> {
        self.quotes.clear();
        let mut dest = Dest::Count(0);
        self.render(node, source, offset, size, &mut dest)?;
        match dest {
            Dest::Count(n) => Ok(n),
            Dest::Write(_) => Ok(0),
        }
    }

    /// Writes the text of the element of `size` bytes at `offset` to `out`,
    /// in pieces, using the quotes [`Pieces::measure`] found for it (or
    /// finding them first when it was not measured).
    pub(super) fn write(
        &mut self,
        node: &Node,
        source: &mut dyn ByteSource,
        offset: u64,
        size: u64,
        out: &mut Out<'_>,
    ) -> Result<()> {
        self.next_quote = 0;
        let result = self.render(node, source, offset, size, &mut Dest::Write(out));
        self.quotes.clear();
        result
    }

    fn render(
        &mut self,
        node: &Node,
        source: &mut dyn ByteSource,
        offset: u64,
        size: u64,
        dest: &mut Dest<'_, '_>,
    ) -> Result<()> {
        if size <= SMALL as u64 {
            let bytes = read_into(source, &mut self.buf, offset, size)?;
            self.text.clear();
            node.format(bytes, &mut self.text)?;
            return dest.put(&self.text);
        }
        match node {
            Node::Text { scalar } => self.text_value(scalar, source, offset, size, dest),
            Node::Void => self.void_value(source, offset, size, dest),
            Node::Struct(fields) => {
                dest.put("(")?;
                for (n, f) in fields.iter().enumerate() {
                    if n > 0 {
                        dest.put(", ")?;
                    }
                    check_field(f.offset, f.size, size)?;
                    let off = at(offset, f.offset as u64)?;
                    self.render(&f.node, source, off, f.size as u64, dest)?;
                }
                if fields.len() == 1 {
                    dest.put(",")?;
                }
                dest.put(")")
            }
            Node::Sub {
                shape,
                base_size,
                node,
                threshold,
            } => {
                let summarise = summarises(shape, *threshold);
                let base = *base_size as u64;
                self.subarray(shape, base, node, summarise, source, offset, dest)
            }
            // Numbers, booleans and times are at most 32 bytes.
            _ => Err(field_out_of_range()),
        }
    }

    /// `SubArrayFormat.format_array` (as `format_subarray` in `element`):
    /// nested lists joined by `, `, each axis cut to its edge items when
    /// the subarray is summarised.
    #[allow(clippy::too_many_arguments)]
    fn subarray(
        &mut self,
        shape: &[u64],
        base: u64,
        node: &Node,
        summarise: bool,
        source: &mut dyn ByteSource,
        offset: u64,
        dest: &mut Dest<'_, '_>,
    ) -> Result<()> {
        let Some((&len, rest)) = shape.split_first() else {
            return self.render(node, source, offset, base, dest);
        };
        let inner = element_count(rest)?
            .checked_mul(base)
            .ok_or_else(field_out_of_range)?;
        dest.put("[")?;
        let cut = summarise && len > 2 * EDGE_ITEMS;
        let (head, tail) = if cut {
            (0..EDGE_ITEMS, len - EDGE_ITEMS..len)
        } else {
            (0..len, len..len)
        };
        for (k, i) in head.chain(tail).enumerate() {
            if k > 0 {
                dest.put(", ")?;
            }
            if cut && k as u64 == EDGE_ITEMS {
                dest.put("..., ")?;
            }
            let start = i.checked_mul(inner).ok_or_else(field_out_of_range)?;
            self.subarray(
                rest,
                base,
                node,
                summarise,
                source,
                at(offset, start)?,
                dest,
            )?;
        }
        dest.put("]")
    }

    /// `b'\xHH...'`, piece by piece; counted without reading.
    fn void_value(
        &mut self,
        source: &mut dyn ByteSource,
        offset: u64,
        size: u64,
        dest: &mut Dest<'_, '_>,
    ) -> Result<()> {
        if let Dest::Count(n) = dest {
            self.text.clear();
            void_body(&[0], &mut self.text);
            let per_byte = self.text.chars().count() as u64;
            *n = n.saturating_add(size.saturating_mul(per_byte).saturating_add(3));
            return Ok(());
        }
        dest.put("b'")?;
        let mut done = 0;
        while done < size {
            let n = (size - done).min(SMALL as u64);
            let bytes = read_into(source, &mut self.buf, at(offset, done)?, n)?;
            self.text.clear();
            void_body(bytes, &mut self.text);
            dest.put(&self.text)?;
            done += n;
        }
        dest.put("'")
    }

    /// Python's `repr` of an `S` (`b'...'`) or `U` (`'...'`) value without
    /// its trailing NULs, piece by piece. Counting finds the quote `repr`
    /// uses (`"` when the value has a `'` and no `"`): the text is escaped
    /// with `'`, and each `'` then counts one character less.
    fn text_value(
        &mut self,
        scalar: &Scalar,
        source: &mut dyn ByteSource,
        offset: u64,
        size: u64,
        dest: &mut Dest<'_, '_>,
    ) -> Result<()> {
        let bytes_kind = scalar.kind() == ScalarKind::Bytes;
        let counting = matches!(dest, Dest::Count(_));
        let quote = if counting {
            '\''
        } else {
            if self.quotes.len() <= self.next_quote {
                // Not measured first: find the quote now.
                self.text_value(scalar, source, offset, size, &mut Dest::Count(0))?;
            }
            let q = self.quotes.get(self.next_quote).copied().unwrap_or('\'');
            self.next_quote += 1;
            q
        };
        let mut body: Dest<'_, '_> = Dest::Count(0);
        let body_dest = if counting { &mut body } else { &mut *dest };
        if !counting {
            body_dest.put(if bytes_kind { "b" } else { "" })?;
            let mut q = [0; 4];
            body_dest.put(quote.encode_utf8(&mut q))?;
        }
        // NULs seen since the last other unit: escaped if more text follows,
        // dropped at the end.
        let mut pending: u64 = 0;
        let (mut singles, mut doubles) = (0u64, 0u64);
        let mut done = 0;
        while done < size {
            let n = (size - done).min(SMALL as u64);
            let bytes = read_into(source, &mut self.buf, at(offset, done)?, n)?;
            self.text.clear();
            if bytes_kind {
                match bytes.iter().rposition(|&b| b != 0) {
                    None => pending += n,
                    Some(last) => {
                        let content = bytes.get(..=last).unwrap_or_default();
                        singles += content.iter().filter(|&&b| b == b'\'').count() as u64;
                        doubles += content.iter().filter(|&&b| b == b'"').count() as u64;
                        if let Dest::Count(len) = body_dest {
                            // Counted from the per-byte lengths, without escaping.
                            let widths = &self.byte_widths;
                            let text: u64 = content.iter().map(|&b| widths.get(b)).sum();
                            let nuls = pending.saturating_mul(widths.get(0));
                            *len = len.saturating_add(nuls).saturating_add(text);
                        } else {
                            escape_nuls(&mut self.text, pending, true, quote, body_dest)?;
                            py_escape_bytes(content, quote, &mut self.text);
                        }
                        pending = n - 1 - last as u64;
                    }
                }
            } else {
                let units = n / 4;
                let Value::Str(content) = decode_value(scalar, bytes) else {
                    return Err(field_out_of_range());
                };
                let kept = content.chars().count() as u64;
                if kept == 0 {
                    pending += units;
                } else {
                    singles += content.chars().filter(|&c| c == '\'').count() as u64;
                    doubles += content.chars().filter(|&c| c == '"').count() as u64;
                    escape_nuls(&mut self.text, pending, false, quote, body_dest)?;
                    py_escape_str(&content, quote, &mut self.text);
                    pending = units.saturating_sub(kept);
                }
            }
            body_dest.put(&self.text)?;
            done += n;
        }
        if counting {
            let double = singles > 0 && doubles == 0;
            self.quotes.push(if double { '"' } else { '\'' });
            let Dest::Count(len) = body else {
                return Ok(());
            };
            let len = if double {
                len.saturating_sub(singles)
            } else {
                len
            };
            let prefix = if bytes_kind { 3 } else { 2 };
            if let Dest::Count(n) = dest {
                *n = n.saturating_add(len).saturating_add(prefix);
            }
            Ok(())
        } else {
            let mut q = [0; 4];
            dest.put(quote.encode_utf8(&mut q))
        }
    }
}

/// Puts `count` escaped NULs (as `S` bytes or `U` characters), a run at a
/// time; `text` is left empty.
fn escape_nuls(
    text: &mut String,
    mut count: u64,
    bytes_kind: bool,
    quote: char,
    dest: &mut Dest<'_, '_>,
) -> Result<()> {
    const NULS: [u8; NUL_RUN] = [0; NUL_RUN];
    while count > 0 {
        let n = count.min(NUL_RUN as u64);
        let run = NULS.get(..n as usize).unwrap_or_default();
        text.clear();
        if bytes_kind {
            py_escape_bytes(run, quote, text);
        } else {
            // NULs are valid UTF-8, one byte each.
            py_escape_str(std::str::from_utf8(run).unwrap_or_default(), quote, text);
        }
        dest.put(text)?;
        count -= n;
    }
    text.clear();
    Ok(())
}

fn element_count(shape: &[u64]) -> Result<u64> {
    shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .ok_or_else(field_out_of_range)
}

fn check_field(offset: usize, size: usize, element: u64) -> Result<()> {
    match offset.checked_add(size) {
        Some(end) if end as u64 <= element => Ok(()),
        _ => Err(field_out_of_range()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Dtype;

    /// Deterministic bytes drawn from `alphabet`.
    fn bytes_from(alphabet: &[u8], len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    /// UCS-4 code units (little-endian) of `units`, NULs at the end.
    fn ucs4(units: &[u32], len: usize) -> Vec<u8> {
        let mut v: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        v.resize(len * 4, 0);
        v
    }

    fn node_for(dtype: &Dtype, threshold: u64, bytes: &[u8], streamed: bool) -> Node {
        let mut node = Node::new(dtype, false, threshold).unwrap();
        let size = bytes.len() as u64;
        let mut pieces = Pieces::new();
        for pass in [Pass::Range, Pass::Width] {
            if streamed {
                pieces
                    .observe(&mut node, &mut &bytes[..], 0, size, pass)
                    .unwrap();
            } else {
                node.observe(bytes, pass);
            }
            if pass == Pass::Range {
                node.end_range_pass().unwrap();
            }
        }
        node.end_width_pass();
        node
    }

    /// The streamed text (measured, written; and written without a
    /// measure first) is [`Node::format`]'s text of the whole element.
    fn same_as_whole(dtype: &Dtype, threshold: u64, bytes: &[u8]) {
        assert_eq!(dtype.itemsize(), bytes.len());
        assert!(bytes.len() > SMALL, "not a large element");
        let whole = node_for(dtype, threshold, bytes, false);
        let mut want = String::new();
        whole.format(bytes, &mut want).unwrap();
        let node = node_for(dtype, threshold, bytes, true);
        let size = bytes.len() as u64;
        let mut pieces = Pieces::new();
        let len = pieces.measure(&node, &mut &bytes[..], 0, size).unwrap();
        assert_eq!(len, want.chars().count() as u64, "{dtype:?}: length");
        for measured in [true, false] {
            if !measured {
                pieces.quotes.clear();
            }
            let mut sink = Vec::new();
            let mut out = Out {
                sink: &mut sink,
                held: String::new(),
                col: 0,
            };
            pieces
                .write(&node, &mut &bytes[..], 0, size, &mut out)
                .unwrap();
            let col = out.col;
            out.finish().unwrap();
            let got = String::from_utf8(sink).unwrap();
            assert!(
                got == want,
                "{dtype:?} (measured first: {measured}): text differs"
            );
            assert_eq!(col as u64, len);
        }
    }

    const ASCII_AND_ESCAPES: &[u8] = b"ab '\"\\\t\n\r\x00\x01\x7f\x80\xff";

    #[test]
    fn bytes_values_stream_like_whole() {
        let s = |n: usize| Dtype::from_descr(&format!("|S{n}")).unwrap();
        let n = 3 * SMALL + 5;
        // Both quotes; then `'` alone (printed with `"`); all NULs.
        same_as_whole(&s(n), 1000, &bytes_from(ASCII_AND_ESCAPES, n, 1));
        same_as_whole(&s(n), 1000, &bytes_from(b"x'\x00", n, 2));
        same_as_whole(&s(n), 1000, &vec![0; n]);
        // NUL runs across piece boundaries, inside and at the end.
        let mut v = vec![0; n];
        v[SMALL - 1] = b'y';
        v[2 * SMALL + 1] = b'\'';
        same_as_whole(&s(n), 1000, &v);
    }

    #[test]
    fn unicode_values_stream_like_whole() {
        let units = 40_000;
        let n = units * 4;
        let dtype = Dtype::from_descr(&format!("<U{units}")).unwrap();
        let mut code_points = Vec::new();
        let alphabet = [
            0x61, 0x27, 0x22, 0x5c, 0x0a, 0x00, 0x85, 0xa0, 0x3000, 0x20ac, 0x1d11e, 0xe000,
            0xd800, 0x110000, 0xfeff,
        ];
        for (k, b) in bytes_from(
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
            39_000,
            3,
        )
        .into_iter()
        .enumerate()
        {
            // A NUL run across the first piece boundary.
            let nul = (16_000..16_500).contains(&k);
            code_points.push(if nul { 0 } else { alphabet[b as usize] });
        }
        same_as_whole(&dtype, 1000, &ucs4(&code_points, units));
        // `'` alone: `"` quotes; big-endian units.
        let be = Dtype::from_descr(&format!(">U{units}")).unwrap();
        let quoted: Vec<u8> = (0..units)
            .flat_map(|k| (if k % 3 == 0 { 0x27u32 } else { 0xe9 }).to_be_bytes())
            .collect();
        same_as_whole(&be, 1000, &quoted);
        assert_eq!(n, quoted.len());
    }

    #[test]
    fn void_and_records_stream_like_whole() {
        let n = 2 * SMALL + 3;
        let v = Dtype::from_descr(&format!("|V{n}")).unwrap();
        same_as_whole(&v, 1000, &bytes_from(ASCII_AND_ESCAPES, n, 4));
        // A record with a large bytes field, a subarray of large strings
        // (summarised at threshold 3), small numbers and a one-field record.
        let rec = Dtype::from_descr_literal(
            "[('a', '<f8'), ('s', '|S70000'), ('t', '<U20000', (8,)), \
              ('z', '<i2', (40000,)), ('o', [('v', '|V70000')]), ('b', '?')]",
        )
        .unwrap();
        let size = rec.itemsize();
        let mut bytes = bytes_from(ASCII_AND_ESCAPES, size, 5);
        // Sane UCS-4 units for the `t` field: ASCII letters.
        let t = 8 + 70_000;
        for k in 0..8 * 20_000 {
            let at = t + 4 * k;
            bytes[at..at + 4].copy_from_slice(&(0x61 + (k % 26) as u32).to_le_bytes());
        }
        for threshold in [3, 1000, u64::MAX] {
            same_as_whole(&rec, threshold, &bytes);
        }
    }
}
