//! The account is re-read when the private connection opens; a read that fails (a 5xx, a
//! 429, no answer) is tried again on the lookup timer until Gate answers or the tries are
//! spent, and a new open starts the schedule afresh.

mod common;

use common::*;
use gateio_plugin::describe::LOOKUP_TIMER;
use gateio_plugin::GateioVenue;
use plugin_api::{Action, ConnId, ErrorKind, Event, Output, RestRequest, RestResponse, Venue};

/// Wall-clock time of the first failed read in these tests.
const T0: u64 = 1_700_000_000_000;
const ACCOUNTS: &str = "/api/v4/spot/accounts";
const OPEN_ORDERS: &str = "/api/v4/spot/open_orders";
const SERVER_ERROR: &str = r#"{"label":"SERVER_ERROR","message":"x"}"#;

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

/// The private connection opens: the balances read and the open-orders read.
fn open(v: &mut GateioVenue) -> (RestRequest, RestRequest) {
    let reqs = rest_requests(&v.on_connected(ConnId(3), "private").unwrap());
    let by_path = |p: &str| reqs.iter().find(|r| r.path.as_str() == p).unwrap().clone();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    (by_path(ACCOUNTS), by_path(OPEN_ORDERS))
}

fn arms_timer(out: &Output) -> bool {
    out.actions
        .iter()
        .any(|a| matches!(a, Action::ArmTimer(n) if n.as_str() == LOOKUP_TIMER))
}

fn documented(section: &str) -> String {
    jsonl("samples/doc_rest_examples.jsonl")
        .into_iter()
        .find(|d| d["section"].as_str().unwrap().starts_with(section))
        .unwrap()["json"]
        .to_string()
}

#[test]
fn a_failed_read_is_tried_again_then_gives_the_balances() {
    let mut v = venue_with_creds();
    let (accounts, orders) = open(&mut v);
    // Both reads meet an outage: nothing is emitted, the timer is armed.
    let out = answer(&mut v, accounts.tag, 503, SERVER_ERROR, T0);
    assert!(out.events.is_empty() && out.rejects.is_empty(), "{out:?}");
    assert!(rest_requests(&out).is_empty() && arms_timer(&out));
    let out = answer(&mut v, orders.tag, 0, "", T0);
    assert!(out.events.is_empty() && arms_timer(&out));
    // Half a second later, both are read again.
    assert!(rest_requests(&v.on_timer(LOOKUP_TIMER, T0 + 499).unwrap()).is_empty());
    let again = rest_requests(&v.on_timer(LOOKUP_TIMER, T0 + 500).unwrap());
    let paths: Vec<&str> = again.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, [ACCOUNTS, OPEN_ORDERS]);
    assert!(again.iter().all(|r| r.signed));
    // Gate answers: the balances and the open orders.
    let out = answer(
        &mut v,
        again[0].tag,
        200,
        &documented("GET /spot/accounts"),
        T0 + 520,
    );
    assert!(
        matches!(&out.events[0], Event::Balance(b) if b.asset.as_str() == "ETH"),
        "{out:?}"
    );
    assert!(rest_requests(&out).is_empty());
    let body = documented("GET /spot/open_orders");
    let out = answer(&mut v, again[1].tag, 200, &body, T0 + 520);
    assert!(matches!(&out.events[0], Event::Order(_)), "{out:?}");
}

#[test]
fn refused_credentials_are_not_retried() {
    let mut v = venue_with_creds();
    let (accounts, _) = open(&mut v);
    let e = v
        .on_rest_response(
            RestResponse {
                tag: accounts.tag,
                status: 401,
                body: r#"{"label":"INVALID_KEY","message":"Invalid API Key"}"#.into(),
                error: "".into(),
            },
            T0 * 1_000_000,
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("GET /spot/accounts"), "{}", e.message);
    assert!(rest_requests(&v.on_timer(LOOKUP_TIMER, T0 + 60_000).unwrap()).is_empty());
}

#[test]
fn spent_tries_say_the_account_could_not_be_read() {
    let mut v = venue_with_creds();
    let (mut read, _) = open(&mut v);
    let mut now = T0;
    // The first read went out with the open; four more follow 0.5, 1, 2, 4 s after each
    // failure.
    for wait in [500, 1_000, 2_000, 4_000] {
        let out = answer(&mut v, read.tag, 429, "", now);
        assert!(out.rejects.is_empty() && arms_timer(&out), "{out:?}");
        now += wait;
        let reqs = rest_requests(&v.on_timer(LOOKUP_TIMER, now).unwrap());
        assert_eq!(reqs.len(), 1, "{reqs:?}");
        read = reqs[0].clone();
        assert_eq!(read.path.as_str(), ACCOUNTS);
    }
    let out = answer(&mut v, read.tag, 503, SERVER_ERROR, now);
    assert!(out.events.is_empty() && rest_requests(&out).is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "account_read_failed");
    assert!(
        out.rejects[0].detail.contains("after 5 tries"),
        "{:?}",
        out.rejects[0]
    );
    assert!(rest_requests(&v.on_timer(LOOKUP_TIMER, now + 60_000).unwrap()).is_empty());
}

#[test]
fn a_new_open_restarts_the_schedule() {
    let mut v = venue_with_creds();
    let (first, _) = open(&mut v);
    answer(&mut v, first.tag, 503, SERVER_ERROR, T0);
    // The connection drops and opens again before the retry: fresh reads, and the old
    // schedule is retired instead of running beside the new one.
    v.on_disconnected(ConnId(3)).unwrap();
    let (second, _) = open(&mut v);
    assert!(rest_requests(&v.on_timer(LOOKUP_TIMER, T0 + 500).unwrap()).is_empty());
    // The new round keeps its own count.
    let out = answer(&mut v, second.tag, 502, "bad gateway", T0 + 600);
    assert!(arms_timer(&out));
    let reqs = rest_requests(&v.on_timer(LOOKUP_TIMER, T0 + 1_100).unwrap());
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].path.as_str(), ACCOUNTS);
}
