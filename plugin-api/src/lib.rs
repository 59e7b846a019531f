//! The stable-ABI interface between the host and venue plugins.
//!
//! A venue plugin is a `cdylib` holding **protocol logic only** (docs/ARCHITECTURE.md, "The plugin boundary"): it describes the
//! venue, builds subscribe/unsubscribe/heartbeat frames, turns received frames into
//! normalized [`Event`]s plus [`Action`]s, signs REST requests and parses their answers. The
//! host owns every socket, task, timer, queue, rate limiter and subscription, and stops them
//! in the dependency order the plugin declares in [`VenueDescriptor::resources`].
//!
//! # Writing a plugin
//!
//! The full guide, from an empty folder to a running venue and what the host does for a
//! plugin, is `docs/WRITING_A_PLUGIN.md` in the host's repository. In short:
//!
//! 1. Make a `cdylib` crate depending on `plugin-api` and `abi_stable`.
//! 2. Parse your settings with [`kit::settings::parse`] into a struct of your own
//!    (credentials as [`kit::Credentials`], a `symbols` list as [`kit::AllowedSymbols`]).
//! 3. Implement [`Venue`] for your protocol state: [`Venue::describe`] returns a
//!    [`kit::Descriptor`] built from what differs from the common case (one public
//!    websocket carrying market data); it derives the connections ([`ConnectionDecl`]), the
//!    REST endpoint ([`RestDecl`]), rate limits ([`RateLimitDecl`]), timers ([`TimerDecl`])
//!    and the shutdown graph ([`ResourceDecl`]), and checks them.
//! 4. Map symbols with [`kit::Symbols`] (`BTC/USDT` ↔ `BTC_USDT`, `BTCUSDT`, `btcusdt`),
//!    split long subscribe lists with [`kit::batch`], tag your own REST requests with
//!    [`kit::Tags`]. Parse prices and sizes with [`Num::parse`] (exact decimals), and report
//!    frames you cannot use with [`Output::reject`] instead of panicking.
//! 5. Export it: `plugin_api::export_venue_plugin!(venue: "myvenue", create: my_constructor);`.
//!
//! The [`kit`] is compiled into your plugin and crosses no boundary; its module doc lists
//! what it covers.
//!
//! An order whose place answer was lost (a 5xx, a timeout) is looked up until the venue
//! says what became of it; [`RetryPolicy`], [`Attempts`] and [`Deferred`] pace those lookups
//! on a declared timer, and [`OrderStatus::Unknown`] reports one the venue never settled.
//! [`Rereads`] retries, on the same timer, a read that must succeed (the account after a
//! reconnect).
//!
//! The macro wraps every entry point in [`guard`], so a panic becomes an
//! [`ErrorKind::Panic`] error: the host marks that instance faulted and keeps running.
//!
//! # Rules that keep unloading safe
//!
//! No threads, no async runtime, no sleeping, no `thread_local!` values with destructors,
//! no global state that outlives an instance. Everything a call returns is copied by the host
//! into its own types before the library can be unloaded.

mod adapter;
mod describe;
mod error;
mod event;
mod guard;
mod io;
pub mod kit;
mod num;
mod open;
mod order;
mod retry;
#[doc(hidden)]
pub mod root;
mod symbol;
mod venue;

pub use abi_stable;
pub use adapter::{VenueAdapter, VenueAdapterBox, VenueAdapter_TO};
pub use describe::{
    ConnectionDecl, OpenMode, RateLimitDecl, ResourceDecl, ResourceKind, RestDecl, TimerDecl,
    VenueDescriptor,
};
pub use error::{ErrorKind, PluginError};
pub use event::{
    Balance, BookTicker, DepthUpdate, Event, Fill, Gap, GapReason, Level, OrderStatus, OrderUpdate,
    Side, Stamp, StreamKind, Trade,
};
pub use guard::guard;
pub use io::{
    Action, ConnId, FrameKind, Header, InFrame, OutFrame, Output, Reject, RestRequest,
    RestResponse, Topic, Topics, VenueConfig, PLUGIN_TAG_BIT,
};
pub use num::{Num, NumError};
pub use open::{open_root, RootError};
pub use order::{CancelOrder, KnownOrder, NewOrder, OrderType};
pub use retry::{Attempts, Deferred, Reread, RereadFailed, Rereads, RetryPolicy};
pub use root::{PluginRoot, PluginRootRef, API_VERSION};
pub use rust_decimal::Decimal;
pub use symbol::{Instrument, Symbol, SYMBOL_CAPACITY};
pub use venue::{Guarded, Venue};
