//! MEXC spot venue plugin: sans-IO protocol logic for MEXC's protobuf websocket pushes and
//! signed REST API, exported with [`plugin_api::export_venue_plugin!`].
//!
//! Modules: [`config`] settings, [`symbols`] `BTCUSDT` ↔ `BTC/USDT`, [`proto`] the push
//! schema, [`parse`] pure decoding, [`control`] JSON control frames, [`book`] depth sync,
//! [`sign`] HMAC signing, [`rest`] requests and answers, [`listen_key`] the user-data key;
//! `answers` matches REST answers to their requests, `lookup` looks up an order whose
//! outcome is unknown and `account` reads the balances when the private connection opens.

pub mod book;
pub mod config;
pub mod control;
pub mod descriptor;
pub mod listen_key;
pub mod parse;
pub mod proto;
pub mod rest;
pub mod sign;
pub mod symbols;

mod account;
mod answers;
mod lookup;

use std::collections::{HashMap, HashSet};

use plugin_api::kit::{TagOf, Tags};
use plugin_api::{
    Action, CancelOrder, ConnId, Deferred, FrameKind, Gap, InFrame, Instrument, KnownOrder,
    NewOrder, OutFrame, Output, PluginError, Reread, Rereads, RestRequest, RestResponse, Stamp,
    StreamKind, Topic, Venue, VenueConfig, VenueDescriptor,
};

use crate::book::{BookSync, SyncOutput};
use crate::config::{DepthMode, Settings};
use crate::control::{Control, ControlError, Method};
use crate::listen_key::{ListenKey, PRIVATE_CONN, TIMER};
use crate::lookup::Lookup;
use crate::parse::Decoded;
use crate::symbols::{Source, SymbolMap};

/// What a REST request in flight was for. The plugin's own tags ([`Tags`]) carry its
/// purpose code ([`Pending::purpose`]); place, cancel, query and account answers asked for by
/// the host come back under the host's tags.
#[derive(Debug)]
enum Pending {
    Snapshot(String),
    ExchangeInfo,
    ListenKeyCreate,
    ListenKeyKeepAlive,
    ListenKeyDelete,
    Place {
        order: NewOrder,
    },
    Cancel {
        cancel: CancelOrder,
    },
    Lookup(Lookup),
    Query {
        instrument: Instrument,
    },
    /// Balances: a read of a round ([`Mexc::reread_account`]), or one the host asked for.
    Account(Option<Reread>),
}

impl Pending {
    /// The purpose code of the plugin's own tags for this request.
    fn purpose(&self) -> u8 {
        match self {
            Pending::Snapshot(_) => 1,
            Pending::ExchangeInfo => 2,
            Pending::ListenKeyCreate => 3,
            Pending::ListenKeyKeepAlive => 4,
            Pending::ListenKeyDelete => 5,
            Pending::Lookup(_) => 6,
            Pending::Account(_) => 7,
            // Answered under the host's tag; never given one of the plugin's.
            Pending::Place { .. } | Pending::Cancel { .. } | Pending::Query { .. } => 0,
        }
    }
}

/// A request waiting on the lookup timer for its next try.
#[derive(Debug)]
enum Later {
    Lookup(Lookup),
    Account(Reread),
}

#[derive(Debug, Default)]
struct ConnState {
    private: bool,
    channels: HashSet<String>,
    unsubscribing: HashSet<String>,
}

/// One MEXC venue instance.
#[derive(Debug)]
pub struct Mexc {
    settings: Settings,
    symbols: SymbolMap,
    books: BookSync,
    listen_key: ListenKey,
    conns: HashMap<ConnId, ConnState>,
    pending: HashMap<u64, Pending>,
    /// Lookups of orders whose outcome is unknown and account reads, waiting for their
    /// next try.
    later: Deferred<Later>,
    /// The rounds of account reads, one per start or private connection open.
    rereads: Rereads,
    tags: Tags,
    private_seen: bool,
}

/// The constructor the plugin root exports: parses `config.settings_json`.
pub fn create(config: &VenueConfig) -> Result<Mexc, PluginError> {
    Mexc::new(Settings::parse(config.settings_json.as_str())?)
}

#[cfg(feature = "export")]
mod export {
    //! The plugin root module (its generated items carry no docs of their own).
    #![allow(missing_docs, unreachable_pub)]
    use super::create;
    plugin_api::export_venue_plugin!(venue: "mexc", create: create);
}

impl Mexc {
    /// An instance with these settings; configured symbols are loaded at once.
    pub fn new(settings: Settings) -> Result<Mexc, PluginError> {
        let mut symbols = SymbolMap::new();
        for s in &settings.symbols {
            if !symbols.insert(&s.symbol, &s.base, &s.quote, Source::Config) {
                return Err(PluginError::config(format!(
                    "`symbols`: entry {:?} does not fit an instrument",
                    s.symbol
                )));
            }
        }
        Ok(Mexc {
            settings,
            symbols,
            books: BookSync::new(),
            listen_key: ListenKey::new(),
            conns: HashMap::new(),
            pending: HashMap::new(),
            later: Deferred::new(descriptor::LOOKUP_TIMER),
            rereads: Rereads::default(),
            tags: Tags::default(),
            private_seen: false,
        })
    }

    /// The symbol table (configured, learned and from exchangeInfo).
    pub fn symbols(&self) -> &SymbolMap {
        &self.symbols
    }

    /// The depth synchronizer.
    pub fn books(&self) -> &BookSync {
        &self.books
    }

    /// Allocates one of the plugin's own tags for a request made for `purpose`.
    fn take_tag(&mut self, purpose: Pending) -> u64 {
        let tag = self.tags.next(purpose.purpose());
        self.pending.insert(tag, purpose);
        tag
    }

    fn request(&mut self, purpose: Pending, build: impl FnOnce(u64) -> RestRequest) -> RestRequest {
        build(self.take_tag(purpose))
    }

    fn snapshot_request(&mut self, instrument: &Instrument) -> Action {
        let sym = instrument.venue_symbol.as_str().to_owned();
        let limit = self.settings.snapshot_limit;
        Action::Rest(self.request(Pending::Snapshot(sym.clone()), |tag| {
            rest::depth_snapshot(tag, &sym, limit)
        }))
    }

    fn create_listen_key(&mut self) -> Option<Action> {
        let tag = self.take_tag(Pending::ListenKeyCreate);
        let req = self.listen_key.create(tag);
        if req.is_none() {
            self.pending.remove(&tag);
        }
        req.map(Action::Rest)
    }

    /// The signed `GET /api/v3/order` for one order; the answer becomes an order event.
    /// (The `Venue` trait has no query method: hosts reach it through this inherent method.)
    pub fn query_order(
        &mut self,
        instrument: &Instrument,
        order_id: &str,
        tag: u64,
    ) -> Result<RestRequest, PluginError> {
        self.require_credentials()?;
        self.claim(
            tag,
            Pending::Query {
                instrument: *instrument,
            },
        )?;
        Ok(rest::query_order(tag, instrument, order_id))
    }

    /// The signed `GET /api/v3/account`; the answer becomes balance events.
    pub fn account_request(&mut self, tag: u64) -> Result<RestRequest, PluginError> {
        self.require_credentials()?;
        self.claim(tag, Pending::Account(None))?;
        Ok(rest::account(tag))
    }

    fn require_credentials(&self) -> Result<(), PluginError> {
        match self.settings.credentials {
            Some(_) => Ok(()),
            None => Err(PluginError::unsupported(
                "mexc: no `credentials` (api_key and api_secret) configured",
            )),
        }
    }

    /// `instrument` with its MEXC spelling, resolved from its normalized name if it has
    /// none; `what` (order, cancel) names the request in the error.
    fn complete(&self, instrument: Instrument, what: &str) -> Result<Instrument, PluginError> {
        if !instrument.venue_symbol.is_empty() {
            return Ok(instrument);
        }
        self.symbols
            .resolve(instrument.symbol.as_str())
            .ok_or_else(|| PluginError::unsupported(format!("mexc: {what} names no instrument")))
    }

    fn claim(&mut self, tag: u64, purpose: Pending) -> Result<(), PluginError> {
        if matches!(Tags::decode(tag), TagOf::Own { .. }) || self.pending.contains_key(&tag) {
            return Err(PluginError::protocol(format!(
                "mexc: tag {tag} is in use or reserved (top bit)"
            )));
        }
        self.pending.insert(tag, purpose);
        Ok(())
    }

    fn instrument_of(&mut self, topic: &Topic) -> Option<Instrument> {
        let i = topic.instrument;
        match (i.symbol.is_empty(), i.venue_symbol.is_empty()) {
            (false, true) => self.symbols.learn(i.symbol.as_str()),
            (true, false) => self.symbols.by_venue(i.venue_symbol.as_str()),
            (false, false) => {
                if self.symbols.by_venue(i.venue_symbol.as_str()).is_none() {
                    if let Some((base, quote)) = i.symbol.as_str().split_once('/') {
                        self.symbols
                            .insert(i.venue_symbol.as_str(), base, quote, Source::Topic);
                    }
                }
                Some(i)
            }
            (true, true) => None,
        }
    }

    /// The channel of a topic (`None`: the topic names no usable instrument).
    fn channel(&mut self, topic: &Topic) -> Option<(String, Option<Instrument>)> {
        let interval = self.settings.interval.clone();
        let private = |name: &str| Some((format!("spot@private.{name}.v3.api.pb"), None));
        match topic.kind {
            StreamKind::Orders => private("orders"),
            StreamKind::Fills => private("deals"),
            StreamKind::Balances => private("account"),
            kind => {
                let i = self.instrument_of(topic)?;
                let sym = i.venue_symbol;
                let channel = match kind {
                    StreamKind::BookTicker => {
                        format!("spot@public.aggre.bookTicker.v3.api.pb@{interval}@{sym}")
                    }
                    StreamKind::Trades => {
                        format!("spot@public.aggre.deals.v3.api.pb@{interval}@{sym}")
                    }
                    _ => match self.settings.depth {
                        DepthMode::Incremental => {
                            format!("spot@public.aggre.depth.v3.api.pb@{interval}@{sym}")
                        }
                        DepthMode::Limit => format!(
                            "spot@public.limit.depth.v3.api.pb@{sym}@{}",
                            self.settings.depth_levels
                        ),
                    },
                };
                Some((channel, Some(i)))
            }
        }
    }

    fn on_text(&mut self, conn: ConnId, data: &[u8], out: &mut Output) {
        match control::classify(data) {
            Ok(Control::Ack { channel }) => {
                if let Some(state) = self.conns.get_mut(&conn) {
                    if state.unsubscribing.remove(&channel) {
                        state.channels.remove(&channel);
                    }
                }
            }
            Ok(Control::Pong) => {}
            Ok(Control::Failed { code, msg }) => {
                out.reject("subscription_failed", format!("code {code}: {msg}"))
            }
            Ok(Control::Request { method, .. }) => out.reject(
                "unexpected_request",
                format!("{} from the venue", method.as_str()),
            ),
            Ok(Control::Legacy { channel }) => out.reject(
                "unsupported_format",
                format!("legacy JSON push on {channel:?}; MEXC pushes protobuf now"),
            ),
            Err(ControlError::Malformed(detail)) => out.reject(parse::MALFORMED, detail),
            Err(ControlError::Unknown(detail)) => out.reject("unknown_control", detail),
        }
    }

    fn on_binary(&mut self, conn: ConnId, data: &[u8], received_ns: u64, out: &mut Output) {
        match parse::decode(data, &self.symbols, received_ns) {
            // Usually the output is still empty: hand over the decoded buffer, no copy.
            Ok(Decoded::Events(events)) if out.events.is_empty() => out.events = events.into(),
            Ok(Decoded::Events(events)) => out.events.extend(events),
            Ok(Decoded::AggreDepth(push)) => {
                let step = self.books.on_push(conn, push);
                self.apply_sync(step, out);
            }
            Err(e) => out.reject(e.reason, e.detail),
        }
    }

    fn apply_sync(&mut self, step: SyncOutput, out: &mut Output) {
        out.events.extend(step.events);
        for (reason, detail) in step.drops {
            out.reject(reason, detail);
        }
        if let Some(instrument) = step.request_snapshot {
            let action = self.snapshot_request(&instrument);
            out.actions.push(action);
        }
    }
}

impl Venue for Mexc {
    fn describe(&self) -> VenueDescriptor {
        descriptor::descriptor(&self.settings)
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        self.symbols.resolve(symbol)
    }

    fn start(&mut self, _now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        if self.settings.fetch_exchange_info {
            let req = self.request(Pending::ExchangeInfo, rest::exchange_info);
            out.actions.push(Action::Rest(req));
        }
        if self.settings.credentials.is_some() {
            out.actions.extend(self.create_listen_key());
            self.reread_account(&mut out);
        }
        Ok(out)
    }

    fn subscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        _now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        let mut channels = Vec::new();
        for topic in topics {
            let Some((channel, instrument)) = self.channel(topic) else {
                return Err(PluginError::unsupported(format!(
                    "mexc: {} topic names no instrument",
                    topic.kind.name()
                )));
            };
            if let (StreamKind::Depth, DepthMode::Incremental, Some(i)) =
                (topic.kind, self.settings.depth, instrument)
            {
                self.books.track(i, conn);
            }
            if !channels.contains(&channel) {
                channels.push(channel);
            }
        }
        let state = self.conns.entry(conn).or_default();
        for c in &channels {
            state.unsubscribing.remove(c);
            state.channels.insert(c.clone());
        }
        Ok(control::request_frames(Method::Subscription, &channels))
    }

    fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        _now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        let mut channels = Vec::new();
        for topic in topics {
            if let Some((channel, instrument)) = self.channel(topic) {
                if let (StreamKind::Depth, Some(i)) = (topic.kind, instrument) {
                    self.books.untrack(i.venue_symbol.as_str());
                }
                if !channels.contains(&channel) {
                    channels.push(channel);
                }
            }
        }
        let state = self.conns.entry(conn).or_default();
        state.unsubscribing.extend(channels.iter().cloned());
        Ok(control::request_frames(Method::Unsubscription, &channels))
    }

    fn heartbeat(&mut self, _conn: ConnId, _now_ms: u64) -> Result<Option<OutFrame>, PluginError> {
        Ok(Some(control::ping_frame()))
    }

    fn on_connected(&mut self, conn: ConnId, name: &str) -> Result<Output, PluginError> {
        let private = name == PRIVATE_CONN;
        self.conns.insert(
            conn,
            ConnState {
                private,
                ..ConnState::default()
            },
        );
        let mut out = Output::default();
        if private {
            // The private stream only carries changes: the balances it starts from come by
            // REST, on every open (a consumer that subscribed balances opened it, and they
            // may have changed while a previous stream was down). A failed read is retried.
            self.reread_account(&mut out);
            self.private_seen = true;
        }
        Ok(out)
    }

    fn on_disconnected(&mut self, conn: ConnId) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let stamp = Stamp::default();
        out.events.extend(self.books.on_disconnected(conn, stamp));
        if self.conns.remove(&conn).is_some_and(|c| c.private) {
            for kind in [StreamKind::Orders, StreamKind::Fills, StreamKind::Balances] {
                out.event(Gap::reconnect(Instrument::default(), kind, 0, stamp).into());
            }
        }
        Ok(out)
    }

    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let data = frame.data.as_slice();
        if data.len() > self.settings.max_frame_bytes {
            out.reject(
                "oversize",
                format!("{} bytes > {}", data.len(), self.settings.max_frame_bytes),
            );
            return Ok(out);
        }
        match frame.kind {
            FrameKind::Text => self.on_text(conn, data, &mut out),
            FrameKind::Binary => self.on_binary(conn, data, received_ns, &mut out),
        }
        Ok(out)
    }

    fn sign(&self, request: RestRequest, now_ms: u64) -> Result<RestRequest, PluginError> {
        let Some(credentials) = &self.settings.credentials else {
            return Err(PluginError::config(
                "mexc: signing needs the settings' `credentials` object",
            ));
        };
        sign::sign_request(request, credentials, self.settings.recv_window_ms, now_ms)
    }

    fn on_rest_response(
        &mut self,
        response: RestResponse,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        self.answer(response, received_ns)
    }

    fn on_timer(&mut self, name: &str, now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        if name == descriptor::LOOKUP_TIMER {
            for item in self.later.take_due(now_ms, &mut out.actions) {
                match item {
                    Later::Lookup(lookup) => self.send_lookup(lookup, &mut out),
                    Later::Account(round) => self.send_account_read(round, &mut out),
                }
            }
            return Ok(out);
        }
        if name != TIMER {
            return Ok(out);
        }
        let keepalive_tag = self.take_tag(Pending::ListenKeyKeepAlive);
        let create_tag = self.take_tag(Pending::ListenKeyCreate);
        match self.listen_key.on_timer(keepalive_tag, create_tag) {
            Some((req, creating)) => {
                self.pending.remove(if creating {
                    &keepalive_tag
                } else {
                    &create_tag
                });
                out.actions.push(Action::Rest(req));
            }
            None => {
                self.pending.remove(&keepalive_tag);
                self.pending.remove(&create_tag);
            }
        }
        Ok(out)
    }

    fn place_order(&mut self, order: &NewOrder, tag: u64) -> Result<RestRequest, PluginError> {
        self.require_credentials()?;
        let mut order = order.clone();
        order.instrument = self.complete(order.instrument, "order")?;
        let request = rest::place_order(tag, &order)?;
        self.claim(tag, Pending::Place { order })?;
        Ok(request)
    }

    fn cancel_order(&mut self, cancel: &CancelOrder, tag: u64) -> Result<RestRequest, PluginError> {
        self.require_credentials()?;
        let mut cancel = cancel.clone();
        cancel.instrument = self.complete(cancel.instrument, "cancel")?;
        let request = rest::cancel_order(tag, &cancel);
        self.claim(tag, Pending::Cancel { cancel })?;
        Ok(request)
    }

    fn stop(&mut self, _now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let tag = self.take_tag(Pending::ListenKeyDelete);
        let actions = self.listen_key.stop(tag);
        if !actions.iter().any(|a| matches!(a, Action::Rest(_))) {
            self.pending.remove(&tag);
        }
        out.actions.extend(actions);
        Ok(out)
    }

    fn recover_orders(
        &mut self,
        orders: &[KnownOrder],
        _now_ms: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        for known in orders {
            self.recover(known, &mut out);
        }
        Ok(out)
    }
}
