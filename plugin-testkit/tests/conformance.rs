//! Every venue plugin of the workspace, loaded from its built file, passes the conformance
//! suite and replays its capture.

mod common;

use common::{capture, file, load, rest_examples, subject, SUBJECTS};
use plugin_api::StreamKind;
use plugin_testkit::conformance::Conformance;
use plugin_testkit::{LoadError, Plugin};

#[test]
fn every_workspace_plugin_conforms_through_its_file() {
    for s in SUBJECTS {
        let plugin = load(s);
        let report = Conformance::new(&plugin, s.settings, &capture(s))
            .rest_bodies(&rest_examples(s))
            .run();
        println!("{report}");
        report.assert_passed();
    }
}

#[test]
fn the_gateio_capture_replays_through_the_file() {
    let s = subject("gateio-plugin");
    let mut h = load(s).harness(s.settings).unwrap();
    let out = h.replay(&capture(s)).unwrap();
    out.assert_no_errors()
        .assert_no_rejects()
        .assert_count(StreamKind::BookTicker, 2)
        .assert_count(StreamKind::Trades, 1)
        .assert_gaps(0);
    // Two snapshots and every update after them: two books in sync.
    assert!(out.count(StreamKind::Depth) >= 2 + 10, "{}", out.summary());
    assert_eq!(out.requests().len(), 2, "{}", out.summary());
    assert!(h.pending_requests().is_empty());
}

#[test]
fn the_mexc_capture_replays_through_the_file() {
    let s = subject("mexc-plugin");
    let mut h = load(s).harness(s.settings).unwrap();
    let out = h.replay(&capture(s)).unwrap();
    out.assert_no_errors()
        .assert_count(StreamKind::BookTicker, 2)
        .assert_count(StreamKind::Depth, 1)
        .assert_some(StreamKind::Trades);
}

#[test]
fn a_file_built_for_another_api_version_is_refused_naming_both() {
    let path = file("fixture_wrong_api");
    let err = Plugin::load(&path).unwrap_err();
    assert!(
        matches!(err, LoadError::ApiVersion { found: 999, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("api_version 999"), "{text}");
    assert!(
        text.contains(&format!("speaks {}", plugin_api::API_VERSION)),
        "{text}"
    );
    assert!(text.contains("libfixture_wrong_api.so"), "{text}");
}

#[test]
fn a_missing_file_is_refused_naming_it() {
    let err = Plugin::load("/nonexistent/libnothing.so").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/libnothing.so"),
        "{err}"
    );
}
