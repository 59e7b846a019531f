//! MEXC REST request signing: `signature = hex_lower(HMAC_SHA256(secret, totalParams))`,
//! where `totalParams` is the query string followed directly (no `&`) by the body.

use hmac::{Hmac, Mac};
use plugin_api::{PluginError, RestRequest};
use sha2::Sha256;

use plugin_api::kit::Credentials;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "X-MEXC-APIKEY";

/// `hex_lower(HMAC_SHA256(secret, query + body))`.
pub fn signature(secret: &str, query: &str, body: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(query.as_bytes());
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Adds `recvWindow`, `timestamp` and `signature` to the query and the API-key header.
pub fn sign_request(
    mut request: RestRequest,
    credentials: &Credentials,
    recv_window_ms: u64,
    now_ms: u64,
) -> Result<RestRequest, PluginError> {
    let mut query = request.query.to_string();
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!("recvWindow={recv_window_ms}&timestamp={now_ms}"));
    let sig = signature(&credentials.api_secret, &query, request.body.as_str());
    query.push_str("&signature=");
    query.push_str(&sig);
    request.query = query.into();
    request.push_header(API_KEY_HEADER, &credentials.api_key);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "45d0b3c26f2644f19bfb98b07741b2f5";

    #[test]
    fn sign_request_appends_params_in_order() {
        let creds = Credentials {
            api_key: "mx0aBYs33eIilxBWC5".into(),
            api_secret: SECRET.into(),
        };
        let req = RestRequest::new(
            1,
            "POST",
            "/api/v3/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11",
        );
        let signed = sign_request(req, &creds, 5000, 1644489390087).unwrap();
        assert_eq!(
            signed.query.as_str(),
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000\
             &timestamp=1644489390087\
             &signature=fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
        );
        assert_eq!(signed.headers[0].name.as_str(), API_KEY_HEADER);
        assert_eq!(signed.headers[0].value.as_str(), "mx0aBYs33eIilxBWC5");
    }
}
