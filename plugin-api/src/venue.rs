//! The trait a plugin author implements, and the guarded wrapper that exposes it to the host.

use std::sync::atomic::{AtomicBool, Ordering};

use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RVec};

use crate::adapter::VenueAdapter;
use crate::guard::guard;
use crate::{
    CancelOrder, ConnId, ErrorKind, InFrame, Instrument, KnownOrder, NewOrder, OutFrame, Output,
    PluginError, RestRequest, RestResponse, Topic, VenueDescriptor,
};

/// A venue adapter: pure protocol logic that the host drives (docs/ARCHITECTURE.md, "The plugin boundary").
///
/// The host owns every socket, task, timer, queue and rate limiter. It calls these methods
/// synchronously, one at a time per instance, and carries out the [`Output`] they return.
/// A plugin must not spawn threads, start a runtime, sleep, or keep thread-locals with
/// destructors: any of those keeps its library from being unloaded.
///
/// The order of calls for one instance: [`describe`](Venue::describe) →
/// [`start`](Venue::start) → for each connection [`on_connected`](Venue::on_connected),
/// [`subscribe`](Venue::subscribe), then [`on_frame`](Venue::on_frame) per frame,
/// [`heartbeat`](Venue::heartbeat) on its period, [`on_disconnected`](Venue::on_disconnected)
/// when it drops (followed by a new `on_connected` and `subscribe` on reconnect) →
/// [`stop`](Venue::stop) once, before the host stops the instance's resources. A build that
/// replaces an earlier one of the same instance gets
/// [`recover_orders`](Venue::recover_orders) right after `start` if that one left orders
/// unsettled.
pub trait Venue: Send + 'static {
    /// Identity, capabilities, connections, limits, timers and the resource graph.
    fn describe(&self) -> VenueDescriptor;

    /// Maps a normalized symbol (`BTC/USDT`) to the instrument with the venue's spelling,
    /// or `None` if the venue has no such market.
    fn resolve(&self, symbol: &str) -> Option<Instrument>;

    /// Called once before any connection opens; may return initial actions (for example
    /// a REST request for a listen key, or arming a timer).
    fn start(&mut self, now_ms: u64) -> Result<Output, PluginError> {
        let _ = now_ms;
        Ok(Output::default())
    }

    /// Frames that subscribe `topics` on connection `conn`, at wall-clock time `now_ms`
    /// (for venues that stamp or sign their subscribe messages).
    ///
    /// The host calls it once per connection with every topic that connection should
    /// carry (after a reconnect, the same list again); the frames returned are sent in
    /// order, paced by the connection's `max_outbound_per_sec`. Split a long list into
    /// several frames when the venue limits a message's size or topic count.
    fn subscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError>;

    /// Frames that unsubscribe `topics` on connection `conn`, at wall-clock time `now_ms`.
    fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError>;

    /// The application-level heartbeat frame for `conn`, if the venue has one.
    fn heartbeat(&mut self, conn: ConnId, now_ms: u64) -> Result<Option<OutFrame>, PluginError> {
        let _ = (conn, now_ms);
        Ok(None)
    }

    /// A connection (declared under `name`) is open; nothing is subscribed on it yet.
    fn on_connected(&mut self, conn: ConnId, name: &str) -> Result<Output, PluginError> {
        let _ = (conn, name);
        Ok(Output::default())
    }

    /// A connection was lost; the host reconnects and calls `on_connected` again.
    /// Typical use: forget per-connection sequence state so the book resyncs.
    fn on_disconnected(&mut self, conn: ConnId) -> Result<Output, PluginError> {
        let _ = conn;
        Ok(Output::default())
    }

    /// One received frame → normalized events, actions and rejects. Must never panic on bad
    /// input: report it in [`Output::rejects`] instead.
    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError>;

    /// Signs a request (adds headers, query parameters) at wall-clock time `now_ms`.
    fn sign(&self, request: RestRequest, now_ms: u64) -> Result<RestRequest, PluginError> {
        let _ = now_ms;
        let _ = request;
        Err(PluginError::unsupported(
            "this venue does not sign requests",
        ))
    }

    /// The answer to a [`RestRequest`] the plugin asked for (matched by `tag`).
    fn on_rest_response(
        &mut self,
        response: RestResponse,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let _ = (response, received_ns);
        Ok(Output::default())
    }

    /// A declared timer fired.
    fn on_timer(&mut self, name: &str, now_ms: u64) -> Result<Output, PluginError> {
        let _ = (name, now_ms);
        Ok(Output::default())
    }

    /// The REST request that places `order`, carrying `tag`; its response goes to
    /// `on_rest_response`. The host's tags have [`crate::PLUGIN_TAG_BIT`] clear.
    fn place_order(&mut self, order: &NewOrder, tag: u64) -> Result<RestRequest, PluginError> {
        let _ = (order, tag);
        Err(PluginError::unsupported("this venue does not trade"))
    }

    /// The REST request that cancels an order, carrying `tag` (a host tag, as for
    /// [`Venue::place_order`]).
    fn cancel_order(&mut self, cancel: &CancelOrder, tag: u64) -> Result<RestRequest, PluginError> {
        let _ = (cancel, tag);
        Err(PluginError::unsupported("this venue does not trade"))
    }

    /// The instance is about to stop: last actions (for example deleting a listen key).
    /// The host carries out REST actions returned here before it stops the REST client.
    fn stop(&mut self, now_ms: u64) -> Result<Output, PluginError> {
        let _ = now_ms;
        Ok(Output::default())
    }

    /// Orders an earlier build of this instance placed (before a plugin reload, a restart
    /// after a fault or with new settings) whose final state the host has not seen: their
    /// answers, and any lookup that build had under way, went with it. Called once, right
    /// after [`start`](Venue::start), when there are any. Look each one up (by
    /// [`KnownOrder::order_id`] when it is known, else by the client id) and report what
    /// became of it as order updates; the [`crate::kit::lookup`] helpers do the tries and
    /// the verdicts. The default reports each as [`OrderStatus::Unknown`](crate::OrderStatus::Unknown),
    /// so no program waits forever on one.
    fn recover_orders(
        &mut self,
        orders: &[KnownOrder],
        now_ms: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        for known in orders {
            out.event(crate::Event::Order(crate::kit::lookup::requested(
                &known.order,
                crate::OrderStatus::Unknown,
                now_ms.saturating_mul(1_000_000),
            )));
        }
        Ok(out)
    }
}

/// Wraps a [`Venue`] so that every call runs under the panic guard, and refuses further
/// calls once one has panicked (the instance's state can no longer be trusted).
pub struct Guarded<V> {
    venue: V,
    faulted: AtomicBool,
}

impl<V: Venue> Guarded<V> {
    /// Wraps `venue`.
    pub fn new(venue: V) -> Guarded<V> {
        Guarded {
            venue,
            faulted: AtomicBool::new(false),
        }
    }

    fn call<T>(&self, f: impl FnOnce(&V) -> Result<T, PluginError>) -> RResult<T, PluginError> {
        if self.faulted.load(Ordering::Relaxed) {
            return RResult::RErr(faulted());
        }
        let result = guard(|| f(&self.venue));
        self.note(&result);
        result
    }

    fn call_mut<T>(
        &mut self,
        f: impl FnOnce(&mut V) -> Result<T, PluginError>,
    ) -> RResult<T, PluginError> {
        if self.faulted.load(Ordering::Relaxed) {
            return RResult::RErr(faulted());
        }
        let venue = &mut self.venue;
        let result = guard(|| f(venue));
        self.note(&result);
        result
    }

    fn note<T>(&self, result: &RResult<T, PluginError>) {
        if let RResult::RErr(e) = result {
            if e.kind == ErrorKind::Panic {
                self.faulted.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn faulted() -> PluginError {
    PluginError::new(
        ErrorKind::Faulted,
        "instance is faulted after a panic and refuses calls",
    )
}

impl<V: Venue> VenueAdapter for Guarded<V> {
    fn describe(&self) -> RResult<VenueDescriptor, PluginError> {
        self.call(|v| Ok(v.describe()))
    }

    fn resolve(&self, symbol: RStr<'_>) -> RResult<ROption<Instrument>, PluginError> {
        self.call(|v| Ok(v.resolve(symbol.as_str()).into()))
    }

    fn start(&mut self, now_ms: u64) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.start(now_ms))
    }

    fn subscribe(
        &mut self,
        conn: ConnId,
        topics: RSlice<'_, Topic>,
        now_ms: u64,
    ) -> RResult<RVec<OutFrame>, PluginError> {
        self.call_mut(|v| v.subscribe(conn, topics.as_slice(), now_ms).map(RVec::from))
    }

    fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: RSlice<'_, Topic>,
        now_ms: u64,
    ) -> RResult<RVec<OutFrame>, PluginError> {
        self.call_mut(|v| {
            v.unsubscribe(conn, topics.as_slice(), now_ms)
                .map(RVec::from)
        })
    }

    fn heartbeat(&mut self, conn: ConnId, now_ms: u64) -> RResult<ROption<OutFrame>, PluginError> {
        self.call_mut(|v| v.heartbeat(conn, now_ms).map(ROption::from))
    }

    fn on_connected(&mut self, conn: ConnId, name: RStr<'_>) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.on_connected(conn, name.as_str()))
    }

    fn on_disconnected(&mut self, conn: ConnId) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.on_disconnected(conn))
    }

    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.on_frame(conn, frame, received_ns))
    }

    fn sign(&self, request: RestRequest, now_ms: u64) -> RResult<RestRequest, PluginError> {
        self.call(|v| v.sign(request, now_ms))
    }

    fn on_rest_response(
        &mut self,
        response: RestResponse,
        received_ns: u64,
    ) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.on_rest_response(response, received_ns))
    }

    fn on_timer(&mut self, name: RStr<'_>, now_ms: u64) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.on_timer(name.as_str(), now_ms))
    }

    fn place_order(&mut self, order: NewOrder, tag: u64) -> RResult<RestRequest, PluginError> {
        self.call_mut(|v| v.place_order(&order, tag))
    }

    fn cancel_order(&mut self, cancel: CancelOrder, tag: u64) -> RResult<RestRequest, PluginError> {
        self.call_mut(|v| v.cancel_order(&cancel, tag))
    }

    fn stop(&mut self, now_ms: u64) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.stop(now_ms))
    }

    fn recover_orders(
        &mut self,
        orders: RVec<KnownOrder>,
        now_ms: u64,
    ) -> RResult<Output, PluginError> {
        self.call_mut(|v| v.recover_orders(&orders, now_ms))
    }
}
