//! The NATS bus (`[nats]` in the configuration, off by default): how hosts and programs in
//! other processes or on other machines share venues.
//!
//! - A host publishes each running venue's streams ([`publish`]): market data on core NATS
//!   subjects, one per venue, symbol and kind, each message numbered within its subject
//!   and publisher run, with gap and end markers; orders, fills and balances on JetStream,
//!   so a program started again gets what it missed.
//! - It answers requests for the venues it runs ([`rpc`]): orders (idempotent by client
//!   order id across hosts), cancels, instruments, health.
//! - With `leases`, of several hosts configured for one venue only the holder of the
//!   venue's lease in a JetStream key-value bucket runs it ([`lease`]); when the holder dies
//!   a standby takes the venue one lease time after the last renewal.
//! - A program whose configuration sets `remote` gets an [`crate::exchange::Exchange`] whose
//!   venues are those served on the bus ([`remote`]).
//!
//! The messages are protobuf, declared in `host/proto/bus.proto` ([`wire`]).

pub mod lease;
pub mod orders;
pub mod publish;
pub mod remote;
pub mod rpc;
pub mod wire;

use std::time::Duration;

use async_nats::jetstream;
use plugin_api::StreamKind;

use crate::config::NatsConfig;

/// What talking to the bus can fail with; the text names the server, stream or bucket.
#[derive(Debug, thiserror::Error)]
#[error("NATS: {0}")]
pub struct BusError(pub String);

/// The names of subjects, streams and buckets under one prefix.
#[derive(Debug, Clone)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// Names under `prefix` (`mkt`).
    pub fn new(prefix: &str) -> Subjects {
        Subjects {
            prefix: prefix.to_owned(),
        }
    }

    /// `PREFIX.md.VENUE.SYMBOL.KIND` for market data; `PREFIX.private.VENUE.KIND` for
    /// orders and fills, `PREFIX.private.VENUE.balances` (the asset follows) for balances.
    pub fn stream(&self, venue: &str, symbol: &str, kind: StreamKind) -> String {
        if kind.is_private() {
            format!("{}.private.{venue}.{}", self.prefix, kind.name())
        } else {
            format!(
                "{}.md.{venue}.{}.{}",
                self.prefix,
                symbol_token(symbol),
                kind.name()
            )
        }
    }

    /// The JetStream stream holding one venue's private `kind`.
    pub fn private_stream(&self, venue: &str, kind: StreamKind) -> String {
        format!("{}_{venue}_{}", self.prefix, kind.name())
    }

    /// Requests to the host holding `venue`.
    pub fn rpc(&self, venue: &str) -> String {
        format!("{}.rpc.{venue}", self.prefix)
    }

    /// The key-value bucket of venue leases.
    pub fn lease_bucket(&self) -> String {
        format!("{}_leases", self.prefix)
    }

    /// The key-value bucket of client order ids already placed.
    pub fn orders_bucket(&self) -> String {
        format!("{}_orders", self.prefix)
    }
}

/// A normalized symbol as one subject token: `BTC/USDT` is `BTC-USDT`; characters a
/// subject token cannot hold (`.`, `*`, `>`, blanks) become `_`.
pub fn symbol_token(symbol: &str) -> String {
    symbol
        .chars()
        .map(|c| match c {
            '/' => '-',
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect()
}

/// A key-value key for any text: kept as is when the bucket takes it, hex otherwise.
pub fn kv_key(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
    if plain {
        text.to_owned()
    } else {
        format!("x{}", hex::encode(text))
    }
}

/// This process's name on the bus: `nats.name`, or the host name and the process id.
pub fn process_name(config: &NatsConfig) -> String {
    config.name.clone().unwrap_or_else(|| {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let host = if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        } else {
            "host".to_owned()
        };
        format!("{host}-{}", std::process::id())
    })
}

/// A connection to the bus with its JetStream context.
#[derive(Clone, Debug)]
pub struct Link {
    /// The connection (it reconnects by itself).
    pub client: async_nats::Client,
    /// JetStream over it.
    pub js: jetstream::Context,
    /// Names under the configured prefix.
    pub subjects: Subjects,
    /// This process's name on the bus.
    pub name: String,
}

/// How long connecting may take before it is an error.
const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

impl Link {
    /// Connects to `config.url`, waiting at most a few seconds for the first connection.
    pub async fn connect(config: &NatsConfig) -> Result<Link, BusError> {
        let name = process_name(config);
        let options = async_nats::ConnectOptions::new()
            .name(&name)
            .connection_timeout(CONNECT_PATIENCE);
        let connect = options.connect(config.url.as_str());
        let client = match tokio::time::timeout(CONNECT_PATIENCE, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(BusError(format!("cannot connect to {}: {e}", config.url))),
            Err(_) => {
                return Err(BusError(format!(
                    "no connection to {} within {CONNECT_PATIENCE:?}",
                    config.url
                )))
            }
        };
        let js = jetstream::new(client.clone());
        Ok(Link {
            client,
            js,
            subjects: Subjects::new(&config.prefix),
            name,
        })
    }

    /// The key-value bucket `bucket`, created if missing.
    pub async fn bucket(
        &self,
        bucket: &str,
        max_age: Duration,
    ) -> Result<jetstream::kv::Store, BusError> {
        if let Ok(store) = self.js.get_key_value(bucket).await {
            return Ok(store);
        }
        self.js
            .create_key_value(jetstream::kv::Config {
                bucket: bucket.to_owned(),
                history: 1,
                max_age,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError(format!("key-value bucket {bucket}: {e}")))
    }

    /// The JetStream stream of `venue`'s private `kind`, created if missing: orders and
    /// fills kept for a day, balances the last value of each asset.
    pub async fn private_stream(
        &self,
        venue: &str,
        kind: StreamKind,
    ) -> Result<jetstream::stream::Stream, BusError> {
        let name = self.subjects.private_stream(venue, kind);
        let subject = self.subjects.stream(venue, "", kind);
        let balances = kind == StreamKind::Balances;
        let config = jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![if balances {
                format!("{subject}.>")
            } else {
                subject
            }],
            max_age: Duration::from_secs(24 * 3600),
            max_messages_per_subject: if balances { 1 } else { -1 },
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        self.js
            .get_or_create_stream(config)
            .await
            .map_err(|e| BusError(format!("stream {name}: {e}")))
    }
}

impl Link {
    /// Leaves the bus: sends what is still buffered (waiting until `by`, and at most a
    /// second: a bus that is away loses it either way), then closes the connection, which
    /// ends the client's own tasks. False if the buffer was not sent in time.
    pub async fn leave(&self, by: tokio::time::Instant) -> bool {
        let flush_by = by.min(tokio::time::Instant::now() + Duration::from_secs(1));
        let flushed = tokio::time::timeout_at(flush_by, self.client.flush())
            .await
            .is_ok_and(|r| r.is_ok());
        let _ = tokio::time::timeout(Duration::from_millis(100), self.client.drain()).await;
        flushed
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_venue_symbol_and_kind() {
        let s = Subjects::new("mkt");
        assert_eq!(
            s.stream("gate", "BTC/USDT", StreamKind::BookTicker),
            "mkt.md.gate.BTC-USDT.book_ticker"
        );
        assert_eq!(
            s.stream("gate", "", StreamKind::Orders),
            "mkt.private.gate.orders"
        );
        assert_eq!(
            s.private_stream("gate", StreamKind::Fills),
            "mkt_gate_fills"
        );
        assert_eq!(symbol_token("A.B/C D"), "A_B-C_D");
    }

    #[test]
    fn keys_the_bucket_cannot_hold_are_hex() {
        assert_eq!(kv_key("arb-12_a"), "arb-12_a");
        assert_eq!(kv_key("a.b"), "x612e62");
        assert_eq!(kv_key(""), "x");
    }
}
