//! MEXC spot v3 websocket push schema as prost messages, transcribed by hand from the official
//! `.proto` files in `tests/fixtures/venues/mexc/proto` (mexcdevelop/websocket-proto @ 7b8ac7a).
//!
//! Each field's doc gives its declaration in the schema (`type name = number`); field names are
//! the schema's lowerCamelCase names in snake_case. No protoc or build script is involved, so
//! other crates (e.g. the MEXC plugin's tests) can depend on these definitions directly.
//!
//! Every data push is one binary websocket frame holding a [`PushDataV3ApiWrapper`]; the
//! `body` oneof number says what it carries (see [`push_data_v3_api_wrapper::Body`]).

/// `PushDataV3ApiWrapper` from `PushDataV3ApiWrapper.proto`: the envelope of every push.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PushDataV3ApiWrapper {
    /// `string channel = 1`: the subscribed channel name.
    #[prost(string, tag = "1")]
    pub channel: ::prost::alloc::string::String,
    /// `optional string symbol = 3`.
    #[prost(string, optional, tag = "3")]
    pub symbol: ::core::option::Option<::prost::alloc::string::String>,
    /// `optional string symbolId = 4`.
    #[prost(string, optional, tag = "4")]
    pub symbol_id: ::core::option::Option<::prost::alloc::string::String>,
    /// `optional int64 createTime = 5`: message creation time, ms.
    #[prost(int64, optional, tag = "5")]
    pub create_time: ::core::option::Option<i64>,
    /// `optional int64 sendTime = 6`: message push time, ms.
    #[prost(int64, optional, tag = "6")]
    pub send_time: ::core::option::Option<i64>,
    /// `oneof body` (fields 301..=315).
    #[prost(
        oneof = "push_data_v3_api_wrapper::Body",
        tags = "301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315"
    )]
    pub body: ::core::option::Option<push_data_v3_api_wrapper::Body>,
}

/// The `body` oneof of [`PushDataV3ApiWrapper`].
pub mod push_data_v3_api_wrapper {
    /// `oneof body`: variant names are the schema's field names, the tag is the field number.
    /// Variants hold the messages inline, as prost-generated code does.
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Body {
        /// `PublicDealsV3Api publicDeals = 301`.
        #[prost(message, tag = "301")]
        PublicDeals(super::PublicDealsV3Api),
        /// `PublicIncreaseDepthsV3Api publicIncreaseDepths = 302`.
        #[prost(message, tag = "302")]
        PublicIncreaseDepths(super::PublicIncreaseDepthsV3Api),
        /// `PublicLimitDepthsV3Api publicLimitDepths = 303`.
        #[prost(message, tag = "303")]
        PublicLimitDepths(super::PublicLimitDepthsV3Api),
        /// `PrivateOrdersV3Api privateOrders = 304`.
        #[prost(message, tag = "304")]
        PrivateOrders(super::PrivateOrdersV3Api),
        /// `PublicBookTickerV3Api publicBookTicker = 305`.
        #[prost(message, tag = "305")]
        PublicBookTicker(super::PublicBookTickerV3Api),
        /// `PrivateDealsV3Api privateDeals = 306`.
        #[prost(message, tag = "306")]
        PrivateDeals(super::PrivateDealsV3Api),
        /// `PrivateAccountV3Api privateAccount = 307`.
        #[prost(message, tag = "307")]
        PrivateAccount(super::PrivateAccountV3Api),
        /// `PublicSpotKlineV3Api publicSpotKline = 308`.
        #[prost(message, tag = "308")]
        PublicSpotKline(super::PublicSpotKlineV3Api),
        /// `PublicMiniTickerV3Api publicMiniTicker = 309`.
        #[prost(message, tag = "309")]
        PublicMiniTicker(super::PublicMiniTickerV3Api),
        /// `PublicMiniTickersV3Api publicMiniTickers = 310`.
        #[prost(message, tag = "310")]
        PublicMiniTickers(super::PublicMiniTickersV3Api),
        /// `PublicBookTickerBatchV3Api publicBookTickerBatch = 311`.
        #[prost(message, tag = "311")]
        PublicBookTickerBatch(super::PublicBookTickerBatchV3Api),
        /// `PublicIncreaseDepthsBatchV3Api publicIncreaseDepthsBatch = 312`.
        #[prost(message, tag = "312")]
        PublicIncreaseDepthsBatch(super::PublicIncreaseDepthsBatchV3Api),
        /// `PublicAggreDepthsV3Api publicAggreDepths = 313`.
        #[prost(message, tag = "313")]
        PublicAggreDepths(super::PublicAggreDepthsV3Api),
        /// `PublicAggreDealsV3Api publicAggreDeals = 314`.
        #[prost(message, tag = "314")]
        PublicAggreDeals(super::PublicAggreDealsV3Api),
        /// `PublicAggreBookTickerV3Api publicAggreBookTicker = 315`.
        #[prost(message, tag = "315")]
        PublicAggreBookTicker(super::PublicAggreBookTickerV3Api),
    }
}

/// `PrivateAccountV3Api` from `PrivateAccountV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PrivateAccountV3Api {
    /// `string vcoinName = 1`.
    #[prost(string, tag = "1")]
    pub vcoin_name: String,
    /// `string coinId = 2`.
    #[prost(string, tag = "2")]
    pub coin_id: String,
    /// `string balanceAmount = 3`.
    #[prost(string, tag = "3")]
    pub balance_amount: String,
    /// `string balanceAmountChange = 4`.
    #[prost(string, tag = "4")]
    pub balance_amount_change: String,
    /// `string frozenAmount = 5`.
    #[prost(string, tag = "5")]
    pub frozen_amount: String,
    /// `string frozenAmountChange = 6`.
    #[prost(string, tag = "6")]
    pub frozen_amount_change: String,
    /// `string type = 7`.
    #[prost(string, tag = "7")]
    pub r#type: String,
    /// `int64 time = 8`.
    #[prost(int64, tag = "8")]
    pub time: i64,
}

/// `PrivateDealsV3Api` from `PrivateDealsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PrivateDealsV3Api {
    /// `string price = 1`.
    #[prost(string, tag = "1")]
    pub price: String,
    /// `string quantity = 2`.
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// `string amount = 3`.
    #[prost(string, tag = "3")]
    pub amount: String,
    /// `int32 tradeType = 4`.
    #[prost(int32, tag = "4")]
    pub trade_type: i32,
    /// `bool isMaker = 5`.
    #[prost(bool, tag = "5")]
    pub is_maker: bool,
    /// `bool isSelfTrade = 6`.
    #[prost(bool, tag = "6")]
    pub is_self_trade: bool,
    /// `string tradeId = 7`.
    #[prost(string, tag = "7")]
    pub trade_id: String,
    /// `string clientOrderId = 8`.
    #[prost(string, tag = "8")]
    pub client_order_id: String,
    /// `string orderId = 9`.
    #[prost(string, tag = "9")]
    pub order_id: String,
    /// `string feeAmount = 10`.
    #[prost(string, tag = "10")]
    pub fee_amount: String,
    /// `string feeCurrency = 11`.
    #[prost(string, tag = "11")]
    pub fee_currency: String,
    /// `int64 time = 12`.
    #[prost(int64, tag = "12")]
    pub time: i64,
}

/// `PrivateOrdersV3Api` from `PrivateOrdersV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PrivateOrdersV3Api {
    /// `string id = 1`.
    #[prost(string, tag = "1")]
    pub id: String,
    /// `string clientId = 2`.
    #[prost(string, tag = "2")]
    pub client_id: String,
    /// `string price = 3`.
    #[prost(string, tag = "3")]
    pub price: String,
    /// `string quantity = 4`.
    #[prost(string, tag = "4")]
    pub quantity: String,
    /// `string amount = 5`.
    #[prost(string, tag = "5")]
    pub amount: String,
    /// `string avgPrice = 6`.
    #[prost(string, tag = "6")]
    pub avg_price: String,
    /// `int32 orderType = 7`.
    #[prost(int32, tag = "7")]
    pub order_type: i32,
    /// `int32 tradeType = 8`.
    #[prost(int32, tag = "8")]
    pub trade_type: i32,
    /// `bool isMaker = 9`.
    #[prost(bool, tag = "9")]
    pub is_maker: bool,
    /// `string remainAmount = 10`.
    #[prost(string, tag = "10")]
    pub remain_amount: String,
    /// `string remainQuantity = 11`.
    #[prost(string, tag = "11")]
    pub remain_quantity: String,
    /// `optional string lastDealQuantity = 12`.
    #[prost(string, optional, tag = "12")]
    pub last_deal_quantity: ::core::option::Option<String>,
    /// `string cumulativeQuantity = 13`.
    #[prost(string, tag = "13")]
    pub cumulative_quantity: String,
    /// `string cumulativeAmount = 14`.
    #[prost(string, tag = "14")]
    pub cumulative_amount: String,
    /// `int32 status = 15`.
    #[prost(int32, tag = "15")]
    pub status: i32,
    /// `int64 createTime = 16`.
    #[prost(int64, tag = "16")]
    pub create_time: i64,
    /// `optional string market = 17`.
    #[prost(string, optional, tag = "17")]
    pub market: ::core::option::Option<String>,
    /// `optional int32 triggerType = 18`.
    #[prost(int32, optional, tag = "18")]
    pub trigger_type: ::core::option::Option<i32>,
    /// `optional string triggerPrice = 19`.
    #[prost(string, optional, tag = "19")]
    pub trigger_price: ::core::option::Option<String>,
    /// `optional int32 state = 20`.
    #[prost(int32, optional, tag = "20")]
    pub state: ::core::option::Option<i32>,
    /// `optional string ocoId = 21`.
    #[prost(string, optional, tag = "21")]
    pub oco_id: ::core::option::Option<String>,
    /// `optional string routeFactor = 22`.
    #[prost(string, optional, tag = "22")]
    pub route_factor: ::core::option::Option<String>,
    /// `optional string symbolId = 23`.
    #[prost(string, optional, tag = "23")]
    pub symbol_id: ::core::option::Option<String>,
    /// `optional string marketId = 24`.
    #[prost(string, optional, tag = "24")]
    pub market_id: ::core::option::Option<String>,
    /// `optional string marketCurrencyId = 25`.
    #[prost(string, optional, tag = "25")]
    pub market_currency_id: ::core::option::Option<String>,
    /// `optional string currencyId = 26`.
    #[prost(string, optional, tag = "26")]
    pub currency_id: ::core::option::Option<String>,
}

/// `PublicAggreBookTickerV3Api` from `PublicAggreBookTickerV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicAggreBookTickerV3Api {
    /// `string bidPrice = 1`.
    #[prost(string, tag = "1")]
    pub bid_price: String,
    /// `string bidQuantity = 2`.
    #[prost(string, tag = "2")]
    pub bid_quantity: String,
    /// `string askPrice = 3`.
    #[prost(string, tag = "3")]
    pub ask_price: String,
    /// `string askQuantity = 4`.
    #[prost(string, tag = "4")]
    pub ask_quantity: String,
    /// `string version = 5`.
    #[prost(string, tag = "5")]
    pub version: String,
    /// `int64 lastOrderCreateTime = 6`.
    #[prost(int64, tag = "6")]
    pub last_order_create_time: i64,
}

/// `PublicAggreDealsV3Api` from `PublicAggreDealsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicAggreDealsV3Api {
    /// `repeated PublicAggreDealsV3ApiItem deals = 1`.
    #[prost(message, repeated, tag = "1")]
    pub deals: ::prost::alloc::vec::Vec<PublicAggreDealsV3ApiItem>,
    /// `string eventType = 2`.
    #[prost(string, tag = "2")]
    pub event_type: String,
}

/// `PublicAggreDealsV3ApiItem` from `PublicAggreDealsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicAggreDealsV3ApiItem {
    /// `string price = 1`.
    #[prost(string, tag = "1")]
    pub price: String,
    /// `string quantity = 2`.
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// `int32 tradeType = 3`.
    #[prost(int32, tag = "3")]
    pub trade_type: i32,
    /// `int64 time = 4`.
    #[prost(int64, tag = "4")]
    pub time: i64,
    /// `string tradeId = 5`.
    #[prost(string, tag = "5")]
    pub trade_id: String,
}

/// `PublicAggreDepthsV3Api` from `PublicAggreDepthsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicAggreDepthsV3Api {
    /// `repeated PublicAggreDepthV3ApiItem asks = 1`.
    #[prost(message, repeated, tag = "1")]
    pub asks: ::prost::alloc::vec::Vec<PublicAggreDepthV3ApiItem>,
    /// `repeated PublicAggreDepthV3ApiItem bids = 2`.
    #[prost(message, repeated, tag = "2")]
    pub bids: ::prost::alloc::vec::Vec<PublicAggreDepthV3ApiItem>,
    /// `string eventType = 3`.
    #[prost(string, tag = "3")]
    pub event_type: String,
    /// `string fromVersion = 4`.
    #[prost(string, tag = "4")]
    pub from_version: String,
    /// `string toVersion = 5`.
    #[prost(string, tag = "5")]
    pub to_version: String,
    /// `int64 lastOrderCreateTime = 6`.
    #[prost(int64, tag = "6")]
    pub last_order_create_time: i64,
}

/// `PublicAggreDepthV3ApiItem` from `PublicAggreDepthsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicAggreDepthV3ApiItem {
    /// `string price = 1`.
    #[prost(string, tag = "1")]
    pub price: String,
    /// `string quantity = 2`.
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// `PublicBookTickerBatchV3Api` from `PublicBookTickerBatchV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicBookTickerBatchV3Api {
    /// `repeated PublicBookTickerV3Api items = 1`.
    #[prost(message, repeated, tag = "1")]
    pub items: ::prost::alloc::vec::Vec<PublicBookTickerV3Api>,
    /// `string version = 2`.
    #[prost(string, tag = "2")]
    pub version: String,
    /// `int64 lastOrderCreateTime = 3`.
    #[prost(int64, tag = "3")]
    pub last_order_create_time: i64,
}

/// `PublicBookTickerV3Api` from `PublicBookTickerV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicBookTickerV3Api {
    /// `string bidPrice = 1`.
    #[prost(string, tag = "1")]
    pub bid_price: String,
    /// `string bidQuantity = 2`.
    #[prost(string, tag = "2")]
    pub bid_quantity: String,
    /// `string askPrice = 3`.
    #[prost(string, tag = "3")]
    pub ask_price: String,
    /// `string askQuantity = 4`.
    #[prost(string, tag = "4")]
    pub ask_quantity: String,
}

/// `PublicDealsV3Api` from `PublicDealsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicDealsV3Api {
    /// `repeated PublicDealsV3ApiItem deals = 1`.
    #[prost(message, repeated, tag = "1")]
    pub deals: ::prost::alloc::vec::Vec<PublicDealsV3ApiItem>,
    /// `string eventType = 2`.
    #[prost(string, tag = "2")]
    pub event_type: String,
}

/// `PublicDealsV3ApiItem` from `PublicDealsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicDealsV3ApiItem {
    /// `string price = 1`.
    #[prost(string, tag = "1")]
    pub price: String,
    /// `string quantity = 2`.
    #[prost(string, tag = "2")]
    pub quantity: String,
    /// `int32 tradeType = 3`.
    #[prost(int32, tag = "3")]
    pub trade_type: i32,
    /// `int64 time = 4`.
    #[prost(int64, tag = "4")]
    pub time: i64,
}

/// `PublicIncreaseDepthsBatchV3Api` from `PublicIncreaseDepthsBatchV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicIncreaseDepthsBatchV3Api {
    /// `repeated PublicIncreaseDepthsV3Api items = 1`.
    #[prost(message, repeated, tag = "1")]
    pub items: ::prost::alloc::vec::Vec<PublicIncreaseDepthsV3Api>,
    /// `string eventType = 2`.
    #[prost(string, tag = "2")]
    pub event_type: String,
}

/// `PublicIncreaseDepthsV3Api` from `PublicIncreaseDepthsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicIncreaseDepthsV3Api {
    /// `repeated PublicIncreaseDepthV3ApiItem asks = 1`.
    #[prost(message, repeated, tag = "1")]
    pub asks: ::prost::alloc::vec::Vec<PublicIncreaseDepthV3ApiItem>,
    /// `repeated PublicIncreaseDepthV3ApiItem bids = 2`.
    #[prost(message, repeated, tag = "2")]
    pub bids: ::prost::alloc::vec::Vec<PublicIncreaseDepthV3ApiItem>,
    /// `string eventType = 3`.
    #[prost(string, tag = "3")]
    pub event_type: String,
    /// `string version = 4`.
    #[prost(string, tag = "4")]
    pub version: String,
}

/// `PublicIncreaseDepthV3ApiItem` from `PublicIncreaseDepthsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicIncreaseDepthV3ApiItem {
    /// `string price = 1`.
    #[prost(string, tag = "1")]
    pub price: String,
    /// `string quantity = 2`.
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// `PublicLimitDepthsV3Api` from `PublicLimitDepthsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicLimitDepthsV3Api {
    /// `repeated PublicLimitDepthV3ApiItem asks = 1`.
    #[prost(message, repeated, tag = "1")]
    pub asks: ::prost::alloc::vec::Vec<PublicLimitDepthV3ApiItem>,
    /// `repeated PublicLimitDepthV3ApiItem bids = 2`.
    #[prost(message, repeated, tag = "2")]
    pub bids: ::prost::alloc::vec::Vec<PublicLimitDepthV3ApiItem>,
    /// `string eventType = 3`.
    #[prost(string, tag = "3")]
    pub event_type: String,
    /// `string version = 4`.
    #[prost(string, tag = "4")]
    pub version: String,
    /// `int64 lastOrderCreateTime = 5`.
    #[prost(int64, tag = "5")]
    pub last_order_create_time: i64,
}

/// `PublicLimitDepthV3ApiItem` from `PublicLimitDepthsV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicLimitDepthV3ApiItem {
    /// `string price = 1`.
    #[prost(string, tag = "1")]
    pub price: String,
    /// `string quantity = 2`.
    #[prost(string, tag = "2")]
    pub quantity: String,
}

/// `PublicMiniTickerV3Api` from `PublicMiniTickerV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicMiniTickerV3Api {
    /// `string symbol = 1`.
    #[prost(string, tag = "1")]
    pub symbol: String,
    /// `string price = 2`.
    #[prost(string, tag = "2")]
    pub price: String,
    /// `string rate = 3`.
    #[prost(string, tag = "3")]
    pub rate: String,
    /// `string zonedRate = 4`.
    #[prost(string, tag = "4")]
    pub zoned_rate: String,
    /// `string high = 5`.
    #[prost(string, tag = "5")]
    pub high: String,
    /// `string low = 6`.
    #[prost(string, tag = "6")]
    pub low: String,
    /// `string volume = 7`.
    #[prost(string, tag = "7")]
    pub volume: String,
    /// `string quantity = 8`.
    #[prost(string, tag = "8")]
    pub quantity: String,
    /// `string lastCloseRate = 9`.
    #[prost(string, tag = "9")]
    pub last_close_rate: String,
    /// `string lastCloseZonedRate = 10`.
    #[prost(string, tag = "10")]
    pub last_close_zoned_rate: String,
    /// `string lastCloseHigh = 11`.
    #[prost(string, tag = "11")]
    pub last_close_high: String,
    /// `string lastCloseLow = 12`.
    #[prost(string, tag = "12")]
    pub last_close_low: String,
}

/// `PublicMiniTickersV3Api` from `PublicMiniTickersV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicMiniTickersV3Api {
    /// `repeated PublicMiniTickerV3Api items = 1`.
    #[prost(message, repeated, tag = "1")]
    pub items: ::prost::alloc::vec::Vec<PublicMiniTickerV3Api>,
}

/// `PublicSpotKlineV3Api` from `PublicSpotKlineV3Api.proto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PublicSpotKlineV3Api {
    /// `string interval = 1`.
    #[prost(string, tag = "1")]
    pub interval: String,
    /// `int64 windowStart = 2`.
    #[prost(int64, tag = "2")]
    pub window_start: i64,
    /// `string openingPrice = 3`.
    #[prost(string, tag = "3")]
    pub opening_price: String,
    /// `string closingPrice = 4`.
    #[prost(string, tag = "4")]
    pub closing_price: String,
    /// `string highestPrice = 5`.
    #[prost(string, tag = "5")]
    pub highest_price: String,
    /// `string lowestPrice = 6`.
    #[prost(string, tag = "6")]
    pub lowest_price: String,
    /// `string volume = 7`.
    #[prost(string, tag = "7")]
    pub volume: String,
    /// `string amount = 8`.
    #[prost(string, tag = "8")]
    pub amount: String,
    /// `int64 windowEnd = 9`.
    #[prost(int64, tag = "9")]
    pub window_end: i64,
}
