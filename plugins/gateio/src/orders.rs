//! What becomes of an order request's answer: the order's state, a refusal, or, when the
//! answer was lost (a 5xx, a timeout) or a cancel was refused, lookups until Gate says what
//! became of the order.
//!
//! A place whose answer was lost is looked up by its text (`t-<client id>`); Gate knows a
//! text only while the order is open, so "not found" is then checked against the pair's
//! finished orders before the order counts as never placed ([`OrderStatus::Rejected`]). A
//! refused or lost cancel looks the order up by Gate's id. Lookups that fail are retried on
//! the [`LOOKUP_TIMER`](crate::describe::LOOKUP_TIMER) with backoff ([`RetryPolicy::DEFAULT`]); after the last one a place
//! is reported as [`OrderStatus::Unknown`].

use plugin_api::{
    Attempts, CancelOrder, Event, NewOrder, Num, OrderStatus, OrderUpdate, Output, RestResponse,
    RetryPolicy, Stamp,
};

use crate::{rest, short_error, GateioVenue, Later, Pending};

/// Gate's label for an order it does not know.
const ORDER_NOT_FOUND: &str = "ORDER_NOT_FOUND";

/// How far before the lost answer the finished orders are searched: the request may have
/// waited for its timeout, and the two clocks may differ.
const FINISHED_WINDOW_S: u64 = 60;

/// One lookup of an order whose outcome is unknown.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    of: LookupOf,
    attempts: Attempts,
}

/// What is looked up, and how.
#[derive(Debug, Clone)]
enum LookupOf {
    /// A place whose answer was lost, by its text (Gate knows it while the order is open).
    Placed(NewOrder),
    /// The same order among the pair's finished orders, once its text was not found.
    Finished(NewOrder),
    /// An order a cancel did not settle, by Gate's order id.
    Order(CancelOrder),
}

/// What a lookup's answer says.
enum Answer<'a> {
    Found(&'a str),
    NotFound,
    /// No answer, a 5xx or a 429: worth another try.
    Failed(String),
    /// Any other refusal: another try would get the same.
    Refused(String),
}

fn classify(resp: &RestResponse) -> Answer<'_> {
    let body = resp.body.as_str();
    match resp.status {
        200..=299 => Answer::Found(body),
        404 if rest::error_label(body).as_deref() == Some(ORDER_NOT_FOUND) => Answer::NotFound,
        _ if rest::worth_retrying(resp.status) => Answer::Failed(short_error(resp)),
        _ => Answer::Refused(short_error(resp)),
    }
}

fn ms(received_ns: u64) -> u64 {
    received_ns / 1_000_000
}

/// An update for an order known only by the request that placed it.
fn update(order: &NewOrder, status: OrderStatus, received_ns: u64) -> OrderUpdate {
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

impl GateioVenue {
    /// The answer to a place: the order, a refusal ([`OrderStatus::Rejected`]), or a lookup
    /// by its text when the answer was lost.
    pub(crate) fn place_answer(
        &mut self,
        order: &NewOrder,
        resp: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) {
        let body = resp.body.as_str();
        if (200..300).contains(&resp.status) {
            match rest::parse_order(body, received_ns) {
                Ok(o) => out.events.push(Event::Order(o)),
                Err(e) => out.reject("malformed", e.detail()),
            }
            return;
        }
        if resp.status == 0 || resp.status >= 500 {
            // Outcome unknown: a 5xx or a lost answer may still have placed it.
            out.reject(
                "order_outcome_unknown",
                format!("place {:?}: {}", order.client_id, short_error(resp)),
            );
            if order.client_id.is_empty() {
                // Nothing to look it up by: say so, and re-read the open orders.
                out.events.push(Event::Order(update(
                    order,
                    OrderStatus::Unknown,
                    received_ns,
                )));
                self.reconcile(out);
            } else {
                let lookup = Lookup {
                    of: LookupOf::Placed(order.clone()),
                    attempts: Attempts::first(ms(received_ns)),
                };
                self.send_lookup(lookup, out);
            }
            return;
        }
        out.events.push(Event::Order(update(
            order,
            OrderStatus::Rejected,
            received_ns,
        )));
        let reason = if rest::credentials_refused(resp.status, body) {
            "credentials_refused"
        } else {
            "order_rejected"
        };
        out.reject(reason, rest::error_text(resp.status, body));
    }

    /// The answer to a cancel: the order, or (refused or lost) a lookup of the order by its
    /// id, so the caller learns whether it filled or is gone.
    pub(crate) fn cancel_answer(
        &mut self,
        cancel: &CancelOrder,
        resp: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) {
        let body = resp.body.as_str();
        if (200..300).contains(&resp.status) {
            match rest::parse_order(body, received_ns) {
                Ok(o) => out.events.push(Event::Order(o)),
                Err(e) => out.reject("malformed", e.detail()),
            }
            return;
        }
        let id = &cancel.order_id;
        if rest::credentials_refused(resp.status, body) {
            out.reject(
                "credentials_refused",
                format!("order {id}: {}", short_error(resp)),
            );
            return;
        }
        let reason = if resp.status == 0 || resp.status >= 500 {
            "cancel_outcome_unknown"
        } else {
            "cancel_rejected"
        };
        out.reject(reason, format!("order {id}: {}", short_error(resp)));
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
        let answer = classify(resp);
        match (&lookup.of, answer) {
            (LookupOf::Placed(_) | LookupOf::Order(_), Answer::Found(body)) => {
                match rest::parse_order(body, received_ns) {
                    Ok(o) => out.events.push(Event::Order(o)),
                    Err(e) => self.give_up(lookup, e.detail(), received_ns, out),
                }
            }
            (LookupOf::Finished(order), Answer::Found(body)) => {
                match rest::parse_orders(body, received_ns) {
                    Ok(list) => match list.into_iter().find(|o| o.client_id == order.client_id) {
                        Some(o) => out.events.push(Event::Order(o)),
                        None => {
                            out.events.push(Event::Order(update(
                                order,
                                OrderStatus::Rejected,
                                received_ns,
                            )));
                            out.reject(
                                "order_not_found",
                                format!(
                                    "place {:?}: gateio has no such order, open or finished",
                                    order.client_id
                                ),
                            );
                        }
                    },
                    Err(e) => self.give_up(lookup, e.detail(), received_ns, out),
                }
            }
            (LookupOf::Placed(order), Answer::NotFound) => {
                match lookup.attempts.recheck_at(&policy, now) {
                    // Too early to believe: Gate may still be placing it.
                    Some(due) => self
                        .later
                        .defer(due, Later::Lookup(lookup), &mut out.actions),
                    // Not open: was it placed and finished already?
                    None => {
                        let finished = Lookup {
                            of: LookupOf::Finished(order.clone()),
                            attempts: Attempts::first(lookup.attempts.since_ms()),
                        };
                        self.send_lookup(finished, out);
                    }
                }
            }
            (LookupOf::Order(cancel), Answer::NotFound) => out.reject(
                "order_not_found",
                format!("order {}: gateio has no such order", cancel.order_id),
            ),
            (_, Answer::Failed(detail)) => match lookup.attempts.retry_at(&policy, now) {
                Some(due) => self
                    .later
                    .defer(due, Later::Lookup(lookup), &mut out.actions),
                None => self.give_up(lookup, detail, received_ns, out),
            },
            (_, Answer::NotFound) => {
                self.give_up(lookup, "unexpected 404".to_owned(), received_ns, out)
            }
            (_, Answer::Refused(detail)) => self.give_up(lookup, detail, received_ns, out),
        }
    }

    pub(crate) fn send_lookup(&mut self, lookup: Lookup, out: &mut Output) {
        let window_s = self.settings.rest_timeout_ms / 1000 + FINISHED_WINDOW_S;
        let tag = self.own_tag(Pending::Lookup(lookup.clone()));
        let req = match &lookup.of {
            LookupOf::Placed(o) => rest::get_order(
                tag,
                o.instrument.venue_symbol.as_str(),
                &format!("t-{}", o.client_id),
            ),
            LookupOf::Finished(o) => rest::finished_orders(
                tag,
                o.instrument.venue_symbol.as_str(),
                o.side,
                (lookup.attempts.since_ms() / 1000).saturating_sub(window_s),
            ),
            LookupOf::Order(c) => {
                rest::get_order(tag, c.instrument.venue_symbol.as_str(), c.order_id.as_str())
            }
        };
        out.actions.push(plugin_api::Action::Rest(req));
    }

    /// No more tries: a place is reported [`OrderStatus::Unknown`]; a cancel's order keeps
    /// the state the caller last saw.
    fn give_up(&mut self, lookup: Lookup, detail: String, received_ns: u64, out: &mut Output) {
        let tries = lookup.attempts.sent();
        match lookup.of {
            LookupOf::Placed(order) | LookupOf::Finished(order) => {
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
        let nf = r#"{"label":"ORDER_NOT_FOUND","message":"Order not found"}"#;
        assert!(matches!(classify(&resp(404, nf)), Answer::NotFound));
        assert!(matches!(classify(&resp(404, "{}")), Answer::Refused(_)));
        assert!(matches!(classify(&resp(503, "x")), Answer::Failed(_)));
        assert!(matches!(classify(&resp(0, "")), Answer::Failed(_)));
        assert!(matches!(classify(&resp(429, "")), Answer::Failed(_)));
        assert!(matches!(classify(&resp(400, "")), Answer::Refused(_)));
        assert!(matches!(classify(&resp(200, "{}")), Answer::Found("{}")));
    }
}
