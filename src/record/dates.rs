//! [`DateTime64`] and [`TimeDelta64`] through serde, so they can be record
//! fields: each is a newtype (named [`DATETIME`] / [`TIMEDELTA`]) around
//! its text, `"<count>[<unit>]"` as it displays (`"5[s]"`, `"NaT[ns]"`,
//! `"-3[10ms]"`, `"7"` for the generic unit). Formats other than npymap's
//! (JSON, ...) see that text; the record serializers recognise the names
//! and read or write the `M8` / `m8` element itself.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::dtype::{ScalarKind, TimeUnit};
use crate::typed::{DateTime64, TimeDelta64};

/// The newtype name a [`DateTime64`] serializes under.
pub(crate) const DATETIME: &str = "$npymap::DateTime64";
/// The newtype name a [`TimeDelta64`] serializes under.
pub(crate) const TIMEDELTA: &str = "$npymap::TimeDelta64";

const UNITS: [TimeUnit; 13] = [
    TimeUnit::Years,
    TimeUnit::Months,
    TimeUnit::Weeks,
    TimeUnit::Days,
    TimeUnit::Hours,
    TimeUnit::Minutes,
    TimeUnit::Seconds,
    TimeUnit::Millis,
    TimeUnit::Micros,
    TimeUnit::Nanos,
    TimeUnit::Picos,
    TimeUnit::Femtos,
    TimeUnit::Attos,
];

/// A date value's parts: count (`i64::MIN` for NaT), unit, multiplier.
pub(crate) type Parts = (i64, TimeUnit, u32);

/// Parses `"5[s]"`, `"NaT[10ms]"`, `"7"` (generic).
pub(crate) fn parse(text: &str) -> Option<Parts> {
    let (value, unit) = match text.split_once('[') {
        Some((v, rest)) => (v, rest.strip_suffix(']')?),
        None => (text, ""),
    };
    let value = if value == "NaT" {
        i64::MIN
    } else {
        value.parse().ok()?
    };
    if unit.is_empty() {
        return Some((value, TimeUnit::Generic, 1));
    }
    let digits = unit.len() - unit.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (mult, name) = unit.split_at(digits);
    let mult = if mult.is_empty() {
        1
    } else {
        mult.parse().ok()?
    };
    let unit = UNITS.into_iter().find(|u| u.as_str() == name)?;
    Some((value, unit, mult))
}

/// The dtype kind of a date newtype `name` with `unit` and `mult`, if
/// `name` is one of ours.
pub(crate) fn kind(name: &str, unit: TimeUnit, multiplier: u32) -> Option<ScalarKind> {
    match name {
        DATETIME => Some(ScalarKind::Datetime { unit, multiplier }),
        TIMEDELTA => Some(ScalarKind::Timedelta { unit, multiplier }),
        _ => None,
    }
}

/// The text a date newtype holds, taken from its serialized inner value.
pub(crate) fn text_of<T: ?Sized + Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value).ok()? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    }
}

macro_rules! serde_date {
    ($t:ident, $name:ident, $what:literal) => {
        /// Serialized as a newtype around its text (`"5[s]"`, `"NaT[ns]"`);
        /// a field of a record (`npymap::record`) of this type is an
        #[doc = concat!("`", $what, "[unit]` element.")]
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_newtype_struct($name, &self.to_string())
            }
        }

        /// Read from the text [`Serialize`] writes, or from an
        #[doc = concat!("`", $what, "[unit]` field of a record.")]
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "{} text such as \"5[s]\" or \"NaT[ns]\"", $what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                        let (value, unit, multiplier) = parse(v)
                            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))?;
                        Ok($t {
                            value,
                            unit,
                            multiplier,
                        })
                    }
                    fn visit_newtype_struct<D: Deserializer<'de>>(
                        self,
                        d: D,
                    ) -> Result<$t, D::Error> {
                        d.deserialize_str(self)
                    }
                }
                d.deserialize_newtype_struct($name, V)
            }
        }
    };
}

serde_date!(DateTime64, DATETIME, "M8");
serde_date!(TimeDelta64, TIMEDELTA, "m8");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for (text, parts) in [
            ("5[s]", (5, TimeUnit::Seconds, 1)),
            ("NaT[ns]", (i64::MIN, TimeUnit::Nanos, 1)),
            ("-3[10ms]", (-3, TimeUnit::Millis, 10)),
            ("7", (7, TimeUnit::Generic, 1)),
            ("NaT", (i64::MIN, TimeUnit::Generic, 1)),
        ] {
            assert_eq!(parse(text), Some(parts), "{text}");
            let d = DateTime64 {
                value: parts.0,
                unit: parts.1,
                multiplier: parts.2,
            };
            assert_eq!(d.to_string(), text);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<DateTime64>(&json).unwrap(), d);
        }
        for bad in ["", "5[", "5[x]", "x[s]", "5[s", "5[0x10s]"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
