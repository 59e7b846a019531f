//! Gate.io API v4 signing: HMAC-SHA512 for REST requests and for websocket `auth`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha512};

/// Largest accepted distance between the `Timestamp` header and server time, in seconds.
pub const MAX_SKEW_SECS: i64 = 60;

/// The REST signature string: `METHOD\nPATH\nQUERY\nhex(SHA512(body))\nTIMESTAMP`.
/// `path` includes `/api/v4`; `query` is the raw query string (empty if none).
pub fn rest_payload(method: &str, path: &str, query: &str, body: &[u8], timestamp: &str) -> String {
    let body_hash = hex::encode(Sha512::digest(body));
    format!("{method}\n{path}\n{query}\n{body_hash}\n{timestamp}")
}

/// `hex(HMAC_SHA512(secret, payload))`.
pub fn sign(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex) is `HMAC_SHA512(secret, payload)`; compared in constant time.
pub fn verify(secret: &str, payload: &str, signature: &str) -> bool {
    let Ok(raw) = hex::decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    mac.verify_slice(&raw).is_ok()
}

/// The websocket auth payload: `channel=<channel>&event=<event>&time=<time>`.
pub fn ws_payload(channel: &str, event: &str, time: i64) -> String {
    format!("channel={channel}&event={event}&time={time}")
}
