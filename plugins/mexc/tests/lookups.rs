//! An order whose outcome is unknown (a lost place answer, a refused cancel) is looked up
//! until MEXC says what became of it: by its client id after a place, by its order id after
//! a cancel; failed lookups are retried on the lookup timer.

use mexc_plugin::descriptor::LOOKUP_TIMER;
use mexc_plugin::{create, Mexc};
use plugin_api::{
    Action, CancelOrder, Event, Instrument, NewOrder, Num, OrderStatus, OrderType, OrderUpdate,
    Output, ResourceKind, RestRequest, RestResponse, Side, Venue, VenueConfig,
};

/// Wall-clock time of the lost answer in these tests.
const T0: u64 = 1_700_000_000_000;
const DOES_NOT_EXIST: &str = r#"{"msg":"Order does not exist.","code":-2013,"_extend":null}"#;
/// The documented answer of `GET /api/v3/order`, filled (status and quantities changed).
const FILLED: &str = r#"{"symbol":"MXUSDT","orderId":"06a480e69e604477bfb48dddd5f0b750","orderListId":-1,"clientOrderId":"c-1","price":"0.1","origQty":"50","executedQty":"50","cummulativeQuoteQty":"5","status":"FILLED","timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.0","time":1499827319559,"updateTime":1499827319559,"isWorking":false,"origQuoteOrderQty":"0.000000"}"#;

fn venue() -> Mexc {
    create(&VenueConfig {
        name: "mexc".into(),
        settings_json: r#"{"credentials":{"api_key":"k","api_secret":"s"},
            "symbols":[{"symbol":"MXUSDT","base":"MX","quote":"USDT"}]}"#
            .into(),
    })
    .unwrap()
}

fn order(client_id: &str) -> NewOrder {
    NewOrder {
        instrument: Instrument::new("MX/USDT", "MXUSDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("0.1").unwrap(),
        qty: Num::parse("50").unwrap(),
        quote_qty: Num::ZERO,
        client_id: client_id.into(),
    }
}

/// Answers `tag` at wall-clock `at_ms`.
fn answer(v: &mut Mexc, tag: u64, status: u16, body: &str, at_ms: u64) -> Output {
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
    let reqs: Vec<RestRequest> = out
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Rest(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), 1, "{out:?}");
    reqs[0].clone()
}

fn no_request(out: &Output) -> bool {
    !out.actions.iter().any(|a| matches!(a, Action::Rest(_)))
}

fn the_order(out: &Output) -> OrderUpdate {
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

/// A place answered 503: a lookup by the order's client id.
fn lost_place(v: &mut Mexc, client_id: &str) -> RestRequest {
    v.place_order(&order(client_id), 11).unwrap();
    let out = answer(
        v,
        11,
        503,
        r#"{"code":503,"msg":"service not available, please try again"}"#,
        T0,
    );
    assert!(out.events.is_empty(), "no verdict yet: {out:?}");
    assert_eq!(out.rejects[0].reason.as_str(), "order_outcome_unknown");
    the_request(&out)
}

#[test]
fn a_lost_place_is_looked_up_by_its_client_id() {
    let mut v = venue();
    let lookup = lost_place(&mut v, "c-1");
    assert_eq!(
        (
            lookup.method.as_str(),
            lookup.path.as_str(),
            lookup.query.as_str()
        ),
        (
            "GET",
            "/api/v3/order",
            "symbol=MXUSDT&origClientOrderId=c-1"
        )
    );
    assert!(lookup.signed);
    assert_eq!(
        (lookup.limit_group.as_str(), lookup.weight),
        ("limit-order", 2)
    );
    let o = the_order(&answer(&mut v, lookup.tag, 200, FILLED, T0 + 40));
    assert_eq!(
        (o.status, o.client_id.as_str(), o.order_id.as_str()),
        (
            OrderStatus::Filled,
            "c-1",
            "06a480e69e604477bfb48dddd5f0b750"
        )
    );
    assert_eq!(o.filled_qty, Num::parse("50").unwrap());
}

#[test]
fn does_not_exist_is_rejected_once_settled() {
    let mut v = venue();
    let lookup = lost_place(&mut v, "gone 1");
    assert_eq!(
        lookup.query.as_str(),
        "symbol=MXUSDT&origClientOrderId=gone%201"
    );
    // Too early to believe: asked again once MEXC has settled.
    let out = answer(&mut v, lookup.tag, 400, DOES_NOT_EXIST, T0 + 30);
    assert!(out.events.is_empty() && no_request(&out));
    assert!(arms_timer(&out));
    assert!(no_request(&v.on_timer(LOOKUP_TIMER, T0 + 999).unwrap()));
    let again = the_request(&v.on_timer(LOOKUP_TIMER, T0 + 1_000).unwrap());
    assert_eq!(again.query, lookup.query);
    let out = answer(&mut v, again.tag, 400, DOES_NOT_EXIST, T0 + 1_020);
    let o = the_order(&out);
    assert_eq!(
        (o.status, o.client_id.as_str(), o.order_id.as_str()),
        (OrderStatus::Rejected, "gone 1", "")
    );
    assert!(no_request(&out));
    assert_eq!(out.rejects[0].reason.as_str(), "order_not_found");
}

#[test]
fn failed_lookups_back_off_then_say_unknown() {
    let mut v = venue();
    let mut lookup = lost_place(&mut v, "slow-1");
    let mut now = T0;
    for wait in [500, 1_000, 2_000, 4_000] {
        let out = answer(&mut v, lookup.tag, 504, "", now);
        assert!(out.events.is_empty() && no_request(&out) && arms_timer(&out));
        assert!(no_request(
            &v.on_timer(LOOKUP_TIMER, now + wait - 1).unwrap()
        ));
        now += wait;
        lookup = the_request(&v.on_timer(LOOKUP_TIMER, now).unwrap());
    }
    let out = answer(&mut v, lookup.tag, 0, "", now + 10_000);
    let o = the_order(&out);
    assert_eq!(
        (o.status, o.client_id.as_str()),
        (OrderStatus::Unknown, "slow-1")
    );
    assert!(no_request(&out));
    // A refusal that another try would not change (a bad signature) gives up at once.
    let lookup = lost_place(&mut v, "bad-sig");
    let out = answer(
        &mut v,
        lookup.tag,
        400,
        r#"{"code":700002,"msg":"Signature for this request is not valid."}"#,
        T0 + 10,
    );
    assert_eq!(the_order(&out).status, OrderStatus::Unknown);
}

#[test]
fn a_refused_cancel_looks_the_order_up_by_id() {
    let mut v = venue();
    let cancel = CancelOrder {
        instrument: order("x").instrument,
        order_id: "06a480e69e604477bfb48dddd5f0b750".into(),
    };
    v.cancel_order(&cancel, 14).unwrap();
    let out = answer(
        &mut v,
        14,
        400,
        r#"{"code":-2011,"msg":"Unknown order sent"}"#,
        T0,
    );
    assert!(out.events.is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "cancel_rejected");
    let lookup = the_request(&out);
    assert_eq!(
        (lookup.method.as_str(), lookup.query.as_str()),
        (
            "GET",
            "symbol=MXUSDT&orderId=06a480e69e604477bfb48dddd5f0b750"
        )
    );
    let o = the_order(&answer(&mut v, lookup.tag, 200, FILLED, T0 + 30));
    assert_eq!(
        (o.status, o.order_id.as_str()),
        (OrderStatus::Filled, "06a480e69e604477bfb48dddd5f0b750")
    );
    // An id MEXC does not know: said, with no made-up order.
    v.cancel_order(&cancel, 15).unwrap();
    let lookup = the_request(&answer(&mut v, 15, 0, "", T0));
    let out = answer(&mut v, lookup.tag, 400, DOES_NOT_EXIST, T0 + 30);
    assert!(out.events.is_empty() && no_request(&out));
    assert_eq!(out.rejects[0].reason.as_str(), "order_not_found");
}

#[test]
fn a_lost_place_without_a_client_id_is_unknown_at_once() {
    let mut v = venue();
    v.place_order(&order(""), 11).unwrap();
    let out = answer(&mut v, 11, 0, "", T0);
    assert_eq!(the_order(&out).status, OrderStatus::Unknown);
    assert!(no_request(&out));
}

#[test]
fn the_lookup_timer_is_declared_and_stops_before_rest() {
    let d = venue().describe();
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
}
