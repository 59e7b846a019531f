//! Client order ids that pair the two legs of an opportunity: `PREFIX-N-b` for the buy leg
//! and `PREFIX-N-s` for the sell leg, at most 28 of `[0-9A-Za-z_.-]` (Gate.io's limit, which
//! MEXC accepts too), so order updates map back to their opportunity and leg.

use std::fmt;

/// An opportunity's number within a run, from 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
pub struct OppId(pub u64);

impl fmt::Display for OppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which leg of an opportunity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    /// The leg buying at the cheaper venue's ask.
    Buy,
    /// The leg selling at the dearer venue's bid.
    Sell,
}

impl LegRole {
    /// Both roles.
    pub const BOTH: [LegRole; 2] = [LegRole::Buy, LegRole::Sell];

    fn tag(self) -> char {
        match self {
            LegRole::Buy => 'b',
            LegRole::Sell => 's',
        }
    }
}

/// One leg of one opportunity, as encoded in its client order id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct LegKey {
    /// The opportunity.
    pub opp: OppId,
    /// The leg.
    pub role: LegRole,
}

/// The longest client id both venues accept.
pub const MAX_CLIENT_ID_LEN: usize = 28;

impl LegKey {
    /// `PREFIX-N-b` or `PREFIX-N-s`; `None` if longer than [`MAX_CLIENT_ID_LEN`] (a prefix
    /// of 8 leaves room for numbers below 10^17).
    pub fn client_id(self, prefix: &str) -> Option<String> {
        let id = format!("{prefix}-{}-{}", self.opp.0, self.role.tag());
        (id.len() <= MAX_CLIENT_ID_LEN).then_some(id)
    }

    /// The leg a client id names, if it was made with this prefix.
    pub fn parse(prefix: &str, client_id: &str) -> Option<LegKey> {
        let rest = client_id.strip_prefix(prefix)?.strip_prefix('-')?;
        let (number, tag) = rest.rsplit_once('-')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let role = match tag {
            "b" => LegRole::Buy,
            "s" => LegRole::Sell,
            _ => return None,
        };
        Some(LegKey {
            opp: OppId(number.parse().ok()?),
            role,
        })
    }

    /// The other leg of the same opportunity.
    pub fn other(self) -> LegKey {
        LegKey {
            opp: self.opp,
            role: match self.role {
                LegRole::Buy => LegRole::Sell,
                LegRole::Sell => LegRole::Buy,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_pair_through_their_ids() {
        let buy = LegKey {
            opp: OppId(42),
            role: LegRole::Buy,
        };
        let b = buy.client_id("arb").unwrap();
        let s = buy.other().client_id("arb").unwrap();
        assert_eq!((b.as_str(), s.as_str()), ("arb-42-b", "arb-42-s"));
        assert_eq!(LegKey::parse("arb", &b), Some(buy));
        assert_eq!(LegKey::parse("arb", &s), Some(buy.other()));
        assert_eq!(LegKey::parse("arb", &s).unwrap().opp, buy.opp);
    }

    #[test]
    fn foreign_ids_are_not_ours() {
        for id in [
            "",
            "arb",
            "arb-",
            "arb-1",
            "arb-1-x",
            "arb-x-b",
            "arb-+1-b",
            "arb2-1-b",
            "other-1-b",
            "arb--b",
        ] {
            assert_eq!(LegKey::parse("arb", id), None, "{id}");
        }
    }

    #[test]
    fn ids_fit_the_venues_limit() {
        let big = LegKey {
            opp: OppId(99_999_999_999_999_999),
            role: LegRole::Sell,
        };
        let id = big.client_id("abcdefgh").unwrap();
        assert_eq!(id.len(), 28);
        let too_big = LegKey {
            opp: OppId(u64::MAX),
            role: LegRole::Sell,
        };
        assert_eq!(too_big.client_id("abcdefgh"), None);
    }
}
