//! The operator on the NATS bus (`[nats] enabled`, not `remote`): it publishes each venue it
//! runs, answers the venue's requests while it runs it, and with `leases` runs a venue
//! only while it holds the venue's lease.
//!
//! A venue with leases on is brought up by its keeper, a task that waits for the lease,
//! starts the venue when it has it, and stops it (and stops answering for it) when it
//! loses it; any other path that would start the venue (the folder scan, a configuration
//! reload, `host ctl start`) only makes sure the keeper runs. The keepers and request
//! services are tasks of the bus, not of the operator: they keep renewing while the host
//! shuts its venues down, and only then give the leases up (a standby takes them at once)
//! and drain what is still to publish.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use plugin_api::StreamKind;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::diff::VenuePlan;
use super::Operator;
use crate::config::NatsConfig;
use crate::nats::lease::{Ended, Lease};
use crate::nats::orders as placed_orders;
use crate::nats::publish::{self, PublishStats, Publishing, SubjectPublisher};
use crate::nats::{rpc, BusError, Link};
use crate::stop::resource::TaskGroup;

/// How long a recorded client order id is remembered (a retry later than this would place
/// the order again).
const ORDER_IDS_KEPT: Duration = Duration::from_secs(24 * 3600);

/// The operator's side of the bus.
pub(super) struct OpsBus {
    link: Link,
    url: String,
    publishing: Publishing,
    leases: Option<kv::Store>,
    lease_ttl: Duration,
    orders: kv::Store,
    /// Venues whose requests this host answers, with the token that stops the service.
    serving: Mutex<BTreeMap<String, CancellationToken>>,
    /// Venues with a lease keeper, and whether it holds the lease now.
    keepers: Mutex<BTreeMap<String, bool>>,
    tasks: TaskGroup,
}

/// The bus as `host ctl status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusStatus {
    /// The server.
    pub url: String,
    /// This host's name on the bus.
    pub name: String,
    /// `connected`, `disconnected` or `pending`.
    pub connection: String,
    /// Every leased venue: who holds it now.
    pub leases: Vec<LeaseView>,
    /// Per venue, what publishing did.
    pub publishing: BTreeMap<String, PublishStats>,
}

/// One venue's lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseView {
    /// Instance name.
    pub venue: String,
    /// True when this host holds it.
    pub held: bool,
    /// Who holds it, if anyone.
    pub holder: Option<String>,
}

impl OpsBus {
    /// Connects and opens the buckets `config` needs.
    pub(super) async fn connect(config: &NatsConfig) -> Result<OpsBus, BusError> {
        let link = Link::connect(config).await?;
        let subjects = &link.subjects;
        let leases = match config.leases {
            true => Some(
                link.bucket(&subjects.lease_bucket(), Duration::ZERO)
                    .await?,
            ),
            false => None,
        };
        let orders = link
            .bucket(&subjects.orders_bucket(), ORDER_IDS_KEPT)
            .await?;
        tracing::info!(url = %config.url, name = %link.name, leases = config.leases, "on the NATS bus");
        Ok(OpsBus {
            link,
            url: config.url.clone(),
            publishing: Publishing::default(),
            leases,
            lease_ttl: Duration::from_millis(config.lease_ttl_ms),
            orders,
            serving: Mutex::new(BTreeMap::new()),
            keepers: Mutex::new(BTreeMap::new()),
            tasks: TaskGroup::new(),
        })
    }

    /// True when `venue` may run here: leases are off, or this host holds its lease.
    fn may_run(&self, venue: &str) -> bool {
        self.leases.is_none() || self.keepers().get(venue).copied().unwrap_or(false)
    }

    fn keepers(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, bool>> {
        self.keepers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn serving(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, CancellationToken>> {
        self.serving.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops answering `venue`'s requests and marks the end of what it published.
    pub(super) async fn unserve(&self, venue: &str) {
        if let Some(token) = self.serving().remove(venue) {
            token.cancel();
        }
        self.publishing.end_venue(&self.link, venue).await;
    }

    /// Cancels every keeper and service without waiting (an owner dropped without
    /// shutdown).
    pub(super) fn cancel(&self) {
        self.tasks.token().cancel();
    }

    /// Stops the keepers (each gives its lease up) and services, then drains what is
    /// still to be published, by `deadline`.
    pub(super) async fn close(&self, deadline: Instant) {
        if tokio::time::timeout_at(deadline, self.tasks.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tasks.live(),
                "bus tasks still running at the shutdown deadline; aborting them"
            );
            self.tasks.abort(crate::stop::resource::FORCE_GRACE).await;
        }
        for venue in self.publishing.venues_published() {
            let _ =
                tokio::time::timeout_at(deadline, self.publishing.end_venue(&self.link, &venue))
                    .await;
        }
        if !self.link.leave(deadline).await {
            tracing::warn!(
                "what was left to publish did not reach the bus before the shutdown left it"
            );
        }
    }

    /// Bus tasks still alive.
    pub(super) fn live_tasks(&self) -> usize {
        self.tasks.live()
    }

    /// The bus's state for `host ctl status`.
    pub(super) async fn status(&self) -> BusStatus {
        let connection = match self.link.client.connection_state() {
            async_nats::connection::State::Connected => "connected",
            async_nats::connection::State::Disconnected => "disconnected",
            async_nats::connection::State::Pending => "pending",
        };
        let kept: Vec<(String, bool)> = self
            .keepers()
            .iter()
            .map(|(v, h)| (v.clone(), *h))
            .collect();
        let mut leases = Vec::with_capacity(kept.len());
        for (venue, held) in kept {
            let holder = match &self.leases {
                Some(store) => {
                    let lease = Lease::new(store.clone(), &venue, &self.link.name, self.lease_ttl);
                    let read = tokio::time::timeout(Duration::from_secs(1), lease.holder());
                    read.await.ok().flatten().map(|h| h.holder)
                }
                None => None,
            };
            leases.push(LeaseView {
                venue,
                held,
                holder,
            });
        }
        BusStatus {
            url: self.url.clone(),
            name: self.link.name.clone(),
            connection: connection.into(),
            leases,
            publishing: self.publishing.snapshot(),
        }
    }

    /// Publishing counters by venue.
    pub(super) fn publishing(&self) -> BTreeMap<String, PublishStats> {
        self.publishing.snapshot()
    }

    /// True while connected.
    pub(super) fn connected(&self) -> bool {
        self.link.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Venues whose lease this host holds.
    pub(super) fn held(&self) -> Vec<String> {
        self.keepers()
            .iter()
            .filter(|(_, h)| **h)
            .map(|(v, _)| v.clone())
            .collect()
    }
}

impl Operator {
    /// The bus, if `[nats]` put the host on one.
    pub(super) fn bus(&self) -> Option<&Arc<OpsBus>> {
        self.inner.bus.get()
    }

    /// True while another host holds `name`'s lease and this one waits for it.
    pub(super) fn standing_by(&self, name: &str) -> bool {
        self.bus()
            .is_some_and(|bus| bus.keepers().get(name) == Some(&false))
    }

    /// Before a venue starts: `true` if it may start here now. With leases and without
    /// the venue's lease, makes sure its keeper runs (which starts it once it holds the
    /// lease) and says no.
    pub(super) fn may_start(&self, name: &str) -> bool {
        let Some(bus) = self.bus() else { return true };
        if bus.may_run(name) {
            return true;
        }
        self.keep_lease(bus, name);
        false
    }

    /// After a venue started: publishes its configured streams and answers its requests.
    pub(super) async fn join_bus(&self, name: &str, plan: &VenuePlan) {
        let Some(bus) = self.bus().cloned() else {
            return;
        };
        let epoch = publish::epoch(&bus.link, name);
        for channel in &plan.channels {
            let kind = StreamKind::from(*channel);
            let symbols: Vec<&str> = match kind.is_private() {
                true => vec![""],
                false => plan.symbols.iter().map(String::as_str).collect(),
            };
            for symbol in symbols {
                let mut publisher = SubjectPublisher::new(
                    &bus.link,
                    &bus.publishing,
                    name,
                    symbol,
                    kind,
                    epoch.clone(),
                );
                if kind.is_private() {
                    if let Err(e) = bus.link.private_stream(name, kind).await {
                        tracing::error!(venue = %name, error = %e, "private stream not published");
                        continue;
                    }
                }
                let bound = self
                    .inner
                    .host
                    .bind(name, symbol, kind, move |item| publisher.publish(item))
                    .await;
                if let Err(e) = bound {
                    tracing::warn!(venue = %name, symbol, channel = kind.name(), error = %e, "stream not published");
                }
            }
        }
        let token = bus.tasks.token().child_token();
        if let Some(old) = bus.serving().insert(name.to_owned(), token.clone()) {
            old.cancel();
        }
        let service = rpc::serve(
            bus.link.clone(),
            self.inner.host.clone(),
            name.to_owned(),
            bus.orders.clone(),
            token,
        );
        bus.tasks.spawn(service);
    }

    /// Hands the venue `name`, just started here, the orders placed on it through the bus
    /// that no host saw settled: its previous holder may have died with their answers.
    async fn adopt_orders(&self, bus: &OpsBus, name: &str) {
        let orders = match placed_orders::unsettled(&bus.orders, name).await {
            Ok(orders) => orders,
            Err(e) => {
                tracing::warn!(venue = %name, error = %e, "the unsettled orders of the venue could not be read");
                return;
            }
        };
        let n = orders.len();
        if n == 0 {
            return;
        }
        match self.inner.host.adopt_orders(name, orders).await {
            Ok(()) => {
                tracing::info!(venue = %name, orders = n, "looking up orders placed through the bus and never seen settled")
            }
            Err(e) => {
                tracing::warn!(venue = %name, orders = n, error = %e, "unsettled orders not handed to the venue")
            }
        }
    }

    /// Starts `name`'s lease keeper unless it runs.
    fn keep_lease(&self, bus: &Arc<OpsBus>, name: &str) {
        let Some(store) = bus.leases.clone() else {
            return;
        };
        if bus.keepers().insert(name.to_owned(), false).is_some() {
            return;
        }
        let lease = Lease::new(store, name, &bus.link.name, bus.lease_ttl);
        let token = bus.tasks.token().clone();
        let (op, bus2, name) = (self.clone(), bus.clone(), name.to_owned());
        bus.tasks.spawn(async move {
            let bus = bus2;
            loop {
                let Some(revision) = lease.acquire(&token).await else {
                    break;
                };
                tracing::info!(venue = %name, "holding the venue's lease: starting it");
                bus.keepers().insert(name.clone(), true);
                match op.start_venue(&name).await {
                    Ok(()) => op.adopt_orders(&bus, &name).await,
                    Err(e) => {
                        tracing::warn!(venue = %name, error = %e, "venue not started although its lease is held")
                    }
                }
                match lease.hold(revision, &token).await {
                    Ended::Cancelled(revision) => {
                        if let Err(e) = lease.release(revision).await {
                            tracing::warn!(venue = %name, error = %e, "lease not given up; a standby takes it after the lease time");
                        } else {
                            tracing::info!(venue = %name, "lease given up");
                        }
                        break;
                    }
                    Ended::Lost(why) => {
                        tracing::warn!(venue = %name, %why, "the venue's lease is lost: stopping the venue here");
                        bus.keepers().insert(name.clone(), false);
                        if let Err(e) = op.stop_venue(&name).await {
                            tracing::warn!(venue = %name, error = %e, "venue not stopped after losing its lease");
                        }
                        bus.unserve(&name).await;
                    }
                }
            }
            bus.keepers().insert(name.clone(), false);
        });
    }
}
