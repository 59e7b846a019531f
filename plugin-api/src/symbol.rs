//! Instrument names as small inline strings, so events carry no allocation for them.

use std::fmt;

use abi_stable::StableAbi;

/// The longest symbol a [`Symbol`] holds, in bytes.
pub const SYMBOL_CAPACITY: usize = 31;

/// A short symbol stored inline (no heap, `Copy`), such as `BTC/USDT` or `BTC_USDT`.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol {
    len: u8,
    bytes: [u8; SYMBOL_CAPACITY],
}

impl Symbol {
    /// The empty symbol (used where an event concerns no instrument).
    pub const EMPTY: Symbol = Symbol {
        len: 0,
        bytes: [0; SYMBOL_CAPACITY],
    };

    /// Builds a symbol; `None` when `text` is longer than [`SYMBOL_CAPACITY`] bytes.
    pub fn new(text: &str) -> Option<Symbol> {
        let len = text.len();
        if len > SYMBOL_CAPACITY {
            return None;
        }
        let mut bytes = [0; SYMBOL_CAPACITY];
        bytes[..len].copy_from_slice(text.as_bytes());
        Some(Symbol {
            len: len as u8,
            bytes,
        })
    }

    /// The symbol text.
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.len).min(SYMBOL_CAPACITY);
        // Only `new` writes the bytes, from a `&str`, so they are valid UTF-8; fall back to
        // "" rather than panic if a foreign plugin filled the struct with garbage.
        std::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }

    /// True for [`Symbol::EMPTY`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Symbol {
    fn default() -> Self {
        Symbol::EMPTY
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// An instrument: the normalized name (`BASE/QUOTE`) with the venue's own spelling alongside.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Instrument {
    /// Normalized name, `BASE/QUOTE` in upper case, e.g. `BTC/USDT`.
    pub symbol: Symbol,
    /// The venue's spelling, e.g. `BTC_USDT` (Gate.io) or `BTCUSDT` (MEXC).
    pub venue_symbol: Symbol,
}

impl Instrument {
    /// Builds an instrument from both spellings; `None` if either is too long.
    pub fn new(symbol: &str, venue_symbol: &str) -> Option<Instrument> {
        Some(Instrument {
            symbol: Symbol::new(symbol)?,
            venue_symbol: Symbol::new(venue_symbol)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_up_to_capacity() {
        let s = "A".repeat(SYMBOL_CAPACITY);
        assert_eq!(Symbol::new(&s).unwrap().as_str(), s);
        assert!(Symbol::new(&format!("{s}B")).is_none());
        assert_eq!(Symbol::new("BTC/USDT").unwrap().to_string(), "BTC/USDT");
    }
}
