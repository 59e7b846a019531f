//! Every stream the program reads, merged into one: each venue's book tickers per symbol
//! and its orders, fills and balances, as `(venue, event)` pairs in arrival order per
//! stream. Gaps come through as `Event::Gap`; a stream that ends (its venue stopped) drops
//! out of the merge.

use arbitrage::VenueId;
use futures_util::stream::{self, BoxStream, SelectAll, StreamExt};
use host::exchange::{EventStream, ExchangeHandle, Update};
use plugin_api::{Event, Gap};

/// The merged streams.
pub(crate) type Feed = SelectAll<BoxStream<'static, (VenueId, Event)>>;

/// One typed stream as `(venue, event)` pairs.
fn pairs<T>(
    venue: VenueId,
    s: EventStream<T>,
    wrap: fn(T) -> Event,
) -> BoxStream<'static, (VenueId, Event)>
where
    T: Send + 'static,
{
    stream::unfold(s, move |mut s| async move {
        let event = match s.recv().await? {
            Update::Item(item) => wrap(item),
            Update::Gap(gap) => Event::Gap(gap),
        };
        Some(((venue, event), s))
    })
    .boxed()
}

/// Subscribes what the engine needs of every venue it trades: `venues` pairs each venue
/// name with the engine's id for it.
pub(crate) async fn subscribe(
    exchange: &ExchangeHandle,
    venues: &[(String, VenueId)],
    symbols: &[String],
) -> anyhow::Result<Feed> {
    let mut feed: Feed = SelectAll::new();
    for (name, id) in venues {
        let venue = exchange.venue(name)?;
        // Balances first: the first private subscription opens the account stream, and
        // the venue's balance snapshot that follows must find a subscriber.
        feed.push(pairs(*id, venue.balances().await?, Event::Balance));
        feed.push(pairs(*id, venue.orders().await?, Event::Order));
        feed.push(pairs(*id, venue.fills().await?, Event::Fill));
        for symbol in symbols {
            feed.push(pairs(
                *id,
                venue.book_tickers(symbol).await?,
                Event::BookTicker,
            ));
        }
    }
    Ok(feed)
}

/// True for a gap of a private stream (orders, fills, balances).
pub(crate) fn is_private_gap(gap: &Gap) -> bool {
    gap.kind.is_private()
}
