//! The watched plugin folder and configuration reloads: files dropped in bring their
//! configured venues up, removed files take them down, bad or untrusted files are refused
//! with clear errors while the rest keeps running; a configuration change is applied as a
//! venue diff, a malformed one or one with settings a plugin refuses is rejected, and one
//! that fails at start rolled back.

// The serial guard is held on purpose across the whole test (process-wide counts).
#![allow(clippy::await_holding_lock)]

mod ops_support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use host::ops::{ConfigOutcome, OpsEvent};
use host::stop::process::mapped_paths_containing;
use host::{State, StreamItem};
use integration_tests::{next_trade, plugin, serial};
use ops_support::{install_file, refusal, wait_for, Setup};
use plugin_api::{Event, StreamKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_files_start_venues_removed_ones_stop_them_bad_ones_are_refused() {
    let _serial = serial();
    let s = Setup::new("ops-folder");
    s.write_config(&s.config_text(
        true,
        r#"
[venues.a]
plugin = "fixture"
settings = { period_ms = 2 }
[venues.b]
plugin = "fixture-alt"
settings = { period_ms = 2 }
"#,
    ));
    let op = s.start().await;
    let host = op.host().clone();
    let mut events = op.events();
    let status = op.status().await;
    assert!(
        status.venues.iter().all(|v| v.state == "waiting"),
        "{status:#?}"
    );

    // A new file: its configured venue comes up.
    let alt = s.install("fixture_counter_alt", "alt.so");
    wait_for(&mut events, "b started", |e| {
        matches!(e, OpsEvent::VenueStarted { venue } if venue == "b").then_some(())
    })
    .await;
    let mut b = host.subscribe("b", "TEST/USD", StreamKind::Trades).unwrap();
    next_trade(&mut b).await.unwrap();

    // A partial write is held until the writer closes the file, then loaded whole.
    let slow = s.plugins.join("slow.so");
    let bytes = std::fs::read(plugin("fixture_counter")).unwrap();
    let mut file = std::fs::File::create(&slow).unwrap();
    file.write_all(&bytes[..bytes.len() / 2]).unwrap();
    file.sync_all().unwrap();
    file.write_all(&bytes[bytes.len() / 2..]).unwrap();
    drop(file);
    let slow = slow.canonicalize().unwrap();
    let first = wait_for(&mut events, "slow.so handled", |e| match e {
        OpsEvent::PluginLoaded { file, .. } if *file == slow => Some(Ok(())),
        OpsEvent::PluginRefused { file, error } if *file == slow => Some(Err(error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(
        first,
        Ok(()),
        "a file still being written is not loaded half-done"
    );
    wait_for(&mut events, "a started", |e| {
        matches!(e, OpsEvent::VenueStarted { venue } if venue == "a").then_some(())
    })
    .await;

    // Corrupt, truncated, incompatible, other-api and untrusted files are refused.
    let junk = s.dir.join("junk");
    std::fs::write(&junk, b"this is not a library").unwrap();
    let f = install_file(&junk, &s.plugins.join("junk.so"));
    let e = refusal(&mut events, &f).await;
    assert!(
        e.contains("junk.so") && e.contains("not a shared library"),
        "{e}"
    );
    std::fs::write(&junk, &bytes[..bytes.len() / 3]).unwrap();
    let f = install_file(&junk, &s.plugins.join("truncated.so"));
    let e = refusal(&mut events, &f).await;
    assert!(
        e.contains("truncated.so") && e.contains("truncated or corrupt"),
        "{e}"
    );
    let f = s.install("fixture_bad_layout", "layout.so");
    let e = refusal(&mut events, &f).await;
    assert!(
        e.contains("layout.so") && e.contains("incompatible plugin-api"),
        "{e}"
    );
    let f = s.install("fixture_wrong_api", "api.so");
    let e = refusal(&mut events, &f).await;
    assert!(e.contains("api.so") && e.contains("api_version"), "{e}");
    std::fs::copy(plugin("fixture_counter_v2"), &junk).unwrap();
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o666)).unwrap();
    let f = install_file(&junk, &s.plugins.join("writable.so"));
    let e = refusal(&mut events, &f).await;
    assert!(e.contains("writable.so") && e.contains("0666"), "{e}");
    // Dot-files and temp names are never looked at.
    install_file(&junk, &s.plugins.join(".hidden.so"));
    install_file(&junk, &s.plugins.join("x.so.tmp"));

    assert_eq!(host.state("a").await, Some(State::Running));
    assert_eq!(host.state("b").await, Some(State::Running));
    next_trade(&mut b).await.unwrap();
    let counters = op.counters();
    assert_eq!(counters.refused, 5, "{:?}", op.reports().refused);

    // Removing a file stops its venues and unloads its plugin.
    std::fs::remove_file(&alt).unwrap();
    wait_for(&mut events, "alt.so removed", |e| {
        matches!(e, OpsEvent::PluginRemoved { file, .. } if *file == alt).then_some(())
    })
    .await;
    assert_eq!(host.state("b").await, None);
    while let Some(StreamItem::Event(_)) = b.recv().await {}
    assert!(host
        .plugins()
        .await
        .iter()
        .all(|p| p.info.venue != "fixture-alt"));
    assert_eq!(
        mapped_paths_containing(&s.shadow.to_string_lossy()).len(),
        1
    );
    assert_eq!(host.state("a").await, Some(State::Running));
    let shut = op.shutdown("test").await;
    assert!(shut.images_still_mapped.is_empty());
}

fn venues(b_period: u32, third: &str) -> String {
    format!(
        r#"
[venues.a]
plugin = "fixture"
settings = {{ period_ms = 2 }}
[venues.b]
plugin = "fixture-alt"
settings = {{ period_ms = {b_period} }}
{third}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_apply_as_a_diff_and_bad_ones_change_nothing() {
    let _serial = serial();
    let s = Setup::new("ops-config");
    s.install("fixture_counter", "counter.so");
    s.install("fixture_counter_alt", "alt.so");
    let c = "[venues.c]\nplugin = \"fixture\"\nsettings = { period_ms = 5, symbol = \"C/USD\" }";
    s.write_config(&s.config_text(true, &venues(5, c)));
    let op = s.start().await;
    let host = op.host().clone();
    let mut events = op.events();
    for v in ["a", "b", "c"] {
        assert_eq!(host.state(v).await, Some(State::Running), "{v}");
    }
    let mut a = host.subscribe("a", "TEST/USD", StreamKind::Trades).unwrap();
    next_trade(&mut a).await.unwrap();

    // Change b, remove c, add d; a is untouched. Saved to the watched file.
    let d =
        "[venues.d]\nplugin = \"fixture-alt\"\nsettings = { period_ms = 5, symbol = \"D/USD\" }";
    s.write_config(&s.config_text(true, &venues(3, d)));
    let outcome = wait_for(&mut events, "config applied", |e| match e {
        OpsEvent::Config(o) => Some(o.clone()),
        _ => None,
    })
    .await;
    let ConfigOutcome::Applied { diff, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (
            &diff.to_add,
            &diff.to_change,
            &diff.to_remove,
            &diff.unchanged
        ),
        (
            &vec!["d".to_owned()],
            &vec!["b".to_owned()],
            &vec!["c".to_owned()],
            &vec!["a".to_owned()]
        )
    );
    assert_eq!(host.state("c").await, None);
    assert_eq!(host.state("d").await, Some(State::Running));
    assert_eq!(host.state("b").await, Some(State::Running));
    let running = host.instances().await;

    // A malformed file is rejected, naming the file and key; nothing changes.
    s.write_config(&s.config_text(
        true,
        &venues(3, "[venues.e]\nplugin = \"fixture\"\nperiod = 1"),
    ));
    let outcome = wait_for(&mut events, "config rejected", |e| match e {
        OpsEvent::Config(o) => Some(o.clone()),
        _ => None,
    })
    .await;
    let ConfigOutcome::Rejected { error } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        error.contains("host.toml") && error.contains("period"),
        "{error}"
    );
    assert_eq!(names(&host.instances().await), names(&running));

    // Settings the plugin refuses are found before any step: rejected, nothing stopped.
    let bad = "[venues.d]\nplugin = \"fixture-alt\"\nsettings = { period_ms = 5, bogus = 1 }";
    s.write_config(&s.config_text(true, &venues(7, bad)));
    let outcome = wait_for(&mut events, "config refused", |e| match e {
        OpsEvent::Config(o) => Some(o.clone()),
        _ => None,
    })
    .await;
    let ConfigOutcome::Rejected { error } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        error.contains("venues.d.settings") && error.contains("bogus"),
        "{error}"
    );
    assert_eq!(names(&host.instances().await), names(&running));

    // A change whose step fails only at start is rolled back whole: b, restarted with its
    // new settings first, and d are restarted with their old ones.
    let bad =
        "[venues.d]\nplugin = \"fixture-alt\"\nsettings = { period_ms = 5, fail_start = true }";
    s.write_config(&s.config_text(true, &venues(7, bad)));
    let outcome = wait_for(&mut events, "config rolled back", |e| match e {
        OpsEvent::Config(o) => Some(o.clone()),
        _ => None,
    })
    .await;
    let ConfigOutcome::RolledBack {
        diff,
        failed,
        error,
        rollback_errors,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(diff.to_change, ["b", "d"]);
    assert_eq!(failed, "d");
    assert!(error.contains("fail_start"), "{error}");
    assert!(rollback_errors.is_empty(), "{rollback_errors:?}");
    let after = host.instances().await;
    assert_eq!(names(&after), names(&running));
    assert!(after.iter().all(|i| i.state == State::Running), "{after:?}");
    assert_eq!(op.counters().config_rolled_back, 1);
    assert_eq!(op.counters().config_rejected, 2);

    // The untouched venue's consumer never saw a gap or an end.
    let mut seen = 0;
    while seen < 3 {
        match a.recv().await.unwrap() {
            StreamItem::Event(Event::Trade(_)) => seen += 1,
            StreamItem::Event(Event::Gap(g)) => panic!("untouched venue got a gap: {g:?}"),
            StreamItem::Event(_) => {}
            StreamItem::End => panic!("untouched venue ended"),
        }
    }
    let _ = op.shutdown("test").await;
}

fn names(v: &[host::InstanceStatus]) -> Vec<String> {
    v.iter().map(|i| i.name.to_string()).collect()
}
