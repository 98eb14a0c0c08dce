//! `datetime64` and `timedelta64` values: a count of units, the unit, and
//! NaT ("not a time") as NumPy stores it, `i64::MIN`.

use std::fmt;

use crate::dtype::{ScalarKind, TimeUnit};

macro_rules! time_type {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $code:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The count of `multiplier × unit` steps; [`Self::NAT`] for NaT.
            pub value: i64,
            /// The unit.
            pub unit: TimeUnit,
            /// How many units one step is (`10` for `[10s]`); 1 for a plain unit.
            pub multiplier: u32,
        }

        impl $name {
            /// The stored value of NaT, as NumPy writes it: `i64::MIN`.
            pub const NAT: i64 = i64::MIN;

            /// `value` steps of one `unit`.
            pub fn new(value: i64, unit: TimeUnit) -> Self {
                $name { value, unit, multiplier: 1 }
            }

            /// NaT in `unit`.
            pub fn nat(unit: TimeUnit) -> Self {
                $name::new(Self::NAT, unit)
            }

            /// Whether this is NaT.
            pub fn is_nat(&self) -> bool {
                self.value == Self::NAT
            }

            /// The count of steps, or `None` for NaT.
            pub fn get(&self) -> Option<i64> {
                (!self.is_nat()).then_some(self.value)
            }

            /// The `[unit]` part of the dtype, as NumPy writes it (`""` for generic).
            pub(crate) fn unit_text(&self) -> String {
                unit_text(self.unit, self.multiplier)
            }
        }

        /// `2`, `NaT` with the unit: `2[ns]`, `NaT[ns]`.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.get() {
                    Some(v) => write!(f, "{v}{}", self.unit_text()),
                    None => write!(f, "NaT{}", self.unit_text()),
                }
            }
        }

        impl super::decode::TimeValue for $name {
            const CODE: &'static str = $code;
            fn from_parts(value: i64, unit: TimeUnit, multiplier: u32) -> Self {
                $name { value, unit, multiplier }
            }
            fn parts(&self) -> (i64, TimeUnit, u32) {
                (self.value, self.unit, self.multiplier)
            }
            fn kind(unit: TimeUnit, multiplier: u32) -> ScalarKind {
                ScalarKind::$kind { unit, multiplier }
            }
            fn unpack(kind: ScalarKind) -> Option<(TimeUnit, u32)> {
                match kind {
                    ScalarKind::$kind { unit, multiplier } => Some((unit, multiplier)),
                    _ => None,
                }
            }
        }
    };
}

/// `[10s]`, `[ns]` or `""` for the generic unit.
pub(crate) fn unit_text(unit: TimeUnit, multiplier: u32) -> String {
    match (unit, multiplier) {
        (TimeUnit::Generic, _) => String::new(),
        (u, 1) => format!("[{}]", u.as_str()),
        (u, m) => format!("[{m}{}]", u.as_str()),
    }
}

time_type!(
    /// A `datetime64` value (`M8[unit]`): `value` steps of `multiplier ×
    /// unit` since 1970-01-01T00:00, or NaT.
    ///
    /// # Examples
    /// ```
    /// use npymap::{DateTime64, TimeUnit};
    /// let a = npymap::read::<DateTime64>("testdata/npy/M8_D.npy")?;
    /// assert_eq!(a.as_slice()[0].unit, TimeUnit::Days);
    /// assert!(DateTime64::nat(TimeUnit::Days).get().is_none());
    /// # Ok::<(), npymap::Error>(())
    /// ```
    DateTime64,
    Datetime,
    "M8"
);

time_type!(
    /// A `timedelta64` value (`m8[unit]`): `value` steps of `multiplier ×
    /// unit`, or NaT.
    TimeDelta64,
    Timedelta,
    "m8"
);
