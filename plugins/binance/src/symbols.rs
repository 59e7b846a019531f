//! Symbols: the normalized `BTC/USDT` ↔ Binance's `BTCUSDT` (REST, payloads) and `btcusdt`
//! (stream names).

use plugin_api::Instrument;

/// The instrument for a normalized `BASE/QUOTE` (upper-case letters and digits), or `None`.
pub fn from_normalized(symbol: &str) -> Option<Instrument> {
    let (base, quote) = symbol.split_once('/')?;
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if !part(base) || !part(quote) {
        return None;
    }
    Instrument::new(symbol, &format!("{base}{quote}"))
}

/// The stream name of `kind_suffix` (`bookTicker`, `trade`) for a venue symbol: `btcusdt@trade`.
pub fn stream_name(venue_symbol: &str, kind_suffix: &str) -> String {
    format!("{}@{kind_suffix}", venue_symbol.to_ascii_lowercase())
}
