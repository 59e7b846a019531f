//! Order entry requests a consumer hands to a venue.

use abi_stable::std_types::RString;
use abi_stable::StableAbi;

use crate::{Instrument, Num, Side};

/// Limit or market.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OrderType {
    /// Rests at `price` until filled or cancelled.
    Limit,
    /// Fills against the book at once.
    Market,
}

/// A new order; the plugin turns it into a signed REST request with [`crate::Venue::place_order`].
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct NewOrder {
    /// The instrument.
    pub instrument: Instrument,
    /// Side.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Limit price (ignored for market orders).
    pub price: Num,
    /// Quantity in the base asset. Zero for a market buy sized by `quote_qty`.
    pub qty: Num,
    /// For a market buy only: the amount of the quote asset to spend, in place of `qty`
    /// (zero: sized by `qty`). A plugin refuses an order that sets both, or that sizes a
    /// market buy in a way its venue does not take.
    pub quote_qty: Num,
    /// Client order id (empty: none).
    pub client_id: RString,
}

/// An order an earlier build of an instance placed whose final state the host has not seen,
/// handed to the next build with [`crate::Venue::recover_orders`].
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct KnownOrder {
    /// The order as it was placed (its client id is never empty).
    pub order: NewOrder,
    /// The venue's order id, if an update carried one (empty otherwise).
    pub order_id: RString,
    /// When it was placed, milliseconds since the Unix epoch.
    pub placed_ms: u64,
}

/// A cancel request for one order.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct CancelOrder {
    /// The instrument.
    pub instrument: Instrument,
    /// The venue's order id.
    pub order_id: RString,
}
