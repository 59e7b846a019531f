//! Gate.io v4 signatures: REST (`KEY`/`Timestamp`/`SIGN` headers) and WS channel auth.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha512};

type HmacSha512 = Hmac<Sha512>;

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha512::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// `hex(SHA512(body))`, the payload hash of the REST signature string.
pub fn body_hash(body: &str) -> String {
    hex::encode(Sha512::digest(body.as_bytes()))
}

/// The REST signature string: `METHOD\nPATH\nQUERY\nhex(SHA512(body))\nTIMESTAMP`.
pub fn rest_payload(method: &str, path: &str, query: &str, body: &str, timestamp: &str) -> String {
    format!(
        "{method}\n{path}\n{query}\n{}\n{timestamp}",
        body_hash(body)
    )
}

/// `SIGN` for a REST request (`path` includes `/api/v4`, `timestamp` in unix seconds).
pub fn rest_sign(
    secret: &str,
    method: &str,
    path: &str,
    query: &str,
    body: &str,
    timestamp: &str,
) -> String {
    hmac_hex(
        secret,
        &[rest_payload(method, path, query, body, timestamp).as_bytes()],
    )
}

/// `SIGN` of a private channel request: `HMAC_SHA512(secret, "channel=<ch>&event=<ev>&time=<t>")`.
pub fn ws_sign(secret: &str, channel: &str, event: &str, time_s: u64) -> String {
    hmac_hex(
        secret,
        &[format!("channel={channel}&event={event}&time={time_s}").as_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_hash() {
        assert!(body_hash("").starts_with("cf83e135") && body_hash("").ends_with("927da3e"));
    }

    #[test]
    fn legacy_hmac_sanity_vector() {
        // From the vectors file note: HMAC_SHA512("secret", "1583131539528").
        assert_eq!(
            hmac_hex("secret", &[b"1583131539528"]),
            "54613ee7f4236bf61bfaed71f10bc0cb8b24805c45822652f850812c9a43b2422cf84609197ccf5db7adaf5c6af5d143cf04646c2640ad89a7c89670b403b671"
        );
    }
}
