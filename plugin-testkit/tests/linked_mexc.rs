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
