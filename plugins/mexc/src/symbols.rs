//! Symbol metadata: MEXC's `BTCUSDT` ↔ the normalized `BTC/USDT`.
//!
//! MEXC glues base and quote together, so the venue spelling of a normalized symbol is always
//! `BASE + QUOTE`, but the way back needs metadata. It comes from the configuration first,
//! then from `GET /api/v3/exchangeInfo` (which never overrides a configured entry), and from
//! the subscriptions the host asks for (`BTC/USDT` tells us `BTCUSDT`).
//!
//! The kit's [`kit::Symbols::joined`] splits `BTCUSDT` on a list of known quote assets; MEXC
//! lists quotes that list lacks and the venue's own metadata is the authority, so the table
//! stays here and only the normalized-name check is the kit's.

use std::collections::HashMap;

use plugin_api::{kit, Instrument};
use serde::Deserialize;

/// Where a mapping came from; a configured one is never replaced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    /// The `symbols` setting.
    Config,
    /// A topic the host subscribed with its normalized name.
    Topic,
    /// The exchangeInfo response.
    ExchangeInfo,
}

/// The symbol table of one venue instance.
#[derive(Debug, Default, Clone)]
pub struct SymbolMap {
    by_venue: HashMap<String, (Instrument, Source)>,
    by_symbol: HashMap<String, String>,
}

impl SymbolMap {
    /// An empty table.
    pub fn new() -> SymbolMap {
        SymbolMap::default()
    }

    /// Adds `base`/`quote` traded as `venue_symbol`; returns false when the names do not fit
    /// an [`Instrument`] or when an entry from a stronger source already exists.
    pub fn insert(&mut self, venue_symbol: &str, base: &str, quote: &str, source: Source) -> bool {
        let venue_symbol = venue_symbol.to_ascii_uppercase();
        let normalized = format!(
            "{}/{}",
            base.to_ascii_uppercase(),
            quote.to_ascii_uppercase()
        );
        if let Some((_, existing)) = self.by_venue.get(&venue_symbol) {
            if *existing == Source::Config && source != Source::Config {
                return false;
            }
        }
        let Some(instrument) = Instrument::new(&normalized, &venue_symbol) else {
            return false;
        };
        self.by_symbol.insert(normalized, venue_symbol.clone());
        self.by_venue.insert(venue_symbol, (instrument, source));
        true
    }

    /// The instrument traded under MEXC's spelling (`BTCUSDT`).
    pub fn by_venue(&self, venue_symbol: &str) -> Option<Instrument> {
        self.by_venue.get(venue_symbol).map(|(i, _)| *i)
    }

    /// The instrument for a normalized name (`BTC/USDT`), known or derived.
    ///
    /// An unknown `BASE/QUOTE` still resolves (MEXC's spelling is the concatenation) so that
    /// subscribing works before exchangeInfo arrives; it is remembered as a [`Source::Topic`].
    pub fn resolve(&self, symbol: &str) -> Option<Instrument> {
        let upper = symbol.to_ascii_uppercase();
        if let Some(venue) = self.by_symbol.get(&upper) {
            return self.by_venue(venue);
        }
        let (base, quote) = split_normalized(&upper)?;
        Instrument::new(&upper, &format!("{base}{quote}"))
    }

    /// Learns the mapping behind a normalized name the host subscribed.
    pub fn learn(&mut self, symbol: &str) -> Option<Instrument> {
        let upper = symbol.to_ascii_uppercase();
        let (base, quote) = split_normalized(&upper)?;
        let venue = format!("{base}{quote}");
        if !self.by_venue.contains_key(&venue) {
            self.insert(&venue, base, quote, Source::Topic);
        }
        self.resolve(&upper)
    }

    /// Fills the table from an exchangeInfo body; returns how many entries were added or
    /// updated, or why the body could not be read.
    pub fn load_exchange_info(&mut self, body: &str) -> Result<usize, String> {
        let info: ExchangeInfo = serde_json::from_str(body)
            .map_err(|e| format!("exchangeInfo body: {}", crate::rest::short(&e.to_string())))?;
        let symbols = match info {
            ExchangeInfo::Wrapped { symbols } => symbols,
            ExchangeInfo::Single(one) => vec![one],
        };
        let mut added = 0;
        for s in symbols {
            if s.base_asset.is_empty() || s.quote_asset.is_empty() {
                continue;
            }
            if self.insert(
                &s.symbol,
                &s.base_asset,
                &s.quote_asset,
                Source::ExchangeInfo,
            ) {
                added += 1;
            }
        }
        Ok(added)
    }

    /// Number of known instruments.
    pub fn len(&self) -> usize {
        self.by_venue.len()
    }

    /// True when no instrument is known.
    pub fn is_empty(&self) -> bool {
        self.by_venue.is_empty()
    }
}

/// `BASE/QUOTE` split, if `symbol` is normalized ([`kit::is_normalized`]).
fn split_normalized(symbol: &str) -> Option<(&str, &str)> {
    if !kit::is_normalized(symbol) {
        return None;
    }
    symbol.split_once('/')
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ExchangeInfo {
    Wrapped { symbols: Vec<SymbolInfo> },
    Single(SymbolInfo),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SymbolInfo {
    symbol: String,
    #[serde(default)]
    base_asset: String,
    #[serde(default)]
    quote_asset: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_wins_over_exchange_info() {
        let mut map = SymbolMap::new();
        assert!(map.insert("BTCUSDT", "BTC", "USDT", Source::Config));
        let body = r#"{"timezone":"CST","serverTime":1,"symbols":[
            {"symbol":"BTCUSDT","baseAsset":"XBT","quoteAsset":"USDT"},
            {"symbol":"TOMO3LUSDT","status":"ENABLED","baseAsset":"TOMO3L","quoteAsset":"USDT"}]}"#;
        assert_eq!(map.load_exchange_info(body), Ok(1));
        assert_eq!(map.by_venue("BTCUSDT").unwrap().symbol.as_str(), "BTC/USDT");
        let tomo = map.by_venue("TOMO3LUSDT").unwrap();
        assert_eq!(tomo.symbol.as_str(), "TOMO3L/USDT");
        assert_eq!(map.resolve("tomo3l/usdt"), Some(tomo));
    }

    #[test]
    fn single_symbol_doc_shape_and_garbage() {
        let mut map = SymbolMap::new();
        let body = r#"{"symbol":"MXUSDT","baseAsset":"MX","quoteAsset":"USDT"}"#;
        assert_eq!(map.load_exchange_info(body), Ok(1));
        assert!(map.load_exchange_info("not json").is_err());
    }

    #[test]
    fn resolve_derives_and_learn_remembers() {
        let mut map = SymbolMap::new();
        let sol = map.resolve("SOL/USDC").unwrap();
        assert_eq!(sol.venue_symbol.as_str(), "SOLUSDC");
        assert!(map.by_venue("SOLUSDC").is_none());
        map.learn("SOL/USDC");
        assert_eq!(map.by_venue("SOLUSDC"), Some(sol));
        assert!(map.resolve("SOLUSDC").is_none());
        assert!(map.resolve("/USDT").is_none());
    }
}
