//! The balances are read when the private connection opens; a read that fails (a 5xx, a
//! 429, no answer) is tried again on the lookup timer until MEXC answers or the tries are
//! spent, and a new open starts the schedule afresh.

use mexc_plugin::descriptor::LOOKUP_TIMER;
use mexc_plugin::{create, Mexc};
use plugin_api::{
    Action, ConnId, ErrorKind, Event, Output, RestRequest, RestResponse, Venue, VenueConfig,
};

/// Wall-clock time of the first failed read in these tests.
const T0: u64 = 1_700_000_000_000;
const ACCOUNT: &str = "/api/v3/account";
const UNAVAILABLE: &str = r#"{"code":503,"msg":"service not available, please try again"}"#;
/// The documented answer of `GET /api/v3/account`.
const BALANCES: &str = r#"{"canTrade":true,"updateTime":null,"accountType":"SPOT","balances":[{"asset":"NBNTEST","free":"1111078","locked":"33"},{"asset":"MAIN","free":"1020000","locked":"0"}],"permissions":["SPOT"]}"#;

fn venue() -> Mexc {
    create(&VenueConfig {
        name: "mexc".into(),
        settings_json: r#"{"credentials":{"api_key":"k","api_secret":"s"}}"#.into(),
    })
    .unwrap()
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

fn requests(out: &Output) -> Vec<RestRequest> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Rest(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// The one request of `out`, an account read.
fn the_read(out: &Output) -> RestRequest {
    let reqs = requests(out);
    assert_eq!(reqs.len(), 1, "{out:?}");
    assert_eq!(reqs[0].path.as_str(), ACCOUNT);
    assert!(reqs[0].signed);
    reqs[0].clone()
}

/// The private connection opens: the balances are read.
fn open(v: &mut Mexc) -> RestRequest {
    the_read(&v.on_connected(ConnId(4), "private").unwrap())
}

fn arms_timer(out: &Output) -> bool {
    out.actions
        .iter()
        .any(|a| matches!(a, Action::ArmTimer(n) if n.as_str() == LOOKUP_TIMER))
}

#[test]
fn a_failed_read_is_tried_again_then_gives_the_balances() {
    let mut v = venue();
    let read = open(&mut v);
    let out = answer(&mut v, read.tag, 503, UNAVAILABLE, T0);
    assert!(out.events.is_empty() && out.rejects.is_empty(), "{out:?}");
    assert!(requests(&out).is_empty() && arms_timer(&out));
    assert!(requests(&v.on_timer(LOOKUP_TIMER, T0 + 499).unwrap()).is_empty());
    let again = the_read(&v.on_timer(LOOKUP_TIMER, T0 + 500).unwrap());
    // No answer at all this time: tried again a second later.
    let out = answer(&mut v, again.tag, 0, "", T0 + 600);
    assert!(arms_timer(&out));
    let again = the_read(&v.on_timer(LOOKUP_TIMER, T0 + 1_600).unwrap());
    let out = answer(&mut v, again.tag, 200, BALANCES, T0 + 1_650);
    assert!(
        matches!(&out.events[..], [Event::Balance(a), Event::Balance(b)]
            if a.asset.as_str() == "NBNTEST" && b.asset.as_str() == "MAIN"),
        "{out:?}"
    );
    assert!(requests(&out).is_empty());
}

#[test]
fn refused_credentials_are_not_retried() {
    let mut v = venue();
    let read = open(&mut v);
    let e = v
        .on_rest_response(
            RestResponse {
                tag: read.tag,
                status: 401,
                body: r#"{"code":10072,"msg":"invalid access key"}"#.into(),
                error: "".into(),
            },
            T0 * 1_000_000,
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("GET /api/v3/account"), "{}", e.message);
    assert!(requests(&v.on_timer(LOOKUP_TIMER, T0 + 60_000).unwrap()).is_empty());
}

#[test]
fn spent_tries_say_the_account_could_not_be_read() {
    let mut v = venue();
    let mut read = open(&mut v);
    let mut now = T0;
    // The first read went out with the open; four more follow 0.5, 1, 2, 4 s after each
    // failure.
    for wait in [500, 1_000, 2_000, 4_000] {
        let out = answer(&mut v, read.tag, 429, "", now);
        assert!(out.rejects.is_empty() && arms_timer(&out), "{out:?}");
        now += wait;
        read = the_read(&v.on_timer(LOOKUP_TIMER, now).unwrap());
    }
    let out = answer(&mut v, read.tag, 503, UNAVAILABLE, now);
    assert!(out.events.is_empty() && requests(&out).is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "account_read_failed");
    assert!(
        out.rejects[0].detail.contains("after 5 tries"),
        "{:?}",
        out.rejects[0]
    );
    assert!(requests(&v.on_timer(LOOKUP_TIMER, now + 60_000).unwrap()).is_empty());
}

#[test]
fn a_new_open_restarts_the_schedule() {
    let mut v = venue();
    let first = open(&mut v);
    answer(&mut v, first.tag, 503, UNAVAILABLE, T0);
    // The connection drops and opens again before the retry: a fresh read, and the old
    // schedule is retired instead of running beside the new one.
    v.on_disconnected(ConnId(4)).unwrap();
    let second = open(&mut v);
    assert!(requests(&v.on_timer(LOOKUP_TIMER, T0 + 500).unwrap()).is_empty());
    let out = answer(&mut v, second.tag, 502, "bad gateway", T0 + 600);
    assert!(arms_timer(&out));
    the_read(&v.on_timer(LOOKUP_TIMER, T0 + 1_100).unwrap());
}

#[test]
fn a_read_the_host_asked_for_is_not_retried() {
    let mut v = venue();
    let req = v.account_request(16).unwrap();
    let out = answer(&mut v, req.tag, 503, UNAVAILABLE, T0);
    assert_eq!(out.rejects[0].reason.as_str(), "rest_error");
    assert!(!arms_timer(&out));
}
