//! Helpers shared by the integration tests: fixture loading and a venue driver.
#![allow(dead_code, unreachable_pub, missing_docs)]

use gateio_plugin::config::Settings;
use gateio_plugin::GateioVenue;
use plugin_api::{Action, ConnId, FrameKind, InFrame, Output, RestRequest, RestResponse, Venue};

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/venues/gateio/"
);

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn jsonl(rel: &str) -> Vec<serde_json::Value> {
    read(rel)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn venue() -> GateioVenue {
    GateioVenue::new(Settings::default())
}

pub fn venue_with_creds() -> GateioVenue {
    let s =
        Settings::from_json(r#"{"credentials":{"api_key":"key","api_secret":"secret"}}"#).unwrap();
    GateioVenue::new(s)
}

pub fn frame(v: &mut impl Venue, conn: ConnId, text: &str, ns: u64) -> Output {
    v.on_frame(
        conn,
        InFrame {
            kind: FrameKind::Text,
            data: text.as_bytes().into(),
        },
        ns,
    )
    .unwrap()
}

pub fn rest_requests(out: &Output) -> Vec<RestRequest> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Rest(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

pub fn respond(v: &mut impl Venue, tag: u64, status: u16, body: &str) -> Output {
    v.on_rest_response(
        RestResponse {
            tag,
            status,
            body: body.into(),
            error: "".into(),
        },
        42,
    )
    .unwrap()
}

/// Feeds arbitrary bytes; the only error allowed is a refusal of the credentials (an
/// `"error":{"code":4}` frame), which is a configuration error.
pub fn frame_bytes(v: &mut impl Venue, data: &[u8]) -> Output {
    let r = v.on_frame(
        ConnId(1),
        InFrame {
            kind: FrameKind::Text,
            data: data.into(),
        },
        1,
    );
    r.unwrap_or_else(|e| {
        assert_eq!(e.kind, plugin_api::ErrorKind::Config, "{e}");
        Output::default()
    })
}

/// `base` with each `(position, kind, byte)` applied in turn: replace, truncate, insert or
/// remove a byte (kind modulo 4) at position modulo the length; the fuzzers' mutation.
pub fn mutate(base: &[u8], ops: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = base.to_vec();
    for &(pos, kind, byte) in ops {
        if b.is_empty() {
            b.push(byte);
            continue;
        }
        let i = pos % b.len();
        match kind % 4 {
            0 => b[i] = byte,
            1 => b.truncate(i),
            2 => b.insert(i, byte),
            _ => {
                b.remove(i);
            }
        }
    }
    b
}
