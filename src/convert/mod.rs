//! Whole-array conversions that stream with bounded memory: byte order,
//! memory order (C <-> Fortran), format version, NumPy's casts at any
//! casting level ([`Casting`]), raw <-> npy;
//! plus statistics and comparison over payloads.
//!
//! Inputs are any [`Payload`]: a memory map ([`crate::mmap::NpyMap`]), a
//! view ([`crate::view::NpyView`]) or bytes in memory ([`InMemory`]). A
//! conversion streams through the payload, reads a transpose's tiles in
//! place ([`Payload::read_in_place`]: bands of whole output rows, one write
//! each) or its windows with [`Payload::read_at`], and tells the input which ranges it is done
//! with ([`Payload::release`]; [`stats::stats`] takes a `release` callback),
//! so a mapped input drops those pages and resident memory stays bounded on
//! inputs larger than RAM. Outputs go through a positional sink that merges
//! adjacent runs into large writes, into a temporary file renamed over the
//! target ([`convert_to_file`], [`from_raw`], [`to_raw`], [`append_to_file`]).

mod cast;
pub mod compare;
mod elementwise;
mod files;
pub(crate) mod float_text;
mod gather;
mod index;
mod ldouble;
pub(crate) mod sink;
mod slice;
pub mod stats;
mod transpose;
pub mod value;

pub use cast::{Casting, can_cast, required_casting};
pub(crate) use elementwise::ElementOp;
pub use files::{
    InMemory, Payload, RawSpec, append_to_file, convert_to_file, from_raw, to_raw, to_raw_with,
};
pub use index::{Index, IndexItem};
use sink::Sink;
pub use slice::{SliceOptions, SlicePlan, slice};

use crate::dtype::{ByteOrder, Dtype};
use crate::error::{ErrorKind, Result};
use crate::header::{Header, Version};

/// Bytes of input converted per step of a streaming conversion; also the
/// largest piece of one element handled at a time: an element larger than
/// this is converted (and compared) in pieces, so no buffer ever holds a
/// whole element of hundreds of MB.
const CHUNK_BYTES: usize = 1 << 20;

/// Elements larger than this are moved one at a time (in pieces of at most
/// [`CHUNK_BYTES`]) when the memory order changes, instead of through
/// cache tiles, and compared by walking their dtype instead of a table of
/// their scalars.
const LARGE_ITEM: usize = 64 << 10;

/// A zeroed buffer of `len` bytes, or an error (never an abort) when the
/// memory is not there.
pub(crate) fn buffer(len: usize, what: &str) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        ErrorKind::Io(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("out of memory: cannot allocate {len} bytes for {what}"),
        ))
    })?;
    // A window of several MB is walked across many of its rows at once:
    // on huge pages those accesses miss the TLB far less.
    crate::mmap::advise_huge_pages_spare(&mut v);
    v.resize(len, 0);
    Ok(v)
}

/// The pieces `[start, end)` an element of `dtype` is cut into for
/// streaming: at most [`CHUNK_BYTES`] each, never inside an indivisible
/// unit (a number, a UCS-4 code unit).
pub(crate) fn pieces(dtype: &Dtype) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let size = dtype.itemsize();
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= size {
            return None;
        }
        let want = size.min(at + CHUNK_BYTES);
        let mut end = elementwise::split_point(dtype, want);
        if end <= at {
            // A unit longer than a piece cannot happen (units are at most
            // 16 bytes); still, always make progress.
            end = want;
        }
        let piece = at..end;
        at = end;
        Some(piece)
    })
}

/// What `convert` changes; `None` keeps the input's choice.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Byte order of every multi-byte part of the output dtype.
    pub byte_order: Option<ByteOrder>,
    /// `Some(true)` for Fortran order, `Some(false)` for C order.
    pub fortran_order: Option<bool>,
    /// The output format version (an error if it cannot hold the header).
    pub version: Option<Version>,
    /// Cast to this dtype (among bool, int, uint, float16/32/64 and
    /// complex64/128), with NumPy's `astype` results.
    pub dtype: Option<Dtype>,
    /// How much the conversion may change values, as NumPy's `casting=`:
    /// checked from the input dtype to the output dtype (byte order
    /// included, so `No` also refuses a byte-order change). Default `Safe`.
    pub casting: Casting,
}

/// A planned conversion: the output header bytes and how to make the payload.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The output header.
    pub header: Header,
    /// The output's preamble + header bytes, as NumPy would write them.
    pub header_bytes: Vec<u8>,
    op: ElementOp,
    transpose: bool,
}

impl Plan {
    /// Plans converting an array described by `input` (in format `version`).
    ///
    /// # Errors
    /// `ObjectDtype`, `UnsupportedCast`, `Casting` (refused by
    /// `opts.casting`), `VersionTooSmall`.
    pub fn new(input: &Header, version: Version, opts: &ConvertOptions) -> Result<Plan> {
        if input.dtype.has_object() {
            return Err(ErrorKind::ObjectDtype.into());
        }
        let mut dtype = opts.dtype.clone().unwrap_or_else(|| input.dtype.clone());
        if let Some(order) = opts.byte_order {
            dtype = dtype.with_byte_order(order);
        }
        let op = ElementOp::plan_with(&input.dtype, &dtype, opts.casting)?;
        let mut header = Header {
            dtype,
            fortran_order: opts.fortran_order.unwrap_or(input.fortran_order),
            shape: input.shape.clone(),
        };
        // NumPy writes False for arrays that are contiguous both ways.
        if header.is_both_orders() {
            header.fortran_order = false;
        }
        let transpose = !input.is_both_orders() && header.fortran_order != input.fortran_order;
        let header_bytes = match opts.version {
            Some(v) => header.to_bytes(Some(v))?,
            // Keep the input's version when it holds the header, else NumPy's choice.
            None => header
                .to_bytes(Some(version))
                .or_else(|_| header.to_bytes(None))?,
        };
        Ok(Plan {
            header,
            header_bytes,
            op,
            transpose,
        })
    }

    /// Whether the output payload is a plain copy of the input's.
    pub fn is_copy(&self) -> bool {
        matches!(self.op, ElementOp::Copy) && !self.transpose
    }

    /// Writes the output payload for input payload `src` (described by
    /// `input`) to `sink` at byte `out_base`.
    pub(crate) fn write_payload(
        &self,
        source: &dyn Payload,
        sink: &mut dyn Sink,
        out_base: u64,
    ) -> Result<()> {
        let input = source.header();
        let src = source.payload();
        let in_item = input.dtype.itemsize();
        let out_item = self.header.dtype.itemsize();
        let expected = input.payload_len()?;
        if src.len() as u64 != expected {
            return Err(ErrorKind::PayloadSize {
                expected,
                actual: src.len() as u64,
            }
            .into());
        }
        if in_item == 0 || src.is_empty() {
            return sink.flush();
        }
        if self.transpose {
            let mut shape = input
                .shape
                .iter()
                .map(|&d| usize::try_from(d))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| ErrorKind::Overflow { what: "shape" })?;
            if input.fortran_order {
                shape.reverse();
            }
            return transpose::reverse_axes(
                source,
                &shape,
                &self.op,
                in_item,
                sink,
                out_base,
                transpose::WINDOW_BYTES,
            );
        }
        if in_item > CHUNK_BYTES {
            return self.write_large_elements(source, sink, out_base);
        }
        let per_chunk = (CHUNK_BYTES / in_item).max(1);
        let mut buf = buffer(per_chunk * out_item, "the conversion buffer")?;
        let mut at = out_base;
        let mut done = 0usize;
        for chunk in src.chunks(per_chunk * in_item) {
            let n = chunk.len() / in_item;
            let Some(out) = buf.get_mut(..n * out_item) else {
                break;
            };
            self.op.apply(chunk, out);
            sink.write_at(at, out)?;
            at += out.len() as u64;
            source.release(done..done + chunk.len());
            done += chunk.len();
        }
        sink.flush()
    }

    /// The elementwise path for elements larger than [`CHUNK_BYTES`]: each
    /// element is converted in pieces (a byte swap applies the runs that
    /// fall in each piece), so memory stays at one piece whatever the
    /// itemsize. Only `Copy` and `Swap` get here (cast types are small).
    fn write_large_elements(
        &self,
        source: &dyn Payload,
        sink: &mut dyn Sink,
        out_base: u64,
    ) -> Result<()> {
        let input = source.header();
        let len = source.payload().len();
        let item = input.dtype.itemsize();
        // Read with `read_at` (a `pread` for files), so no mapped pages
        // pile up however the kernel treats the release hints.
        let mut ibuf = buffer(CHUNK_BYTES, "the conversion buffer")?;
        let mut obuf = buffer(CHUNK_BYTES, "the conversion buffer")?;
        let mut at = 0usize;
        while at < len {
            for piece in pieces(&input.dtype) {
                let lo = at + piece.start;
                let (Some(from), Some(out)) =
                    (ibuf.get_mut(..piece.len()), obuf.get_mut(..piece.len()))
                else {
                    break;
                };
                source.read_at(lo as u64, from)?;
                self.op.apply_piece(piece.start, from, out);
                sink.write_at(out_base + lo as u64, out)?;
                source.release(lo..lo + piece.len());
            }
            at += item;
        }
        sink.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::sink::VecSink;
    use super::*;

    #[test]
    fn c_to_f_then_back_is_identity_with_swap() {
        let h = Header {
            dtype: Dtype::from_descr("<i4").unwrap(),
            fortran_order: false,
            shape: vec![3, 5, 2],
        };
        let src: Vec<u8> = (0..30i32).flat_map(|v| v.to_le_bytes()).collect();
        let to_f = Plan::new(
            &h,
            Version::V1_0,
            &ConvertOptions {
                fortran_order: Some(true),
                byte_order: Some(ByteOrder::Big),
                ..Default::default()
            },
        )
        .unwrap();
        let mut mid = VecSink::default();
        let input = InMemory {
            header: h.clone(),
            bytes: src.clone(),
            version: None,
        };
        to_f.write_payload(&input, &mut mid, 0).unwrap();
        // Element (i, j, k) of the F-order output sits at i + 3*j + 15*k.
        let at = |i: usize, j: usize, k: usize| {
            let o = (i + 3 * j + 15 * k) * 4;
            i32::from_be_bytes(mid.bytes[o..o + 4].try_into().unwrap())
        };
        assert_eq!(at(2, 4, 1), 2 * 10 + 4 * 2 + 1);
        let back = Plan::new(
            &to_f.header,
            Version::V1_0,
            &ConvertOptions {
                fortran_order: Some(false),
                byte_order: Some(ByteOrder::Little),
                ..Default::default()
            },
        )
        .unwrap();
        let mut out = VecSink::default();
        let mid = InMemory {
            header: to_f.header.clone(),
            bytes: mid.bytes,
            version: None,
        };
        back.write_payload(&mid, &mut out, 0).unwrap();
        assert_eq!(out.bytes, src);
    }
}
