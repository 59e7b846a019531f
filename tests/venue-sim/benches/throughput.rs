//! Sustained websocket throughput of each venue's synthetic generator, received over loopback
//! by a bare tokio-tungstenite client in the same process.
//!
//! `cargo bench -p venue-sim --bench throughput` (env: `BENCH_SECS`, default 3; `BENCH_RATES`,
//! default `100000,500000,2000000` target updates/s; `BENCH_VENUES`, `gateio`, `mexc` or `binance`).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use venue_sim::{SimConfig, Simulator, Source, Symbol, Venue};

const SYMBOLS: usize = 10;

async fn run(venue: Venue, rate: u32, secs: f64) -> (f64, f64, u64) {
    let mut cfg = SimConfig::new(venue);
    cfg.source = Source::Synthetic;
    cfg.rate = rate;
    cfg.symbols = (0..SYMBOLS)
        .map(|i| Symbol::parse(&format!("S{i}/USDT")).unwrap())
        .collect();
    let sim = Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url())
        .await
        .unwrap();
    match venue {
        Venue::Gateio => {
            for i in 0..SYMBOLS {
                let req = json!({"time": 0, "channel": "spot.order_book_update", "event": "subscribe", "payload": [format!("S{i}_USDT"), "100ms"]});
                ws.send(Message::text(req.to_string())).await.unwrap();
            }
        }
        Venue::Mexc => {
            let params: Vec<String> = (0..SYMBOLS)
                .map(|i| format!("spot@public.aggre.depth.v3.api.pb@10ms@S{i}USDT"))
                .collect();
            ws.send(Message::text(
                json!({"method": "SUBSCRIPTION", "params": params}).to_string(),
            ))
            .await
            .unwrap();
        }
        Venue::Binance => {
            // Book tickers: the stream that follows every book change.
            let params: Vec<String> = (0..SYMBOLS)
                .map(|i| format!("s{i}usdt@bookTicker"))
                .collect();
            ws.send(Message::text(
                json!({"method": "SUBSCRIBE", "params": params, "id": 1}).to_string(),
            ))
            .await
            .unwrap();
        }
    }
    // Warm up for a quarter of a second, then count.
    let warm = Instant::now() + Duration::from_millis(250);
    while Instant::now() < warm {
        ws.next().await.unwrap().unwrap();
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let (mut n, mut bytes) = (0u64, 0u64);
    while Instant::now() < end {
        match ws.next().await {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                n += 1;
                bytes += m.len() as u64;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    let el = start.elapsed().as_secs_f64();
    let lagged = sim.stats().snapshot().lagged;
    drop(ws);
    sim.shutdown().await;
    (n as f64 / el, bytes as f64 / el / 1e6, lagged)
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rates: Vec<u32> = std::env::var("BENCH_RATES")
        .ok()
        .map(|s| s.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 500_000, 2_000_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "venue   target/s   received msg/s   MB/s   lagged-frames  ({SYMBOLS} symbols, {secs} s)"
    );
    let venues: Vec<Venue> = match std::env::var("BENCH_VENUES").as_deref() {
        Ok("gateio") => vec![Venue::Gateio],
        Ok("mexc") => vec![Venue::Mexc],
        Ok("binance") => vec![Venue::Binance],
        _ => vec![Venue::Gateio, Venue::Mexc],
    };
    for venue in venues {
        for &rate in &rates {
            let (mps, mbps, lagged) = rt.block_on(run(venue, rate, secs));
            println!(
                "{:<7} {:>9} {:>16.0} {:>6.1} {:>14}",
                format!("{venue:?}"),
                rate,
                mps,
                mbps,
                lagged
            );
        }
    }
}
