//! Memory-order change (C <-> Fortran) as a cache-blocked axis reversal,
//! streamed through bounded windows.
//!
//! A C-order array of shape `(d0, m..., dl)` becomes the C-order array of
//! the reversed shape: `out[k, m', i] = in[i, m, k]`, where `m'` is the
//! middle multi-index read in Fortran order. That is C -> F; F -> C is the
//! same operation applied to the reversed shape.
//!
//! The output is produced one window at a time (a block of `kb` output rows,
//! `mb` middle positions and `ib` input rows) in a buffer of bounded size,
//! filled tile by tile: each tile gathers short input rows (contiguous),
//! converts them, then scatters them as contiguous output runs from a small
//! L1-resident tile buffer, so no access walks a large power-of-two stride
//! element by element.

use super::elementwise::ElementOp;
use super::sink::Sink;
use super::{LARGE_ITEM, Payload, buffer, pieces};
use crate::error::Result;

/// Bytes of input (and, separately, of output) a window holds by default.
pub(crate) const WINDOW_BYTES: usize = 16 << 20;
/// Bytes of output a band (whole output rows, read in place) aims at: a
/// few MB, large enough for one large write, small enough to stay in L2/L3
/// while its tiles are filled. A band holds at least one output row; a row
/// longer than this (and than the window) is not banded.
const BAND_BYTES: usize = 4 << 20;
/// Largest edge of a tile, in elements: 64 x 64 `f4` tiles (16 KiB) read
/// 256-byte runs of each input row and took the mapped 16384^2 `f4`
/// transpose from 1.40x to 1.25x the W5 floor's time (32 x 32 before).
const TILE: usize = 64;
/// Largest tile, in bytes: a tile stays in L1/L2 whatever the itemsize
/// (64 x 64 elements up to 32-byte elements, 32 x 32 for 128-byte ones,
/// down to 1 x 1).
const TILE_BYTES: usize = 128 << 10;
/// Elements of padding after each buffered row, so rows of a power-of-two
/// length do not all map to the same cache sets (fewer for wide elements,
/// none for short rows, so padding never multiplies a window's size).
const PAD: usize = 16;

/// Edge of a square tile of `item`-byte elements within [`TILE_BYTES`].
fn tile_edge(item: usize) -> usize {
    let mut t = TILE;
    while t > 1 && t * t * item > TILE_BYTES {
        t -= 1;
    }
    t
}

/// Padding, in elements, after a buffered row of `len` elements of `item`
/// bytes: [`PAD`] for the small types (as before), at most 256 bytes' worth
/// for wider ones, and none when it would more than a quarter the row.
fn pad(len: usize, item: usize) -> usize {
    let p = PAD.min((256 / item.max(1)).max(1));
    if p * 4 > len { 0 } else { p }
}

/// Splits a shape into (first dim, product of the middle dims, last dim).
fn split(shape: &[usize]) -> (usize, usize, usize) {
    match shape {
        [] => (1, 1, 1),
        [only] => (*only, 1, 1),
        [first, middle @ .., last] => (*first, middle.iter().product(), *last),
    }
}

/// Fortran-order index of the middle position whose C-order index is `m`.
fn middle_f_index(middle: &[usize], mut m: usize) -> usize {
    // Decompose m in C order (last middle dim fastest), recompose in F order.
    let mut f = 0;
    let mut f_stride = 1;
    let mut digits = [0usize; crate::header::MAX_DIMS];
    for (slot, &d) in digits.iter_mut().zip(middle.iter()).rev() {
        *slot = m % d.max(1);
        m /= d.max(1);
    }
    for (&digit, &d) in digits.iter().zip(middle.iter()) {
        f += digit * f_stride;
        f_stride *= d;
    }
    f
}

/// Writes the axis-reversed (C <-> F) form of the source's payload (C
/// order of `shape`, `in_item` bytes per element) to `sink` starting at
/// `out_base`, converting each element with `op`.
///
/// Windows are square-ish blocks of about `window_bytes` ([`WINDOW_BYTES`]
/// in practice; tests use tiny ones): the input rows
/// of a window are read with [`Payload::read_at`] (one read per contiguous
/// run, so a file source does a few large `pread`s and no pages stay
/// mapped), tiles are converted and transposed in cache, and the output
/// runs go to the sink, which merges the contiguous ones.
// Every index below is derived from `shape`, whose element count times
// `in_item` equals the payload length (checked on entry), and from the
// window and tile sizes, which are sized from the same numbers.
#[allow(clippy::indexing_slicing)]
pub(crate) fn reverse_axes(
    source: &dyn Payload,
    shape: &[usize],
    op: &ElementOp,
    in_item: usize,
    sink: &mut dyn Sink,
    out_base: u64,
    window_bytes: usize,
) -> Result<()> {
    let out_item = op.out_itemsize(in_item);
    let (d0, m_count, dl) = split(shape);
    let middle: &[usize] = match shape {
        [_, middle @ .., _] => middle,
        _ => &[],
    };
    if d0 == 0 || m_count == 0 || dl == 0 || in_item == 0 {
        return Ok(());
    }
    let total = d0
        .checked_mul(m_count)
        .and_then(|n| n.checked_mul(dl))
        .and_then(|n| n.checked_mul(in_item));
    let payload_len = source.payload().len();
    if total != Some(payload_len) {
        return Err(crate::ErrorKind::PayloadSize {
            expected: total.map_or(u64::MAX, |t| t as u64),
            actual: payload_len as u64,
        }
        .into());
    }
    let item = out_item.max(in_item);
    if item > LARGE_ITEM {
        return reverse_by_element(source, shape, op, in_item, sink, out_base);
    }
    let tile_n = tile_edge(item);
    let budget = (window_bytes / item).max(1);
    // One output row (a `k`, a middle position): all `d0` input rows.
    let out_row = d0.saturating_mul(m_count);
    let in_place = source.read_in_place();
    // Reading in place with whole output rows fitting a band: bands of
    // `kb` whole output rows (all `i`, all middle positions), built in a
    // buffer laid out exactly as the output and written in one call.
    let band = in_place && out_row.saturating_mul(out_item) <= BAND_BYTES.max(window_bytes);
    let (ib, mb, kb) = if band {
        let per_band = (BAND_BYTES.min(window_bytes) / out_item.max(1)).max(1);
        (d0, m_count, dl.min((per_band / out_row).max(1)))
    } else {
        // A square block of about `window_bytes` (at least one element),
        // clipped to the array; the middle axes fill what is left. Sized
        // in bytes: a window holds at most `window_bytes` of elements plus
        // padding (at most a quarter more), whatever the itemsize.
        let side = (budget as f64).sqrt() as usize;
        let kb = dl.min(side.max(1));
        let ib = d0.min((budget / kb).max(1));
        let mb = m_count.min((budget / (ib * kb)).max(1));
        (ib, mb, kb)
    };
    // Buffered rows are padded (see PAD) unless a window reads whole rows
    // of several middle positions in one run; a band is not padded (it is
    // the output's own layout).
    let in_stride = if kb == dl && mb > 1 {
        kb
    } else {
        kb + pad(kb, in_item)
    };
    let out_stride = if band { ib } else { ib + pad(ib, out_item) };
    let payload = source.payload();
    let mut input = if in_place {
        Vec::new()
    } else {
        buffer(ib * mb * in_stride * in_item, "the transpose window")?
    };
    let mut window = buffer(kb * mb * out_stride * out_item, "the transpose window")?;
    let mut tile = buffer(tile_n * tile_n * out_item, "the transpose tile")?;

    for i0 in (0..d0).step_by(ib) {
        let ni = ib.min(d0 - i0);
        for m0 in (0..m_count).step_by(mb) {
            let nm = mb.min(m_count - m0);
            for k0 in (0..dl).step_by(kb) {
                let nk = kb.min(dl - k0);
                if !in_place {
                    // Read the window's input rows: [ii][mm][kk], rows in_stride apart.
                    for ii in 0..ni {
                        let row = ((i0 + ii) * m_count + m0) * dl + k0;
                        let at = ii * nm * in_stride * in_item;
                        if in_stride == dl {
                            // Whole rows: the nm rows of this i are one run.
                            source.read_at(
                                (row * in_item) as u64,
                                &mut input[at..at + nm * nk * in_item],
                            )?;
                        } else {
                            for mm in 0..nm {
                                let a = at + mm * in_stride * in_item;
                                source.read_at(
                                    ((row + mm * dl) * in_item) as u64,
                                    &mut input[a..a + nk * in_item],
                                )?;
                            }
                        }
                    }
                }
                for mm in 0..nm {
                    // The window row of output row (kk, this middle
                    // position) is kk * rows_per_k + row_m: in a band, the
                    // middle positions sit in output (Fortran) order.
                    let (rows_per_k, row_m) = if band {
                        (m_count, middle_f_index(middle, m0 + mm))
                    } else {
                        (nm, mm)
                    };
                    for ii in (0..ni).step_by(tile_n) {
                        let ti = tile_n.min(ni - ii);
                        for kk in (0..nk).step_by(tile_n) {
                            let tk = tile_n.min(nk - kk);
                            // Convert: tile row r = input row ii+r, columns kk..kk+tk.
                            for r in 0..ti {
                                let src = if in_place {
                                    let s = (((i0 + ii + r) * m_count + m0 + mm) * dl + k0 + kk)
                                        * in_item;
                                    &payload[s..s + tk * in_item]
                                } else {
                                    let s = (((ii + r) * nm + mm) * in_stride + kk) * in_item;
                                    &input[s..s + tk * in_item]
                                };
                                op.apply(
                                    src,
                                    &mut tile[r * tk * out_item..(r + 1) * tk * out_item],
                                );
                            }
                            // Transpose: window[kk+c][m][ii..ii+ti] = tile[..][c].
                            for c in 0..tk {
                                let w = (kk + c) * rows_per_k + row_m;
                                let at = (w * out_stride + ii) * out_item;
                                gather_column(
                                    &tile,
                                    tk,
                                    c,
                                    ti,
                                    out_item,
                                    &mut window[at..at + ti * out_item],
                                );
                            }
                        }
                    }
                }
                if band {
                    // The band is output rows k0..k0+nk, whole: one write.
                    let len = nk * out_row * out_item;
                    sink.write_at(out_base + (k0 * out_row * out_item) as u64, &window[..len])?;
                    continue;
                }
                // Write the window: one run of ni elements per (k, m) pair,
                // in output order so contiguous runs merge.
                for kk in 0..nk {
                    for mm in 0..nm {
                        let mf = middle_f_index(middle, m0 + mm);
                        let out_elem = ((k0 + kk) * m_count + mf) * d0 + i0;
                        let at = ((kk * nm + mm) * out_stride) * out_item;
                        sink.write_at(
                            out_base + (out_elem * out_item) as u64,
                            &window[at..at + ni * out_item],
                        )?;
                    }
                }
            }
        }
    }
    sink.flush()
}

/// The axis reversal for elements larger than [`LARGE_ITEM`]: output
/// elements in output order, each read from its input position and
/// converted in pieces (see [`pieces`]), so memory is two pieces whatever
/// the itemsize. Runs this long need no tiling to be fast.
// Buffers hold one piece (at least one whole element for a cast, whose
// types are 16 bytes at most); strides and the odometer follow `shape`,
// whose size the caller checked against the payload.
#[allow(clippy::indexing_slicing)]
fn reverse_by_element(
    source: &dyn Payload,
    shape: &[usize],
    op: &ElementOp,
    in_item: usize,
    sink: &mut dyn Sink,
    out_base: u64,
) -> Result<()> {
    let layout = &source.header().dtype;
    let out_item = op.out_itemsize(in_item);
    let whole = matches!(op, ElementOp::Cast { .. });
    let piece = super::CHUNK_BYTES.min(in_item.max(out_item));
    let mut ibuf = buffer(piece, "the transpose buffer")?;
    let mut obuf = buffer(piece, "the transpose buffer")?;
    // C strides of the input shape, in elements.
    let mut strides = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    // Output multi-index over the reversed shape (last output axis =
    // input axis 0), counted like an odometer.
    let mut idx = vec![0usize; shape.len()];
    let count: usize = shape.iter().product();
    for out_elem in 0..count {
        let in_elem: usize = idx
            .iter()
            .enumerate()
            .map(|(a, &i)| i * strides[shape.len() - 1 - a])
            .sum();
        let (src_at, dst_at) = (in_elem * in_item, out_elem * out_item);
        if whole {
            source.read_at(src_at as u64, &mut ibuf[..in_item])?;
            op.apply(&ibuf[..in_item], &mut obuf[..out_item]);
            sink.write_at(out_base + dst_at as u64, &obuf[..out_item])?;
        } else {
            for p in pieces(layout) {
                let n = p.len();
                source.read_at((src_at + p.start) as u64, &mut ibuf[..n])?;
                op.apply_piece(p.start, &ibuf[..n], &mut obuf[..n]);
                sink.write_at(out_base + (dst_at + p.start) as u64, &obuf[..n])?;
            }
        }
        for (a, i) in idx.iter_mut().enumerate().rev() {
            *i += 1;
            if *i < shape[shape.len() - 1 - a] {
                break;
            }
            *i = 0;
        }
    }
    sink.flush()
}

// `tile` holds `rows * cols` elements and `dst` `rows`, by the caller's sizing.
#[allow(clippy::indexing_slicing)]
/// Copies column `c` of a `rows x cols` tile (row-major, `item` bytes per
/// element) into `dst` as `rows` contiguous elements.
fn gather_column(tile: &[u8], cols: usize, c: usize, rows: usize, item: usize, dst: &mut [u8]) {
    fn typed<const N: usize>(tile: &[u8], cols: usize, c: usize, rows: usize, dst: &mut [u8]) {
        let t: &[[u8; N]] = bytemuck::cast_slice(&tile[..tile.len() / N * N]);
        let d: &mut [[u8; N]] = bytemuck::cast_slice_mut(dst);
        for (r, out) in d.iter_mut().enumerate().take(rows) {
            *out = t[r * cols + c];
        }
    }
    match item {
        1 => typed::<1>(tile, cols, c, rows, dst),
        2 => typed::<2>(tile, cols, c, rows, dst),
        4 => typed::<4>(tile, cols, c, rows, dst),
        8 => typed::<8>(tile, cols, c, rows, dst),
        16 => typed::<16>(tile, cols, c, rows, dst),
        _ => {
            for r in 0..rows {
                let s = (r * cols + c) * item;
                dst[r * item..(r + 1) * item].copy_from_slice(&tile[s..s + item]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::sink::VecSink;

    /// A payload that only offers `read_at` (as the CLI's `pread` input).
    struct ByReadAt<'a>(&'a crate::convert::InMemory);

    impl Payload for ByReadAt<'_> {
        fn header(&self) -> &crate::Header {
            &self.0.header
        }
        fn payload(&self) -> &[u8] {
            &self.0.bytes
        }
    }

    /// Reference: element-by-element axis reversal through multi-indices.
    fn naive(src: &[u32], shape: &[usize]) -> Vec<u32> {
        let n: usize = shape.iter().product();
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let mut out = vec![0; n];
        for (lin, &v) in src.iter().enumerate() {
            let mut idx = vec![0; shape.len()];
            let mut rem = lin;
            for (a, &d) in shape.iter().enumerate().rev() {
                idx[a] = rem % d;
                rem /= d;
            }
            let mut o = 0;
            for (a, &d) in rev.iter().enumerate() {
                o = o * d + idx[shape.len() - 1 - a];
            }
            out[o] = v;
        }
        out
    }

    #[test]
    fn matches_naive_reversal_for_many_shapes() {
        for shape in [
            vec![3, 4],
            vec![1, 7],
            vec![70, 33],
            vec![2, 3, 4],
            vec![5, 1, 3, 2],
            vec![33, 2, 3, 35],
            vec![2, 2, 2, 2, 2, 2],
            vec![3, 700, 2],
            vec![1500, 3],
            vec![40, 5, 6, 70],
        ] {
            let n: usize = shape.iter().product();
            let src: Vec<u32> = (0..n as u32).collect();
            let bytes: Vec<u8> = src.iter().flat_map(|v| v.to_le_bytes()).collect();
            let input = crate::convert::InMemory {
                header: crate::Header {
                    dtype: crate::Dtype::from_descr("<u4").unwrap(),
                    fortran_order: false,
                    shape: shape.iter().map(|&d| d as u64).collect(),
                },
                bytes,
                version: None,
            };
            // One big window, and tiny ones that split every axis; read in
            // place (bands) and through `read_at` (windows).
            let windowed = ByReadAt(&input);
            let sources: [(&dyn Payload, &str); 2] = [(&input, "in place"), (&windowed, "read_at")];
            for (source, how) in sources {
                for window in [WINDOW_BYTES, 64, 1] {
                    let mut sink = VecSink::default();
                    reverse_axes(source, &shape, &ElementOp::Copy, 4, &mut sink, 0, window)
                        .unwrap();
                    let got: Vec<u32> = sink
                        .bytes
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                        .collect();
                    assert_eq!(
                        got,
                        naive(&src, &shape),
                        "shape {shape:?} window {window} {how}"
                    );
                }
            }
        }
    }

    #[test]
    fn large_elements_move_whole_in_pieces() {
        // Elements past LARGE_ITEM take the element-by-element path, with a
        // byte swap of a U field split across pieces (CHUNK_BYTES is 1 MiB).
        let dt = crate::Dtype::from_descr_literal("[('a', '<i2'), ('u', '<U300000')]").unwrap();
        let to = dt.with_byte_order(crate::dtype::ByteOrder::Big);
        let op = ElementOp::plan(&dt, &to).unwrap();
        let item = dt.itemsize();
        let shape = [2usize, 3, 2];
        let n: usize = shape.iter().product();
        let bytes: Vec<u8> = (0..n * item).map(|i| (i % 251) as u8).collect();
        let input = crate::convert::InMemory {
            header: crate::Header {
                dtype: dt.clone(),
                fortran_order: false,
                shape: shape.iter().map(|&d| d as u64).collect(),
            },
            bytes: bytes.clone(),
            version: None,
        };
        let mut sink = VecSink::default();
        reverse_axes(&input, &shape, &op, item, &mut sink, 0, WINDOW_BYTES).unwrap();
        let order = naive(&(0..n as u32).collect::<Vec<_>>(), &shape);
        for (out_pos, &in_elem) in order.iter().enumerate() {
            let mut want = bytes[in_elem as usize * item..][..item].to_vec();
            op.apply(&want.clone(), &mut want);
            assert_eq!(
                &sink.bytes[out_pos * item..][..item],
                &want[..],
                "element {out_pos}"
            );
        }
    }
}
