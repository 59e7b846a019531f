//! What flows between the host and a plugin: frames, subscriptions, REST requests and the
//! actions a plugin asks the host to carry out.

use abi_stable::std_types::{RSlice, RString, RVec};
use abi_stable::StableAbi;

use crate::{Event, Instrument, StreamKind};

/// The host's id for one physical websocket connection.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// One subscription: a stream kind for one instrument (private kinds may leave it empty).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Topic {
    /// Stream kind.
    pub kind: StreamKind,
    /// Instrument; the plugin fills in `venue_symbol` when the host only knows `symbol`.
    pub instrument: Instrument,
}

/// Whether a websocket frame is text or binary.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FrameKind {
    /// A UTF-8 text frame.
    Text,
    /// A binary frame.
    Binary,
}

/// A frame the host received, lent to the plugin for the duration of one call.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct InFrame<'a> {
    /// Text or binary.
    pub kind: FrameKind,
    /// The payload.
    pub data: RSlice<'a, u8>,
}

/// A frame the plugin wants sent.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct OutFrame {
    /// Text or binary.
    pub kind: FrameKind,
    /// The payload.
    pub data: RVec<u8>,
}

impl OutFrame {
    /// A text frame.
    pub fn text(text: impl Into<String>) -> OutFrame {
        OutFrame {
            kind: FrameKind::Text,
            data: text.into().into_bytes().into(),
        }
    }
}

/// One HTTP header.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct Header {
    /// Name.
    pub name: RString,
    /// Value.
    pub value: RString,
}

/// The bit set in every REST tag a plugin chooses itself and clear in every tag the host
/// chooses (see [`RestRequest::tag`]).
pub const PLUGIN_TAG_BIT: u64 = 1 << 63;

/// A REST request the plugin wants made; the host rate-limits, signs (through
/// [`crate::Venue::sign`]), sends and returns the answer to [`crate::Venue::on_rest_response`].
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct RestRequest {
    /// Handed back with the response. The host picks the tags of
    /// [`crate::Venue::place_order`] and [`crate::Venue::cancel_order`] requests: counting
    /// up from 1, top bit ([`PLUGIN_TAG_BIT`]) clear. Requests the plugin makes itself
    /// carry tags with that bit set ([`crate::kit::Tags`]), so the two never collide.
    pub tag: u64,
    /// `GET`, `POST`, `PUT`, `DELETE`, ...
    pub method: RString,
    /// Path appended to the REST base URL, including any fixed prefix (`/api/v4/spot/orders`).
    pub path: RString,
    /// Raw query string without `?` (empty for none).
    pub query: RString,
    /// Request body (empty for none).
    pub body: RString,
    /// Headers; signing adds to them.
    pub headers: RVec<Header>,
    /// True if the host must call [`crate::Venue::sign`] before sending.
    pub signed: bool,
    /// The rate limit (by [`crate::RateLimitDecl::name`]) this request counts against, or empty.
    pub limit_group: RString,
    /// The request's weight in that limit.
    pub weight: u32,
    /// For per-instrument limits, the instrument's venue symbol.
    pub limit_key: RString,
}

impl RestRequest {
    /// An unsigned request with no body, headers or limit.
    pub fn new(tag: u64, method: &str, path: &str, query: &str) -> RestRequest {
        RestRequest {
            tag,
            method: method.into(),
            path: path.into(),
            query: query.into(),
            body: RString::new(),
            headers: RVec::new(),
            signed: false,
            limit_group: RString::new(),
            weight: 1,
            limit_key: RString::new(),
        }
    }

    /// Appends a header.
    pub fn push_header(&mut self, name: &str, value: &str) {
        self.headers.push(Header {
            name: name.into(),
            value: value.into(),
        });
    }
}

/// The answer to a [`RestRequest`], or why there is none.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct RestResponse {
    /// The request's tag.
    pub tag: u64,
    /// HTTP status; 0 when the request failed before any answer (see `error`).
    pub status: u16,
    /// Response body.
    pub body: RString,
    /// Transport error text when `status == 0` (timeout, refused, stopped).
    pub error: RString,
}

/// Something the plugin asks the host to do.
#[repr(C, u8)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub enum Action {
    /// Send a frame on a connection.
    Send {
        /// Connection.
        conn: ConnId,
        /// Frame.
        frame: OutFrame,
    },
    /// Make a REST request.
    Rest(RestRequest),
    /// Open a connection declared with [`crate::OpenMode::ByPlugin`] at the given URL.
    Open {
        /// The connection's declared name.
        name: RString,
        /// The URL.
        url: RString,
    },
    /// Start calling [`crate::Venue::on_timer`] for the named timer.
    ArmTimer(RString),
    /// Stop calling the named timer.
    CancelTimer(RString),
    /// Drop and re-open a connection (consumers see a gap).
    Reconnect(ConnId),
}

/// Events to deliver and actions to carry out, returned by most plugin callbacks.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug, Default)]
pub struct Output {
    /// Normalized events, in order.
    pub events: RVec<Event>,
    /// Actions, carried out in order after the events are delivered.
    pub actions: RVec<Action>,
    /// Frames the plugin could not use, with why (counted as dropped by the host).
    pub rejects: RVec<Reject>,
}

impl Output {
    /// True when there is nothing to deliver or do.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.actions.is_empty() && self.rejects.is_empty()
    }
}

/// A frame or part of one that the plugin dropped, with a reason the host counts and logs.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
pub struct Reject {
    /// A short, stable reason (`malformed`, `unknown_channel`, `unsupported_format`, ...).
    pub reason: RString,
    /// Detail for the log (never secrets, at most a few hundred bytes).
    pub detail: RString,
}

/// Settings the host passes when it creates a venue instance: the venue's section of the
/// configuration as JSON (endpoints, credentials, symbols), which the plugin parses itself.
///
/// # Credentials
///
/// Credentials reach a plugin in one place only: the `credentials` object of
/// `settings_json`. For Gate.io and MEXC it holds exactly two non-empty strings:
///
/// ```json
/// {"ws_url": "wss://...", "credentials": {"api_key": "...", "api_secret": "..."}}
/// ```
///
/// The host fills it from the secrets file (the `[venues.NAME]` table named by the venue's
/// `credentials` key, by default the venue's own name), or an inline
/// `[venues.NAME.settings.credentials]` table is passed as it is; a venue given both is a
/// configuration error naming the venue. A plugin reads credentials from nowhere else (a
/// top-level `api_key` is refused with an error pointing at `credentials`), names keys such
/// as `credentials.api_secret` in its errors but never a value, and keeps them out of its
/// `Debug` output. When the venue refuses them, the call that learns it returns a
/// [`crate::ErrorKind::Config`] error naming those keys; the host logs it with the venue.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct VenueConfig {
    /// The configured venue name (a plugin may run as several named venues).
    pub name: RString,
    /// The plugin-specific settings as a JSON object (`{}` when there are none); may hold
    /// the `credentials` object, so never log it.
    pub settings_json: RString,
}

/// Topics grouped for one connection, as the host hands them to [`crate::Venue::subscribe`].
pub type Topics<'a> = RSlice<'a, Topic>;
