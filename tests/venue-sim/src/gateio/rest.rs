//! Gate spot v4 REST under `/api/v4`: public market data and metadata, signed account and
//! order endpoints, `{label, message}` errors.
// Handlers return the venue's error response as `Err` for early exits; boxing it would only
// add noise on a cold path.
#![allow(clippy::result_large_err)]

use hyper::{Method, Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::sign;
use crate::config::Source;
use crate::http::{json, App, Body, RestRequest};
use crate::market::{fixed, PRICE_DECIMALS, QTY_DECIMALS};
use crate::trading::{NewOrder, OrderKind, OrderStatus, Side, TradeError};

/// A Gate error response: `{"label": .., "message": ..}`.
pub(crate) fn error(status: StatusCode, label: &str, message: &str) -> Response<Body> {
    json(
        status,
        json!({"label": label, "message": message}).to_string(),
    )
}

fn ok(v: Value) -> Response<Body> {
    json(StatusCode::OK, v.to_string())
}

fn trade_error(e: TradeError) -> Response<Body> {
    match e {
        TradeError::UnknownKey => error(StatusCode::UNAUTHORIZED, "INVALID_KEY", "Invalid API Key"),
        TradeError::InvalidParam(p) => error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAM_VALUE",
            &format!("Invalid parameter value: {p}"),
        ),
        TradeError::InsufficientBalance => error(
            StatusCode::BAD_REQUEST,
            "BALANCE_NOT_ENOUGH",
            "Balance is not enough",
        ),
        TradeError::OrderNotFound => {
            error(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "Order not found")
        }
        TradeError::NoPrice => error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAM_VALUE",
            "No price to trade against",
        ),
    }
}

/// Check the `KEY`/`Timestamp`/`SIGN` headers; returns the API key.
fn authenticate(app: &App, req: &RestRequest) -> Result<String, Response<Body>> {
    let (Some(key), Some(ts), Some(sig)) = (
        req.header("KEY"),
        req.header("Timestamp"),
        req.header("SIGN"),
    ) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "MISSING_REQUIRED_HEADER",
            "Missing required authentication header",
        ));
    };
    let Some(secret) = app.exchange.secret(key) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "INVALID_KEY",
            "Invalid API Key",
        ));
    };
    let ts_secs: f64 = ts.parse().map_err(|_| {
        error(
            StatusCode::UNAUTHORIZED,
            "REQUEST_EXPIRED",
            "Request Timestamp is far from the server time",
        )
    })?;
    if (app.now_ms() as f64 / 1000.0 - ts_secs).abs() > sign::MAX_SKEW_SECS as f64 {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "REQUEST_EXPIRED",
            "Request Timestamp is far from the server time",
        ));
    }
    let payload = sign::rest_payload(req.method.as_str(), &req.path, &req.query, &req.body, ts);
    if !sign::verify(secret, &payload, sig) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "Invalid signature",
        ));
    }
    Ok(key.to_owned())
}

/// Serve one request under `/api/v4`.
pub(crate) fn handle(app: &App, req: &RestRequest) -> Response<Body> {
    let Some(path) = req.path.strip_prefix("/api/v4") else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Request URL not exists");
    };
    // Signed requests are verified before routing, like the venue's gateway.
    let key = if req.header("KEY").is_some() || req.header("SIGN").is_some() {
        match authenticate(app, req) {
            Ok(k) => Some(k),
            Err(r) => return r,
        }
    } else {
        None
    };
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let private = |f: &dyn Fn(&str) -> Response<Body>| match &key {
        Some(k) => f(k),
        None => error(
            StatusCode::UNAUTHORIZED,
            "MISSING_REQUIRED_HEADER",
            "Missing required authentication header",
        ),
    };
    match (&req.method, segs.as_slice()) {
        (&Method::GET, ["spot", "time"]) => ok(json!({"server_time": app.now_ms()})),
        (&Method::GET, ["spot", "currency_pairs"]) => ok(Value::Array(
            (0..app.market.symbols.len())
                .map(|i| pair_json(app, i))
                .collect(),
        )),
        (&Method::GET, ["spot", "currency_pairs", pair]) => match app.market.find(pair) {
            Some(i) => ok(pair_json(app, i)),
            None => error(
                StatusCode::BAD_REQUEST,
                "INVALID_CURRENCY_PAIR",
                &format!("Invalid currency pair {pair}"),
            ),
        },
        (&Method::GET, ["spot", "order_book"]) => order_book(app, req),
        (&Method::GET, ["spot", "accounts"]) => private(&|k| accounts(app, k, req)),
        (&Method::POST, ["spot", "orders"]) => private(&|k| place(app, k, req)),
        (&Method::GET, ["spot", "orders"]) => private(&|k| list_orders(app, k, req)),
        (&Method::GET, ["spot", "orders", id]) => private(&|k| with_order(app, k, req, id, false)),
        (&Method::DELETE, ["spot", "orders", id]) => {
            private(&|k| with_order(app, k, req, id, true))
        }
        (&Method::GET, ["spot", "open_orders"]) => private(&|k| open_orders(app, k)),
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", "Request URL not exists"),
    }
}

/// A currency pair; its `fee` is the taker rate in percent, as Gate lists it.
fn pair_json(app: &App, i: usize) -> Value {
    let s = &app.market.symbols[i];
    let fee_percent = (app.exchange.fees().taker_bps / Decimal::ONE_HUNDRED).normalize();
    json!({
        "id": s.gate(), "base": s.base, "quote": s.quote, "fee": fee_percent.to_string(),
        "min_base_amount": "0.0001", "min_quote_amount": "1",
        "amount_precision": QTY_DECIMALS, "precision": PRICE_DECIMALS,
        "trade_status": "tradable", "sell_start": 0, "buy_start": 0,
    })
}

fn pair_of(app: &App, req: &RestRequest) -> Result<usize, Response<Body>> {
    let Some(pair) = req.param("currency_pair") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "MISSING_REQUIRED_PARAM",
            "Missing required parameter: currency_pair",
        ));
    };
    app.market.find(pair).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "INVALID_CURRENCY_PAIR",
            &format!("Invalid currency pair {pair}"),
        )
    })
}

fn order_book(app: &App, req: &RestRequest) -> Response<Body> {
    // After a replay, synthetic updates follow: their book is the one to sync with.
    let captured = app
        .replay
        .as_ref()
        .filter(|_| app.cfg.source == Source::Replay);
    if let (Some(replay), Some(pair)) = (captured, req.param("currency_pair")) {
        if let Some(body) = replay.rest_book(pair, app.now_ms()) {
            return json(StatusCode::OK, body);
        }
    }
    let idx = match pair_of(app, req) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let limit = req
        .param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10usize)
        .clamp(1, 1000);
    let with_id = req.param("with_id") == Some("true");
    let now = app.now_ms();
    let books = app.market.lock();
    let book = &books[idx];
    let (bids, asks) = book.top(limit);
    let lv = |v: Vec<(i64, i64)>| -> Vec<[String; 2]> {
        v.into_iter()
            .map(|(p, q)| [fixed(p, PRICE_DECIMALS), fixed(q, QTY_DECIMALS)])
            .collect()
    };
    let mut m = serde_json::Map::new();
    if with_id {
        m.insert("id".into(), json!(book.seq));
    }
    m.insert("current".into(), json!(now));
    m.insert("update".into(), json!(now));
    m.insert("asks".into(), json!(lv(asks)));
    m.insert("bids".into(), json!(lv(bids)));
    drop(books);
    ok(Value::Object(m))
}

fn accounts(app: &App, key: &str, req: &RestRequest) -> Response<Body> {
    let bals = match app.exchange.balances(key) {
        Ok(b) => b,
        Err(e) => return trade_error(e),
    };
    let only = req.param("currency");
    let v: Vec<Value> = bals
        .iter()
        .filter(|(c, _)| only.is_none_or(|o| o == c.as_str()))
        .map(|(c, b)| json!({"currency": c, "available": b.available.normalize().to_string(), "locked": b.locked.normalize().to_string(), "update_id": 1}))
        .collect();
    ok(Value::Array(v))
}

fn dec(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn place(app: &App, key: &str, req: &RestRequest) -> Response<Body> {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "Invalid request body",
        );
    };
    let Some(pair) = body.get("currency_pair").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "MISSING_REQUIRED_PARAM",
            "Missing required parameter: currency_pair",
        );
    };
    let Some(symbol) = app.market.find(pair) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_CURRENCY_PAIR",
            &format!("Invalid currency pair {pair}"),
        );
    };
    let side = match body.get("side").and_then(Value::as_str) {
        Some("buy") => Side::Buy,
        Some("sell") => Side::Sell,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAM_VALUE",
                "Invalid parameter value: side",
            )
        }
    };
    let kind = match body.get("type").and_then(Value::as_str).unwrap_or("limit") {
        "limit" => OrderKind::Limit,
        "market" => OrderKind::Market,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAM_VALUE",
                "Invalid parameter value: type",
            )
        }
    };
    let Some(amount) = dec(body.get("amount")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "MISSING_REQUIRED_PARAM",
            "Missing required parameter: amount",
        );
    };
    let price = dec(body.get("price"));
    // Gate: a market buy's amount is in the quote currency.
    let (qty, quote_qty) = if kind == OrderKind::Market && side == Side::Buy {
        (None, Some(amount))
    } else {
        (Some(amount), None)
    };
    let text = body
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let order = NewOrder {
        symbol,
        side,
        kind,
        price,
        qty,
        quote_qty,
        client_id: text,
    };
    match app.exchange.place(key, order) {
        Ok(o) => json(
            StatusCode::CREATED,
            super::order_json(&o, &app.market.symbols[o.symbol]).to_string(),
        ),
        Err(e) => trade_error(e),
    }
}

/// `GET /spot/orders`: `status=open` (the default here) or `finished`; finished orders are
/// filtered by `side` and by creation time in `from..=to` (Unix seconds), newest first, at
/// most `limit` (default 100, at most 1000) per `page`.
fn list_orders(app: &App, key: &str, req: &RestRequest) -> Response<Body> {
    let symbol = match pair_of(app, req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let finished = match req.param("status").unwrap_or("open") {
        "open" => false,
        "finished" => true,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAM_VALUE",
                "Invalid parameter value: status",
            )
        }
    };
    let orders = if finished {
        app.exchange.orders(key, Some(symbol))
    } else {
        app.exchange.open_orders(key, Some(symbol))
    };
    let mut orders = match orders {
        Ok(v) => v,
        Err(e) => return trade_error(e),
    };
    if finished {
        let side = req.param("side");
        let secs = |k: &str| req.param(k).and_then(|v| v.parse::<i64>().ok());
        let (from, to) = (secs("from"), secs("to"));
        orders.retain(|o| {
            let created = o.create_ms / 1000;
            o.status != OrderStatus::Open
                && side.is_none_or(|s| s == super::side_str(o.side))
                && from.is_none_or(|f| created >= f)
                && to.is_none_or(|t| created <= t)
        });
        orders.reverse();
    }
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, if finished { 1000 } else { 100 });
    let page = req
        .param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    ok(Value::Array(
        orders
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(|o| super::order_json(o, &app.market.symbols[o.symbol]))
            .collect(),
    ))
}

/// `GET` or `DELETE /spot/orders/{order_id}`: `order_id` is Gate's id or the order's text
/// (`t-...`); like Gate, a text is known only while the order is open.
fn with_order(app: &App, key: &str, req: &RestRequest, id: &str, cancel: bool) -> Response<Body> {
    let symbol = match pair_of(app, req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = if id.starts_with("t-") {
        match app.exchange.open_orders(key, Some(symbol)) {
            Ok(open) => open.iter().find(|o| o.client_id == id).map(|o| o.id),
            Err(e) => return trade_error(e),
        }
    } else {
        id.parse::<u64>().ok()
    };
    let Some(id) = id else {
        return trade_error(TradeError::OrderNotFound);
    };
    let r = if cancel {
        app.exchange.cancel(key, id)
    } else {
        app.exchange.order(key, id)
    };
    match r {
        Ok(o) => ok(super::order_json(&o, &app.market.symbols[o.symbol])),
        Err(e) => trade_error(e),
    }
}

fn open_orders(app: &App, key: &str) -> Response<Body> {
    let orders = match app.exchange.open_orders(key, None) {
        Ok(v) => v,
        Err(e) => return trade_error(e),
    };
    let mut by_pair: std::collections::BTreeMap<usize, Vec<Value>> = Default::default();
    for o in &orders {
        by_pair
            .entry(o.symbol)
            .or_default()
            .push(super::order_json(o, &app.market.symbols[o.symbol]));
    }
    ok(Value::Array(
        by_pair
            .into_iter()
            .map(|(s, v)| json!({"currency_pair": app.market.symbols[s].gate(), "total": v.len(), "orders": v}))
            .collect(),
    ))
}
