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

/// A SHAPE: comma-separated dims (`3,4`); the empty string is `()`.
pub(crate) fn shape(s: &str) -> Result<Vec<u64>, String> {
    let t = s.trim();
    if t.is_empty() || t == "()" {
        return Ok(Vec::new());
    }
    let t = t.trim_start_matches('(').trim_end_matches(')');
    t.split(',')
        .map(str::trim)
        .enumerate()
        .filter(|(n, d)| !(d.is_empty() && *n > 0))
        .map(|(_, d)| {
            d.parse::<u64>()
                .ok()
                .filter(|&v| i64::try_from(v).is_ok())
                .ok_or_else(|| {
                    format!("invalid shape {s:?}: {d:?} is not a dimension (expected e.g. 3,4)")
                })
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
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("<f8"), "'<f8'");
        assert_eq!(shell_quote("3,4"), "3,4");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
