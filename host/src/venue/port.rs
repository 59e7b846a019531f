//! What a venue's resources (timers, connections, the REST client) ask of the instance that
//! owns them. Each resource holds a weak [`Port`] given at construction: a plugin call through
//! it is delivered and acted on by the instance, and a resource never keeps its instance
//! alive. The instance implements it; the resources know nothing else of the instance.

use futures_util::future::BoxFuture;
use plugin_api::{ConnId, Event, InFrame, Instrument, OutFrame, RestRequest, RestResponse, Topic};

use crate::venue::driver::CallError;
use crate::venue::tally::Tally;

/// A plugin callback whose output the instance delivers (events) and routes (actions).
#[derive(Debug)]
pub(crate) enum Callback<'a> {
    /// A declared timer fired.
    Timer(&'a str),
    /// A connection of the declared `name` opened.
    Connected(ConnId, &'a str),
    /// A connection dropped.
    Disconnected(ConnId),
    /// A REST request the plugin asked for was answered (or failed).
    RestResponse(RestResponse),
}

/// The instance, as its resources see it.
pub(crate) trait Port: Send + Sync + 'static {
    /// The instance name.
    fn name(&self) -> &str;

    /// Calls `callback` in the plugin, then publishes its events and carries out its actions.
    fn callback<'a>(&'a self, callback: Callback<'a>) -> BoxFuture<'a, Result<(), CallError>>;

    /// Hands frames received together on `conn` to the plugin and delivers what it made;
    /// returns how many events that was (0: the frames carried no data).
    fn frames<'a>(&'a self, conn: ConnId, frames: &'a [(InFrame<'a>, u64)])
        -> BoxFuture<'a, usize>;

    /// The plugin's instrument for a normalized symbol, if the venue lists it.
    fn resolve<'a>(&'a self, symbol: &'a str) -> BoxFuture<'a, Option<Instrument>>;

    /// The frames that subscribe (or unsubscribe) `topics` on `conn`.
    fn topic_frames<'a>(
        &'a self,
        conn: ConnId,
        topics: &'a [Topic],
        subscribe: bool,
    ) -> BoxFuture<'a, Vec<OutFrame>>;

    /// The application heartbeat frame for `conn`, if the plugin has one.
    fn heartbeat(&self, conn: ConnId) -> BoxFuture<'_, Option<OutFrame>>;

    /// Signs a REST request.
    fn sign(&self, request: RestRequest) -> BoxFuture<'_, Result<RestRequest, CallError>>;

    /// Publishes events the host itself made (gap markers after a reconnect).
    fn publish(&self, events: Vec<Event>) -> BoxFuture<'_, ()>;

    /// The instance's counters (connects, failures, stalls, lost connections).
    fn tally(&self) -> &Tally;
}
