//! Binance spot public market streams: JSON websocket at `/ws` (live requests), `/ws/<stream>`
//! (one raw stream) and `/stream?streams=<a>/<b>` (combined, each frame wrapped as
//! `{"stream":..,"data":..}`); `<symbol>@bookTicker` and `<symbol>@trade`; no REST.

pub(crate) mod render;
pub(crate) mod ws;

/// The suffix of a symbol's book ticker stream (`btcusdt@bookTicker`).
pub(crate) const BOOK_TICKER: &str = "bookTicker";
/// The suffix of a symbol's trade stream (`btcusdt@trade`).
pub(crate) const TRADE: &str = "trade";

/// The stream name of `suffix` for a symbol spelled `BTCUSDT`: `btcusdt@<suffix>`.
pub(crate) fn stream(symbol: &str, suffix: &str) -> String {
    format!("{}@{suffix}", symbol.to_ascii_lowercase())
}
