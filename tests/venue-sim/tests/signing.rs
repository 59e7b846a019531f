//! The venues' published signing vectors pass the simulator's verifiers, directly and over
//! HTTP; changing one byte of a signed request gets the documented error.

mod common;

use common::*;
use serde_json::Value;
use venue_sim::{gateio, mexc, Credential, Source, Venue};

fn vectors(venue: &str) -> Value {
    serde_json::from_str(&fixture(&format!("{venue}/rest_signature_vectors.json"))).unwrap()
}

/// Change one byte of `s` at `i` (to another character of the same class).
fn flip(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = if b[i] == b'1' { b'2' } else { b'1' };
    String::from_utf8(b).unwrap()
}

#[test]
fn mexc_vectors_verify_and_tampering_fails() {
    let v = vectors("mexc");
    let secret = v["secretKey"].as_str().unwrap();
    for vec in v["vectors"].as_array().unwrap() {
        let (q, b) = (
            vec["queryString"].as_str().unwrap(),
            vec["requestBody"].as_str().unwrap(),
        );
        let sig = vec["expected_signature"].as_str().unwrap();
        let (text, none) = mexc::sign::signed_text(q, b);
        assert_eq!(none, None);
        assert_eq!(text, vec["totalParams"].as_str().unwrap());
        assert_eq!(mexc::sign::sign(secret, &text), sig);
        assert!(mexc::sign::verify(secret, &text, sig));
        assert!(!mexc::sign::verify(secret, &flip(&text, 7), sig));
        assert!(!mexc::sign::verify(secret, &text, &flip(sig, 0)));
    }
    // The doc's wrong Example 1 output is rejected.
    let text = v["vectors"][0]["totalParams"].as_str().unwrap();
    assert!(!mexc::sign::verify(
        secret,
        text,
        "323c96ab85a745712e95e63cad28903dd8292e4a905e99c4ee3932023843a117"
    ));
}

#[test]
fn mexc_timing_rule_is_exact() {
    use mexc::sign::{check_timing, TimingError};
    let server = 1_000_000;
    assert_eq!(check_timing(server + 999, None, server), Ok(()));
    assert_eq!(
        check_timing(server + 1000, None, server),
        Err(TimingError::OutsideWindow)
    );
    assert_eq!(check_timing(server - 5000, None, server), Ok(()));
    assert_eq!(
        check_timing(server - 5001, None, server),
        Err(TimingError::OutsideWindow)
    );
    assert_eq!(check_timing(server - 60_000, Some(60_000), server), Ok(()));
    assert_eq!(
        check_timing(server, Some(60_001), server),
        Err(TimingError::RecvWindowTooLarge)
    );
}

#[test]
fn gate_vectors_verify_and_tampering_fails() {
    let v = vectors("gateio");
    let secret = v["secret"].as_str().unwrap();
    for vec in v["vectors"].as_array().unwrap() {
        let s = |k: &str| vec[k].as_str().unwrap();
        let payload = gateio::sign::rest_payload(
            s("method"),
            s("path"),
            s("query"),
            s("body").as_bytes(),
            s("timestamp"),
        );
        assert_eq!(payload, s("signature_string"));
        assert!(gateio::sign::verify(secret, &payload, s("expected_sign")));
        assert!(!gateio::sign::verify(
            secret,
            &flip(&payload, 2),
            s("expected_sign")
        ));
    }
}

#[tokio::test]
async fn mexc_vector_request_is_accepted_over_http_and_one_byte_off_is_700002() {
    let v = vectors("mexc");
    let mut cfg = config(Venue::Mexc, Source::Synthetic);
    cfg.credentials = vec![Credential::new(
        v["apiKey"].as_str().unwrap(),
        v["secretKey"].as_str().unwrap(),
    )];
    cfg.frozen_time_ms = Some(1_644_489_390_087);
    let sim = start(cfg).await;
    let key = [("X-MEXC-APIKEY", v["apiKey"].as_str().unwrap())];
    for vec in v["vectors"].as_array().unwrap() {
        let (q, b) = (
            vec["queryString"].as_str().unwrap(),
            vec["requestBody"].as_str().unwrap(),
        );
        let sig = vec["expected_signature"].as_str().unwrap();
        // The signature goes last, in whichever part carries the rest.
        let (q2, b2) = if b.is_empty() {
            (format!("{q}&signature={sig}"), String::new())
        } else {
            (q.to_owned(), format!("{b}&signature={sig}"))
        };
        let r = http(
            sim.local_addr(),
            "POST",
            &format!("/api/v3/order?{q2}"),
            &key,
            &b2,
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.json()["symbol"], "BTCUSDT");
        let (tq, tb) = (
            q2.replace("price=11", "price=12"),
            b2.replace("price=11", "price=12"),
        );
        assert!(tq != q2 || tb != b2);
        let r = http(
            sim.local_addr(),
            "POST",
            &format!("/api/v3/order?{tq}"),
            &key,
            &tb,
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json(),
            serde_json::json!({"code": 700002, "msg": "Signature for this request is not valid."})
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn mexc_rejects_stale_timestamps_and_unknown_keys() {
    let sim = start(config(Venue::Mexc, Source::Synthetic)).await;
    let key = [("X-MEXC-APIKEY", "test-key")];
    let stale = format!("timestamp={}", now_ms() - 10_000);
    let sig = mexc::sign::sign("test-secret", &stale);
    let r = http(
        sim.local_addr(),
        "GET",
        &format!("/api/v3/account?{stale}&signature={sig}"),
        &key,
        "",
    )
    .await;
    assert_eq!((r.status, r.json()["code"].as_i64()), (400, Some(700003)));
    let path = mexc_signed("/api/v3/account", "", "nobody", "test-secret");
    let r = http(
        sim.local_addr(),
        "GET",
        &path,
        &[("X-MEXC-APIKEY", "nobody")],
        "",
    )
    .await;
    assert_eq!((r.status, r.json()["code"].as_i64()), (400, Some(10072)));
    let path = mexc_signed("/api/v3/account", "", "test-key", "test-secret");
    let r = http(sim.local_addr(), "GET", &path, &key, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.json()["balances"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["asset"] == "USDT"));
    sim.shutdown().await;
}

#[tokio::test]
async fn gate_vector_requests_pass_auth_over_http_and_one_byte_off_is_invalid_signature() {
    let v = vectors("gateio");
    let mut cfg = config(Venue::Gateio, Source::Synthetic);
    cfg.credentials = vec![Credential::new(
        v["key"].as_str().unwrap(),
        v["secret"].as_str().unwrap(),
    )];
    cfg.frozen_time_ms = Some(1_541_993_715_000);
    let sim = start(cfg).await;
    for vec in v["vectors"].as_array().unwrap() {
        let s = |k: &str| vec[k].as_str().unwrap();
        let pq = if s("query").is_empty() {
            s("path").to_owned()
        } else {
            format!("{}?{}", s("path"), s("query"))
        };
        let headers = [
            ("KEY", "key"),
            ("Timestamp", s("timestamp")),
            ("SIGN", s("expected_sign")),
        ];
        // Authentication passes; the futures route itself does not exist in a spot simulator.
        let r = http(sim.local_addr(), s("method"), &pq, &headers, s("body")).await;
        assert_eq!(
            (r.status, r.json()["label"].as_str()),
            (404, Some("NOT_FOUND")),
            "{:?}",
            r.body
        );
        let body = s("body");
        let tampered_body = if body.is_empty() {
            String::new()
        } else {
            body.replace("6800", "6801")
        };
        let tampered_pq = if body.is_empty() {
            pq.replace("limit=50", "limit=51")
        } else {
            pq.clone()
        };
        let r = http(
            sim.local_addr(),
            s("method"),
            &tampered_pq,
            &headers,
            &tampered_body,
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json(),
            serde_json::json!({"label": "INVALID_SIGNATURE", "message": "Invalid signature"})
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn gate_rejects_expired_timestamps_unknown_keys_and_missing_headers() {
    let sim = start(config(Venue::Gateio, Source::Synthetic)).await;
    let addr = sim.local_addr();
    let ts = (now_ms() / 1000 - 61).to_string();
    let payload = gateio::sign::rest_payload("GET", "/api/v4/spot/accounts", "", b"", &ts);
    let sign = gateio::sign::sign("test-secret", &payload);
    let r = http(
        addr,
        "GET",
        "/api/v4/spot/accounts",
        &[("KEY", "test-key"), ("Timestamp", &ts), ("SIGN", &sign)],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (401, Some("REQUEST_EXPIRED"))
    );
    let h = gate_headers("GET", "/api/v4/spot/accounts", "", "", "nobody", "x");
    let r = http(addr, "GET", "/api/v4/spot/accounts", &hdrs(&h), "").await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (401, Some("INVALID_KEY"))
    );
    let r = http(addr, "GET", "/api/v4/spot/accounts", &[], "").await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (401, Some("MISSING_REQUIRED_HEADER"))
    );
    let h = gate_headers(
        "GET",
        "/api/v4/spot/accounts",
        "",
        "",
        "test-key",
        "test-secret",
    );
    let r = http(addr, "GET", "/api/v4/spot/accounts", &hdrs(&h), "").await;
    assert_eq!(r.status, 200);
    assert!(r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["currency"] == "USDT"));
    sim.shutdown().await;
}
