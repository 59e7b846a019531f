//! Exact decimal numbers that cross the plugin boundary unchanged.

use std::fmt;
use std::str::FromStr;

use abi_stable::StableAbi;
use rust_decimal::Decimal;

/// An exact decimal price or quantity, as 16 bytes that both sides read with [`rust_decimal`].
///
/// Venues send prices and sizes as decimal strings; parse them with [`Num::parse`] and they stay
/// exact all the way to the consumer. Never route a price through `f64`.
///
/// ```
/// use plugin_api::Num;
/// let p = Num::parse("84270.01").unwrap();
/// assert_eq!(p.to_string(), "84270.01");
/// ```
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Num {
    bytes: [u8; 16],
}

impl Num {
    /// Zero.
    pub const ZERO: Num = Num { bytes: [0; 16] };

    /// Parses a decimal string exactly (`"0.00638700"`, `"1e-3"` is rejected).
    ///
    /// Fails on anything that is not a plain decimal or does not fit 28 significant digits.
    pub fn parse(text: &str) -> Result<Num, NumError> {
        Decimal::from_str_exact(text)
            .map(Num::from)
            .map_err(|_| NumError {
                text: text.chars().take(40).collect(),
            })
    }

    /// The value as a [`Decimal`].
    pub fn to_decimal(self) -> Decimal {
        Decimal::deserialize(self.bytes)
    }

    /// True when the value is zero (a level to remove, in depth updates).
    pub fn is_zero(self) -> bool {
        self.to_decimal().is_zero()
    }
}

impl From<Decimal> for Num {
    fn from(value: Decimal) -> Self {
        Num {
            bytes: value.normalize().serialize(),
        }
    }
}

impl From<Num> for Decimal {
    fn from(value: Num) -> Self {
        value.to_decimal()
    }
}

impl FromStr for Num {
    type Err = NumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Num::parse(s)
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_decimal().cmp(&other.to_decimal())
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_decimal(), f)
    }
}

impl fmt::Debug for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Num({})", self.to_decimal())
    }
}

/// A string that is not an exact decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumError {
    /// The offending text (at most 40 characters of it).
    pub text: String,
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an exact decimal: {:?}", self.text)
    }
}

impl std::error::Error for NumError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly() {
        for text in [
            "0",
            "84270.01",
            "0.000001234",
            "123456789.123456789",
            "-5.5",
        ] {
            assert_eq!(Num::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn trailing_zeros_compare_equal() {
        assert_eq!(Num::parse("1.500").unwrap(), Num::parse("1.5").unwrap());
        assert!(Num::parse("0.000").unwrap().is_zero());
    }

    #[test]
    fn rejects_non_decimals() {
        for text in ["", "abc", "1e5", "NaN", "1.2.3"] {
            assert!(Num::parse(text).is_err(), "{text} accepted");
        }
    }
}
