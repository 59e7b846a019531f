//! Lookups of orders whose outcome an answer left unknown, with the kit's
//! [`OrderLookup`]: a place whose answer was lost (a 5xx, a timeout) is looked up by its
//! client id (`origClientOrderId`), a refused or lost cancel by the order id, until MEXC says
//! what became of the order.
//!
//! "Order does not exist" (`-2013`, or `-2011` "Unknown order sent") for a place means it
//! was never placed ([`OrderStatus::Rejected`]), once [`RetryPolicy::settle_ms`] has passed
//! since the answer was lost (MEXC's order queries can lag behind its order entry). Lookups
//! that fail are retried on the [`LOOKUP_TIMER`](crate::descriptor::LOOKUP_TIMER) with
//! backoff ([`RetryPolicy::DEFAULT`]); after the last one a place is reported as
//! [`OrderStatus::Unknown`].

use plugin_api::kit::lookup::{requested, Answer, OrderLookup, Step, Target};
use plugin_api::{
    Action, CancelOrder, Event, KnownOrder, NewOrder, OrderStatus, Output, RestResponse,
    RetryPolicy,
};

use crate::{rest, Later, Mexc, Pending};

/// The lookup of one order whose outcome is unknown.
pub(crate) type Lookup = OrderLookup;

fn classify(resp: &RestResponse) -> Answer<'_> {
    Answer::classify(
        resp,
        rest::worth_retrying,
        |r| rest::error_code(&r.body).is_some_and(|c| rest::ORDER_NOT_FOUND_CODES.contains(&c)),
        crate::answers::transport_detail,
    )
}

fn ms(received_ns: u64) -> u64 {
    received_ns / 1_000_000
}

impl Mexc {
    /// A place's answer was lost: look the order up by its client id, or, without one,
    /// report it [`OrderStatus::Unknown`] at once.
    pub(crate) fn place_outcome_unknown(
        &mut self,
        order: &NewOrder,
        received_ns: u64,
        out: &mut Output,
    ) {
        if order.client_id.is_empty() {
            out.event(Event::Order(requested(
                order,
                OrderStatus::Unknown,
                received_ns,
            )));
            return;
        }
        let lookup = Lookup::new(Target::Placed(order.clone()), ms(received_ns));
        self.send_lookup(lookup, out);
    }

    /// A cancel was refused or its answer lost: look the order up by its id, so the caller
    /// learns whether it filled or is gone.
    pub(crate) fn cancel_unsettled(
        &mut self,
        cancel: &CancelOrder,
        received_ns: u64,
        out: &mut Output,
    ) {
        let lookup = Lookup::new(Target::Cancelled(cancel.clone()), ms(received_ns));
        self.send_lookup(lookup, out);
    }

    /// Looks up an order an earlier build left unsettled ([`Target::recovered`]).
    pub(crate) fn recover(&mut self, known: &KnownOrder, out: &mut Output) {
        let lookup = Lookup::new(Target::recovered(known), known.placed_ms);
        self.send_lookup(lookup, out);
    }

    /// The answer to a lookup: the order's state, a verdict, or another try.
    pub(crate) fn lookup_answer(
        &mut self,
        mut lookup: Lookup,
        resp: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) {
        let policy = RetryPolicy::DEFAULT;
        match lookup.step(classify(resp), &policy, received_ns, "mexc", out) {
            Step::Parse(body) => {
                let (instrument, client_id) = match &lookup.target {
                    Target::Placed(o) => (o.instrument, o.client_id.as_str()),
                    Target::Cancelled(c) => (c.instrument, ""),
                };
                match rest::parse_order(body, instrument, client_id, received_ns) {
                    Ok(o) => out.event(Event::Order(o)),
                    Err(e) => lookup.give_up(&e, received_ns, out),
                }
            }
            Step::RetryAt(due) => self
                .later
                .defer(due, Later::Lookup(lookup), &mut out.actions),
            Step::NotPlaced => {
                if let Target::Placed(order) = &lookup.target {
                    OrderLookup::never_placed(order, "mexc has no such order", received_ns, out);
                }
            }
            Step::Done => {}
        }
    }

    pub(crate) fn send_lookup(&mut self, lookup: Lookup, out: &mut Output) {
        let tag = self.take_tag(Pending::Lookup(lookup.clone()));
        let req = match &lookup.target {
            Target::Placed(o) => {
                rest::query_order_by_client_id(tag, &o.instrument, o.client_id.as_str())
            }
            Target::Cancelled(c) => rest::query_order(tag, &c.instrument, c.order_id.as_str()),
        };
        out.action(Action::Rest(req));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> RestResponse {
        RestResponse {
            tag: 1,
            status,
            body: body.into(),
            error: "".into(),
        }
    }

    #[test]
    fn answers_are_classified() {
        let gone = r#"{"msg":"Order does not exist.","code":-2013,"_extend":null}"#;
        assert!(matches!(classify(&resp(400, gone)), Answer::NotFound));
        let unknown = r#"{"code":-2011,"msg":"Unknown order sent."}"#;
        assert!(matches!(classify(&resp(400, unknown)), Answer::NotFound));
        assert!(matches!(
            classify(&resp(400, r#"{"code":700002,"msg":"x"}"#)),
            Answer::Refused(_)
        ));
        assert!(matches!(classify(&resp(503, "x")), Answer::Failed(_)));
        assert!(matches!(classify(&resp(0, "")), Answer::Failed(_)));
        assert!(matches!(classify(&resp(429, "")), Answer::Failed(_)));
        assert!(matches!(classify(&resp(200, "{}")), Answer::Found("{}")));
    }
}
