//! Lookups of orders whose outcome an answer left unknown: a place whose answer was lost (a
//! 5xx, a timeout) is looked up by its client id (`origClientOrderId`), a refused or lost
//! cancel by the order id, until MEXC says what became of the order.
//!
//! "Order does not exist" (`-2013`, or `-2011` "Unknown order sent") for a place means it
//! was never placed ([`OrderStatus::Rejected`]), once [`RetryPolicy::settle_ms`] has passed
//! since the answer was lost (MEXC's order queries can lag behind its order entry). Lookups
//! that fail are retried on the [`LOOKUP_TIMER`](crate::descriptor::LOOKUP_TIMER) with backoff ([`RetryPolicy::DEFAULT`]);
//! after the last one a place is reported as [`OrderStatus::Unknown`].

use plugin_api::{
    Action, Attempts, CancelOrder, Event, NewOrder, Num, OrderStatus, OrderUpdate, Output,
    RestResponse, RetryPolicy, Stamp,
};

use crate::{rest, Later, Mexc, Pending};

/// One lookup of an order whose outcome is unknown.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    of: LookupOf,
    attempts: Attempts,
}

/// What is looked up, and how.
#[derive(Debug, Clone)]
enum LookupOf {
    /// A place whose answer was lost, by its client id.
    Placed(NewOrder),
    /// An order a cancel did not settle, by MEXC's order id.
    Order(CancelOrder),
}

/// What a lookup's answer says.
enum Answer<'a> {
    Found(&'a str),
    NotFound,
    /// No answer, a 5xx, a 408, a 418 or a 429: worth another try.
    Failed(String),
    /// Any other refusal: another try would get the same.
    Refused(String),
}

fn classify(resp: &RestResponse) -> Answer<'_> {
    let body = resp.body.as_str();
    match resp.status {
        200..=299 => Answer::Found(body),
        _ if rest::worth_retrying(resp.status) => {
            Answer::Failed(crate::answers::transport_detail(resp))
        }
        _ if rest::error_code(body).is_some_and(|c| rest::ORDER_NOT_FOUND_CODES.contains(&c)) => {
            Answer::NotFound
        }
        _ => Answer::Refused(crate::answers::transport_detail(resp)),
    }
}

fn ms(received_ns: u64) -> u64 {
    received_ns / 1_000_000
}

/// An update for an order known only by the request that placed it.
pub(crate) fn update(order: &NewOrder, status: OrderStatus, received_ns: u64) -> OrderUpdate {
    OrderUpdate {
        instrument: order.instrument,
        order_id: "".into(),
        client_id: order.client_id.clone(),
        side: order.side,
        price: order.price,
        qty: order.qty,
        filled_qty: Num::ZERO,
        status,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns,
        },
    }
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
            out.events.push(Event::Order(update(
                order,
                OrderStatus::Unknown,
                received_ns,
            )));
            return;
        }
        let lookup = Lookup {
            of: LookupOf::Placed(order.clone()),
            attempts: Attempts::first(ms(received_ns)),
        };
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
        let lookup = Lookup {
            of: LookupOf::Order(cancel.clone()),
            attempts: Attempts::first(ms(received_ns)),
        };
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
        let now = ms(received_ns);
        match (&lookup.of, classify(resp)) {
            (LookupOf::Placed(order), Answer::Found(body)) => {
                match rest::parse_order(body, order.instrument, &order.client_id, received_ns) {
                    Ok(o) => out.events.push(Event::Order(o)),
                    Err(e) => self.give_up(lookup, e, received_ns, out),
                }
            }
            (LookupOf::Order(cancel), Answer::Found(body)) => {
                match rest::parse_order(body, cancel.instrument, "", received_ns) {
                    Ok(o) => out.events.push(Event::Order(o)),
                    Err(e) => self.give_up(lookup, e, received_ns, out),
                }
            }
            (LookupOf::Placed(order), Answer::NotFound) => {
                match lookup.attempts.recheck_at(&policy, now) {
                    // Too early to believe: MEXC may still be placing it.
                    Some(due) => self
                        .later
                        .defer(due, Later::Lookup(lookup), &mut out.actions),
                    None => {
                        out.events.push(Event::Order(update(
                            order,
                            OrderStatus::Rejected,
                            received_ns,
                        )));
                        out.reject(
                            "order_not_found",
                            format!("place {:?}: mexc has no such order", order.client_id),
                        );
                    }
                }
            }
            (LookupOf::Order(cancel), Answer::NotFound) => out.reject(
                "order_not_found",
                format!("order {}: mexc has no such order", cancel.order_id),
            ),
            (_, Answer::Failed(detail)) => match lookup.attempts.retry_at(&policy, now) {
                Some(due) => self
                    .later
                    .defer(due, Later::Lookup(lookup), &mut out.actions),
                None => self.give_up(lookup, detail, received_ns, out),
            },
            (_, Answer::Refused(detail)) => self.give_up(lookup, detail, received_ns, out),
        }
    }

    pub(crate) fn send_lookup(&mut self, lookup: Lookup, out: &mut Output) {
        let tag = self.take_tag(Pending::Lookup(lookup.clone()));
        let req = match &lookup.of {
            LookupOf::Placed(o) => {
                rest::query_order_by_client_id(tag, &o.instrument, o.client_id.as_str())
            }
            LookupOf::Order(c) => rest::query_order(tag, &c.instrument, c.order_id.as_str()),
        };
        out.actions.push(Action::Rest(req));
    }

    /// No more tries: a place is reported [`OrderStatus::Unknown`]; a cancel's order keeps
    /// the state the caller last saw.
    fn give_up(&mut self, lookup: Lookup, detail: String, received_ns: u64, out: &mut Output) {
        let tries = lookup.attempts.sent();
        match lookup.of {
            LookupOf::Placed(order) => {
                out.events.push(Event::Order(update(
                    &order,
                    OrderStatus::Unknown,
                    received_ns,
                )));
                out.reject(
                    "order_outcome_unknown",
                    format!(
                        "place {:?}: no answer after {tries} lookups: {detail}",
                        order.client_id
                    ),
                );
            }
            LookupOf::Order(cancel) => out.reject(
                "cancel_outcome_unknown",
                format!(
                    "order {}: no answer after {tries} lookups: {detail}",
                    cancel.order_id
                ),
            ),
        }
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
