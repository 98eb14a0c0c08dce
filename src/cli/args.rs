//! Parsers for the CLI's value arguments: DESCR, SHAPE, order, byte order,
//! format version (see the CLI contract in `spec/cli.md`).

use npymap::{ByteOrder, Dtype, Version};

/// A DESCR: a type string (`<f8`, `f8`, `|S3`, `<M8[ns]`), a NumPy name
/// (`float32`), or the JSON form `info --json` prints for structured dtypes.
pub(crate) fn dtype(s: &str) -> Result<Dtype, String> {
    let t = s.trim();
    if t.starts_with('[') {
        let v: serde_json::Value =
            serde_json::from_str(t).map_err(|e| format!("invalid JSON dtype {t:?}: {e}"))?;
        Dtype::from_json(&v).map_err(|e| e.to_string())
    } else {
        Dtype::from_descr(t).map_err(|e| e.to_string())
    }
}

/// A parsed SHAPE argument (a newtype so clap sees one value, not many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape(pub Vec<u64>);

/// A SHAPE argument for clap.
pub(crate) fn shape_arg(s: &str) -> Result<Shape, String> {
    shape(s).map(Shape)
}

/// A SHAPE: comma-separated dims (`3,4`), optionally inside one pair of
/// parentheses (`(3,4)`), with spaces around dims and one trailing comma
/// allowed (`12,`); `""` and `()` are the 0-d shape. Empty dims (`3,,4`),
/// unbalanced or nested parentheses are refused (spec/cli.md §2.4).
pub(crate) fn shape(s: &str) -> Result<Vec<u64>, String> {
    let invalid = |why: String| format!("invalid shape {s:?}: {why} (expected e.g. 3,4)");
    let t = s.trim();
    let inner = match (t.strip_prefix('('), t.strip_suffix(')')) {
        (Some(rest), Some(_)) => rest.strip_suffix(')').unwrap_or(rest).trim(),
        (None, None) => t,
        _ => return Err(invalid("unbalanced parentheses".into())),
    };
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    let body = inner.strip_suffix(',').unwrap_or(inner);
    body.split(',')
        .map(str::trim)
        .map(|d| {
            if d.is_empty() {
                return Err(invalid("empty dimension".into()));
            }
            d.parse::<u64>()
                .ok()
                .filter(|&v| i64::try_from(v).is_ok())
                .ok_or_else(|| invalid(format!("{d:?} is not a dimension")))
        })
        .collect()
}

/// `C` or `F` (any case); returns whether it is Fortran order.
pub(crate) fn order(s: &str) -> Result<bool, String> {
    match s {
        "C" | "c" => Ok(false),
        "F" | "f" => Ok(true),
        _ => Err(format!("invalid order {s:?} (expected C or F)")),
    }
}

/// `little`, `big` or `native` (or `<`, `>`, `=`).
pub(crate) fn byte_order(s: &str) -> Result<ByteOrder, String> {
    match s {
        "little" | "<" => Ok(ByteOrder::Little),
        "big" | ">" => Ok(ByteOrder::Big),
        "native" | "=" => Ok(ByteOrder::NATIVE),
        _ => Err(format!(
            "invalid byte order {s:?} (expected little, big or native)"
        )),
    }
}

/// A casting level: `no`, `equiv`, `safe`, `same_kind` or `unsafe`.
pub(crate) fn casting(s: &str) -> Result<npymap::convert::Casting, String> {
    s.parse()
}

/// `1.0`, `2.0` or `3.0`.
pub(crate) fn version(s: &str) -> Result<Version, String> {
    Version::from_name(s)
        .ok_or_else(|| format!("invalid format version {s:?} (expected 1.0, 2.0 or 3.0)"))
}

/// Quotes a word for a POSIX shell when it needs it.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ',' | '.' | '_' | '-' | '/' | ':' | '=')
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape("3,4"), Ok(vec![3, 4]));
        assert_eq!(shape(""), Ok(vec![]));
        assert_eq!(shape("5"), Ok(vec![5]));
        assert_eq!(shape("5,"), Ok(vec![5]));
        assert!(shape("3,-1").is_err());
        assert!(shape("a").is_err());
        assert_eq!(shape("(3, 4)"), Ok(vec![3, 4]));
        assert_eq!(shape("(5,)"), Ok(vec![5]));
        for bad in ["3,,4", "(3,4", "3,4)", "((12,))", ",", "(,)", "5,,"] {
            assert!(shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("<f8"), "'<f8'");
        assert_eq!(shell_quote("3,4"), "3,4");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
