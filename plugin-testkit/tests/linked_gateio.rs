//! The Gate.io plugin linked into the test: the conformance suite, its capture, and the
//! harness's host-like behaviour (connection ids, reconnects, REST answers, timers).

mod common;

use common::{capture, subject};
use gateio_plugin::GateioVenue;
use plugin_api::{ConnId, StreamKind};
use plugin_testkit::conformance::Conformance;
use plugin_testkit::{Plugin, TestkitError};

fn plugin() -> Plugin {
    Plugin::linked("gateio", GateioVenue::from_config)
}

const SETTINGS: &str = r#"{"symbols":["BTC/USDT","HAI/ETH","OMG/USDT"]}"#;

#[test]
fn gateio_conforms_linked() {
    let s = subject("gateio-plugin");
    let report = Conformance::new(&plugin(), s.settings, &capture(s)).run();
    println!("{report}");
    report.assert_passed();
}

#[test]
fn the_capture_gives_the_same_outcome_linked() {
    let s = subject("gateio-plugin");
    let out = plugin()
        .harness(s.settings)
        .unwrap()
        .replay(&capture(s))
        .unwrap();
    out.assert_no_errors()
        .assert_no_rejects()
        .assert_count(StreamKind::BookTicker, 2)
        .assert_count(StreamKind::Trades, 1);
    let acks = out
        .frames()
        .iter()
        .filter(|f| f.label.as_deref() == Some("ack"));
    assert_eq!(acks.count(), 3);
}

#[test]
fn a_reconnect_keeps_the_id_and_subscribes_every_topic_again() {
    let mut h = plugin().harness(SETTINGS).unwrap();
    h.start().unwrap();
    let conn = h.open("public").unwrap();
    assert_eq!(conn, ConnId(1));
    let first = h
        .subscribe(
            conn,
            &[
                (StreamKind::Trades, "BTC/USDT"),
                (StreamKind::BookTicker, "BTC/USDT"),
            ],
        )
        .unwrap();
    h.disconnect(conn).unwrap();
    let again = h.reconnect(conn).unwrap();
    assert_eq!(h.conn("public"), Some(conn), "same id after a reconnect");
    assert_eq!(again.len(), first.len(), "{again:?}");
    assert_eq!(h.topics(conn).len(), 2);
    assert_eq!(
        h.open("public").unwrap(),
        ConnId(2),
        "a new open gets a new id"
    );
}

#[test]
fn misuse_is_refused_with_a_message_naming_what() {
    let mut h = plugin().harness(SETTINGS).unwrap();
    let e = h.open("nope").unwrap_err().to_string();
    assert!(
        e.contains("no connection `nope`") && e.contains("public"),
        "{e}"
    );
    let e = h.fire_timer("tick").unwrap_err();
    assert!(matches!(e, TestkitError::TimerNotArmed(_)), "{e}");
    let e = h.answer_next(200, "{}").unwrap_err().to_string();
    assert!(e.contains("pending: none"), "{e}");
    let conn = h.open("public").unwrap();
    let e = h
        .subscribe(conn, &[(StreamKind::Trades, "XRP/EUR")])
        .unwrap_err();
    assert!(
        e.to_string().contains("does not resolve symbol `XRP/EUR`"),
        "{e}"
    );
    let e = plugin()
        .harness(r#"{"api_key":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("create failed") && e.contains("credentials"),
        "{e}"
    );
}

#[test]
fn a_capture_step_that_cannot_run_names_its_line() {
    let text =
        "{\"op\":\"open\",\"conn\":\"public\"}\n{\"op\":\"rest\",\"status\":200,\"body\":\"{}\"}";
    let c = plugin_testkit::Capture::parse("inline", text).unwrap();
    let e = plugin()
        .harness(SETTINGS)
        .unwrap()
        .replay(&c)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("inline line 2:") && e.contains("no pending REST request"),
        "{e}"
    );
}
