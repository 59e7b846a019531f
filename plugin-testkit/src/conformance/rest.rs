//! The REST side of the mutation check: every request the plugin makes after the capture,
//! for an order it places and cancels, and for orders it is handed to recover, answered with
//! damaged bodies and every kind of status, never makes it panic.

use plugin_api::{CancelOrder, ErrorKind, FrameKind, KnownOrder, NewOrder, Num, OrderType, Side};

use super::checks::{panics_found, replayed, Checked};
use super::mutate::{mutations, printable, Rng};
use crate::capture::Op;
use crate::outcome::clip;
use crate::{Capture, Harness, Plugin, TestkitError};

/// Tags of the order and cancel the check asks for (far from any tag a capture uses).
const ORDER_TAG: u64 = 0x7e57_0000_0000_0001;
const CANCEL_TAG: u64 = ORDER_TAG + 1;

/// Statuses answered, weighted toward success so the bodies reach the parsers; 0 is a
/// transport failure.
const STATUSES: [u16; 12] = [200, 200, 200, 200, 201, 400, 401, 404, 429, 500, 503, 0];

/// Bodies every plugin gets besides the capture's and the caller's.
const GENERIC: [&str; 6] = ["", "{}", "[]", "null", "\"\"", r#"{"code":-1,"msg":"x"}"#];

/// The instance after the capture, with an order and a cancel asked for when the plugin
/// takes orders for `symbol`.
fn primed(
    plugin: &Plugin,
    settings: &str,
    capture: &Capture,
    symbol: Option<&str>,
) -> Result<Harness, String> {
    let mut h = replayed(plugin, settings, capture)?;
    let Some(instrument) = symbol.and_then(|s| h.resolve(s).ok().flatten()) else {
        return Ok(h);
    };
    let order = NewOrder {
        instrument,
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("1.5").unwrap_or_default(),
        qty: Num::parse("2").unwrap_or_default(),
        quote_qty: Num::default(),
        client_id: "conformance-1".into(),
    };
    // A plugin that takes no orders refuses both; that is not this check's business.
    let _ = h.place_order(order.clone(), ORDER_TAG);
    let cancel = CancelOrder {
        instrument,
        order_id: "1".into(),
    };
    let _ = h.cancel_order(cancel, CANCEL_TAG);
    // Two orders an earlier build left unsettled, one known by the venue's id, one by the
    // client id only: their lookups are answered like any other request.
    let known = |client_id: &str, order_id: &str| KnownOrder {
        order: NewOrder {
            client_id: client_id.into(),
            ..order.clone()
        },
        order_id: order_id.into(),
        placed_ms: 1,
    };
    let _ = h.recover_orders(vec![
        known("conformance-2", "2"),
        known("conformance-3", ""),
    ]);
    Ok(h)
}

pub(super) fn rest_never_panics(
    plugin: &Plugin,
    settings: &str,
    capture: &Capture,
    extra_bodies: &[String],
    symbol: Option<&str>,
    budget: usize,
    seed: u64,
) -> Checked {
    let h = primed(plugin, settings, capture, symbol)?;
    let requests: Vec<(String, u64)> = h
        .pending_requests()
        .iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.tag))
        .collect();
    if requests.is_empty() {
        return Ok("the plugin made no REST request to answer".into());
    }
    let mut bodies: Vec<String> = capture
        .steps()
        .iter()
        .filter_map(|s| match &s.op {
            Op::Rest { body, .. } => Some(body.clone()),
            _ => None,
        })
        .collect();
    bodies.extend(extra_bodies.iter().cloned());
    bodies.extend(GENERIC.iter().map(|b| (*b).to_owned()));
    let per_request = (budget / requests.len()).max(1);
    let mut rng = Rng::new(seed ^ 0x5e57_a115);
    let (mut tried, mut failures) = (0usize, Vec::new());
    for (what, tag) in &requests {
        for _ in 0..per_request {
            let base = &bodies[rng.below(bodies.len())];
            let status = STATUSES[rng.below(STATUSES.len())];
            // Half the answers are sent undamaged, so well-formed bodies of other requests
            // reach this request's parser too.
            let body = match rng.below(2) {
                0 => base.clone(),
                _ => {
                    let m = mutations(FrameKind::Text, base.as_bytes(), &mut rng, 1);
                    String::from_utf8_lossy(&m[m.len() - 1].data).into_owned()
                }
            };
            let mut h = primed(plugin, settings, capture, symbol)?;
            tried += 1;
            let result = match status {
                0 => h.fail_request(*tag, "timed out"),
                s => h.answer(*tag, s, &body),
            };
            if let Err(TestkitError::Plugin { error, .. }) = result {
                if error.kind == ErrorKind::Panic {
                    failures.push(format!(
                        "answer {status} to {what}: {}; body: {}",
                        error.message,
                        clip(&printable(FrameKind::Text, body.as_bytes()))
                    ));
                }
            }
        }
    }
    let passed = || {
        format!(
            "{tried} answers to {} requests from {} bodies (seed {seed:#x})",
            requests.len(),
            bodies.len()
        )
    };
    panics_found("answers", tried, seed, &failures, passed)
}
