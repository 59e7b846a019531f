//! The MEXC plugin linked into the test: the conformance suite and its capture of protobuf
//! frames.

mod common;

use common::{capture, subject};
use plugin_api::{FrameKind, StreamKind};
use plugin_testkit::conformance::Conformance;
use plugin_testkit::{Op, Plugin};

fn plugin() -> Plugin {
    Plugin::linked("mexc", mexc_plugin::create)
}

#[test]
fn mexc_conforms_linked() {
    let s = subject("mexc-plugin");
    let report = Conformance::new(&plugin(), s.settings, &capture(s)).run();
    println!("{report}");
    report.assert_passed();
}

#[test]
fn the_capture_holds_binary_frames_and_replays_linked() {
    let s = subject("mexc-plugin");
    let c = capture(s);
    let binary = c
        .steps()
        .iter()
        .filter(|st| {
            matches!(
                &st.op,
                Op::Frame {
                    kind: FrameKind::Binary,
                    ..
                }
            )
        })
        .count();
    assert_eq!(binary, 5);
    let mut h = plugin().harness(s.settings).unwrap();
    let out = h.replay(&c).unwrap();
    out.assert_no_errors()
        .assert_count(StreamKind::BookTicker, 2)
        .assert_count(StreamKind::Depth, 1)
        .assert_some(StreamKind::Trades);
    assert!(!out.sent().is_empty(), "subscribe frames are recorded");
}

/// With credentials: a listen key, the private connection it opens, the keep-alive timer,
/// and a stop that cancels it and deletes the key.
const PRIVATE: &str = r#"{"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}],"fetch_exchange_info":false,"depth":"limit","depth_levels":5,"credentials":{"api_key":"k","api_secret":"s"}}"#;

fn private_session() -> plugin_testkit::Capture {
    let s = subject("mexc-plugin");
    let public = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(s.capture),
    )
    .unwrap();
    let text = format!(
        "{}\n{}\n{}\n{}\n{}",
        r#"{"op":"rest","method":"POST","path":"/api/v3/userDataStream","status":200,"json":{"listenKey":"key1"}}"#,
        r#"{"op":"rest","method":"GET","path":"/api/v3/account","status":200,"json":{"balances":[{"asset":"MX","free":"3","locked":"0.5"}]}}"#,
        r#"{"op":"open","conn":"private"}"#,
        r#"{"op":"timer","name":"listen-key-keepalive"}"#,
        public
    );
    plugin_testkit::Capture::parse("mexc-private.jsonl", &text).unwrap()
}

#[test]
fn mexc_with_credentials_conforms_and_stops_its_timer() {
    let report = Conformance::new(&plugin(), PRIVATE, &private_session())
        .symbols(&["BTC/USDT"])
        .run();
    println!("{report}");
    report.assert_passed();
    let mut h = plugin().harness(PRIVATE).unwrap();
    h.replay(&private_session().without_stop())
        .unwrap()
        .assert_no_errors();
    assert!(h.armed_timers().contains("listen-key-keepalive"), "{h:?}");
    let stop = h.stop().unwrap();
    assert!(h.armed_timers().is_empty());
    assert!(stop
        .actions
        .iter()
        .any(|a| matches!(a, plugin_api::Action::Rest(r) if r.method == "DELETE")));
}

#[test]
fn signed_requests_wait_signed_as_the_host_sends_them() {
    let mut h = plugin().harness(PRIVATE).unwrap();
    h.start().unwrap();
    let account = h
        .pending_requests()
        .iter()
        .find(|r| r.path == "/api/v3/account")
        .expect("the account read is pending");
    assert!(account.query.contains("signature="), "{account:?}");
    assert!(h.outcome().errors().is_empty(), "{}", h.outcome().summary());
}
