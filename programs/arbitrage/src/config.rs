//! The program's settings: venues with their taker fees and order rates, symbols with their
//! size limits, thresholds and timings; read with serde, checked by [`Config::validate`].
//!
//! Decimals are written as strings (`taker_fee_bps = "10"`, `max_qty = "0.01"`) or integers;
//! floats are refused so that nothing is rounded on the way in.

use plugin_api::{Decimal, Symbol};
use serde::{Deserialize, Serialize};

use crate::exact::{self, Bps};

/// A configured venue: its index in [`Config::venues`]. Get one with [`Config::venue_id`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct VenueId(usize);

impl VenueId {
    /// The position of the venue in [`Config::venues`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// Everything the program needs to decide and account; see the field docs for defaults.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The venues to trade across, by the host's instance name (at least two).
    pub venues: Vec<VenueSettings>,
    /// The symbols to watch (at least one).
    pub symbols: Vec<SymbolSettings>,
    /// Minimum net spread after both taker fees, in bps of the buy price (default 5).
    #[serde(default = "default_min_net_spread_bps")]
    pub min_net_spread_bps: Bps,
    /// Largest net spread believed, in bps of the buy price (default 200): a wider one
    /// means a quote is wrong (a stale or replayed feed, a bad tick), not a free lunch.
    #[serde(default = "default_max_net_spread_bps")]
    pub max_net_spread_bps: Bps,
    /// Minimum expected profit of one opportunity, in the symbol's quote asset (default 0:
    /// any positive net profit).
    #[serde(default, with = "exact::decimal")]
    pub min_profit: Decimal,
    /// After a decision on a symbol, no other decision on it for this long (default 1000).
    #[serde(default = "default_cooldown_ms")]
    pub cooldown_ms: u64,
    /// At most this many opportunities with a leg not yet finished (default 1).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// A quote received longer ago than this is not traded on (default 500).
    #[serde(default = "default_max_quote_age_ms")]
    pub max_quote_age_ms: u64,
    /// A leg still open this long after it was sent is due for cancel: the orders are limit
    /// orders at the touch, so this is what makes them immediate-or-cancel (default 2000).
    #[serde(default = "default_leg_timeout_ms")]
    pub leg_timeout_ms: u64,
    /// Client order ids are `PREFIX-N-b` and `PREFIX-N-s` (1 to 8 of `[0-9A-Za-z_.]`;
    /// default `arb`). Use a different prefix per run to keep runs apart.
    #[serde(default = "default_client_id_prefix")]
    pub client_id_prefix: String,
}

/// One venue's settings.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueSettings {
    /// The host's instance name (`gate`, `mexc`).
    pub name: String,
    /// Taker fee in bps of the notional (`"10"` is 0.1 %); required, no fee is assumed.
    pub taker_fee_bps: Bps,
    /// Orders per second this program may send to the venue (default 5). Kept below the
    /// venue's own limit so that both legs of a decision go out without waiting.
    #[serde(default = "default_orders_per_sec")]
    pub orders_per_sec: u32,
    /// Orders that may go out at once before the rate applies (default 2).
    #[serde(default = "default_order_burst")]
    pub order_burst: u32,
}

/// One symbol's settings.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSettings {
    /// Normalized name, `BASE/QUOTE` in upper case (`BTC/USDT`), as events carry it.
    pub symbol: String,
    /// Largest quantity of one leg, in the base asset; required.
    #[serde(with = "exact::decimal")]
    pub max_qty: Decimal,
    /// Quantity step both venues accept (the coarser of the two); required.
    #[serde(with = "exact::decimal")]
    pub qty_step: Decimal,
    /// Smallest quantity worth sending (default 0: one step).
    #[serde(default, with = "exact::decimal")]
    pub min_qty: Decimal,
    /// Smallest notional of a leg in the quote asset, the larger of the venues' minimums
    /// (default 0).
    #[serde(default, with = "exact::decimal")]
    pub min_notional: Decimal,
    /// No new decision while the run's net base position in the symbol, summed over venues,
    /// is larger than this in absolute value (a leg that did not fill; default: no limit).
    #[serde(default, with = "exact::decimal::option")]
    pub max_unhedged_qty: Option<Decimal>,
}

/// A validated symbol: its settings with the base and quote assets split out.
#[derive(Clone, PartialEq, Debug)]
pub struct Market {
    /// Normalized name.
    pub symbol: Symbol,
    /// Base asset (`BTC`).
    pub base: String,
    /// Quote asset (`USDT`).
    pub quote: String,
    /// The settings it came from.
    pub settings: SymbolSettings,
}

/// A setting that cannot be used; each variant names the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Fewer than two venues.
    #[error("venues: at least two are needed, found {found}")]
    TooFewVenues {
        /// How many there are.
        found: usize,
    },
    /// Two venues with one name, or an empty name.
    #[error("venues: name {name:?} is empty or appears twice")]
    BadVenueName {
        /// The name.
        name: String,
    },
    /// A fee below zero, at or above 100 %, or with more than 20 decimals.
    #[error("venues.{venue}.taker_fee_bps: {fee} is not in [0, 10000) with at most 20 decimals")]
    FeeOutOfRange {
        /// The venue.
        venue: String,
        /// The fee.
        fee: Bps,
    },
    /// `orders_per_sec` or `order_burst` is zero.
    #[error("venues.{venue}: orders_per_sec and order_burst must be at least 1")]
    NoOrderRate {
        /// The venue.
        venue: String,
    },
    /// No symbol configured.
    #[error("symbols: at least one is needed")]
    NoSymbols,
    /// A symbol not spelled `BASE/QUOTE` in upper case, too long, or listed twice.
    #[error("symbols.{symbol:?}: not an upper-case BASE/QUOTE name of at most 31 bytes, or listed twice")]
    BadSymbol {
        /// The symbol as written.
        symbol: String,
    },
    /// A value that must be above zero is not.
    #[error("{key}: must be above zero, is {value}")]
    NotPositive {
        /// The key, e.g. `symbols.BTC/USDT.max_qty`.
        key: String,
        /// The value.
        value: Decimal,
    },
    /// A value that must not be negative is.
    #[error("{key}: must not be negative, is {value}")]
    Negative {
        /// The key.
        key: String,
        /// The value.
        value: Decimal,
    },
    /// `max_net_spread_bps` not above `min_net_spread_bps`: nothing could ever pass.
    #[error("max_net_spread_bps: {max} must be above min_net_spread_bps {min}")]
    SpreadBounds {
        /// `min_net_spread_bps`.
        min: Decimal,
        /// `max_net_spread_bps`.
        max: Decimal,
    },
    /// `qty_step` above `max_qty`: nothing could ever be sent.
    #[error("symbols.{symbol}.qty_step: {step} is above max_qty {max}")]
    StepAboveMax {
        /// The symbol.
        symbol: String,
        /// The step.
        step: Decimal,
        /// The maximum.
        max: Decimal,
    },
    /// `max_in_flight` is zero.
    #[error("max_in_flight: must be at least 1")]
    NoInFlight,
    /// A prefix that would make client ids the venues refuse.
    #[error("client_id_prefix: {prefix:?} is not 1 to 8 of [0-9A-Za-z_.]")]
    BadClientIdPrefix {
        /// The prefix.
        prefix: String,
    },
}

impl Config {
    /// Checks every setting; [`crate::Engine::new`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.venues.len() < 2 {
            return Err(ConfigError::TooFewVenues {
                found: self.venues.len(),
            });
        }
        for (i, v) in self.venues.iter().enumerate() {
            if v.name.is_empty() || self.venues[..i].iter().any(|o| o.name == v.name) {
                return Err(ConfigError::BadVenueName {
                    name: v.name.clone(),
                });
            }
            let fee = v.taker_fee_bps.0;
            if fee.is_sign_negative() || fee >= exact::BPS_PER_UNIT || fee.scale() > 20 {
                return Err(ConfigError::FeeOutOfRange {
                    venue: v.name.clone(),
                    fee: v.taker_fee_bps,
                });
            }
            if v.orders_per_sec == 0 || v.order_burst == 0 {
                return Err(ConfigError::NoOrderRate {
                    venue: v.name.clone(),
                });
            }
        }
        if self.symbols.is_empty() {
            return Err(ConfigError::NoSymbols);
        }
        for (i, s) in self.symbols.iter().enumerate() {
            if self.symbols[..i].iter().any(|o| o.symbol == s.symbol) {
                return Err(ConfigError::BadSymbol {
                    symbol: s.symbol.clone(),
                });
            }
            s.market()?;
        }
        not_negative("min_net_spread_bps", self.min_net_spread_bps.0)?;
        if self.max_net_spread_bps.0 <= self.min_net_spread_bps.0 {
            return Err(ConfigError::SpreadBounds {
                min: self.min_net_spread_bps.0,
                max: self.max_net_spread_bps.0,
            });
        }
        not_negative("min_profit", self.min_profit)?;
        if self.max_in_flight == 0 {
            return Err(ConfigError::NoInFlight);
        }
        let p = &self.client_id_prefix;
        if p.is_empty()
            || p.len() > 8
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
        {
            return Err(ConfigError::BadClientIdPrefix { prefix: p.clone() });
        }
        Ok(())
    }

    /// The id of the venue with this instance name.
    pub fn venue_id(&self, name: &str) -> Option<VenueId> {
        self.venues.iter().position(|v| v.name == name).map(VenueId)
    }

    /// The settings of a venue.
    pub fn venue(&self, id: VenueId) -> Option<&VenueSettings> {
        self.venues.get(id.0)
    }

    /// Every venue id, in configuration order.
    pub fn venue_ids(&self) -> impl Iterator<Item = VenueId> + '_ {
        (0..self.venues.len()).map(VenueId)
    }
}

impl SymbolSettings {
    /// The validated market: splits `BASE/QUOTE` and checks the sizes.
    pub fn market(&self) -> Result<Market, ConfigError> {
        let bad = || ConfigError::BadSymbol {
            symbol: self.symbol.clone(),
        };
        let (base, quote) = self.symbol.split_once('/').ok_or_else(bad)?;
        let well_formed = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        if !well_formed(base) || !well_formed(quote) {
            return Err(bad());
        }
        let symbol = Symbol::new(&self.symbol).ok_or_else(bad)?;
        let key = |field: &str| format!("symbols.{}.{field}", self.symbol);
        positive(key("max_qty"), self.max_qty)?;
        positive(key("qty_step"), self.qty_step)?;
        not_negative(&key("min_qty"), self.min_qty)?;
        not_negative(&key("min_notional"), self.min_notional)?;
        if let Some(limit) = self.max_unhedged_qty {
            not_negative(&key("max_unhedged_qty"), limit)?;
        }
        if self.qty_step > self.max_qty {
            return Err(ConfigError::StepAboveMax {
                symbol: self.symbol.clone(),
                step: self.qty_step,
                max: self.max_qty,
            });
        }
        Ok(Market {
            symbol,
            base: base.to_owned(),
            quote: quote.to_owned(),
            settings: self.clone(),
        })
    }
}

fn positive(key: String, value: Decimal) -> Result<(), ConfigError> {
    if value > Decimal::ZERO {
        Ok(())
    } else {
        Err(ConfigError::NotPositive { key, value })
    }
}

fn not_negative(key: &str, value: Decimal) -> Result<(), ConfigError> {
    if value.is_sign_negative() && !value.is_zero() {
        Err(ConfigError::Negative {
            key: key.to_owned(),
            value,
        })
    } else {
        Ok(())
    }
}

fn default_min_net_spread_bps() -> Bps {
    Bps(Decimal::from(5))
}
fn default_max_net_spread_bps() -> Bps {
    Bps(Decimal::from(200))
}
fn default_cooldown_ms() -> u64 {
    1000
}
fn default_max_in_flight() -> u32 {
    1
}
fn default_max_quote_age_ms() -> u64 {
    500
}
fn default_leg_timeout_ms() -> u64 {
    2000
}
fn default_client_id_prefix() -> String {
    "arb".to_owned()
}
fn default_orders_per_sec() -> u32 {
    5
}
fn default_order_burst() -> u32 {
    2
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A two-venue, one-symbol configuration the unit tests share.
    use super::*;
    use crate::exact::d;

    /// `gate` (fee 10 bps) and `mexc` (fee 5 bps), `BTC/USDT` with max 1, step 0.001.
    pub(crate) fn config() -> Config {
        serde_json::from_str(
            r#"{
                "venues": [
                    {"name": "gate", "taker_fee_bps": "10"},
                    {"name": "mexc", "taker_fee_bps": "5"}
                ],
                "symbols": [{"symbol": "BTC/USDT", "max_qty": "1", "qty_step": "0.001"}]
            }"#,
        )
        .unwrap()
    }

    pub(crate) fn ids(c: &Config) -> (VenueId, VenueId) {
        (c.venue_id("gate").unwrap(), c.venue_id("mexc").unwrap())
    }

    #[test]
    fn shared_config_is_valid() {
        let c = config();
        c.validate().unwrap();
        assert_eq!(c.symbols[0].max_qty, d("1"));
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::config;
    use super::*;
    use crate::exact::d;

    #[test]
    fn defaults_fill_what_is_left_out() {
        let c = config();
        assert_eq!(c.min_net_spread_bps, Bps(d("5")));
        assert_eq!(c.min_profit, Decimal::ZERO);
        assert_eq!(
            (
                c.cooldown_ms,
                c.max_in_flight,
                c.max_quote_age_ms,
                c.leg_timeout_ms
            ),
            (1000, 1, 500, 2000)
        );
        assert_eq!(c.client_id_prefix, "arb");
        assert_eq!(
            (c.venues[0].orders_per_sec, c.venues[0].order_burst),
            (5, 2)
        );
        let s = &c.symbols[0];
        assert_eq!(
            (s.min_qty, s.min_notional, s.max_unhedged_qty),
            (d("0"), d("0"), None)
        );
        let m = s.market().unwrap();
        assert_eq!((m.base.as_str(), m.quote.as_str()), ("BTC", "USDT"));
    }

    #[test]
    fn unknown_keys_and_floats_are_refused() {
        let typo = r#"{"venues": [], "symbols": [], "cooldown": 5}"#;
        let err = serde_json::from_str::<Config>(typo).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `cooldown`"),
            "{err}"
        );
        let float = r#"{"name": "gate", "taker_fee_bps": 0.1}"#;
        let err = serde_json::from_str::<VenueSettings>(float).unwrap_err();
        assert!(err.to_string().contains("is a float"), "{err}");
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = config();
        c.venues.pop();
        assert_eq!(c.validate(), Err(ConfigError::TooFewVenues { found: 1 }));

        let mut c = config();
        c.venues[1].name = "gate".into();
        assert!(matches!(
            c.validate(),
            Err(ConfigError::BadVenueName { .. })
        ));

        let mut c = config();
        c.venues[0].taker_fee_bps = Bps(d("-1"));
        assert!(matches!(
            c.validate(),
            Err(ConfigError::FeeOutOfRange { .. })
        ));

        let mut c = config();
        c.symbols[0].symbol = "btc/usdt".into();
        assert!(matches!(c.validate(), Err(ConfigError::BadSymbol { .. })));

        let mut c = config();
        c.symbols[0].max_qty = d("0");
        let err = c.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "symbols.BTC/USDT.max_qty: must be above zero, is 0"
        );

        let mut c = config();
        c.symbols[0].qty_step = d("2");
        assert!(matches!(
            c.validate(),
            Err(ConfigError::StepAboveMax { .. })
        ));

        let mut c = config();
        c.client_id_prefix = "run-1".into();
        assert!(matches!(
            c.validate(),
            Err(ConfigError::BadClientIdPrefix { .. })
        ));

        let mut c = config();
        c.max_in_flight = 0;
        assert_eq!(c.validate(), Err(ConfigError::NoInFlight));
    }

    #[test]
    fn venue_ids_follow_configuration_order() {
        let c = config();
        let gate = c.venue_id("gate").unwrap();
        assert_eq!(gate.index(), 0);
        assert_eq!(c.venue(gate).unwrap().name, "gate");
        assert_eq!(c.venue_id("binance"), None);
        assert_eq!(c.venue_ids().count(), 2);
    }
}
