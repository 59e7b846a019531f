//! What `host ctl` says when it cannot do what was asked (issue #13, finding 11): an unknown
//! name is named as such, not blamed on a missing plugin file; a socket nobody listens on,
//! one this user may not open, and other failures each get their own message.

mod ops_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use host::ops::control::{request, Request};
use integration_tests::host_binary;
use ops_support::Setup;

/// Runs `host ctl --socket <socket> <args>` to its end.
fn ctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("running host ctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_are_named_and_unreachable_sockets_say_why() {
    let s = Setup::new("ops-ctl");
    s.install("fixture_counter", "counter.so");
    let socket = s.dir.join("run/host.sock");
    s.write_config(&format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nsocket = \"{}\"\n[metrics]\nenabled = false\n[venues.demo]\nplugin = \"fixture\"\nsettings = {{ period_ms = 5 }}\n",
        s.plugins.display(),
        s.shadow.display(),
        socket.display()
    ));
    let op = s.start().await;
    let socket = op.control_socket().expect("control socket").to_owned();

    // Over the socket: an unknown name is "no such ...", naming what was looked up.
    let venue = "nosuch".to_owned();
    for (req, said) in [
        (
            Request::Reload {
                venue: venue.clone(),
            },
            "no such venue or plugin: nosuch",
        ),
        (
            Request::Start {
                venue: venue.clone(),
            },
            "no such venue: nosuch",
        ),
        (
            Request::Stop {
                venue: venue.clone(),
            },
            "no such venue: nosuch",
        ),
    ] {
        let reply = request(&socket, &req).await.unwrap();
        assert_eq!(reply["ok"], false, "{reply}");
        assert_eq!(reply["error"], said, "{req:?}: {reply}");
    }
    // A venue and a plugin id still reload.
    for name in ["demo", "fixture"] {
        let reply = request(&socket, &Request::Reload { venue: name.into() })
            .await
            .unwrap();
        assert_eq!(reply["ok"], true, "{name}: {reply}");
    }

    // The command line: the same answer, and a failing exit.
    let socket_for_child = socket.clone();
    let out = tokio::task::spawn_blocking(move || ctl(&socket_for_child, &["reload", "nosuch"]))
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("no such venue or plugin: nosuch"),
        "{}",
        text(&out.stdout)
    );

    // No socket file, and a socket file nobody listens on: is the host running?
    let missing = s.dir.join("run/missing.sock");
    let stale = s.dir.join("run/stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    for path in [&missing, &stale] {
        let out = ctl(path, &["status"]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains("is `host run` running?"),
            "{err}"
        );
        assert!(!err.contains("permission denied"), "{err}");
    }

    // A socket this user may not open: permission denied, naming the path. Root opens
    // anything, so there it cannot be shown.
    if running_as_root() {
        eprintln!("skipped the permission-denied case: running as root, which is never denied");
    } else {
        let locked = s.dir.join("locked");
        std::fs::create_dir(&locked).unwrap();
        let behind = locked.join("host.sock");
        drop(std::os::unix::net::UnixListener::bind(&behind).unwrap());
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let out = ctl(&behind, &["status"]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains(&format!("permission denied: {}", behind.display())),
            "{err}"
        );
        assert!(!err.contains("running?"), "{err}");
    }
    let _ = op.shutdown("test").await;
}

/// True when the test runs as root (uid 0), read from `/proc/self/status`.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|u| u.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
