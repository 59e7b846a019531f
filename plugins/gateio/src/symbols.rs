//! Symbol normalization: Gate.io's `BTC_USDT` ↔ the normalized `BTC/USDT`.

use plugin_api::{Instrument, Symbol, SYMBOL_CAPACITY};

fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Swaps the one separator `from` for `to`, checking both halves; no allocation.
fn convert(text: &str, from: u8, to: u8) -> Option<Symbol> {
    let bytes = text.as_bytes();
    if bytes.len() > SYMBOL_CAPACITY {
        return None;
    }
    let pos = bytes.iter().position(|&b| b == from)?;
    let (base, quote) = (text.get(..pos)?, text.get(pos + 1..)?);
    if !valid_part(base) || !valid_part(quote) {
        return None;
    }
    let mut buf = [0u8; SYMBOL_CAPACITY];
    let out = buf.get_mut(..bytes.len())?;
    out.copy_from_slice(bytes);
    if let Some(b) = out.get_mut(pos) {
        *b = to;
    }
    Symbol::new(std::str::from_utf8(out).ok()?)
}

/// The instrument for a Gate.io currency pair (`BTC_USDT`), or `None` if malformed.
pub fn from_venue(pair: &str) -> Option<Instrument> {
    let symbol = convert(pair, b'_', b'/')?;
    Some(Instrument {
        symbol,
        venue_symbol: Symbol::new(pair)?,
    })
}

/// The instrument for a normalized symbol (`BTC/USDT`), or `None` if malformed.
pub fn from_normalized(symbol: &str) -> Option<Instrument> {
    let venue_symbol = convert(symbol, b'/', b'_')?;
    Some(Instrument {
        symbol: Symbol::new(symbol)?,
        venue_symbol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let i = from_venue("BTC_USDT").unwrap();
        assert_eq!(i.symbol.as_str(), "BTC/USDT");
        assert_eq!(i.venue_symbol.as_str(), "BTC_USDT");
        assert_eq!(from_normalized("BTC/USDT").unwrap(), i);
        assert_eq!(
            from_venue("QTUM3S_USDT").unwrap().symbol.as_str(),
            "QTUM3S/USDT"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "BTCUSDT", "_USDT", "BTC_", "btc_usdt", "A_B_C", "BTC/USDT",
        ] {
            assert!(from_venue(bad).is_none(), "{bad}");
        }
        assert!(from_normalized("BTC_USDT").is_none());
        assert!(from_venue(&format!("{}_USDT", "A".repeat(40))).is_none());
    }
}
