//! Gate.io spot v4 venue plugin: sans-IO protocol logic behind the [`plugin_api::Venue`] trait.
//!
//! Public market data (`spot.book_ticker`, `spot.trades`, a local book from a REST snapshot
//! plus `spot.order_book_update`), private streams (`spot.orders`, `spot.usertrades`,
//! `spot.balances`) and signed REST trading, written with [`plugin_api::kit`]. Layout:
//! [`config`] settings, [`parse`] pure frame parsing, [`book`] book synchronization, [`sign`]
//! signatures, [`rest`] REST builders and parsers, [`ws`] request frames, [`describe`] the
//! venue descriptor; `orders` turns order answers into updates and looks up an order whose
//! outcome is unknown; `account` re-reads the account when the private connection opens.

mod account;
pub mod book;
pub mod config;
pub mod describe;
mod orders;
pub mod parse;
pub mod rest;
pub mod sign;
pub mod ws;

use std::collections::{BTreeMap, HashMap};

use plugin_api::kit::{Symbols, Tags};
use plugin_api::{
    Action, CancelOrder, ConnId, Deferred, Event, FrameKind, InFrame, Instrument, KnownOrder,
    NewOrder, OutFrame, Output, PluginError, Reread, Rereads, RestRequest, RestResponse,
    StreamKind, Symbol, Topic, Venue, VenueConfig, VenueDescriptor,
};

use crate::account::AccountRead;

use crate::book::BookSync;
use crate::config::Settings;
use crate::orders::Lookup;
use crate::parse::Parsed;

/// Gate.io's currency pairs: `BTC_USDT` ↔ `BTC/USDT`.
pub static PAIRS: Symbols = Symbols::separated('_');

/// Which declared connection a [`ConnId`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Public,
    Private,
}

/// What a REST tag in flight was for. The plugin's own tags carry its purpose code
/// ([`Pending::purpose`]); place and cancel answers come back under the host's tags.
#[derive(Debug, Clone)]
enum Pending {
    Snapshot(Symbol),
    Place(NewOrder),
    Cancel(CancelOrder),
    Lookup(Lookup),
    Account(AccountRead, Reread),
}

impl Pending {
    /// The purpose code of the plugin's own tags for this request.
    fn purpose(&self) -> u8 {
        match self {
            Pending::Snapshot(_) => 1,
            Pending::Lookup(_) => 2,
            Pending::Account(..) => 3,
            // Answered under the host's tag; never given one of the plugin's.
            Pending::Place(_) | Pending::Cancel(_) => 0,
        }
    }
}

/// A request waiting on the lookup timer for its next try.
#[derive(Debug)]
enum Later {
    Lookup(Lookup),
    Account(AccountRead, Reread),
}

/// One Gate.io venue instance.
#[derive(Debug)]
pub struct GateioVenue {
    settings: Settings,
    roles: BTreeMap<ConnId, Role>,
    books: HashMap<Symbol, BookSync>,
    pending: HashMap<u64, Pending>,
    /// `PAIRS` limited to the settings' `symbols`.
    symbols: Symbols,
    /// Lookups of orders whose outcome is unknown and account reads, waiting for their
    /// next try.
    later: Deferred<Later>,
    /// The rounds of account reads, one per private connection open.
    rereads: Rereads,
    tags: Tags,
    next_request_id: u64,
}

/// The error a callback returns when Gate refused the credentials (`what` was refused,
/// `detail` is Gate's answer). The host logs it and shows it as the instance's last error,
/// so a wrong key or secret is reported instead of silently starving the private streams.
fn credentials_refused(what: &str, detail: &str) -> PluginError {
    PluginError::config(format!(
        "gateio: the venue refused the credentials ({what}: {detail}); \
         check `credentials.api_key` and `credentials.api_secret`"
    ))
}

impl GateioVenue {
    /// An instance from parsed settings.
    pub fn new(settings: Settings) -> GateioVenue {
        GateioVenue {
            roles: BTreeMap::new(),
            books: HashMap::new(),
            pending: HashMap::new(),
            symbols: PAIRS.clone().allow(settings.symbols.clone()),
            settings,
            later: Deferred::new(describe::LOOKUP_TIMER),
            rereads: Rereads::default(),
            tags: Tags::default(),
            next_request_id: 1,
        }
    }

    /// An instance from the host's configuration (`settings_json`, see [`Settings`]).
    pub fn from_config(config: &VenueConfig) -> Result<GateioVenue, PluginError> {
        Ok(GateioVenue::new(Settings::from_json(
            config.settings_json.as_str(),
        )?))
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The synchronized local book of a venue pair (`BTC_USDT`), if it is in sync.
    pub fn book(&self, pair: &str) -> Option<&book::OrderBook> {
        self.books.get(&Symbol::new(pair)?)?.book()
    }

    fn own_tag(&mut self, what: Pending) -> u64 {
        let tag = self.tags.next(what.purpose());
        self.pending.insert(tag, what);
        tag
    }

    fn request_snapshot(&mut self, pair: Symbol, out: &mut Output) {
        let tag = self.own_tag(Pending::Snapshot(pair));
        if let Some(b) = self.books.get_mut(&pair) {
            b.set_pending(tag);
        }
        let req = rest::order_book(tag, pair.as_str(), self.settings.depth_limit);
        out.actions.push(Action::Rest(req));
    }

    fn complete(&self, topic: &Topic) -> Result<Instrument, PluginError> {
        let i = topic.instrument;
        if !i.venue_symbol.is_empty() {
            return PAIRS.from_venue(i.venue_symbol.as_str()).ok_or_else(|| {
                PluginError::unsupported(format!("bad gateio pair {}", i.venue_symbol))
            });
        }
        self.resolve(i.symbol.as_str())
            .ok_or_else(|| PluginError::unsupported(format!("unknown symbol {:?}", i.symbol)))
    }

    /// The `event` (subscribe, unsubscribe) frames for `topics`, stamped `now_ms` (Gate
    /// wants `time` in seconds, and signs it in private channels).
    fn channel_frames(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        event: &str,
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        let mut by_kind: BTreeMap<StreamKind, Vec<Instrument>> = BTreeMap::new();
        for t in topics {
            let inst = if t.kind.is_private()
                && t.instrument.symbol.is_empty()
                && t.instrument.venue_symbol.is_empty()
            {
                Instrument::default()
            } else {
                self.complete(t)?
            };
            by_kind.entry(t.kind).or_default().push(inst);
        }
        let time_s = now_ms / 1000;
        let creds = self.settings.credentials.clone();
        let mut frames = Vec::new();
        for (kind, insts) in by_kind {
            let pairs: Vec<&str> = insts
                .iter()
                .map(|i| i.venue_symbol.as_str())
                .filter(|p| !p.is_empty())
                .collect();
            let private_payload: Vec<&str> = if pairs.is_empty() {
                vec!["!all"]
            } else {
                pairs.clone()
            };
            if kind.is_private() && creds.is_none() {
                return Err(PluginError::unsupported(
                    "private gateio streams need `credentials` (api_key and api_secret)",
                ));
            }
            let id = self.next_request_id;
            self.next_request_id += 1;
            match kind {
                StreamKind::BookTicker | StreamKind::Trades => {
                    let ch = if kind == StreamKind::BookTicker {
                        "spot.book_ticker"
                    } else {
                        "spot.trades"
                    };
                    frames.push(ws::channel_request(
                        ch,
                        event,
                        Some(&pairs),
                        id,
                        time_s,
                        None,
                    ));
                }
                StreamKind::Depth => {
                    for (i, inst) in insts.iter().enumerate() {
                        let pair = inst.venue_symbol.as_str();
                        let payload = [pair, self.settings.depth_interval.as_str()];
                        let rid = id + i as u64;
                        frames.push(ws::channel_request(
                            "spot.order_book_update",
                            event,
                            Some(&payload),
                            rid,
                            time_s,
                            None,
                        ));
                        if event == "subscribe" {
                            self.books
                                .insert(inst.venue_symbol, BookSync::new(*inst, conn));
                        } else {
                            self.books.remove(&inst.venue_symbol);
                        }
                    }
                    self.next_request_id += insts.len() as u64;
                }
                StreamKind::Orders | StreamKind::Fills => {
                    let ch = if kind == StreamKind::Orders {
                        "spot.orders"
                    } else {
                        "spot.usertrades"
                    };
                    frames.push(ws::channel_request(
                        ch,
                        event,
                        Some(&private_payload),
                        id,
                        time_s,
                        creds.as_ref(),
                    ));
                }
                StreamKind::Balances => {
                    frames.push(ws::channel_request(
                        "spot.balances",
                        event,
                        None,
                        id,
                        time_s,
                        creds.as_ref(),
                    ));
                }
            }
        }
        Ok(frames)
    }

    fn on_depth(&mut self, conn: ConnId, msg: plugin_api::DepthUpdate, out: &mut Output) {
        let pair = msg.instrument.venue_symbol;
        let book = self
            .books
            .entry(pair)
            .or_insert_with(|| BookSync::new(msg.instrument, conn));
        book.conn = conn;
        if book.on_update(msg, out) {
            self.request_snapshot(pair, out);
        }
    }
}

fn short_error(resp: &RestResponse) -> String {
    if resp.status == 0 {
        parse::truncate(resp.error.as_str(), 120).to_owned()
    } else {
        rest::error_text(resp.status, resp.body.as_str())
    }
}

impl Venue for GateioVenue {
    fn describe(&self) -> VenueDescriptor {
        describe::descriptor(&self.settings)
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        self.symbols.resolve(symbol)
    }

    fn subscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        self.channel_frames(conn, topics, "subscribe", now_ms)
    }

    fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        self.channel_frames(conn, topics, "unsubscribe", now_ms)
    }

    fn heartbeat(&mut self, _conn: ConnId, now_ms: u64) -> Result<Option<OutFrame>, PluginError> {
        Ok(Some(ws::ping(now_ms / 1000)))
    }

    fn on_connected(&mut self, conn: ConnId, name: &str) -> Result<Output, PluginError> {
        let role = match name {
            describe::PUBLIC_CONN => Role::Public,
            describe::PRIVATE_CONN => Role::Private,
            other => {
                return Err(PluginError::unsupported(format!(
                    "gateio declares no connection named {other:?}"
                )))
            }
        };
        self.roles.insert(conn, role);
        let mut out = Output::default();
        if role == Role::Private {
            // Orders and balances may have changed while the stream was down.
            self.reconcile(&mut out);
        }
        Ok(out)
    }

    fn on_disconnected(&mut self, conn: ConnId) -> Result<Output, PluginError> {
        self.roles.remove(&conn);
        for b in self.books.values_mut().filter(|b| b.conn == conn) {
            b.reset();
        }
        Ok(Output::default())
    }

    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        if frame.kind != FrameKind::Text {
            out.reject("unsupported_format", "binary frame");
            return Ok(out);
        }
        match parse::parse_frame(frame.data.as_slice(), received_ns) {
            Ok(Parsed::BookTicker(e)) => out.events.push(Event::BookTicker(e)),
            Ok(Parsed::Trade(e)) => out.events.push(Event::Trade(e)),
            Ok(Parsed::Depth(d)) => self.on_depth(conn, d, &mut out),
            Ok(Parsed::Orders(v)) => out.events.extend(v.into_iter().map(Event::Order)),
            Ok(Parsed::Fills(v)) => out.events.extend(v.into_iter().map(Event::Fill)),
            Ok(Parsed::Balances(v)) => out.events.extend(v.into_iter().map(Event::Balance)),
            Ok(Parsed::Ack { .. }) | Ok(Parsed::Pong) => {}
            Ok(Parsed::VenueError {
                channel,
                code: ws::AUTH_FAIL,
                message,
            }) => {
                return Err(credentials_refused(
                    channel,
                    &format!("code {}: {message}", ws::AUTH_FAIL),
                ))
            }
            Ok(Parsed::VenueError {
                channel,
                code,
                message,
            }) => out.reject("venue_error", format!("{channel} code {code}: {message}")),
            Ok(Parsed::Unsupported { channel }) => out.reject("unsupported_channel", channel),
            Ok(Parsed::Request { channel }) => out.reject("unexpected_request", channel),
            Err(e) => out.reject(e.reason(), e.detail()),
        }
        Ok(out)
    }

    fn sign(&self, mut request: RestRequest, now_ms: u64) -> Result<RestRequest, PluginError> {
        let creds = self.settings.credentials.as_ref().ok_or_else(|| {
            PluginError::config("gateio: signing needs the settings' `credentials` object")
        })?;
        let ts = (now_ms / 1000).to_string();
        let sign = sign::rest_sign(
            &creds.api_secret,
            request.method.as_str(),
            request.path.as_str(),
            request.query.as_str(),
            request.body.as_str(),
            &ts,
        );
        request.push_header("KEY", &creds.api_key);
        request.push_header("Timestamp", &ts);
        request.push_header("SIGN", &sign);
        Ok(request)
    }

    fn on_rest_response(
        &mut self,
        response: RestResponse,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let Some(what) = self.pending.remove(&response.tag) else {
            out.reject("unknown_tag", format!("REST tag {}", response.tag));
            return Ok(out);
        };
        let ok = (200..300).contains(&response.status);
        let body = response.body.as_str();
        match what {
            Pending::Snapshot(pair) => {
                let Some(b) = self.books.get_mut(&pair) else {
                    out.reject("stale_snapshot", format!("{pair} is not subscribed"));
                    return Ok(out);
                };
                let parsed = if ok {
                    rest::parse_snapshot(body).map_err(|e| e.detail())
                } else {
                    Err(short_error(&response))
                };
                match parsed {
                    Ok(snap) => {
                        if b.on_snapshot(response.tag, snap, received_ns, &mut out) {
                            self.request_snapshot(pair, &mut out);
                        }
                    }
                    Err(detail) => {
                        b.on_snapshot_failed(response.tag);
                        out.reject("snapshot_failed", format!("{pair}: {detail}"));
                    }
                }
            }
            Pending::Place(order) => self.place_answer(&order, &response, received_ns, &mut out),
            Pending::Cancel(cancel) => {
                self.cancel_answer(&cancel, &response, received_ns, &mut out)
            }
            Pending::Lookup(lookup) => self.lookup_answer(lookup, &response, received_ns, &mut out),
            Pending::Account(read, round) => {
                self.account_answer(read, round, &response, received_ns, &mut out)?
            }
        }
        Ok(out)
    }

    fn on_timer(&mut self, name: &str, now_ms: u64) -> Result<Output, PluginError> {
        let mut out = Output::default();
        if name == describe::LOOKUP_TIMER {
            for item in self.later.take_due(now_ms, &mut out.actions) {
                match item {
                    Later::Lookup(lookup) => self.send_lookup(lookup, &mut out),
                    Later::Account(read, round) => self.send_account_read(read, round, &mut out),
                }
            }
        }
        Ok(out)
    }

    fn place_order(&mut self, order: &NewOrder, tag: u64) -> Result<RestRequest, PluginError> {
        if self.settings.credentials.is_none() {
            return Err(PluginError::unsupported(
                "gateio trading needs `credentials` (api_key and api_secret)",
            ));
        }
        let req = rest::place_order(tag, order)?;
        self.pending.insert(tag, Pending::Place(order.clone()));
        Ok(req)
    }

    fn cancel_order(&mut self, cancel: &CancelOrder, tag: u64) -> Result<RestRequest, PluginError> {
        if self.settings.credentials.is_none() {
            return Err(PluginError::unsupported(
                "gateio trading needs `credentials` (api_key and api_secret)",
            ));
        }
        let req = rest::cancel_order(tag, cancel)?;
        self.pending.insert(tag, Pending::Cancel(cancel.clone()));
        Ok(req)
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

#[cfg_attr(not(feature = "export"), allow(dead_code))]
fn create(config: &VenueConfig) -> Result<GateioVenue, PluginError> {
    GateioVenue::from_config(config)
}

/// The exported root module (the macro's items carry no docs of their own).
#[cfg(feature = "export")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod plugin_export {
    plugin_api::export_venue_plugin!(venue: "gateio", create: crate::create);
}
