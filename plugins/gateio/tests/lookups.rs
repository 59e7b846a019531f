//! An order whose outcome is unknown (a lost place answer, a refused cancel) is looked up
//! until Gate says what became of it: by its text while open, among the finished orders
//! after that, by its id after a cancel; failed lookups are retried on the lookup timer.

mod common;

use common::*;
use gateio_plugin::describe::LOOKUP_TIMER;
use gateio_plugin::GateioVenue;
use plugin_api::{
    Action, CancelOrder, Event, NewOrder, Num, OrderStatus, OrderType, Output, ResourceKind,
    RestRequest, RestResponse, Side, Venue,
};

/// Wall-clock time of the lost place answer in these tests.
const T0: u64 = 1_700_000_000_000;
const NOT_FOUND: &str = r#"{"label":"ORDER_NOT_FOUND","message":"Order not found"}"#;

fn order(client_id: &str) -> NewOrder {
    NewOrder {
        instrument: venue_with_creds().resolve("BTC/USDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("65000").unwrap(),
        qty: Num::parse("0.001").unwrap(),
        quote_qty: Num::ZERO,
        client_id: client_id.into(),
    }
}

/// Answers `tag` at wall-clock `at_ms`.
fn answer(v: &mut GateioVenue, tag: u64, status: u16, body: &str, at_ms: u64) -> Output {
    v.on_rest_response(
        RestResponse {
            tag,
            status,
            body: body.into(),
            error: if status == 0 { "timed out" } else { "" }.into(),
        },
        at_ms * 1_000_000,
    )
    .unwrap()
}

fn the_request(out: &Output) -> RestRequest {
    let reqs = rest_requests(out);
    assert_eq!(reqs.len(), 1, "{out:?}");
    reqs[0].clone()
}

fn the_order(out: &Output) -> plugin_api::OrderUpdate {
    let orders: Vec<_> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Order(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(orders.len(), 1, "{out:?}");
    orders[0].clone()
}

fn arms_timer(out: &Output) -> bool {
    out.actions
        .iter()
        .any(|a| matches!(a, Action::ArmTimer(n) if n.as_str() == LOOKUP_TIMER))
}

/// The documented answer of `GET /spot/orders/{order_id}`: `t-abc123`, filled.
fn documented_filled_order() -> String {
    jsonl("samples/doc_rest_examples.jsonl")
        .into_iter()
        .find(|d| {
            d["section"]
                .as_str()
                .unwrap()
                .starts_with("GET /spot/orders/{order_id}")
        })
        .unwrap()["json"]
        .to_string()
}

/// A place answered 503: a lookup by the order's text, which is then answered.
fn lost_place(v: &mut GateioVenue, client_id: &str) -> RestRequest {
    v.place_order(&order(client_id), 5).unwrap();
    let out = answer(v, 5, 503, r#"{"label":"SERVER_ERROR","message":"x"}"#, T0);
    assert!(out.events.is_empty(), "no verdict yet: {out:?}");
    assert_eq!(out.rejects[0].reason.as_str(), "order_outcome_unknown");
    the_request(&out)
}

#[test]
fn a_lost_place_is_looked_up_by_its_text() {
    let mut v = venue_with_creds();
    let lookup = lost_place(&mut v, "abc123");
    assert_eq!(
        (
            lookup.method.as_str(),
            lookup.path.as_str(),
            lookup.query.as_str()
        ),
        (
            "GET",
            "/api/v4/spot/orders/t-abc123",
            "currency_pair=BTC_USDT"
        )
    );
    assert!(lookup.signed);
    assert_eq!(lookup.limit_group.as_str(), "private-rest");
    // Found, filled: the state the place answer would have given.
    let out = answer(&mut v, lookup.tag, 200, &documented_filled_order(), T0 + 40);
    let o = the_order(&out);
    assert_eq!(
        (o.status, o.client_id.as_str(), o.order_id.as_str()),
        (OrderStatus::Filled, "abc123", "1852454420")
    );
    assert!(rest_requests(&out).is_empty());
}

#[test]
fn not_found_open_or_finished_is_rejected() {
    let mut v = venue_with_creds();
    let lookup = lost_place(&mut v, "gone-1");
    // Too early to believe: asked again once the venue has settled.
    let out = answer(&mut v, lookup.tag, 404, NOT_FOUND, T0 + 30);
    assert!(out.events.is_empty() && rest_requests(&out).is_empty());
    assert!(arms_timer(&out));
    assert!(rest_requests(&v.on_timer(LOOKUP_TIMER, T0 + 500).unwrap()).is_empty());
    let out = v.on_timer(LOOKUP_TIMER, T0 + 1_000).unwrap();
    let again = the_request(&out);
    assert_eq!(again.path.as_str(), "/api/v4/spot/orders/t-gone-1");
    assert!(out
        .actions
        .iter()
        .any(|a| matches!(a, Action::CancelTimer(n) if n.as_str() == LOOKUP_TIMER)));
    // Still not open: was it placed and finished already? Gate forgets texts of finished
    // orders, so the finished list is searched.
    let out = answer(&mut v, again.tag, 404, NOT_FOUND, T0 + 1_020);
    assert!(out.events.is_empty());
    let list = the_request(&out);
    assert_eq!(list.path.as_str(), "/api/v4/spot/orders");
    assert_eq!(
        list.query.as_str(),
        format!(
            "currency_pair=BTC_USDT&status=finished&side=buy&from={}&limit=1000",
            T0 / 1000 - 70
        )
    );
    assert!(list.signed);
    // Another order finished meanwhile; not this one: never placed.
    let other = r#"[{"id":"7","text":"t-other","currency_pair":"BTC_USDT","side":"buy","amount":"1","price":"1","left":"0","status":"closed","finish_as":"filled"}]"#;
    let out = answer(&mut v, list.tag, 200, other, T0 + 1_050);
    let o = the_order(&out);
    assert_eq!(
        (o.status, o.client_id.as_str(), o.order_id.as_str()),
        (OrderStatus::Rejected, "gone-1", "")
    );
    assert_eq!(o.qty, Num::parse("0.001").unwrap());
}

#[test]
fn found_among_the_finished_orders() {
    let mut v = venue_with_creds();
    let lookup = lost_place(&mut v, "abc123");
    let out = answer(&mut v, lookup.tag, 404, NOT_FOUND, T0 + 1_500);
    let list = the_request(&out);
    let body = format!("[{}]", documented_filled_order());
    let o = the_order(&answer(&mut v, list.tag, 200, &body, T0 + 1_600));
    assert_eq!(
        (o.status, o.client_id.as_str()),
        (OrderStatus::Filled, "abc123")
    );
}

#[test]
fn failed_lookups_back_off_then_say_unknown() {
    let mut v = venue_with_creds();
    let mut lookup = lost_place(&mut v, "slow-1");
    let mut now = T0;
    // The first try went out with the place's answer; four more follow 0.5, 1, 2, 4 s after
    // each failure.
    for wait in [500, 1_000, 2_000, 4_000] {
        let out = answer(&mut v, lookup.tag, 502, "bad gateway", now);
        assert!(out.events.is_empty() && rest_requests(&out).is_empty());
        assert!(arms_timer(&out));
        assert!(rest_requests(&v.on_timer(LOOKUP_TIMER, now + wait - 1).unwrap()).is_empty());
        now += wait;
        lookup = the_request(&v.on_timer(LOOKUP_TIMER, now).unwrap());
        assert_eq!(lookup.path.as_str(), "/api/v4/spot/orders/t-slow-1");
    }
    // The fifth fails too (no answer at all): the venue never said.
    let out = answer(&mut v, lookup.tag, 0, "", now + 10_000);
    let o = the_order(&out);
    assert_eq!(
        (o.status, o.client_id.as_str()),
        (OrderStatus::Unknown, "slow-1")
    );
    assert!(rest_requests(&out).is_empty());
    assert!(out.rejects[0].detail.contains("5 lookups"), "{out:?}");
}

#[test]
fn a_refused_cancel_looks_the_order_up_by_id() {
    let mut v = venue_with_creds();
    let cancel = CancelOrder {
        instrument: order("x").instrument,
        order_id: "1852454420".into(),
    };
    v.cancel_order(&cancel, 8).unwrap();
    let out = answer(
        &mut v,
        8,
        400,
        r#"{"label":"ORDER_CLOSED","message":"Order already closed"}"#,
        T0,
    );
    assert!(out.events.is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "cancel_rejected");
    assert!(out.rejects[0].detail.starts_with("order 1852454420: "));
    let lookup = the_request(&out);
    assert_eq!(
        (lookup.path.as_str(), lookup.query.as_str()),
        ("/api/v4/spot/orders/1852454420", "currency_pair=BTC_USDT")
    );
    // It had filled: the caller learns it.
    let o = the_order(&answer(
        &mut v,
        lookup.tag,
        200,
        &documented_filled_order(),
        T0 + 30,
    ));
    assert_eq!(
        (o.status, o.order_id.as_str()),
        (OrderStatus::Filled, "1852454420")
    );
    // An id Gate does not know: said, with no made-up order.
    v.cancel_order(&cancel, 9).unwrap();
    let lookup = the_request(&answer(&mut v, 9, 404, NOT_FOUND, T0));
    let out = answer(&mut v, lookup.tag, 404, NOT_FOUND, T0 + 30);
    assert!(out.events.is_empty() && rest_requests(&out).is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "order_not_found");
    // Refused credentials are not the order's business: no lookup.
    v.cancel_order(&cancel, 10).unwrap();
    let out = answer(
        &mut v,
        10,
        401,
        r#"{"label":"INVALID_KEY","message":"Invalid API Key"}"#,
        T0,
    );
    assert!(rest_requests(&out).is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "credentials_refused");
}

#[test]
fn a_lost_place_without_a_client_id_is_unknown_at_once() {
    let mut v = venue_with_creds();
    v.place_order(&order(""), 5).unwrap();
    let out = answer(&mut v, 5, 0, "", T0);
    assert_eq!(the_order(&out).status, OrderStatus::Unknown);
    // Nothing to look it up by: the open orders are re-read instead.
    let paths: Vec<String> = rest_requests(&out)
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert!(
        paths.contains(&"/api/v4/spot/open_orders".to_owned()),
        "{paths:?}"
    );
}

#[test]
fn the_lookup_timer_is_declared_with_credentials_only() {
    let d = venue_with_creds().describe();
    let timer = d
        .timers
        .iter()
        .find(|t| t.name.as_str() == LOOKUP_TIMER)
        .unwrap();
    assert_eq!(timer.period_ms, 250);
    let resource = d
        .resources
        .iter()
        .find(|r| r.name.as_str() == LOOKUP_TIMER)
        .unwrap();
    assert_eq!(resource.kind, ResourceKind::Timer);
    assert!(resource.depends_on.iter().any(|n| n.as_str() == "rest"));
    assert!(venue().describe().timers.is_empty());
}
