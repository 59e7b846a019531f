//! The fast path of [`super::parse_frame`]: one pass over the bytes of the market-data frames
//! Gate.io sends most (`spot.book_ticker`, `spot.trades` and `spot.order_book_update`
//! updates), straight into the borrowed structs the reference parse would produce.
//!
//! It reads a strict subset of JSON — strings without escapes or control characters,
//! integers where integers are expected, scalars for the keys it skips — and `channel` and
//! `event` before `result`, as Gate sends them. For anything else it returns `None` and the
//! serde reference decides, so every outcome it gives is the reference's (the agreement
//! tests in `tests/one_pass.rs` hold it to that).

use abi_stable::std_types::RVec;
use plugin_api::{Level, Num};

use super::{Body, Frame, Levels, Raw, RawBookTicker, RawDepth, RawTrade};

/// The frame, if it is a hot market-data update in the subset this reader takes.
pub(super) fn frame(data: &[u8]) -> Option<Frame<'_>> {
    let text = std::str::from_utf8(data).ok()?;
    let mut c = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut frame = Frame {
        channel: None,
        event: None,
        time: None,
        time_ms: None,
        error: None,
        result: Body::Absent,
        header: None,
    };
    let mut seen = Seen::default();
    c.object(|c, key| match key {
        "channel" => {
            seen.first("channel")?;
            frame.channel = Some(c.string()?);
            Some(())
        }
        "event" => {
            seen.first("event")?;
            frame.event = Some(c.string()?);
            Some(())
        }
        "time" => {
            seen.first("time")?;
            frame.time = Some(c.integer()?);
            Some(())
        }
        "time_ms" => {
            seen.first("time_ms")?;
            frame.time_ms = Some(c.integer()?);
            Some(())
        }
        "result" => {
            seen.first("result")?;
            if !matches!(frame.event, Some("update" | "all")) {
                return None;
            }
            frame.result = match frame.channel? {
                "spot.book_ticker" => Body::BookTicker(book_ticker(c)?),
                "spot.trades" => Body::Trade(trade(c)?),
                "spot.order_book_update" => Body::Depth(depth(c)?),
                _ => return None,
            };
            Some(())
        }
        // Errors and API answers are rare: the reference reads them.
        "error" | "header" => None,
        _ => c.skip_scalar(),
    })?;
    c.end()?;
    if frame.result.is_absent() {
        return None;
    }
    Some(frame)
}

fn book_ticker<'a>(c: &mut Cursor<'a>) -> Option<RawBookTicker<'a>> {
    let (mut t, mut u, mut s) = (None, None, None);
    let (mut b, mut bq, mut a, mut aq) = (None, None, None, None);
    c.object(|c, key| match key {
        "t" => once(&mut t, c.integer()?),
        "u" => once(&mut u, c.integer()?),
        "s" => once(&mut s, c.string()?),
        "b" => once(&mut b, c.string()?),
        "B" => once(&mut bq, c.string()?),
        "a" => once(&mut a, c.string()?),
        "A" => once(&mut aq, c.string()?),
        _ => c.skip_scalar(),
    })?;
    Some(RawBookTicker {
        t,
        u: u?,
        s: s?,
        b: b?,
        bq: bq?,
        a: a?,
        aq: aq?,
    })
}

fn trade<'a>(c: &mut Cursor<'a>) -> Option<RawTrade<'a>> {
    let (mut id, mut create_time, mut create_time_ms) = (None, None, None);
    let (mut side, mut pair, mut amount, mut price) = (None, None, None, None);
    c.object(|c, key| match key {
        "id" => once(&mut id, c.raw_scalar()?),
        "create_time" => once(&mut create_time, c.integer()?),
        "create_time_ms" => once(&mut create_time_ms, c.raw_scalar()?),
        "side" => once(&mut side, c.string()?),
        "currency_pair" => once(&mut pair, c.string()?),
        "amount" => once(&mut amount, c.string()?),
        "price" => once(&mut price, c.string()?),
        _ => c.skip_scalar(),
    })?;
    Some(RawTrade {
        id: id?,
        create_time,
        create_time_ms,
        side: side?,
        currency_pair: pair?,
        amount: amount?,
        price: price?,
    })
}

fn depth<'a>(c: &mut Cursor<'a>) -> Option<RawDepth<'a>> {
    let (mut t, mut full, mut s, mut first, mut last) = (None, None, None, None, None);
    let (mut b, mut a) = (None, None);
    c.object(|c, key| match key {
        "t" => once(&mut t, c.integer()?),
        "full" => once(&mut full, c.boolean()?),
        "s" => once(&mut s, c.string()?),
        "U" => once(&mut first, c.integer()?),
        "u" => once(&mut last, c.integer()?),
        "b" => once(&mut b, c.levels()?),
        "a" => once(&mut a, c.levels()?),
        _ => c.skip_scalar(),
    })?;
    Some(RawDepth {
        t,
        full: full.unwrap_or(false),
        s: s?,
        first: first?,
        last: last?,
        b: Levels(b.unwrap_or_default()),
        a: Levels(a.unwrap_or_default()),
    })
}

/// Sets a field seen for the first time; a repeated key is the reference's to report.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// The envelope keys already read (each may appear once).
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn first(&mut self, key: &str) -> Option<()> {
        let bit = match key {
            "channel" => 1,
            "event" => 2,
            "time" => 4,
            "time_ms" => 8,
            _ => 16,
        };
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

/// A position in a frame known to be valid UTF-8.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next byte after JSON whitespace.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Nothing but whitespace left.
    fn end(&mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// An object, calling `field` with the cursor on each value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = self
            .bytes
            .get(start..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if self.bytes.get(start + len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// A non-negative integer that fits `u64`, as serde reads one into a `u64`.
    fn integer(&mut self) -> Option<u64> {
        self.peek()?;
        let start = self.at;
        let mut value: u64 = 0;
        let mut at = start;
        while let Some(&b) = self.bytes.get(at) {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
            at += 1;
        }
        let digits = at - start;
        if digits == 0 || (digits > 1 && self.bytes.get(start) == Some(&b'0')) {
            return None;
        }
        if matches!(self.bytes.get(at), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.at = at;
        Some(value)
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.literal("true").is_some() {
            return Some(true);
        }
        self.literal("false").map(|()| false)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.peek()?;
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word.as_bytes()).then(|| self.at = end)
    }

    /// A JSON number, checked against the grammar.
    fn number(&mut self) -> Option<()> {
        self.peek()?;
        let b = self.bytes;
        let mut at = self.at;
        let digits = |at: &mut usize| {
            let start = *at;
            while b.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > start
        };
        if b.get(at) == Some(&b'-') {
            at += 1;
        }
        match b.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => {
                digits(&mut at);
            }
            _ => return None,
        }
        if b.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return None;
            }
        }
        if matches!(b.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(b.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if !digits(&mut at) {
                return None;
            }
        }
        self.at = at;
        Some(())
    }

    /// A string or a number as its JSON text (a string keeps its quotes), like a raw value.
    fn raw_scalar(&mut self) -> Option<Raw<'a>> {
        let start = match self.peek()? {
            b'"' => {
                let start = self.at;
                self.string()?;
                start
            }
            _ => {
                let start = self.at;
                self.number()?;
                start
            }
        };
        self.text.get(start..self.at).map(Raw)
    }

    /// Skips a string, number, `true`, `false` or `null`; objects and arrays are left to
    /// the reference.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number(),
        }
    }

    /// `[["price","qty"], ...]` into exact levels.
    fn levels(&mut self) -> Option<RVec<Level>> {
        self.eat(b'[')?;
        let mut out = RVec::new();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(out);
        }
        loop {
            self.eat(b'[')?;
            let price = Num::parse(self.string()?).ok()?;
            self.eat(b',')?;
            let qty = Num::parse(self.string()?).ok()?;
            self.eat(b']')?;
            out.push(Level { price, qty });
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }
}
