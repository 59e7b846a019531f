//! Venue leases in a JetStream key-value bucket: of several hosts configured for one venue,
//! the one holding the venue's key runs it.
//!
//! The holder renews the key every third of the lease time with a compare-and-set on the
//! revision it last wrote; a write that finds another revision means another host took
//! the venue, and a holder that could not renew for two thirds of the lease time gives the
//! venue up on its own. A standby watches the key: a renewal restarts its clock, a delete
//! (the holder shut down) lets it take the key at once, and a lease time without renewal
//! lets it take the key over with a compare-and-set on the revision it last saw. So a
//! venue moves within one lease time (plus its start) after its holder dies, and two
//! hosts never both believe they hold it: the standby waits longer than the holder trusts
//! its last renewal.

use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What a lease key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holding process's name on the bus.
    pub holder: String,
    /// When it took the lease, ms since the Unix epoch.
    pub since_ms: u64,
}

/// Why holding a lease ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Another host holds it now, or it could not be renewed in time.
    Lost(String),
    /// The holder was asked to stop; the lease is still held at this revision (release it
    /// with [`Lease::release`] once the venue stopped).
    Cancelled(u64),
}

/// One venue's lease, as one process sees it.
#[derive(Clone)]
pub struct Lease {
    store: kv::Store,
    key: String,
    me: String,
    ttl: Duration,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("me", &self.me)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Lease {
    /// The lease of `venue` in `store`, for the process `me`.
    pub fn new(store: kv::Store, venue: &str, me: &str, ttl: Duration) -> Lease {
        Lease {
            store,
            key: venue.to_owned(),
            me: me.to_owned(),
            ttl,
        }
    }

    fn value(&self) -> Bytes {
        let holder = Holder {
            holder: self.me.clone(),
            since_ms: crate::venue::now_ms(),
        };
        Bytes::from(serde_json::to_vec(&holder).unwrap_or_default())
    }

    /// Who holds the lease now, if anyone.
    pub async fn holder(&self) -> Option<Holder> {
        let entry = self.store.entry(self.key.clone()).await.ok()??;
        (entry.operation == Operation::Put)
            .then(|| serde_json::from_slice(&entry.value).ok())
            .flatten()
    }

    /// Waits until this process holds the lease; its revision, or `None` once `token` is
    /// cancelled.
    pub async fn acquire(&self, token: &CancellationToken) -> Option<u64> {
        loop {
            let outcome = tokio::select! {
                () = token.cancelled() => return None,
                outcome = self.try_acquire() => outcome,
            };
            match outcome {
                Ok(Some(revision)) => return Some(revision),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(lease = %self.key, error = %e, "lease not readable; trying again");
                    // The bus is away: try again after a renewal period.
                    tokio::select! {
                        () = token.cancelled() => return None,
                        () = tokio::time::sleep(self.ttl / 3) => {}
                    }
                }
            }
        }
    }

    /// One round: take a free key, or wait out the holder's lease and take it over.
    /// `Ok(None)`: someone else was faster; look again.
    async fn try_acquire(&self) -> Result<Option<u64>, String> {
        // Watch first, then read: no renewal can fall between the two.
        let mut watch = self
            .store
            .watch(&self.key)
            .await
            .map_err(|e| e.to_string())?;
        let entry = self
            .store
            .entry(self.key.clone())
            .await
            .map_err(|e| e.to_string())?;
        let mut seen = match entry {
            Some(e) if e.operation == Operation::Put => e.revision,
            _ => return self.create().await,
        };
        let mut deadline = Instant::now() + self.ttl;
        loop {
            tokio::select! {
                update = watch.next() => match update {
                    Some(Ok(e)) if e.operation == Operation::Put => {
                        seen = e.revision;
                        deadline = Instant::now() + self.ttl;
                    }
                    Some(Ok(_)) => return self.create().await,
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Err("the lease watch ended".into()),
                },
                () = tokio::time::sleep_until(deadline) => {
                    return match self.store.update(&self.key, self.value(), seen).await {
                        Ok(revision) => {
                            tracing::info!(lease = %self.key, "the holder did not renew within the lease time: taking the venue over");
                            Ok(Some(revision))
                        }
                        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
                        Err(e) => Err(e.to_string()),
                    };
                }
            }
        }
    }

    async fn create(&self) -> Result<Option<u64>, String> {
        match self.store.create(&self.key, self.value()).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Renews the lease held at `revision` until it is lost or `token` is cancelled.
    pub async fn hold(&self, mut revision: u64, token: &CancellationToken) -> Ended {
        let every = self.ttl / 3;
        // Trusted for two thirds of the lease time: a standby waits a whole one.
        let trust = self.ttl * 2 / 3;
        let mut renewed = Instant::now();
        let mut next = renewed + every;
        loop {
            tokio::select! {
                () = token.cancelled() => return Ended::Cancelled(revision),
                () = tokio::time::sleep_until(next) => {}
            }
            let sent = Instant::now();
            next = sent + every;
            let update = self.store.update(&self.key, self.value(), revision);
            match tokio::time::timeout(every, update).await {
                Ok(Ok(r)) => {
                    revision = r;
                    renewed = sent;
                }
                Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    return Ended::Lost("another host holds the lease".into());
                }
                Ok(Err(e)) => tracing::warn!(lease = %self.key, error = %e, "lease not renewed"),
                Err(_) => tracing::warn!(lease = %self.key, "lease renewal timed out"),
            }
            if renewed.elapsed() >= trust {
                return Ended::Lost(format!("not renewed for {trust:?}"));
            }
        }
    }

    /// Gives the lease up (a standby takes it at once), if it is still at `revision`.
    /// Waits at most a renewal period: a bus that does not answer lets the lease expire.
    pub async fn release(&self, revision: u64) -> Result<(), String> {
        let delete = self.store.delete_expect_revision(&self.key, Some(revision));
        match tokio::time::timeout(self.ttl / 3, delete).await {
            Ok(done) => done.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.ttl / 3)),
        }
    }
}
