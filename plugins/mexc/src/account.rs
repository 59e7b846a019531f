//! The balances read over REST (`GET /api/v3/account`) at start and each time the private
//! connection opens (the stream carries only changes, and they may have changed while it was
//! down), retried on the [`LOOKUP_TIMER`](crate::descriptor::LOOKUP_TIMER) with backoff
//! ([`RetryPolicy::DEFAULT`]) until MEXC answers. A new open starts a new round
//! ([`plugin_api::Rereads`]) and retires the old one.

use plugin_api::{Action, Output, PluginError, Reread, RereadFailed, RestResponse, RetryPolicy};

use crate::answers::{credentials_refused, transport_detail};
use crate::{rest, Later, Mexc, Pending};

const ROUTE: &str = "GET /api/v3/account";

impl Mexc {
    /// Reads the balances in a new round, retiring any retry of an earlier one.
    pub(crate) fn reread_account(&mut self, out: &mut Output) {
        let round = self.rereads.restart();
        self.send_account_read(round, out);
    }

    /// Sends the read of `round`, unless a newer round has begun since it was deferred.
    pub(crate) fn send_account_read(&mut self, round: Reread, out: &mut Output) {
        if self.rereads.is_current(&round) {
            let req = self.request(Pending::Account(Some(round)), rest::account);
            out.actions.push(Action::Rest(req));
        }
    }

    /// The answer to an account read: balances, another try later (a read of a round, not
    /// one the host asked for with [`Mexc::account_request`]), or (refused credentials) an
    /// error.
    pub(crate) fn account_answer(
        &mut self,
        round: Option<Reread>,
        resp: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) -> Result<(), PluginError> {
        let body = resp.body.as_str();
        if (200..300).contains(&resp.status) {
            match rest::parse_account(body, received_ns) {
                Ok(events) => out.events.extend(events),
                Err(e) => out.reject("rest_malformed", e),
            }
            return Ok(());
        }
        if rest::credentials_refused(resp.status, body) {
            return Err(credentials_refused(ROUTE, &transport_detail(resp)));
        }
        let Some(mut round) = round.filter(|_| rest::worth_retrying(resp.status)) else {
            out.reject("rest_error", transport_detail(resp));
            return Ok(());
        };
        let now_ms = received_ns / 1_000_000;
        match self
            .rereads
            .failed(&mut round, &RetryPolicy::DEFAULT, now_ms)
        {
            RereadFailed::RetryAt(due) => {
                self.later
                    .defer(due, Later::Account(round), &mut out.actions)
            }
            RereadFailed::Exhausted(tries) => out.reject(
                "account_read_failed",
                format!(
                    "{ROUTE}: could not read the account after {tries} tries: {}",
                    transport_detail(resp)
                ),
            ),
            // The connection opened again since: that round's read is under way.
            RereadFailed::Superseded => {}
        }
        Ok(())
    }
}
