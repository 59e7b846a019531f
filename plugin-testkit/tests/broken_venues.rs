//! The suite can fail: a small venue passes it, and each deliberately broken variant fails
//! the check that names its flaw, with a message saying what was seen.

use abi_stable::std_types::{ROption, RVec};
use plugin_api::{
    Action, ConnId, ConnectionDecl, Event, InFrame, Instrument, Num, OpenMode, OutFrame, Output,
    PluginError, Reject, ResourceDecl, ResourceKind, RestRequest, RestResponse, Side, Stamp,
    StreamKind, TimerDecl, Topic, Trade, Venue, VenueConfig, VenueDescriptor,
};
use plugin_testkit::conformance::{Check, Conformance, Report};
use plugin_testkit::{Capture, Plugin};

/// What is wrong with the venue.
#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    None,
    PanicsOnTruncatedFrame,
    TimerArmedAtStop,
    DanglingDependency,
    SubscribeErrors,
    PanicsOnBadRestAnswer,
}

/// A toy venue: frames are `{"ack":1}` or `{"p":"1.5","q":"2"}` (a BTC/USDT trade).
struct Toy {
    flaw: Flaw,
}

fn create(config: &VenueConfig) -> Result<Toy, PluginError> {
    let flaw = match config.settings_json.as_str() {
        "{}" => Flaw::None,
        r#"{"flaw":"panic"}"# => Flaw::PanicsOnTruncatedFrame,
        r#"{"flaw":"timer"}"# => Flaw::TimerArmedAtStop,
        r#"{"flaw":"dependency"}"# => Flaw::DanglingDependency,
        r#"{"flaw":"subscribe"}"# => Flaw::SubscribeErrors,
        r#"{"flaw":"rest"}"# => Flaw::PanicsOnBadRestAnswer,
        other => {
            return Err(PluginError::config(format!(
                "toy: unknown settings {other}"
            )))
        }
    };
    Ok(Toy { flaw })
}

const TIMER: &str = "tick";

impl Venue for Toy {
    fn describe(&self) -> VenueDescriptor {
        let mut ws = ResourceDecl::new("ws", ResourceKind::Connection);
        if self.flaw == Flaw::DanglingDependency {
            ws = ws.depends_on("queue");
        }
        VenueDescriptor {
            venue: "toy".into(),
            version: "1".into(),
            streams: vec![StreamKind::Trades].into(),
            trading: false,
            connections: vec![ConnectionDecl {
                name: "ws".into(),
                url: "wss://toy".into(),
                open: OpenMode::OnDemand,
                kinds: vec![StreamKind::Trades].into(),
                max_subscriptions: 0,
                max_lifetime_ms: 0,
                max_outbound_per_sec: 0,
                heartbeat_ms: 0,
                stale_after_ms: 0,
            }]
            .into(),
            rest: ROption::RNone,
            rate_limits: RVec::new(),
            timers: vec![TimerDecl {
                name: TIMER.into(),
                period_ms: 1_000,
            }]
            .into(),
            resources: vec![ws, ResourceDecl::new(TIMER, ResourceKind::Timer)].into(),
        }
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        (symbol == "BTC/USDT").then(|| Instrument::new("BTC/USDT", "BTCUSDT"))?
    }

    fn start(&mut self, _now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        out.actions.push(Action::ArmTimer(TIMER.into()));
        Ok(out)
    }

    fn subscribe(
        &mut self,
        _conn: ConnId,
        topics: &[Topic],
        _now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        if self.flaw == Flaw::SubscribeErrors {
            return Err(PluginError::protocol("toy: cannot build a subscribe frame"));
        }
        let names: Vec<&str> = topics
            .iter()
            .map(|t| t.instrument.venue_symbol.as_str())
            .collect();
        Ok(vec![OutFrame::text(format!("sub {}", names.join(",")))])
    }

    fn unsubscribe(
        &mut self,
        _conn: ConnId,
        _topics: &[Topic],
        _now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        Ok(vec![OutFrame::text("unsub")])
    }

    fn on_frame(
        &mut self,
        _conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let data = frame.data.as_slice();
        if self.flaw == Flaw::PanicsOnTruncatedFrame && data.last() != Some(&b'}') {
            panic!("toy: frame does not end with a brace");
        }
        let value: serde_json::Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(e) => {
                out.rejects.push(Reject {
                    reason: "malformed".into(),
                    detail: e.to_string().into(),
                });
                return Ok(out);
            }
        };
        if value.get("ack").is_some() {
            return Ok(out);
        }
        let num = |key: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .and_then(|s| Num::parse(s).ok())
        };
        match (num("p"), num("q")) {
            (Some(price), Some(qty)) => out.events.push(Event::Trade(Trade {
                instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap_or_default(),
                trade_id: "1".into(),
                price,
                qty,
                side: Side::Buy,
                trade_ts_ms: 0,
                stamp: Stamp {
                    venue_ts_ms: 0,
                    received_ns,
                },
            })),
            _ => out.rejects.push(Reject {
                reason: "malformed".into(),
                detail: "no `p` or `q`".into(),
            }),
        }
        Ok(out)
    }

    /// The flawed variant reads a depth snapshot on every tick, and trusts its answer.
    fn on_timer(&mut self, _name: &str, _now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        if self.flaw == Flaw::PanicsOnBadRestAnswer {
            out.actions
                .push(Action::Rest(RestRequest::new(7, "GET", "/depth", "")));
        }
        Ok(out)
    }

    fn on_rest_response(
        &mut self,
        response: RestResponse,
        _received_ns: u64,
    ) -> Result<Output, PluginError> {
        let body: serde_json::Value =
            serde_json::from_str(&response.body).expect("toy: the snapshot answer is JSON");
        let _ = body;
        Ok(Output::default())
    }

    fn stop(&mut self, _now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        if self.flaw != Flaw::TimerArmedAtStop {
            out.actions.push(Action::CancelTimer(TIMER.into()));
        }
        Ok(out)
    }
}

const SESSION: &str = r#"{"op":"open","conn":"ws"}
{"op":"subscribe","conn":"ws","topics":[{"kind":"trades","symbol":"BTC/USDT"}]}
{"op":"frame","conn":"ws","json":{"ack":1},"label":"ack"}
{"op":"frame","conn":"ws","json":{"p":"1.5","q":"2"}}
{"op":"timer","name":"tick"}
{"op":"stop"}"#;

fn run(settings: &str) -> Report {
    let plugin = Plugin::linked("toy", create);
    let capture = Capture::parse("toy.jsonl", SESSION).unwrap();
    Conformance::new(&plugin, settings, &capture)
        .mutations(300)
        .run()
}

/// Asserts that exactly `check` failed and its message holds `words`.
#[track_caller]
fn fails_only(report: &Report, check: Check, words: &[&str]) {
    let failures = report.failures();
    assert_eq!(
        failures.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![check],
        "{report}"
    );
    let message = failures[0].1;
    assert!(
        message.starts_with(&format!("[{}]", check.name())),
        "{message}"
    );
    for w in words {
        assert!(message.contains(w), "`{message}` should say `{w}`");
    }
}

#[test]
fn the_sound_venue_passes_and_replays() {
    let report = run("{}");
    report.assert_passed();
    let plugin = Plugin::linked("toy", create);
    let out = plugin
        .harness("{}")
        .unwrap()
        .replay(&Capture::parse("toy.jsonl", SESSION).unwrap())
        .unwrap();
    out.assert_count(StreamKind::Trades, 1)
        .assert_no_rejects()
        .assert_no_errors();
}

#[test]
fn a_panic_on_a_truncated_frame_fails_the_mutation_check_with_seed_and_frame() {
    let report = run(r#"{"flaw":"panic"}"#);
    println!("{report}");
    fails_only(
        &report,
        Check::NeverPanicsOnMutatedFrames,
        &[
            "seed 0x",
            "truncated to",
            "panicked",
            "toy: frame does not end with a brace",
            "mutated frame: text",
        ],
    );
}

#[test]
fn a_panic_on_a_damaged_rest_answer_fails_the_rest_check_with_seed_and_body() {
    let report = run(r#"{"flaw":"rest"}"#);
    println!("{report}");
    fails_only(
        &report,
        Check::NeverPanicsOnMutatedRestAnswers,
        &[
            "seed 0x",
            "answers panicked",
            "to GET /depth",
            "toy: the snapshot answer is JSON",
            "body: ",
        ],
    );
}

#[test]
fn a_timer_left_armed_fails_the_stop_check() {
    let report = run(r#"{"flaw":"timer"}"#);
    fails_only(
        &report,
        Check::StopsWithNoPendingWork,
        &["timers left armed", "`tick`"],
    );
}

#[test]
fn a_dangling_dependency_fails_the_descriptor_check() {
    let report = run(r#"{"flaw":"dependency"}"#);
    fails_only(
        &report,
        Check::DescriptorIsValid,
        &["resource `ws` depends on `queue`, which is not declared"],
    );
}

#[test]
fn a_subscribe_that_errors_fails_the_subscribe_check() {
    let report = run(r#"{"flaw":"subscribe"}"#);
    fails_only(
        &report,
        Check::ResolvesWhatItSubscribes,
        &[
            "subscribe `trades` of `BTC/USDT` on `ws`",
            "cannot build a subscribe frame",
        ],
    );
}

#[test]
fn a_rejected_ack_fails_the_ack_check() {
    let plugin = Plugin::linked("toy", create);
    let capture = Capture::parse(
        "toy.jsonl",
        &SESSION.replace(r#"{"ack":1}"#, r#"{"nack":1}"#),
    )
    .unwrap();
    let report = Conformance::new(&plugin, "{}", &capture)
        .mutations(10)
        .run();
    fails_only(
        &report,
        Check::AnswersEverySubscribe,
        &["the ack at line 3 was rejected: malformed"],
    );
}

#[test]
fn a_failed_assertion_says_what_was_produced_instead() {
    let plugin = Plugin::linked("toy", create);
    let mut h = plugin.harness("{}").unwrap();
    let out = h
        .replay(&Capture::parse("toy.jsonl", SESSION).unwrap())
        .unwrap();
    let caught = std::panic::catch_unwind(|| {
        out.assert_count(StreamKind::BookTicker, 1);
    });
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("expected 1 book_ticker events, got 0"),
        "{message}"
    );
    assert!(message.contains("events: trades×1"), "{message}");
    assert!(message.contains("arm_timer×1"), "{message}");
}

#[test]
fn a_panic_is_reported_as_a_panic_and_the_instance_then_refuses_calls() {
    let plugin = Plugin::linked("toy", create);
    let mut h = plugin.harness(r#"{"flaw":"panic"}"#).unwrap();
    let conn = h.open("ws").unwrap();
    let e = h.feed_text(conn, "{").unwrap_err();
    let plugin_testkit::TestkitError::Plugin { call, error, .. } = e else {
        panic!("{e}")
    };
    assert_eq!(
        (call, error.kind),
        ("on_frame", plugin_api::ErrorKind::Panic)
    );
    assert_eq!(h.outcome().panics().len(), 1);
    let again = h.feed_text(conn, "{}").unwrap_err().to_string();
    assert!(again.contains("Faulted"), "{again}");
    let outcome = h.take_outcome();
    let caught = std::panic::catch_unwind(|| {
        outcome.assert_no_panics();
    });
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("`on_frame` panicked"), "{message}");
}
