//! The folder the host loads its plugin copies from is its own (issue #13, finding 3): made
//! fresh under a name nobody can predict with mode 0700, or inside a configured `shadow_dir`
//! only if that folder is private to the user; and nothing is left behind once `host run`
//! or `host plugins check` exits. `plugins check` refuses what `run` refuses, with the same
//! words (finding 11). Each host process gets its own `TMPDIR`, so "nothing left" is an
//! empty folder.

mod ops_support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host::config::TrustConfig;
use integration_tests::{host_binary, plugin, run_host_with_env};
use ops_support::{install_file, wait_exit, Setup, PATIENCE};

/// A user id that is not ours (nobody); only root can give a file to it.
const OTHER_USER: u32 = 65534;

/// An empty folder to serve as one host process's `TMPDIR`.
fn private_tmp(s: &Setup) -> PathBuf {
    let tmp = s.dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700)).unwrap();
    tmp
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    all
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A copy of the built plugin `lib_name` at `dest` with mode `mode` (a copy, not a link:
/// the mode of a link is the built file's).
fn copy_plugin(lib_name: &str, dest: &Path, mode: u32) -> PathBuf {
    std::fs::copy(plugin(lib_name), dest).unwrap();
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(mode)).unwrap();
    dest.to_owned()
}

/// `host plugins check` with `args`, its `TMPDIR` set to `tmp`.
fn plugins_check(tmp: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(host_binary())
        .args(["plugins", "check"])
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .unwrap()
}

/// A config running the fixture venue from `s.plugins`, with nothing listening; `head` goes
/// before the tables (`shadow_dir = ...`).
fn run_config(s: &Setup, head: &str) -> String {
    format!(
        "plugins_dir = \"{}\"\n{head}\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\nenabled = false\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = 5, symbol = \"TEST/USD\" }}\n",
        s.plugins.display()
    )
}

/// Reads the host's lines until each of `needles` was in one; returns those lines in order.
fn lines_with(rx: &std::sync::mpsc::Receiver<String>, needles: &[&str]) -> Vec<String> {
    let mut found: Vec<Option<String>> = vec![None; needles.len()];
    while found.iter().any(Option::is_none) {
        let line = rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no lines with {needles:?}: {e}"));
        eprintln!("host: {line}");
        for (slot, needle) in found.iter_mut().zip(needles) {
            if slot.is_none() && line.contains(needle) {
                *slot = Some(line.clone());
            }
        }
    }
    found.into_iter().flatten().collect()
}

#[test]
fn run_loads_from_a_fresh_private_folder_and_removes_it_at_exit() {
    let s = Setup::new("shadow-run");
    let tmp = private_tmp(&s);
    s.install("fixture_counter", "counter.so");
    // An incompatible file: its long mismatch report is written beside the copies.
    s.install("fixture_bad_layout", "bad.so");
    s.write_config(&run_config(&s, ""));
    let (mut child, lines) = run_host_with_env(
        &[
            "--config".as_ref(),
            s.config.as_os_str(),
            "--duration".as_ref(),
            "5".as_ref(),
        ],
        &[("TMPDIR", &tmp)],
    );
    // Both happen before the duration starts to run.
    let seen = lines_with(&lines, &["venue started", "abi-mismatch.txt"]);
    let report = seen[1]
        .split("(full report: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no report path in {}", seen[1]));

    // While it runs: one folder, made for this process, that nobody else can enter.
    let made = entries(&tmp);
    assert_eq!(made.len(), 1, "{made:?}");
    let folder = &made[0];
    let name = folder.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("venue-host-"), "{name}");
    assert_ne!(
        name,
        format!("venue-host-{}", child.id()),
        "not predictable"
    );
    assert_eq!(mode(folder), 0o700);
    let meta = std::fs::symlink_metadata(folder).unwrap();
    assert!(meta.is_dir());
    assert_eq!(
        meta.uid(),
        std::fs::metadata(&s.dir).unwrap().uid(),
        "owned by the user running the host"
    );
    assert_eq!(report.parent(), Some(folder.as_path()), "{report:?}");
    assert!(report.exists(), "readable while the host runs");
    assert!(
        entries(folder)
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".so")),
        "the copy it loaded: {:?}",
        entries(folder)
    );

    let status = wait_exit(&mut child, PATIENCE).expect("the host exits after --duration");
    assert!(status.success(), "{status:?}");
    assert_eq!(
        entries(&tmp),
        Vec::<PathBuf>::new(),
        "nothing left in TMPDIR"
    );
}

#[test]
fn a_shadow_dir_others_can_change_is_refused_and_a_private_one_is_left_clean() {
    let s = Setup::new("shadow-configured");
    let tmp = private_tmp(&s);
    s.install("fixture_counter", "counter.so");

    // Open to everyone: `run` refuses to start, naming the folder; nothing is made in it.
    let open = s.dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    s.write_config(&run_config(
        &s,
        &format!("shadow_dir = \"{}\"", open.display()),
    ));
    let expected = format!(
        "shadow_dir: {}: refused: folder mode 0777 is writable by group/other users",
        open.display()
    );
    let (mut child, lines) = run_host_with_env(
        &[
            "--config".as_ref(),
            s.config.as_os_str(),
            "--duration".as_ref(),
            "1".as_ref(),
        ],
        &[("TMPDIR", &tmp)],
    );
    let line = lines_with(&lines, &["error:"]).remove(0);
    assert!(line.contains(&expected), "{line}");
    let status = wait_exit(&mut child, PATIENCE).expect("the host gives up");
    assert!(!status.success(), "{status:?}");
    assert_eq!(entries(&open), Vec::<PathBuf>::new());
    // `plugins check` reads the same key and refuses the same way.
    let out = plugins_check(
        &tmp,
        &[
            "--config".as_ref(),
            s.config.as_os_str(),
            plugin("fixture_counter").as_os_str(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(&expected),
        "{stderr}"
    );
    assert_eq!(entries(&open), Vec::<PathBuf>::new());

    // Another user's folder is refused too (only root can make one to test with).
    let theirs = s.dir.join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
    if std::os::unix::fs::chown(&theirs, Some(OTHER_USER), None).is_ok() {
        s.write_config(&run_config(
            &s,
            &format!("shadow_dir = \"{}\"", theirs.display()),
        ));
        let out = plugins_check(
            &tmp,
            &[
                "--config".as_ref(),
                s.config.as_os_str(),
                plugin("fixture_counter").as_os_str(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!(
            "shadow_dir: {}: refused: folder is owned by uid {OTHER_USER}",
            theirs.display()
        );
        assert!(
            !out.status.success() && stderr.contains(&expected),
            "{stderr}"
        );
    }

    // A private one: the host works in a fresh folder inside it and removes only that.
    let own = s.dir.join("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o700)).unwrap();
    s.write_config(&run_config(
        &s,
        &format!("shadow_dir = \"{}\"", own.display()),
    ));
    let (mut child, lines) = run_host_with_env(
        &[
            "--config".as_ref(),
            s.config.as_os_str(),
            "--duration".as_ref(),
            "1".as_ref(),
        ],
        &[("TMPDIR", &tmp)],
    );
    lines_with(&lines, &["venue started"]);
    let status = wait_exit(&mut child, PATIENCE).expect("the host exits after --duration");
    assert!(status.success(), "{status:?}");
    assert!(own.is_dir(), "the configured folder stays");
    assert_eq!(entries(&own), Vec::<PathBuf>::new());
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_check_refuses_what_run_refuses_with_the_same_words_and_leaves_nothing() {
    let s = Setup::new("shadow-check");
    let tmp = private_tmp(&s);
    let files = s.dir.join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::set_permissions(&files, std::fs::Permissions::from_mode(0o755)).unwrap();
    let good = copy_plugin("fixture_counter", &files.join("good.so"), 0o644);
    let writable = copy_plugin("fixture_counter_alt", &files.join("writable.so"), 0o664);
    let incompatible = plugin("fixture_bad_layout");

    let out = plugins_check(
        &tmp,
        &[
            good.as_os_str(),
            writable.as_os_str(),
            incompatible.as_os_str(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a refused file fails the check");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("ok    "), "{stdout}");
    let check_says = lines[1].strip_prefix("bad   ").unwrap_or(lines[1]);
    assert!(
        check_says.contains("writable.so: refused: file mode 0664 is writable"),
        "{stdout}"
    );
    assert!(
        lines[2].contains("incompatible plugin-api")
            && lines[2].contains("--verbose prints the full layout report"),
        "{stdout}"
    );
    assert_eq!(
        entries(&tmp),
        Vec::<PathBuf>::new(),
        "no copy, no report left"
    );

    // `--verbose` shows the whole report instead of writing it anywhere.
    let out = plugins_check(&tmp, &["--verbose".as_ref(), incompatible.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("full layout report of {}", incompatible.display()))
            && stderr.lines().count() > 1,
        "{stderr}"
    );
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());

    // `run` (the operator's folder scan) refuses the same file with the same words.
    s.write_config(&s.config_text(false, ""));
    let in_folder = install_file(&writable, &s.plugins.join("writable.so"));
    std::fs::set_permissions(&in_folder, std::fs::Permissions::from_mode(0o664)).unwrap();
    let run_says = host::plugin::trust::check(&in_folder, &TrustConfig::default())
        .unwrap_err()
        .to_string();
    // The folder is scanned before `start` returns.
    let op = s.start().await;
    let refused = op
        .reports()
        .refused
        .iter()
        .find(|r| Path::new(&r.file) == in_folder)
        .map(|r| r.error.clone())
        .unwrap_or_else(|| panic!("not refused: {:#?}", op.reports()));
    assert_eq!(refused, run_says);
    assert_eq!(
        check_says.replace(&*writable.to_string_lossy(), ""),
        run_says.replace(&*in_folder.to_string_lossy(), ""),
        "the same message but for the path"
    );
    let report = op.shutdown("test").await;
    assert!(report.images_still_mapped.is_empty(), "{report:#?}");

    // A file of another user is refused by both (only root can make one to test with).
    let theirs = copy_plugin("fixture_counter", &files.join("theirs.so"), 0o644);
    if std::os::unix::fs::chown(&theirs, Some(OTHER_USER), None).is_ok() {
        let out = plugins_check(&tmp, &[theirs.as_os_str()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let expected = host::plugin::trust::check(&theirs, &TrustConfig::default())
            .unwrap_err()
            .to_string();
        assert!(!out.status.success());
        assert_eq!(stdout.trim_end(), format!("bad   {expected}"));
        assert!(
            expected.contains("file is owned by uid 65534"),
            "{expected}"
        );
    }
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
}

#[test]
fn a_forced_exit_removes_the_folder_too() {
    let s = Setup::new("shadow-forced-exit");
    let tmp = private_tmp(&s);
    s.install("fixture_counter", "counter.so");
    // Every tick blocks in plugin code for 10 s, so the shutdown is held up until the second
    // signal, which leaves without running destructors (a shorter block lets a slow machine
    // finish the shutdown before the test's second signal arrives).
    let text = format!(
        "plugins_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\nenabled = false\n[shutdown]\noverall = 120000\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = 1, block_ms = 10000, tick_stop_timeout_ms = 120000, symbol = \"TEST/USD\" }}\n",
        s.plugins.display()
    );
    s.write_config(&text);
    let (mut child, lines) = run_host_with_env(
        &["--config".as_ref(), s.config.as_os_str()],
        &[("TMPDIR", &tmp)],
    );
    lines_with(&lines, &["venue started"]);
    assert_eq!(entries(&tmp).len(), 1, "the folder in use");
    integration_tests::wait_for_a_blocked_call(child.id());
    let term = || {
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    term();
    lines_with(&lines, &["a second signal forces exit"]);
    term();
    let status = wait_exit(&mut child, PATIENCE).expect("the forced exit");
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(
        entries(&tmp),
        Vec::<PathBuf>::new(),
        "nothing left in TMPDIR"
    );
}
