//! Configuration reload as a typed diff of venues (`to_add`, `to_change`, `to_remove`) and
//! the outcome of applying one. Unchanged venues are never touched.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Channel, HostConfig, Secrets};

/// What one enabled venue runs with; two plans that differ mean the venue changed.
#[derive(Clone, PartialEq, Eq)]
pub struct VenuePlan {
    /// The venue id of the plugin serving it.
    pub plugin: String,
    /// The settings JSON handed to the plugin (may hold credentials: never log it).
    pub settings_json: String,
    /// Symbols of the built-in consumer.
    pub symbols: Vec<String>,
    /// Channels of the built-in consumer.
    pub channels: Vec<Channel>,
}

impl std::fmt::Debug for VenuePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenuePlan")
            .field("plugin", &self.plugin)
            .field("symbols", &self.symbols)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

/// The plans of every enabled venue of `config`.
pub fn plans(config: &HostConfig, secrets: &Secrets) -> BTreeMap<String, VenuePlan> {
    config
        .enabled_venues()
        .filter_map(|(name, entry)| {
            let settings_json = config.venue_settings(name, secrets)?;
            let mut symbols = entry.symbols.clone();
            if symbols.is_empty() {
                // The fixture and similar single-symbol plugins name theirs in `settings`.
                if let Some(s) = entry.settings.get("symbol").and_then(|s| s.as_str()) {
                    symbols.push(s.to_owned());
                }
            }
            Some((
                name.clone(),
                VenuePlan {
                    plugin: entry.plugin.clone(),
                    settings_json,
                    symbols,
                    channels: entry.channels.clone(),
                },
            ))
        })
        .collect()
}

/// Venue names by what a configuration change does to them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VenueDiff {
    /// New (or newly enabled) venues.
    pub to_add: Vec<String>,
    /// Venues whose plugin, settings, credentials or consumers changed: restarted.
    pub to_change: Vec<String>,
    /// Venues gone (or disabled).
    pub to_remove: Vec<String>,
    /// Venues left alone.
    pub unchanged: Vec<String>,
}

impl VenueDiff {
    /// The diff from `old` to `new`.
    pub fn between(
        old: &BTreeMap<String, VenuePlan>,
        new: &BTreeMap<String, VenuePlan>,
    ) -> VenueDiff {
        let mut d = VenueDiff::default();
        for (name, plan) in new {
            match old.get(name) {
                None => d.to_add.push(name.clone()),
                Some(o) if o != plan => d.to_change.push(name.clone()),
                Some(_) => d.unchanged.push(name.clone()),
            }
        }
        d.to_remove = old
            .keys()
            .filter(|n| !new.contains_key(*n))
            .cloned()
            .collect();
        d
    }

    /// True if no venue is added, changed or removed.
    pub fn is_empty(&self) -> bool {
        self.to_add.is_empty() && self.to_change.is_empty() && self.to_remove.is_empty()
    }
}

/// The result of a configuration reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ConfigOutcome {
    /// Nothing changed.
    Unchanged,
    /// The diff was applied.
    Applied {
        /// What was done.
        diff: VenueDiff,
        /// Venues configured but not started because no loaded plugin serves them yet.
        waiting_for_plugin: Vec<String>,
        /// Changed settings that take effect only after a restart (top-level keys).
        restart_required: Vec<String>,
    },
    /// A step failed; every step already taken was undone and the old configuration stays.
    RolledBack {
        /// The diff that was attempted.
        diff: VenueDiff,
        /// The venue whose step failed.
        failed: String,
        /// Why.
        error: String,
        /// Steps of the rollback that failed too (empty: the running set is as before).
        rollback_errors: Vec<String>,
    },
    /// The new configuration could not be read, or a plugin refused a venue's new
    /// settings when asked to check them; nothing was touched.
    Rejected {
        /// The file, key and what was expected (or what the plugin said).
        error: String,
    },
}

/// Top-level keys that differ and are only read at start.
pub fn restart_required(old: &HostConfig, new: &HostConfig) -> Vec<String> {
    let mut keys = Vec::new();
    let mut check = |key: &str, differs: bool| {
        if differs {
            keys.push(key.to_owned());
        }
    };
    check("plugins_dir", old.plugins_dir != new.plugins_dir);
    check("shadow_dir", old.shadow_dir != new.shadow_dir);
    check("watch", old.watch != new.watch);
    check("shutdown", old.shutdown != new.shutdown);
    check("restart", old.restart != new.restart);
    check("queues", old.queues != new.queues);
    check("reconnect", old.reconnect != new.reconnect);
    check("rate_limits", old.rate_limits != new.rate_limits);
    check("stale", old.stale != new.stale);
    check("log", old.log != new.log);
    check("control", old.control != new.control);
    check("metrics", old.metrics != new.metrics);
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(settings: &str) -> VenuePlan {
        VenuePlan {
            plugin: "fixture".into(),
            settings_json: settings.into(),
            symbols: Vec::new(),
            channels: Vec::new(),
        }
    }

    #[test]
    fn diff_sorts_venues_into_add_change_remove_and_unchanged() {
        let old: BTreeMap<_, _> = [("a", "1"), ("b", "2"), ("c", "3")]
            .into_iter()
            .map(|(n, s)| (n.to_owned(), plan(s)))
            .collect();
        let new: BTreeMap<_, _> = [("a", "1"), ("b", "20"), ("d", "4")]
            .into_iter()
            .map(|(n, s)| (n.to_owned(), plan(s)))
            .collect();
        let d = VenueDiff::between(&old, &new);
        assert_eq!(d.to_add, ["d"]);
        assert_eq!(d.to_change, ["b"]);
        assert_eq!(d.to_remove, ["c"]);
        assert_eq!(d.unchanged, ["a"]);
        assert!(VenueDiff::between(&old, &old).is_empty());
        assert!(!format!("{:?}", plan("secret")).contains("secret"));
    }
}
