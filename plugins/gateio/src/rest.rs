//! REST request builders (order book, orders, balances) and response parsing.

use plugin_api::kit::sizing::{self, Size};
use plugin_api::{
    Balance, CancelOrder, NewOrder, OrderType, OrderUpdate, PluginError, RestRequest, Side, Stamp,
};
use serde::{Deserialize, Serialize};

use crate::book::Snapshot;
use crate::parse::{self, Levels, ParseError, RawOrder};

/// REST path prefix.
pub const PREFIX: &str = "/api/v4";
/// Rate-limit group for place (and amend) orders: 10 r/s per market.
pub const LIMIT_ORDERS: &str = "orders";
/// Rate-limit group for cancels: 200 r/s.
pub const LIMIT_CANCEL: &str = "cancel";
/// Rate-limit group for public endpoints: 200 r / 10 s.
pub const LIMIT_PUBLIC: &str = "public-rest";
/// Rate-limit group for other private endpoints: 200 r / 10 s.
pub const LIMIT_PRIVATE: &str = "private-rest";

fn request(tag: u64, method: &str, path: &str, query: &str, group: &str) -> RestRequest {
    let mut r = RestRequest::new(tag, method, &format!("{PREFIX}{path}"), query);
    r.limit_group = group.into();
    r.push_header("Accept", "application/json");
    r
}

/// `GET /api/v4/spot/order_book?currency_pair=X&limit=N&with_id=true`.
pub fn order_book(tag: u64, pair: &str, limit: u32) -> RestRequest {
    request(
        tag,
        "GET",
        "/spot/order_book",
        &format!("currency_pair={pair}&limit={limit}&with_id=true"),
        LIMIT_PUBLIC,
    )
}

#[derive(Serialize)]
struct OrderBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    currency_pair: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    account: &'a str,
    side: &'a str,
    amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    time_in_force: &'a str,
}

fn valid_client_id(id: &str) -> bool {
    id.len() <= 28
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `POST /api/v4/spot/orders` (signed; limit group `orders`, keyed by the pair).
///
/// The client id becomes Gate's `text` (`t-<id>`: at most 28 of `[0-9A-Za-z_.-]`). Gate's
/// `amount` is in the base asset, except for a market buy, where it is the quote asset to
/// spend: a market buy must be sized by [`NewOrder::quote_qty`], every other order by
/// [`NewOrder::qty`]; the kit refuses what no venue takes ([`sizing::size`]).
pub fn place_order(tag: u64, order: &NewOrder) -> Result<RestRequest, PluginError> {
    let pair = order.instrument.venue_symbol.as_str();
    if pair.is_empty() {
        return Err(PluginError::unsupported("order has no venue symbol"));
    }
    let client_id = order.client_id.as_str();
    if !valid_client_id(client_id) {
        return Err(PluginError::unsupported(
            "client_id must be at most 28 characters of [0-9A-Za-z_.-] on gateio",
        ));
    }
    let market_buy = order.order_type == OrderType::Market && order.side == Side::Buy;
    let amount = match sizing::size(order)? {
        Size::Base(_) if market_buy => {
            return Err(PluginError::unsupported(
                "gateio market buys are sized in the quote asset: set `quote_qty`, not `qty`",
            ))
        }
        Size::Base(n) | Size::Quote(n) => n,
    };
    let side = match order.side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    };
    let (kind, price, tif) = match order.order_type {
        OrderType::Limit => ("limit", Some(order.price.to_string()), "gtc"),
        OrderType::Market => ("market", None, "ioc"),
    };
    let body = OrderBody {
        text: (!client_id.is_empty()).then(|| format!("t-{client_id}")),
        currency_pair: pair,
        kind,
        account: "spot",
        side,
        amount: amount.to_string(),
        price,
        time_in_force: tif,
    };
    let mut r = request(tag, "POST", "/spot/orders", "", LIMIT_ORDERS);
    r.body = serde_json::to_string(&body)
        .map_err(|e| PluginError::protocol(e.to_string()))?
        .into();
    r.push_header("Content-Type", "application/json");
    r.signed = true;
    r.limit_key = pair.into();
    Ok(r)
}

/// `DELETE /api/v4/spot/orders/{order_id}?currency_pair=X` (signed; limit group `cancel`).
pub fn cancel_order(tag: u64, cancel: &CancelOrder) -> Result<RestRequest, PluginError> {
    let id = cancel.order_id.as_str();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PluginError::unsupported(
            "order_id is empty or not path-safe",
        ));
    }
    let pair = cancel.instrument.venue_symbol.as_str();
    let mut r = request(
        tag,
        "DELETE",
        &format!("/spot/orders/{id}"),
        &format!("currency_pair={pair}"),
        LIMIT_CANCEL,
    );
    r.signed = true;
    r.limit_key = pair.into();
    Ok(r)
}

/// `GET /api/v4/spot/open_orders` (signed): every open order, grouped by pair.
pub fn open_orders(tag: u64) -> RestRequest {
    let mut r = request(tag, "GET", "/spot/open_orders", "", LIMIT_PRIVATE);
    r.signed = true;
    r
}

/// `GET /api/v4/spot/orders?currency_pair=X&status=open|finished` (signed).
pub fn list_orders(tag: u64, pair: &str, finished: bool) -> RestRequest {
    let status = if finished { "finished" } else { "open" };
    let mut r = request(
        tag,
        "GET",
        "/spot/orders",
        &format!("currency_pair={pair}&status={status}"),
        LIMIT_PRIVATE,
    );
    r.signed = true;
    r
}

/// `GET /api/v4/spot/orders/{id}?currency_pair=X` (signed): one order, by Gate's order id or
/// by its text (`t-<client id>`), which Gate accepts only while the order is open.
pub fn get_order(tag: u64, pair: &str, id: &str) -> RestRequest {
    let mut r = request(
        tag,
        "GET",
        &format!("/spot/orders/{id}"),
        &format!("currency_pair={pair}"),
        LIMIT_PRIVATE,
    );
    r.signed = true;
    r
}

/// `GET /api/v4/spot/orders?currency_pair=X&status=finished&side=S&from=F&limit=1000`
/// (signed): the pair's orders on that side finished since `from_s` (Unix seconds).
pub fn finished_orders(tag: u64, pair: &str, side: Side, from_s: u64) -> RestRequest {
    let side = match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    };
    let mut r = request(
        tag,
        "GET",
        "/spot/orders",
        &format!("currency_pair={pair}&status=finished&side={side}&from={from_s}&limit=1000"),
        LIMIT_PRIVATE,
    );
    r.signed = true;
    r
}

/// `GET /api/v4/spot/accounts` (signed): balances.
pub fn accounts(tag: u64) -> RestRequest {
    let mut r = request(tag, "GET", "/spot/accounts", "", LIMIT_PRIVATE);
    r.signed = true;
    r
}

#[derive(Deserialize)]
struct RawSnapshot {
    id: u64,
    #[serde(default)]
    current: u64,
    #[serde(default)]
    bids: Levels,
    #[serde(default)]
    asks: Levels,
}

/// Parses an order-book snapshot; `id` is required (`with_id=true`).
pub fn parse_snapshot(body: &str) -> Result<Snapshot, ParseError> {
    let raw: RawSnapshot =
        serde_json::from_str(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    Ok(Snapshot {
        id: raw.id,
        ts_ms: raw.current,
        bids: raw.bids.0,
        asks: raw.asks.0,
    })
}

/// Parses one order (place, cancel, get).
pub fn parse_order(body: &str, received_ns: u64) -> Result<OrderUpdate, ParseError> {
    let raw: RawOrder<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    parse::order_update(&raw, 0, received_ns)
}

/// Parses a list of orders (`GET /spot/orders`).
pub fn parse_orders(body: &str, received_ns: u64) -> Result<Vec<OrderUpdate>, ParseError> {
    let raw: Vec<RawOrder<'_>> =
        serde_json::from_str(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    raw.iter()
        .map(|o| parse::order_update(o, 0, received_ns))
        .collect()
}

#[derive(Deserialize)]
struct RawOpenOrders<'a> {
    #[serde(borrow)]
    orders: Vec<RawOrder<'a>>,
}

/// Parses `GET /spot/open_orders` (`[{currency_pair, total, orders:[...]}]`).
pub fn parse_open_orders(body: &str, received_ns: u64) -> Result<Vec<OrderUpdate>, ParseError> {
    let groups: Vec<RawOpenOrders<'_>> =
        serde_json::from_str(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    groups
        .iter()
        .flat_map(|g| g.orders.iter())
        .map(|o| parse::order_update(o, 0, received_ns))
        .collect()
}

#[derive(Deserialize)]
struct RawAccount<'a> {
    currency: String,
    available: &'a str,
    #[serde(default)]
    locked: Option<&'a str>,
}

/// Parses `GET /spot/accounts` into balances (no venue time: `venue_ts_ms` is 0).
pub fn parse_accounts(body: &str, received_ns: u64) -> Result<Vec<Balance>, ParseError> {
    let raw: Vec<RawAccount<'_>> =
        serde_json::from_str(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    raw.into_iter()
        .map(|a| {
            Ok(Balance {
                asset: a.currency.into(),
                available: parse::num(a.available)?,
                locked: parse::num(a.locked.unwrap_or("0"))?,
                stamp: Stamp {
                    venue_ts_ms: 0,
                    received_ns,
                },
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    label: String,
    #[serde(default)]
    message: String,
}

/// The labels of a 401 with which Gate refuses a request's credentials: a wrong key or
/// secret, or none sent. `REQUEST_EXPIRED` (a clock more than 60 s off) is not one of them.
const CREDENTIAL_LABELS: [&str; 4] = [
    "INVALID_CREDENTIALS",
    "INVALID_KEY",
    "INVALID_SIGNATURE",
    "MISSING_REQUIRED_HEADER",
];

/// True when Gate answered `401` because it refused the credentials (a wrong `api_key` or
/// `api_secret`), not for anything the request itself got wrong.
pub fn credentials_refused(status: u16, body: &str) -> bool {
    status == 401
        && serde_json::from_str::<RawError>(body)
            .is_ok_and(|e| CREDENTIAL_LABELS.contains(&e.label.as_str()))
}

/// True when a failed request is worth another try: no answer (status 0), a 429 or a 5xx.
/// Any other refusal would come again.
pub fn worth_retrying(status: u16) -> bool {
    matches!(status, 0 | 429 | 500..)
}

/// The `label` of a Gate error body (`ORDER_NOT_FOUND`), if it is one.
pub fn error_label(body: &str) -> Option<String> {
    serde_json::from_str::<RawError>(body)
        .ok()
        .map(|e| e.label)
        .filter(|l| !l.is_empty())
}

/// `label: message` from a Gate error body (`{"label":"INVALID_SIGNATURE","message":…}`),
/// or the first bytes of the body if it is not one.
pub fn error_text(status: u16, body: &str) -> String {
    match serde_json::from_str::<RawError>(body) {
        Ok(e) if !e.label.is_empty() => format!(
            "HTTP {status} {}: {}",
            e.label,
            parse::truncate(&e.message, 160)
        ),
        _ => format!("HTTP {status}: {}", parse::truncate(body, 160)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::{Instrument, Num};

    fn order(side: Side, order_type: OrderType, qty: &str, quote_qty: &str) -> NewOrder {
        NewOrder {
            instrument: Instrument::new("BTC/USDT", "BTC_USDT").unwrap(),
            side,
            order_type,
            price: Num::parse("65000").unwrap(),
            qty: Num::parse(qty).unwrap(),
            quote_qty: Num::parse(quote_qty).unwrap(),
            client_id: "c1".into(),
        }
    }

    fn refused(o: &NewOrder) -> String {
        place_order(1, o).unwrap_err().message.to_string()
    }

    #[test]
    fn a_market_buy_spends_quote_qty() {
        let r = place_order(9, &order(Side::Buy, OrderType::Market, "0", "25.5")).unwrap();
        assert_eq!(
            r.body.as_str(),
            r#"{"text":"t-c1","currency_pair":"BTC_USDT","type":"market","account":"spot","side":"buy","amount":"25.5","time_in_force":"ioc"}"#
        );
        assert!(r.signed && r.limit_key.as_str() == "BTC_USDT" && r.tag == 9);
    }

    #[test]
    fn sizes_gate_does_not_take_are_refused() {
        let m = refused(&order(Side::Buy, OrderType::Market, "0.01", "0"));
        assert!(m.contains("set `quote_qty`"), "{m}");
        let m = refused(&order(Side::Buy, OrderType::Market, "0.01", "25"));
        assert!(m.contains("not both"), "{m}");
        let m = refused(&order(Side::Buy, OrderType::Market, "0", "-1"));
        assert!(m.contains("`quote_qty` must be positive"), "{m}");
        let m = refused(&order(Side::Sell, OrderType::Market, "0", "25"));
        assert!(m.contains("sizes market buys only"), "{m}");
        let m = refused(&order(Side::Buy, OrderType::Limit, "0", "0"));
        assert!(m.contains("quantity must be positive"), "{m}");
        let sell = place_order(1, &order(Side::Sell, OrderType::Market, "0.5", "0")).unwrap();
        assert!(sell.body.as_str().contains(r#""amount":"0.5""#));
    }
}
