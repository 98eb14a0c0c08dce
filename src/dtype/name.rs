//! The text of a field name or title, kept inline when short.
//!
//! Nearly every field name in the wild (`f0`, `x`, `timestamp`) is a few
//! ASCII bytes. Giving each its own heap `String` made the allocator the
//! largest cost of parsing a wide structured header (and of dropping it):
//! names up to [`INLINE`] bytes live inside the field instead, longer ones
//! in one boxed `str`. The type is private; `Field` hands out `&str`.

use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest name stored inline: with the length byte and the enum tag the
/// type is as large as a `String` (24 bytes).
const INLINE: usize = 22;

/// A field name or title.
#[derive(Clone)]
pub(crate) enum Name {
    /// `len` bytes of UTF-8 at the start of `bytes` (a whole `&str`, so
    /// always valid UTF-8), the rest zero.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A name longer than [`INLINE`] bytes.
    Heap(Box<str>),
}

impl Name {
    /// The name `s`, inline when it fits.
    pub(crate) fn new(s: &str) -> Name {
        let mut bytes = [0u8; INLINE];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(head), Ok(len)) => {
                head.copy_from_slice(s.as_bytes());
                Name::Inline { len, bytes }
            }
            _ => Name::Heap(s.into()),
        }
    }

    /// The name's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Name::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Name::Heap(s) => s.as_bytes(),
        }
    }

    /// The name's text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Always valid: the bytes were copied whole from a `&str`, so
            // the fallback is never taken (checking costs a few ns on these
            // short names and keeps the crate free of `unsafe`).
            Name::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Name::Heap(s) => s,
        }
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        if s.len() <= INLINE {
            Name::new(&s)
        } else {
            Name::Heap(s.into_boxed_str())
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Hash for Name {
    /// Hashes as the `str` it holds, as the `String` it replaces did.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_inline_and_long_ones_round_trip() {
        for s in [
            "",
            "x",
            "f999",
            "é€𝄞",
            "exactly_twenty_two_byt",
            "twenty_three_bytes_long",
        ] {
            let n = Name::new(s);
            assert_eq!(n.as_str(), s);
            assert_eq!(n, *s);
            assert_eq!(Name::from(s.to_string()), n);
            assert_eq!(format!("{n:?}"), format!("{s:?}"));
            assert_eq!(matches!(n, Name::Inline { .. }), s.len() <= INLINE, "{s}");
        }
        assert_ne!(Name::new("a"), Name::new("a\0"));
        assert_eq!(std::mem::size_of::<Name>(), std::mem::size_of::<String>());
        assert_eq!(
            std::mem::size_of::<Option<Name>>(),
            std::mem::size_of::<String>()
        );
    }
}
