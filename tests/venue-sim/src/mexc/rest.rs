//! MEXC spot v3 REST under `/api/v3`: public time, metadata and depth; signed account, order
//! and listen-key endpoints; `{"code", "msg"}` errors with the documented codes.
// Handlers return the venue's error response as `Err` for early exits; boxing it would only
// add noise on a cold path.
#![allow(clippy::result_large_err)]

use hyper::{Method, Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::sign;
use crate::http::{json, App, Body, RestRequest};
use crate::market::{fixed, PRICE_DECIMALS, QTY_DECIMALS};
use crate::trading::{NewOrder, Order, OrderKind, OrderStatus, Side, TradeError};

/// A MEXC error response: `{"code": .., "msg": ..}`.
pub(crate) fn error(status: StatusCode, code: i64, msg: &str) -> Response<Body> {
    json(status, json!({"code": code, "msg": msg}).to_string())
}

fn ok(v: Value) -> Response<Body> {
    json(StatusCode::OK, v.to_string())
}

fn trade_error(e: TradeError) -> Response<Body> {
    let bad = StatusCode::BAD_REQUEST;
    match e {
        TradeError::UnknownKey => error(bad, 10072, "invalid access key"),
        TradeError::InvalidParam(p) => error(bad, 33333, &format!("param is error: {p}")),
        TradeError::InsufficientBalance => error(bad, 30004, "Insufficient position"),
        TradeError::OrderNotFound => error(bad, -2011, "Unknown order sent"),
        TradeError::NoPrice => error(bad, 30010, "no valid trade price"),
    }
}

/// Decode `%XX` escapes and `+`.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query and body parameters together, decoded.
struct Params(Vec<(String, String)>);

impl Params {
    fn of(req: &RestRequest) -> Self {
        let body = std::str::from_utf8(&req.body).unwrap_or("");
        let v = [req.query.as_str(), body]
            .iter()
            .flat_map(|s| s.split('&'))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (url_decode(k), url_decode(v)))
            .collect();
        Self(v)
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    fn dec(&self, k: &str) -> Option<Decimal> {
        self.get(k).and_then(|v| v.parse().ok())
    }
}

/// Verify `X-MEXC-APIKEY`, `signature`, `timestamp` and `recvWindow`; returns the API key.
fn authenticate(app: &App, req: &RestRequest, params: &Params) -> Result<String, Response<Body>> {
    let bad = StatusCode::BAD_REQUEST;
    let Some(key) = req.header("X-MEXC-APIKEY") else {
        return Err(error(bad, 400, "api key required"));
    };
    let Some(secret) = app.exchange.secret(key) else {
        return Err(error(bad, 10072, "invalid access key"));
    };
    let body = std::str::from_utf8(&req.body).unwrap_or("");
    let (text, sig) = sign::signed_text(&req.query, body);
    if !sig.is_some_and(|s| sign::verify(secret, &text, &s)) {
        return Err(error(
            bad,
            700002,
            "Signature for this request is not valid.",
        ));
    }
    let ts = params.get("timestamp").and_then(|t| t.parse::<i64>().ok());
    let window = match params.get("recvWindow").map(|w| w.parse::<i64>()) {
        Some(Ok(w)) => Some(w),
        Some(Err(_)) => return Err(error(bad, 33333, "param is error: recvWindow")),
        None => None,
    };
    let Some(ts) = ts else {
        return Err(error(
            bad,
            700003,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    };
    match sign::check_timing(ts, window, app.now_ms()) {
        Ok(()) => Ok(key.to_owned()),
        Err(sign::TimingError::RecvWindowTooLarge) => {
            Err(error(bad, 700005, "recvWindow must less than 60000"))
        }
        Err(sign::TimingError::OutsideWindow) => Err(error(
            bad,
            700003,
            "Timestamp for this request is outside of the recvWindow.",
        )),
    }
}

/// Serve one request under `/api/v3`.
pub(crate) fn handle(app: &App, req: &RestRequest) -> Response<Body> {
    let params = Params::of(req);
    let signed = matches!(
        req.path.as_str(),
        "/api/v3/account" | "/api/v3/order" | "/api/v3/openOrders" | "/api/v3/userDataStream"
    );
    let key = if signed {
        match authenticate(app, req, &params) {
            Ok(k) => k,
            Err(r) => return r,
        }
    } else {
        String::new()
    };
    match (&req.method, req.path.as_str()) {
        (&Method::GET, "/api/v3/ping") => ok(json!({})),
        (&Method::GET, "/api/v3/time") => ok(json!({"serverTime": app.now_ms()})),
        (&Method::GET, "/api/v3/exchangeInfo") => exchange_info(app, &params),
        (&Method::GET, "/api/v3/depth") => depth(app, &params),
        (&Method::GET, "/api/v3/account") => account(app, &key),
        (&Method::POST, "/api/v3/order") => place(app, &key, &params),
        (&Method::GET, "/api/v3/order") => with_order(app, &key, &params, false),
        (&Method::DELETE, "/api/v3/order") => with_order(app, &key, &params, true),
        (&Method::GET, "/api/v3/openOrders") => open_orders(app, &key, &params),
        (&Method::POST, "/api/v3/userDataStream") => {
            let lk = format!(
                "{:032x}{:032x}",
                rand::random::<u128>(),
                rand::random::<u128>()
            );
            app.listen_keys.lock().unwrap().insert(lk.clone(), key);
            ok(json!({"listenKey": lk}))
        }
        (&Method::PUT, "/api/v3/userDataStream") | (&Method::DELETE, "/api/v3/userDataStream") => {
            let Some(lk) = params.get("listenKey") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    44444,
                    "param cannot be null: listenKey",
                );
            };
            let mut keys = app.listen_keys.lock().unwrap();
            let known = keys.get(lk).is_some_and(|k| *k == key);
            if known && req.method == Method::DELETE {
                keys.remove(lk);
            }
            if known {
                ok(json!({"listenKey": lk}))
            } else {
                error(StatusCode::BAD_REQUEST, 730100, "listenKey does not exist")
            }
        }
        _ => error(StatusCode::NOT_FOUND, 404, "Not Found"),
    }
}

fn symbol_of(app: &App, params: &Params) -> Result<usize, Response<Body>> {
    let Some(s) = params.get("symbol") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            44444,
            "param cannot be null: symbol",
        ));
    };
    app.market
        .find(s)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, 30014, "invalid symbol"))
}

/// Symbols; `makerCommission` and `takerCommission` are the fee rates as fractions, as MEXC
/// lists them (`"0.002"` for 0.2 %).
fn exchange_info(app: &App, params: &Params) -> Response<Body> {
    let only = params.get("symbol");
    let fees = app.exchange.fees();
    let fraction = |bps: Decimal| (bps / Decimal::from(10_000)).normalize().to_string();
    let (maker, taker) = (fraction(fees.maker_bps), fraction(fees.taker_bps));
    let symbols: Vec<Value> = app
        .market
        .symbols
        .iter()
        .filter(|s| only.is_none_or(|o| o == s.mexc()))
        .map(|s| {
            json!({
                "symbol": s.mexc(), "status": "1", "baseAsset": s.base, "baseAssetPrecision": QTY_DECIMALS,
                "quoteAsset": s.quote, "quotePrecision": PRICE_DECIMALS, "quoteAssetPrecision": PRICE_DECIMALS,
                "baseCommissionPrecision": QTY_DECIMALS, "quoteCommissionPrecision": PRICE_DECIMALS,
                "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"], "isSpotTradingAllowed": true,
                "isMarginTradingAllowed": false, "permissions": ["SPOT"], "filters": [],
                "baseSizePrecision": "0.0001", "maxQuoteAmount": "5000000", "makerCommission": maker,
                "takerCommission": taker, "quoteAmountPrecision": "1", "fullName": s.base,
            })
        })
        .collect();
    ok(
        json!({"timezone": "CST", "serverTime": app.now_ms(), "rateLimits": [], "exchangeFilters": [], "symbols": symbols}),
    )
}

fn depth(app: &App, params: &Params) -> Response<Body> {
    let idx = match symbol_of(app, params) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let limit = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .clamp(1, 5000);
    let books = app.market.lock();
    let book = &books[idx];
    let (bids, asks) = book.top(limit);
    let lv = |v: Vec<(i64, i64)>| -> Vec<[String; 2]> {
        v.into_iter()
            .map(|(p, q)| [fixed(p, PRICE_DECIMALS), fixed(q, QTY_DECIMALS)])
            .collect()
    };
    let v = json!({"lastUpdateId": book.seq, "bids": lv(bids), "asks": lv(asks), "timestamp": app.now_ms()});
    drop(books);
    ok(v)
}

fn account(app: &App, key: &str) -> Response<Body> {
    match app.exchange.balances(key) {
        Ok(b) => ok(json!({
            "makerCommission": null, "takerCommission": null, "buyerCommission": null, "sellerCommission": null,
            "canTrade": true, "canWithdraw": true, "canDeposit": true, "updateTime": null,
            "accountType": "SPOT", "permissions": ["SPOT"],
            "balances": b.iter().map(|(a, b)| json!({"asset": a, "free": b.available.normalize().to_string(), "locked": b.locked.normalize().to_string()})).collect::<Vec<_>>(),
        })),
        Err(e) => trade_error(e),
    }
}

fn order_json(app: &App, o: &Order) -> Value {
    json!({
        "symbol": app.market.symbols[o.symbol].mexc(),
        "orderId": o.id.to_string(),
        "orderListId": -1,
        "clientOrderId": o.client_id,
        "price": o.price.normalize().to_string(),
        "origQty": o.qty.normalize().to_string(),
        "executedQty": o.filled.normalize().to_string(),
        "cummulativeQuoteQty": o.filled_quote.normalize().to_string(),
        "status": match o.status {
            OrderStatus::Open if o.filled.is_zero() => "NEW",
            OrderStatus::Open => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Cancelled => "CANCELED",
        },
        "timeInForce": "",
        "type": match o.kind { OrderKind::Limit => "LIMIT", OrderKind::Market => "MARKET" },
        "side": match o.side { Side::Buy => "BUY", Side::Sell => "SELL" },
        "stopPrice": "",
        "time": o.create_ms,
        "updateTime": o.update_ms,
        "isWorking": o.status == OrderStatus::Open,
        "origQuoteOrderQty": "",
    })
}

fn place(app: &App, key: &str, params: &Params) -> Response<Body> {
    let symbol = match symbol_of(app, params) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let side = match params.get("side") {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        _ => return error(StatusCode::BAD_REQUEST, 33333, "param is error: side"),
    };
    let kind = match params.get("type") {
        Some("LIMIT") | Some("LIMIT_MAKER") => OrderKind::Limit,
        Some("MARKET") => OrderKind::Market,
        _ => return error(StatusCode::BAD_REQUEST, 33333, "param is error: type"),
    };
    let req = NewOrder {
        symbol,
        side,
        kind,
        price: params.dec("price"),
        qty: params.dec("quantity"),
        quote_qty: params.dec("quoteOrderQty"),
        client_id: params.get("newClientOrderId").unwrap_or("").to_owned(),
    };
    match app.exchange.place(key, req) {
        Ok(o) => ok(json!({
            "symbol": app.market.symbols[o.symbol].mexc(), "orderId": o.id.to_string(), "orderListId": -1,
            "price": o.price.normalize().to_string(), "origQty": o.qty.normalize().to_string(),
            "type": match o.kind { OrderKind::Limit => "LIMIT", OrderKind::Market => "MARKET" },
            "side": match o.side { Side::Buy => "BUY", Side::Sell => "SELL" }, "transactTime": o.create_ms,
        })),
        Err(e) => trade_error(e),
    }
}

/// `GET` or `DELETE /api/v3/order` by `orderId` or `origClientOrderId`. An order MEXC does not
/// know is `-2013` "Order does not exist." for a query and `-2011` "Unknown order sent" for a
/// cancel, both with HTTP 400.
fn with_order(app: &App, key: &str, params: &Params, cancel: bool) -> Response<Body> {
    if let Err(r) = symbol_of(app, params) {
        return r;
    }
    let id = match (params.get("orderId"), params.get("origClientOrderId")) {
        (Some(id), _) => id.parse::<u64>().ok(),
        (None, Some(cid)) => app.exchange.find_client_id(key, cid),
        (None, None) => {
            return error(
                StatusCode::BAD_REQUEST,
                700004,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null",
            )
        }
    };
    let not_found = || {
        if cancel {
            trade_error(TradeError::OrderNotFound)
        } else {
            error(StatusCode::BAD_REQUEST, -2013, "Order does not exist.")
        }
    };
    let Some(id) = id else {
        return not_found();
    };
    let r = if cancel {
        app.exchange.cancel(key, id)
    } else {
        app.exchange.order(key, id)
    };
    match r {
        Ok(o) => ok(order_json(app, &o)),
        Err(TradeError::OrderNotFound) => not_found(),
        Err(e) => trade_error(e),
    }
}

fn open_orders(app: &App, key: &str, params: &Params) -> Response<Body> {
    let symbol = match params.get("symbol") {
        Some(_) => match symbol_of(app, params) {
            Ok(s) => Some(s),
            Err(r) => return r,
        },
        None => None,
    };
    match app.exchange.open_orders(key, symbol) {
        Ok(v) => ok(Value::Array(v.iter().map(|o| order_json(app, o)).collect())),
        Err(e) => trade_error(e),
    }
}
