//! The configuration loader never panics, and a wrong value or a misspelled key is refused
//! naming the file and the key: every key of the shipped `config/host.toml` is given a value
//! of the wrong type and a misspelled name, and seeded random edits and byte damage of the
//! file are loaded.
//!
//! `PROPTEST_CASES=20000 cargo test -p host --test config_fuzz` runs a longer random search.

use std::path::PathBuf;

use host::config::HostConfig;
use proptest::prelude::*;
use toml::Value;

const SHIPPED: &str = include_str!("../../config/host.toml");

/// Paths whose keys a plugin defines: free-form, so a misspelling there is the plugin's to
/// refuse, not the loader's.
const FREE_FORM: &[&str] = &["settings", "endpoints", "rate_limits"];

fn shipped() -> toml::Table {
    SHIPPED.parse().expect("config/host.toml parses")
}

/// Every key path to a scalar or array, outside the free-form tables.
fn leaves(table: &toml::Table, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (k, v) in table {
        if FREE_FORM.contains(&k.as_str()) {
            continue;
        }
        at.push(k.clone());
        match v {
            Value::Table(t) => leaves(t, at, out),
            _ => out.push(at.clone()),
        }
        at.pop();
    }
}

fn all_leaves() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    leaves(&shipped(), &mut Vec::new(), &mut out);
    out
}

fn slot<'a>(table: &'a mut toml::Table, path: &[String]) -> &'a mut toml::Table {
    let mut t = table;
    for k in &path[..path.len() - 1] {
        t = t
            .get_mut(k)
            .and_then(Value::as_table_mut)
            .expect("path to a table");
    }
    t
}

/// A value no reader of `original`'s type accepts.
fn wrong_type(original: &Value) -> Value {
    match original {
        Value::String(_) | Value::Array(_) => Value::Integer(7),
        _ => Value::String("not-a-value".into()),
    }
}

/// Writes `text` to a fresh file in a temporary folder and loads it with its secrets.
fn load(dir: &tempfile::TempDir, text: &str) -> (PathBuf, Result<(), String>) {
    let path = dir.path().join("host.toml");
    std::fs::write(&path, text).unwrap();
    let result = HostConfig::load_with_secrets(Some(&path))
        .map(|_| ())
        .map_err(|e| e.to_string());
    (path, result)
}

fn workdir() -> tempfile::TempDir {
    // Relative paths of the shipped file (the secrets file) resolve from the workspace.
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
    tempfile::tempdir().unwrap()
}

#[test]
fn the_shipped_file_loads() {
    let dir = workdir();
    let (_, result) = load(&dir, SHIPPED);
    assert_eq!(result, Ok(()));
}

#[test]
fn every_key_with_a_wrong_type_is_refused_by_name() {
    let dir = workdir();
    let leaves = all_leaves();
    assert!(leaves.len() > 40, "only {} keys found", leaves.len());
    for path in leaves {
        let mut t = shipped();
        let last = path.last().unwrap().clone();
        let table = slot(&mut t, &path);
        let bad = wrong_type(&table[&last]);
        table.insert(last, bad);
        let (file, result) = load(&dir, &toml::to_string(&t).unwrap());
        let key = path.join(".");
        let error = result.expect_err(&format!("`{key}` of the wrong type was accepted"));
        assert!(
            error.contains(&format!("`{key}`")) && error.contains(&*file.to_string_lossy()),
            "`{key}`: {error}"
        );
    }
}

#[test]
fn every_misspelled_key_is_refused_by_name() {
    let dir = workdir();
    for path in all_leaves() {
        let mut t = shipped();
        let last = path.last().unwrap().clone();
        let table = slot(&mut t, &path);
        let value = table.remove(&last).unwrap();
        let typo = format!("{last}x");
        table.insert(typo.clone(), value);
        let (file, result) = load(&dir, &toml::to_string(&t).unwrap());
        let error = result.expect_err(&format!("misspelled `{}` was accepted", path.join(".")));
        assert!(
            error.contains(&typo) && error.contains(&*file.to_string_lossy()),
            "`{}`: {error}",
            path.join(".")
        );
    }
}

/// A random edit of one key: removed, or given a value of any type.
fn edit() -> impl Strategy<Value = (usize, Option<Value>)> {
    let value = prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        "[ -~]{0,12}".prop_map(Value::String),
        proptest::collection::vec(any::<i32>().prop_map(|i| Value::Integer(i.into())), 0..3)
            .prop_map(Value::Array),
    ];
    (any::<usize>(), proptest::option::of(value))
}

proptest! {
    // `PROPTEST_CASES=n` runs a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Random edits load or are refused naming the file; never a panic.
    #[test]
    fn random_edits_are_loaded_or_refused_with_the_file_named(
        edits in proptest::collection::vec(edit(), 1..4)
    ) {
        let dir = workdir();
        let leaves = all_leaves();
        let mut t = shipped();
        for (i, value) in edits {
            let path = &leaves[i % leaves.len()];
            let last = path.last().unwrap().clone();
            let table = slot(&mut t, path);
            match value {
                Some(v) => { table.insert(last, v); }
                None => { table.remove(&last); }
            }
        }
        let (file, result) = load(&dir, &toml::to_string(&t).unwrap());
        if let Err(e) = result {
            prop_assert!(e.contains(&*file.to_string_lossy()), "{e}");
        }
    }

    /// Damaged bytes (cut, flipped, deleted) load or are refused naming the file.
    #[test]
    fn damaged_files_are_loaded_or_refused_with_the_file_named(
        cut in 0usize..4096,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    ) {
        let dir = workdir();
        let mut bytes = SHIPPED.as_bytes().to_vec();
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        bytes.truncate(cut.min(bytes.len()));
        let path = dir.path().join("host.toml");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = HostConfig::load_with_secrets(Some(&path)) {
            prop_assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        }
    }
}
