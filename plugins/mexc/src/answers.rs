//! Handling of REST answers: depth snapshots, exchangeInfo, the listen key, orders and
//! balances, each matched to its request by tag. An order answer that leaves the order's
//! outcome unknown starts a lookup ([`crate::lookup`]).

use plugin_api::{CancelOrder, Event, NewOrder, OrderStatus, Output, PluginError, RestResponse};

use plugin_api::kit::lookup::requested;

use crate::{rest, Mexc, Pending};

impl Mexc {
    /// Turns the answer to a request this instance asked for into events and actions. A
    /// listen-key or account request whose credentials MEXC refused is an error: the host
    /// logs it and shows it as the instance's last error, so a wrong key or secret is
    /// reported instead of silently leaving the private stream closed.
    pub(crate) fn answer(
        &mut self,
        response: RestResponse,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let Some(purpose) = self.pending.remove(&response.tag) else {
            out.reject(
                "unknown_tag",
                format!("REST answer with unknown tag {}", response.tag),
            );
            return Ok(out);
        };
        let ok = (200..300).contains(&response.status);
        let body = response.body.as_str();
        let refused = !ok && rest::credentials_refused(response.status, body);
        match purpose {
            Pending::ListenKeyCreate if refused => {
                self.listen_key.on_create_failed();
                return Err(credentials_refused(
                    "POST /api/v3/userDataStream",
                    &transport_detail(&response),
                ));
            }
            Pending::Snapshot(symbol) => match ok.then(|| rest::parse_snapshot(body)) {
                Some(Ok(snapshot)) => {
                    let step = self.books.on_snapshot(&symbol, snapshot, received_ns);
                    self.apply_sync(step, &mut out);
                }
                Some(Err(e)) => {
                    self.books.on_snapshot_failed(&symbol);
                    out.reject("rest_malformed", e);
                }
                None => {
                    self.books.on_snapshot_failed(&symbol);
                    out.reject("rest_error", transport_detail(&response));
                }
            },
            Pending::ExchangeInfo if ok => {
                if let Err(e) = self.symbols.load_exchange_info(body) {
                    out.reject("rest_malformed", e);
                }
            }
            Pending::ListenKeyCreate => match ok.then(|| rest::parse_listen_key(body)) {
                Some(Ok(key)) => out
                    .actions
                    .extend(self.listen_key.on_created(key, &self.settings.ws_url)),
                Some(Err(e)) => {
                    self.listen_key.on_create_failed();
                    out.reject("rest_malformed", e);
                }
                None => {
                    self.listen_key.on_create_failed();
                    out.reject("rest_error", transport_detail(&response));
                }
            },
            Pending::ListenKeyKeepAlive if !ok => {
                out.reject("rest_error", transport_detail(&response));
                // The key may have expired: make a new one (it re-opens the private stream).
                out.actions.extend(self.create_listen_key());
            }
            Pending::Place { order } => {
                self.on_order_answer(&order, &response, received_ns, &mut out)
            }
            Pending::Cancel { cancel } => {
                self.on_cancel_answer(&cancel, &response, received_ns, &mut out)
            }
            Pending::Lookup(lookup) => self.lookup_answer(lookup, &response, received_ns, &mut out),
            Pending::Query { instrument } if ok => {
                match rest::parse_order(body, instrument, "", received_ns) {
                    Ok(update) => out.events.push(Event::Order(update)),
                    Err(e) => out.reject("rest_malformed", e),
                }
            }
            Pending::Account(round) => {
                self.account_answer(round, &response, received_ns, &mut out)?
            }
            Pending::ListenKeyKeepAlive | Pending::ListenKeyDelete if ok => {}
            _ if refused => out.reject("credentials_refused", transport_detail(&response)),
            _ => out.reject("rest_error", transport_detail(&response)),
        }
        Ok(out)
    }

    pub(crate) fn on_order_answer(
        &mut self,
        order: &NewOrder,
        response: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) {
        if (200..300).contains(&response.status) {
            match rest::parse_order(
                &response.body,
                order.instrument,
                &order.client_id,
                received_ns,
            ) {
                Ok(update) => out.events.push(Event::Order(update)),
                Err(e) => out.reject("rest_malformed", e),
            }
        } else if (400..500).contains(&response.status) && response.status != 408 {
            // A 4xx answer (429 and 418 included) means the order was not accepted.
            out.events.push(Event::Order(requested(
                order,
                OrderStatus::Rejected,
                received_ns,
            )));
            let reason = if rest::credentials_refused(response.status, &response.body) {
                "credentials_refused"
            } else {
                "order_rejected"
            };
            out.reject(reason, rest::error_detail(response.status, &response.body));
        } else {
            // 5xx, timeouts and transport errors: the order may or may not exist.
            out.reject(
                "order_outcome_unknown",
                format!(
                    "place {:?}: {}",
                    order.client_id,
                    transport_detail(response)
                ),
            );
            self.place_outcome_unknown(order, received_ns, out);
        }
    }

    /// The answer to a cancel: the order, or (refused or lost) a lookup of the order by its
    /// id, so the caller learns whether it filled or is gone.
    fn on_cancel_answer(
        &mut self,
        cancel: &CancelOrder,
        response: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) {
        let id = &cancel.order_id;
        if (200..300).contains(&response.status) {
            match rest::parse_order(&response.body, cancel.instrument, "", received_ns) {
                Ok(update) => out.events.push(Event::Order(update)),
                Err(e) => out.reject("rest_malformed", e),
            }
            return;
        }
        let detail = format!("order {id}: {}", transport_detail(response));
        if rest::credentials_refused(response.status, &response.body) {
            out.reject("credentials_refused", detail);
            return;
        }
        let lost = matches!(response.status, 0 | 408 | 500..);
        let reason = if lost {
            "cancel_outcome_unknown"
        } else {
            "cancel_rejected"
        };
        out.reject(reason, detail);
        self.cancel_unsettled(cancel, received_ns, out);
    }
}

/// The error for a request whose credentials MEXC refused (`what` was refused, `detail` is
/// MEXC's answer); it names the keys to check, never their values.
pub(crate) fn credentials_refused(what: &str, detail: &str) -> PluginError {
    PluginError::config(format!(
        "mexc: the venue refused the credentials ({what}: {detail}); \
         check `credentials.api_key` and `credentials.api_secret`"
    ))
}

/// `no answer: <transport error>` or MEXC's error body.
pub(crate) fn transport_detail(response: &RestResponse) -> String {
    if response.status == 0 {
        format!("no answer: {}", rest::short(&response.error))
    } else {
        rest::error_detail(response.status, &response.body)
    }
}
