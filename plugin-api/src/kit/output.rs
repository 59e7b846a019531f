//! Building an [`Output`]: rejects with a bounded detail, events, actions and gaps.

use crate::{
    Action, Event, Gap, GapReason, Instrument, Num, Output, Reject, RestRequest, Stamp, StreamKind,
};

/// The longest reject detail kept, in bytes; longer ones are cut at a char boundary.
pub const MAX_REJECT_DETAIL: usize = 256;

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::output::truncate;
///
/// assert_eq!(truncate("héllo", 2), "h");
/// assert_eq!(truncate("abc", 10), "abc");
/// ```
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

impl Reject {
    /// A reject with a short, stable `reason` (`malformed`) and a `detail` for the log, cut
    /// to [`MAX_REJECT_DETAIL`] bytes. Never put a secret in either.
    pub fn new(reason: &str, detail: impl AsRef<str>) -> Reject {
        Reject {
            reason: reason.into(),
            detail: truncate(detail.as_ref(), MAX_REJECT_DETAIL).into(),
        }
    }
}

/// The value of the required field `field`, or a `malformed` reject naming it.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::output::required;
///
/// assert_eq!(required(Some(7), "u"), Ok(7));
/// assert_eq!(required(None::<u64>, "u").unwrap_err().detail.as_str(), "no `u`");
/// ```
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, Reject> {
    value.ok_or_else(|| Reject::new("malformed", format!("no `{field}`")))
}

/// The exact decimal in the required field `field`, or a `malformed` reject naming the
/// field and what is wrong with it.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::output::decimal;
/// use plugin_api::Num;
///
/// assert_eq!(decimal(Some("25.35"), "b"), Ok(Num::parse("25.35").unwrap()));
/// assert!(decimal(Some("1e400"), "b").unwrap_err().detail.starts_with("`b`: "));
/// assert_eq!(decimal(None, "b").unwrap_err().reason.as_str(), "malformed");
/// ```
pub fn decimal(text: Option<&str>, field: &str) -> Result<Num, Reject> {
    Num::parse(required(text, field)?)
        .map_err(|e| Reject::new("malformed", format!("`{field}`: {e}")))
}

impl Output {
    /// Adds an event.
    pub fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Adds the event, or the reject that explains why there is none.
    pub fn event_or_reject(&mut self, event: Result<Event, Reject>) {
        match event {
            Ok(e) => self.events.push(e),
            Err(r) => self.rejects.push(r),
        }
    }

    /// Adds a reject (see [`Reject::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use plugin_api::Output;
    ///
    /// let mut out = Output::default();
    /// out.reject("unknown_channel", "spot.candles");
    /// assert_eq!(out.rejects[0].reason.as_str(), "unknown_channel");
    /// ```
    pub fn reject(&mut self, reason: &str, detail: impl AsRef<str>) {
        self.rejects.push(Reject::new(reason, detail));
    }

    /// Adds an action.
    pub fn action(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// Adds a REST request action.
    pub fn rest(&mut self, request: RestRequest) {
        self.action(Action::Rest(request));
    }

    /// An output holding one reject.
    pub fn rejected(reason: &str, detail: impl AsRef<str>) -> Output {
        let mut out = Output::default();
        out.reject(reason, detail);
        out
    }
}

impl Gap {
    /// A skipped sequence id on `instrument`'s `kind` stream after `last_id`: the plugin
    /// resynchronizes (a snapshot follows).
    pub fn sequence(instrument: Instrument, kind: StreamKind, last_id: u64, stamp: Stamp) -> Gap {
        Gap {
            instrument,
            kind,
            reason: GapReason::SequenceGap,
            last_id,
            stamp,
        }
    }

    /// Data on `instrument`'s `kind` stream (every instrument of the kind with
    /// `Instrument::default()`) was lost with a connection. The host already reports this
    /// gap for every stream on a connection it reconnects; a plugin needs this only for a
    /// loss the host cannot see (a venue-side resubscribe).
    pub fn reconnect(instrument: Instrument, kind: StreamKind, last_id: u64, stamp: Stamp) -> Gap {
        Gap {
            instrument,
            kind,
            reason: GapReason::Reconnect,
            last_id,
            stamp,
        }
    }
}

impl From<Gap> for Event {
    fn from(gap: Gap) -> Event {
        Event::Gap(gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_cut_at_a_char_boundary() {
        let long = "é".repeat(200);
        let r = Reject::new("malformed", &long);
        assert!(r.detail.len() <= MAX_REJECT_DETAIL && r.detail.len() >= MAX_REJECT_DETAIL - 1);
        assert!(long.starts_with(r.detail.as_str()));
        assert_eq!(Reject::new("x", "short").detail.as_str(), "short");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn output_building() {
        let i = Instrument::new("BTC/USDT", "BTC_USDT").unwrap();
        let mut out = Output::rejected("a", "b");
        out.event(Gap::sequence(i, StreamKind::Depth, 7, Stamp::default()).into());
        out.rest(RestRequest::new(1, "GET", "/x", ""));
        assert_eq!(out.rejects.len(), 1);
        assert!(
            matches!(&out.events[0], Event::Gap(g) if g.reason == GapReason::SequenceGap && g.last_id == 7)
        );
        assert!(matches!(out.actions[0], Action::Rest(_)));
        let g = Gap::reconnect(
            Instrument::default(),
            StreamKind::Trades,
            0,
            Stamp::default(),
        );
        assert_eq!(g.reason, GapReason::Reconnect);
    }
}
