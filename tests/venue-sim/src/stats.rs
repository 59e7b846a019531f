//! Counters and subscription sets that tests read through [`Stats`], with a way to wait for a
//! condition on them without polling.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A point-in-time copy of the simulator's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// TCP connections accepted (REST and websocket, including refused/hung ones).
    pub tcp_accepted: u64,
    /// Websocket handshakes completed.
    pub ws_accepted: u64,
    /// Websocket connections currently open.
    pub ws_live: u64,
    /// Websocket frames sent (data, acks and pongs).
    pub frames_sent: u64,
    /// Text/binary frames received from websocket clients.
    pub ws_requests: u64,
    /// REST requests received (including those answered by a fault).
    pub rest_requests: u64,
    /// REST requests per `METHOD path`.
    pub rest_by_route: BTreeMap<String, u64>,
    /// Current subscriptions per live websocket connection id (channel names as the client
    /// wrote them; Gate entries are `channel:payload-item`).
    pub subscriptions: BTreeMap<u64, Vec<String>>,
    /// Market-data frames lost because a connection fell behind the generator.
    pub lagged: u64,
    /// Protocol pongs received from websocket clients (answers to the server's pings).
    pub pongs_received: u64,
}

/// Live counters shared by the simulator's tasks. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tcp_accepted: AtomicU64,
    ws_accepted: AtomicU64,
    ws_live: AtomicU64,
    frames_sent: AtomicU64,
    ws_requests: AtomicU64,
    rest_requests: AtomicU64,
    lagged: AtomicU64,
    pongs_received: AtomicU64,
    next_conn_id: AtomicU64,
    rest_by_route: Mutex<BTreeMap<String, u64>>,
    subscriptions: Mutex<BTreeMap<u64, Vec<String>>>,
    changed: Notify,
}

impl Stats {
    /// Copy every counter now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let i = &self.inner;
        StatsSnapshot {
            tcp_accepted: i.tcp_accepted.load(Ordering::SeqCst),
            ws_accepted: i.ws_accepted.load(Ordering::SeqCst),
            ws_live: i.ws_live.load(Ordering::SeqCst),
            frames_sent: i.frames_sent.load(Ordering::SeqCst),
            ws_requests: i.ws_requests.load(Ordering::SeqCst),
            rest_requests: i.rest_requests.load(Ordering::SeqCst),
            rest_by_route: i.rest_by_route.lock().unwrap().clone(),
            subscriptions: i.subscriptions.lock().unwrap().clone(),
            lagged: i.lagged.load(Ordering::SeqCst),
            pongs_received: i.pongs_received.load(Ordering::SeqCst),
        }
    }

    /// Wait until `cond` holds for a snapshot. Wakes on every counter change (frame counts are
    /// signalled once per batch); wrap it in a timeout in tests.
    pub async fn wait_until(&self, mut cond: impl FnMut(&StatsSnapshot) -> bool) -> StatsSnapshot {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let snap = self.snapshot();
            if cond(&snap) {
                return snap;
            }
            notified.await;
        }
    }

    fn bump(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::SeqCst);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn tcp_accepted(&self) {
        self.bump(&self.inner.tcp_accepted, 1);
    }

    pub(crate) fn ws_opened(&self) -> u64 {
        let id = self.inner.next_conn_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner
            .subscriptions
            .lock()
            .unwrap()
            .insert(id, Vec::new());
        self.inner.ws_live.fetch_add(1, Ordering::SeqCst);
        self.bump(&self.inner.ws_accepted, 1);
        id
    }

    pub(crate) fn ws_closed(&self, id: u64) {
        self.inner.subscriptions.lock().unwrap().remove(&id);
        self.inner.ws_live.fetch_sub(1, Ordering::SeqCst);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn frames_sent(&self, n: u64) {
        self.bump(&self.inner.frames_sent, n);
    }

    pub(crate) fn ws_request(&self) {
        self.bump(&self.inner.ws_requests, 1);
    }

    pub(crate) fn pong_received(&self) {
        self.bump(&self.inner.pongs_received, 1);
    }

    pub(crate) fn lagged(&self, n: u64) {
        self.bump(&self.inner.lagged, n);
    }

    pub(crate) fn rest_request(&self, route: String) {
        *self
            .inner
            .rest_by_route
            .lock()
            .unwrap()
            .entry(route)
            .or_default() += 1;
        self.bump(&self.inner.rest_requests, 1);
    }

    pub(crate) fn set_subscriptions(&self, id: u64, subs: Vec<String>) {
        self.inner.subscriptions.lock().unwrap().insert(id, subs);
        self.inner.changed.notify_waiters();
    }
}
