//! The rate limiter in paused time: sliding window, per-instrument keys, venue penalties, and
//! waiters released with `Err(Stopped)` the moment the limiter stops.

use std::sync::Arc;
use std::time::Duration;

use host::stop::Resource;
use host::transport::{RateLimiter, Stopped};
use plugin_api::RateLimitDecl;
use tokio::time::Instant;

fn decl(capacity: u32, window_ms: u64, per_instrument: bool) -> RateLimitDecl {
    RateLimitDecl {
        name: "orders".into(),
        capacity,
        window_ms,
        per_instrument,
    }
}

/// Lets spawned tasks run until they block (paused, current-thread runtime).
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn waits_for_the_sliding_window() {
    let limiter = RateLimiter::new(&decl(2, 1_000, false));
    let t0 = Instant::now();
    limiter.acquire("BTC_USDT", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    limiter.acquire("ETH_USDT", 1).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(400),
        "two fit in the window"
    );
    limiter.acquire("BTC_USDT", 1).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(1_000),
        "third waits for the first to expire"
    );
    limiter.acquire("BTC_USDT", 1).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(1_400),
        "fourth for the second"
    );
    limiter.acquire("BTC_USDT", 2).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(2_400),
        "weight 2 needs both slots free"
    );
    let stats = limiter.stats();
    assert_eq!((stats.acquired, stats.waited, stats.waiters), (5, 3, 0));
}

#[tokio::test(start_paused = true)]
async fn per_instrument_budgets_are_independent() {
    let limiter = RateLimiter::new(&decl(1, 60_000, true));
    let t0 = Instant::now();
    limiter.acquire("BTC_USDT", 1).await.unwrap();
    limiter.acquire("ETH_USDT", 1).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::ZERO);
    limiter.acquire("BTC_USDT", 1).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn penalty_delays_every_acquire() {
    let limiter = RateLimiter::new(&decl(100, 1_000, false));
    let t0 = Instant::now();
    limiter.penalize(Duration::from_secs(5));
    limiter.penalize(Duration::from_secs(1)); // a shorter penalty does not shorten it
    let a = tokio::spawn({
        let l = limiter.clone();
        async move { l.acquire("k", 1).await.map(|()| Instant::now()) }
    });
    limiter.acquire("k", 1).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    assert_eq!(a.await.unwrap().unwrap() - t0, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn stop_releases_blocked_waiters_at_once() {
    let limiter = RateLimiter::new(&decl(1, 60_000, false));
    limiter.acquire("", 1).await.unwrap();
    let results = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for _ in 0..3 {
        let l = limiter.clone();
        let results = results.clone();
        waiters.push(tokio::spawn(async move {
            let r = l.acquire("", 1).await;
            results.lock().await.push(r);
        }));
    }
    settle().await;
    assert_eq!(limiter.stats().waiters, 3);
    assert_eq!(limiter.counts().tasks, 3, "waiters are reported as tasks");

    let t0 = Instant::now();
    limiter.stop().await.unwrap();
    assert_eq!(t0.elapsed(), Duration::ZERO, "no virtual time passed");
    for w in waiters {
        w.await.unwrap();
    }
    assert_eq!(*results.lock().await, vec![Err(Stopped); 3]);
    assert_eq!(limiter.counts().tasks, 0);
    let stats = limiter.stats();
    assert_eq!((stats.rejected_stopped, stats.waiters), (3, 0));
    assert_eq!(
        limiter.acquire("", 1).await,
        Err(Stopped),
        "refused after stop"
    );
}

#[tokio::test]
async fn stop_releases_waiters_in_real_time() {
    let limiter = RateLimiter::new(&decl(1, 60_000, false));
    limiter.acquire("", 1).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let l = limiter.clone();
    let waiter = tokio::spawn(async move {
        let _ = tx.send(());
        l.acquire("", 1).await
    });
    rx.recv().await.unwrap();
    assert_eq!(
        limiter.stats().waiters,
        1,
        "the waiter is blocked (current-thread runtime)"
    );
    limiter.stop().await.unwrap();
    // Released by the stop, not by the window: that would have been `Ok` a minute later.
    // (How soon is shown in virtual time by `stop_releases_blocked_waiters_at_once`.)
    assert_eq!(waiter.await.unwrap(), Err(Stopped));
    assert_eq!(limiter.counts().tasks, 0);
}
