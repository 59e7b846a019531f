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
        if let Some(n) = parse_short(text.as_bytes()) {
            return Ok(n);
        }
        Num::parse_general(text)
    }

    /// [`Num::parse`] without the fast path for short plain decimals: the definition the
    /// fast path is tested against.
    pub fn parse_general(text: &str) -> Result<Num, NumError> {
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

/// The fast path of [`Num::parse`]: `-?[0-9]+(\.[0-9]+)?` with at most 19 digits once the
/// fraction's trailing zeros are dropped, accumulated in a `u64` and already normalized.
/// `None` for anything else, which the general path then decides.
#[inline]
fn parse_short(text: &[u8]) -> Option<Num> {
    let (negative, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => {
            let frac = digits.get(dot + 1..)?;
            if frac.is_empty() {
                return None;
            }
            (digits.get(..dot)?, frac)
        }
        None => (digits, &[][..]),
    };
    if int.is_empty() {
        return None;
    }
    // Trailing zeros of the fraction are what `normalize` would strip; they must still be
    // digits, which they are.
    let kept = frac
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(0, |last| last + 1);
    let frac_kept = frac.get(..kept)?;
    if int.len() + frac_kept.len() > 19 {
        return None;
    }
    let mut mantissa: u64 = 0;
    for &b in int.iter().chain(frac_kept) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(digit);
    }
    if mantissa == 0 {
        return Some(Num::ZERO);
    }
    let scale = frac_kept.len() as u32;
    let decimal = Decimal::from_parts(mantissa as u32, (mantissa >> 32) as u32, 0, negative, scale);
    Some(Num {
        bytes: decimal.serialize(),
    })
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
        for text in ["", "abc", "1e5", "NaN", "1.2.3", "-", ".", "1.a", "1a"] {
            assert!(Num::parse(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn fast_path_agrees_with_the_general_path_at_its_edges() {
        for text in [
            "0",
            "-0",
            "-0.000",
            "00.10",
            "1.500",
            "9999999999999999999",
            "99999999999999999999",
            "0.0000000000000000001",
            "1234567890.123456789",
            "1234567890.1234567890000",
            "18446744073709551615",
            "-18446744073709551616",
            ".5",
            "5.",
            "+5",
            "1_000",
        ] {
            assert_eq!(Num::parse(text), Num::parse_general(text), "{text}");
        }
    }
}
