//! Property tests: random bytes and mutated real frames (bit flips, truncations, splices)
//! never panic, directly and through the `Guarded` wrapper the exported plugin uses.

use abi_stable::std_types::{RResult, RSlice};
use mexc_plugin::config::Settings;
use mexc_plugin::Mexc;
use plugin_api::{
    ConnId, ErrorKind, FrameKind, Guarded, InFrame, StreamKind, Topic, Venue, VenueAdapter,
};
use proptest::prelude::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/venues/mexc/samples/pb"
);
const NAMES: [&str; 6] = [
    "A_bookTicker_100ms",
    "A_deals_100ms",
    "A_kline_Min1",
    "A_limitDepth_5",
    "B_deals_100ms",
    "C_bookTicker_10ms",
];

fn frames() -> Vec<Vec<u8>> {
    NAMES
        .iter()
        .map(|n| std::fs::read(format!("{FIXTURES}/{n}.bin")).unwrap())
        .collect()
}

fn venue() -> Mexc {
    let mut v = Mexc::new(
        Settings::parse(r#"{"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}]}"#)
            .unwrap(),
    )
    .unwrap();
    let topic = Topic {
        kind: StreamKind::Depth,
        instrument: plugin_api::Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
    };
    v.subscribe(ConnId(1), &[topic], 0).unwrap();
    v
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(f, a, b)| Mutation::Splice(f, a, b)),
    ]
}

fn mutate(frames: &[Vec<u8>], base: usize, muts: &[Mutation]) -> Vec<u8> {
    let mut data = frames[base % frames.len()].clone();
    for m in muts {
        let len = data.len().max(1);
        match *m {
            Mutation::Flip(i, bit) => {
                if !data.is_empty() {
                    data[i % len] ^= 1 << bit;
                }
            }
            Mutation::Truncate(i) => data.truncate(i % len),
            Mutation::Insert(i, b) => data.insert(i % (data.len() + 1), b),
            Mutation::Remove(i) => {
                if !data.is_empty() {
                    data.remove(i % len);
                }
            }
            Mutation::Splice(f, a, b) => {
                let other = &frames[f % frames.len()];
                let (a, b) = (a % (other.len() + 1), b % (other.len() + 1));
                let (a, b) = (a.min(b), a.max(b));
                let at = a % (data.len() + 1);
                data.splice(at..at, other[a..b].iter().copied());
            }
        }
    }
    data
}

fn check_guarded(guarded: &mut Guarded<Mexc>, kind: FrameKind, data: &[u8]) {
    let frame = InFrame {
        kind,
        data: RSlice::from_slice(data),
    };
    match VenueAdapter::on_frame(guarded, ConnId(1), frame, 1) {
        RResult::ROk(out) => assert!(out.events.len() + out.rejects.len() <= data.len() + 1),
        RResult::RErr(e) => assert_ne!(e.kind, ErrorKind::Panic, "{}", e.message),
    }
}

proptest! {
    // `PROPTEST_CASES=n` runs a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1_000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_real_frames_never_panic(base in 0usize..6, muts in prop::collection::vec(mutation(), 1..6)) {
        let frames = frames();
        let data = mutate(&frames, base, &muts);
        let mut v = venue();
        for kind in [FrameKind::Binary, FrameKind::Text] {
            let out = v.on_frame(ConnId(1), InFrame { kind, data: RSlice::from_slice(&data) }, 1).unwrap();
            // Every frame yields events, or a reject, or (acks, buffered depth) nothing at all.
            prop_assert!(out.events.len() < 1_000);
        }
        let mut guarded = Guarded::new(venue());
        check_guarded(&mut guarded, FrameKind::Binary, &data);
        check_guarded(&mut guarded, FrameKind::Text, &data);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut guarded = Guarded::new(venue());
        check_guarded(&mut guarded, FrameKind::Binary, &data);
        check_guarded(&mut guarded, FrameKind::Text, &data);
    }

    #[test]
    fn random_rest_bodies_never_panic(body in ".{0,200}", status in prop_oneof![Just(200u16), Just(400), Just(500), any::<u16>()]) {
        let mut v = Mexc::new(Settings::parse(r#"{"credentials":{"api_key":"k","api_secret":"s"}}"#).unwrap()).unwrap();
        let out = v.start(1).unwrap();
        for action in out.actions.iter() {
            if let plugin_api::Action::Rest(r) = action {
                let response = plugin_api::RestResponse { tag: r.tag, status, body: body.as_str().into(), error: "".into() };
                // An answer refusing the credentials is a configuration error; nothing panics.
                if let Err(e) = v.on_rest_response(response, 2) {
                    prop_assert_eq!(e.kind, plugin_api::ErrorKind::Config);
                }
            }
        }
    }
}

#[test]
fn every_truncation_of_every_real_frame_is_safe() {
    let mut v = venue();
    for frame in frames() {
        for end in 0..frame.len() {
            let out = v
                .on_frame(
                    ConnId(1),
                    InFrame {
                        kind: FrameKind::Binary,
                        data: RSlice::from_slice(&frame[..end]),
                    },
                    1,
                )
                .unwrap();
            // Each prefix is either still a usable push or reported: never silently lost.
            assert!(
                !out.events.is_empty() || !out.rejects.is_empty(),
                "prefix {end}"
            );
        }
    }
}
