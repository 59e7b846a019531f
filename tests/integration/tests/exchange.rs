//! The exchange context (`host::exchange`) end to end: a configuration naming a Gate.io
//! and a MEXC venue against their simulators, loaded the way a program loads it. Typed
//! book tickers and synced order books come from both venues (a skipped sequence number
//! unsyncs a book until the venue's next snapshot); orders placed through the exchange
//! come back as order updates, fills (carrying the venue's taker fee in the asset
//! received) and balances; a scope whose program returns an error or panics shuts
//! everything down with no task left; an exchange dropped without a shutdown warns,
//! naming its venues, and leaves no task either; a venue that cannot start is named with
//! the reason. A running exchange takes a new configuration: a venue whose settings
//! changed restarts with its streams carried over (a gap, not an end), refused changes
//! touch nothing, and an order whose answer the old build lost is settled by the new one.
//! Every wait is for an event, bounded by `PATIENCE`.

mod ops_support;

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use host::config::HostConfig;
use host::exchange::{
    EventStream, Exchange, ExchangeError, ExchangeHandle, OrderBookStream, ScopeError, Update,
};
use host::ShutdownReport;
use integration_tests::{runtime, runtime_tasks_settle, simulator};
use ops_support::{Setup, PATIENCE};
use plugin_api::{
    CancelOrder, Decimal, GapReason, Instrument, NewOrder, Num, OrderStatus, OrderType, Side,
    StreamKind,
};
use venue_sim::{Fees, SimHandle, Venue};

/// Both simulators (BTC/USDT, credentials `test-key`/`test-secret`) on a runtime of their
/// own, so the exchange's runtime holds only the exchange's tasks.
struct Sims {
    runtime: tokio::runtime::Runtime,
    gate: SimHandle,
    mexc: SimHandle,
}

impl Sims {
    fn start() -> Sims {
        let runtime = runtime();
        let (gate, mexc) = runtime.block_on(async {
            (
                simulator(Venue::Gateio, &["BTC/USDT"], 100).await,
                simulator(Venue::Mexc, &["BTC/USDT"], 100).await,
            )
        });
        Sims {
            runtime,
            gate,
            mexc,
        }
    }

    /// `[venues.gate]` and `[venues.mexc]` against the simulators.
    fn venues(&self) -> String {
        let rest = |sim: &SimHandle| format!("http://{}", sim.local_addr());
        format!(
            "[venues.gate]\nplugin = \"gateio\"\nendpoints = {{ ws_url = \"{gate_ws}\", private_ws_url = \"{gate_ws}\", rest_url = \"{gate_rest}\" }}\n\
             [venues.mexc]\nplugin = \"mexc\"\nendpoints = {{ ws_url = \"{mexc_ws}\", rest_url = \"{mexc_rest}\" }}\n",
            gate_ws = self.gate.ws_url(),
            gate_rest = rest(&self.gate),
            mexc_ws = self.mexc.ws_url(),
            mexc_rest = rest(&self.mexc),
        )
    }

    fn shutdown(self) {
        self.runtime.block_on(async {
            self.gate.shutdown().await;
            self.mexc.shutdown().await;
        });
    }
}

/// Installs both plugin files and writes the configuration (a secrets file with both
/// venues' credentials; the plugin folder watched if `watch`; no control socket or
/// metrics endpoint) with `venues`; reads it back as a program would.
fn config(s: &Setup, watch: bool, venues: &str) -> (HostConfig, host::config::Secrets) {
    s.install("gateio_plugin", "gateio.so");
    s.install("mexc_plugin", "mexc.so");
    let secrets = s.dir.join("secrets.toml");
    std::fs::write(
        &secrets,
        "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n\
         [venues.mexc]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
    )
    .unwrap();
    s.write_config(&format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\nsecrets_file = \"{}\"\n\
         [watch]\nplugins = {watch}\nconfig = false\ndebounce_ms = 50\n\
         [control]\nenabled = false\n[metrics]\nenabled = false\n{venues}",
        s.plugins.display(),
        s.shadow.display(),
        secrets.display()
    ));
    HostConfig::load_with_secrets(Some(&s.config)).unwrap()
}

/// `fut`, failing the test after [`PATIENCE`] with `what`.
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .unwrap_or_else(|_| panic!("waited {PATIENCE:?} for {what}"))
}

/// A clean shutdown: nothing forced or left, no host task alive, no image mapped.
fn assert_clean(report: &ShutdownReport) {
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert_eq!(report.after.subscriptions, 0, "{report:#?}");
    assert!(report.images_still_mapped.is_empty(), "{report:#?}");
}

/// Every log line of the test process (the subscriber is global: a thread-local one can
/// miss lines while other tests' threads register the same call sites).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn start() -> Captured {
        static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .with_writer(move || writer.clone())
                .init();
            captured
        })
        .clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The next value of `stream` for which `want` holds, skipping others and gaps.
async fn next<T: std::fmt::Debug>(stream: &mut EventStream<T>, want: impl Fn(&T) -> bool) -> T {
    let what = format!(
        "{} {} on {}",
        stream.kind().name(),
        stream.symbol(),
        stream.venue()
    );
    within(&what, async {
        loop {
            match stream.recv().await {
                Some(Update::Item(value)) if want(&value) => return value,
                Some(_) => continue,
                None => panic!("{what}: the stream ended"),
            }
        }
    })
    .await
}

/// Waits for `book` to be synced and checks it is a sane book.
async fn synced(book: &mut OrderBookStream) {
    let what = format!("the {} book on {} to sync", book.symbol(), book.venue());
    assert!(
        within(&what, book.synced()).await,
        "{what}: the stream ended"
    );
    let b = book.book();
    let (bid, ask) = (b.best_bid().unwrap(), b.best_ask().unwrap());
    assert!(bid.price < ask.price, "{what}: crossed {bid:?} {ask:?}");
    assert!(
        b.depth().0 > 1 && b.depth().1 > 1,
        "{what}: {:?}",
        b.depth()
    );
    assert_eq!(b.instrument().symbol.as_str(), "BTC/USDT");
    assert!(b.stamp().received_ns > 0);
}

#[test]
fn both_venues_give_typed_book_tickers_and_synced_books_with_their_gaps() {
    let sims = Sims::start();
    let s = Setup::new("exchange-market-data");
    let (config, secrets) = config(&s, false, &sims.venues());
    runtime().block_on(async {
        let exchange = Exchange::start(config, secrets).await.unwrap();
        let ex = exchange.handle();
        assert_eq!(ex.venue_names().collect::<Vec<_>>(), ["gate", "mexc"]);
        let mut books = Vec::new();
        for venue in ex.venues() {
            let mut tickers = venue.book_tickers("BTC/USDT").await.unwrap();
            let t = next(&mut tickers, |_| true).await;
            assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT", "{t:?}");
            assert!(t.bid_price < t.ask_price && !t.bid_qty.is_zero() && !t.ask_qty.is_zero());
            assert!(t.stamp.received_ns > 0, "{t:?}");
            let mut trades = venue.trades("BTC/USDT").await.unwrap();
            next(&mut trades, |t| !t.qty.is_zero()).await;

            let mut book = venue.order_book("BTC/USDT").await.unwrap();
            synced(&mut book).await;
            // One book per venue and symbol: a second would wait for the next snapshot.
            let second = venue.order_book("BTC/USDT").await.unwrap_err();
            assert!(
                matches!(&second, ExchangeError::BookOpen { venue: v, symbol } if v == venue.name() && symbol == "BTC/USDT"),
                "{second}"
            );
            let health = venue.health().await.unwrap();
            assert!(health.is_up(), "{health:?}");
            assert!(health.stats.connects > 0, "{health:?}");
            books.push(book);
        }

        // A skipped sequence number: the gap, an empty unsynced book, then a snapshot.
        sims.gate.faults().skip_sequence(1);
        let gate_book = &mut books[0];
        let gap = within("the gap on gate's book", async {
            loop {
                match gate_book.recv().await {
                    Some(Update::Gap(gap)) => return gap,
                    Some(Update::Item(_)) => continue,
                    None => panic!("gate's book ended"),
                }
            }
        })
        .await;
        assert_eq!(
            (gap.reason, gap.kind),
            (GapReason::SequenceGap, StreamKind::Depth)
        );
        let book = gate_book.book();
        assert!(!book.is_synced() && book.best_bid().is_none() && book.best_ask().is_none());
        assert_eq!(book.gap(), Some(&gap));
        synced(gate_book).await;

        // Errors name the venue and what was asked for.
        let unknown = ex.venue("binance").unwrap_err().to_string();
        assert!(unknown.contains("`binance`") && unknown.contains("gate, mexc"), "{unknown}");
        let gate = ex.venue("gate").unwrap();
        let refused = gate.book_tickers("BTCUSDT").await.unwrap_err();
        assert_eq!(refused.venue(), Some("gate"));
        assert!(refused.to_string().contains("`BTCUSDT`"), "{refused}");
        let no_market = gate.instrument("BTCUSDT").await.unwrap_err();
        assert!(matches!(&no_market, ExchangeError::Instrument { venue, symbol, .. } if venue == "gate" && symbol == "BTCUSDT"), "{no_market}");

        let report = exchange.shutdown("test").await;
        assert_clean(&report);
        // The streams end and the handles say why.
        for book in &mut books {
            within("the end of a book", async { while book.recv().await.is_some() {} }).await;
            assert!(!book.is_synced());
        }
        assert!(ex.is_closed());
        assert!(matches!(gate.health().await, Err(ExchangeError::Closed { venue }) if venue == "gate"));
    });
    sims.shutdown();
}

/// Waits, without polling, until the simulator shows subscriptions to every one of
/// `channels`: the plugins report no subscription acknowledgment, and an order must not
/// fill before its private streams are live.
async fn private_subscriptions(sim: &SimHandle, channels: &[&str]) {
    within(&format!("private subscriptions {channels:?}"), async {
        sim.stats()
            .wait_until(|snap| {
                channels.iter().all(|want| {
                    snap.subscriptions
                        .values()
                        .flatten()
                        .any(|c| c.starts_with(want))
                })
            })
            .await
    })
    .await;
}

#[test]
fn orders_placed_through_the_exchange_come_back_as_updates_fills_and_balances() {
    let sims = Sims::start();
    let s = Setup::new("exchange-orders");
    let (config, secrets) = config(&s, false, &sims.venues());
    runtime().block_on(async {
        let exchange = Exchange::start(config, secrets).await.unwrap();
        let cases = [
            (
                &sims.gate,
                Venue::Gateio,
                "gate",
                "BTC_USDT",
                ["spot.orders", "spot.usertrades", "spot.balances"],
            ),
            (
                &sims.mexc,
                Venue::Mexc,
                "mexc",
                "BTCUSDT",
                [
                    "spot@private.orders",
                    "spot@private.deals",
                    "spot@private.account",
                ],
            ),
        ];
        for (sim, sim_venue, name, venue_symbol, channels) in cases {
            let venue = exchange.venue(name).unwrap();
            let mut orders = venue.orders().await.unwrap();
            let mut fills = venue.fills().await.unwrap();
            let mut balances = venue.balances().await.unwrap();
            private_subscriptions(sim, &channels).await;
            let instrument = venue.instrument("BTC/USDT").await.unwrap();
            assert_eq!(
                instrument,
                Instrument::new("BTC/USDT", venue_symbol).unwrap()
            );
            let order = |side: Side, price: &str, client_id: &str| NewOrder {
                instrument,
                side,
                order_type: OrderType::Limit,
                price: Num::parse(price).unwrap(),
                qty: Num::parse("0.01").unwrap(),
                quote_qty: Num::ZERO,
                client_id: client_id.into(),
            };
            let of = |id: &'static str, status| {
                move |o: &plugin_api::OrderUpdate| o.client_id.as_str() == id && o.status == status
            };

            venue
                .place(order(Side::Buy, "1", "ex-rest-1"))
                .await
                .unwrap();
            let open = next(&mut orders, of("ex-rest-1", OrderStatus::Open)).await;
            assert!(open.stamp.received_ns > 0, "{open:?}");
            venue
                .cancel(CancelOrder {
                    instrument,
                    order_id: open.order_id.clone(),
                })
                .await
                .unwrap();
            next(&mut orders, of("ex-rest-1", OrderStatus::Cancelled)).await;

            venue
                .place(order(Side::Buy, "1000000", "ex-fill-1"))
                .await
                .unwrap();
            let filled = next(&mut orders, of("ex-fill-1", OrderStatus::Filled)).await;
            let fill = next(&mut fills, |f| f.order_id == filled.order_id).await;
            assert_eq!(
                (fill.side, fill.qty),
                (Side::Buy, Num::parse("0.01").unwrap())
            );
            // The simulator's taker fee arrives with the fill: its rate of the 0.01 BTC
            // received, in BTC (10 bps on Gate.io, 5 on MEXC).
            let rate = Fees::of(sim_venue).taker_bps / Decimal::from(10_000);
            let qty = Decimal::new(1, 2);
            assert_eq!(
                (fill.fee.to_decimal(), fill.fee_asset.as_str()),
                (qty * rate, "BTC"),
                "{fill:?}"
            );
            let hundred = Num::parse("100").unwrap();
            let btc = next(&mut balances, |b| {
                b.asset.as_str() == "BTC" && b.available > hundred
            })
            .await;
            assert_eq!(
                btc.available.to_decimal(),
                Decimal::from(100) + qty - qty * rate
            );

            // A sell pays in the quote asset: the rate of what the fill brought in.
            venue
                .place(order(Side::Sell, "1", "ex-sell-1"))
                .await
                .unwrap();
            let sold = next(&mut orders, of("ex-sell-1", OrderStatus::Filled)).await;
            let fill = next(&mut fills, |f| f.order_id == sold.order_id).await;
            assert_eq!(fill.side, Side::Sell);
            assert_eq!(
                (fill.fee.to_decimal(), fill.fee_asset.as_str()),
                (qty * fill.price.to_decimal() * rate, "USDT"),
                "{fill:?}"
            );
        }
        assert_clean(&exchange.shutdown("test").await);
    });
    sims.shutdown();
}

#[test]
fn a_scope_whose_program_fails_shuts_down_and_returns_the_error_with_the_report() {
    let sims = Sims::start();
    let s = Setup::new("exchange-scope-error");
    let (config, secrets) = config(&s, true, &sims.venues());
    runtime().block_on(async {
        let outcome = Exchange::scope(config, secrets, |ex: ExchangeHandle| async move {
            let mut tickers = ex.venue("mexc")?.book_tickers("BTC/USDT").await?;
            next(&mut tickers, |_| true).await;
            Err::<(), Box<dyn std::error::Error + Send + Sync>>("the strategy gave up".into())
        })
        .await;
        let Err(ScopeError::Program { error, report }) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(error.to_string(), "the strategy gave up");
        assert_eq!(report.reason, "the program failed");
        assert!(!report.stop.resources.is_empty(), "{report:#?}");
        assert_clean(&report);
        // Nothing of the exchange is left on its runtime.
        within("the runtime to settle", runtime_tasks_settle()).await;
    });
    sims.shutdown();
}

#[test]
fn a_scope_whose_program_panics_shuts_down_before_the_panic_goes_on() {
    let sims = Sims::start();
    let s = Setup::new("exchange-scope-panic");
    let (config, secrets) = config(&s, true, &sims.venues());
    let log = Captured::start();
    runtime().block_on(async {
        let outcome = AssertUnwindSafe(Exchange::scope(config, secrets, |ex| async move {
            let mut book = ex.venue("gate")?.order_book("BTC/USDT").await?;
            synced(&mut book).await;
            if book.is_synced() {
                panic!("strategy bug");
            }
            Ok::<_, ExchangeError>(())
        }))
        .catch_unwind()
        .await;
        let payload = outcome.expect_err("the panic goes on after the shutdown");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"strategy bug"));
        within("the runtime to settle", runtime_tasks_settle()).await;
    });
    let log = log.text();
    let line = log
        .lines()
        .find(|l| l.contains("the program panicked; every venue was shut down"))
        .unwrap_or_else(|| panic!("no shutdown line after the panic:\n{log}"));
    assert!(
        line.contains("ERROR")
            && line.contains("tasks_left=[]")
            && line.contains("resource_tasks_after=0"),
        "{line}"
    );
    sims.shutdown();
}

#[test]
fn an_exchange_dropped_without_shutdown_warns_and_leaves_no_task() {
    let sims = Sims::start();
    let s = Setup::new("exchange-drop");
    // The folder watcher runs: its task holds the operator, which a drop must still stop.
    let (config, secrets) = config(&s, true, &sims.venues());
    let log = Captured::start();
    runtime().block_on(async {
        let exchange = Exchange::start(config, secrets).await.unwrap();
        let venue = exchange.venue("gate").unwrap();
        let mut tickers = venue.book_tickers("BTC/USDT").await.unwrap();
        next(&mut tickers, |_| true).await;
        drop(exchange);
        // Everything stops: the stream ends, the handle is closed, no task is left.
        within("the end of the stream", async {
            while tickers.recv().await.is_some() {}
        })
        .await;
        assert!(matches!(
            venue.trades("BTC/USDT").await,
            Err(ExchangeError::Closed { .. })
        ));
        drop(tickers);
        within("the runtime to settle", runtime_tasks_settle()).await;
    });
    let log = log.text();
    let warning = log
        .lines()
        .find(|l| l.contains("exchange dropped without shutdown"))
        .unwrap_or_else(|| panic!("no warning:\n{log}"));
    assert!(
        warning.contains("WARN") && warning.contains("\"gate\"") && warning.contains("\"mexc\""),
        "{warning}"
    );
    sims.shutdown();
}

#[test]
fn a_venue_that_cannot_start_is_named_with_the_reason_and_nothing_is_left() {
    let s = Setup::new("exchange-not-started");
    let unused =
        "endpoints = { ws_url = \"ws://127.0.0.1:9/\", rest_url = \"http://127.0.0.1:9\" }";
    let cases = [
        (
            format!("[venues.ghost]\nplugin = \"nosuch\"\n{unused}\n"),
            "ghost",
            "provides plugin `nosuch`",
        ),
        (
            format!(
                "[venues.gate]\nplugin = \"gateio\"\n{unused}\nsettings = {{ depth_limit = 0 }}\n"
            ),
            "gate",
            "depth_limit",
        ),
    ];
    for (venues, name, reason) in cases {
        let (config, secrets) = config(&s, false, &venues);
        runtime().block_on(async {
            let error = Exchange::start(config, secrets).await.unwrap_err();
            assert!(
                matches!(&error, ExchangeError::NotStarted { venue, reason: r } if venue == name && r.contains(reason)),
                "{error}"
            );
            assert!(error.to_string().starts_with(&format!("venue `{name}` did not start: ")), "{error}");
            within("the runtime to settle", runtime_tasks_settle()).await;
        });
    }
}

#[test]
fn a_venue_reconfigured_while_running_restarts_with_its_streams_carried_over() {
    let sims = Sims::start();
    let s = Setup::new("exchange-reconfigure");
    let venues = sims.venues();
    let with_gate_settings = |settings: &str| {
        venues.replace(
            "[venues.mexc]",
            &format!("settings = {{ {settings} }}\n[venues.mexc]"),
        )
    };
    let (first, secrets) = config(&s, false, &venues);
    runtime().block_on(async {
        let exchange = Exchange::start(first, secrets).await.unwrap();
        let (gate, mexc) = (
            exchange.venue("gate").unwrap(),
            exchange.venue("mexc").unwrap(),
        );
        let mut gate_tickers = gate.book_tickers("BTC/USDT").await.unwrap();
        next(&mut gate_tickers, |_| true).await;
        let starts = |h: host::exchange::VenueHealth| h.stats.starts;
        assert_eq!(starts(gate.health().await.unwrap()), 1);

        // Settings a plugin refuses: nothing is touched.
        let (refused, secrets) = config(&s, false, &with_gate_settings("depth_limit = 0"));
        let error = exchange.reconfigure(refused, secrets).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ExchangeError::Reconfigure { .. }), "{text}");
        assert!(
            text.contains("`venues.gate.settings`") && text.contains("depth_limit"),
            "{text}"
        );
        // A venue added or removed: refused by the exchange, nothing touched.
        let (fewer, secrets) = config(&s, false, &venues[..venues.find("[venues.mexc]").unwrap()]);
        let error = exchange
            .reconfigure(fewer, secrets)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("venue `mexc` would stop"), "{error}");
        assert_eq!(starts(gate.health().await.unwrap()), 1);

        // New settings for gate: it restarts, its stream gets a gap and goes on; mexc is
        // not touched.
        let (changed, secrets) = config(&s, false, &with_gate_settings("depth_limit = 50"));
        let outcome = exchange.reconfigure(changed, secrets).await.unwrap();
        let host::ops::ConfigOutcome::Applied { diff, .. } = &outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(
            (&diff.to_change, &diff.unchanged),
            (&vec!["gate".to_owned()], &vec!["mexc".to_owned()])
        );
        let gap = within("the gap of gate's restart", async {
            loop {
                match gate_tickers.recv().await {
                    Some(Update::Gap(gap)) => return gap,
                    Some(Update::Item(_)) => continue,
                    None => panic!("gate's book tickers ended"),
                }
            }
        })
        .await;
        assert_eq!(gap.reason, GapReason::Reload);
        next(&mut gate_tickers, |_| true).await;
        assert_eq!(starts(gate.health().await.unwrap()), 2);
        assert_eq!(starts(mexc.health().await.unwrap()), 1);
        let report = exchange.shutdown("test").await;
        assert_clean(&report);
    });
    sims.shutdown();
}

/// Order lookups (`GET` of an order route) a simulator has answered so far.
fn order_lookups(s: &venue_sim::StatsSnapshot) -> u64 {
    s.rest_by_route
        .iter()
        .filter(|(route, _)| route.starts_with("GET ") && route.contains("order"))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn an_order_whose_answer_was_lost_before_a_restart_is_settled_by_the_next_build() {
    let sims = Sims::start();
    let s = Setup::new("exchange-recover");
    let venues = sims.venues();
    let (first, secrets) = config(&s, false, &venues);
    runtime().block_on(async {
        let exchange = Exchange::start(first, secrets).await.unwrap();
        let cases = [
            (&sims.gate, "gate", "depth_limit = 50", "spot.orders"),
            (
                &sims.mexc,
                "mexc",
                "recv_window_ms = 6000",
                "spot@private.orders",
            ),
        ];
        let mut settings = venues.clone();
        for (sim, name, setting, channel) in cases {
            let venue = exchange.venue(name).unwrap();
            let mut orders = venue.orders().await.unwrap();
            private_subscriptions(sim, &[channel]).await;
            let instrument = venue.instrument("BTC/USDT").await.unwrap();
            // Every REST request fails: the place is not served, its answer is lost, and
            // the lookups that follow fail too.
            sim.faults()
                .set_rest_fault(Some(venue_sim::RestFault::ServerError { status: 503 }));
            let looked_up = order_lookups(&sim.stats().snapshot());
            let client_id = format!("ex-lost-{name}");
            venue
                .place(NewOrder {
                    instrument,
                    side: Side::Buy,
                    order_type: OrderType::Limit,
                    price: Num::parse("1").unwrap(),
                    qty: Num::parse("0.01").unwrap(),
                    quote_qty: Num::ZERO,
                    client_id: client_id.as_str().into(),
                })
                .await
                .unwrap();
            within(
                "the first lookup of the lost order",
                sim.stats().wait_until(|s| order_lookups(s) > looked_up),
            )
            .await;

            // The build that placed it (and its lookups) goes: the venue restarts with new
            // settings. The next build looks the order up again and, once the venue
            // answers, reports what became of it: never placed.
            settings = settings.replacen(
                &format!("[venues.{name}]\n"),
                &format!("[venues.{name}]\nsettings = {{ {setting} }}\n"),
                1,
            );
            let (changed, secrets) = config(&s, false, &settings);
            exchange.reconfigure(changed, secrets).await.unwrap();
            let looked_up = order_lookups(&sim.stats().snapshot());
            within(
                "a lookup by the new build",
                sim.stats().wait_until(|s| order_lookups(s) > looked_up),
            )
            .await;
            sim.faults().set_rest_fault(None);
            let settled = next(&mut orders, |o| o.client_id.as_str() == client_id).await;
            assert_eq!(settled.status, OrderStatus::Rejected, "{settled:?}");
        }
        assert_clean(&exchange.shutdown("test").await);
    });
    sims.shutdown();
}
