//! Publishing a venue's streams on the bus: a handler bound to each configured stream
//! (`symbols` x `channels` of the venue) turns every item into an [`wire::Envelope`]
//! numbered within its subject, and sends it: market data on core NATS, private streams on
//! JetStream (acknowledged, retried with the same message id, so a retry is never stored
//! twice). The end of a stream is published as an end marker. What could not be published
//! is counted, by reason, never lost without a word.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_nats::jetstream::kv;
use async_nats::HeaderMap;
use bytes::Bytes;
use plugin_api::{Event, StreamKind};
use prost::Message;
use serde::Serialize;

use super::{now_ns, wire, Link};
use crate::pipeline::StreamItem;

/// How often a JetStream publish is tried before the message counts as dropped.
const JETSTREAM_TRIES: u32 = 3;

/// Counters of one venue's publishing.
#[derive(Debug, Default)]
pub struct VenueCounters {
    published: AtomicU64,
    dropped: AtomicU64,
    lag_last_ns: AtomicU64,
    lag_max_ns: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// What [`Publishing::snapshot`] shows of one venue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishStats {
    /// Messages published (JetStream: acknowledged).
    pub published: u64,
    /// Messages that could not be published (the reason in `last_error`).
    pub dropped: u64,
    /// From the host reading the frame to handing its message to NATS, last message, µs.
    pub lag_last_us: u64,
    /// The same, the largest so far, µs.
    pub lag_max_us: u64,
    /// Why the last message was dropped.
    pub last_error: Option<String>,
}

/// One subject's numbering, shared by its publisher and [`Publishing::end_venue`].
#[derive(Debug)]
struct SubjectState {
    subject: String,
    epoch: Arc<str>,
    private: bool,
    seq: AtomicU64,
    ended: AtomicBool,
}

/// The publishing counters of every venue this host published, and the subjects it
/// publishes now.
#[derive(Debug, Clone, Default)]
pub struct Publishing {
    venues: Arc<Mutex<BTreeMap<String, Arc<VenueCounters>>>>,
    subjects: Arc<Mutex<BTreeMap<String, Vec<Arc<SubjectState>>>>>,
}

impl Publishing {
    /// Publishes the end marker of every market-data subject of `venue` whose stream did
    /// not end by itself (its venue was stopped under it, or the host shuts down), so
    /// consumers learn at once that this publisher stopped.
    pub async fn end_venue(&self, link: &Link, venue: &str) {
        let states = self
            .subjects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(venue)
            .unwrap_or_default();
        for state in states {
            if state.private || state.ended.swap(true, Ordering::AcqRel) {
                continue;
            }
            let envelope = wire::Envelope {
                seq: state.seq.fetch_add(1, Ordering::AcqRel) + 1,
                epoch: state.epoch.to_string(),
                published_ns: now_ns(),
                body: Some(wire::Body::End(wire::End {})),
            };
            let payload = Bytes::from(envelope.encode_to_vec());
            if let Err(e) = link.client.publish(state.subject.clone(), payload).await {
                tracing::warn!(subject = %state.subject, error = %e, "end marker not published");
            }
        }
    }

    /// Every venue with subjects published now.
    pub fn venues_published(&self) -> Vec<String> {
        let subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        subjects.keys().cloned().collect()
    }

    fn venue(&self, venue: &str) -> Arc<VenueCounters> {
        let mut venues = self.venues.lock().unwrap_or_else(|p| p.into_inner());
        venues.entry(venue.to_owned()).or_default().clone()
    }

    /// Each venue's counters, by name.
    pub fn snapshot(&self) -> BTreeMap<String, PublishStats> {
        let venues = self.venues.lock().unwrap_or_else(|p| p.into_inner());
        venues
            .iter()
            .map(|(name, c)| {
                let stats = PublishStats {
                    published: c.published.load(Ordering::Relaxed),
                    dropped: c.dropped.load(Ordering::Relaxed),
                    lag_last_us: c.lag_last_ns.load(Ordering::Relaxed) / 1000,
                    lag_max_us: c.lag_max_ns.load(Ordering::Relaxed) / 1000,
                    last_error: c
                        .last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                };
                (name.clone(), stats)
            })
            .collect()
    }
}

/// One subject's publisher: its numbering and where it sends.
pub struct SubjectPublisher {
    link: Link,
    kind: StreamKind,
    state: Arc<SubjectState>,
    counters: Arc<VenueCounters>,
    /// Orders: the placed-orders bucket, where a final update marks its order settled.
    settle: Option<(kv::Store, Arc<str>)>,
}

impl SubjectPublisher {
    /// A publisher of `venue`'s `symbol` `kind` stream for the run `epoch`.
    pub fn new(
        link: &Link,
        publishing: &Publishing,
        venue: &str,
        symbol: &str,
        kind: StreamKind,
        epoch: Arc<str>,
    ) -> SubjectPublisher {
        let state = Arc::new(SubjectState {
            subject: link.subjects.stream(venue, symbol, kind),
            epoch,
            private: kind.is_private(),
            seq: AtomicU64::new(0),
            ended: AtomicBool::new(false),
        });
        publishing
            .subjects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(venue.to_owned())
            .or_default()
            .push(state.clone());
        SubjectPublisher {
            link: link.clone(),
            kind,
            state,
            counters: publishing.venue(venue),
            settle: None,
        }
    }

    /// Marks each order whose final update it published settled in `orders` (the bucket of
    /// [`super::orders`]), so no host taking the venue over looks it up again.
    pub fn settling(mut self, orders: kv::Store, venue: &str) -> SubjectPublisher {
        self.settle = Some((orders, venue.into()));
        self
    }

    /// Numbers and encodes `item`, and returns the future that publishes it (the handler
    /// of a binding).
    pub fn publish(&mut self, item: StreamItem) -> impl std::future::Future<Output = ()> {
        let state = &self.state;
        let seq = state.seq.fetch_add(1, Ordering::AcqRel) + 1;
        if matches!(item, StreamItem::End) {
            state.ended.store(true, Ordering::Release);
        }
        let published_ns = now_ns();
        let (body, received_ns, asset) = match &item {
            StreamItem::Event(event) => {
                let asset = match event {
                    Event::Balance(b) => Some(super::symbol_token(&b.asset)),
                    _ => None,
                };
                (wire::body(event), stamp_of(event), asset)
            }
            StreamItem::End => (wire::Body::End(wire::End {}), 0, None),
        };
        let envelope = wire::Envelope {
            seq,
            epoch: state.epoch.to_string(),
            published_ns,
            body: Some(body),
        };
        let payload = Bytes::from(envelope.encode_to_vec());
        // Balances go one subject per asset (the stream keeps the last of each); their end
        // marker goes to the `_end` subject, since it is no asset.
        let subject = match (self.kind, asset) {
            (StreamKind::Balances, Some(asset)) => format!("{}.{asset}", state.subject),
            (StreamKind::Balances, None) => format!("{}._end", state.subject),
            _ => state.subject.clone(),
        };
        let counters = self.counters.clone();
        if received_ns > 0 {
            let lag = published_ns.saturating_sub(received_ns);
            counters.lag_last_ns.store(lag, Ordering::Relaxed);
            counters.lag_max_ns.fetch_max(lag, Ordering::Relaxed);
        }
        let link = self.link.clone();
        // The message id only deduplicates JetStream retries: market data goes without one.
        let msg_id = self
            .kind
            .is_private()
            .then(|| format!("{}-{seq}", state.epoch));
        let settle = match (&self.settle, &item) {
            (Some((store, venue)), StreamItem::Event(Event::Order(update))) => {
                Some((store.clone(), venue.clone(), update.clone()))
            }
            _ => None,
        };
        async move {
            let outcome = if let Some(msg_id) = msg_id {
                jetstream_publish(&link, subject, msg_id, payload).await
            } else {
                link.client
                    .publish(subject, payload)
                    .await
                    .map_err(|e| format!("publish: {e}"))
            };
            match outcome {
                Ok(()) => {
                    counters.published.fetch_add(1, Ordering::Relaxed);
                    if let Some((store, venue, update)) = settle {
                        super::orders::settle(&store, &venue, &update).await;
                    }
                }
                Err(e) => {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "a message could not be published on the bus");
                    *counters
                        .last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            }
        }
    }
}

/// Publishes on JetStream and waits for the acknowledgement, trying again (with the same
/// message id: the stream stores it once) when it does not come.
async fn jetstream_publish(
    link: &Link,
    subject: String,
    msg_id: String,
    payload: Bytes,
) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..JETSTREAM_TRIES {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        let sent = link
            .js
            .publish_with_headers(subject.clone(), headers, payload.clone())
            .await;
        match sent {
            Ok(ack) => match ack.await {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("jetstream {subject}: {e}"),
            },
            Err(e) => last = format!("jetstream {subject}: {e}"),
        }
    }
    Err(last)
}

fn stamp_of(event: &Event) -> u64 {
    match event {
        Event::BookTicker(e) => e.stamp.received_ns,
        Event::Trade(e) => e.stamp.received_ns,
        Event::Depth(e) => e.stamp.received_ns,
        Event::Order(e) => e.stamp.received_ns,
        Event::Fill(e) => e.stamp.received_ns,
        Event::Balance(e) => e.stamp.received_ns,
        Event::Gap(e) => e.stamp.received_ns,
    }
}

/// A new publishing run's name: this process and when it began.
pub fn epoch(link: &Link, venue: &str) -> Arc<str> {
    format!("{}.{venue}.{}", link.name, now_ns()).into()
}
