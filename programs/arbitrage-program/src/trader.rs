//! The trading loop: every event of the feed goes to the engine; the two legs of each
//! opportunity it returns go out together; legs left open too long are cancelled; the view
//! gets a snapshot at its refresh period; at the end, the view closes, what is still open is
//! cancelled and the loop waits (bounded) for the answers.

use std::time::Duration;

use arbitrage::{CancelRequest, Engine, Opportunity, VenueId};
use futures_util::StreamExt;
use host::exchange::{ExchangeHandle, VenueHandle};
use host::venue::now_ns;
use plugin_api::Event;

use crate::feed::{is_private_gap, Feed};
use crate::resync::Resync;
use crate::view::{Tally, View};

/// How often legs past their timeout are looked for.
const CANCEL_SWEEP: Duration = Duration::from_millis(100);
/// How long the exit waits for the answers to its cancels.
const EXIT_CANCEL_WAIT: Duration = Duration::from_millis(500);

/// One venue at the end of the run.
#[derive(Debug, serde::Serialize)]
pub(crate) struct VenueRecord {
    /// Instance name.
    pub(crate) venue: String,
    /// Events the program took from it.
    pub(crate) events: u64,
    /// Gap markers among them.
    pub(crate) gaps: u64,
    /// Its life-cycle state, or why it could not be read.
    pub(crate) state: String,
    /// The host's counters of the venue.
    pub(crate) host: Option<host::venue::VenueStats>,
}

/// The engine with the venues it trades on.
pub(crate) struct Trader {
    pub(crate) engine: Engine,
    venues: Vec<VenueHandle>,
    /// Venues paused by a gap in their account streams, until a balance newer than the gap.
    resync: Resync,
    /// The program's counts per venue, which snapshots are built from.
    tally: Tally,
    view: View,
}

impl Trader {
    /// A trader for `engine` on the exchange's venues of the engine's configuration, shown
    /// on `view`.
    pub(crate) fn new(
        engine: Engine,
        exchange: &ExchangeHandle,
        view: View,
    ) -> anyhow::Result<Trader> {
        let venues = engine
            .config()
            .venues
            .iter()
            .map(|v| exchange.venue(&v.name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trader {
            tally: Tally::new(venues.len(), now_ns()),
            engine,
            venues,
            resync: Resync::default(),
            view,
        })
    }

    /// Each venue's name with the engine's id for it.
    pub(crate) fn venue_ids(&self) -> Vec<(String, VenueId)> {
        self.venues
            .iter()
            .filter_map(|v| Some((v.name().to_owned(), self.engine.venue_id(v.name())?)))
            .collect()
    }

    /// Each venue's counters as the host kept them (connects, reconnects, gaps, rejects...)
    /// with the events this program took from it: for the run's report.
    pub(crate) async fn venue_records(&self) -> Vec<VenueRecord> {
        let mut records = Vec::with_capacity(self.venues.len());
        for (i, venue) in self.venues.iter().enumerate() {
            let health = venue.health().await;
            records.push(VenueRecord {
                venue: venue.name().to_owned(),
                events: self.tally.events(i),
                gaps: self.tally.gaps(i),
                state: health
                    .as_ref()
                    .map_or_else(|e| e.to_string(), |h| h.state.to_string()),
                host: health.ok().map(|h| h.stats),
            });
        }
        records
    }

    fn venue(&self, id: VenueId) -> &VenueHandle {
        &self.venues[id.index()]
    }

    /// The stop came before the feed was subscribed: gives the terminal back and says why.
    pub(crate) fn stopped_early(&mut self, reason: &str) {
        self.view.close();
        eprintln!("stopping ({reason})");
    }

    /// Runs until `stop` resolves with its reason or every stream ended, then closes the view
    /// and cancels what is left open.
    pub(crate) async fn run(
        &mut self,
        mut feed: Feed,
        stop: impl std::future::Future<Output = &'static str>,
    ) {
        tokio::pin!(stop);
        let mut sweep = tokio::time::interval(CANCEL_SWEEP);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(self.view.refresh_period());
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let reason = loop {
            tokio::select! {
                biased;
                reason = &mut stop => break Some(reason),
                next = feed.next() => match next {
                    Some((venue, event)) => self.on_event(venue, event).await,
                    None => break None,
                },
                _ = sweep.tick() => {
                    let due = self.engine.cancels_due(now_ns());
                    self.cancel_all(due).await;
                }
                _ = refresh.tick() => self.refresh().await,
            }
        };
        // The terminal is given back first, so that what follows is seen.
        self.view.close();
        if let Some(reason) = reason {
            eprintln!("stopping ({reason})");
        }
        self.exit(&mut feed).await;
    }

    /// Builds a snapshot and hands it to the view.
    async fn refresh(&mut self) {
        let mut health = Vec::with_capacity(self.venues.len());
        for venue in &self.venues {
            health.push(venue.health().await);
        }
        let snapshot = self.tally.snapshot(&self.engine, &health, now_ns());
        self.view.show(snapshot);
    }

    async fn on_event(&mut self, venue: VenueId, event: Event) {
        self.tally.count(venue, &event);
        // The engine pauses a venue on any gap of its account streams; resync tells when
        // what the venue reports is true again.
        let resume = match &event {
            Event::Gap(gap) if is_private_gap(gap) => {
                !self.resync.on_gap(venue, gap.stamp.received_ns)
            }
            Event::Balance(b) => self.resync.on_balance(venue, b.stamp.received_ns),
            _ => false,
        };
        match self.engine.on_event(venue, &event, now_ns()) {
            Ok(Some(opportunity)) => self.send(opportunity).await,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(venue = self.venue(venue).name(), error = %e, "fill not applied")
            }
        }
        if resume {
            self.engine.resume(venue);
        }
    }

    /// Sends both legs at once; each is reported to the engine as sent or failed.
    async fn send(&mut self, opportunity: Opportunity) {
        let [a, b] = opportunity.legs();
        let (ra, rb) = tokio::join!(
            self.venue(a.venue).place(a.order.clone()),
            self.venue(b.venue).place(b.order.clone())
        );
        let sent = now_ns();
        for (leg, result) in [(a, ra), (b, rb)] {
            match result {
                Ok(_) => self.engine.on_sent(&leg.order.client_id, sent),
                Err(e) => {
                    tracing::warn!(venue = self.venue(leg.venue).name(), client_id = %leg.order.client_id, error = %e, "leg not sent");
                    self.engine.on_send_failed(&leg.order.client_id);
                }
            }
        }
        let s = &opportunity.spread;
        tracing::info!(
            symbol = %opportunity.symbol.as_str(),
            buy = self.venue(opportunity.buy.venue).name(),
            sell = self.venue(opportunity.sell.venue).name(),
            qty = %s.qty,
            buy_price = %s.buy_price,
            sell_price = %s.sell_price,
            expected_profit = %s.expected_profit,
            "opportunity: both legs sent"
        );
    }

    async fn cancel_all(&self, cancels: Vec<CancelRequest>) {
        for c in cancels {
            if let Err(e) = self.venue(c.venue).cancel(c.cancel.clone()).await {
                tracing::warn!(venue = self.venue(c.venue).name(), error = %e, "cancel not sent");
            }
        }
    }

    /// Cancels every leg still open and takes the answers that arrive within half a second.
    async fn exit(&mut self, feed: &mut Feed) {
        let open = self.engine.cancels_on_exit();
        if open.is_empty() {
            return;
        }
        tracing::info!(legs = open.len(), "cancelling the legs still open");
        self.cancel_all(open).await;
        let deadline = tokio::time::sleep(EXIT_CANCEL_WAIT);
        tokio::pin!(deadline);
        while !self.engine.cancels_on_exit().is_empty() {
            let next = tokio::select! {
                () = &mut deadline => break,
                next = feed.next() => next,
            };
            let Some((venue, event)) = next else { break };
            // Only the account's answers: no new decision is taken while leaving.
            if matches!(event, Event::Order(_) | Event::Fill(_) | Event::Balance(_)) {
                self.tally.count(venue, &event);
                let _ = self.engine.on_event(venue, &event, now_ns());
            }
        }
    }
}
