//! The account re-read each time the private connection opens (balances and open orders may
//! have changed while it was down), retried on the
//! [`LOOKUP_TIMER`](crate::describe::LOOKUP_TIMER) with backoff ([`RetryPolicy::DEFAULT`])
//! until Gate answers. A new open starts a new round ([`Rereads`]) and retires the old one.

use plugin_api::{
    Action, Event, Output, PluginError, Reread, RereadFailed, RestResponse, RetryPolicy,
};

use crate::{credentials_refused, rest, short_error, GateioVenue, Later, Pending};

/// One of the reads that make up the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountRead {
    /// `GET /spot/accounts`: balances.
    Balances,
    /// `GET /spot/open_orders`: orders.
    OpenOrders,
}

impl AccountRead {
    fn route(self) -> &'static str {
        match self {
            AccountRead::Balances => "GET /spot/accounts",
            AccountRead::OpenOrders => "GET /spot/open_orders",
        }
    }
}

impl GateioVenue {
    /// Re-reads the account (balances and open orders) in a new round, retiring any retry of
    /// an earlier one.
    pub(crate) fn reconcile(&mut self, out: &mut Output) {
        if self.settings.credentials.is_none() {
            return;
        }
        let round = self.rereads.restart();
        self.send_account_read(AccountRead::Balances, round, out);
        self.send_account_read(AccountRead::OpenOrders, round, out);
    }

    /// Sends `read` of `round`, unless a newer round has begun since it was deferred.
    pub(crate) fn send_account_read(&mut self, read: AccountRead, round: Reread, out: &mut Output) {
        if !self.rereads.is_current(&round) {
            return;
        }
        let tag = self.own_tag(Pending::Account(read, round));
        let req = match read {
            AccountRead::Balances => rest::accounts(tag),
            AccountRead::OpenOrders => rest::open_orders(tag),
        };
        out.actions.push(Action::Rest(req));
    }

    /// The answer to an account read: balances or orders, another try later, or (refused
    /// credentials) an error.
    pub(crate) fn account_answer(
        &mut self,
        read: AccountRead,
        mut round: Reread,
        resp: &RestResponse,
        received_ns: u64,
        out: &mut Output,
    ) -> Result<(), PluginError> {
        let body = resp.body.as_str();
        if (200..300).contains(&resp.status) {
            match read {
                AccountRead::Balances => match rest::parse_accounts(body, received_ns) {
                    Ok(v) => out.events.extend(v.into_iter().map(Event::Balance)),
                    Err(e) => out.reject("malformed", e.detail()),
                },
                AccountRead::OpenOrders => match rest::parse_open_orders(body, received_ns) {
                    Ok(v) => out.events.extend(v.into_iter().map(Event::Order)),
                    Err(e) => out.reject("malformed", e.detail()),
                },
            }
            return Ok(());
        }
        if rest::credentials_refused(resp.status, body) {
            return Err(credentials_refused(read.route(), &short_error(resp)));
        }
        if !rest::worth_retrying(resp.status) {
            out.reject("rest_failed", short_error(resp));
            return Ok(());
        }
        let now_ms = received_ns / 1_000_000;
        match self
            .rereads
            .failed(&mut round, &RetryPolicy::DEFAULT, now_ms)
        {
            RereadFailed::RetryAt(due) => {
                self.later
                    .defer(due, Later::Account(read, round), &mut out.actions)
            }
            RereadFailed::Exhausted(tries) => out.reject(
                "account_read_failed",
                format!(
                    "{}: could not read the account after {tries} tries: {}",
                    read.route(),
                    short_error(resp)
                ),
            ),
            // The connection opened again since: that round's reads are under way.
            RereadFailed::Superseded => {}
        }
        Ok(())
    }
}
