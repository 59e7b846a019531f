//! Topic ids: every market-data stream (channel + key) gets a small integer so connections can
//! filter frames with a bitmap and the generator can skip streams nobody listens to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message;

/// One pre-serialised market-data frame for one topic.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub(crate) topic: u32,
    pub(crate) msg: Message,
}

/// A batch of frames produced in one generator tick.
pub(crate) type Batch = Arc<Vec<Frame>>;

/// Registry of topics, fixed after start-up, with live subscriber counts.
#[derive(Debug, Default)]
pub(crate) struct TopicTable {
    ids: HashMap<(String, String), u32>,
    names: Vec<(String, String)>,
    subscribers: Vec<AtomicU32>,
}

impl TopicTable {
    /// Add `(channel, key)` (idempotent) and return its id.
    pub(crate) fn register(&mut self, channel: &str, key: &str) -> u32 {
        let k = (channel.to_owned(), key.to_owned());
        if let Some(id) = self.ids.get(&k) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 topics");
        self.ids.insert(k.clone(), id);
        self.names.push(k);
        self.subscribers.push(AtomicU32::new(0));
        id
    }

    pub(crate) fn lookup(&self, channel: &str, key: &str) -> Option<u32> {
        // Avoid allocating on the hot path by probing with owned strings only here (control
        // messages are rare).
        self.ids.get(&(channel.to_owned(), key.to_owned())).copied()
    }

    /// The `(channel, key)` a topic was registered with.
    pub(crate) fn name(&self, id: u32) -> Option<&(String, String)> {
        self.names.get(id as usize)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn has_subscribers(&self, id: u32) -> bool {
        self.subscribers[id as usize].load(Ordering::Relaxed) > 0
    }

    fn add(&self, id: u32) {
        self.subscribers[id as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&self, id: u32) {
        self.subscribers[id as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connection's topic subscriptions; releases its subscriber counts on drop.
#[derive(Debug)]
pub(crate) struct TopicSet {
    table: Arc<TopicTable>,
    on: Vec<bool>,
}

impl TopicSet {
    pub(crate) fn new(table: Arc<TopicTable>) -> Self {
        let on = vec![false; table.len()];
        Self { table, on }
    }

    pub(crate) fn table(&self) -> &TopicTable {
        &self.table
    }

    /// Returns true if the topic was not yet subscribed.
    pub(crate) fn insert(&mut self, id: u32) -> bool {
        let slot = &mut self.on[id as usize];
        if *slot {
            return false;
        }
        *slot = true;
        self.table.add(id);
        true
    }

    pub(crate) fn remove(&mut self, id: u32) {
        let slot = &mut self.on[id as usize];
        if *slot {
            *slot = false;
            self.table.remove(id);
        }
    }

    pub(crate) fn contains(&self, id: u32) -> bool {
        self.on.get(id as usize).copied().unwrap_or(false)
    }
}

impl Drop for TopicSet {
    fn drop(&mut self) {
        for (id, on) in self.on.iter().enumerate() {
            if *on {
                self.table.remove(id as u32);
            }
        }
    }
}
