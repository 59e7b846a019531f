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

use plugin_api::kit::lookup::{requested, Answer, OrderLookup, Step, Target};
use plugin_api::{
    CancelOrder, Event, KnownOrder, NewOrder, OrderStatus, Output, RestResponse, RetryPolicy,
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
    order: OrderLookup,
    /// A place's text was not found open: the pair's finished orders are searched for it.
    finished: bool,
}

impl Lookup {
    fn new(target: Target, received_ns: u64) -> Lookup {
        Lookup {
            order: OrderLookup::new(target, ms(received_ns)),
            finished: false,
        }
    }
}

fn classify(resp: &RestResponse) -> Answer<'_> {
    Answer::classify(
        resp,
        rest::worth_retrying,
        |r| r.status == 404 && rest::error_label(&r.body).as_deref() == Some(ORDER_NOT_FOUND),
        short_error,
    )
}

fn ms(received_ns: u64) -> u64 {
    received_ns / 1_000_000
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
                out.event(Event::Order(requested(
                    order,
                    OrderStatus::Unknown,
                    received_ns,
                )));
                self.reconcile(out);
            } else {
                let lookup = Lookup::new(Target::Placed(order.clone()), received_ns);
                self.send_lookup(lookup, out);
            }
            return;
        }
        out.event(Event::Order(requested(
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
        let lookup = Lookup::new(Target::Cancelled(cancel.clone()), received_ns);
        self.send_lookup(lookup, out);
    }

    /// Looks up an order an earlier build left unsettled ([`Target::recovered`]: by Gate's
    /// id when known, since Gate finds a text only while the order is open).
    pub(crate) fn recover(&mut self, known: &KnownOrder, out: &mut Output) {
        let lookup = Lookup::new(Target::recovered(known), known.placed_ms * 1_000_000);
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
        let answer = match classify(resp) {
            // The finished orders are a list: "not found" there is no answer.
            Answer::NotFound if lookup.finished => Answer::Refused("unexpected 404".to_owned()),
            answer => answer,
        };
        let policy = RetryPolicy::DEFAULT;
        match lookup
            .order
            .step(answer, &policy, received_ns, "gateio", out)
        {
            Step::Parse(body) => match (&lookup.order.target, lookup.finished) {
                (Target::Placed(order), true) => match rest::parse_orders(body, received_ns) {
                    Ok(list) => match list.into_iter().find(|o| o.client_id == order.client_id) {
                        Some(o) => out.event(Event::Order(o)),
                        None => OrderLookup::never_placed(
                            order,
                            "gateio has no such order, open or finished",
                            received_ns,
                            out,
                        ),
                    },
                    Err(e) => lookup.order.give_up(&e.detail(), received_ns, out),
                },
                _ => match rest::parse_order(body, received_ns) {
                    Ok(o) => out.event(Event::Order(o)),
                    Err(e) => lookup.order.give_up(&e.detail(), received_ns, out),
                },
            },
            Step::RetryAt(due) => self
                .later
                .defer(due, Later::Lookup(lookup), &mut out.actions),
            // Not open: was it placed and finished already?
            Step::NotPlaced => {
                let finished = Lookup {
                    order: OrderLookup::new(lookup.order.target, lookup.order.attempts.since_ms()),
                    finished: true,
                };
                self.send_lookup(finished, out);
            }
            Step::Done => {}
        }
    }

    pub(crate) fn send_lookup(&mut self, lookup: Lookup, out: &mut Output) {
        let window_s = self.settings.rest_timeout_ms / 1000 + FINISHED_WINDOW_S;
        let tag = self.own_tag(Pending::Lookup(lookup.clone()));
        let since_s = lookup.order.attempts.since_ms() / 1000;
        let req = match (&lookup.order.target, lookup.finished) {
            (Target::Placed(o), false) => rest::get_order(
                tag,
                o.instrument.venue_symbol.as_str(),
                &format!("t-{}", o.client_id),
            ),
            (Target::Placed(o), true) => rest::finished_orders(
                tag,
                o.instrument.venue_symbol.as_str(),
                o.side,
                since_s.saturating_sub(window_s),
            ),
            (Target::Cancelled(c), _) => {
                rest::get_order(tag, c.instrument.venue_symbol.as_str(), c.order_id.as_str())
            }
        };
        out.action(plugin_api::Action::Rest(req));
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
