//! REST requests (paths, parameters, rate-limit groups and weights) and the parsing of their
//! JSON answers into normalized events.

use abi_stable::std_types::RVec;
use plugin_api::kit::sizing::{self, Size};
use plugin_api::{
    Balance, CancelOrder, Event, Instrument, Level, NewOrder, Num, OrderStatus, OrderType,
    OrderUpdate, PluginError, RestRequest, Side, Stamp,
};
use serde::Deserialize;
use serde_json::Value;

use crate::book::Snapshot;

/// Every endpoint allows 500 requests per 10 s (per IP and per UID).
pub const LIMIT_CAPACITY: u32 = 500;
/// The window of [`LIMIT_CAPACITY`].
pub const LIMIT_WINDOW_MS: u64 = 10_000;

/// Rate-limit group of `GET /api/v3/depth`.
pub const LIMIT_DEPTH: &str = "limit-depth";
/// Rate-limit group of `GET /api/v3/exchangeInfo`.
pub const LIMIT_EXCHANGE_INFO: &str = "limit-exchange-info";
/// Rate-limit group of `/api/v3/order` (place, cancel, query).
pub const LIMIT_ORDER: &str = "limit-order";
/// Rate-limit group of `GET /api/v3/account`.
pub const LIMIT_ACCOUNT: &str = "limit-account";
/// Rate-limit group of `/api/v3/userDataStream`.
pub const LIMIT_USER_DATA_STREAM: &str = "limit-user-data-stream";

/// Every rate-limit group the plugin uses.
pub const LIMIT_GROUPS: [&str; 5] = [
    LIMIT_DEPTH,
    LIMIT_EXCHANGE_INFO,
    LIMIT_ORDER,
    LIMIT_ACCOUNT,
    LIMIT_USER_DATA_STREAM,
];

fn request(
    tag: u64,
    method: &str,
    path: &str,
    query: String,
    group: &str,
    weight: u32,
    signed: bool,
) -> RestRequest {
    let mut r = RestRequest::new(tag, method, path, &query);
    r.limit_group = group.into();
    r.weight = weight;
    r.signed = signed;
    r
}

/// `GET /api/v3/depth?symbol=X&limit=N` (weight 1).
pub fn depth_snapshot(tag: u64, venue_symbol: &str, limit: u32) -> RestRequest {
    request(
        tag,
        "GET",
        "/api/v3/depth",
        format!("symbol={venue_symbol}&limit={limit}"),
        LIMIT_DEPTH,
        1,
        false,
    )
}

/// `GET /api/v3/exchangeInfo` (weight 10).
pub fn exchange_info(tag: u64) -> RestRequest {
    request(
        tag,
        "GET",
        "/api/v3/exchangeInfo",
        String::new(),
        LIMIT_EXCHANGE_INFO,
        10,
        false,
    )
}

/// `GET /api/v3/account`, signed (weight 10).
pub fn account(tag: u64) -> RestRequest {
    request(
        tag,
        "GET",
        "/api/v3/account",
        String::new(),
        LIMIT_ACCOUNT,
        10,
        true,
    )
}

/// `POST|PUT|DELETE /api/v3/userDataStream`, signed (weight 1); `key` for PUT and DELETE.
pub fn user_data_stream(tag: u64, method: &str, key: Option<&str>) -> RestRequest {
    let query = key
        .map(|k| format!("listenKey={}", encode(k)))
        .unwrap_or_default();
    request(
        tag,
        method,
        "/api/v3/userDataStream",
        query,
        LIMIT_USER_DATA_STREAM,
        1,
        true,
    )
}

/// `POST /api/v3/order`, signed (weight 1). A market buy may be sized in the quote asset
/// ([`NewOrder::quote_qty`], MEXC's `quoteOrderQty`); the kit refuses the sizes no venue
/// takes ([`sizing::size`]).
pub fn place_order(tag: u64, order: &NewOrder) -> Result<RestRequest, PluginError> {
    let size = sizing::size(order)?;
    let side = match order.side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    };
    let mut query = format!("symbol={}&side={side}", order.instrument.venue_symbol);
    match (order.order_type, size) {
        (OrderType::Limit, Size::Base(qty)) => {
            query.push_str(&format!("&type=LIMIT&quantity={qty}&price={}", order.price))
        }
        (_, Size::Base(qty)) => query.push_str(&format!("&type=MARKET&quantity={qty}")),
        (_, Size::Quote(quote)) => query.push_str(&format!("&type=MARKET&quoteOrderQty={quote}")),
    }
    if !order.client_id.is_empty() {
        query.push_str(&format!("&newClientOrderId={}", encode(&order.client_id)));
    }
    let mut r = request(tag, "POST", "/api/v3/order", query, LIMIT_ORDER, 1, true);
    r.limit_key = order.instrument.venue_symbol.as_str().into();
    Ok(r)
}

/// `DELETE /api/v3/order?symbol=X&orderId=Y`, signed (weight 1).
pub fn cancel_order(tag: u64, cancel: &CancelOrder) -> RestRequest {
    let query = format!(
        "symbol={}&orderId={}",
        cancel.instrument.venue_symbol,
        encode(&cancel.order_id)
    );
    request(tag, "DELETE", "/api/v3/order", query, LIMIT_ORDER, 1, true)
}

/// `GET /api/v3/order?symbol=X&orderId=Y`, signed (weight 2).
pub fn query_order(tag: u64, instrument: &Instrument, order_id: &str) -> RestRequest {
    let query = format!(
        "symbol={}&orderId={}",
        instrument.venue_symbol,
        encode(order_id)
    );
    request(tag, "GET", "/api/v3/order", query, LIMIT_ORDER, 2, true)
}

/// `GET /api/v3/order?symbol=X&origClientOrderId=Y`, signed (weight 2): an order by the
/// client id it was placed with.
pub fn query_order_by_client_id(tag: u64, instrument: &Instrument, client_id: &str) -> RestRequest {
    let query = format!(
        "symbol={}&origClientOrderId={}",
        instrument.venue_symbol,
        encode(client_id)
    );
    request(tag, "GET", "/api/v3/order", query, LIMIT_ORDER, 2, true)
}

/// The codes with which MEXC says it has no such order: `-2013` "Order does not exist."
/// (a query) and `-2011` "Unknown order sent" (a cancel).
pub const ORDER_NOT_FOUND_CODES: [i64; 2] = [-2013, -2011];

/// True when a failed request is worth another try: no answer (status 0), a 408, a 418, a
/// 429 or a 5xx. Any other refusal would come again.
pub fn worth_retrying(status: u16) -> bool {
    matches!(status, 0 | 408 | 418 | 429 | 500..)
}

/// The `code` of a MEXC error body (`{"code":-2013,"msg":"Order does not exist."}`).
pub fn error_code(body: &str) -> Option<i64> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("code")
        .and_then(Value::as_i64)
}

/// Percent-encodes everything but RFC 3986 unreserved characters (upper-case escapes).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` cut to 200 bytes at a char boundary, for error details.
pub(crate) fn short(text: &str) -> &str {
    plugin_api::kit::output::truncate(text, 200)
}

/// The error codes with which MEXC refuses a request's credentials: `401` no authority,
/// `602` and `700002` a bad signature, `10072` an unknown key, `700001` a malformed key. A
/// timestamp outside `recvWindow` (`700003`) is not one of them.
const CREDENTIAL_CODES: [i64; 5] = [401, 602, 10_072, 700_001, 700_002];

/// True when MEXC answered a 4xx because it refused the credentials (a wrong `api_key` or
/// `api_secret`), not for anything the request itself got wrong.
pub fn credentials_refused(status: u16, body: &str) -> bool {
    (400..500).contains(&status)
        && serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_i64))
            .is_some_and(|code| CREDENTIAL_CODES.contains(&code))
}

/// The venue's error body `{"code":..,"msg":..}`, or the start of the body.
pub fn error_detail(status: u16, body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        code: Value,
        #[serde(default)]
        msg: String,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => format!("HTTP {status}, code {}, {}", e.code, short(&e.msg)),
        Err(_) => format!("HTTP {status}: {}", short(body)),
    }
}

/// Parses a depth snapshot body.
pub fn parse_snapshot(body: &str) -> Result<Snapshot, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Depth {
        last_update_id: u64,
        bids: Vec<(String, String)>,
        asks: Vec<(String, String)>,
    }
    let d: Depth =
        serde_json::from_str(body).map_err(|e| format!("depth body: {}", short(&e.to_string())))?;
    Ok(Snapshot {
        last_update_id: d.last_update_id,
        bids: levels(&d.bids)?,
        asks: levels(&d.asks)?,
    })
}

fn levels(items: &[(String, String)]) -> Result<RVec<Level>, String> {
    items
        .iter()
        .map(|(p, q)| {
            Ok(Level {
                price: num(p)?,
                qty: num(q)?,
            })
        })
        .collect()
}

fn num(text: &str) -> Result<Num, String> {
    Num::parse(text).map_err(|e| e.to_string())
}

fn num_or_zero(text: Option<&str>) -> Result<Num, String> {
    match text {
        None | Some("") => Ok(Num::ZERO),
        Some(t) => num(t),
    }
}

/// An order as the order endpoints return it (new, cancel, query).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderBody {
    order_id: Value,
    #[serde(default)]
    client_order_id: Option<String>,
    #[serde(default)]
    orig_client_order_id: Option<String>,
    #[serde(default)]
    price: Option<String>,
    #[serde(default, alias = "Qty")]
    orig_qty: Option<String>,
    #[serde(default)]
    executed_qty: Option<String>,
    #[serde(default)]
    status: Option<String>,
    side: String,
    #[serde(default)]
    transact_time: Option<u64>,
    #[serde(default)]
    update_time: Option<u64>,
}

/// Parses the answer of a place, cancel or query order request. `fallback_client_id` is the
/// id the request carried, for answers that omit it.
pub fn parse_order(
    body: &str,
    instrument: Instrument,
    fallback_client_id: &str,
    received_ns: u64,
) -> Result<OrderUpdate, String> {
    let o: OrderBody =
        serde_json::from_str(body).map_err(|e| format!("order body: {}", short(&e.to_string())))?;
    let order_id = match o.order_id {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => return Err(format!("orderId {other}")),
    };
    let status = match o.status.as_deref() {
        None | Some("NEW") | Some("PARTIALLY_FILLED") => OrderStatus::Open,
        Some("FILLED") => OrderStatus::Filled,
        Some("CANCELED") | Some("PARTIALLY_CANCELED") | Some("EXPIRED") => OrderStatus::Cancelled,
        Some("REJECTED") => OrderStatus::Rejected,
        Some(other) => return Err(format!("order status {}", short(other))),
    };
    let side = match o.side.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => return Err(format!("order side {}", short(other))),
    };
    let client_id = o
        .orig_client_order_id
        .or(o.client_order_id)
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| fallback_client_id.to_owned());
    Ok(OrderUpdate {
        instrument,
        order_id: order_id.into(),
        client_id: client_id.into(),
        side,
        price: num_or_zero(o.price.as_deref())?,
        qty: num_or_zero(o.orig_qty.as_deref())?,
        filled_qty: num_or_zero(o.executed_qty.as_deref())?,
        status,
        stamp: Stamp {
            venue_ts_ms: o.update_time.or(o.transact_time).unwrap_or(0),
            received_ns,
        },
    })
}

/// Parses `GET /api/v3/account` into one balance event per asset.
pub fn parse_account(body: &str, received_ns: u64) -> Result<Vec<Event>, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Account {
        balances: Vec<AccountBalance>,
        #[serde(default)]
        update_time: Option<u64>,
    }
    #[derive(Deserialize)]
    struct AccountBalance {
        asset: String,
        free: String,
        locked: String,
    }
    let a: Account = serde_json::from_str(body)
        .map_err(|e| format!("account body: {}", short(&e.to_string())))?;
    let stamp = Stamp {
        venue_ts_ms: a.update_time.unwrap_or(0),
        received_ns,
    };
    a.balances
        .into_iter()
        .map(|b| {
            Ok(Event::Balance(Balance {
                available: num(&b.free)?,
                locked: num(&b.locked)?,
                asset: b.asset.into(),
                stamp,
            }))
        })
        .collect()
}

/// Parses a listen-key answer `{"listenKey":"..."}`.
pub fn parse_listen_key(body: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Key {
        listen_key: String,
    }
    let k: Key =
        serde_json::from_str(body).map_err(|_| "listen key body has no listenKey".to_owned())?;
    if k.listen_key.is_empty() || !k.listen_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("listen key is empty or not alphanumeric".to_owned());
    }
    Ok(k.listen_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> Instrument {
        Instrument::new("BTC/USDT", "BTCUSDT").unwrap()
    }

    #[test]
    fn parses_doc_examples() {
        let snap = parse_snapshot(r#"{"lastUpdateId":1112416,"bids":[["15.00000","49999.00000"]],"asks":[["14.0000","1.0000"]]}"#).unwrap();
        assert_eq!(snap.last_update_id, 1112416);
        assert_eq!(snap.bids[0].price, Num::parse("15").unwrap());
        let placed = parse_order(r#"{"symbol":"MXUSDT","orderId":"06a480e69e604477bfb48dddd5f0b750","orderListId":-1,"price":"0.1","origQty":"50","type":"LIMIT","side":"BUY","transactTime":1666676533741}"#, btc(), "c1", 7).unwrap();
        assert_eq!(
            (
                placed.status,
                placed.client_id.as_str(),
                placed.stamp.venue_ts_ms
            ),
            (OrderStatus::Open, "c1", 1666676533741)
        );
        let cancelled = parse_order(r#"{"symbol":"LTCBTC","origClientOrderId":"myOrder1","orderId":4,"clientOrderId":"cancelMyOrder1","price":"2.00000000","origQty":"1.00000000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY"}"#, btc(), "", 7).unwrap();
        assert_eq!(
            (
                cancelled.status,
                cancelled.order_id.as_str(),
                cancelled.client_id.as_str()
            ),
            (OrderStatus::Cancelled, "4", "myOrder1")
        );
        let queried = parse_order(r#"{"symbol":"LTCBTC","orderId":1,"orderListId":-1,"clientOrderId":"myOrder1","price":"0.1","Qty":"1.0","executedQty":"0.0","status":"NEW","side":"BUY","time":1499827319559,"updateTime":1499827319559}"#, btc(), "", 7).unwrap();
        assert_eq!(queried.qty, Num::parse("1").unwrap());
        let balances = parse_account(r#"{"canTrade":true,"updateTime":null,"accountType":"SPOT","balances":[{"asset":"NBNTEST","free":"1111078","locked":"33"},{"asset":"MAIN","free":"1020000","locked":"0"}],"permissions":["SPOT"]}"#, 7).unwrap();
        assert_eq!(balances.len(), 2);
        assert_eq!(parse_listen_key(r#"{"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}"#).unwrap().len(), 64);
        assert_eq!(
            error_detail(
                400,
                r#"{"code":700002,"msg":"Signature for this request is not valid."}"#
            ),
            "HTTP 400, code 700002, Signature for this request is not valid."
        );
    }

    #[test]
    fn builds_order_requests() {
        let order = NewOrder {
            instrument: btc(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: Num::parse("84270.01").unwrap(),
            qty: Num::parse("0.0010").unwrap(),
            quote_qty: Num::ZERO,
            client_id: "my id/1".into(),
        };
        let r = place_order(9, &order).unwrap();
        assert_eq!(r.query.as_str(), "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.001&price=84270.01&newClientOrderId=my%20id%2F1");
        assert!(r.signed);
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.limit_group.as_str()),
            ("POST", "/api/v3/order", LIMIT_ORDER)
        );
    }

    fn market(side: Side, qty: &str, quote_qty: &str) -> NewOrder {
        NewOrder {
            instrument: btc(),
            side,
            order_type: OrderType::Market,
            price: Num::ZERO,
            qty: Num::parse(qty).unwrap(),
            quote_qty: Num::parse(quote_qty).unwrap(),
            client_id: "".into(),
        }
    }

    #[test]
    fn a_market_buy_may_spend_quote_qty() {
        let r = place_order(3, &market(Side::Buy, "0", "25.50")).unwrap();
        assert_eq!(
            r.query.as_str(),
            "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=25.5"
        );
        assert!(r.signed && r.limit_key.as_str() == "BTCUSDT");
        let r = place_order(4, &market(Side::Buy, "0.01", "0")).unwrap();
        assert_eq!(
            r.query.as_str(),
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01"
        );
    }

    #[test]
    fn quote_qty_is_refused_with_qty_or_off_a_market_buy() {
        let m = |o: &NewOrder| place_order(1, o).unwrap_err().message.to_string();
        assert!(m(&market(Side::Buy, "0.01", "25")).contains("not both"));
        assert!(m(&market(Side::Sell, "0", "25")).contains("market buys only"));
        let mut limit = market(Side::Buy, "0", "25");
        limit.order_type = OrderType::Limit;
        limit.price = Num::parse("65000").unwrap();
        assert!(m(&limit).contains("market buys only"));
        assert!(m(&market(Side::Buy, "0", "0")).contains("quantity must be positive"));
    }
}
