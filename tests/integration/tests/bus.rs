//! The NATS bus in one process, against a real `nats-server`: a host publishes a venue and
//! answers for it; a program whose configuration sets `nats.remote` gets that venue from
//! the bus behind the same exchange API: book tickers, its instrument, order entry (a
//! retried client order id is not placed twice), order updates through JetStream and
//! health. Two hosts configured for one venue run it once; when the holder shuts down the
//! other takes the venue over at once, and the program's streams see a gap, then data.
//! Every wait is for an event, bounded by `PATIENCE`.

mod ops_support;

use host::config::{HostConfig, Secrets};
use host::exchange::{Exchange, Update, VenueHandle};
use host::ops::Operator;
use integration_tests::nats::NatsServer;
use integration_tests::{runtime, simulator};
use ops_support::{Setup, PATIENCE};
use plugin_api::{GapReason, NewOrder, Num, OrderStatus, OrderType, Side};
use venue_sim::{SimHandle, Venue};

/// `fut`, failing the test after [`PATIENCE`] with `what`.
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .unwrap_or_else(|_| panic!("waited {PATIENCE:?} for {what}"))
}

/// A host's configuration: Gate.io against `sim`, published on the bus at `url` under the
/// name `name`.
fn host_config(s: &Setup, sim: &SimHandle, url: &str, name: &str) -> (HostConfig, Secrets) {
    s.install("gateio_plugin", "gateio.so");
    let secrets = s.dir.join("secrets.toml");
    std::fs::write(
        &secrets,
        "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
    )
    .unwrap();
    s.write_config(&format!(
        "secrets_file = \"{}\"\n{}",
        secrets.display(),
        s.config_text(
            false,
            &format!(
                "[nats]\nenabled = true\nurl = \"{url}\"\nname = \"{name}\"\n\
             [venues.gate]\nplugin = \"gateio\"\nsymbols = [\"BTC/USDT\"]\n\
             channels = [\"book_ticker\", \"orders\", \"fills\", \"balances\"]\n\
             endpoints = {{ ws_url = \"{ws}\", rest_url = \"http://{rest}\" }}\n",
                ws = sim.ws_url(),
                rest = sim.local_addr(),
            ),
        )
    ));
    HostConfig::load_with_secrets(Some(&s.config)).unwrap()
}

/// A program's configuration: the venue `gate`, served over the bus at `url`.
fn program_config(s: &Setup, url: &str) -> HostConfig {
    s.write_config(&s.config_text(
        false,
        &format!(
            "[nats]\nenabled = true\nremote = true\nurl = \"{url}\"\nconsumer = \"bus-test\"\n\
             [venues.gate]\nplugin = \"gateio\"\n"
        ),
    ));
    HostConfig::load(Some(&s.config)).unwrap()
}

fn order(instrument: plugin_api::Instrument, client_id: &str) -> NewOrder {
    NewOrder {
        instrument,
        side: Side::Buy,
        order_type: OrderType::Limit,
        // Far below the market: it rests.
        price: Num::parse("1000").unwrap(),
        qty: Num::parse("0.001").unwrap(),
        quote_qty: Num::ZERO,
        client_id: client_id.into(),
    }
}

/// Orders placed on the simulator so far.
fn orders_placed(sim: &SimHandle) -> u64 {
    sim.stats()
        .snapshot()
        .rest_by_route
        .iter()
        .filter(|(route, _)| route.starts_with("POST ") && route.contains("order"))
        .map(|(_, n)| n)
        .sum()
}

/// The next order update on `orders` for `client_id`.
async fn order_update(
    orders: &mut host::exchange::Orders,
    client_id: &str,
) -> plugin_api::OrderUpdate {
    loop {
        match orders.recv().await {
            Some(Update::Item(o)) if o.client_id.as_str() == client_id => return o,
            Some(_) => continue,
            None => panic!("the orders stream ended"),
        }
    }
}

/// Waits for the next book ticker on `venue`, skipping gaps.
async fn next_ticker(tickers: &mut host::exchange::BookTickers) -> plugin_api::BookTicker {
    loop {
        match tickers.recv().await {
            Some(Update::Item(t)) => return t,
            Some(Update::Gap(_)) => continue,
            None => panic!("the book tickers ended"),
        }
    }
}

async fn health_state(venue: &VenueHandle) -> host::State {
    venue.health().await.unwrap().state
}

#[test]
fn a_remote_program_streams_and_trades_through_a_host_on_the_bus() {
    let nats = NatsServer::start();
    let rt = runtime();
    let sim = rt.block_on(simulator(Venue::Gateio, &["BTC/USDT"], 100));
    let (config, secrets) = host_config(&Setup::new("bus-host"), &sim, &nats.url, "host-a");
    let program = program_config(&Setup::new("bus-program"), &nats.url);
    rt.block_on(async {
        let op = Operator::start(config, secrets, None).await.unwrap();
        let exchange = within(
            "the remote exchange",
            Exchange::start(program, Secrets::default()),
        )
        .await
        .unwrap();
        let gate = exchange.venue("gate").unwrap();
        let mut balances = gate.balances().await.unwrap();
        let mut orders = gate.orders().await.unwrap();
        let mut tickers = gate.book_tickers("BTC/USDT").await.unwrap();
        // The account's balances as the host last published them, from the start.
        let balance = within("a balance over the bus", balances.recv()).await;
        assert!(matches!(balance, Some(Update::Item(_))), "{balance:?}");
        let ticker = within("a book ticker over the bus", next_ticker(&mut tickers)).await;
        assert_eq!(ticker.instrument.symbol.as_str(), "BTC/USDT");
        assert!(ticker.bid_price < ticker.ask_price, "{ticker:?}");

        let instrument = gate.instrument("BTC/USDT").await.unwrap();
        assert_eq!(instrument.venue_symbol.as_str(), "BTC_USDT");
        let placed = gate.place(order(instrument, "bus-1")).await.unwrap();
        assert!(placed > 0, "a first request is placed and tagged");
        // The same client id again (a retry whose answer was lost) is not placed twice.
        assert_eq!(gate.place(order(instrument, "bus-1")).await.unwrap(), 0);
        let open = within("the order's update", order_update(&mut orders, "bus-1")).await;
        assert_eq!(open.status, OrderStatus::Open, "{open:?}");
        assert_eq!(orders_placed(&sim), 1, "one order reached the venue");

        assert_eq!(health_state(&gate).await, host::State::Running);

        let report = exchange.shutdown("test done").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        assert_eq!(report.after.subscriptions, 0, "{report:#?}");
        let report = op.shutdown("test done").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        sim.shutdown().await;
    });
}

#[test]
fn a_venue_no_host_serves_is_named_when_the_program_starts() {
    let nats = NatsServer::start();
    let s = Setup::new("bus-ghost");
    s.write_config(&s.config_text(
        false,
        &format!(
            "[nats]\nenabled = true\nremote = true\nurl = \"{}\"\nrequest_patience_ms = 300\n\
             [venues.ghost]\nplugin = \"gateio\"\n",
            nats.url
        ),
    ));
    let config = HostConfig::load(Some(&s.config)).unwrap();
    runtime().block_on(async {
        let error = within(
            "the refused start",
            Exchange::start(config, Secrets::default()),
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("venue `ghost` did not start"), "{text}");
        assert!(text.contains("no host answers for the venue"), "{text}");
    });
}

#[test]
fn a_host_that_cannot_renew_its_lease_stops_the_venue() {
    let nats = NatsServer::start();
    let rt = runtime();
    let sim = rt.block_on(simulator(Venue::Gateio, &["BTC/USDT"], 100));
    let (config, secrets) = host_config(&Setup::new("bus-lost"), &sim, &nats.url, "host-a");
    rt.block_on(async {
        let op = Operator::start(config, secrets, None).await.unwrap();
        let host = op.host().clone();
        within(
            "the venue running",
            host.state_reached("gate", host::State::Running),
        )
        .await;
        // The bus goes away: the holder cannot renew, and must not run the venue on.
        drop(nats);
        within(
            "the venue stopped",
            host.state_reached("gate", host::State::Stopped),
        )
        .await;
        let status = op.status().await;
        let bus = status.bus.unwrap();
        assert!(!bus.leases[0].held, "{bus:#?}");
        let report = op.shutdown("test done").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        sim.shutdown().await;
    });
}

#[test]
fn a_host_that_cannot_reach_its_bus_says_where_it_looked() {
    let s = Setup::new("bus-unreachable");
    let sim_free_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", sim_free_port.local_addr().unwrap());
    drop(sim_free_port);
    s.write_config(&s.config_text(false, &format!("[nats]\nenabled = true\nurl = \"{url}\"\n")));
    let config = HostConfig::load(Some(&s.config)).unwrap();
    runtime().block_on(async {
        let error = within(
            "the refused start",
            Operator::start(config, Secrets::default(), None),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains(&url), "{error}");
    });
}

#[test]
fn a_standby_host_takes_the_venue_when_its_holder_shuts_down() {
    let nats = NatsServer::start();
    let rt = runtime();
    let sim = rt.block_on(simulator(Venue::Gateio, &["BTC/USDT"], 100));
    let (a, secrets_a) = host_config(&Setup::new("bus-a"), &sim, &nats.url, "host-a");
    let (b, secrets_b) = host_config(&Setup::new("bus-b"), &sim, &nats.url, "host-b");
    let program = program_config(&Setup::new("bus-program2"), &nats.url);
    rt.block_on(async {
        let host_a = Operator::start(a, secrets_a, None).await.unwrap();
        let exchange = within(
            "the remote exchange",
            Exchange::start(program, Secrets::default()),
        )
        .await
        .unwrap();
        let gate = exchange.venue("gate").unwrap();
        let mut tickers = gate.book_tickers("BTC/USDT").await.unwrap();
        within("a book ticker from host a", next_ticker(&mut tickers)).await;
        let host_b = Operator::start(b, secrets_b, None).await.unwrap();
        let standby = host_b.status().await;
        let view = standby.venues.iter().find(|v| v.name == "gate").unwrap();
        assert_eq!(view.state, "standby", "{standby:#?}");
        let bus = standby.bus.as_ref().unwrap();
        assert_eq!(bus.connection, "connected");
        assert_eq!(bus.leases[0].holder.as_deref(), Some("host-a"), "{bus:#?}");

        let report = host_a.shutdown("moving the venue").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        assert_eq!(host_a.live_tasks(), 0, "keepers and services ended");
        // Given up, not left to expire: the key is gone or host b's already.
        let leases = host_b.status().await.bus.unwrap().leases;
        assert_ne!(leases[0].holder.as_deref(), Some("host-a"), "{leases:#?}");
        // The holder's end marker is a gap; then host b's data comes.
        let gap = within("the gap of the move", async {
            loop {
                match tickers.recv().await {
                    Some(Update::Gap(g)) => return g,
                    Some(Update::Item(_)) => continue,
                    None => panic!("the book tickers ended"),
                }
            }
        })
        .await;
        assert_eq!(gap.reason, GapReason::Reload);
        within("a book ticker from host b", next_ticker(&mut tickers)).await;
        let status = host_b.status().await;
        let bus = status.bus.as_ref().unwrap();
        assert!(bus.leases[0].held, "{bus:#?}");
        assert!(bus.publishing["gate"].published > 0, "{bus:#?}");

        let report = exchange.shutdown("test done").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        let report = host_b.shutdown("test done").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        sim.shutdown().await;
    });
}
