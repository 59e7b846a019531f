//! MEXC spot v3: protobuf websocket at `/ws` (user data at `/ws?listenKey=..`), REST under
//! `/api/v3`.

pub mod proto;
pub(crate) mod render;
pub(crate) mod rest;
pub mod sign;
pub(crate) mod ws;

/// Private channel names.
pub(crate) const PRIVATE_ORDERS: &str = "spot@private.orders.v3.api.pb";
/// Private deals channel.
pub(crate) const PRIVATE_DEALS: &str = "spot@private.deals.v3.api.pb";
/// Private account channel.
pub(crate) const PRIVATE_ACCOUNT: &str = "spot@private.account.v3.api.pb";
