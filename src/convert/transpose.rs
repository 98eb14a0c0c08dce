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

/// Bytes of output a window holds by default (its input is read a strip
/// of at most one tile's height at a time): one 32 MiB window makes a
/// third fewer `pread` and `pwrite` calls than the two 16 MiB windows (in
/// and out) it replaced, in about the same memory.
pub(crate) const WINDOW_BYTES: usize = 32 << 20;
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
/// Windows are square-ish blocks of about `window_bytes` of output
/// ([`WINDOW_BYTES`] in practice; tests use tiny ones). Unless the source
/// is read in place, a window's input rows are read with
/// [`Payload::read_at`] one strip of at most a tile's height at a time (one
/// read per contiguous run, so a file source does few large `pread`s and
/// no pages stay mapped); tiles are converted and transposed in cache, and
/// the output runs go to the sink, which writes or merges them.
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
    // Read through `read_at`, the input is held one strip of at most
    // `tile_n` input rows at a time (all the window's middle positions and
    // columns), not as a second window: the memory bound goes to the
    // output window alone, whose size sets the number of calls.
    let strip_rows = tile_n.min(ib);
    let mut input = if in_place {
        Vec::new()
    } else {
        buffer(
            strip_rows * mb * in_stride * in_item,
            "the transpose input strip",
        )?
    };
    let mut window = buffer(kb * mb * out_stride * out_item, "the transpose window")?;
    let mut tile = buffer(tile_n * tile_n * out_item, "the transpose tile")?;
    let fast = FastTranspose::detect();

    for i0 in (0..d0).step_by(ib) {
        let ni = ib.min(d0 - i0);
        for m0 in (0..m_count).step_by(mb) {
            let nm = mb.min(m_count - m0);
            for k0 in (0..dl).step_by(kb) {
                let nk = kb.min(dl - k0);
                for ii in (0..ni).step_by(tile_n) {
                    let ti = tile_n.min(ni - ii);
                    if !in_place {
                        // The strip's input rows: [r][mm][kk], rows in_stride apart.
                        for r in 0..ti {
                            let row = ((i0 + ii + r) * m_count + m0) * dl + k0;
                            let at = r * nm * in_stride * in_item;
                            if nk == dl && in_stride == dl {
                                // Whole rows: the nm rows of this i are one
                                // run. (A padded stride can equal `dl` with
                                // `nk < dl`: then each row is read alone.)
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
                        for kk in (0..nk).step_by(tile_n) {
                            let tk = tile_n.min(nk - kk);
                            // Convert: tile row r = input row ii+r, columns kk..kk+tk.
                            for r in 0..ti {
                                let src = if in_place {
                                    let s = (((i0 + ii + r) * m_count + m0 + mm) * dl + k0 + kk)
                                        * in_item;
                                    &payload[s..s + tk * in_item]
                                } else {
                                    let s = ((r * nm + mm) * in_stride + kk) * in_item;
                                    &input[s..s + tk * in_item]
                                };
                                op.apply(
                                    src,
                                    &mut tile[r * tk * out_item..(r + 1) * tk * out_item],
                                );
                            }
                            // Transpose: window[kk+c][m][ii..ii+ti] = tile[..][c].
                            let first = ((kk * rows_per_k + row_m) * out_stride + ii) * out_item;
                            let step = rows_per_k * out_stride * out_item;
                            if ti == tile_n
                                && tk == tile_n
                                && transpose_tile_fast(
                                    fast,
                                    &tile,
                                    tile_n,
                                    out_item,
                                    &mut window,
                                    first,
                                    step,
                                )
                            {
                                continue;
                            }
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

/// The register-block tile transpose this CPU can run, found once per
/// conversion: AVX (x86-64-v3) through `pulp`'s safe intrinsics, or none
/// (the element-by-element `gather_column` path).
#[derive(Clone, Copy)]
pub(crate) struct FastTranspose {
    #[cfg(target_arch = "x86_64")]
    v3: Option<pulp::x86::V3>,
}

impl FastTranspose {
    pub(crate) fn detect() -> Self {
        FastTranspose {
            #[cfg(target_arch = "x86_64")]
            v3: pulp::x86::V3::try_new(),
        }
    }

    /// No register-block kernel (as on a CPU without AVX): for tests.
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        FastTranspose {
            #[cfg(target_arch = "x86_64")]
            v3: None,
        }
    }
}

/// Writes the transpose of a full `n x n` tile of `item`-byte elements
/// (row-major in `tile`) into `window`: tile column `c` becomes the `n`
/// contiguous elements at byte `first + c * step`. Done in 8 x 8 register
/// blocks for 4-byte elements and 4 x 4 for 8-byte ones, with shuffles that
/// move bits only (a NaN's payload, any integer, is copied exactly); the
/// element-by-element gather this replaces spent a third of the W5 time.
/// Returns `false`, having written nothing, when no kernel applies (another
/// itemsize, `n` not a multiple of 8, no AVX, a window too small).
fn transpose_tile_fast(
    fast: FastTranspose,
    tile: &[u8],
    n: usize,
    item: usize,
    window: &mut [u8],
    first: usize,
    step: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = fast.v3 {
        let end = n
            .checked_sub(1)
            .and_then(|last| last.checked_mul(step))
            .and_then(|s| s.checked_add(first))
            .and_then(|s| s.checked_add(n * item));
        let fits = end.is_some_and(|e| e <= window.len()) && tile.len() >= n * n * item;
        if !fits || !n.is_multiple_of(8) {
            return false;
        }
        return match item {
            4 => {
                avx::transpose_4byte(v3, tile, n, window, first, step);
                true
            }
            8 => {
                avx::transpose_8byte(v3, tile, n, window, first, step);
                true
            }
            _ => false,
        };
    }
    let _ = (fast, tile, n, item, window, first, step);
    false
}

/// The AVX tile kernels. Bounds were checked by [`transpose_tile_fast`]:
/// every row read lies in `tile`, every column written in `window`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::indexing_slicing)]
mod avx {
    use core::arch::x86_64::{__m256, __m256d};
    use pulp::x86::V3;

    #[inline(always)]
    fn load_ps(bytes: &[u8], at: usize) -> __m256 {
        bytemuck::pod_read_unaligned(&bytes[at..at + 32])
    }

    #[inline(always)]
    fn load_pd(bytes: &[u8], at: usize) -> __m256d {
        bytemuck::pod_read_unaligned(&bytes[at..at + 32])
    }

    #[inline(always)]
    fn store<T: bytemuck::Pod>(bytes: &mut [u8], at: usize, v: T) {
        bytes[at..at + 32].copy_from_slice(bytemuck::bytes_of(&v));
    }

    /// 8 x 8 blocks of 4-byte elements.
    pub(super) fn transpose_4byte(
        v3: V3,
        tile: &[u8],
        n: usize,
        window: &mut [u8],
        first: usize,
        step: usize,
    ) {
        v3.vectorize(
            #[inline(always)]
            || {
                let a = v3.avx;
                for rb in (0..n).step_by(8) {
                    for cb in (0..n).step_by(8) {
                        let r: [__m256; 8] =
                            core::array::from_fn(|j| load_ps(tile, ((rb + j) * n + cb) * 4));
                        let t0 = a._mm256_unpacklo_ps(r[0], r[1]);
                        let t1 = a._mm256_unpackhi_ps(r[0], r[1]);
                        let t2 = a._mm256_unpacklo_ps(r[2], r[3]);
                        let t3 = a._mm256_unpackhi_ps(r[2], r[3]);
                        let t4 = a._mm256_unpacklo_ps(r[4], r[5]);
                        let t5 = a._mm256_unpackhi_ps(r[4], r[5]);
                        let t6 = a._mm256_unpacklo_ps(r[6], r[7]);
                        let t7 = a._mm256_unpackhi_ps(r[6], r[7]);
                        let u0 = a._mm256_shuffle_ps::<0x44>(t0, t2);
                        let u1 = a._mm256_shuffle_ps::<0xEE>(t0, t2);
                        let u2 = a._mm256_shuffle_ps::<0x44>(t1, t3);
                        let u3 = a._mm256_shuffle_ps::<0xEE>(t1, t3);
                        let u4 = a._mm256_shuffle_ps::<0x44>(t4, t6);
                        let u5 = a._mm256_shuffle_ps::<0xEE>(t4, t6);
                        let u6 = a._mm256_shuffle_ps::<0x44>(t5, t7);
                        let u7 = a._mm256_shuffle_ps::<0xEE>(t5, t7);
                        let cols = [
                            a._mm256_permute2f128_ps::<0x20>(u0, u4),
                            a._mm256_permute2f128_ps::<0x20>(u1, u5),
                            a._mm256_permute2f128_ps::<0x20>(u2, u6),
                            a._mm256_permute2f128_ps::<0x20>(u3, u7),
                            a._mm256_permute2f128_ps::<0x31>(u0, u4),
                            a._mm256_permute2f128_ps::<0x31>(u1, u5),
                            a._mm256_permute2f128_ps::<0x31>(u2, u6),
                            a._mm256_permute2f128_ps::<0x31>(u3, u7),
                        ];
                        for (j, col) in cols.into_iter().enumerate() {
                            store(window, first + (cb + j) * step + rb * 4, col);
                        }
                    }
                }
            },
        );
    }

    /// 4 x 4 blocks of 8-byte elements.
    pub(super) fn transpose_8byte(
        v3: V3,
        tile: &[u8],
        n: usize,
        window: &mut [u8],
        first: usize,
        step: usize,
    ) {
        v3.vectorize(
            #[inline(always)]
            || {
                let a = v3.avx;
                for rb in (0..n).step_by(4) {
                    for cb in (0..n).step_by(4) {
                        let r: [__m256d; 4] =
                            core::array::from_fn(|j| load_pd(tile, ((rb + j) * n + cb) * 8));
                        let t0 = a._mm256_unpacklo_pd(r[0], r[1]);
                        let t1 = a._mm256_unpackhi_pd(r[0], r[1]);
                        let t2 = a._mm256_unpacklo_pd(r[2], r[3]);
                        let t3 = a._mm256_unpackhi_pd(r[2], r[3]);
                        let cols = [
                            a._mm256_permute2f128_pd::<0x20>(t0, t2),
                            a._mm256_permute2f128_pd::<0x20>(t1, t3),
                            a._mm256_permute2f128_pd::<0x31>(t0, t2),
                            a._mm256_permute2f128_pd::<0x31>(t1, t3),
                        ];
                        for (j, col) in cols.into_iter().enumerate() {
                            store(window, first + (cb + j) * step + rb * 8, col);
                        }
                    }
                }
            },
        );
    }
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

    /// The register-block kernels write each tile column where the
    /// element-by-element gather does, bit for bit (NaN payloads and all
    /// byte values included), leave every other window byte alone, and
    /// decline itemsizes, tiles and windows they do not handle.
    #[test]
    fn fast_tile_transpose_matches_the_gather() {
        let n = 64;
        for item in [4usize, 8] {
            let tile: Vec<u8> = (0..n * n * item)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
                .collect();
            // Columns 3 * n * item apart, starting at an odd offset.
            let (first, step) = (5, 3 * n * item + 1);
            let len = first + (n - 1) * step + n * item + 9;
            let mut want = vec![0xA5u8; len];
            for c in 0..n {
                let at = first + c * step;
                gather_column(&tile, n, c, n, item, &mut want[at..at + n * item]);
            }
            let fast = FastTranspose::detect();
            let mut got = vec![0xA5u8; len];
            let done = transpose_tile_fast(fast, &tile, n, item, &mut got, first, step);
            #[cfg(target_arch = "x86_64")]
            assert_eq!(done, fast.v3.is_some());
            if done {
                assert!(got == want, "item {item}");
            }
            // A window one byte short, another itemsize, a ragged tile, no
            // kernel: declined, nothing written.
            let mut short = vec![0u8; len - 10];
            assert!(!transpose_tile_fast(
                fast, &tile, n, item, &mut short, first, step
            ));
            assert!(short.iter().all(|&b| b == 0));
            assert!(!transpose_tile_fast(
                fast, &tile, n, 2, &mut got, first, step
            ));
            assert!(!transpose_tile_fast(
                fast, &tile, 60, item, &mut got, first, step
            ));
            let none = FastTranspose::none();
            assert!(!transpose_tile_fast(
                none, &tile, n, item, &mut got, first, step
            ));
        }
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
            vec![130, 200],
            vec![2, 64, 3, 128],
            // Last axis = window side + its padding (64 + 16 at 16 KiB,
            // 2896 + 16 at 32 MiB): a padded strip row as long as a source
            // row, with several middle rows per window (the strip was once
            // read as one run there, leaving rows short).
            vec![2, 3, 80],
            vec![3, 2, 2, 80],
            vec![2, 3, 2912],
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
                for window in [WINDOW_BYTES, 16 << 10, 64, 1] {
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
