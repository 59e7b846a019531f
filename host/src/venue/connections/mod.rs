//! One declared connection of a venue instance as a pool of websocket connections: the
//! pool spreads subscriptions so no connection carries more than the venue allows, keeps
//! them in step with what consumers want, and feeds every frame to the plugin.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures_util::future::{join_all, BoxFuture};
use plugin_api::{ConnId, ConnectionDecl, Topic};

use crate::config::StaleThresholds;
use crate::pipeline::message_queue::MessageQueue;
use crate::stop::resource::{Resource, ResourceCounts, TaskGroup, FORCE_GRACE};
use crate::transport::{ReconnectPolicy, WsConfig, WsConnection, WsEvents};
use crate::venue::health::Health;
use crate::venue::port::Port;

mod events;

use events::{out, PoolEvents};

/// Host-wide connection ids.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

struct Slot {
    conn: WsConnection,
    topics: Vec<Topic>,
}

/// The connections opened for one [`ConnectionDecl`].
pub(crate) struct ConnPool {
    decl: ConnectionDecl,
    reconnect: ReconnectPolicy,
    /// Data pauses tolerated per kind; each connection watches those of its topics.
    stale: StaleThresholds,
    url: Mutex<Option<String>>,
    slots: Mutex<Vec<Slot>>,
    port: Weak<dyn Port>,
    events: Arc<PoolEvents>,
    bus: crate::Bus,
    venue: String,
    /// One sync at a time (interest changes and plugin `Open` actions both sync).
    syncing: tokio::sync::Mutex<()>,
    /// The task that follows consumer interest.
    tasks: TaskGroup,
    /// Carries `venue` and `resource` into the logs of the pool and its connections.
    span: tracing::Span,
}

impl ConnPool {
    /// A pool for `decl` of the instance `venue` behind `port`; nothing connects until
    /// topics or a URL arrive.
    pub(crate) fn new(
        decl: ConnectionDecl,
        reconnect: ReconnectPolicy,
        stale: StaleThresholds,
        venue: &str,
        port: Weak<dyn Port>,
        bus: crate::Bus,
        queue: Option<MessageQueue>,
    ) -> Arc<ConnPool> {
        let url = (!decl.url.is_empty()).then(|| decl.url.to_string());
        let decl_name = decl.name.to_string();
        Arc::new_cyclic(|pool| ConnPool {
            events: Arc::new(PoolEvents {
                name: decl.name.to_string(),
                port: port.clone(),
                pool: pool.clone(),
                queue,
            }),
            decl,
            reconnect,
            stale,
            url: Mutex::new(url),
            slots: Mutex::new(Vec::new()),
            port,
            venue: venue.to_owned(),
            bus,
            syncing: tokio::sync::Mutex::new(()),
            tasks: TaskGroup::new(),
            span: tracing::info_span!("connection", venue, resource = %decl_name),
        })
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows consumer interest until the pool stops.
    pub(crate) fn follow(self: &Arc<Self>) {
        let pool = Arc::downgrade(self);
        let token = self.tasks.token().clone();
        let mut interest = self.bus.interest(&self.venue);
        let span = self.span.clone();
        self.tasks.spawn(tracing::Instrument::instrument(
            async move {
                loop {
                    let Some(p) = pool.upgrade() else { return };
                    p.resync().await;
                    drop(p);
                    tokio::select! {
                        _ = token.cancelled() => return,
                        changed = interest.changed() => if changed.is_err() { return },
                    }
                }
            },
            span,
        ));
    }

    /// Stops following consumer interest and opening connections: from now on the pool's
    /// subscriptions stay as they are until it stops (no unsubscribe goes out while
    /// consumers leave during a stop).
    pub(crate) fn freeze(&self) {
        self.tasks.token().cancel();
    }

    async fn resync(self: &Arc<Self>) {
        let _one_at_a_time = self.syncing.lock().await;
        if self.tasks.token().is_cancelled() {
            return; // frozen or stopping
        }
        let wanted: BTreeSet<_> = self
            .bus
            .topics(&self.venue)
            .into_iter()
            .filter(|(kind, _)| self.decl.kinds.contains(kind))
            .collect();
        self.sync(wanted).await;
    }

    /// Sets the URL (for connections the plugin opens) and reconnects every connection of
    /// the pool to it.
    pub(crate) async fn open(self: &Arc<Self>, url: String) {
        let previous = self
            .url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(url.clone());
        if previous.as_deref() == Some(url.as_str()) {
            return;
        }
        // Re-target: drop the connections at the old URL; the sync opens new ones.
        let old: Vec<Slot> = std::mem::take(&mut *self.slots());
        join_all(old.iter().map(|s| s.conn.stop())).await;
        self.resync().await;
    }

    /// Brings the subscriptions in line with `wanted` (kind, normalized symbol).
    async fn sync(self: &Arc<Self>, wanted: BTreeSet<(plugin_api::StreamKind, String)>) {
        let Some(port) = self.port.upgrade() else {
            return;
        };
        let mut want = Vec::new();
        for (kind, symbol) in wanted {
            let instrument = if symbol.is_empty() {
                Some(plugin_api::Instrument::default())
            } else {
                port.resolve(&symbol).await
            };
            match instrument {
                Some(instrument) => want.push(Topic { kind, instrument }),
                None => {
                    tracing::warn!(venue = %port.name(), %symbol, kind = kind.name(), "venue has no such market; not subscribed")
                }
            }
        }
        let want_keys: BTreeSet<_> = want.iter().map(key).collect();
        // Unsubscribe what nobody wants any more.
        let mut leaving: Vec<(ConnId, crate::transport::WsSender, Vec<Topic>)> = Vec::new();
        {
            let mut slots = self.slots();
            for slot in slots.iter_mut() {
                let (keep, gone): (Vec<Topic>, Vec<Topic>) = slot
                    .topics
                    .drain(..)
                    .partition(|t| want_keys.contains(&key(t)));
                slot.topics = keep;
                self.watch_data(slot);
                if !gone.is_empty() {
                    leaving.push((slot.conn.id(), slot.conn.sender(), gone));
                }
            }
        }
        for (conn, sender, gone) in leaving {
            let frames = port.topic_frames(conn, &gone, false).await;
            for f in frames {
                let _ = sender.send(out(f)).await;
            }
        }
        let empty: Vec<Slot> = {
            let mut slots = self.slots();
            let (keep, empty) = std::mem::take(&mut *slots)
                .into_iter()
                .partition(|s| !s.topics.is_empty());
            *slots = keep;
            empty
        };
        join_all(empty.iter().map(|s| s.conn.stop())).await;
        // Subscribe what is new.
        let have: BTreeSet<_> = self
            .slots()
            .iter()
            .flat_map(|s| s.topics.iter().map(key))
            .collect();
        let new: Vec<Topic> = want
            .into_iter()
            .filter(|t| !have.contains(&key(t)))
            .collect();
        let added = self.place(new);
        for (conn, sender, topics) in added {
            let frames = port.topic_frames(conn, &topics, true).await;
            for f in frames {
                let _ = sender.send(out(f)).await;
            }
        }
    }

    /// Puts `topics` on connections with room, opening new ones as needed. Returns the
    /// topics added to connections that already exist (new connections subscribe when they
    /// open).
    fn place(&self, topics: Vec<Topic>) -> Vec<(ConnId, crate::transport::WsSender, Vec<Topic>)> {
        let url = self.url.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(url) = url else {
            // Nothing to connect to until the plugin opens the connection; the topics are
            // placed then, from the bus's interest.
            return Vec::new();
        };
        let cap = match self.decl.max_subscriptions {
            0 => usize::MAX,
            n => n as usize,
        };
        let mut slots = self.slots();
        if self.tasks.token().is_cancelled() {
            // Stopping: `stop` cancels before it takes the slots, under this same lock, so
            // no connection can be opened behind its back.
            return Vec::new();
        }
        let mut added: Vec<(ConnId, crate::transport::WsSender, Vec<Topic>)> = Vec::new();
        for topic in topics {
            let index = match slots.iter().position(|s| s.topics.len() < cap) {
                Some(i) => i,
                None => {
                    let id = ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed));
                    let config =
                        WsConfig::from_decl(&self.decl, url.clone(), self.reconnect.clone());
                    let events: Arc<dyn WsEvents> = self.events.clone();
                    slots.push(Slot {
                        conn: self
                            .span
                            .in_scope(|| WsConnection::start(id, config, events)),
                        topics: Vec::new(),
                    });
                    slots.len() - 1
                }
            };
            let slot = &mut slots[index];
            // A connection that has not opened yet subscribes everything in `opened`.
            if slot.conn.stats().is_connected {
                match added.iter_mut().find(|(c, _, _)| *c == slot.conn.id()) {
                    Some(entry) => entry.2.push(topic),
                    None => added.push((slot.conn.id(), slot.conn.sender(), vec![topic])),
                }
            }
            slot.topics.push(topic);
            self.watch_data(slot);
        }
        added
    }

    /// Sets the data pause `slot`'s connection tolerates: the smallest threshold among the
    /// kinds of its topics.
    fn watch_data(&self, slot: &Slot) {
        let after = self.stale.of_all(slot.topics.iter().map(|t| t.kind));
        slot.conn.set_data_stale_after(after);
    }

    pub(super) fn topics_of(&self, conn: ConnId) -> Vec<Topic> {
        self.slots()
            .iter()
            .find(|s| s.conn.id() == conn)
            .map(|s| s.topics.clone())
            .unwrap_or_default()
    }

    /// The sender of connection `conn`, if this pool has it.
    pub(crate) fn sender(&self, conn: ConnId) -> Option<crate::transport::WsSender> {
        self.slots()
            .iter()
            .find(|s| s.conn.id() == conn)
            .map(|s| s.conn.sender())
    }

    /// Drops connection `conn` and opens it again under the same id with the same topics:
    /// the plugin sees `on_disconnected`, `on_connected` and `subscribe`, consumers a
    /// `Reconnect` gap. False if this pool has no such connection.
    pub(crate) fn reconnect(&self, conn: ConnId) -> bool {
        match self.slots().iter().find(|s| s.conn.id() == conn) {
            Some(slot) => {
                slot.conn.reconnect();
                true
            }
            None => false,
        }
    }

    /// The health of the pool's worst connection.
    pub(crate) fn health(&self) -> Health {
        Health::worst(self.slots().iter().map(|s| Health::of(&s.conn.stats())))
    }

    /// Open connections now.
    pub(crate) fn connections(&self) -> usize {
        self.slots()
            .iter()
            .filter(|s| s.conn.stats().is_connected)
            .count()
    }
}

fn key(t: &Topic) -> (plugin_api::StreamKind, String) {
    (t.kind, t.instrument.symbol.as_str().to_owned())
}

impl Resource for ConnPool {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let tasks = self.tasks.clone();
        tasks.token().cancel();
        let slots: Vec<Slot> = std::mem::take(&mut *self.slots());
        Box::pin(async move {
            tasks.shutdown().await;
            join_all(slots.iter().map(|s| s.conn.stop())).await;
            Ok(())
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        let tasks = self.tasks.clone();
        tasks.token().cancel();
        let slots: Vec<Slot> = std::mem::take(&mut *self.slots());
        Box::pin(async move {
            tasks.abort(FORCE_GRACE).await;
            join_all(slots.iter().map(|s| s.conn.force())).await;
        })
    }

    fn counts(&self) -> ResourceCounts {
        let slots = self.slots();
        slots.iter().map(|s| s.conn.counts()).fold(
            ResourceCounts {
                tasks: self.tasks.live(),
                subscriptions: 0,
                ..ResourceCounts::default()
            },
            |a, b| a + b,
        )
    }
}
