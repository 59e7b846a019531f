//! MEXC spot v3 request signing: HMAC-SHA256 over query string + body and the recvWindow rule.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `recvWindow` when the request gives none, in ms.
pub const DEFAULT_RECV_WINDOW_MS: i64 = 5000;
/// Largest accepted `recvWindow`, in ms.
pub const MAX_RECV_WINDOW_MS: i64 = 60_000;

/// `hex_lower(HMAC_SHA256(secret, total_params))`, where `total_params` is the query string
/// followed directly by the request body (no `&` between them).
pub fn sign(secret: &str, total_params: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(total_params.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (lowercase hex) signs `total_params` with `secret`; compared in
/// constant time.
pub fn verify(secret: &str, total_params: &str, signature: &str) -> bool {
    let Ok(raw) = hex::decode(signature) else {
        return false;
    };
    if signature.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(total_params.as_bytes());
    mac.verify_slice(&raw).is_ok()
}

/// Split a query string and a body into (the signed text, the `signature` value): the
/// `signature=` parameter is taken out of whichever part holds it, and the parts are
/// concatenated with no separator, as the venue signs them.
pub fn signed_text(query: &str, body: &str) -> (String, Option<String>) {
    let mut signature = None;
    let mut strip = |part: &str| -> String {
        let kept: Vec<&str> = part
            .split('&')
            .filter(|kv| match kv.strip_prefix("signature=") {
                Some(sig) => {
                    signature = Some(sig.to_owned());
                    false
                }
                None => true,
            })
            .collect();
        kept.join("&")
    };
    let q = strip(query);
    let b = strip(body);
    (q + &b, signature)
}

/// Why a request's timing was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    /// `recvWindow` above [`MAX_RECV_WINDOW_MS`] (code 700005).
    #[error("recvWindow must less than 60000")]
    RecvWindowTooLarge,
    /// The timestamp is outside the window (code 700003).
    #[error("Timestamp for this request is outside of the recvWindow")]
    OutsideWindow,
}

/// The doc's rule: accept iff `timestamp < server_time + 1000` and
/// `server_time - timestamp <= recv_window` (default 5000, max 60000), all in ms.
pub fn check_timing(
    timestamp_ms: i64,
    recv_window_ms: Option<i64>,
    server_time_ms: i64,
) -> Result<(), TimingError> {
    let window = recv_window_ms.unwrap_or(DEFAULT_RECV_WINDOW_MS);
    if window > MAX_RECV_WINDOW_MS {
        return Err(TimingError::RecvWindowTooLarge);
    }
    if timestamp_ms < server_time_ms + 1000 && server_time_ms - timestamp_ms <= window {
        Ok(())
    } else {
        Err(TimingError::OutsideWindow)
    }
}
