//! Built-in plugins (`host::plugin::Builtin`): the Gate.io venue code linked into the test
//! binary and registered under `gateio` instead of loaded from its file. Against the
//! Gate.io simulator it streams book tickers and stops clean (no task, subscription or
//! connection left, nothing to unmap); a file claiming its id is refused and so is a second
//! built-in one; a panic in the linked code faults the instance, which restarts with a gap
//! for its consumers; and an exchange context runs it in place of a plugin file. Every wait
//! is for an event, bounded by `PATIENCE` against hangs.

mod ops_support;

use std::sync::atomic::{AtomicU64, Ordering};

use gateio_plugin::GateioVenue;
use host::exchange::{Exchange, Update};
use host::plugin::Builtin;
use host::{Host, HostError, HostOptions, RestartPolicy, ShutdownReport, StreamItem};
use integration_tests::{gate_simulator, plugin, runtime, runtime_tasks_settle, temp_dir};
use ops_support::{Setup, PATIENCE};
use plugin_api::{
    CancelOrder, ConnId, Event, GapReason, InFrame, Instrument, NewOrder, OutFrame, Output,
    PluginError, RestRequest, RestResponse, StreamKind, Topic, Venue, VenueConfig, VenueDescriptor,
};
use tokio_util::sync::CancellationToken;

/// The Gate.io plugin's code as a built-in plugin.
fn gate_builtin() -> Builtin {
    Builtin::new("gateio", "0.1.0", GateioVenue::from_config)
}

fn settings(sim: &venue_sim::SimHandle) -> String {
    serde_json::json!({
        "ws_url": sim.ws_url(),
        "rest_url": format!("http://{}", sim.local_addr()),
    })
    .to_string()
}

/// `fut`, failing the test after [`PATIENCE`] with `what`.
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .unwrap_or_else(|_| panic!("waited {PATIENCE:?} for {what}"))
}

/// A clean shutdown: nothing forced or left, nothing mapped, the built-in plugin removed.
fn assert_clean(report: &ShutdownReport) {
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert_eq!(report.after.subscriptions, 0, "{report:#?}");
    assert_eq!(report.after.connections, 0, "{report:#?}");
    assert!(report.images_still_mapped.is_empty(), "{report:#?}");
    assert!(report.stop.quarantined.is_empty(), "{report:#?}");
    let gate = report.unloaded.iter().find(|u| u.venue == "gateio");
    let gate = gate.unwrap_or_else(|| panic!("gateio not removed: {report:#?}"));
    assert!(gate.unmapped && gate.leaked.is_none(), "{gate:#?}");
    assert!(gate.file.as_os_str().is_empty(), "{gate:#?}");
}

#[test]
fn a_builtin_venue_streams_from_the_simulator_and_stops_clean() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(2_000));
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("builtin-streams")),
            ..HostOptions::default()
        })
        .unwrap();
        let info = host.add_builtin(gate_builtin()).await.unwrap();
        assert!(info.builtin && info.path.as_os_str().is_empty(), "{info:?}");
        let plugins = host.plugins().await;
        assert_eq!(plugins.len(), 1, "{plugins:?}");
        assert!(plugins[0].info.builtin && plugins[0].shadow.as_os_str().is_empty());

        // The id is taken: by a file, and by a second built-in plugin.
        let file = host
            .load_plugin(&plugin("gateio_plugin"))
            .await
            .unwrap_err();
        assert!(
            file.to_string()
                .contains("`gateio` is already served by a plugin built into the program"),
            "{file}"
        );
        let twice = host.add_builtin(gate_builtin()).await.unwrap_err();
        assert!(
            matches!(&twice, HostError::DuplicateBuiltin { venue, .. } if venue == "gateio"),
            "{twice}"
        );

        host.start_venue("gate", "gateio", &settings(&sim))
            .await
            .unwrap();
        let mut sub = host
            .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        let mut last_id = 0;
        for _ in 0..100 {
            match within("book tickers", sub.recv()).await {
                Some(StreamItem::Event(Event::BookTicker(t))) => {
                    assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT");
                    assert_eq!(t.instrument.venue_symbol.as_str(), "BTC_USDT");
                    assert!(t.update_id > last_id, "{t:?}");
                    assert!(t.stamp.received_ns > 0);
                    last_id = t.update_id;
                }
                other => panic!("expected a book ticker, got {other:?}"),
            }
        }
        let gate = host.instances().await;
        assert_eq!(gate[0].stats.starts, 1, "{gate:?}");
        assert!(gate[0].stats.frames_in >= 100, "{gate:?}");

        let report = host.shutdown("test").await;
        assert_clean(&report);
        // The consumer sees the end after what was queued.
        let end = within("the end of the stream", async {
            loop {
                match sub.recv().await {
                    Some(StreamItem::Event(_)) => continue,
                    other => return other,
                }
            }
        })
        .await;
        assert!(matches!(end, Some(StreamItem::End)), "{end:?}");
        drop(sub);
        runtime_tasks_settle().await;
    });
    sim_rt.block_on(sim.shutdown());
}

/// Book-ticker frames a [`Panicky`] build takes before it panics.
const PANIC_AFTER: u64 = 50;
/// Builds of [`Panicky`] made so far (one per start and restart).
static BUILDS: AtomicU64 = AtomicU64::new(0);

/// The Gate.io venue, panicking on its [`PANIC_AFTER`]-th frame in its first build only.
struct Panicky {
    gate: GateioVenue,
    frames: u64,
    first_build: bool,
}

fn panicky(config: &VenueConfig) -> Result<Panicky, PluginError> {
    Ok(Panicky {
        gate: GateioVenue::from_config(config)?,
        frames: 0,
        first_build: BUILDS.fetch_add(1, Ordering::SeqCst) == 0,
    })
}

impl Venue for Panicky {
    fn describe(&self) -> VenueDescriptor {
        self.gate.describe()
    }
    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        self.gate.resolve(symbol)
    }
    fn start(&mut self, now_ms: u64) -> Result<Output, PluginError> {
        self.gate.start(now_ms)
    }
    fn subscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        self.gate.subscribe(conn, topics, now_ms)
    }
    fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        self.gate.unsubscribe(conn, topics, now_ms)
    }
    fn heartbeat(&mut self, conn: ConnId, now_ms: u64) -> Result<Option<OutFrame>, PluginError> {
        self.gate.heartbeat(conn, now_ms)
    }
    fn on_connected(&mut self, conn: ConnId, name: &str) -> Result<Output, PluginError> {
        self.gate.on_connected(conn, name)
    }
    fn on_disconnected(&mut self, conn: ConnId) -> Result<Output, PluginError> {
        self.gate.on_disconnected(conn)
    }
    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        self.frames += 1;
        if self.first_build && self.frames == PANIC_AFTER {
            panic!("built-in panic on frame {PANIC_AFTER}");
        }
        self.gate.on_frame(conn, frame, received_ns)
    }
    fn sign(&self, request: RestRequest, now_ms: u64) -> Result<RestRequest, PluginError> {
        self.gate.sign(request, now_ms)
    }
    fn on_rest_response(
        &mut self,
        response: RestResponse,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        self.gate.on_rest_response(response, received_ns)
    }
    fn on_timer(&mut self, name: &str, now_ms: u64) -> Result<Output, PluginError> {
        self.gate.on_timer(name, now_ms)
    }
    fn place_order(&mut self, order: &NewOrder, tag: u64) -> Result<RestRequest, PluginError> {
        self.gate.place_order(order, tag)
    }
    fn cancel_order(&mut self, cancel: &CancelOrder, tag: u64) -> Result<RestRequest, PluginError> {
        self.gate.cancel_order(cancel, tag)
    }
    fn stop(&mut self, now_ms: u64) -> Result<Output, PluginError> {
        self.gate.stop(now_ms)
    }
}

#[test]
fn a_panic_in_builtin_code_faults_the_instance_which_restarts() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(2_000));
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("builtin-panic")),
            restart: RestartPolicy {
                initial_backoff: std::time::Duration::from_millis(1),
                ..RestartPolicy::default()
            },
            ..HostOptions::default()
        })
        .unwrap();
        host.add_builtin(Builtin::new("gateio", "0.1.0", panicky))
            .await
            .unwrap();
        host.start_venue("gate", "gateio", &settings(&sim))
            .await
            .unwrap();
        let mut sub = host
            .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        // Tickers, the restart's gap, tickers again from the second build.
        let (mut before, mut after, mut gap) = (0, 0, false);
        within("a restart and tickers after it", async {
            while after < 20 {
                match sub.recv().await {
                    Some(StreamItem::Event(Event::BookTicker(_))) if gap => after += 1,
                    Some(StreamItem::Event(Event::BookTicker(_))) => before += 1,
                    Some(StreamItem::Event(Event::Gap(g))) => {
                        assert_eq!(g.reason, GapReason::Reload, "{g:?}");
                        gap = true;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        })
        .await;
        assert!(
            before > 0 && before < PANIC_AFTER,
            "{before} tickers before"
        );
        let gate = host.instances().await;
        assert_eq!(gate[0].faults, 1, "{gate:?}");
        assert_eq!(gate[0].stats.starts, 2, "{gate:?}");
        let error = gate[0].stats.last_error.as_deref().unwrap_or_default();
        assert!(error.contains("built-in panic on frame"), "{error}");
        assert_eq!(BUILDS.load(Ordering::SeqCst), 2);

        drop(sub);
        assert_clean(&host.shutdown("test").await);
    });
    sim_rt.block_on(sim.shutdown());
}

#[test]
fn an_exchange_runs_a_builtin_venue_in_place_of_a_plugin_file() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(2_000));
    let s = Setup::new("builtin-exchange");
    // The plugin folder stays empty: only the built-in plugin serves `gateio`.
    s.write_config(&s.config_text(
        false,
        &integration_tests::venue_table("gate", "gateio", &sim, ""),
    ));
    let (config, secrets) = host::config::HostConfig::load_with_secrets(Some(&s.config)).unwrap();
    runtime().block_on(async {
        let exchange = within(
            "the exchange to start",
            Exchange::start_with(
                config,
                secrets,
                vec![gate_builtin()],
                &CancellationToken::new(),
            ),
        )
        .await
        .unwrap();
        let gate = exchange.venue("gate").unwrap();
        assert_eq!(gate.plugin(), "gateio");
        let mut tickers = gate.book_tickers("BTC/USDT").await.unwrap();
        for _ in 0..20 {
            match within("book tickers", tickers.recv()).await {
                Some(Update::Item(t)) => assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT"),
                other => panic!("expected a ticker, got {other:?}"),
            }
        }
        assert!(gate.health().await.unwrap().is_up());
        let report = exchange.shutdown("test").await;
        assert_clean(&report);
        within("the end of the stream", async {
            while tickers.recv().await.is_some() {}
        })
        .await;
    });
    sim_rt.block_on(sim.shutdown());
}
