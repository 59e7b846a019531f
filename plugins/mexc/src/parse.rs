//! Pure decoding of binary pushes into normalized events (no state, no I/O).
//!
//! One frame is one `PushDataV3ApiWrapper`. Prices and sizes are parsed exactly with
//! [`Num::parse`]; the wrapper's `sendTime` (else `createTime`) becomes
//! [`Stamp::venue_ts_ms`]; versions become update ids. Incremental depth is returned as a
//! [`DepthPush`] for the caller's sync state machine ([`crate::book`]).

use abi_stable::std_types::RVec;
use plugin_api::{
    Balance, BookTicker, DepthUpdate, Event, Fill, Instrument, Level, Num, OrderStatus,
    OrderUpdate, Side, Stamp, Trade,
};
use prost::Message;

use crate::proto::{self, Body, PushDataV3ApiWrapper};
use crate::symbols::SymbolMap;

/// Reason for frames that are not a valid protobuf push.
pub const MALFORMED: &str = "malformed";
/// Reason for pushes of channels this plugin does not turn into events.
pub const UNSUPPORTED_CHANNEL: &str = "unsupported_channel";
/// Reason for pushes about instruments missing from the symbol table.
pub const UNKNOWN_SYMBOL: &str = "unknown_symbol";

/// A decoded push.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// Events ready to deliver.
    Events(Vec<Event>),
    /// An incremental depth push that must go through the book synchronizer.
    AggreDepth(DepthPush),
}

/// One `spot@public.aggre.depth` push (body 313).
#[derive(Clone, Debug, PartialEq)]
pub struct DepthPush {
    /// The instrument.
    pub instrument: Instrument,
    /// `fromVersion`.
    pub from: u64,
    /// `toVersion`.
    pub to: u64,
    /// Bid levels (absolute quantities; zero removes).
    pub bids: RVec<Level>,
    /// Ask levels.
    pub asks: RVec<Level>,
    /// Times.
    pub stamp: Stamp,
}

impl DepthPush {
    /// The push as an incremental [`DepthUpdate`].
    pub fn into_update(self) -> DepthUpdate {
        DepthUpdate {
            instrument: self.instrument,
            snapshot: false,
            first_id: self.from,
            last_id: self.to,
            bids: self.bids,
            asks: self.asks,
            stamp: self.stamp,
        }
    }
}

/// Why a push was dropped: a stable `reason` plus a short detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// `malformed`, `unsupported_channel`, `unknown_symbol`.
    pub reason: &'static str,
    /// Detail for the log.
    pub detail: String,
}

impl DecodeError {
    fn new(reason: &'static str, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            reason,
            detail: detail.into().chars().take(300).collect(),
        }
    }

    fn malformed(detail: impl Into<String>) -> DecodeError {
        DecodeError::new(MALFORMED, detail)
    }
}

/// Decodes one binary frame.
pub fn decode(data: &[u8], symbols: &SymbolMap, received_ns: u64) -> Result<Decoded, DecodeError> {
    let wrapper = PushDataV3ApiWrapper::decode(data)
        .map_err(|e| DecodeError::malformed(format!("protobuf: {e}")))?;
    let stamp = Stamp {
        venue_ts_ms: wrapper
            .send_time
            .or(wrapper.create_time)
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(0),
        received_ns,
    };
    let channel = wrapper.channel;
    let Some(body) = wrapper.body else {
        return Err(DecodeError::new(
            UNSUPPORTED_CHANNEL,
            format!("no supported body on channel {channel:?}"),
        ));
    };
    let symbol = wrapper.symbol.unwrap_or_default();
    let instrument = || instrument(symbols, &symbol, &channel);
    let events = match body {
        Body::PublicAggreBookTicker(b) => vec![Event::BookTicker(BookTicker {
            instrument: instrument()?,
            bid_price: num(&b.bid_price, "bidPrice")?,
            bid_qty: num(&b.bid_quantity, "bidQuantity")?,
            ask_price: num(&b.ask_price, "askPrice")?,
            ask_qty: num(&b.ask_quantity, "askQuantity")?,
            update_id: version(&b.version, "version", false)?,
            stamp,
        })],
        Body::PublicAggreDeals(b) => {
            let instrument = instrument()?;
            let mut events = Vec::with_capacity(b.deals.len());
            for d in b.deals {
                events.push(Event::Trade(Trade {
                    instrument,
                    price: num(&d.price, "price")?,
                    qty: num(&d.quantity, "quantity")?,
                    side: side(d.trade_type)?,
                    trade_id: d.trade_id.into(),
                    trade_ts_ms: u64::try_from(d.time).unwrap_or(0),
                    stamp,
                }));
            }
            events
        }
        Body::PublicLimitDepths(b) => vec![Event::Depth(DepthUpdate {
            instrument: instrument()?,
            snapshot: true,
            first_id: version(&b.version, "version", false)?,
            last_id: version(&b.version, "version", false)?,
            bids: levels(b.bids.iter().map(|l| (&l.price, &l.quantity)))?,
            asks: levels(b.asks.iter().map(|l| (&l.price, &l.quantity)))?,
            stamp,
        })],
        Body::PublicAggreDepths(b) => {
            let from = version(&b.from_version, "fromVersion", true)?;
            let to = version(&b.to_version, "toVersion", true)?;
            if from > to {
                return Err(DecodeError::malformed(format!(
                    "fromVersion {from} > toVersion {to}"
                )));
            }
            return Ok(Decoded::AggreDepth(DepthPush {
                instrument: instrument()?,
                from,
                to,
                bids: levels(b.bids.iter().map(|l| (&l.price, &l.quantity)))?,
                asks: levels(b.asks.iter().map(|l| (&l.price, &l.quantity)))?,
                stamp,
            }));
        }
        Body::PrivateOrders(o) => vec![Event::Order(order(o, instrument()?, stamp)?)],
        Body::PrivateDeals(d) => vec![Event::Fill(Fill {
            instrument: instrument()?,
            order_id: d.order_id.into(),
            trade_id: d.trade_id.into(),
            side: side(d.trade_type)?,
            price: num(&d.price, "price")?,
            qty: num(&d.quantity, "quantity")?,
            fee: num_or_zero(&d.fee_amount, "feeAmount")?,
            fee_asset: d.fee_currency.into(),
            trade_ts_ms: u64::try_from(d.time).unwrap_or(0),
            stamp,
        })],
        Body::PrivateAccount(a) => vec![Event::Balance(Balance {
            available: num(&a.balance_amount, "balanceAmount")?,
            locked: num_or_zero(&a.frozen_amount, "frozenAmount")?,
            asset: a.vcoin_name.into(),
            stamp,
        })],
        Body::PublicSpotKline(_) => {
            return Err(DecodeError::new(
                UNSUPPORTED_CHANNEL,
                format!("kline has no normalized stream: {channel:?}"),
            ))
        }
    };
    Ok(Decoded::Events(events))
}

fn order(
    o: proto::PrivateOrdersV3Api,
    instrument: Instrument,
    stamp: Stamp,
) -> Result<OrderUpdate, DecodeError> {
    let status = match o.status {
        1 | 3 => OrderStatus::Open,
        2 => OrderStatus::Filled,
        4 | 5 => OrderStatus::Cancelled,
        other => return Err(DecodeError::malformed(format!("order status {other}"))),
    };
    Ok(OrderUpdate {
        instrument,
        side: side(o.trade_type)?,
        price: num_or_zero(&o.price, "price")?,
        qty: num_or_zero(&o.quantity, "quantity")?,
        filled_qty: num_or_zero(&o.cumulative_quantity, "cumulativeQuantity")?,
        status,
        order_id: o.id.into(),
        client_id: o.client_id.into(),
        stamp,
    })
}

/// The instrument of a push: the wrapper's `symbol`, else a known symbol in the channel.
fn instrument(symbols: &SymbolMap, symbol: &str, channel: &str) -> Result<Instrument, DecodeError> {
    if !symbol.is_empty() {
        return symbols.by_venue(symbol).ok_or_else(|| {
            DecodeError::new(UNKNOWN_SYMBOL, format!("{symbol:?} has no symbol metadata"))
        });
    }
    channel
        .split('@')
        .find_map(|part| symbols.by_venue(part))
        .ok_or_else(|| DecodeError::new(UNKNOWN_SYMBOL, format!("no known symbol in {channel:?}")))
}

fn num(text: &str, field: &str) -> Result<Num, DecodeError> {
    Num::parse(text).map_err(|e| DecodeError::malformed(format!("{field}: {e}")))
}

fn num_or_zero(text: &str, field: &str) -> Result<Num, DecodeError> {
    if text.is_empty() {
        Ok(Num::ZERO)
    } else {
        num(text, field)
    }
}

/// A version string; empty is 0 unless `required`.
fn version(text: &str, field: &str, required: bool) -> Result<u64, DecodeError> {
    if text.is_empty() && !required {
        return Ok(0);
    }
    text.parse::<u64>()
        .map_err(|_| DecodeError::malformed(format!("{field}: not a version: {text:?}")))
}

fn side(trade_type: i32) -> Result<Side, DecodeError> {
    match trade_type {
        1 => Ok(Side::Buy),
        2 => Ok(Side::Sell),
        other => Err(DecodeError::malformed(format!("tradeType {other}"))),
    }
}

fn levels<'a>(
    items: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<RVec<Level>, DecodeError> {
    let mut out = RVec::new();
    for (price, qty) in items {
        out.push(Level {
            price: num(price, "price")?,
            qty: num(qty, "quantity")?,
        });
    }
    Ok(out)
}
