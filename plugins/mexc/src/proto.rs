//! Hand-written `prost` messages for MEXC's protobuf websocket pushes.
//!
//! Transcribed field by field (numbers, types, `optional`, `repeated`) from the official
//! schema files vendored in `tests/fixtures/venues/mexc/proto/`:
//! `PushDataV3ApiWrapper.proto`, `PublicAggreBookTickerV3Api.proto`,
//! `PublicAggreDealsV3Api.proto`, `PublicAggreDepthsV3Api.proto`,
//! `PublicLimitDepthsV3Api.proto`, `PublicSpotKlineV3Api.proto`,
//! `PrivateOrdersV3Api.proto`, `PrivateDealsV3Api.proto` and `PrivateAccountV3Api.proto`
//! from github.com/mexcdevelop/websocket-proto @ 7b8ac7a6681f28551612a5a7cefbb7e09b56bb85,
//! Copyright MEXC, licensed under the Apache License, Version 2.0 (see
//! `tests/fixtures/venues/mexc/proto/LICENSE`). No `protoc` is needed.
//!
//! Only the bodies this plugin uses are declared. A push whose body is one of the others
//! (301, 302, 305, 309..312) decodes with `body == None`; the caller reports it as an
//! unsupported channel. Field names keep the schema's names in snake case.

#![allow(missing_docs)] // one-to-one with the documented .proto files above

/// `PushDataV3ApiWrapper`: the envelope of every binary push.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushDataV3ApiWrapper {
    /// Channel name, e.g. `spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT`.
    #[prost(string, tag = "1")]
    pub channel: String,
    /// The `oneof body`, dispatched by field number.
    #[prost(oneof = "Body", tags = "303, 304, 306, 307, 308, 313, 314, 315")]
    pub body: Option<Body>,
    /// Trading pair, venue spelling (`BTCUSDT`).
    #[prost(string, optional, tag = "3")]
    pub symbol: Option<String>,
    /// Trading pair id.
    #[prost(string, optional, tag = "4")]
    pub symbol_id: Option<String>,
    /// Message creation time, ms.
    #[prost(int64, optional, tag = "5")]
    pub create_time: Option<i64>,
    /// Message send time, ms.
    #[prost(int64, optional, tag = "6")]
    pub send_time: Option<i64>,
}

/// The wrapper's `oneof body` (only the variants this plugin uses).
///
/// Variants are not boxed: a push is decoded once and consumed at once, so the size
/// difference costs a stack copy, not heap traffic.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Body {
    #[prost(message, tag = "303")]
    PublicLimitDepths(PublicLimitDepthsV3Api),
    #[prost(message, tag = "304")]
    PrivateOrders(PrivateOrdersV3Api),
    #[prost(message, tag = "306")]
    PrivateDeals(PrivateDealsV3Api),
    #[prost(message, tag = "307")]
    PrivateAccount(PrivateAccountV3Api),
    #[prost(message, tag = "308")]
    PublicSpotKline(PublicSpotKlineV3Api),
    #[prost(message, tag = "313")]
    PublicAggreDepths(PublicAggreDepthsV3Api),
    #[prost(message, tag = "314")]
    PublicAggreDeals(PublicAggreDealsV3Api),
    #[prost(message, tag = "315")]
    PublicAggreBookTicker(PublicAggreBookTickerV3Api),
}

/// `PublicAggreBookTickerV3Api` (body 315).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreBookTickerV3Api {
    #[prost(string, tag = "1")]
    pub bid_price: String,
    #[prost(string, tag = "2")]
    pub bid_quantity: String,
    #[prost(string, tag = "3")]
    pub ask_price: String,
    #[prost(string, tag = "4")]
    pub ask_quantity: String,
    #[prost(string, tag = "5")]
    pub version: String,
    #[prost(int64, tag = "6")]
    pub last_order_create_time: i64,
}

/// `PublicAggreDealsV3Api` (body 314).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDealsV3Api {
    #[prost(message, repeated, tag = "1")]
    pub deals: Vec<PublicAggreDealsV3ApiItem>,
    #[prost(string, tag = "2")]
    pub event_type: String,
}

/// `PublicAggreDealsV3ApiItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDealsV3ApiItem {
    #[prost(string, tag = "1")]
    pub price: String,
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// 1 buy, 2 sell.
    #[prost(int32, tag = "3")]
    pub trade_type: i32,
    #[prost(int64, tag = "4")]
    pub time: i64,
    #[prost(string, tag = "5")]
    pub trade_id: String,
}

/// `PublicAggreDepthsV3Api` (body 313).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDepthsV3Api {
    #[prost(message, repeated, tag = "1")]
    pub asks: Vec<PublicAggreDepthV3ApiItem>,
    #[prost(message, repeated, tag = "2")]
    pub bids: Vec<PublicAggreDepthV3ApiItem>,
    #[prost(string, tag = "3")]
    pub event_type: String,
    #[prost(string, tag = "4")]
    pub from_version: String,
    #[prost(string, tag = "5")]
    pub to_version: String,
    #[prost(int64, tag = "6")]
    pub last_order_create_time: i64,
}

/// `PublicAggreDepthV3ApiItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicAggreDepthV3ApiItem {
    #[prost(string, tag = "1")]
    pub price: String,
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// `PublicLimitDepthsV3Api` (body 303).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicLimitDepthsV3Api {
    #[prost(message, repeated, tag = "1")]
    pub asks: Vec<PublicLimitDepthV3ApiItem>,
    #[prost(message, repeated, tag = "2")]
    pub bids: Vec<PublicLimitDepthV3ApiItem>,
    #[prost(string, tag = "3")]
    pub event_type: String,
    #[prost(string, tag = "4")]
    pub version: String,
    #[prost(int64, tag = "5")]
    pub last_order_create_time: i64,
}

/// `PublicLimitDepthV3ApiItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicLimitDepthV3ApiItem {
    #[prost(string, tag = "1")]
    pub price: String,
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// `PublicSpotKlineV3Api` (body 308); decoded only to be recognized and reported.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PublicSpotKlineV3Api {
    #[prost(string, tag = "1")]
    pub interval: String,
    /// Seconds, not milliseconds.
    #[prost(int64, tag = "2")]
    pub window_start: i64,
    #[prost(string, tag = "3")]
    pub opening_price: String,
    #[prost(string, tag = "4")]
    pub closing_price: String,
    #[prost(string, tag = "5")]
    pub highest_price: String,
    #[prost(string, tag = "6")]
    pub lowest_price: String,
    #[prost(string, tag = "7")]
    pub volume: String,
    #[prost(string, tag = "8")]
    pub amount: String,
    /// Seconds, not milliseconds.
    #[prost(int64, tag = "9")]
    pub window_end: i64,
}

/// `PrivateOrdersV3Api` (body 304).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrivateOrdersV3Api {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub client_id: String,
    #[prost(string, tag = "3")]
    pub price: String,
    #[prost(string, tag = "4")]
    pub quantity: String,
    #[prost(string, tag = "5")]
    pub amount: String,
    #[prost(string, tag = "6")]
    pub avg_price: String,
    #[prost(int32, tag = "7")]
    pub order_type: i32,
    /// 1 buy, 2 sell.
    #[prost(int32, tag = "8")]
    pub trade_type: i32,
    #[prost(bool, tag = "9")]
    pub is_maker: bool,
    #[prost(string, tag = "10")]
    pub remain_amount: String,
    #[prost(string, tag = "11")]
    pub remain_quantity: String,
    #[prost(string, optional, tag = "12")]
    pub last_deal_quantity: Option<String>,
    #[prost(string, tag = "13")]
    pub cumulative_quantity: String,
    #[prost(string, tag = "14")]
    pub cumulative_amount: String,
    /// 1 new, 2 filled, 3 partially filled, 4 cancelled, 5 partially cancelled.
    #[prost(int32, tag = "15")]
    pub status: i32,
    #[prost(int64, tag = "16")]
    pub create_time: i64,
    #[prost(string, optional, tag = "17")]
    pub market: Option<String>,
    #[prost(int32, optional, tag = "18")]
    pub trigger_type: Option<i32>,
    #[prost(string, optional, tag = "19")]
    pub trigger_price: Option<String>,
    #[prost(int32, optional, tag = "20")]
    pub state: Option<i32>,
    #[prost(string, optional, tag = "21")]
    pub oco_id: Option<String>,
    #[prost(string, optional, tag = "22")]
    pub route_factor: Option<String>,
    #[prost(string, optional, tag = "23")]
    pub symbol_id: Option<String>,
    #[prost(string, optional, tag = "24")]
    pub market_id: Option<String>,
    #[prost(string, optional, tag = "25")]
    pub market_currency_id: Option<String>,
    #[prost(string, optional, tag = "26")]
    pub currency_id: Option<String>,
}

/// `PrivateDealsV3Api` (body 306).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrivateDealsV3Api {
    #[prost(string, tag = "1")]
    pub price: String,
    #[prost(string, tag = "2")]
    pub quantity: String,
    #[prost(string, tag = "3")]
    pub amount: String,
    /// 1 buy, 2 sell.
    #[prost(int32, tag = "4")]
    pub trade_type: i32,
    #[prost(bool, tag = "5")]
    pub is_maker: bool,
    #[prost(bool, tag = "6")]
    pub is_self_trade: bool,
    #[prost(string, tag = "7")]
    pub trade_id: String,
    #[prost(string, tag = "8")]
    pub client_order_id: String,
    #[prost(string, tag = "9")]
    pub order_id: String,
    #[prost(string, tag = "10")]
    pub fee_amount: String,
    #[prost(string, tag = "11")]
    pub fee_currency: String,
    #[prost(int64, tag = "12")]
    pub time: i64,
}

/// `PrivateAccountV3Api` (body 307).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrivateAccountV3Api {
    #[prost(string, tag = "1")]
    pub vcoin_name: String,
    #[prost(string, tag = "2")]
    pub coin_id: String,
    #[prost(string, tag = "3")]
    pub balance_amount: String,
    #[prost(string, tag = "4")]
    pub balance_amount_change: String,
    #[prost(string, tag = "5")]
    pub frozen_amount: String,
    #[prost(string, tag = "6")]
    pub frozen_amount_change: String,
    #[prost(string, tag = "7")]
    pub r#type: String,
    #[prost(int64, tag = "8")]
    pub time: i64,
}
