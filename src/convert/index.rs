//! NumPy's basic indexing, parsed from text (`'1000:2000'`, `':, 3'`,
//! `'::2, -5:'`, `'...'`, `'None'`) and applied to an array's geometry
//! (shape and byte strides) without touching its data. See spec/cli.md §15.

use std::fmt;
use std::str::FromStr;

use crate::error::{ErrorKind, Result};

/// One item of a basic index: what one position of `a[i, j:k, ...]` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexItem {
    /// An integer: picks one position and drops the axis (negative counts
    /// from the end).
    Int(i64),
    /// `start:stop:step`, each part optional, as Python's `slice` (values
    /// beyond `i64` are clamped, which selects the same elements).
    Slice {
        /// First position (default: the start, or the end for a negative step).
        start: Option<i64>,
        /// Position to stop before (default: past the end, or before the start).
        stop: Option<i64>,
        /// Step (default 1; never 0).
        step: Option<i64>,
    },
    /// `...`: as many full slices as the other items leave axes.
    Ellipsis,
    /// `None` / `np.newaxis`: a new axis of length 1.
    NewAxis,
}

/// A parsed basic index: the items of `a[item, item, ...]` in order.
///
/// ```
/// use npymap::convert::{Index, IndexItem};
/// let index: Index = "::2, -5:".parse()?;
/// assert_eq!(index.items().len(), 2);
/// assert_eq!(index.items()[1], IndexItem::Slice { start: Some(-5), stop: None, step: None });
/// assert_eq!(index.to_string(), "::2, -5:");
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    items: Vec<IndexItem>,
}

/// An array's geometry relative to its payload: where element `(0, ..., 0)`
/// starts (bytes), the shape and the byte stride of each axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub offset: i128,
    pub shape: Vec<u64>,
    pub strides: Vec<i128>,
}

/// Longest index text accepted (a guard against pathological arguments).
const MAX_TEXT: usize = 1 << 16;

fn syntax(text: &str, why: impl fmt::Display) -> crate::Error {
    ErrorKind::Index(format!("invalid index {text:?}: {why}")).into()
}

impl Index {
    /// An index of these items.
    pub fn new(items: Vec<IndexItem>) -> Index {
        Index { items }
    }

    /// The items in order.
    pub fn items(&self) -> &[IndexItem] {
        &self.items
    }

    /// Parses the text inside `a[...]`: items separated by commas (one
    /// trailing comma allowed), optionally inside one pair of parentheses;
    /// each item an integer, a slice `start:stop:step` (parts optional),
    /// `...`, `None` or `np.newaxis`. `""` and `()` are the empty index
    /// `a[()]`.
    ///
    /// # Errors
    /// `Index` naming the item that is not one of these.
    pub fn parse(text: &str) -> Result<Index> {
        if text.len() > MAX_TEXT {
            return Err(syntax(
                &text.chars().take(20).collect::<String>(),
                format_args!("longer than {MAX_TEXT} bytes"),
            ));
        }
        let t = text.trim();
        let inner = match (t.strip_prefix('('), t.strip_suffix(')')) {
            (Some(rest), Some(_)) => rest.strip_suffix(')').unwrap_or(rest),
            (None, None) => t,
            _ => return Err(syntax(text, "unbalanced parentheses")),
        };
        if inner.trim().is_empty() {
            return Ok(Index::default());
        }
        let body = match inner.trim_end().strip_suffix(',') {
            Some(b) if !b.trim().is_empty() => b,
            _ => inner,
        };
        let items = body
            .split(',')
            .map(|item| parse_item(text, item.trim()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Index { items })
    }

    /// Applies the index to `g` (the geometry of an array), as NumPy's basic
    /// indexing makes a view: integers drop their axis, slices keep it
    /// (scaled stride), `None` adds an axis of length 1 and stride 0.
    ///
    /// # Errors
    /// `Index`, with NumPy's `IndexError` wording: an integer out of
    /// bounds, more indices than axes, two ellipses, a zero step.
    pub(crate) fn apply(&self, g: &Geometry) -> Result<Geometry> {
        let ndim = g.shape.len();
        let consumed = self
            .items
            .iter()
            .filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. }))
            .count();
        let ellipses = self
            .items
            .iter()
            .filter(|i| matches!(i, IndexItem::Ellipsis))
            .count();
        if ellipses > 1 {
            return Err(ErrorKind::Index(
                "an index can only have a single ellipsis ('...')".into(),
            )
            .into());
        }
        if consumed > ndim {
            return Err(ErrorKind::Index(format!(
                "too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"
            ))
            .into());
        }
        let ints = self
            .items
            .iter()
            .filter(|i| matches!(i, IndexItem::Int(_)))
            .count();
        let new_axes = self
            .items
            .iter()
            .filter(|i| matches!(i, IndexItem::NewAxis))
            .count();
        let result_ndim = ndim - ints + new_axes;
        if result_ndim > crate::header::MAX_DIMS {
            return Err(ErrorKind::Index(format!(
                "number of dimensions must be within [0, {}], indexing result would have {result_ndim}",
                crate::header::MAX_DIMS
            ))
            .into());
        }
        let full = IndexItem::Slice {
            start: None,
            stop: None,
            step: None,
        };
        let mut expanded: Vec<IndexItem> = Vec::with_capacity(self.items.len() + ndim);
        for item in &self.items {
            match item {
                IndexItem::Ellipsis => {
                    expanded.extend(std::iter::repeat_n(full, ndim - consumed));
                }
                other => expanded.push(*other),
            }
        }
        if ellipses == 0 {
            expanded.extend(std::iter::repeat_n(full, ndim - consumed));
        }
        let mut out = Geometry {
            offset: g.offset,
            shape: Vec::new(),
            strides: Vec::new(),
        };
        let mut axes = g.shape.iter().zip(&g.strides).enumerate();
        for item in expanded {
            if item == IndexItem::NewAxis {
                out.shape.push(1);
                out.strides.push(0);
                continue;
            }
            // `consumed <= ndim` was checked, so an axis is there.
            let Some((axis, (&len, &stride))) = axes.next() else {
                break;
            };
            let n = i128::from(len);
            match item {
                IndexItem::Int(i) => {
                    let at = if i < 0 {
                        i128::from(i) + n
                    } else {
                        i128::from(i)
                    };
                    if at < 0 || at >= n {
                        return Err(ErrorKind::Index(format!(
                            "index {i} is out of bounds for axis {axis} with size {len}"
                        ))
                        .into());
                    }
                    out.offset += at * stride;
                }
                IndexItem::Slice { start, stop, step } => {
                    let (start, count, step) = slice_indices(start, stop, step, n)?;
                    if count > 0 {
                        out.offset += start * stride;
                    }
                    out.shape.push(u64::try_from(count).unwrap_or(0));
                    out.strides.push(stride * step);
                }
                IndexItem::Ellipsis | IndexItem::NewAxis => {}
            }
        }
        Ok(out)
    }
}

/// Python's `slice.indices(n)` plus the element count: `(start, count, step)`.
fn slice_indices(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    n: i128,
) -> Result<(i128, i128, i128)> {
    let step = i128::from(step.unwrap_or(1));
    if step == 0 {
        return Err(ErrorKind::Index("slice step cannot be zero".into()).into());
    }
    let clamp = |v: Option<i64>, default: i128| -> i128 {
        let Some(v) = v else { return default };
        let mut v = i128::from(v);
        if v < 0 {
            v += n;
            if v < 0 {
                v = if step < 0 { -1 } else { 0 };
            }
        } else if v >= n {
            v = if step < 0 { n - 1 } else { n };
        }
        v
    };
    let (start, stop) = if step > 0 {
        (clamp(start, 0), clamp(stop, n))
    } else {
        (clamp(start, n - 1), clamp(stop, -1))
    };
    let count = if step > 0 && start < stop {
        (stop - start - 1) / step + 1
    } else if step < 0 && stop < start {
        (start - stop - 1) / (-step) + 1
    } else {
        0
    };
    Ok((start, count, step))
}

fn parse_item(text: &str, item: &str) -> Result<IndexItem> {
    match item {
        "" => return Err(syntax(text, "empty item between commas")),
        "..." | "Ellipsis" => return Ok(IndexItem::Ellipsis),
        "None" | "np.newaxis" | "numpy.newaxis" | "newaxis" => return Ok(IndexItem::NewAxis),
        _ => {}
    }
    if item.contains(':') {
        let parts: Vec<&str> = item.split(':').map(str::trim).collect();
        if parts.len() > 3 {
            return Err(syntax(
                text,
                format_args!("{item:?} has more than two ':' (expected start:stop:step)"),
            ));
        }
        let part = |n: usize| -> Result<Option<i64>> {
            match parts.get(n).copied() {
                None | Some("") | Some("None") => Ok(None),
                Some(p) => integer(text, p).map(|v| Some(saturate(v))),
            }
        };
        return Ok(IndexItem::Slice {
            start: part(0)?,
            stop: part(1)?,
            step: part(2)?,
        });
    }
    let v = integer(text, item)?;
    let v = i64::try_from(v).map_err(|_| {
        crate::Error::from(ErrorKind::Index(format!(
            "index {v} does not fit in an index-sized integer"
        )))
    })?;
    Ok(IndexItem::Int(v))
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// A Python integer literal in decimal, with optional sign and `_`
/// separators between digits; values past `i128` are refused.
fn integer(text: &str, s: &str) -> Result<i128> {
    let bad = || {
        syntax(
            text,
            format_args!(
                "{s:?} is not an integer, a slice (start:stop:step), '...', None or np.newaxis"
            ),
        )
    };
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d.trim_start()),
        None => (false, s.strip_prefix('+').map_or(s, str::trim_start)),
    };
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || (digits.len() > 1
            && digits.starts_with('0')
            && digits.chars().any(|c| c != '0' && c != '_'))
    {
        return Err(bad());
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let v: i128 = clean.parse().map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

impl FromStr for Index {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Index> {
        Index::parse(s)
    }
}

impl fmt::Display for IndexItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexItem::Int(i) => write!(f, "{i}"),
            IndexItem::Ellipsis => f.write_str("..."),
            IndexItem::NewAxis => f.write_str("None"),
            IndexItem::Slice { start, stop, step } => {
                if let Some(v) = start {
                    write!(f, "{v}")?;
                }
                f.write_str(":")?;
                if let Some(v) = stop {
                    write!(f, "{v}")?;
                }
                if let Some(v) = step {
                    write!(f, ":{v}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Index {
    /// The index as NumPy syntax, items separated by `, ` (`()` when empty).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.items.as_slice() {
            [] => f.write_str("()"),
            [one @ (IndexItem::Int(_) | IndexItem::Ellipsis | IndexItem::NewAxis)] => {
                write!(f, "{one}")
            }
            items => {
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> IndexItem {
        IndexItem::Slice { start, stop, step }
    }

    #[test]
    fn parses_numpy_syntax() {
        let p = |t: &str| Index::parse(t).unwrap().items;
        assert_eq!(p("1000:2000"), vec![s(Some(1000), Some(2000), None)]);
        assert_eq!(p(":, 3"), vec![s(None, None, None), IndexItem::Int(3)]);
        assert_eq!(
            p("::2, -5:"),
            vec![s(None, None, Some(2)), s(Some(-5), None, None)]
        );
        assert_eq!(p("..."), vec![IndexItem::Ellipsis]);
        assert_eq!(
            p("None, 1_000"),
            vec![IndexItem::NewAxis, IndexItem::Int(1000)]
        );
        assert_eq!(p("(3,)"), vec![IndexItem::Int(3)]);
        assert_eq!(p("3,"), vec![IndexItem::Int(3)]);
        assert_eq!(p("()"), vec![]);
        assert_eq!(p(""), vec![]);
        assert_eq!(p("- 2"), vec![IndexItem::Int(-2)]);
        assert_eq!(p("::-1"), vec![s(None, None, Some(-1))]);
        assert_eq!(
            p("-99999999999999999999999:"),
            vec![s(Some(i64::MIN), None, None)]
        );
        for bad in [
            "1:2:3:4", "a", "1,,2", ",", "(1", "1.5", "[1]", "1__0", "01", "_1",
        ] {
            assert!(Index::parse(bad).is_err(), "{bad}");
        }
        assert!(Index::parse("99999999999999999999").is_err());
    }

    #[test]
    fn slice_indices_match_python() {
        // Checked against Python's slice(start, stop, step).indices(10).
        let c = |a, b, st| {
            let (start, count, step) = slice_indices(a, b, st, 10).unwrap();
            (start, count, step)
        };
        assert_eq!(c(None, None, None), (0, 10, 1));
        assert_eq!(c(None, None, Some(-1)), (9, 10, -1));
        assert_eq!(c(Some(-3), None, None), (7, 3, 1));
        assert_eq!(c(Some(20), None, Some(-2)), (9, 5, -2));
        assert_eq!(c(Some(5), Some(2), None).1, 0);
        assert_eq!(c(Some(-100), Some(100), Some(3)), (0, 4, 3));
        assert_eq!(c(Some(3), Some(-100), Some(-1)), (3, 4, -1));
        assert!(slice_indices(None, None, Some(0), 10).is_err());
    }

    #[test]
    fn apply_drops_and_adds_axes() {
        let g = Geometry {
            offset: 0,
            shape: vec![4, 5],
            strides: vec![40, 8],
        };
        let v = Index::parse("1, ::-2").unwrap().apply(&g).unwrap();
        assert_eq!(
            v,
            Geometry {
                offset: 40 + 32,
                shape: vec![3],
                strides: vec![-16]
            }
        );
        let v = Index::parse("None, ..., 2").unwrap().apply(&g).unwrap();
        assert_eq!(
            v,
            Geometry {
                offset: 16,
                shape: vec![1, 4],
                strides: vec![0, 40]
            }
        );
        let e = Index::parse("4").unwrap().apply(&g).unwrap_err();
        assert_eq!(
            e.to_string(),
            "index 4 is out of bounds for axis 0 with size 4"
        );
        let many = vec!["None"; 63].join(",");
        let e = Index::parse(&many).unwrap().apply(&g).unwrap_err();
        assert_eq!(
            e.to_string(),
            "number of dimensions must be within [0, 64], indexing result would have 65"
        );
        let e = Index::parse("0, 0, 0").unwrap().apply(&g).unwrap_err();
        assert_eq!(
            e.to_string(),
            "too many indices for array: array is 2-dimensional, but 3 were indexed"
        );
    }
}
