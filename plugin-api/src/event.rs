//! Normalized market and account events that plugins produce and the host delivers.

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

use crate::{Instrument, Num};

/// Which stream an event or a subscription belongs to.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum StreamKind {
    /// Best bid and offer.
    BookTicker,
    /// Public trades.
    Trades,
    /// Order-book depth (snapshots and incremental updates, already sequenced by the plugin).
    Depth,
    /// The account's order updates (private).
    Orders,
    /// The account's fills (private).
    Fills,
    /// The account's balances (private).
    Balances,
}

impl StreamKind {
    /// Every kind, in declaration order.
    pub const ALL: [StreamKind; 6] = [
        StreamKind::BookTicker,
        StreamKind::Trades,
        StreamKind::Depth,
        StreamKind::Orders,
        StreamKind::Fills,
        StreamKind::Balances,
    ];

    /// True for streams that need credentials.
    pub fn is_private(self) -> bool {
        matches!(
            self,
            StreamKind::Orders | StreamKind::Fills | StreamKind::Balances
        )
    }

    /// Lower-case name used in configuration files and logs (`book_ticker`, `trades`, ...).
    pub fn name(self) -> &'static str {
        match self {
            StreamKind::BookTicker => "book_ticker",
            StreamKind::Trades => "trades",
            StreamKind::Depth => "depth",
            StreamKind::Orders => "orders",
            StreamKind::Fills => "fills",
            StreamKind::Balances => "balances",
        }
    }

    /// The inverse of [`StreamKind::name`].
    pub fn from_name(name: &str) -> Option<StreamKind> {
        StreamKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Buy or sell, from the taker's (trades) or the account's (orders, fills) point of view.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Times and sequence numbers every event carries.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Stamp {
    /// The venue's event time in milliseconds since the Unix epoch (0 if the venue sent none).
    pub venue_ts_ms: u64,
    /// When the host received the frame, nanoseconds since the Unix epoch (set from the
    /// `received_ns` the host passes to [`crate::Venue::on_frame`]). Frames the host found
    /// buffered together share the time the first of them was ready.
    pub received_ns: u64,
}

/// Best bid and offer.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct BookTicker {
    /// The instrument.
    pub instrument: Instrument,
    /// Best bid price.
    pub bid_price: Num,
    /// Size at the best bid.
    pub bid_qty: Num,
    /// Best ask price.
    pub ask_price: Num,
    /// Size at the best ask.
    pub ask_qty: Num,
    /// The venue's book update id or version (0 if none).
    pub update_id: u64,
    /// Times.
    pub stamp: Stamp,
}

/// One public trade.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct Trade {
    /// The instrument.
    pub instrument: Instrument,
    /// The venue's trade id, as the venue spells it.
    pub trade_id: RString,
    /// Price.
    pub price: Num,
    /// Quantity in the base asset.
    pub qty: Num,
    /// The taker's side.
    pub side: Side,
    /// When the venue says the trade happened, in milliseconds since the Unix epoch (0 if
    /// it does not say). `stamp.venue_ts_ms` is the time of the message that carried it.
    pub trade_ts_ms: u64,
    /// Times.
    pub stamp: Stamp,
}

/// One price level: an absolute quantity (zero removes the level).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Level {
    /// Price.
    pub price: Num,
    /// Absolute quantity at that price; zero means remove.
    pub qty: Num,
}

/// A depth change the plugin has already checked for sequence continuity.
///
/// With `snapshot == true` the levels replace the whole book; otherwise they patch it.
/// `first_id..=last_id` is the venue's update-id range this message covers.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct DepthUpdate {
    /// The instrument.
    pub instrument: Instrument,
    /// True when the levels are a full book that replaces the local one.
    pub snapshot: bool,
    /// First venue update id covered (`U`, `fromVersion`).
    pub first_id: u64,
    /// Last venue update id covered (`u`, `toVersion`, `lastUpdateId`).
    pub last_id: u64,
    /// Bid levels.
    pub bids: RVec<Level>,
    /// Ask levels.
    pub asks: RVec<Level>,
    /// Times.
    pub stamp: Stamp,
}

/// The life-cycle state of an order.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OrderStatus {
    /// Accepted and resting (possibly partially filled).
    Open,
    /// Completely filled.
    Filled,
    /// Cancelled (possibly after partial fills).
    Cancelled,
    /// Refused by the venue: the order was never placed.
    Rejected,
    /// The venue did not say: the order may or may not exist. A plugin reports it when the
    /// answer to a place was lost (a 5xx or a timeout) and looking the order up did not settle
    /// it either. Not final: a later update for the same client id may still arrive.
    Unknown,
}

/// An update to one of the account's orders.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct OrderUpdate {
    /// The instrument.
    pub instrument: Instrument,
    /// The venue's order id.
    pub order_id: RString,
    /// The client order id, if the order had one (empty otherwise).
    pub client_id: RString,
    /// Side.
    pub side: Side,
    /// Limit price (zero for market orders).
    pub price: Num,
    /// Ordered quantity.
    pub qty: Num,
    /// Quantity filled so far.
    pub filled_qty: Num,
    /// Current state.
    pub status: OrderStatus,
    /// Times.
    pub stamp: Stamp,
}

/// One fill of one of the account's orders.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct Fill {
    /// The instrument.
    pub instrument: Instrument,
    /// The venue's order id.
    pub order_id: RString,
    /// The venue's trade id.
    pub trade_id: RString,
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Num,
    /// Quantity.
    pub qty: Num,
    /// Fee charged.
    pub fee: Num,
    /// Asset the fee was charged in.
    pub fee_asset: RString,
    /// When the venue says the fill happened, in milliseconds since the Unix epoch (0 if it
    /// does not say). `stamp.venue_ts_ms` is the time of the message that carried it.
    pub trade_ts_ms: u64,
    /// Times.
    pub stamp: Stamp,
}

/// The account's balance of one asset.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct Balance {
    /// Asset, e.g. `USDT`.
    pub asset: RString,
    /// Free to use.
    pub available: Num,
    /// Locked in open orders.
    pub locked: Num,
    /// Times.
    pub stamp: Stamp,
}

/// Why a stream has a gap.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub enum GapReason {
    /// The connection carrying the stream was lost or rotated; data in between is missing.
    Reconnect,
    /// A sequence id was skipped; the plugin is resynchronizing (a snapshot follows).
    SequenceGap,
    /// The instance behind the stream was rebuilt: its plugin reloaded, restarted after
    /// a fault, or restarted with new settings.
    Reload,
}

/// An explicit hole in a stream: consumers must not assume continuity across it.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct Gap {
    /// The instrument (empty symbol: every instrument of the kind).
    pub instrument: Instrument,
    /// The stream kind affected.
    pub kind: StreamKind,
    /// Why.
    pub reason: GapReason,
    /// Last id seen before the gap (0 if unknown).
    pub last_id: u64,
    /// Times.
    pub stamp: Stamp,
}

/// A normalized event.
#[repr(u8)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub enum Event {
    /// Best bid and offer.
    BookTicker(BookTicker),
    /// A public trade.
    Trade(Trade),
    /// A depth snapshot or update.
    Depth(DepthUpdate),
    /// An order update.
    Order(OrderUpdate),
    /// A fill.
    Fill(Fill),
    /// A balance.
    Balance(Balance),
    /// A gap in a stream.
    Gap(Gap),
}

impl Event {
    /// The stream this event belongs to.
    pub fn kind(&self) -> StreamKind {
        match self {
            Event::BookTicker(_) => StreamKind::BookTicker,
            Event::Trade(_) => StreamKind::Trades,
            Event::Depth(_) => StreamKind::Depth,
            Event::Order(_) => StreamKind::Orders,
            Event::Fill(_) => StreamKind::Fills,
            Event::Balance(_) => StreamKind::Balances,
            Event::Gap(g) => g.kind,
        }
    }

    /// The instrument, or `None` for account-wide events (balances).
    pub fn instrument(&self) -> Option<&Instrument> {
        match self {
            Event::BookTicker(e) => Some(&e.instrument),
            Event::Trade(e) => Some(&e.instrument),
            Event::Depth(e) => Some(&e.instrument),
            Event::Order(e) => Some(&e.instrument),
            Event::Fill(e) => Some(&e.instrument),
            Event::Balance(_) => None,
            Event::Gap(e) => Some(&e.instrument),
        }
    }
}
