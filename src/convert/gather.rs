//! Gathering a view's elements in the order `np.save` writes them, from
//! any [`Payload`], with bounded memory: windows of at most 1 MiB over as
//! many whole axes as fit, slabs for views that must be transposed, and
//! element-wise reads for sparse views (spec/cli.md §15, "Streaming").

use std::io::Write;
use std::ops::Range;

use super::index::Geometry;
use super::{Payload, buffer};
use crate::error::{Error, ErrorKind, Result};

/// Bytes read from the input at a time (one window) and written at a time.
pub(super) const WINDOW: usize = 1 << 20;

/// A block whose elements fill less than 1/`SPARSE_RATIO` of its span,
/// spread over more than [`SPARSE_SPAN`] bytes (a column of a C array, a
/// row of a Fortran one), is gathered from `Payload::payload` element by
/// element instead of through a window.
const SPARSE_RATIO: u128 = 16;
const SPARSE_SPAN: i128 = 64 << 10;

/// Largest slab of output rows the transposing case builds in memory.
const SLAB_BYTES: usize = 8 << 20;

/// Pages a sparse gather may leave resident before it releases them.
const SPARSE_BUDGET: u128 = 32 << 20;

/// Writes the elements of `view` (items of `item` bytes) from `source` to
/// `out`: in Fortran order when `fortran`, else in C order.
pub(super) fn gather(
    view: &Geometry,
    item: usize,
    fortran: bool,
    source: &dyn Payload,
    out: &mut dyn Write,
) -> Result<()> {
    let Some(walk) = Walk::new(view, item, fortran)? else {
        return Ok(());
    };
    let mut w = Writer {
        source,
        out,
        buf: Vec::new(),
        window: Vec::new(),
        pending: None,
        touched: None,
        touched_pages: 0,
    };
    w.buf.try_reserve_exact(WINDOW).map_err(|_| oom())?;
    walk.run(&mut w)?;
    w.flush()?;
    w.release_pending();
    w.release_touched();
    Ok(())
}

fn oom() -> Error {
    ErrorKind::Io(std::io::Error::new(
        std::io::ErrorKind::OutOfMemory,
        format!("out of memory: cannot allocate {WINDOW} bytes for the slice buffer"),
    ))
    .into()
}

/// The view as a walk over "units" (runs of contiguous bytes), in the
/// order the output is written: axes of length 1 dropped, axes that
/// continue each other merged, the innermost contiguous axis folded into
/// the unit.
struct Walk {
    base: i128,
    dims: Vec<u64>,
    strides: Vec<i128>,
    unit: usize,
}

impl Walk {
    fn new(g: &Geometry, item: usize, fortran: bool) -> Result<Option<Walk>> {
        if item == 0 || g.shape.contains(&0) {
            return Ok(None);
        }
        let mut pairs: Vec<(u64, i128)> = g
            .shape
            .iter()
            .copied()
            .zip(g.strides.iter().copied())
            .filter(|&(d, _)| d != 1)
            .collect();
        if fortran {
            pairs.reverse();
        }
        let mut merged: Vec<(u64, i128)> = Vec::with_capacity(pairs.len());
        for (d, s) in pairs {
            match merged.last_mut() {
                Some(last) if last.1 == s * i128::from(d) => {
                    last.0 = last.0.checked_mul(d).ok_or(ErrorKind::Overflow {
                        what: "element count",
                    })?;
                    last.1 = s;
                }
                _ => merged.push((d, s)),
            }
        }
        let mut unit = item;
        if let Some(&(d, s)) = merged.last()
            && s == item as i128
        {
            unit = usize::try_from(d)
                .ok()
                .and_then(|d| d.checked_mul(item))
                .ok_or(ErrorKind::Overflow { what: "slice run" })?;
            merged.pop();
        }
        let (dims, strides) = merged.into_iter().unzip();
        Ok(Some(Walk {
            base: g.offset,
            dims,
            strides,
            unit,
        }))
    }

    /// Bytes from the lowest to the highest byte the axes `from..` touch.
    fn span(&self, from: usize) -> i128 {
        self.dims
            .iter()
            .zip(&self.strides)
            .skip(from)
            .map(|(&d, &s)| (i128::from(d) - 1) * s.abs())
            .sum::<i128>()
            + self.unit as i128
    }

    fn run(&self, w: &mut Writer<'_>) -> Result<()> {
        let n = self.dims.len();
        if self.unit >= WINDOW {
            return for_each(&self.dims, &self.strides, self.base, |at| {
                w.copy_direct(at, self.unit)
            });
        }
        if self.run_slabs(w)? {
            return Ok(());
        }
        // Axes p.. fit in one window; axis p-1 is cut into chunks of k.
        let window = WINDOW as i128;
        let mut p = n;
        while p > 0 && self.span(p - 1) <= window {
            p -= 1;
        }
        let inner = self.span(p);
        let (outer_dims, chunk_dim) = match p.checked_sub(1) {
            Some(c) => (c, Some(c)),
            None => (0, None),
        };
        let (cd, cs) = chunk_dim
            .and_then(|c| Some((*self.dims.get(c)?, *self.strides.get(c)?)))
            .unwrap_or((1, 0));
        let k: u64 = if cs == 0 {
            cd
        } else {
            u64::try_from((window - inner) / cs.abs() + 1)
                .unwrap_or(1)
                .clamp(1, cd)
        };
        let inner_dims = self.dims.get(p..).unwrap_or_default();
        let inner_strides = self.strides.get(p..).unwrap_or_default();
        let inner_units: u128 = inner_dims.iter().map(|&d| u128::from(d)).product();
        let outer = self.dims.get(..outer_dims).unwrap_or_default();
        let outer_s = self.strides.get(..outer_dims).unwrap_or_default();
        for_each(outer, outer_s, self.base, |at| {
            let mut c = 0u64;
            while c < cd {
                let kk = k.min(cd - c);
                let start = at + i128::from(c) * cs;
                let mut dims = Vec::with_capacity(inner_dims.len() + 1);
                let mut strides = Vec::with_capacity(inner_dims.len() + 1);
                dims.push(kk);
                strides.push(cs);
                dims.extend_from_slice(inner_dims);
                strides.extend_from_slice(inner_strides);
                let span = (i128::from(kk) - 1) * cs.abs() + inner;
                let lo = start
                    + dims
                        .iter()
                        .zip(&strides)
                        .map(|(&d, &s)| (i128::from(d) - 1) * s.min(0))
                        .sum::<i128>();
                let units = u128::from(kk) * inner_units;
                let needed = units.saturating_mul(self.unit as u128);
                if needed.saturating_mul(SPARSE_RATIO) < span.unsigned_abs() && span > SPARSE_SPAN {
                    // Elements a page or more apart: one read each, so no
                    // mapped page (or the kernel's fault-around) stays
                    // resident; closer ones: straight from the payload.
                    if strides.last().is_some_and(|s| s.abs() >= 4096) {
                        for_each(&dims, &strides, start, |u| w.copy_direct(u, self.unit))?;
                    } else {
                        for_each(&dims, &strides, start, |u| w.copy_mapped(u, self.unit))?;
                    }
                } else {
                    w.load_window(lo, span)?;
                    for_each(&dims, &strides, start - lo, |u| {
                        w.copy_from_window(u, self.unit)
                    })?;
                }
                c += kk;
            }
            Ok(())
        })
    }
}

impl Walk {
    /// The transposing case: the output's inner axis is sparse in the input
    /// (its stride is large) while the axis before it is denser (a slice
    /// of a Fortran array written in C order, a reversed axis). Then the
    /// output is made in slabs of `R` rows of the last two axes: for each
    /// column, the `R` elements are read with one window and scattered
    /// into the slab, which is written whole. Returns false (nothing done)
    /// when the view is not like that.
    fn run_slabs(&self, w: &mut Writer<'_>) -> Result<bool> {
        let n = self.dims.len();
        let (Some(outer), Some(&[dr, dc]), Some(&[sr, sc])) = (
            n.checked_sub(2),
            self.dims.get(n.wrapping_sub(2)..),
            self.strides.get(n.wrapping_sub(2)..),
        ) else {
            return Ok(false);
        };
        let unit = self.unit as i128;
        if sr == 0 || sr.abs() >= sc.abs() || unit * SPARSE_RATIO as i128 >= sc.abs() {
            return Ok(false);
        }
        let row_bytes = i128::from(dc) * unit;
        let rows = (SLAB_BYTES as i128 / row_bytes)
            .min((WINDOW as i128 - unit) / sr.abs() + 1)
            .min(i128::from(dr));
        if rows < 2 {
            return Ok(false);
        }
        let rows = u64::try_from(rows).unwrap_or(2);
        let slab_len = usize::try_from(i128::from(rows) * row_bytes)
            .map_err(|_| ErrorKind::Overflow { what: "slice slab" })?;
        let mut slab = buffer(slab_len, "the slice slab")?;
        let unit_len = self.unit;
        let dims = self.dims.get(..outer).unwrap_or_default();
        let strides = self.strides.get(..outer).unwrap_or_default();
        for_each(dims, strides, self.base, |at| {
            let mut r0 = 0u64;
            while r0 < dr {
                let rr = rows.min(dr - r0);
                let span = (i128::from(rr) - 1) * sr.abs() + unit;
                for j in 0..dc {
                    let first = at + i128::from(r0) * sr + i128::from(j) * sc;
                    let lo = first + (i128::from(rr) - 1) * sr.min(0);
                    w.load_window(lo, span)?;
                    for r in 0..rr {
                        let src = usize::try_from(first + i128::from(r) * sr - lo).ok();
                        let dst = usize::try_from((r * dc + j) as u128 * unit_len as u128).ok();
                        let (Some(src), Some(dst)) = (src, dst) else {
                            return Err(ErrorKind::Overflow {
                                what: "slice slab offset",
                            }
                            .into());
                        };
                        let (Some(from), Some(to)) = (
                            w.window.get(src..src + unit_len),
                            slab.get_mut(dst..dst + unit_len),
                        ) else {
                            return Err(ErrorKind::Overflow {
                                what: "slice slab offset",
                            }
                            .into());
                        };
                        to.copy_from_slice(from);
                    }
                }
                let used = usize::try_from(u128::from(rr) * row_bytes as u128).unwrap_or(0);
                w.flush()?;
                w.out.write_all(slab.get(..used).unwrap_or_default())?;
                r0 += rr;
            }
            Ok(())
        })?;
        Ok(true)
    }
}

/// Calls `f` with the address of every index of `dims` (C order) from `base`.
fn for_each(
    dims: &[u64],
    strides: &[i128],
    base: i128,
    mut f: impl FnMut(i128) -> Result<()>,
) -> Result<()> {
    let mut idx = vec![0u64; dims.len()];
    let mut at = base;
    loop {
        f(at)?;
        // Odometer: bump the last axis, carry leftwards.
        let mut k = dims.len();
        loop {
            let Some(j) = k.checked_sub(1) else {
                return Ok(());
            };
            k = j;
            let (Some(i), Some(&d), Some(&s)) = (idx.get_mut(j), dims.get(j), strides.get(j))
            else {
                return Ok(());
            };
            *i += 1;
            at += s;
            if *i < d {
                break;
            }
            at -= s * i128::from(d);
            *i = 0;
        }
    }
}

/// The output side of a walk: the output buffer, the input window, and
/// the input range read since the last release.
struct Writer<'a> {
    source: &'a dyn Payload,
    out: &'a mut dyn Write,
    buf: Vec<u8>,
    window: Vec<u8>,
    pending: Option<Range<usize>>,
    /// The input range a sparse gather touched since its last release,
    /// and (an upper bound of) the pages it touched.
    touched: Option<Range<usize>>,
    touched_pages: u128,
}

pub(super) fn range(at: u64, len: usize) -> Range<usize> {
    let start = usize::try_from(at).unwrap_or(usize::MAX);
    start..start.saturating_add(len)
}

pub(super) fn address(at: i128) -> Result<u64> {
    u64::try_from(at).map_err(|_| {
        ErrorKind::Overflow {
            what: "slice address",
        }
        .into()
    })
}

impl Writer<'_> {
    fn flush(&mut self) -> Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Makes room for `n` more bytes in the output buffer.
    fn room(&mut self, n: usize) -> Result<()> {
        if self.buf.len() + n > WINDOW {
            self.flush()?;
        }
        Ok(())
    }

    /// Reads `len` input bytes at `at` straight into the output.
    fn copy_direct(&mut self, at: i128, len: usize) -> Result<()> {
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(WINDOW);
            self.room(n)?;
            let from = self.buf.len();
            self.buf.resize(from + n, 0);
            let pos = address(at)? + done as u64;
            let dst = self.buf.get_mut(from..).unwrap_or_default();
            self.source.read_at(pos, dst)?;
            self.released(pos, n);
            done += n;
        }
        Ok(())
    }

    /// Copies `len` bytes at input address `at` from the payload itself (a
    /// map's pages, which are released every [`SPARSE_BUDGET`] bytes'
    /// worth of pages touched).
    fn copy_mapped(&mut self, at: i128, len: usize) -> Result<()> {
        self.room(len)?;
        let payload = self.source.payload();
        let start = usize::try_from(at).ok();
        let src = start
            .and_then(|a| payload.get(a..a.checked_add(len)?))
            .ok_or(ErrorKind::Overflow {
                what: "slice element offset",
            })?;
        self.buf.extend_from_slice(src);
        let start = start.unwrap_or(0);
        let r = start..start + len;
        self.touched = Some(match self.touched.take() {
            Some(t) => t.start.min(r.start)..t.end.max(r.end),
            None => r,
        });
        // A fault maps up to 64 KiB around the page (fault-around).
        self.touched_pages += (len as u128) / 4096 + 16;
        let span = self.touched.as_ref().map_or(0, |t| t.len() as u128);
        if self.touched_pages.min(span / 4096 + 16) * 4096 >= SPARSE_BUDGET {
            self.release_touched();
        }
        Ok(())
    }

    fn release_touched(&mut self) {
        if let Some(t) = self.touched.take() {
            self.source.release(t);
        }
        self.touched_pages = 0;
    }

    /// Reads the input's `[lo, lo + span)` into the window.
    fn load_window(&mut self, lo: i128, span: i128) -> Result<()> {
        let pos = address(lo)?;
        let len = usize::try_from(span).map_err(|_| ErrorKind::Overflow {
            what: "slice window",
        })?;
        if self.window.len() < len {
            self.window = buffer(len, "the slice window")?;
        }
        let dst = self.window.get_mut(..len).unwrap_or_default();
        self.source.read_at(pos, dst)?;
        self.released(pos, len);
        Ok(())
    }

    /// Copies `len` bytes at `at` (relative to the window) to the output.
    fn copy_from_window(&mut self, at: i128, len: usize) -> Result<()> {
        self.room(len)?;
        let src = usize::try_from(at)
            .ok()
            .and_then(|a| self.window.get(a..a.checked_add(len)?))
            .ok_or(ErrorKind::Overflow {
                what: "slice window offset",
            })?;
        self.buf.extend_from_slice(src);
        Ok(())
    }

    /// Notes that `[pos, pos + len)` was read; tells the source in merged
    /// ranges of about a window, so a map drops its pages as the walk goes.
    fn released(&mut self, pos: u64, len: usize) {
        let Ok(start) = usize::try_from(pos) else {
            return;
        };
        let range = start..start.saturating_add(len);
        match &mut self.pending {
            Some(p) if range.start >= p.start && range.start <= p.end.saturating_add(WINDOW) => {
                p.end = p.end.max(range.end);
            }
            _ => {
                self.release_pending();
                self.pending = Some(range);
            }
        }
        if self.pending.as_ref().is_some_and(|p| p.len() >= WINDOW) {
            self.release_pending();
        }
    }

    fn release_pending(&mut self) {
        if let Some(p) = self.pending.take() {
            self.source.release(p);
        }
    }
}
