//! The host-facing life cycle: describe, start, the listen-key flow (POST → Open + ArmTimer →
//! PUT on the timer → DELETE at stop), private pushes, trading requests and their answers,
//! and credential redaction.

use abi_stable::std_types::RSlice;
use mexc_plugin::config::Settings;
use mexc_plugin::proto::{
    Body, PrivateAccountV3Api, PrivateDealsV3Api, PrivateOrdersV3Api, PushDataV3ApiWrapper,
};
use mexc_plugin::{create, Mexc};
use plugin_api::{
    Action, CancelOrder, ConnId, ErrorKind, Event, FrameKind, InFrame, Instrument, NewOrder, Num,
    OpenMode, OrderStatus, OrderType, Output, ResourceKind, RestRequest, RestResponse, Side,
    StreamKind, Topic, Venue, VenueConfig,
};
use prost::Message;

const KEY: &str = "mx0aBYs33eIilxBWC5";
const SECRET: &str = "45d0b3c26f2644f19bfb98b07741b2f5";
const LISTEN_KEY: &str = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";

fn settings() -> String {
    format!(
        r#"{{"credentials":{{"api_key":"{KEY}","api_secret":"{SECRET}"}},"fetch_exchange_info":true,
            "symbols":[{{"symbol":"MXUSDT","base":"MX","quote":"USDT"}}]}}"#
    )
}

fn venue() -> Mexc {
    create(&VenueConfig {
        name: "mexc".into(),
        settings_json: settings().into(),
    })
    .unwrap()
}

fn rests(out: &Output) -> Vec<RestRequest> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Rest(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn ok(req: &RestRequest, body: &str) -> RestResponse {
    RestResponse {
        tag: req.tag,
        status: 200,
        body: body.into(),
        error: "".into(),
    }
}

#[test]
fn describe_declares_connections_limits_and_shutdown_graph() {
    let d = venue().describe();
    assert_eq!(d.venue.as_str(), "mexc");
    assert!(d.trading);
    assert_eq!(d.streams.len(), 6);
    let public = &d.connections[0];
    assert_eq!(
        (public.name.as_str(), public.url.as_str(), public.open),
        ("public", "wss://wbs-api.mexc.com/ws", OpenMode::OnDemand)
    );
    assert_eq!(
        public.kinds.as_slice(),
        &[
            StreamKind::BookTicker,
            StreamKind::Trades,
            StreamKind::Depth
        ]
    );
    assert_eq!(
        (
            public.max_subscriptions,
            public.max_lifetime_ms,
            public.max_outbound_per_sec
        ),
        (30, 86_400_000, 100)
    );
    assert_eq!(
        (public.heartbeat_ms, public.stale_after_ms),
        (20_000, 60_000)
    );
    let private = &d.connections[1];
    assert_eq!(
        (private.name.as_str(), private.open),
        ("private", OpenMode::ByPlugin)
    );
    assert_eq!(d.timers[0].name.as_str(), "listen-key-keepalive");
    assert_eq!(d.timers[0].period_ms, 1_800_000);
    assert!(d
        .rate_limits
        .iter()
        .all(|l| l.capacity == 500 && l.window_ms == 10_000));

    let res = |name: &str| d.resources.iter().find(|r| r.name == name).unwrap().clone();
    let deps = |name: &str| {
        res(name)
            .depends_on
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert!(deps("listen-key-keepalive").contains(&"rest".to_owned()));
    assert!(deps("private").contains(&"rest".to_owned()));
    assert!(deps("public").contains(&"public-queue".to_owned()));
    for l in d.rate_limits.iter() {
        assert_eq!(res(&l.name).kind, ResourceKind::RateLimiter);
        assert!(deps("rest").contains(&l.name.to_string()));
    }
    // Every declared connection, timer and limiter is a resource; names are unique.
    let mut names: Vec<_> = d.resources.iter().map(|r| r.name.to_string()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), d.resources.len());
    // Priorities respect the order: timer < connections < queues < rest < limiters.
    assert!(res("listen-key-keepalive").stop_priority < res("private").stop_priority);
    assert!(res("public").stop_priority < res("public-queue").stop_priority);
    assert!(res("public-queue").stop_priority < res("rest").stop_priority);
    assert!(res("rest").stop_priority < res("limit-order").stop_priority);

    let public_only = Mexc::new(Settings::default()).unwrap().describe();
    assert!(
        !public_only.trading && public_only.connections.len() == 1 && public_only.timers.is_empty()
    );
}

#[test]
fn listen_key_flow() {
    let mut v = venue();
    let out = v.start(1_000).unwrap();
    let reqs = rests(&out);
    let paths: Vec<_> = reqs
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("GET", "/api/v3/exchangeInfo"),
            ("POST", "/api/v3/userDataStream"),
            ("GET", "/api/v3/account")
        ]
    );
    let post = &reqs[1];
    assert!(post.signed && post.query.is_empty());

    // Signing adds recvWindow, timestamp, signature and the key header.
    let signed = v.sign(post.clone(), 1644489390087).unwrap();
    assert!(signed
        .query
        .starts_with("recvWindow=5000&timestamp=1644489390087&signature="));
    assert_eq!(signed.headers[0].value.as_str(), KEY);

    let out = v
        .on_rest_response(ok(post, &format!(r#"{{"listenKey":"{LISTEN_KEY}"}}"#)), 5)
        .unwrap();
    assert_eq!(
        out.actions.as_slice(),
        &[
            Action::Open {
                name: "private".into(),
                url: format!("wss://wbs-api.mexc.com/ws?listenKey={LISTEN_KEY}").into()
            },
            Action::ArmTimer("listen-key-keepalive".into()),
        ]
    );

    let out = v.on_timer("listen-key-keepalive", 1_800_000).unwrap();
    let put = &rests(&out)[0];
    assert_eq!(
        (put.method.as_str(), put.path.as_str()),
        ("PUT", "/api/v3/userDataStream")
    );
    assert_eq!(put.query.as_str(), format!("listenKey={LISTEN_KEY}"));
    assert!(put.signed);
    assert!(v.on_rest_response(ok(put, "{}"), 6).unwrap().is_empty());

    // A failed keep-alive makes a new key, which re-opens the private stream.
    let out = v.on_timer("listen-key-keepalive", 3_600_000).unwrap();
    let put = &rests(&out)[0];
    let failed = RestResponse {
        tag: put.tag,
        status: 400,
        body: r#"{"code":730707,"msg":"listenKey expired"}"#.into(),
        error: "".into(),
    };
    let out = v.on_rest_response(failed, 7).unwrap();
    let repost = &rests(&out)[0];
    assert_eq!(repost.method.as_str(), "POST");
    let out = v
        .on_rest_response(ok(repost, r#"{"listenKey":"newkey123"}"#), 8)
        .unwrap();
    assert!(
        matches!(&out.actions[0], Action::Open { url, .. } if url.ends_with("listenKey=newkey123"))
    );

    let out = v.stop(9_000).unwrap();
    let delete = &rests(&out)[0];
    assert_eq!(
        (delete.method.as_str(), delete.query.as_str()),
        ("DELETE", "listenKey=newkey123")
    );
    assert!(out
        .actions
        .contains(&Action::CancelTimer("listen-key-keepalive".into())));
    assert!(v.on_rest_response(ok(delete, "{}"), 10).unwrap().is_empty());
    assert!(v
        .on_timer("listen-key-keepalive", 10_000)
        .unwrap()
        .is_empty());
}

fn private_push(body: Body, symbol: Option<&str>) -> Vec<u8> {
    PushDataV3ApiWrapper {
        channel: "spot@private.x.v3.api.pb".to_owned(),
        body: Some(body),
        symbol: symbol.map(str::to_owned),
        symbol_id: None,
        create_time: Some(1736417034305),
        send_time: Some(1736417034307),
    }
    .encode_to_vec()
}

#[test]
fn private_pushes_become_order_fill_and_balance_events() {
    let mut v = venue();
    let conn = ConnId(3);
    v.on_connected(conn, "private").unwrap();
    let topics: Vec<Topic> = [StreamKind::Orders, StreamKind::Fills, StreamKind::Balances]
        .into_iter()
        .map(|kind| Topic {
            kind,
            instrument: Instrument::default(),
        })
        .collect();
    let frames = v.subscribe(conn, &topics, 0).unwrap();
    assert_eq!(
        std::str::from_utf8(&frames[0].data).unwrap(),
        r#"{"method":"SUBSCRIPTION","params":["spot@private.orders.v3.api.pb","spot@private.deals.v3.api.pb","spot@private.account.v3.api.pb"]}"#
    );
    let order = PrivateOrdersV3Api {
        id: "C02__505979017439002624115".into(),
        price: "3.5121".into(),
        quantity: "1".into(),
        avg_price: "3.6962".into(),
        order_type: 5,
        trade_type: 2,
        cumulative_quantity: "1".into(),
        status: 2,
        create_time: 1736417034259,
        ..Default::default()
    };
    let deal = PrivateDealsV3Api {
        price: "3.6962".into(),
        quantity: "1".into(),
        amount: "3.6962".into(),
        trade_type: 2,
        trade_id: "505979017439002624X1".into(),
        order_id: "C02__505979017439002624115".into(),
        fee_amount: "0.0003998377369698171".into(),
        fee_currency: "MX".into(),
        time: 1736417034280,
        ..Default::default()
    };
    let account = PrivateAccountV3Api {
        vcoin_name: "USDT".into(),
        balance_amount: "21.94210356004384".into(),
        frozen_amount: "0".into(),
        r#type: "CONTRACT_TRANSFER".into(),
        time: 1736416910000,
        ..Default::default()
    };
    let mut events = Vec::new();
    for bytes in [
        private_push(Body::PrivateOrders(order), Some("MXUSDT")),
        private_push(Body::PrivateDeals(deal), Some("MXUSDT")),
        private_push(Body::PrivateAccount(account), None),
    ] {
        let out = v
            .on_frame(
                conn,
                InFrame {
                    kind: FrameKind::Binary,
                    data: RSlice::from_slice(&bytes),
                },
                77,
            )
            .unwrap();
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        events.extend(out.events);
    }
    let [Event::Order(o), Event::Fill(f), Event::Balance(b)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (o.instrument.symbol.as_str(), o.side, o.status),
        ("MX/USDT", Side::Sell, OrderStatus::Filled)
    );
    assert_eq!(o.filled_qty, Num::parse("1").unwrap());
    assert_eq!(o.stamp.venue_ts_ms, 1736417034307);
    assert_eq!(f.fee.to_string(), "0.0003998377369698171");
    assert_eq!(
        (f.fee_asset.as_str(), f.trade_id.as_str()),
        ("MX", "505979017439002624X1")
    );
    assert_eq!(b.available.to_string(), "21.94210356004384");
    assert_eq!(b.asset.as_str(), "USDT");

    // Losing the private stream is an explicit gap on the three private streams.
    let out = v.on_disconnected(conn).unwrap();
    assert_eq!(out.events.len(), 3);
    assert!(out.events.iter().all(|e| matches!(e, Event::Gap(_))));
    // On reconnect, balances are fetched again.
    let out = v.on_connected(ConnId(4), "private").unwrap();
    assert_eq!(rests(&out)[0].path.as_str(), "/api/v3/account");
}

#[test]
fn orders_place_cancel_and_answers() {
    let mut v = venue();
    let mx = Instrument::new("MX/USDT", "").unwrap();
    let order = NewOrder {
        instrument: mx,
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("0.1").unwrap(),
        qty: Num::parse("50").unwrap(),
        quote_qty: Num::ZERO,
        client_id: "c-1".into(),
    };
    let req = v.place_order(&order, 11).unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str(), req.tag),
        ("POST", "/api/v3/order", 11)
    );
    assert_eq!(
        req.query.as_str(),
        "symbol=MXUSDT&side=BUY&type=LIMIT&quantity=50&price=0.1&newClientOrderId=c-1"
    );
    assert!(req.signed);
    assert_eq!(
        v.place_order(&order, 11).unwrap_err().kind,
        ErrorKind::Protocol,
        "tag in use"
    );
    let body = r#"{"symbol":"MXUSDT","orderId":"06a480e69e604477bfb48dddd5f0b750","orderListId":-1,"price":"0.1","origQty":"50","type":"LIMIT","side":"BUY","transactTime":1666676533741}"#;
    let out = v.on_rest_response(ok(&req, body), 1).unwrap();
    let [Event::Order(o)] = out.events.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(
        (o.status, o.order_id.as_str(), o.client_id.as_str()),
        (OrderStatus::Open, "06a480e69e604477bfb48dddd5f0b750", "c-1")
    );

    // A 4xx answer: the order was refused.
    let req = v.place_order(&order, 12).unwrap();
    let refused = RestResponse {
        tag: 12,
        status: 400,
        body: r#"{"code":30004,"msg":"Insufficient position"}"#.into(),
        error: "".into(),
    };
    let out = v.on_rest_response(refused, 2).unwrap();
    assert!(matches!(&out.events[0], Event::Order(o) if o.status == OrderStatus::Rejected));
    assert!(out.rejects[0].detail.contains("30004"));
    assert_eq!(req.tag, 12);
    // A timeout: outcome unknown, no event.
    v.place_order(&order, 13).unwrap();
    let lost = RestResponse {
        tag: 13,
        status: 0,
        body: "".into(),
        error: "timeout".into(),
    };
    let out = v.on_rest_response(lost, 3).unwrap();
    assert!(out.events.is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "order_outcome_unknown");

    let cancel = CancelOrder {
        instrument: mx,
        order_id: "06a480e69e604477bfb48dddd5f0b750".into(),
    };
    let req = v.cancel_order(&cancel, 14).unwrap();
    assert_eq!(
        (req.method.as_str(), req.query.as_str()),
        (
            "DELETE",
            "symbol=MXUSDT&orderId=06a480e69e604477bfb48dddd5f0b750"
        )
    );
    let body = r#"{"symbol":"MXUSDT","orderId":"06a480e69e604477bfb48dddd5f0b750","price":"0.1","origQty":"50","executedQty":"0","status":"CANCELED","type":"LIMIT","side":"BUY"}"#;
    let out = v.on_rest_response(ok(&req, body), 4).unwrap();
    assert!(matches!(&out.events[0], Event::Order(o) if o.status == OrderStatus::Cancelled));

    let mx = v.resolve("MX/USDT").unwrap();
    let req = v
        .query_order(&mx, "06a480e69e604477bfb48dddd5f0b750", 15)
        .unwrap();
    assert_eq!((req.method.as_str(), req.weight), ("GET", 2));
    let req = v.account_request(16).unwrap();
    let out = v
        .on_rest_response(
            ok(
                &req,
                r#"{"balances":[{"asset":"MX","free":"3","locked":"0.5"}]}"#,
            ),
            5,
        )
        .unwrap();
    assert!(matches!(&out.events[0], Event::Balance(b) if b.locked.to_string() == "0.5"));

    let public = Mexc::new(Settings::default()).unwrap();
    assert!(public.sign(req, 1).is_err());
}

#[test]
fn credentials_never_leak() {
    let mut v = venue();
    let text = format!("{v:?}");
    assert!(!text.contains(SECRET) && !text.contains(KEY), "{text}");
    let out = v.start(1).unwrap();
    let post = rests(&out)[1].clone();
    v.on_rest_response(ok(&post, &format!(r#"{{"listenKey":"{LISTEN_KEY}"}}"#)), 2)
        .unwrap();
    let text = format!("{v:?}");
    assert!(!text.contains(LISTEN_KEY), "{text}");
    let bad = RestResponse {
        tag: 999,
        status: 500,
        body: "x".into(),
        error: "".into(),
    };
    let out = v.on_rest_response(bad, 3).unwrap();
    assert!(!format!("{out:?}").contains(SECRET));
    let e = create(&VenueConfig {
        name: "m".into(),
        settings_json: format!(
            r#"{{"credentials":{{"api_key":"{KEY}","api_secret":"{SECRET}"}},"x":1}}"#
        )
        .into(),
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("`x`") && !e.message.contains(SECRET));
}

#[test]
fn exchange_info_fills_unknown_symbols_and_heartbeat_pings() {
    let mut v = venue();
    let out = v.start(1).unwrap();
    let info = rests(&out)[0].clone();
    let body = r#"{"symbols":[{"symbol":"MXUSDT","baseAsset":"WRONG","quoteAsset":"USDT"},{"symbol":"KASUSDC","baseAsset":"KAS","quoteAsset":"USDC"}]}"#;
    assert!(v.on_rest_response(ok(&info, body), 1).unwrap().is_empty());
    assert_eq!(
        v.resolve("KAS/USDC").unwrap().venue_symbol.as_str(),
        "KASUSDC"
    );
    assert_eq!(
        v.symbols().by_venue("MXUSDT").unwrap().symbol.as_str(),
        "MX/USDT"
    );
    let ping = v.heartbeat(ConnId(1), 5).unwrap().unwrap();
    assert_eq!(&*ping.data, br#"{"method":"PING"}"#);
}

/// A wrong key or secret is an error of the call that learns it (the host logs it and shows
/// it as the instance's last error) naming the keys to check; an order gets `Rejected`.
#[test]
fn refused_credentials_are_reported_naming_the_keys() {
    let refused = |e: plugin_api::PluginError| {
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(
            e.message.contains("`credentials.api_key`")
                && e.message.contains("`credentials.api_secret`")
                && !e.message.contains(SECRET),
            "{}",
            e.message
        );
        e.message.to_string()
    };
    let answer = |req: &RestRequest, status: u16, body: &str| RestResponse {
        tag: req.tag,
        status,
        body: body.into(),
        error: "".into(),
    };
    let mut v = venue();
    let out = v.start(1).unwrap();
    let reqs = rests(&out);
    let post = reqs
        .iter()
        .find(|r| r.path.as_str() == "/api/v3/userDataStream")
        .unwrap();
    let account = reqs
        .iter()
        .find(|r| r.path.as_str() == "/api/v3/account")
        .unwrap();
    let bad_signature = r#"{"code":700002,"msg":"Signature for this request is not valid."}"#;
    let e = v
        .on_rest_response(answer(post, 400, bad_signature), 2)
        .unwrap_err();
    assert!(refused(e).contains("700002"));
    let e = v
        .on_rest_response(
            answer(account, 400, r#"{"code":10072,"msg":"invalid access key"}"#),
            2,
        )
        .unwrap_err();
    assert!(refused(e).contains("10072"));
    // A timestamp outside recvWindow is not a credentials problem.
    let mut v = venue();
    let out = v.start(1).unwrap();
    let reqs = rests(&out);
    let post = reqs
        .iter()
        .find(|r| r.path.as_str() == "/api/v3/userDataStream")
        .unwrap();
    let out = v
        .on_rest_response(answer(post, 400, r#"{"code":700003,"msg":"x"}"#), 2)
        .unwrap();
    assert_eq!(out.rejects[0].reason.as_str(), "rest_error");
    // An order: Rejected, with the reason counted as `credentials_refused`.
    let order = NewOrder {
        instrument: v.resolve("MX/USDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("1").unwrap(),
        qty: Num::parse("2").unwrap(),
        quote_qty: Num::ZERO,
        client_id: "c1".into(),
    };
    let req = v.place_order(&order, 7).unwrap();
    let out = v
        .on_rest_response(answer(&req, 400, bad_signature), 3)
        .unwrap();
    assert!(matches!(&out.events[0], Event::Order(o) if o.status == OrderStatus::Rejected));
    assert_eq!(out.rejects[0].reason.as_str(), "credentials_refused");
}
