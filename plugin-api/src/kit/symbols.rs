//! Symbol mapping: the normalized `BTC/USDT` ↔ the venue's spelling, for venues that put a
//! separator between base and quote (`BTC_USDT`, `BTC-USDT`) and venues that do not
//! (`BTCUSDT`, `btcusdt`).

use crate::kit::AllowedSymbols;
use crate::{Instrument, PluginError, Reject, StreamKind, Symbol, Topic, SYMBOL_CAPACITY};

/// Quote assets a no-separator venue's symbols are split on by default (the longest one
/// that ends the symbol wins, so `BTCUSDT` is `BTC/USDT`, not `BTCUS/DT`).
pub const DEFAULT_QUOTES: &[&str] = &[
    "USDT", "USDC", "FDUSD", "TUSD", "BUSD", "USDE", "DAI", "USD", "EUR", "GBP", "TRY", "BRL",
    "JPY", "BTC", "ETH", "BNB", "SOL", "XRP",
];

/// The letter case of a venue's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `BTC_USDT`, `BTCUSDT`.
    Upper,
    /// `btc_usdt`, `btcusdt` (Binance's stream names).
    Lower,
}

/// Maps normalized symbols to a venue's spelling and back, without allocating.
///
/// A normalized symbol is `BASE/QUOTE`, each part upper-case letters and digits
/// ([`is_normalized`]). [`Symbols::resolve`] serves [`Venue::resolve`](crate::Venue::resolve)
/// and honours the allowed-symbols filter; [`Symbols::from_venue`] serves `on_frame`: it
/// maps whatever the venue sent, builds both spellings inline (no allocation) and checks no
/// filter (a frame for an unsubscribed symbol is the venue's business).
///
/// # Examples
///
/// ```
/// use plugin_api::kit::{Case, Symbols};
///
/// let gate = Symbols::separated('_');
/// assert_eq!(gate.resolve("BTC/USDT").unwrap().venue_symbol.as_str(), "BTC_USDT");
/// assert_eq!(gate.from_venue("ETH_BTC").unwrap().symbol.as_str(), "ETH/BTC");
///
/// let binance = Symbols::joined().case(Case::Lower).any_case();
/// let i = binance.from_venue("BTCUSDT").unwrap();
/// assert_eq!((i.symbol.as_str(), i.venue_symbol.as_str()), ("BTC/USDT", "btcusdt"));
/// assert_eq!(binance.resolve("ETH/USDC").unwrap().venue_symbol.as_str(), "ethusdc");
/// ```
#[derive(Clone, Debug)]
pub struct Symbols {
    separator: Option<u8>,
    case: Case,
    any_case: bool,
    quotes: Vec<Symbol>,
    allowed: AllowedSymbols,
}

impl Symbols {
    /// A venue writing `BASE<sep>QUOTE` in upper case (`BTC_USDT` with `'_'`). The separator
    /// must be an ASCII character other than a letter or digit; with any other, nothing maps.
    /// A `const fn`, so a plugin can keep its mapping in a `static`.
    pub const fn separated(separator: char) -> Symbols {
        let usable = separator.is_ascii() && !separator.is_ascii_alphanumeric();
        Symbols {
            // 0 marks an unusable separator: nothing maps, rather than a panic.
            separator: Some(if usable { separator as u8 } else { 0 }),
            case: Case::Upper,
            any_case: false,
            quotes: Vec::new(),
            allowed: AllowedSymbols::ALL,
        }
    }

    /// A venue writing `BASEQUOTE` in upper case (`BTCUSDT`), split on the longest of
    /// [`DEFAULT_QUOTES`] that ends it.
    pub fn joined() -> Symbols {
        Symbols {
            separator: None,
            case: Case::Upper,
            any_case: false,
            quotes: Vec::new(),
            allowed: AllowedSymbols::default(),
        }
        .quotes(DEFAULT_QUOTES.iter().copied())
    }

    /// The case the venue writes symbols in (default [`Case::Upper`]).
    pub fn case(mut self, case: Case) -> Symbols {
        self.case = case;
        self
    }

    /// Accepts the venue's symbols in either case in [`Symbols::from_venue`] (Binance
    /// streams are `btcusdt@trade` while their payloads say `BTCUSDT`); the instrument
    /// always carries the [`Symbols::case`] spelling.
    pub fn any_case(mut self) -> Symbols {
        self.any_case = true;
        self
    }

    /// Replaces the quote assets a joined symbol is split on (upper case; others are
    /// ignored).
    pub fn quotes<'a>(mut self, quotes: impl IntoIterator<Item = &'a str>) -> Symbols {
        self.quotes = quotes
            .into_iter()
            .filter(|q| valid_part(q.as_bytes()))
            .filter_map(Symbol::new)
            .collect();
        // Longest first, so the first match is the longest.
        self.quotes
            .sort_by_key(|q| std::cmp::Reverse(q.as_str().len()));
        self
    }

    /// Only these normalized symbols resolve (empty: all).
    pub fn allow(mut self, allowed: AllowedSymbols) -> Symbols {
        self.allowed = allowed;
        self
    }

    /// The instrument for a normalized symbol (`BTC/USDT`), or `None` if it is malformed,
    /// not allowed, or (joined venues) its quote is not a known quote asset.
    pub fn resolve(&self, normalized: &str) -> Option<Instrument> {
        if !self.allowed.allows(normalized) {
            return None;
        }
        let (base, quote) = split_normalized(normalized)?;
        let mut buf = [0u8; SYMBOL_CAPACITY];
        let mut len = 0;
        for part in [
            Some(base),
            self.separator.as_ref().map(std::slice::from_ref),
            Some(quote),
        ]
        .into_iter()
        .flatten()
        {
            buf.get_mut(len..len + part.len())?.copy_from_slice(part);
            len += part.len();
        }
        let venue = buf.get_mut(..len)?;
        if self.case == Case::Lower {
            venue.make_ascii_lowercase();
        }
        let instrument = self.from_venue(std::str::from_utf8(venue).ok()?)?;
        // A joined spelling must split back the same way.
        (instrument.symbol.as_str() == normalized).then_some(instrument)
    }

    /// The instrument for the venue's spelling (`BTC_USDT`, `BTCUSDT`), or `None` if it is
    /// malformed. No allocation; no allowed-symbols check.
    pub fn from_venue(&self, venue: &str) -> Option<Instrument> {
        let bytes = venue.as_bytes();
        if bytes.is_empty() || bytes.len() > SYMBOL_CAPACITY {
            return None;
        }
        let mut upper = [0u8; SYMBOL_CAPACITY];
        let upper = upper.get_mut(..bytes.len())?;
        upper.copy_from_slice(bytes);
        let in_case = match self.case {
            Case::Upper => !bytes.iter().any(u8::is_ascii_lowercase),
            Case::Lower => !bytes.iter().any(u8::is_ascii_uppercase),
        };
        if !in_case && !self.any_case {
            return None;
        }
        upper.make_ascii_uppercase();
        let (base, quote) = match self.separator {
            // 0 marks an unusable separator: nothing maps.
            Some(0) => return None,
            Some(sep) => {
                let pos = upper.iter().position(|&b| b == sep)?;
                (upper.get(..pos)?, upper.get(pos + 1..)?)
            }
            None => {
                let q = self.quotes.iter().find(|q| {
                    let q = q.as_str().as_bytes();
                    upper.len() > q.len() && upper.ends_with(q)
                })?;
                upper.split_at(upper.len() - q.as_str().len())
            }
        };
        if !valid_part(base) || !valid_part(quote) {
            return None;
        }
        let mut normalized = [0u8; SYMBOL_CAPACITY + 1];
        let n = base.len() + 1 + quote.len();
        normalized.get_mut(..base.len())?.copy_from_slice(base);
        *normalized.get_mut(base.len())? = b'/';
        normalized
            .get_mut(base.len() + 1..n)?
            .copy_from_slice(quote);
        let mut spelled = [0u8; SYMBOL_CAPACITY];
        let spelled = spelled.get_mut(..bytes.len())?;
        spelled.copy_from_slice(bytes);
        match self.case {
            Case::Upper => spelled.make_ascii_uppercase(),
            Case::Lower => spelled.make_ascii_lowercase(),
        }
        Some(Instrument {
            symbol: Symbol::new(std::str::from_utf8(normalized.get(..n)?).ok()?)?,
            venue_symbol: Symbol::new(std::str::from_utf8(spelled).ok()?)?,
        })
    }

    /// [`Symbols::from_venue`] for a symbol a frame names: an `unknown_symbol` reject
    /// (naming at most 32 characters of it) when it does not map.
    pub fn instrument(&self, venue: &str) -> Result<Instrument, Reject> {
        self.from_venue(venue).ok_or_else(|| {
            let shown: String = venue.chars().take(32).collect();
            Reject::new("unknown_symbol", shown)
        })
    }

    /// The venue's channel names for `topics`, in order: `name` renders one from a topic's
    /// kind and its instrument (resolved here), or returns `None` for a kind the venue does
    /// not serve. A topic that does not resolve or render is an `Unsupported` error naming
    /// its kind and symbol, prefixed with `venue`.
    ///
    /// # Examples
    ///
    /// ```
    /// use plugin_api::kit::{Case, Symbols};
    /// use plugin_api::{Instrument, StreamKind, Topic};
    ///
    /// let symbols = Symbols::joined().case(Case::Lower);
    /// let topic = |kind| Topic { kind, instrument: Instrument::new("BTC/USDT", "").unwrap() };
    /// let name = |kind, i: &Instrument| match kind {
    ///     StreamKind::Trades => Some(format!("{}@trade", i.venue_symbol)),
    ///     _ => None,
    /// };
    /// let names = symbols.channels("example", &[topic(StreamKind::Trades)], name)?;
    /// assert_eq!(names, ["btcusdt@trade"]);
    /// let refused = symbols.channels("example", &[topic(StreamKind::Depth)], name);
    /// assert_eq!(refused.unwrap_err().message.as_str(), "example: no depth for BTC/USDT");
    /// # Ok::<(), plugin_api::PluginError>(())
    /// ```
    pub fn channels(
        &self,
        venue: &str,
        topics: &[Topic],
        mut name: impl FnMut(StreamKind, &Instrument) -> Option<String>,
    ) -> Result<Vec<String>, PluginError> {
        topics
            .iter()
            .map(|t| {
                let symbol = t.instrument.symbol;
                self.resolve(symbol.as_str())
                    .and_then(|i| name(t.kind, &i))
                    .ok_or_else(|| {
                        let kind = t.kind.name();
                        PluginError::unsupported(format!("{venue}: no {kind} for {symbol}"))
                    })
            })
            .collect()
    }
}

/// True for a normalized symbol: `BASE/QUOTE`, both parts non-empty upper-case ASCII letters
/// and digits, at most [`SYMBOL_CAPACITY`] bytes.
pub fn is_normalized(symbol: &str) -> bool {
    symbol.len() <= SYMBOL_CAPACITY && split_normalized(symbol).is_some()
}

fn split_normalized(symbol: &str) -> Option<(&[u8], &[u8])> {
    let (base, quote) = symbol.split_once('/')?;
    (valid_part(base.as_bytes()) && valid_part(quote.as_bytes()))
        .then_some((base.as_bytes(), quote.as_bytes()))
}

fn valid_part(part: &[u8]) -> bool {
    !part.is_empty()
        && part
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(i: Option<Instrument>) -> Option<(String, String)> {
        i.map(|i| (i.symbol.to_string(), i.venue_symbol.to_string()))
    }

    fn p(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.to_owned(), b.to_owned()))
    }

    #[test]
    fn separated_round_trip() {
        let s = Symbols::separated('_');
        assert_eq!(pair(s.from_venue("BTC_USDT")), p("BTC/USDT", "BTC_USDT"));
        assert_eq!(
            pair(s.resolve("QTUM3S/USDT")),
            p("QTUM3S/USDT", "QTUM3S_USDT")
        );
        let dash = Symbols::separated('-');
        assert_eq!(pair(dash.resolve("ETH/BTC")), p("ETH/BTC", "ETH-BTC"));
        for bad in [
            "", "BTCUSDT", "_USDT", "BTC_", "btc_usdt", "A_B_C", "BTC/USDT",
        ] {
            assert!(s.from_venue(bad).is_none(), "{bad}");
        }
        assert!(s.resolve("BTC_USDT").is_none());
        assert!(s.from_venue(&format!("{}_USDT", "A".repeat(40))).is_none());
        assert!(Symbols::separated('A').resolve("BTC/USDT").is_none());
    }

    #[test]
    fn joined_splits_on_the_longest_known_quote() {
        let s = Symbols::joined();
        assert_eq!(pair(s.from_venue("BTCUSDT")), p("BTC/USDT", "BTCUSDT"));
        assert_eq!(pair(s.from_venue("BTCUSD")), p("BTC/USD", "BTCUSD"));
        assert_eq!(pair(s.from_venue("1INCHBTC")), p("1INCH/BTC", "1INCHBTC"));
        assert_eq!(pair(s.resolve("ETH/FDUSD")), p("ETH/FDUSD", "ETHFDUSD"));
        assert!(s.from_venue("USDT").is_none(), "no base");
        assert!(s.from_venue("BTCXYZ").is_none(), "unknown quote");
        assert!(s.from_venue("btcusdt").is_none(), "wrong case");
        assert!(s.resolve("BTC/XYZ").is_none(), "would not split back");
        let custom = Symbols::joined().quotes(["XYZ"]);
        assert_eq!(pair(custom.resolve("BTC/XYZ")), p("BTC/XYZ", "BTCXYZ"));
        assert!(custom.from_venue("BTCUSDT").is_none());
    }

    #[test]
    fn lower_case_venues() {
        let strict = Symbols::joined().case(Case::Lower);
        assert_eq!(pair(strict.resolve("BTC/USDT")), p("BTC/USDT", "btcusdt"));
        assert!(strict.from_venue("BTCUSDT").is_none());
        let any = strict.any_case();
        assert_eq!(pair(any.from_venue("BTCUSDT")), p("BTC/USDT", "btcusdt"));
        assert_eq!(pair(any.from_venue("btcusdt")), p("BTC/USDT", "btcusdt"));
    }

    #[test]
    fn the_filter_applies_to_resolve_only() {
        let allowed = AllowedSymbols::new(["ETH/USDT"]).unwrap();
        let s = Symbols::separated('_').allow(allowed);
        assert!(s.resolve("BTC/USDT").is_none());
        assert!(s.resolve("ETH/USDT").is_some());
        assert!(s.from_venue("BTC_USDT").is_some());
    }

    #[test]
    fn normalized_form() {
        assert!(is_normalized("BTC/USDT") && is_normalized("1INCH/USDT"));
        for bad in ["BTCUSDT", "btc/usdt", "/USDT", "BTC/", "A/B/C", "BTC_USDT"] {
            assert!(!is_normalized(bad), "{bad}");
        }
    }
}
