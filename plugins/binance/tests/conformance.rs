//! The conformance suite of `plugin-testkit` on the linked plugin, from a session of
//! documented frames (`tests/captures/session.jsonl`): descriptor, subscriptions, acks,
//! mutated frames, stop.

use binance_plugin::Binance;
use plugin_api::StreamKind;
use plugin_testkit::conformance::Conformance;
use plugin_testkit::{Capture, Plugin};

fn capture() -> Capture {
    Capture::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/captures/session.jsonl"
    ))
    .unwrap()
}

#[test]
fn binance_conforms_linked() {
    let plugin = Plugin::linked("binance", Binance::from_config);
    let report = Conformance::new(&plugin, "{}", &capture()).run();
    println!("{report}");
    report.assert_passed();
}

#[test]
fn the_session_gives_its_events_and_no_rejects_but_the_aggregate_trade() {
    let plugin = Plugin::linked("binance", Binance::from_config);
    let out = plugin.harness("{}").unwrap().replay(&capture()).unwrap();
    out.assert_no_errors()
        .assert_count(StreamKind::BookTicker, 2)
        .assert_count(StreamKind::Trades, 2);
    let rejects: Vec<String> = out
        .frames()
        .iter()
        .flat_map(|f| f.rejects.iter().map(|r| r.reason.to_string()))
        .collect();
    assert_eq!(rejects, ["unsupported_event"]);
}
