//! Exact decimal helpers: basis points, lot rounding, and serde for decimals written as text.
//!
//! Money never goes through `f64`: settings are read as decimal strings (or integers) and a
//! float in a settings file is refused rather than rounded.

use std::fmt;

use plugin_api::{Decimal, Num};
use serde::{Deserialize, Serialize};

/// 10 000: basis points in one unit.
pub(crate) const BPS_PER_UNIT: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// A rate in basis points (1 bps = 0.01 %), exact: a taker fee or a spread.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Bps(pub Decimal);

impl Bps {
    /// The rate as a fraction of one (`10` bps is `0.001`).
    ///
    /// Exact for any rate with at most 24 decimal places, which settings validation ensures.
    pub fn fraction(self) -> Decimal {
        // Dividing by 10 000 cannot overflow; were it ever to fail, a huge fee makes every
        // spread negative, which trades nothing.
        self.0.checked_div(BPS_PER_UNIT).unwrap_or(Decimal::MAX)
    }
}

impl fmt::Display for Bps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bps", self.0)
    }
}

impl Serialize for Bps {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        decimal::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Bps {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        decimal::deserialize(d).map(Bps)
    }
}

/// `value` rounded down to a whole number of `step`s (`step > 0`); `None` on overflow.
///
/// The division may round in its last digit, so the result is checked and lowered by one
/// step if it came out above `value`: the answer never exceeds `value`.
pub(crate) fn floor_to_step(value: Decimal, step: Decimal) -> Option<Decimal> {
    if step <= Decimal::ZERO || value <= Decimal::ZERO {
        return Some(Decimal::ZERO);
    }
    let steps = value.checked_div(step)?.floor();
    let mut floored = steps.checked_mul(step)?;
    if floored > value {
        floored = floored.checked_sub(step)?;
    }
    Some(floored.max(Decimal::ZERO).normalize())
}

/// A [`Num`] as a [`Decimal`].
pub(crate) fn dec(n: Num) -> Decimal {
    n.to_decimal()
}

/// Serde for a [`Decimal`] as a string; reading also takes integers but refuses floats.
pub mod decimal {
    use std::fmt;

    use plugin_api::Decimal;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Writes the decimal as its exact text (`"0.001"`).
    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads `"0.001"` or `10`; refuses `0.001` written as a float, which is not exact.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }

    struct DecimalVisitor;

    impl Visitor<'_> for DecimalVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an exact decimal written as a string (\"0.001\") or an integer")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str_exact(v.trim())
                .map_err(|_| E::custom(format!("not an exact decimal: {v:?}")))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            Err(E::custom(format!(
                "{v} is a float; write decimals as strings (\"{v}\") so they stay exact"
            )))
        }
    }

    /// The same for an `Option<Decimal>` (absent or `null` is `None`).
    pub mod option {
        use plugin_api::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `Some` as the decimal's text, `None` as none.
        pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }

        /// Reads what [`super::deserialize`] reads, or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            #[derive(serde::Deserialize)]
            struct Wrapped(#[serde(with = "super")] Decimal);
            Option::<Wrapped>::deserialize(d).map(|w| w.map(|Wrapped(v)| v))
        }
    }
}

#[cfg(test)]
pub(crate) fn d(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bps_fraction_is_exact() {
        assert_eq!(Bps(d("10")).fraction(), d("0.001"));
        assert_eq!(Bps(d("2.5")).fraction(), d("0.00025"));
        assert_eq!(Bps(Decimal::ZERO).fraction(), Decimal::ZERO);
    }

    #[test]
    fn floor_to_step_never_rounds_up() {
        assert_eq!(floor_to_step(d("1.23456"), d("0.001")), Some(d("1.234")));
        assert_eq!(floor_to_step(d("1.234"), d("0.001")), Some(d("1.234")));
        assert_eq!(floor_to_step(d("0.0009"), d("0.001")), Some(Decimal::ZERO));
        assert_eq!(floor_to_step(d("7"), d("2.5")), Some(d("5")));
        assert_eq!(floor_to_step(d("-1"), d("0.1")), Some(Decimal::ZERO));
        // 1/3 of a unit in steps of 1/7-ish: the division rounds, the result does not exceed.
        let v = d("1") / d("3");
        let got = floor_to_step(v, d("0.0000001")).unwrap();
        assert!(got <= v);
        assert_eq!(got, d("0.3333333"));
    }

    #[derive(serde::Deserialize, serde::Serialize, Debug)]
    struct Holder {
        #[serde(with = "decimal")]
        v: Decimal,
        #[serde(default, with = "decimal::option")]
        o: Option<Decimal>,
    }

    #[test]
    fn decimals_read_from_strings_and_integers_not_floats() {
        let h: Holder = serde_json::from_str(r#"{"v":"0.1","o":"2.50"}"#).unwrap();
        assert_eq!((h.v, h.o), (d("0.1"), Some(d("2.5"))));
        let h: Holder = serde_json::from_str(r#"{"v":-3}"#).unwrap();
        assert_eq!((h.v, h.o), (d("-3"), None));
        let err = serde_json::from_str::<Holder>(r#"{"v":0.1}"#).unwrap_err();
        assert!(err.to_string().contains("is a float"), "{err}");
        let err = serde_json::from_str::<Holder>(r#"{"v":"1e3"}"#).unwrap_err();
        assert!(err.to_string().contains("not an exact decimal"), "{err}");
        let text = serde_json::to_string(&Holder {
            v: d("1.50"),
            o: None,
        })
        .unwrap();
        assert_eq!(text, r#"{"v":"1.50","o":null}"#);
    }
}
