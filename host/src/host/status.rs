//! What the host shows of itself: plugins, instances and process counts. Every query reads
//! the registry for a moment and never waits for an operation in progress.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Host;
use crate::names::{InstanceName, PluginId};
use crate::plugin::PluginInfo;
use crate::stop::report::Counts;
use crate::stop::resource::ResourceCounts;
use crate::venue::health::Health;
use crate::venue::lifecycle::State;
use crate::venue::tally::VenueStats;

/// A plugin as shown by [`Host::plugins`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginStatus {
    /// Identity.
    pub info: PluginInfo,
    /// The mapped shadow copy (empty for a built-in plugin).
    pub shadow: PathBuf,
    /// Load time, seconds since the Unix epoch.
    pub loaded_at_unix: u64,
}

/// An instance as shown by [`Host::instances`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceStatus {
    /// Name.
    pub name: InstanceName,
    /// The plugin serving it.
    pub plugin: PluginId,
    /// Life-cycle state.
    pub state: State,
    /// How its connections are doing (meaningful while it runs).
    pub health: Health,
    /// Live subscriptions.
    pub subscriptions: usize,
    /// Bound handlers.
    pub bindings: usize,
    /// Open websocket connections.
    pub connections: usize,
    /// Faults counted in the supervisor's current window.
    pub faults: usize,
    /// Counters over all its builds (they never go backwards while it stays configured).
    pub stats: VenueStats,
}

impl Host {
    /// Loaded plugins.
    pub async fn plugins(&self) -> Vec<PluginStatus> {
        let registry = self.inner.registry();
        let mut v: Vec<PluginStatus> = registry
            .plugins
            .values()
            .map(|p| PluginStatus {
                info: p.code.info().clone(),
                shadow: p.code.shadow_path().map(Path::to_owned).unwrap_or_default(),
                loaded_at_unix: p
                    .loaded_at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            })
            .collect();
        v.sort_by(|a, b| a.info.venue.cmp(&b.info.venue));
        v
    }

    /// Venue instances, by name.
    pub async fn instances(&self) -> Vec<InstanceStatus> {
        let registry = self.inner.registry();
        registry
            .slots
            .iter()
            .map(|(name, slot)| InstanceStatus {
                name: name.clone(),
                plugin: slot.plugin.clone(),
                state: slot.state(),
                health: slot.instance.router.health(),
                subscriptions: self.inner.bus.venue_subscriptions(name.as_str()),
                bindings: slot.bindings.iter().map(|(_, _, b)| b.live()).sum(),
                connections: slot.instance.router.connections(),
                faults: slot.faults.len(),
                stats: slot.instance.driver.tally.stats(),
            })
            .collect()
    }

    /// Each instance's delivery latency histogram (seconds from a burst of frames being read
    /// to its events being queued for consumers), over all its builds.
    pub(crate) fn delivery_latencies(
        &self,
    ) -> Vec<(
        InstanceName,
        std::sync::Arc<crate::venue::latency::LatencyHistogram>,
    )> {
        let registry = self.inner.registry();
        registry
            .slots
            .iter()
            .map(|(name, slot)| (name.clone(), slot.instance.driver.tally.delivery.clone()))
            .collect()
    }

    /// The rejects of the instance `venue` as they happen (over all its builds); a listener
    /// that falls more than 256 behind misses some and is told how many.
    pub fn rejects(
        &self,
        venue: &str,
    ) -> Result<tokio::sync::broadcast::Receiver<crate::venue::RejectNote>, crate::HostError> {
        let registry = self.inner.registry();
        Ok(registry
            .slot(venue)?
            .instance
            .driver
            .tally
            .reject_feed
            .subscribe())
    }

    /// Counts of the process now.
    pub async fn counts(&self) -> Counts {
        self.counts_now()
    }

    /// Counts of the process now, without waiting (usable while a stop is in progress, or
    /// from a forced exit).
    pub fn counts_now(&self) -> Counts {
        let resources = {
            let registry = self.inner.registry();
            registry
                .graph
                .nodes()
                .iter()
                .map(|n| n.resource.counts())
                .fold(ResourceCounts::default(), |a, b| a + b)
        };
        let supervisors = ResourceCounts {
            tasks: self.inner.supervisors.live(),
            ..ResourceCounts::default()
        };
        let runtime = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        Counts::gather(
            runtime,
            resources + supervisors,
            self.inner.bus.live_subscriptions(),
        )
    }
}
