//! The program side of the bus: venues served by hosts elsewhere, behind the same
//! [`crate::exchange`] API as local ones.
//!
//! Each stream a program opens becomes one feed: a task that reads the stream's subject
//! (market data) or a JetStream consumer (orders, fills, balances) and delivers into a
//! local [`Bus`], so the program's streams have the same queues, policies and counters as
//! with local venues. A feed turns what the bus tells it into gaps: a message number
//! skipped or a new publisher (a host took the venue over) is a `Reconnect` gap, an end
//! marker (the publishing host stopped the venue) a `Reload` gap; the stream itself ends
//! only when the program's exchange shuts down. Orders and fills come from durable
//! consumers named `CONSUMER-VENUE-KIND` (`nats.consumer`): a program started again
//! under the same name first gets what it missed; balances start from the last value of
//! each asset.
//!
//! Requests (orders, cancels, instruments, checks, health) go to whichever host holds the
//! venue. While none answers (a failover), they are tried again for
//! `nats.request_patience_ms`; places are safe to retry because hosts place each client
//! order id once.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use bytes::Bytes;
use futures_util::StreamExt;
use plugin_api::{Event, Gap, GapReason, Instrument, StreamKind, Symbol};
use prost::Message;
use tokio::time::Instant;

use super::wire::{self, Envelope, Op, Outcome};
use super::{now_ns, BusError, Link};
use crate::config::{HostConfig, NatsConfig};
use crate::error::HostError;
use crate::pipeline::{Bus, Subscription};
use crate::stop::report::{Counts, ShutdownReport, StopReport};
use crate::stop::resource::{ResourceCounts, TaskGroup};

/// How long one request waits for its answer before it is tried again.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Durable consumers a program left behind are removed after this long unused.
const CONSUMER_IDLE: Duration = Duration::from_secs(24 * 3600);

/// Counters of one private stream as the program received it.
#[derive(Debug, Default)]
struct PrivateCounters {
    received: AtomicU64,
    first_seq: AtomicU64,
    last_seq: AtomicU64,
    missing: AtomicU64,
}

/// What [`Remote::private_streams`] reports of one private stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PrivateStreamStats {
    /// Messages received.
    pub received: u64,
    /// The JetStream sequence of the first and of the last one.
    pub first_seq: u64,
    /// See `first_seq`.
    pub last_seq: u64,
    /// Sequence numbers skipped between them (0: the stream was continuous).
    pub missing: u64,
}

/// The venues of a program served over the bus.
pub struct Remote {
    link: Link,
    config: NatsConfig,
    bus: Bus,
    tasks: TaskGroup,
    feeds: Mutex<HashSet<(String, String, StreamKind)>>,
    overall: Duration,
    /// The runtime's tasks before the connection: what is left once the bus is left.
    tasks_before: usize,
    private: Mutex<BTreeMap<String, Arc<PrivateCounters>>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.config.url)
            .field("name", &self.link.name)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Connects to the bus of `config` (its `[nats]`); streams go through queues with its
    /// `[queues]` policies.
    pub async fn connect(config: &HostConfig) -> Result<Remote, BusError> {
        let tasks_before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let link = Link::connect(&config.nats).await?;
        Ok(Remote {
            link,
            config: config.nats.clone(),
            bus: Bus::new(config.queues.clone()),
            tasks: TaskGroup::new(),
            feeds: Mutex::new(HashSet::new()),
            overall: config.shutdown.overall,
            tasks_before,
            private: Mutex::new(BTreeMap::new()),
        })
    }

    /// The local bus the feeds deliver into.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Feed tasks still running.
    pub fn live_tasks(&self) -> usize {
        self.tasks.live()
    }

    /// Sends `op` to the host holding `venue` and returns its answer, trying again while
    /// no host answers, for `nats.request_patience_ms`.
    pub async fn request(&self, venue: &str, op: Op) -> Result<Outcome, HostError> {
        let subject = self.link.subjects.rpc(venue);
        let payload = Bytes::from(wire::Request { op: Some(op) }.encode_to_vec());
        let deadline = Instant::now() + Duration::from_millis(self.config.request_patience_ms);
        loop {
            let request = self.link.client.request(subject.clone(), payload.clone());
            let error = match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
                Ok(Ok(message)) => {
                    return match wire::Reply::decode(message.payload.as_ref()) {
                        Ok(wire::Reply {
                            outcome: Some(Outcome::Error(error)),
                        }) => Err(bus_error(venue, error)),
                        Ok(wire::Reply { outcome: Some(o) }) => Ok(o),
                        Ok(_) => Err(bus_error(venue, "an empty answer")),
                        Err(e) => Err(bus_error(venue, format!("an undecodable answer: {e}"))),
                    };
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {REQUEST_TIMEOUT:?}"),
            };
            if Instant::now() >= deadline {
                return Err(bus_error(
                    venue,
                    format!("no host answers for the venue ({error})"),
                ));
            }
            // No responders come back at once: wait a beat before asking again, so that a
            // failover in progress is not flooded.
            tokio::time::sleep(Duration::from_millis(50).min(deadline - Instant::now())).await;
        }
    }

    /// Subscribes to `venue`'s `symbol` `kind` stream, once a host holding the venue said
    /// it serves it.
    pub async fn subscribe(
        &self,
        venue: &str,
        symbol: &str,
        kind: StreamKind,
    ) -> Result<Subscription, HostError> {
        let topic = wire::Topic {
            symbol: symbol.to_owned(),
            kind: kind.name().to_owned(),
        };
        self.request(venue, Op::Check(topic)).await?;
        let sub = self
            .bus
            .subscribe(venue, symbol, kind)
            .ok_or_else(|| bus_error(venue, format!("symbol `{symbol}` is too long")))?;
        let key = (venue.to_owned(), symbol.to_owned(), kind);
        let fresh = self
            .feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
        if fresh {
            let started = match kind.is_private() {
                true => self.private_feed(venue, kind).await,
                false => self.market_feed(venue, symbol, kind).await,
            };
            if let Err(e) = started {
                self.feeds
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
                return Err(bus_error(venue, e));
            }
        }
        Ok(sub)
    }

    /// Starts reading one market-data subject into the local bus.
    async fn market_feed(&self, venue: &str, symbol: &str, kind: StreamKind) -> Result<(), String> {
        let subject = self.link.subjects.stream(venue, symbol, kind);
        let mut messages = self
            .link
            .client
            .subscribe(subject.clone())
            .await
            .map_err(|e| format!("subscribing {subject}: {e}"))?;
        // The server has the subscription once a round trip came back.
        self.link
            .client
            .flush()
            .await
            .map_err(|e| format!("subscribing {subject}: {e}"))?;
        let publisher = self.bus.publisher(venue);
        let gap_of = gap_maker(symbol, kind);
        let token = self.tasks.token().clone();
        self.tasks.spawn(async move {
            let mut order = Continuity::default();
            loop {
                let message = tokio::select! {
                    () = token.cancelled() => break,
                    m = messages.next() => m,
                };
                let Some(message) = message else { break };
                let Some(envelope) = decode(&subject, &message.payload) else {
                    continue;
                };
                for event in order.events(&envelope, &gap_of) {
                    note_gap(&subject, &event);
                    publisher.publish(event).await;
                }
            }
            let _ = messages.unsubscribe().await;
        });
        Ok(())
    }

    /// Starts a JetStream consumer of one private stream into the local bus.
    async fn private_feed(&self, venue: &str, kind: StreamKind) -> Result<(), String> {
        let stream = self
            .link
            .private_stream(venue, kind)
            .await
            .map_err(|e| e.0)?;
        let config = match kind {
            // The last value of each asset, then what changes.
            StreamKind::Balances => pull::Config {
                deliver_policy: DeliverPolicy::LastPerSubject,
                filter_subject: format!("{}.>", self.link.subjects.stream(venue, "", kind)),
                ack_policy: AckPolicy::Explicit,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            },
            _ => pull::Config {
                durable_name: Some(format!("{}-{venue}-{}", self.config.consumer, kind.name())),
                deliver_policy: DeliverPolicy::New,
                ack_policy: AckPolicy::Explicit,
                inactive_threshold: CONSUMER_IDLE,
                ..Default::default()
            },
        };
        let name = format!("{venue}/{}", kind.name());
        let consumer = stream
            .create_consumer(config)
            .await
            .map_err(|e| format!("consumer of {name}: {e}"))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| format!("consumer of {name}: {e}"))?;
        let counters = Arc::new(PrivateCounters::default());
        self.private
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), counters.clone());
        let publisher = self.bus.publisher(venue);
        let gap_of = gap_maker("", kind);
        let token = self.tasks.token().clone();
        // Balances keep one message per asset: their sequence has holes by design.
        let sequenced = kind != StreamKind::Balances;
        self.tasks.spawn(async move {
            let mut order = Continuity::default();
            loop {
                let message = tokio::select! {
                    () = token.cancelled() => break,
                    m = messages.next() => m,
                };
                let message = match message {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        tracing::warn!(stream = %name, error = %e, "private stream read failed; reading on");
                        continue;
                    }
                    None => break,
                };
                if let Ok(info) = message.info() {
                    let seq = info.stream_sequence;
                    let last = counters.last_seq.swap(seq, Ordering::Relaxed);
                    if counters.received.fetch_add(1, Ordering::Relaxed) == 0 {
                        counters.first_seq.store(seq, Ordering::Relaxed);
                    } else if sequenced && seq > last + 1 {
                        counters.missing.fetch_add(seq - last - 1, Ordering::Relaxed);
                        tracing::warn!(stream = %name, after = last, next = seq, "private stream skipped sequence numbers");
                    }
                }
                if let Some(envelope) = decode(&name, &message.payload) {
                    // Hosts number their own runs; the stream's sequence is the authority.
                    order.epoch = envelope.epoch.clone();
                    order.seq = envelope.seq.saturating_sub(1);
                    for event in order.events(&envelope, &gap_of) {
                        note_gap(&name, &event);
                        publisher.publish(event).await;
                    }
                }
                if let Err(e) = message.ack().await {
                    tracing::warn!(stream = %name, error = %e, "a private message was not acknowledged; it comes again");
                }
            }
        });
        Ok(())
    }

    /// What each private stream (`venue/kind`) received.
    pub fn private_streams(&self) -> BTreeMap<String, PrivateStreamStats> {
        let private = self.private.lock().unwrap_or_else(|p| p.into_inner());
        private
            .iter()
            .map(|(name, c)| {
                let stats = PrivateStreamStats {
                    received: c.received.load(Ordering::Relaxed),
                    first_seq: c.first_seq.load(Ordering::Relaxed),
                    last_seq: c.last_seq.load(Ordering::Relaxed),
                    missing: c.missing.load(Ordering::Relaxed),
                };
                (name.clone(), stats)
            })
            .collect()
    }

    /// Cancels every feed without waiting (an exchange dropped without shutdown).
    pub fn cancel(&self) {
        self.tasks.token().cancel();
    }

    /// Stops every feed and drains the connection, within the configuration's
    /// `shutdown.overall`, and reports like a host's shutdown (no venue ran here: the
    /// report counts the feeds and the program's streams).
    pub async fn shutdown(&self, reason: &str, venues: &[String]) -> ShutdownReport {
        let started = std::time::Instant::now();
        let counts = |tasks: usize| {
            let runtime = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            let resources = ResourceCounts {
                tasks,
                ..ResourceCounts::default()
            };
            Counts::gather(runtime, resources, self.bus.live_subscriptions())
        };
        let before = counts(self.tasks.live());
        self.close(venues, self.overall).await;
        // The client's own tasks end with the connection, a moment after it closed.
        crate::host::settle_runtime(self.tasks_before).await;
        let left = self.tasks.live();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        ShutdownReport {
            reason: reason.to_owned(),
            forced: false,
            stop: StopReport {
                scope: "bus".into(),
                elapsed_ms,
                resources: Vec::new(),
                quarantined: Vec::new(),
            },
            unloaded: Vec::new(),
            before,
            after: counts(left),
            images_still_mapped: Vec::new(),
            tasks_left: if left == 0 {
                Vec::new()
            } else {
                vec![("bus/feeds".into(), left)]
            },
            elapsed_ms,
        }
    }

    /// Stops every feed (at most `within`), ends the program's streams after what is
    /// queued and drains what the connection still has to send.
    async fn close(&self, venues: &[String], within: Duration) {
        let deadline = Instant::now() + within;
        for (name, stats) in self.private_streams() {
            tracing::info!(
                stream = %name,
                received = stats.received,
                first_seq = stats.first_seq,
                last_seq = stats.last_seq,
                missing = stats.missing,
                "private stream closed"
            );
        }
        if tokio::time::timeout_at(deadline, self.tasks.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tasks.live(),
                "bus feeds still running at their deadline; aborting them"
            );
            self.tasks.abort(crate::stop::resource::FORCE_GRACE).await;
        }
        for venue in venues {
            self.bus.end_kinds(venue, &StreamKind::ALL);
        }
        self.link.leave(deadline).await;
    }
}

fn bus_error(venue: &str, error: impl std::fmt::Display) -> HostError {
    HostError::Bus {
        venue: venue.to_owned(),
        error: error.to_string(),
    }
}

/// Logs a gap a feed passes on: the program's record of what the bus made it miss.
fn note_gap(stream: &str, event: &Event) {
    if let Event::Gap(gap) = event {
        tracing::info!(%stream, reason = ?gap.reason, "gap on the bus: the publisher changed, stopped or lost messages");
    }
}

fn decode(from: &str, payload: &[u8]) -> Option<Envelope> {
    match Envelope::decode(payload) {
        Ok(envelope) => Some(envelope),
        Err(e) => {
            tracing::warn!(%from, error = %e, "an undecodable message on the bus was skipped");
            None
        }
    }
}

/// Makes the gap events of one feed.
fn gap_maker(symbol: &str, kind: StreamKind) -> impl Fn(GapReason) -> Event + Send + 'static {
    let instrument = Instrument {
        symbol: Symbol::new(symbol).unwrap_or(Symbol::EMPTY),
        venue_symbol: Symbol::EMPTY,
    };
    move |reason| {
        Event::Gap(Gap {
            instrument,
            kind,
            reason,
            last_id: 0,
            stamp: plugin_api::Stamp {
                venue_ts_ms: 0,
                received_ns: now_ns(),
            },
        })
    }
}

/// A subject's numbering as a feed saw it: what it expects next.
#[derive(Debug, Default)]
struct Continuity {
    epoch: String,
    seq: u64,
    /// The publisher ended the subject; the next message starts another run.
    ended: bool,
}

impl Continuity {
    /// The events `envelope` makes for the program: its own, preceded by a gap when
    /// messages were missed or the publisher changed; an end marker becomes a gap.
    fn events(&mut self, envelope: &Envelope, gap_of: &impl Fn(GapReason) -> Event) -> Vec<Event> {
        let mut events = Vec::with_capacity(1);
        let first = self.epoch.is_empty();
        let next = envelope.epoch == self.epoch && envelope.seq == self.seq + 1;
        if !(first || self.ended || next) {
            events.push(gap_of(GapReason::Reconnect));
        }
        self.epoch.clone_from(&envelope.epoch);
        self.seq = envelope.seq;
        self.ended = false;
        match envelope.body.as_ref().map(wire::event) {
            Some(Ok(Some(event))) => events.push(event),
            Some(Ok(None)) => {
                self.ended = true;
                events.push(gap_of(GapReason::Reload));
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a message with a bad field on the bus was skipped")
            }
            None => {}
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::wire::Body;
    use super::*;

    fn envelope(epoch: &str, seq: u64, body: Body) -> Envelope {
        Envelope {
            seq,
            epoch: epoch.into(),
            published_ns: 0,
            body: Some(body),
        }
    }

    fn balance() -> Body {
        Body::Balance(wire::Balance {
            asset: "USDT".into(),
            available: "1".into(),
            locked: "0".into(),
            stamp: None,
        })
    }

    fn reasons(events: &[Event]) -> Vec<Option<GapReason>> {
        events
            .iter()
            .map(|e| match e {
                Event::Gap(g) => Some(g.reason),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn skipped_numbers_new_publishers_and_ends_become_gaps() {
        let gap_of = gap_maker("", StreamKind::Balances);
        let mut c = Continuity::default();
        assert_eq!(
            reasons(&c.events(&envelope("a", 5, balance()), &gap_of)),
            [None]
        );
        assert_eq!(
            reasons(&c.events(&envelope("a", 6, balance()), &gap_of)),
            [None]
        );
        let skipped = c.events(&envelope("a", 8, balance()), &gap_of);
        assert_eq!(reasons(&skipped), [Some(GapReason::Reconnect), None]);
        let other = c.events(&envelope("b", 1, balance()), &gap_of);
        assert_eq!(reasons(&other), [Some(GapReason::Reconnect), None]);
        let end = c.events(&envelope("b", 2, Body::End(wire::End {})), &gap_of);
        assert_eq!(reasons(&end), [Some(GapReason::Reload)]);
        // After an end, the next publisher's first message needs no second gap.
        assert_eq!(
            reasons(&c.events(&envelope("c", 1, balance()), &gap_of)),
            [None]
        );
    }
}
