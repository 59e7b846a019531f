//! Property tests: mutated documented frames (bit flips, truncations, insertions, splices)
//! and random bytes never panic, directly and through the `Guarded` wrapper the exported
//! plugin uses; every truncation of every frame is reported, never silently lost.

mod common;

use abi_stable::std_types::{RResult, RSlice};
use binance_plugin::Binance;
use common::*;
use plugin_api::{ConnId, ErrorKind, FrameKind, Guarded, InFrame, VenueAdapter};
use proptest::prelude::*;

fn frames() -> Vec<Vec<u8>> {
    ["ws_market.jsonl", "ws_control.jsonl"]
        .iter()
        .flat_map(|f| lines(f))
        .map(|l| l.msg.into_bytes())
        .collect()
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
            Mutation::Flip(i, bit) if !data.is_empty() => data[i % len] ^= 1 << bit,
            Mutation::Truncate(i) => data.truncate(i % len),
            Mutation::Insert(i, b) => data.insert(i % (data.len() + 1), b),
            Mutation::Remove(i) if !data.is_empty() => {
                data.remove(i % len);
            }
            Mutation::Splice(f, a, b) => {
                let other = &frames[f % frames.len()];
                let (a, b) = (a % (other.len() + 1), b % (other.len() + 1));
                let (a, b) = (a.min(b), a.max(b));
                let at = a % (data.len() + 1);
                data.splice(at..at, other[a..b].iter().copied());
            }
            _ => {}
        }
    }
    data
}

fn check_guarded(guarded: &mut Guarded<Binance>, kind: FrameKind, data: &[u8]) {
    let frame = InFrame {
        kind,
        data: RSlice::from_slice(data),
    };
    match VenueAdapter::on_frame(guarded, ConnId(1), frame, 1) {
        RResult::ROk(out) => assert!(out.events.len() + out.rejects.len() <= 1),
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
    fn mutated_documented_frames_never_panic(base in 0usize..64, muts in prop::collection::vec(mutation(), 1..6)) {
        let data = mutate(&frames(), base, &muts);
        let mut guarded = Guarded::new(venue());
        check_guarded(&mut guarded, FrameKind::Text, &data);
        check_guarded(&mut guarded, FrameKind::Binary, &data);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut guarded = Guarded::new(venue());
        check_guarded(&mut guarded, FrameKind::Text, &data);
    }
}

#[test]
fn every_truncation_of_every_frame_is_reported() {
    let mut v = venue();
    for frame in frames() {
        for end in 0..frame.len() {
            let out = feed(&mut v, &frame[..end]);
            assert!(
                out.events.is_empty(),
                "prefix {end} of a frame made an event"
            );
            assert_eq!(out.rejects.len(), 1, "prefix {end}: {out:?}");
        }
    }
}
