//! `Num::parse` (fast path for short plain decimals, general path for the rest) gives exactly
//! what the general path alone gives, on random decimal-looking strings.

use plugin_api::Num;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

    /// Plain decimals of every length around the 19-digit limit, with leading and trailing
    /// zeros and signs.
    #[test]
    fn plain_decimals(text in "[-+]?0{0,3}[0-9]{0,22}(\\.[0-9]{0,22}0{0,4})?") {
        prop_assert_eq!(Num::parse(&text), Num::parse_general(&text));
    }

    /// Anything made of the characters a decimal uses and a few it must not.
    #[test]
    fn decimal_alphabet(text in "[-+0-9._eE ]{0,30}") {
        prop_assert_eq!(Num::parse(&text), Num::parse_general(&text));
    }

    /// Every `u64` and its negation at every scale.
    #[test]
    fn integers_at_every_scale(m in any::<u64>(), scale in 0usize..25, negative in any::<bool>()) {
        let digits = m.to_string();
        let text = if scale == 0 {
            digits
        } else {
            let padded = format!("{digits:0>width$}", width = scale + 1);
            let (int, frac) = padded.split_at(padded.len() - scale);
            format!("{int}.{frac}")
        };
        let text = if negative { format!("-{text}") } else { text };
        prop_assert_eq!(Num::parse(&text), Num::parse_general(&text));
    }
}
