//! The host's network resources: reconnecting websocket connections, rate limiters and the
//! REST client, each a [`crate::resource::Resource`] whose tasks live in a
//! [`crate::resource::TaskGroup`].

pub mod backoff;
pub mod rate_limit;
pub mod rest;
pub mod ws;

pub use backoff::{Backoff, ReconnectPolicy, Retry};
pub use rate_limit::{RateLimitStats, RateLimiter, Stopped};
pub use rest::{retry_after, HttpRequest, HttpResponse, Method, RestClient, RestError};
pub use ws::{
    CloseReason, WsClosed, WsConfig, WsConnection, WsEvents, WsIn, WsOut, WsSender, WsStats,
};
