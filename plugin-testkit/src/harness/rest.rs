//! The REST side of a [`Harness`]: requests the plugin makes wait, signed as the host
//! would send them, until the test answers or fails them.

use abi_stable::std_types::RResult;
use plugin_api::{CancelOrder, NewOrder, Output, PluginError, RestRequest, RestResponse};

use super::{rehome, Harness};
use crate::error::TestkitError;

impl Harness {
    /// Makes a request pending, signed first if it asks to be, as the host sends it. A
    /// request whose signing fails is dropped (the host fails it the same way); the error
    /// is in the outcome.
    pub(super) fn submit(&mut self, request: RestRequest) {
        if !request.signed {
            self.pending.push(request);
            return;
        }
        if let Ok(signed) = self.sign(request) {
            self.pending.push(signed);
        }
    }

    /// Answers the pending request `tag` with an HTTP status and body.
    pub fn answer(&mut self, tag: u64, status: u16, body: &str) -> Result<Output, TestkitError> {
        let Some(i) = self.pending.iter().position(|r| r.tag == tag) else {
            return Err(self.no_request(&format!("with tag {tag}")));
        };
        self.respond(i, status, body, "")
    }

    /// Answers the oldest pending request whose method, path and (if given) query match.
    pub fn answer_to(
        &mut self,
        method: &str,
        path: &str,
        query: Option<&str>,
        status: u16,
        body: &str,
    ) -> Result<Output, TestkitError> {
        let found = self.pending.iter().position(|r| {
            r.method.eq_ignore_ascii_case(method)
                && r.path == path
                && query.is_none_or(|q| r.query == q)
        });
        let Some(i) = found else {
            let q = query.map(|q| format!("?{q}")).unwrap_or_default();
            return Err(self.no_request(&format!("{method} {path}{q}")));
        };
        self.respond(i, status, body, "")
    }

    /// Answers the oldest pending request, whatever it is.
    pub fn answer_next(&mut self, status: u16, body: &str) -> Result<Output, TestkitError> {
        if self.pending.is_empty() {
            return Err(self.no_request("at all"));
        }
        self.respond(0, status, body, "")
    }

    /// Fails the pending request `tag` before any answer (status 0, as a timeout would).
    pub fn fail_request(&mut self, tag: u64, error: &str) -> Result<Output, TestkitError> {
        let Some(i) = self.pending.iter().position(|r| r.tag == tag) else {
            return Err(self.no_request(&format!("with tag {tag}")));
        };
        self.respond(i, 0, "", error)
    }

    pub(crate) fn respond(
        &mut self,
        index: usize,
        status: u16,
        body: &str,
        error: &str,
    ) -> Result<Output, TestkitError> {
        let request = self.pending.remove(index);
        let response = RestResponse {
            tag: request.tag,
            status,
            body: body.into(),
            error: error.into(),
        };
        let result = self.adapter.on_rest_response(response, self.received_ns());
        self.output("on_rest_response", result)
    }

    fn no_request(&self, wanted: &str) -> TestkitError {
        let pending: Vec<String> = self
            .pending
            .iter()
            .map(|r| format!("{} {}?{} (tag {})", r.method, r.path, r.query, r.tag))
            .collect();
        TestkitError::NoSuchRequest {
            wanted: wanted.to_owned(),
            pending: match pending.is_empty() {
                true => "none".to_owned(),
                false => pending.join(", "),
            },
        }
    }

    /// Signs a request, as the host does before sending one marked `signed`.
    pub fn sign(&mut self, request: RestRequest) -> Result<RestRequest, TestkitError> {
        match self.adapter.sign(request, self.now_ms) {
            RResult::ROk(r) => Ok(rehome(r)),
            RResult::RErr(e) => Err(self.fail("sign", &e)),
        }
    }

    /// Asks for the request that places `order`; it becomes a pending request.
    pub fn place_order(&mut self, order: NewOrder, tag: u64) -> Result<RestRequest, TestkitError> {
        let result = self.adapter.place_order(order, tag);
        self.request("place_order", result)
    }

    /// Asks for the request that cancels an order; it becomes a pending request.
    pub fn cancel_order(
        &mut self,
        cancel: CancelOrder,
        tag: u64,
    ) -> Result<RestRequest, TestkitError> {
        let result = self.adapter.cancel_order(cancel, tag);
        self.request("cancel_order", result)
    }

    fn request(
        &mut self,
        call: &'static str,
        result: RResult<RestRequest, PluginError>,
    ) -> Result<RestRequest, TestkitError> {
        match result {
            RResult::ROk(r) => {
                let r = rehome(r);
                self.outcome.add_request(&r);
                self.submit(r.clone());
                Ok(r)
            }
            RResult::RErr(e) => Err(self.fail(call, &e)),
        }
    }
}
