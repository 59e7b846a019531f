//! Random bytes and mutated real frames never panic, directly or through the panic guard.

mod common;

use common::*;
use plugin_api::{ConnId, ErrorKind, FrameKind, Guarded, InFrame, RestResponse, VenueAdapter};
use proptest::prelude::*;

fn corpus() -> &'static [String] {
    static CORPUS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for f in [
        "ws_book_ticker.jsonl",
        "ws_trades.jsonl",
        "ws_control.jsonl",
        "ws_obu.jsonl",
    ] {
        v.extend(jsonl(f).iter().map(|l| l["msg"].to_string()));
    }
    v.extend(
        jsonl("ws_order_book_update.jsonl")
            .iter()
            .take(20)
            .map(|l| l["msg"].to_string()),
    );
    v.extend(
        jsonl("samples/doc_ws_examples.jsonl")
            .iter()
            .filter_map(|l| l.get("json").map(|j| j.to_string())),
    );
    v
}

fn feed_both(data: &[u8]) {
    let mut direct = venue();
    let _ = common::frame_bytes(&mut direct, data);
    let mut guarded = Guarded::new(venue());
    for kind in [FrameKind::Text, FrameKind::Binary] {
        let r = guarded.on_frame(
            ConnId(1),
            InFrame {
                kind,
                data: data.into(),
            },
            1,
        );
        if let abi_stable::std_types::RResult::RErr(e) = r {
            assert_ne!(e.kind, ErrorKind::Panic, "{e}");
        }
    }
    // Also as a REST answer to an unknown and to a real snapshot tag.
    let text = String::from_utf8_lossy(data).into_owned();
    let r = guarded.on_rest_response(
        RestResponse {
            tag: 1,
            status: 200,
            body: text.into(),
            error: "".into(),
        },
        1,
    );
    if let abi_stable::std_types::RResult::RErr(e) = r {
        assert_ne!(e.kind, ErrorKind::Panic, "{e}");
    }
}

proptest! {
    // `PROPTEST_CASES=n` runs a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(384),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        feed_both(&data);
    }

    #[test]
    fn mutated_frames_never_panic(
        idx in 0usize..1000,
        ops in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let c = corpus();
        let base = &c[idx % c.len()];
        feed_both(&common::mutate(base.as_bytes(), &ops));
    }
}

#[test]
fn mutated_depth_stream_keeps_book_consistent() {
    // Sequence-breaking mutations of a real stream: the plugin rejects or resyncs, never panics.
    let lines = jsonl("ws_order_book_update.jsonl");
    let mut v = venue();
    for (i, l) in lines.iter().enumerate() {
        let mut text = l["msg"].to_string();
        if i % 7 == 3 {
            text = text
                .replace("\"U\":", "\"U\":1")
                .replace("\"u\":", "\"u\":2");
        }
        if i % 11 == 5 {
            text.truncate(text.len() / 2);
        }
        let out = frame(&mut v, ConnId(1), &text, 1);
        for r in rest_requests(&out) {
            let snap = respond(
                &mut v,
                r.tag,
                200,
                r#"{"id":1,"current":1,"update":1,"asks":[["1","1"]],"bids":[]}"#,
            );
            let _ = snap;
        }
    }
}
