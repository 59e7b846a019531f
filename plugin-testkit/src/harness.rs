//! Drives one venue instance the way the host does, call by call, on a clock the test
//! controls, and records everything the plugin produced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use abi_stable::std_types::{RResult, RSlice};
use plugin_api::{
    Action, ConnId, FrameKind, InFrame, Instrument, KnownOrder, OutFrame, Output, PluginError,
    RestRequest, StreamKind, Topic, VenueAdapterBox, VenueDescriptor,
};

use crate::error::TestkitError;
use crate::outcome::{FrameResult, Outcome};
use crate::plugin::Library;

mod rest;

/// A deep copy made in this crate's memory: abi_stable containers carry function pointers
/// into the library that made them, so what a plugin returns is copied before it is kept.
fn rehome<T: Clone>(value: T) -> T {
    #[allow(clippy::redundant_clone)]
    value.clone()
}

/// Where every harness clock starts: 2023-11-14T22:13:20Z, in milliseconds.
pub const START_MS: u64 = 1_700_000_000_000;

/// One connection the harness opened.
#[derive(Debug, Clone)]
struct Conn {
    name: String,
    topics: Vec<Topic>,
}

/// One venue instance driven without the host.
///
/// Connections get host-style ids: each [`Harness::open`] a new one, kept across
/// [`Harness::disconnect`] / [`Harness::reconnect`] (as the host keeps it when a socket
/// drops and reconnects). `subscribe` resolves symbols first and hands the plugin every
/// topic of the call at once, as the host does for one connection. Actions are recorded,
/// not carried out: REST requests wait in [`Harness::pending_requests`] (signed through
/// the plugin's `sign` when they ask to be, as the host sends them) until answered,
/// `ArmTimer` / `CancelTimer` keep [`Harness::armed_timers`], and frames to send are in
/// [`Outcome::sent`].
pub struct Harness {
    // Declared before `_library`: the adapter's code lives in the library.
    adapter: VenueAdapterBox,
    venue: String,
    now_ms: u64,
    started: bool,
    next_conn: u64,
    conns: BTreeMap<ConnId, Conn>,
    armed: BTreeSet<String>,
    pending: Vec<RestRequest>,
    outcome: Outcome,
    _library: Option<Arc<Library>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("venue", &self.venue)
            .field("now_ms", &self.now_ms)
            .field("conns", &self.conns)
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

impl Harness {
    pub(crate) fn new(
        venue: &str,
        adapter: VenueAdapterBox,
        library: Option<Arc<Library>>,
    ) -> Harness {
        Harness {
            adapter,
            venue: venue.to_owned(),
            now_ms: START_MS,
            started: false,
            next_conn: 1,
            conns: BTreeMap::new(),
            armed: BTreeSet::new(),
            pending: Vec::new(),
            outcome: Outcome::default(),
            _library: library,
        }
    }

    /// The venue id of the plugin.
    pub fn venue(&self) -> &str {
        &self.venue
    }

    /// The clock, in milliseconds since the Unix epoch; starts at [`START_MS`].
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Moves the clock forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now_ms = self.now_ms.saturating_add(ms);
    }

    /// Sets the clock.
    pub fn set_now_ms(&mut self, ms: u64) {
        self.now_ms = ms;
    }

    fn received_ns(&self) -> u64 {
        self.now_ms.saturating_mul(1_000_000)
    }

    /// Everything the plugin produced so far.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Takes what the plugin produced so far, leaving an empty record.
    pub fn take_outcome(&mut self) -> Outcome {
        std::mem::take(&mut self.outcome)
    }

    pub(crate) fn record_into(&mut self, into: Outcome) -> Outcome {
        let during = std::mem::replace(&mut self.outcome, into);
        self.outcome.extend(&during);
        during
    }

    /// Timers the plugin armed and has not cancelled.
    pub fn armed_timers(&self) -> &BTreeSet<String> {
        &self.armed
    }

    /// REST requests the plugin made that have not been answered, oldest first.
    pub fn pending_requests(&self) -> &[RestRequest] {
        &self.pending
    }

    /// True once [`Harness::start`] ran.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The latest connection opened under `name`.
    pub fn conn(&self, name: &str) -> Option<ConnId> {
        self.conns
            .iter()
            .rev()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| *id)
    }

    /// The topics subscribed on `conn` (what a reconnect subscribes again).
    pub fn topics(&self, conn: ConnId) -> &[Topic] {
        self.conns.get(&conn).map_or(&[], |c| &c.topics)
    }

    fn fail(&mut self, call: &'static str, error: &PluginError) -> TestkitError {
        self.outcome.add_error(call, error);
        TestkitError::Plugin {
            venue: self.venue.clone(),
            call,
            error: error.clone(),
        }
    }

    /// Records an output-returning call: copies the output out of the plugin, applies its
    /// timer and REST actions to the harness state.
    fn output(
        &mut self,
        call: &'static str,
        result: RResult<Output, PluginError>,
    ) -> Result<Output, TestkitError> {
        match result {
            RResult::ROk(output) => {
                let output = rehome(output);
                self.outcome.add_output(&output);
                for action in output.actions.iter() {
                    match action {
                        Action::ArmTimer(name) => {
                            self.armed.insert(name.to_string());
                        }
                        Action::CancelTimer(name) => {
                            self.armed.remove(name.as_str());
                        }
                        Action::Rest(request) => self.submit(request.clone()),
                        _ => {}
                    }
                }
                Ok(output)
            }
            RResult::RErr(error) => Err(self.fail(call, &error)),
        }
    }

    /// The plugin's descriptor.
    pub fn describe(&mut self) -> Result<VenueDescriptor, TestkitError> {
        match self.adapter.describe() {
            RResult::ROk(d) => Ok(rehome(d)),
            RResult::RErr(e) => Err(self.fail("describe", &e)),
        }
    }

    /// The instrument the plugin makes of a normalized symbol (`BTC/USDT`), if any.
    pub fn resolve(&mut self, symbol: &str) -> Result<Option<Instrument>, TestkitError> {
        match self.adapter.resolve(symbol.into()) {
            RResult::ROk(i) => Ok(i.into_option()),
            RResult::RErr(e) => Err(self.fail("resolve", &e)),
        }
    }

    /// Calls `start`, as the host does before any connection opens.
    pub fn start(&mut self) -> Result<Output, TestkitError> {
        self.started = true;
        let result = self.adapter.start(self.now_ms);
        self.output("start", result)
    }

    /// Opens a connection declared under `name`: a new id, then `on_connected`.
    pub fn open(&mut self, name: &str) -> Result<ConnId, TestkitError> {
        let descriptor = self.describe()?;
        if !descriptor.connections.iter().any(|c| c.name == name) {
            let declared: Vec<_> = descriptor
                .connections
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(TestkitError::UndeclaredConnection {
                venue: self.venue.clone(),
                name: name.to_owned(),
                declared: declared.join(", "),
            });
        }
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(
            conn,
            Conn {
                name: name.to_owned(),
                topics: Vec::new(),
            },
        );
        let result = self.adapter.on_connected(conn, name.into());
        self.output("on_connected", result)?;
        Ok(conn)
    }

    fn conn_name(&self, conn: ConnId) -> Result<String, TestkitError> {
        self.conns
            .get(&conn)
            .map(|c| c.name.clone())
            .ok_or(TestkitError::UnknownConnection(conn))
    }

    /// Resolves each normalized symbol; an empty symbol stands for "no instrument" (private
    /// kinds that cover the whole account).
    pub fn topics_for(
        &mut self,
        topics: &[(StreamKind, &str)],
    ) -> Result<Vec<Topic>, TestkitError> {
        let mut out = Vec::with_capacity(topics.len());
        for (kind, symbol) in topics {
            let instrument = match symbol.is_empty() {
                true => Instrument::default(),
                false => self
                    .resolve(symbol)?
                    .ok_or_else(|| TestkitError::Unresolved {
                        venue: self.venue.clone(),
                        symbol: (*symbol).to_owned(),
                    })?,
            };
            out.push(Topic {
                kind: *kind,
                instrument,
            });
        }
        Ok(out)
    }

    /// Subscribes `(kind, normalized symbol)` topics on `conn` in one call, resolving each
    /// symbol first; returns the frames the plugin wants sent.
    pub fn subscribe(
        &mut self,
        conn: ConnId,
        topics: &[(StreamKind, &str)],
    ) -> Result<Vec<OutFrame>, TestkitError> {
        let topics = self.topics_for(topics)?;
        self.subscribe_topics(conn, &topics)
    }

    /// Subscribes already resolved topics on `conn` in one call.
    pub fn subscribe_topics(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
    ) -> Result<Vec<OutFrame>, TestkitError> {
        self.conn_name(conn)?;
        let result = self
            .adapter
            .subscribe(conn, RSlice::from_slice(topics), self.now_ms);
        let frames = self.frames("subscribe", conn, result)?;
        if let Some(c) = self.conns.get_mut(&conn) {
            for t in topics {
                if !c.topics.contains(t) {
                    c.topics.push(*t);
                }
            }
        }
        Ok(frames)
    }

    /// Unsubscribes `(kind, normalized symbol)` topics on `conn` in one call.
    pub fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: &[(StreamKind, &str)],
    ) -> Result<Vec<OutFrame>, TestkitError> {
        let topics = self.topics_for(topics)?;
        self.conn_name(conn)?;
        let result = self
            .adapter
            .unsubscribe(conn, RSlice::from_slice(&topics), self.now_ms);
        let frames = self.frames("unsubscribe", conn, result)?;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.topics.retain(|t| !topics.contains(t));
        }
        Ok(frames)
    }

    fn frames(
        &mut self,
        call: &'static str,
        conn: ConnId,
        result: RResult<abi_stable::std_types::RVec<OutFrame>, PluginError>,
    ) -> Result<Vec<OutFrame>, TestkitError> {
        match result {
            RResult::ROk(frames) => {
                let frames: Vec<OutFrame> = frames.iter().cloned().collect();
                self.outcome.add_sent(conn, &frames);
                Ok(frames)
            }
            RResult::RErr(e) => Err(self.fail(call, &e)),
        }
    }

    /// Feeds one received frame on `conn`, stamped with the clock.
    pub fn feed(
        &mut self,
        conn: ConnId,
        kind: FrameKind,
        data: &[u8],
    ) -> Result<Output, TestkitError> {
        self.feed_labelled(conn, kind, data, None, None)
    }

    /// Feeds a text frame.
    pub fn feed_text(&mut self, conn: ConnId, text: &str) -> Result<Output, TestkitError> {
        self.feed(conn, FrameKind::Text, text.as_bytes())
    }

    /// Feeds a binary frame.
    pub fn feed_binary(&mut self, conn: ConnId, data: &[u8]) -> Result<Output, TestkitError> {
        self.feed(conn, FrameKind::Binary, data)
    }

    pub(crate) fn feed_labelled(
        &mut self,
        conn: ConnId,
        kind: FrameKind,
        data: &[u8],
        line: Option<usize>,
        label: Option<&str>,
    ) -> Result<Output, TestkitError> {
        self.conn_name(conn)?;
        let frame = InFrame {
            kind,
            data: RSlice::from_slice(data),
        };
        let result = self.adapter.on_frame(conn, frame, self.received_ns());
        let result = self.output("on_frame", result);
        let (events, rejects, error) = match &result {
            Ok(out) => (out.events.len(), out.rejects.to_vec(), None),
            Err(TestkitError::Plugin { error, .. }) => (0, Vec::new(), Some(error.clone())),
            Err(_) => (0, Vec::new(), None),
        };
        self.outcome.add_frame(FrameResult {
            conn,
            line,
            label: label.map(str::to_owned),
            events,
            rejects,
            error,
        });
        result
    }

    /// Fires an armed timer.
    pub fn fire_timer(&mut self, name: &str) -> Result<Output, TestkitError> {
        if !self.armed.contains(name) {
            return Err(TestkitError::TimerNotArmed(name.to_owned()));
        }
        let result = self.adapter.on_timer(name.into(), self.now_ms);
        self.output("on_timer", result)
    }

    /// Asks for the heartbeat frame of `conn`.
    pub fn heartbeat(&mut self, conn: ConnId) -> Result<Option<OutFrame>, TestkitError> {
        self.conn_name(conn)?;
        match self.adapter.heartbeat(conn, self.now_ms) {
            RResult::ROk(frame) => {
                let frame = frame.into_option().map(rehome);
                self.outcome.add_sent(conn, frame.as_slice());
                Ok(frame)
            }
            RResult::RErr(e) => Err(self.fail("heartbeat", &e)),
        }
    }

    /// The socket of `conn` dropped: `on_disconnected`.
    pub fn disconnect(&mut self, conn: ConnId) -> Result<Output, TestkitError> {
        self.conn_name(conn)?;
        let result = self.adapter.on_disconnected(conn);
        self.output("on_disconnected", result)
    }

    /// The socket of `conn` is back, under the same id: `on_connected`, then one `subscribe`
    /// with every topic it carried. Returns the subscribe frames. (The host also publishes a
    /// `Reconnect` gap for each of those topics; that gap is the host's, not the plugin's,
    /// and is not recorded here.)
    pub fn reconnect(&mut self, conn: ConnId) -> Result<Vec<OutFrame>, TestkitError> {
        let name = self.conn_name(conn)?;
        let result = self.adapter.on_connected(conn, name.as_str().into());
        self.output("on_connected", result)?;
        let topics = self.topics(conn).to_vec();
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let result = self
            .adapter
            .subscribe(conn, RSlice::from_slice(&topics), self.now_ms);
        self.frames("subscribe", conn, result)
    }

    /// Calls `recover_orders` with `orders`, as the host does right after `start` for a build
    /// that replaces another which left orders unsettled; REST requests it returns become
    /// pending requests.
    pub fn recover_orders(&mut self, orders: Vec<KnownOrder>) -> Result<Output, TestkitError> {
        let result = self.adapter.recover_orders(orders.into(), self.now_ms);
        self.output("recover_orders", result)
    }

    /// Calls `stop`, as the host does before stopping the instance's resources.
    pub fn stop(&mut self) -> Result<Output, TestkitError> {
        let result = self.adapter.stop(self.now_ms);
        self.output("stop", result)
    }
}
