//! Looking up an order whose outcome an answer left unknown, written once for every venue: a
//! place whose answer was lost (a 5xx, a timeout) is looked up by its client id, a refused
//! or lost cancel by the order id, until the venue says what became of the order or the
//! tries ([`RetryPolicy`]) are spent.
//!
//! The plugin sends the lookups and classifies their answers ([`Answer::classify`] with its
//! venue's rules); [`OrderLookup::step`] says what comes next and writes the verdicts
//! ([`OrderStatus::Unknown`] after the last try, rejects naming the order).

use crate::{
    Attempts, CancelOrder, Event, KnownOrder, NewOrder, Num, OrderStatus, OrderUpdate, Output,
    RestResponse, RetryPolicy, Stamp,
};

/// What a lookup's answer says, in the venue's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// A 2xx: the body describes the order.
    Found(&'a str),
    /// The venue says it has no such order.
    NotFound,
    /// No answer, or one worth another try (a 5xx, a 429): the detail for the log.
    Failed(String),
    /// Any other refusal: another try would get the same.
    Refused(String),
}

impl<'a> Answer<'a> {
    /// Classifies `resp`: a 2xx is [`Answer::Found`]; a status `worth_retrying` is
    /// [`Answer::Failed`]; an answer `not_found` says means no such order is
    /// [`Answer::NotFound`]; anything else is [`Answer::Refused`]. `detail` describes a
    /// failed or refused answer for the log.
    pub fn classify(
        resp: &'a RestResponse,
        worth_retrying: impl FnOnce(u16) -> bool,
        not_found: impl FnOnce(&RestResponse) -> bool,
        detail: impl FnOnce(&RestResponse) -> String,
    ) -> Answer<'a> {
        match resp.status {
            200..=299 => Answer::Found(resp.body.as_str()),
            s if worth_retrying(s) => Answer::Failed(detail(resp)),
            _ if not_found(resp) => Answer::NotFound,
            _ => Answer::Refused(detail(resp)),
        }
    }
}

/// The order a lookup is after.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A place whose answer was lost, looked up by its client id.
    Placed(NewOrder),
    /// An order a cancel did not settle, looked up by the venue's order id.
    Cancelled(CancelOrder),
}

impl Target {
    /// The lookup of an order an earlier build left unsettled
    /// ([`crate::Venue::recover_orders`]): by the venue's order id when an update carried
    /// one, else by its client id, as a place whose answer was lost.
    pub fn recovered(known: &KnownOrder) -> Target {
        match known.order_id.is_empty() {
            true => Target::Placed(known.order.clone()),
            false => Target::Cancelled(CancelOrder {
                instrument: known.order.instrument,
                order_id: known.order_id.clone(),
            }),
        }
    }
}

/// What to do after a lookup's answer ([`OrderLookup::step`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// The venue answered with the order: parse the body (on failure,
    /// [`OrderLookup::give_up`] with the parse error).
    Parse(&'a str),
    /// Send the lookup again at this wall-clock time (keep it in a
    /// [`Deferred`](crate::Deferred)).
    RetryAt(u64),
    /// The venue has no such placed order, and it has had time to settle: the plugin gives
    /// its verdict ([`OrderLookup::never_placed`], or a further search of its own).
    NotPlaced,
    /// Settled: the verdict is written to the output.
    Done,
}

/// One lookup of an order whose outcome is unknown, and its tries so far.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::lookup::{Answer, OrderLookup, Step, Target};
/// use plugin_api::{Instrument, NewOrder, Num, OrderStatus, OrderType, Output, RetryPolicy, Side};
///
/// let order = NewOrder {
///     instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
///     side: Side::Buy,
///     order_type: OrderType::Limit,
///     price: Num::parse("65000").unwrap(),
///     qty: Num::parse("0.1").unwrap(),
///     quote_qty: Num::ZERO,
///     client_id: "c1".into(),
/// };
/// // The place answer was lost at t = 10 s; the first lookup failed with a 503.
/// let mut lookup = OrderLookup::new(Target::Placed(order), 10_000);
/// let mut out = Output::default();
/// let failed = Answer::Failed("HTTP 503".into());
/// let step = lookup.step(failed, &RetryPolicy::DEFAULT, 10_050_000_000, "x", &mut out);
/// assert_eq!(step, Step::RetryAt(10_550));
/// // The venue never answers: after the last try the order is reported unknown.
/// lookup.give_up("HTTP 503", 20_000_000_000, &mut out);
/// assert_eq!(out.rejects[0].reason.as_str(), "order_outcome_unknown");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OrderLookup {
    /// The order looked up.
    pub target: Target,
    /// The tries sent so far.
    pub attempts: Attempts,
}

impl OrderLookup {
    /// A lookup of `target` whose outcome is unknown since `since_ms`; its first try goes
    /// out now.
    pub fn new(target: Target, since_ms: u64) -> OrderLookup {
        OrderLookup {
            target,
            attempts: Attempts::first(since_ms),
        }
    }

    /// What comes after `answer`, received at `received_ns` (wall clock); a cancel's order
    /// the venue does not know and a lookup out of tries are settled here, naming `venue`
    /// in the rejects.
    pub fn step<'a>(
        &mut self,
        answer: Answer<'a>,
        policy: &RetryPolicy,
        received_ns: u64,
        venue: &str,
        out: &mut Output,
    ) -> Step<'a> {
        let now_ms = received_ns / 1_000_000;
        match (&self.target, answer) {
            (_, Answer::Found(body)) => Step::Parse(body),
            (Target::Placed(_), Answer::NotFound) => {
                match self.attempts.recheck_at(policy, now_ms) {
                    // Too early to believe: the venue may still be placing it.
                    Some(due) => Step::RetryAt(due),
                    None => Step::NotPlaced,
                }
            }
            (Target::Cancelled(cancel), Answer::NotFound) => {
                out.reject(
                    "order_not_found",
                    format!("order {}: {venue} has no such order", cancel.order_id),
                );
                Step::Done
            }
            (_, Answer::Failed(detail)) => match self.attempts.retry_at(policy, now_ms) {
                Some(due) => Step::RetryAt(due),
                None => {
                    self.give_up(&detail, received_ns, out);
                    Step::Done
                }
            },
            (_, Answer::Refused(detail)) => {
                self.give_up(&detail, received_ns, out);
                Step::Done
            }
        }
    }

    /// No more tries: a place is reported [`OrderStatus::Unknown`]; a cancel's order keeps
    /// the state the caller last saw. Both are rejects with `detail`.
    pub fn give_up(&self, detail: &str, received_ns: u64, out: &mut Output) {
        let tries = self.attempts.sent();
        match &self.target {
            Target::Placed(order) => {
                out.event(Event::Order(requested(
                    order,
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
            Target::Cancelled(cancel) => out.reject(
                "cancel_outcome_unknown",
                format!(
                    "order {}: no answer after {tries} lookups: {detail}",
                    cancel.order_id
                ),
            ),
        }
    }

    /// The verdict on a place the venue has no trace of: never placed
    /// ([`OrderStatus::Rejected`]) and an `order_not_found` reject saying `why`.
    pub fn never_placed(order: &NewOrder, why: &str, received_ns: u64, out: &mut Output) {
        out.event(Event::Order(requested(
            order,
            OrderStatus::Rejected,
            received_ns,
        )));
        out.reject(
            "order_not_found",
            format!("place {:?}: {why}", order.client_id),
        );
    }
}

/// An update for an order known only by the request that placed it (no order id, nothing
/// filled).
pub fn requested(order: &NewOrder, status: OrderStatus, received_ns: u64) -> OrderUpdate {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Instrument, OrderType, Side};

    const SEC: u64 = 1_000_000_000;

    fn placed() -> OrderLookup {
        let order = NewOrder {
            instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: Num::parse("65000").unwrap(),
            qty: Num::parse("0.1").unwrap(),
            quote_qty: Num::ZERO,
            client_id: "c1".into(),
        };
        OrderLookup::new(Target::Placed(order), 10_000)
    }

    fn cancelled() -> OrderLookup {
        let cancel = CancelOrder {
            instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
            order_id: "42".into(),
        };
        OrderLookup::new(Target::Cancelled(cancel), 10_000)
    }

    fn resp(status: u16, body: &str) -> RestResponse {
        RestResponse {
            tag: 1,
            status,
            body: body.into(),
            error: "".into(),
        }
    }

    #[test]
    fn answers_are_classified_by_the_venues_rules() {
        let classify = |r: &RestResponse| {
            let a = Answer::classify(
                r,
                |s| s == 0 || s >= 500,
                |r| r.status == 404,
                |r| format!("HTTP {}", r.status),
            );
            match a {
                Answer::Found(b) => format!("found {b}"),
                other => format!("{other:?}"),
            }
        };
        assert_eq!(classify(&resp(200, "{}")), "found {}");
        assert_eq!(classify(&resp(404, "")), "NotFound");
        assert_eq!(classify(&resp(503, "")), "Failed(\"HTTP 503\")");
        assert_eq!(classify(&resp(0, "")), "Failed(\"HTTP 0\")");
        assert_eq!(classify(&resp(400, "")), "Refused(\"HTTP 400\")");
    }

    #[test]
    fn a_place_not_found_is_believed_only_once_settled() {
        let policy = RetryPolicy::DEFAULT;
        let mut out = Output::default();
        let mut l = placed();
        // 0.2 s after the answer was lost: too early, ask again when it has settled.
        let early = l.step(Answer::NotFound, &policy, 10 * SEC + SEC / 5, "x", &mut out);
        assert_eq!(early, Step::RetryAt(11_000));
        let late = l.step(Answer::NotFound, &policy, 11 * SEC, "x", &mut out);
        assert_eq!(late, Step::NotPlaced);
        assert!(out.events.is_empty() && out.rejects.is_empty());
        if let Target::Placed(o) = &l.target {
            OrderLookup::never_placed(o, "x has no such order", 11 * SEC, &mut out);
        }
        match &out.events[0] {
            Event::Order(u) => assert_eq!(u.status, OrderStatus::Rejected),
            other => panic!("{other:?}"),
        }
        assert_eq!(out.rejects[0].reason.as_str(), "order_not_found");
    }

    #[test]
    fn failed_lookups_back_off_then_report_the_place_unknown() {
        let policy = RetryPolicy::DEFAULT;
        let mut out = Output::default();
        let mut l = placed();
        let mut now = 10 * SEC;
        let mut dues = Vec::new();
        loop {
            match l.step(
                Answer::Failed("HTTP 503".into()),
                &policy,
                now,
                "x",
                &mut out,
            ) {
                Step::RetryAt(due) => {
                    dues.push(due - now / 1_000_000);
                    now = due * 1_000_000;
                }
                Step::Done => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(dues, [500, 1_000, 2_000, 4_000]);
        match &out.events[..] {
            [Event::Order(u)] => assert_eq!(
                (u.status, u.client_id.as_str(), u.stamp.received_ns),
                (OrderStatus::Unknown, "c1", now)
            ),
            other => panic!("{other:?}"),
        }
        assert!(out.rejects[0]
            .detail
            .contains("no answer after 5 lookups: HTTP 503"));
    }

    #[test]
    fn a_cancels_order_is_settled_by_not_found_or_a_refusal() {
        let policy = RetryPolicy::DEFAULT;
        let mut out = Output::default();
        assert_eq!(
            cancelled().step(Answer::NotFound, &policy, 10 * SEC, "venue", &mut out),
            Step::Done
        );
        assert_eq!(
            out.rejects[0].detail.as_str(),
            "order 42: venue has no such order"
        );
        let refused = Answer::Refused("HTTP 400".into());
        assert_eq!(
            cancelled().step(refused, &policy, 10 * SEC, "venue", &mut out),
            Step::Done
        );
        assert_eq!(out.rejects[1].reason.as_str(), "cancel_outcome_unknown");
        // A cancel's order keeps the state the caller saw: no event.
        assert!(out.events.is_empty());
        let found = cancelled().step(Answer::Found("{}"), &policy, 10 * SEC, "venue", &mut out);
        assert_eq!(found, Step::Parse("{}"));
    }
}
