//! The host's network resources: reconnecting websocket connections, rate limiters and the
//! REST client, each a [`crate::stop::resource::Resource`] whose tasks live in a
//! [`crate::stop::resource::TaskGroup`].

pub mod backoff;
pub mod rate_limit;
pub mod rest;
pub mod ws;

pub use backoff::{Backoff, ReconnectPolicy, Retry};
pub use rate_limit::{RateLimitStats, RateLimiter, Stopped};
pub use rest::{retry_after, HttpRequest, HttpResponse, Method, RestClient, RestError, STOP_DRAIN};
pub use ws::{
    CloseReason, WsClosed, WsConfig, WsConnection, WsEvents, WsFrame, WsIn, WsOut, WsPhase,
    WsSender, WsStats,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}

    /// The public handles cross tasks, and so do the futures of their async methods.
    #[test]
    fn handles_and_futures_are_send() {
        let limiter = RateLimiter::with("l", 1, std::time::Duration::from_secs(1), false);
        send_sync(&limiter);
        send(limiter.acquire("k", 1));
        let rest = RestClient::new(std::time::Duration::from_secs(1));
        send_sync(&rest);
        send(rest.send(HttpRequest::get("http://127.0.0.1:1/")));
        fn conn(c: &WsConnection) {
            send_sync(c);
            send_sync(&c.sender());
            send(async move { c.sender().send(WsOut::Text(String::new())).await });
        }
        let _ = conn;
    }
}
