//! Each kind of bad plugin file gets one clear line naming the file, and the host keeps
//! serving the venues it has.

use host::stop::process::mapped_paths_containing;
use host::{Host, HostOptions, StreamItem};
use integration_tests::{host_binary, plugin, temp_dir};
use plugin_api::{Event, StreamKind, API_VERSION};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_file_is_refused_with_one_line_and_the_host_keeps_serving() {
    let dir = temp_dir("bad-files");
    let shadow = dir.join("shadow");
    let host = Host::new(HostOptions {
        shadow_dir: Some(shadow.clone()),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("fixture_counter")).await.unwrap();
    host.start_venue("live", "fixture", r#"{"period_ms": 2}"#)
        .await
        .unwrap();
    let mut sub = host
        .subscribe("live", "TEST/USD", StreamKind::Trades)
        .unwrap();

    let text = dir.join("notes.so");
    std::fs::write(&text, "this is not a library\n").unwrap();
    let truncated = dir.join("truncated.so");
    let whole = std::fs::read(plugin("fixture_counter")).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 3]).unwrap();
    let both_versions = format!("built for plugin api_version 1, this host speaks {API_VERSION}");
    let cases = [
        (text, "not a shared library"),
        (truncated, "truncated or corrupt"),
        (plugin("fixture_no_root"), "no plugin root symbol"),
        (plugin("fixture_bad_layout"), "incompatible plugin-api"),
        // The layout refusal of an older plugin-api still names both versions.
        (plugin("fixture_bad_layout"), both_versions.as_str()),
        (plugin("fixture_wrong_api"), "api_version 999"),
        (
            plugin("fixture_counter_v2"),
            "venue id `fixture` is already served",
        ),
    ];
    for (file, expected) in &cases {
        let err = host.load_plugin(file).await.unwrap_err().to_string();
        assert!(
            err.contains(&*file.to_string_lossy()),
            "names the file: {err}"
        );
        assert!(err.contains(expected), "{file:?}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
        // Still serving.
        loop {
            if let Some(StreamItem::Event(Event::Trade(_))) = sub.recv().await {
                break;
            }
        }
    }
    // Only the good plugin's shadow copy is mapped; refused ones were closed and deleted.
    assert_eq!(mapped_paths_containing(&shadow.to_string_lossy()).len(), 1);
    let report = host.shutdown("test").await;
    assert!(report.images_still_mapped.is_empty());
}

#[test]
fn plugins_check_prints_each_file_and_fails_if_any_is_bad() {
    let good = plugin("fixture_counter");
    let bad = plugin("fixture_wrong_api");
    let out = std::process::Command::new(host_binary())
        .args(["plugins", "check"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("ok")
            && lines[0].contains(&format!("venue fixture version 1.0.0 api {API_VERSION}")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("bad") && lines[1].contains("api_version 999"),
        "{stdout}"
    );
    let only_good = std::process::Command::new(host_binary())
        .args(["plugins", "check"])
        .arg(&good)
        .status()
        .unwrap();
    assert!(only_good.success());
}
