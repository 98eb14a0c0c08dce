//! Element-by-element conversions over contiguous runs: copy, byte-order
//! swap (per leaf type, structs included) and NumPy's numeric casts (the
//! kernel and the casting levels are in `cast.rs`).

use std::ops::Range;

use super::cast::{self, Casting};
use crate::dtype::{ByteOrder, Dtype, Scalar, ScalarKind};
use crate::error::{ErrorKind, Result};

/// Most byte-swap runs one element may need. A run covers a contiguous
/// block of same-sized units (a subarray of numbers is one run), so only
/// subarrays of structs multiply runs; this bounds a hostile dtype's plan.
const MAX_RUNS: usize = 1 << 20;

/// A block of `count` units of `unit` bytes each, at `offset` in an element,
/// whose bytes are reversed unit by unit when byte order changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SwapRun {
    pub offset: usize,
    pub unit: usize,
    pub count: usize,
}

/// A swap run before merging, with the byte order of its leaf type.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    run: SwapRun,
    order: ByteOrder,
}

/// The swap runs of one element of `dtype` (only units of 2+ bytes).
#[cfg(test)]
pub(crate) fn swap_runs(dtype: &Dtype) -> Result<Vec<SwapRun>> {
    merge(leaves(dtype)?.into_iter().map(|l| l.run))
}

fn leaves(dtype: &Dtype) -> Result<Vec<Leaf>> {
    let mut out = Vec::new();
    collect_leaves(dtype, 0, 1, &mut out)?;
    Ok(out)
}

/// Joins runs that continue each other with the same unit.
fn merge(runs: impl IntoIterator<Item = SwapRun>) -> Result<Vec<SwapRun>> {
    let mut out: Vec<SwapRun> = Vec::new();
    for run in runs {
        if let Some(last) = out.last_mut()
            && last.unit == run.unit
            && last.offset + last.unit * last.count == run.offset
        {
            last.count += run.count;
        } else {
            out.push(run);
        }
    }
    Ok(out)
}

fn collect_leaves(dtype: &Dtype, base: usize, repeat: usize, out: &mut Vec<Leaf>) -> Result<()> {
    if out.len() >= MAX_RUNS {
        return Err(ErrorKind::Unsupported(format!(
            "dtype needs more than {MAX_RUNS} byte-swap runs per element"
        ))
        .into());
    }
    match dtype {
        Dtype::Scalar(s) => {
            let unit = s.swap_unit();
            if unit > 1 {
                out.push(Leaf {
                    run: SwapRun {
                        offset: base,
                        unit,
                        count: (s.itemsize() / unit) * repeat,
                    },
                    order: s.byte_order(),
                });
            }
        }
        Dtype::Subarray { base: inner, shape } => {
            // The dtype's itemsize was checked to fit, so this product does too.
            let n = shape
                .iter()
                .fold(repeat, |acc, &d| acc.saturating_mul(d as usize));
            if inner.as_scalar().is_some() {
                collect_leaves(inner, base, n, out)?;
            } else {
                let size = inner.itemsize();
                for r in 0..n {
                    collect_leaves(inner, base + r * size, 1, out)?;
                }
            }
        }
        Dtype::Struct(st) => {
            for r in 0..repeat {
                for f in st.fields() {
                    collect_leaves(f.dtype(), base + r * st.itemsize() + f.offset(), 1, out)?;
                }
            }
        }
    }
    Ok(())
}

/// What to do to each element.
#[derive(Debug, Clone)]
pub(crate) enum ElementOp {
    /// Bytes stay as they are.
    Copy,
    /// Reverse the bytes of these runs in every element.
    Swap { itemsize: usize, runs: Vec<SwapRun> },
    /// Cast each number to another numeric type, as NumPy's `astype`.
    Cast { from: Scalar, to: Scalar },
}

impl ElementOp {
    /// The operation turning elements of `from` into elements of `to`
    /// under the default casting level, `safe`.
    ///
    /// # Errors
    /// As [`ElementOp::plan_with`].
    #[cfg(test)]
    pub(crate) fn plan(from: &Dtype, to: &Dtype) -> Result<ElementOp> {
        Self::plan_with(from, to, Casting::Safe)
    }

    /// The operation turning elements of `from` into elements of `to`,
    /// when `casting` allows it.
    ///
    /// # Errors
    /// `Casting` when `casting` is too strict for the cast (the message
    /// names the level that allows it); `UnsupportedCast` when `to` is
    /// neither `from` up to byte order nor a numeric cast npymap does.
    pub(crate) fn plan_with(from: &Dtype, to: &Dtype, casting: Casting) -> Result<ElementOp> {
        cast::check(from, to, casting)?;
        if from == to {
            return Ok(ElementOp::Copy);
        }
        if from.with_byte_order(ByteOrder::Little) == to.with_byte_order(ByteOrder::Little) {
            // Same type, some parts in the other order: swap exactly those.
            let (a, b) = (leaves(from)?, leaves(to)?);
            let runs = merge(
                a.iter()
                    .zip(&b)
                    .filter(|(x, y)| x.order != y.order)
                    .map(|(x, _)| x.run),
            )?;
            let mut runs = runs;
            // In offset order (runs never overlap), so a piece of an element
            // finds its runs by binary search; see `apply_piece`.
            runs.sort_by_key(|r| r.offset);
            return Ok(if runs.is_empty() {
                ElementOp::Copy
            } else {
                ElementOp::Swap {
                    itemsize: from.itemsize(),
                    runs,
                }
            });
        }
        match (from, to) {
            (Dtype::Scalar(f), Dtype::Scalar(t)) => Ok(ElementOp::Cast { from: *f, to: *t }),
            // `check` accepts nothing else.
            _ => Err(ErrorKind::UnsupportedCast {
                from: from.to_string(),
                to: to.to_string(),
                reason: "only simple numeric types are cast".to_string(),
            }
            .into()),
        }
    }

    /// Bytes per output element for `in_itemsize` input bytes.
    pub(crate) fn out_itemsize(&self, in_itemsize: usize) -> usize {
        match self {
            ElementOp::Cast { to, .. } => to.itemsize(),
            _ => in_itemsize,
        }
    }

    /// Converts `n` whole elements from `src` into `dst` (sized exactly).
    pub(crate) fn apply(&self, src: &[u8], dst: &mut [u8]) {
        match self {
            ElementOp::Copy => dst.copy_from_slice(src),
            ElementOp::Swap { itemsize, runs } => {
                dst.copy_from_slice(src);
                swap_in_place(dst, *itemsize, runs);
            }
            ElementOp::Cast { from, to } => cast::cast_run(from, to, src, dst),
        }
    }
}

impl ElementOp {
    /// Converts bytes `at..at + src.len()` of one element into `dst` (the
    /// same length), for elements too large to convert whole. The piece
    /// must not cut an indivisible unit (see [`split_point`]). Only `Copy`
    /// and `Swap` keep the itemsize; a `Cast` element (16 bytes at most) is
    /// always converted whole with [`ElementOp::apply`].
    pub(crate) fn apply_piece(&self, at: usize, src: &[u8], dst: &mut [u8]) {
        match self {
            ElementOp::Copy => dst.copy_from_slice(src),
            ElementOp::Swap { runs, .. } => {
                dst.copy_from_slice(src);
                let end = at + dst.len();
                let first = runs.partition_point(|r| r.offset + r.unit * r.count <= at);
                for r in runs.iter().skip(first).take_while(|r| r.offset < end) {
                    let lo = r.offset.max(at);
                    let hi = (r.offset + r.unit * r.count).min(end);
                    if let Some(block) = dst.get_mut(lo - at..hi - at) {
                        swap_units(block, r.unit);
                    }
                }
            }
            ElementOp::Cast { .. } => self.apply(src, dst),
        }
    }
}

/// The indivisible unit of an element of `dtype` that holds byte `at`: a
/// whole number (a float or a complex is decoded whole), one UCS-4 code
/// unit of a `U` string, one byte of `S`, `V` or padding. Walks the dtype
/// (fields and subarray strides), so it needs no per-element table, however
/// many scalars an element holds.
pub(crate) fn unit_at(dtype: &Dtype, at: usize) -> Range<usize> {
    let byte = at..at + 1;
    match dtype {
        Dtype::Scalar(s) => {
            let unit = match s.kind() {
                ScalarKind::Bytes | ScalarKind::Void => 1,
                ScalarKind::Unicode => 4,
                _ => s.itemsize(),
            };
            if at >= s.itemsize() || unit <= 1 {
                return byte;
            }
            let start = at - at % unit;
            start..start + unit
        }
        Dtype::Subarray { base, .. } => {
            let size = base.itemsize();
            if size == 0 || at >= dtype.itemsize() {
                return byte;
            }
            let start = at - at % size;
            let inner = unit_at(base, at - start);
            start + inner.start..start + inner.end
        }
        Dtype::Struct(st) => st
            .fields()
            .iter()
            .find(|f| at >= f.offset() && at < f.offset() + f.dtype().itemsize())
            .map_or(byte, |f| {
                let inner = unit_at(f.dtype(), at - f.offset());
                f.offset() + inner.start..f.offset() + inner.end
            }),
    }
}

/// The largest offset `<= at` where an element of `dtype` may be cut into
/// pieces: never inside an indivisible unit (see [`unit_at`]), so a piece
/// can be byte-swapped and compared on its own.
pub(crate) fn split_point(dtype: &Dtype, at: usize) -> usize {
    at.min(unit_at(dtype, at).start)
}

/// Reverses each unit of each run in every element of `buf`.
pub(crate) fn swap_in_place(buf: &mut [u8], itemsize: usize, runs: &[SwapRun]) {
    if let [run] = runs
        && run.offset == 0
        && run.unit * run.count == itemsize
    {
        swap_units(buf, run.unit);
        return;
    }
    for elem in buf.chunks_exact_mut(itemsize) {
        for r in runs {
            if let Some(block) = elem.get_mut(r.offset..r.offset + r.unit * r.count) {
                swap_units(block, r.unit);
            }
        }
    }
}

/// Reverses every `unit`-byte group of `buf`; the common sizes go through
/// integer `swap_bytes`, which compiles to vector shuffles.
fn swap_units(buf: &mut [u8], unit: usize) {
    match unit {
        2 => buf
            .as_chunks_mut::<2>()
            .0
            .iter_mut()
            .for_each(|c| *c = u16::from_ne_bytes(*c).swap_bytes().to_ne_bytes()),
        4 => buf
            .as_chunks_mut::<4>()
            .0
            .iter_mut()
            .for_each(|c| *c = u32::from_ne_bytes(*c).swap_bytes().to_ne_bytes()),
        8 => buf
            .as_chunks_mut::<8>()
            .0
            .iter_mut()
            .for_each(|c| *c = u64::from_ne_bytes(*c).swap_bytes().to_ne_bytes()),
        _ => buf.chunks_exact_mut(unit.max(1)).for_each(<[u8]>::reverse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dtype {
        Dtype::from_descr_literal(s).unwrap()
    }

    #[test]
    fn swap_plan_follows_struct_fields() {
        let dt = d("[('a', '<i4'), ('b', '|u1'), ('c', '<f8', (2,)), ('s', '|S3')]");
        let runs = swap_runs(&dt).unwrap();
        assert_eq!(
            runs,
            vec![
                SwapRun {
                    offset: 0,
                    unit: 4,
                    count: 1
                },
                SwapRun {
                    offset: 5,
                    unit: 8,
                    count: 2
                }
            ]
        );
    }

    #[test]
    fn swap_only_fields_whose_order_differs() {
        let from = d("[('a', '<i4'), ('b', '>i4')]");
        let to = d("[('a', '>i4'), ('b', '>i4')]");
        let ElementOp::Swap { runs, .. } = ElementOp::plan(&from, &to).unwrap() else {
            panic!("expected a swap")
        };
        assert_eq!(
            runs,
            vec![SwapRun {
                offset: 0,
                unit: 4,
                count: 1
            }]
        );
        let mut out = [0u8; 8];
        ElementOp::plan(&from, &to)
            .unwrap()
            .apply(&[1, 2, 3, 4, 5, 6, 7, 8], &mut out);
        assert_eq!(out, [4, 3, 2, 1, 5, 6, 7, 8]);
    }

    #[test]
    fn unicode_swaps_per_code_unit() {
        let op = ElementOp::plan(&d("'<U2'"), &d("'>U2'")).unwrap();
        let mut out = [0u8; 8];
        op.apply(&[b'a', 0, 0, 0, b'b', 0, 0, 0], &mut out);
        assert_eq!(out, [0, 0, 0, b'a', 0, 0, 0, b'b']);
    }

    #[test]
    fn pieces_cut_only_between_units_and_swap_like_whole_elements() {
        // Odd offsets, so unit boundaries are not multiples of the unit.
        let from =
            d("[('a', '<i2'), ('c', '|S3'), ('u', '<U5'), ('z', '<c8', (3,)), ('b', '<f8')]");
        let to = from.with_byte_order(ByteOrder::Big);
        let size = from.itemsize();
        let u = |at| unit_at(&from, at);
        assert_eq!(u(0), 0..2);
        assert_eq!(u(3), 3..4);
        assert_eq!(u(5), 5..9);
        assert_eq!(u(26), 25..33);
        assert_eq!(u(size - 1), size - 8..size);
        assert_eq!(split_point(&from, 6), 5);
        assert_eq!(split_point(&from, 5), 5);
        assert_eq!(split_point(&from, size), size);
        let op = ElementOp::plan(&from, &to).unwrap();
        let src: Vec<u8> = (0..size as u8).collect();
        let mut whole = vec![0; size];
        op.apply(&src, &mut whole);
        // Every way of cutting at split points gives the whole-element result.
        for step in 1..size {
            let mut out = vec![0; size];
            let mut at = 0;
            while at < size {
                let mut end = split_point(&from, (at + step).min(size));
                if end <= at {
                    end = unit_at(&from, at).end;
                }
                op.apply_piece(at, &src[at..end], &mut out[at..end]);
                at = end;
            }
            assert_eq!(out, whole, "step {step}");
        }
    }
}
