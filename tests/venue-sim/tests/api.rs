//! Compile-time and small checks of the public API: handles are `Send + Sync`, symbols parse in
//! every venue spelling, and only loopback addresses are served.

use venue_sim::{Faults, SimConfig, SimError, SimHandle, Simulator, Stats, Symbol, Venue};

fn is_send_sync<T: Send + Sync>() {}

#[test]
fn public_handles_are_send_and_sync() {
    is_send_sync::<SimHandle>();
    is_send_sync::<Faults>();
    is_send_sync::<Stats>();
    is_send_sync::<SimConfig>();
}

#[test]
fn symbols_parse_in_every_spelling() {
    for s in ["BTC/USDT", "btc_usdt", "BTC-USDT", "BTCUSDT"] {
        let sym = Symbol::parse(s).unwrap();
        assert_eq!(
            (sym.gate(), sym.mexc()),
            ("BTC_USDT".to_owned(), "BTCUSDT".to_owned()),
            "{s}"
        );
    }
    assert_eq!(Symbol::parse("ETHBTC").unwrap().gate(), "ETH_BTC");
    assert!(Symbol::parse("USDT").is_none());
    assert!(Symbol::parse("/USDT").is_none());
}

#[tokio::test]
async fn only_loopback_is_served() {
    let err = Simulator::start(SimConfig::new(Venue::Gateio), "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::NotLoopback { .. }), "{err}");
    let mut cfg = SimConfig::new(Venue::Mexc);
    cfg.symbols.clear();
    let err = Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::NoSymbols));
    let sim = Simulator::start(SimConfig::new(Venue::Mexc), "[::1]:0".parse().unwrap()).await;
    // IPv6 loopback may be unavailable in some sandboxes; when it binds, it must serve.
    if let Ok(sim) = sim {
        assert!(sim.ws_url().starts_with("ws://[::1]:"));
        sim.shutdown().await;
    }
}
