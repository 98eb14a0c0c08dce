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

use super::Payload;
use super::elementwise::ElementOp;
use super::sink::Sink;
use crate::error::Result;

/// Bytes of input (and, separately, of output) a window holds by default.
pub(crate) const WINDOW_BYTES: usize = 16 << 20;
/// Edge of a tile, in elements.
const TILE: usize = 32;
/// Elements of padding after each buffered row, so rows of a power-of-two
/// length do not all map to the same cache sets.
const PAD: usize = 16;

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
    // A square block of about WINDOW_BYTES (at least a tile each way),
    // clipped to the array; the middle axes fill what is left.
    let budget = (window_bytes / out_item.max(in_item)).max(TILE * TILE);
    let side = (budget as f64).sqrt() as usize;
    let kb = dl.min(side.max(TILE));
    let ib = d0.min((budget / kb).max(1));
    let mb = m_count.min((budget / (ib * kb)).max(1));
    // Buffered rows are padded (see PAD) unless a window reads whole rows
    // of several middle positions in one run.
    let in_stride = if kb == dl && mb > 1 { kb } else { kb + PAD };
    let out_stride = ib + PAD;
    let mut input = vec![0u8; ib * mb * in_stride * in_item];
    let mut window = vec![0u8; kb * mb * out_stride * out_item];
    let mut tile = vec![0u8; TILE * TILE * out_item];

    for i0 in (0..d0).step_by(ib) {
        let ni = ib.min(d0 - i0);
        for m0 in (0..m_count).step_by(mb) {
            let nm = mb.min(m_count - m0);
            for k0 in (0..dl).step_by(kb) {
                let nk = kb.min(dl - k0);
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
                for mm in 0..nm {
                    for ii in (0..ni).step_by(TILE) {
                        let ti = TILE.min(ni - ii);
                        for kk in (0..nk).step_by(TILE) {
                            let tk = TILE.min(nk - kk);
                            // Convert: tile row r = input row ii+r, columns kk..kk+tk.
                            for r in 0..ti {
                                let s = (((ii + r) * nm + mm) * in_stride + kk) * in_item;
                                op.apply(
                                    &input[s..s + tk * in_item],
                                    &mut tile[r * tk * out_item..(r + 1) * tk * out_item],
                                );
                            }
                            // Transpose: window[kk+c][mm][ii..ii+ti] = tile[..][c].
                            for c in 0..tk {
                                let at = (((kk + c) * nm + mm) * out_stride + ii) * out_item;
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
            // One big window, and tiny ones that split every axis.
            for window in [WINDOW_BYTES, 1] {
                let mut sink = VecSink::default();
                reverse_axes(&input, &shape, &ElementOp::Copy, 4, &mut sink, 0, window).unwrap();
                let got: Vec<u32> = sink
                    .bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                assert_eq!(got, naive(&src, &shape), "shape {shape:?} window {window}");
            }
        }
    }
}
