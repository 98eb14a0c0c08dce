//! The portable element view: any byte order, any alignment, any stride.
//!
//! Elements are read with an unaligned load and, where the file's byte
//! order is not the machine's, a swap. The same code serves whole payloads
//! (one contiguous level) and structured field views (a record stride plus
//! subarray levels). Runs of a whole payload are also read in bulk
//! (`copy_to_slice`, `to_vec`, `for_each_block`): a `memcpy` for native
//! data, one vectorized load-and-swap pass for the other byte order.

use std::marker::PhantomData;

use super::element::{Element, Fit};
use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::simd;

/// Where element `i` lives: `base + sum(digit_k * stride_k)` over levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Byte offset of element 0.
    pub base: usize,
    /// `(count, stride in bytes)` per level, outermost first.
    pub levels: Vec<(usize, usize)>,
    /// Bytes of one element.
    pub item: usize,
}

impl Layout {
    /// A contiguous run of `count` elements of `item` bytes.
    pub fn contiguous(count: usize, item: usize) -> Layout {
        Layout {
            base: 0,
            levels: vec![(count, item)],
            item,
        }
    }

    /// Number of elements (product of the level counts).
    pub fn len(&self) -> usize {
        self.levels
            .iter()
            .try_fold(1usize, |acc, &(n, _)| acc.checked_mul(n))
            .unwrap_or(0)
    }

    /// Checks that every element lies inside `buf_len` bytes.
    pub fn check(&self, buf_len: usize) -> Result<()> {
        let overflow = || {
            Error::from(ErrorKind::Overflow {
                what: "element layout",
            })
        };
        let mut count = 1usize;
        let mut last = self.base;
        for &(n, stride) in &self.levels {
            count = count.checked_mul(n).ok_or_else(overflow)?;
            if n == 0 {
                return Ok(());
            }
            last = (n - 1)
                .checked_mul(stride)
                .and_then(|o| o.checked_add(last))
                .ok_or_else(overflow)?;
        }
        let end = last.checked_add(self.item).ok_or_else(overflow)?;
        if count > 0 && end > buf_len {
            return Err(ErrorKind::PayloadSize {
                expected: end as u64,
                actual: buf_len as u64,
            }
            .into());
        }
        Ok(())
    }

    /// Byte offset of element `i`, or `None` past the end.
    fn offset(&self, i: usize) -> Option<usize> {
        if let [(n, stride)] = self.levels.as_slice() {
            return (i < *n).then(|| self.base + i * stride);
        }
        let mut rest = i;
        let mut off = self.base;
        for &(n, stride) in self.levels.iter().rev() {
            if n == 0 {
                return None;
            }
            off += (rest % n) * stride;
            rest /= n;
        }
        (rest == 0).then_some(off)
    }

    /// Byte range of element `i`.
    fn range(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let start = self.offset(i)?;
        Some(start..start.checked_add(self.item)?)
    }
}

/// Checks `T` against `dtype` for the element view: swapping is fine,
/// unswappable records are not.
pub(crate) fn element_fit<T: Element>(dtype: &Dtype) -> Result<bool> {
    match T::fit(dtype) {
        Some(Fit::Native) => Ok(false),
        Some(Fit::Swapped) => Ok(true),
        Some(Fit::Unswappable) => Err(ErrorKind::ByteOrderMismatch {
            expected: T::expected(crate::dtype::ByteOrder::NATIVE),
            found: dtype.descr(),
        }
        .into()),
        None => Err(ErrorKind::DtypeMismatch {
            expected: T::expected(crate::dtype::ByteOrder::NATIVE),
            found: dtype.descr(),
        }
        .into()),
    }
}

/// Checks that every byte a `bool` view covers is 0 or 1.
pub(crate) fn check_bools(bytes: &[u8], layout: &Layout) -> Result<()> {
    for i in 0..layout.len() {
        let value = layout
            .range(i)
            .and_then(|r| bytes.get(r))
            .and_then(|b| b.first().copied())
            .unwrap_or(0);
        if value > 1 {
            return Err(ErrorKind::InvalidBool {
                index: i as u64,
                value,
            }
            .into());
        }
    }
    Ok(())
}

/// A read-only, zero-copy view of elements stored in any byte order, at any
/// alignment and stride. Made by [`NpyView::elements`](super::NpyView::elements)
/// or [`FieldView::elements`](super::FieldView::elements).
///
/// # Examples
/// ```
/// // A big-endian file, read on any machine.
/// let bytes = std::fs::read("testdata/npy/i4_be.npy")?;
/// let view = npymap::NpyView::new(&bytes)?;
/// let el = view.elements::<i32>()?;
/// assert_eq!(el.get(5), Some(200000));
/// assert_eq!(el.iter().sum::<i32>(), -300000);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Elements<'a, T> {
    bytes: &'a [u8],
    layout: Layout,
    swap: bool,
    _t: PhantomData<T>,
}

impl<'a, T: Element> Elements<'a, T> {
    /// Checks and builds; `layout` must already fit `bytes` for `dtype`.
    pub(crate) fn new(bytes: &'a [u8], layout: Layout, dtype: &Dtype) -> Result<Self> {
        let swap = element_fit::<T>(dtype)?;
        layout.check(bytes.len())?;
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<bool>() {
            check_bools(bytes, &layout)?;
        }
        Ok(Elements {
            bytes,
            layout,
            swap,
            _t: PhantomData,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` (flat index in storage order), or `None` past the end.
    pub fn get(&self, i: usize) -> Option<T> {
        let bytes = self.bytes.get(self.layout.range(i)?)?;
        let v = T::read_ne(bytes);
        Some(if self.swap { v.swapped() } else { v })
    }

    /// The elements in storage order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T> + '_ {
        Iter::new(self)
    }

    /// Copies the elements into a `Vec` in native byte order.
    ///
    /// Packed native data that happens to be aligned for `T` is copied with
    /// one `memcpy`; everything else goes through
    /// [`copy_to_slice`](Self::copy_to_slice).
    pub fn to_vec(&self) -> Vec<T> {
        if let Some(packed) = self.packed()
            && !self.swap
            && let Ok(values) = bytemuck::checked::try_cast_slice::<u8, T>(packed)
        {
            return values.to_vec();
        }
        let mut out = vec![T::zero(); self.len()];
        // Cannot fail: `out` holds exactly the view's elements.
        let _ = self.copy_to_slice(0, &mut out);
        out
    }

    /// Copies elements `start..start + out.len()` (flat indices in storage
    /// order) into `out`, in native byte order.
    ///
    /// This is the bulk path of the portable view: a packed payload (a whole
    /// array) in native order is copied with one `memcpy` at any alignment;
    /// in the other byte order, in one pass of constant-size loads and
    /// swaps that the compiler vectorizes. Strided views (structured
    /// fields) copy element by element. To scan a whole view in blocks
    /// without copying where no copy is needed, see
    /// [`for_each_block`](Self::for_each_block).
    ///
    /// # Errors
    /// `IndexOutOfBounds` (with the first missing index) when the run goes
    /// past the end of the view; `out` is then left unchanged.
    ///
    /// # Examples
    /// ```
    /// // Sum a big-endian file in blocks, on any machine.
    /// let bytes = std::fs::read("testdata/npy/i4_be.npy")?;
    /// let view = npymap::NpyView::new(&bytes)?;
    /// let el = view.elements::<i32>()?;
    /// let mut block = [0i32; 4];
    /// let mut sum = 0i64;
    /// for start in (0..el.len()).step_by(block.len()) {
    ///     let n = block.len().min(el.len() - start);
    ///     el.copy_to_slice(start, &mut block[..n])?;
    ///     sum += block[..n].iter().map(|&v| i64::from(v)).sum::<i64>();
    /// }
    /// assert_eq!(sum, -300000);
    /// assert_eq!(el.get(5), Some(200000));
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn copy_to_slice(&self, start: usize, out: &mut [T]) -> Result<()> {
        let len = self.len();
        let end = start.checked_add(out.len()).filter(|&end| end <= len);
        let Some(end) = end else {
            return Err(ErrorKind::IndexOutOfBounds {
                index: start.max(len) as u64,
                len: len as u64,
            }
            .into());
        };
        let item = std::mem::size_of::<T>();
        let run = self
            .packed()
            .and_then(|p| p.get(start.checked_mul(item)?..end.checked_mul(item)?));
        match run {
            Some(src) => copy_packed(src, out, self.swap),
            None => {
                for (i, o) in (start..end).zip(out.iter_mut()) {
                    // Every index below len() is in range: the layout was checked.
                    *o = self.get(i).unwrap_or_else(T::zero);
                }
            }
        }
        Ok(())
    }

    /// Calls `f` with the elements in storage order, in blocks of at most
    /// 8 KiB (fewer elements only at the end, or for a strided view's
    /// last block), in native byte order.
    ///
    /// The zero-copy bulk scan: a packed payload in native order and
    /// aligned for `T` is handed out as sub-slices of the payload itself;
    /// anything else (the other byte order, a misaligned buffer, a strided
    /// field) is converted a block at a time into one buffer that stays in
    /// the cache (as [`copy_to_slice`](Self::copy_to_slice) does), so a
    /// reduction over the blocks runs near the speed of a native slice.
    ///
    /// # Examples
    /// ```
    /// let bytes = std::fs::read("testdata/npy/f8_be.npy")?;
    /// let view = npymap::NpyView::new(&bytes)?;
    /// let el = view.elements::<f64>()?;
    /// let mut sum = 0.0;
    /// el.for_each_block(|block| sum += block.iter().sum::<f64>());
    /// assert_eq!(sum, el.iter().sum::<f64>());
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn for_each_block(&self, mut f: impl FnMut(&[T])) {
        let item = std::mem::size_of::<T>();
        let per_block = (BLOCK_BYTES / item.max(1)).max(1);
        let packed = self.packed();
        if let Some(packed) = packed
            && !self.swap
            && let Ok(values) = bytemuck::checked::try_cast_slice::<u8, T>(packed)
        {
            values.chunks(per_block).for_each(f);
            return;
        }
        let len = self.len();
        let mut buf = vec![T::zero(); per_block.min(len)];
        let mut start = 0;
        while start < len {
            let n = per_block.min(len - start);
            let Some(block) = buf.get_mut(..n) else {
                return;
            };
            match packed.and_then(|p| p.get(start * item..(start + n) * item)) {
                Some(src) => copy_packed(src, block, self.swap),
                None => {
                    for (i, o) in (start..start + n).zip(block.iter_mut()) {
                        // Every index below len() is in range: the layout was checked.
                        *o = self.get(i).unwrap_or_else(T::zero);
                    }
                }
            }
            f(block);
            start += n;
        }
    }

    /// The payload bytes of a packed view (elements back to back, as
    /// `size_of::<T>()` bytes each), or `None` for a strided view.
    fn packed(&self) -> Option<&'a [u8]> {
        let item = std::mem::size_of::<T>();
        match self.layout.levels.as_slice() {
            [(n, stride)] if *stride == item && self.layout.item == item && item > 0 => n
                .checked_mul(item)
                .and_then(|nbytes| self.bytes.get(self.layout.base..)?.get(..nbytes)),
            _ => None,
        }
    }
}

/// Bytes per block of [`Elements::for_each_block`]: small enough to stay
/// in the L1 cache between the conversion and the caller's use.
const BLOCK_BYTES: usize = 8 << 10;

/// Copies packed elements `src` (exactly `out.len()` of them) into `out`
/// in native order, on the best instruction set this CPU has.
fn copy_packed<T: Element>(src: &[u8], out: &mut [T], swap: bool) {
    let arch = simd::best();
    copy_packed_on(arch, !matches!(arch, simd::Arch::Scalar), src, out, swap);
}

/// [`copy_packed`] on `arch`. Native data: one `memcpy`. The other byte
/// order: when `fused` (the caller sets it for any arch but the baseline:
/// AVX2, or NEON on aarch64), one pass of unaligned loads and swaps
/// (`vpshufb` swaps 32 bytes at a time), about 1.2x faster than `memcpy`
/// plus an in-place swap with AVX2 (W2's 256 MiB big-endian row: 0.025 s
/// against 0.0295 s); on the SSE2 baseline the fused loop does not
/// vectorize, so `memcpy` and then a swap of the aligned values in place
/// (about 1.3x faster than the fused loop there).
fn copy_packed_on<T: Element>(
    arch: simd::Arch,
    fused: bool,
    src: &[u8],
    out: &mut [T],
    swap: bool,
) {
    let item = std::mem::size_of::<T>().max(1);
    if swap && fused && T::pod_bytes_mut(out).is_some() {
        simd::vectorized(
            arch,
            #[inline(always)]
            || {
                for (o, b) in out.iter_mut().zip(src.chunks_exact(item)) {
                    *o = T::read_ne(b).swapped();
                }
            },
        );
        return;
    }
    match T::pod_bytes_mut(out) {
        Some(dst) => {
            if let Some(dst) = dst.get_mut(..src.len()) {
                dst.copy_from_slice(src);
            }
            if swap {
                for o in out.iter_mut() {
                    *o = o.swapped();
                }
            }
        }
        None => {
            // bool: every byte was checked to be 0 or 1 when the view was made.
            for (o, b) in out.iter_mut().zip(src.chunks_exact(item)) {
                *o = T::read_ne(b);
            }
        }
    }
}

/// The iterator behind [`Elements::iter`]. A payload of packed elements
/// (the common case: a whole array) is walked as a shrinking slice, split
/// at `size_of::<T>()` (a constant, so the length checks fold away) with
/// the swap decided once, so `sum`, `collect` and friends run a tight loop
/// instead of recomputing each element's offset; strided field views walk
/// by index.
struct Iter<'e, 'a, T> {
    view: &'e Elements<'a, T>,
    /// The packed elements not yet returned (empty for strided views).
    packed: &'a [u8],
    /// Whether the view is strided (walked by index from `next` to `len`).
    strided: bool,
    /// A copy of `view.swap`, so the per-element path loads no pointer.
    swap: bool,
    next: usize,
    len: usize,
}

impl<'e, 'a, T: Element> Iter<'e, 'a, T> {
    fn new(view: &'e Elements<'a, T>) -> Self {
        let packed = view.packed();
        Iter {
            view,
            strided: packed.is_none(),
            packed: packed.unwrap_or_default(),
            swap: view.swap,
            next: 0,
            len: view.len(),
        }
    }

    #[inline]
    fn read(swap: bool, bytes: &[u8]) -> T {
        let v = T::read_ne(bytes);
        if swap { v.swapped() } else { v }
    }

    /// Folds packed elements with the swap fixed at compile time.
    #[inline]
    fn fold_packed<B, F: FnMut(B, T) -> B, const SWAP: bool>(bytes: &[u8], init: B, mut f: F) -> B {
        let item = std::mem::size_of::<T>();
        let mut acc = init;
        let mut rest = bytes;
        while let Some((head, tail)) = rest.split_at_checked(item) {
            acc = f(acc, Self::read(SWAP, head));
            rest = tail;
        }
        acc
    }
}

impl<T: Element> Iterator for Iter<'_, '_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if let Some((head, tail)) = self.packed.split_at_checked(std::mem::size_of::<T>()) {
            self.packed = tail;
            return Some(Self::read(self.swap, head));
        }
        if !self.strided {
            return None;
        }
        // Every index below len() is in range: the layout was checked.
        while self.next < self.len {
            self.next += 1;
            if let Some(v) = self.view.get(self.next - 1) {
                return Some(v);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.strided {
            self.len - self.next
        } else {
            self.packed.len() / std::mem::size_of::<T>().max(1)
        };
        (left, Some(left))
    }

    fn fold<B, F: FnMut(B, T) -> B>(self, init: B, mut f: F) -> B {
        match (self.strided, self.swap) {
            // The swap test is hoisted out of the loop.
            (false, true) => Self::fold_packed::<B, F, true>(self.packed, init, f),
            (false, false) => Self::fold_packed::<B, F, false>(self.packed, init, f),
            (true, _) => {
                let mut acc = init;
                // `for` calls `next`, not `fold`: no recursion.
                for v in self {
                    acc = f(acc, v);
                }
                acc
            }
        }
    }
}

impl<T: Element> ExactSizeIterator for Iter<'_, '_, T> {}

/// A mutable, zero-copy view of elements in any byte order, alignment and
/// stride: writes store each value in the file's byte order.
///
/// # Examples
/// ```
/// let mut bytes = std::fs::read("testdata/npy/f8_be.npy")?;
/// let mut view = npymap::NpyViewMut::new(&mut bytes)?;
/// let mut el = view.elements_mut::<f64>()?;
/// el.set(0, 42.0)?;
/// assert_eq!(el.get(0), Some(42.0));
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug)]
pub struct ElementsMut<'a, T> {
    bytes: &'a mut [u8],
    layout: Layout,
    swap: bool,
    _t: PhantomData<T>,
}

impl<'a, T: Element> ElementsMut<'a, T> {
    /// Checks and builds, as [`Elements::new`].
    pub(crate) fn new(bytes: &'a mut [u8], layout: Layout, dtype: &Dtype) -> Result<Self> {
        let checked = Elements::<T>::new(bytes, layout, dtype)?;
        let (layout, swap) = (checked.layout, checked.swap);
        Ok(ElementsMut {
            bytes,
            layout,
            swap,
            _t: PhantomData,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A read-only view of the same elements.
    pub fn as_elements(&self) -> Elements<'_, T> {
        Elements {
            bytes: self.bytes,
            layout: self.layout.clone(),
            swap: self.swap,
            _t: PhantomData,
        }
    }

    /// Element `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<T> {
        self.as_elements().get(i)
    }

    /// Stores `value` at element `i` in the file's byte order.
    ///
    /// # Errors
    /// `IndexOutOfBounds` past the end.
    pub fn set(&mut self, i: usize, value: T) -> Result<()> {
        let len = self.len();
        let out = self
            .layout
            .range(i)
            .and_then(|r| self.bytes.get_mut(r))
            .ok_or(ErrorKind::IndexOutOfBounds {
                index: i as u64,
                len: len as u64,
            })?;
        let v = if self.swap { value.swapped() } else { value };
        out.copy_from_slice(bytemuck::bytes_of(&v));
        Ok(())
    }

    /// Stores `values` at elements `0..values.len()`.
    ///
    /// # Errors
    /// `ElementCount` unless `values` has exactly [`len`](Self::len) elements.
    pub fn copy_from_slice(&mut self, values: &[T]) -> Result<()> {
        if values.len() != self.len() {
            return Err(ErrorKind::ElementCount {
                expected: self.len() as u64,
                actual: values.len() as u64,
            }
            .into());
        }
        for (i, &v) in values.iter().enumerate() {
            self.set(i, v)?;
        }
        Ok(())
    }

    /// Copies the elements into a `Vec` in native byte order.
    pub fn to_vec(&self) -> Vec<T> {
        self.as_elements().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_layout_walks_levels() {
        // 2 records of 10 bytes, each holding 3 items of 2 bytes at offset 4.
        let l = Layout {
            base: 4,
            levels: vec![(2, 10), (3, 2)],
            item: 2,
        };
        let offs: Vec<_> = (0..7).map(|i| l.offset(i)).collect();
        assert_eq!(
            offs,
            [
                Some(4),
                Some(6),
                Some(8),
                Some(14),
                Some(16),
                Some(18),
                None
            ]
        );
        assert!(l.check(20).is_ok());
        assert!(l.check(19).is_err());
    }

    /// Both ways of converting a packed run (the AVX2 fused loop and the
    /// baseline `memcpy` plus in-place swap) give the values `from_be_bytes`
    /// and `from_le_bytes` give, at every alignment and with odd lengths.
    #[test]
    fn copy_packed_agrees_on_every_instruction_set() {
        fn check<T: Element + bytemuck::Pod, const N: usize>(
            from_be: fn([u8; N]) -> T,
            from_le: fn([u8; N]) -> T,
        ) {
            let bytes: Vec<u8> = (0..N * 301 + 8).map(|i| (i * 37 + 11) as u8).collect();
            for skip in 0..8 {
                for swap in [false, true] {
                    let src = &bytes[skip..skip + N * 301];
                    let big = swap == cfg!(target_endian = "little");
                    let want: Vec<T> = src
                        .as_chunks::<N>()
                        .0
                        .iter()
                        .map(|&b| if big { from_be(b) } else { from_le(b) })
                        .collect();
                    // Both loops on the baseline too, so a CPU without
                    // AVX2 still checks the fused one.
                    let ways = [
                        (simd::Arch::Scalar, false),
                        (simd::Arch::Scalar, true),
                        (simd::best(), false),
                        (simd::best(), true),
                    ];
                    for (arch, fused) in ways {
                        let mut out = vec![T::zero(); 301];
                        copy_packed_on(arch, fused, src, &mut out, swap);
                        // Compared as bytes: NaN payloads must survive too.
                        assert_eq!(
                            bytemuck::cast_slice::<T, u8>(&out),
                            bytemuck::cast_slice::<T, u8>(&want),
                            "{arch:?}, fused {fused}, offset {skip}, swap {swap}"
                        );
                    }
                }
            }
        }
        check::<u16, 2>(u16::from_be_bytes, u16::from_le_bytes);
        check::<i32, 4>(i32::from_be_bytes, i32::from_le_bytes);
        check::<u64, 8>(u64::from_be_bytes, u64::from_le_bytes);
        // f32::from_*_bytes keep NaN payloads (from_bits of the integer).
        check::<f32, 4>(f32::from_be_bytes, f32::from_le_bytes);
    }

    /// The packed fast path, the strided path and `get` agree, in both
    /// byte orders, at an odd alignment, through `next`, `fold` and `collect`.
    #[test]
    fn iter_agrees_with_get_on_packed_and_strided_layouts() {
        let values: Vec<u32> = (0..37).map(|i| i * 0x0101_0307).collect();
        for descr in ["<u4", ">u4"] {
            let dtype = Dtype::from_descr(descr).unwrap();
            let big = descr.starts_with('>');
            let mut bytes = vec![0xAAu8; 1];
            for v in &values {
                bytes.extend(if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                });
            }
            let payload = &bytes[1..]; // misaligned for u32
            let packed = Elements::<u32>::new(payload, Layout::contiguous(37, 4), &dtype).unwrap();
            assert!(!Iter::new(&packed).strided);
            // Every other element: a strided layout takes the indexed path.
            let strided_layout = Layout {
                base: 4,
                levels: vec![(18, 8)],
                item: 4,
            };
            let strided = Elements::<u32>::new(payload, strided_layout, &dtype).unwrap();
            assert!(Iter::new(&strided).strided);
            for view in [&packed, &strided] {
                let by_get: Vec<u32> = (0..view.len()).map(|i| view.get(i).unwrap()).collect();
                let mut by_next = Vec::new();
                let mut it = view.iter();
                assert_eq!(it.len(), view.len());
                for v in &mut it {
                    by_next.push(v);
                }
                assert_eq!(by_next, by_get, "{descr}");
                assert_eq!(view.to_vec(), by_get, "{descr}");
                let sum = view.iter().fold(0u64, |a, v| a + u64::from(v));
                assert_eq!(sum, by_get.iter().map(|&v| u64::from(v)).sum::<u64>());
            }
            assert_eq!(packed.to_vec(), values);
        }
    }

    #[test]
    fn empty_layout_fits_anything() {
        let l = Layout {
            base: 100,
            levels: vec![(0, 8)],
            item: 8,
        };
        assert_eq!(l.len(), 0);
        assert!(l.check(0).is_ok());
        assert_eq!(l.offset(0), None);
    }
}
