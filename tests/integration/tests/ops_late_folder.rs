//! A plugin folder that does not exist at start (issue #13, finding 8) is waited for: once it
//! appears its plugins load and their venues start, files dropped in later too, and config
//! edits are picked up before and after.

mod ops_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use host::ops::{ConfigOutcome, OpsEvent};
use host::State;
use integration_tests::next_trade;
use ops_support::{install_file, wait_for, Setup, PATIENCE};
use plugin_api::StreamKind;
use tokio::sync::broadcast;

/// The next configuration outcome.
async fn outcome(events: &mut broadcast::Receiver<OpsEvent>, what: &str) -> ConfigOutcome {
    wait_for(events, what, |e| match e {
        OpsEvent::Config(o) => Some(o.clone()),
        _ => None,
    })
    .await
}

/// `mkdir` with the mode the trust check accepts (not group- or world-writable).
fn make_dir(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_folder_created_after_start_is_watched_and_its_plugins_start() {
    let mut s = Setup::new("ops-late-folder");
    // Two levels missing: `later/` is created first, then `plugins/` moved into it.
    std::fs::remove_dir(&s.plugins).unwrap();
    s.plugins = s.dir.join("later/plugins");
    let a = "[venues.a]\nplugin = \"fixture\"\nsettings = { period_ms = 2 }\n";
    let b = "[venues.b]\nplugin = \"fixture-alt\"\nsettings = { period_ms = 2 }\n";
    s.write_config(&s.config_text(true, a));
    let op = s.start().await;
    let host = op.host().clone();
    let mut events = op.events();
    assert_eq!(op.plugins_dir(), s.plugins);
    assert_eq!(host.state("a").await, None, "waits for its plugin");

    // A config edit before the folder exists is picked up.
    s.write_config(&s.config_text(true, &format!("{a}{b}")));
    let applied = outcome(&mut events, "b added").await;
    let ConfigOutcome::Applied {
        diff,
        waiting_for_plugin,
        ..
    } = &applied
    else {
        panic!("{applied:?}")
    };
    assert_eq!(
        (&diff.to_add, waiting_for_plugin),
        (&vec!["b".to_owned()], &vec!["b".to_owned()])
    );

    // The folder appears, with a plugin already in it (moved into place whole): that
    // plugin is loaded and its venue starts although no event named the file.
    make_dir(&s.dir.join("later"));
    let staging = s.dir.join("staging");
    make_dir(&staging);
    install_file(
        &integration_tests::plugin("fixture_counter"),
        &staging.join("counter.so"),
    );
    std::fs::rename(&staging, &s.plugins).unwrap();
    let counter = s.plugins.join("counter.so");
    let loaded = wait_for(&mut events, "counter.so loaded", |e| match e {
        OpsEvent::PluginLoaded { file, plugin, .. } => Some((file.clone(), plugin.clone())),
        OpsEvent::PluginRefused { file, error } => panic!("{} refused: {error}", file.display()),
        _ => None,
    })
    .await;
    assert_eq!(loaded, (counter, "fixture".to_owned()));
    wait_for(&mut events, "a started", |e| {
        matches!(e, OpsEvent::VenueStarted { venue } if venue == "a").then_some(())
    })
    .await;
    let mut trades = host.subscribe("a", "TEST/USD", StreamKind::Trades).unwrap();
    next_trade(&mut trades).await.unwrap();

    // The folder is watched itself now: a file dropped in starts its venue.
    s.install("fixture_counter_alt", "alt.so");
    wait_for(&mut events, "b started", |e| {
        matches!(e, OpsEvent::VenueStarted { venue } if venue == "b").then_some(())
    })
    .await;

    // And config edits are still picked up.
    let a2 = "[venues.a]\nplugin = \"fixture\"\nsettings = { period_ms = 3 }\n";
    s.write_config(&s.config_text(true, &format!("{a2}{b}")));
    let applied = outcome(&mut events, "a changed").await;
    let ConfigOutcome::Applied { diff, .. } = &applied else {
        panic!("{applied:?}")
    };
    assert_eq!(diff.to_change, ["a"]);
    assert_eq!(host.state("a").await, Some(State::Running));
    assert_eq!(host.state("b").await, Some(State::Running));
    let shut = tokio::time::timeout(PATIENCE, op.shutdown("test"))
        .await
        .expect("shutdown in time");
    assert!(shut.images_still_mapped.is_empty(), "{shut:#?}");
}
