//! Seeded mutations of received frames: byte-level damage for every frame, number and
//! structure damage for text and JSON frames.
//!
//! The generator is a hand-written SplitMix64 so a seed printed by a failure reproduces the
//! same mutations on any machine and with any version of any dependency.

use plugin_api::FrameKind;
use serde_json::Value;

/// Frames up to this long are truncated at every position.
pub(crate) const SHORT_FRAME: usize = 64;

/// SplitMix64: tiny, fast, and fixed forever.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One damaged frame and what was done to it.
#[derive(Debug, Clone)]
pub(crate) struct Mutation {
    pub(crate) what: String,
    pub(crate) kind: FrameKind,
    pub(crate) data: Vec<u8>,
}

const NUMBERS: [&str; 10] = [
    "99999999999999999999999999999999999999",
    "-1",
    "-99999999999999999999",
    "18446744073709551616",
    "1e999",
    "NaN",
    "0x1f",
    "1.2.3",
    "",
    "\"\"",
];

/// The mutations of one frame: all truncations of a short frame and the empty frame, then
/// `budget` seeded ones.
pub(crate) fn mutations(
    kind: FrameKind,
    data: &[u8],
    rng: &mut Rng,
    budget: usize,
) -> Vec<Mutation> {
    let mut out = vec![Mutation {
        what: "empty frame".into(),
        kind,
        data: Vec::new(),
    }];
    if data.len() <= SHORT_FRAME {
        for at in 1..data.len() {
            out.push(truncate(kind, data, at));
        }
    }
    let json = match kind {
        FrameKind::Text => serde_json::from_slice::<Value>(data).ok(),
        FrameKind::Binary => None,
    };
    for _ in 0..budget {
        let pick = rng.below(if json.is_some() { 9 } else { 6 });
        let m = match pick {
            0 if !data.is_empty() => truncate(kind, data, rng.below(data.len())),
            1 if !data.is_empty() => flip(kind, data, rng),
            2 if !data.is_empty() => delete(kind, data, rng),
            3 if !data.is_empty() => duplicate(kind, data, rng),
            4 => random_bytes(kind, rng),
            5 => numbers(kind, data, rng).unwrap_or_else(|| random_bytes(kind, rng)),
            6..=8 => json
                .as_ref()
                .and_then(|j| json_damage(j, pick, rng))
                .unwrap_or_else(|| random_bytes(kind, rng)),
            _ => random_bytes(kind, rng),
        };
        out.push(m);
    }
    out
}

fn truncate(kind: FrameKind, data: &[u8], at: usize) -> Mutation {
    Mutation {
        what: format!("truncated to {at} of {} bytes", data.len()),
        kind,
        data: data[..at].to_vec(),
    }
}

fn flip(kind: FrameKind, data: &[u8], rng: &mut Rng) -> Mutation {
    let at = rng.below(data.len());
    let mask = (rng.below(255) + 1) as u8;
    let mut d = data.to_vec();
    d[at] ^= mask;
    Mutation {
        what: format!("byte {at} flipped {:#04x} → {:#04x}", data[at], d[at]),
        kind,
        data: d,
    }
}

fn delete(kind: FrameKind, data: &[u8], rng: &mut Rng) -> Mutation {
    let at = rng.below(data.len());
    let n = (rng.below(4) + 1).min(data.len() - at);
    let mut d = data.to_vec();
    d.drain(at..at + n);
    Mutation {
        what: format!("{n} bytes deleted at {at}"),
        kind,
        data: d,
    }
}

fn duplicate(kind: FrameKind, data: &[u8], rng: &mut Rng) -> Mutation {
    let at = rng.below(data.len());
    let n = (rng.below(8) + 1).min(data.len() - at);
    let mut d = data.to_vec();
    let copy: Vec<u8> = d[at..at + n].to_vec();
    d.splice(at..at, copy);
    Mutation {
        what: format!("{n} bytes duplicated at {at}"),
        kind,
        data: d,
    }
}

fn random_bytes(kind: FrameKind, rng: &mut Rng) -> Mutation {
    let n = rng.below(64) + 1;
    let data = (0..n).map(|_| rng.next() as u8).collect();
    Mutation {
        what: format!("{n} random bytes"),
        kind,
        data,
    }
}

/// Replaces one run of digits (with its sign and decimals) by a hostile number.
fn numbers(kind: FrameKind, data: &[u8], rng: &mut Rng) -> Option<Mutation> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i].is_ascii_digit() {
            let start = if i > 0 && data[i - 1] == b'-' {
                i - 1
            } else {
                i
            };
            while i < data.len() && (data[i].is_ascii_digit() || data[i] == b'.') {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return None;
    }
    let run = runs[rng.below(runs.len())].clone();
    let with = NUMBERS[rng.below(NUMBERS.len())];
    let mut d = data.to_vec();
    d.splice(run.clone(), with.bytes());
    Some(Mutation {
        what: format!("number at {} replaced with `{with}`", run.start),
        kind,
        data: d,
    })
}

/// Every path to a value inside `v` (object keys and array indexes).
fn paths(v: &Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(PathStep::Key(k.clone()));
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(PathStep::Index(i));
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn parent_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
            PathStep::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

fn show(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| match s {
            PathStep::Key(k) => format!(".{k}"),
            PathStep::Index(i) => format!("[{i}]"),
        })
        .collect()
}

/// Deletes a key (6), renames a key (7) or swaps a value's type (8).
fn json_damage(json: &Value, pick: usize, rng: &mut Rng) -> Option<Mutation> {
    let mut all = Vec::new();
    paths(json, &mut Vec::new(), &mut all);
    let keyed: Vec<&Vec<PathStep>> = all
        .iter()
        .filter(|p| pick == 8 || matches!(p.last(), Some(PathStep::Key(_))))
        .collect();
    if keyed.is_empty() {
        return None;
    }
    let path = keyed[rng.below(keyed.len())];
    let (last, parent) = path.split_last()?;
    let mut v = json.clone();
    let target = parent_mut(&mut v, parent)?;
    let what = match (pick, last) {
        (6, PathStep::Key(k)) => {
            target.as_object_mut()?.remove(k);
            format!("key {} deleted", show(path))
        }
        (7, PathStep::Key(k)) => {
            let m = target.as_object_mut()?;
            let value = m.remove(k)?;
            m.insert(format!("{k}_"), value);
            format!("key {} renamed to `{k}_`", show(path))
        }
        _ => {
            let swaps = [
                Value::Null,
                Value::Bool(true),
                Value::from(-1),
                Value::from(u64::MAX),
                Value::from(1.5e300),
                Value::from("garbage"),
                Value::Array(Vec::new()),
                Value::Object(serde_json::Map::new()),
            ];
            let with = swaps[rng.below(swaps.len())].clone();
            let slot = match last {
                PathStep::Key(k) => target.get_mut(k.as_str())?,
                PathStep::Index(i) => target.get_mut(*i)?,
            };
            let what = format!("value at {} replaced with {with}", show(path));
            *slot = with;
            what
        }
    };
    Some(Mutation {
        what,
        kind: FrameKind::Text,
        data: v.to_string().into_bytes(),
    })
}

/// The frame as a reader wants it in a failure message: text if it is UTF-8, else hex.
pub(crate) fn printable(kind: FrameKind, data: &[u8]) -> String {
    match (kind, std::str::from_utf8(data)) {
        (FrameKind::Text, Ok(text)) => format!("text {text:?}"),
        _ => format!("hex {}", hex::encode(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let frame = br#"{"a":{"b":[1,"2.5"]},"c":-3}"#;
        let run = |seed| {
            mutations(FrameKind::Text, frame, &mut Rng::new(seed), 50)
                .into_iter()
                .map(|m| (m.what, m.data))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn short_frames_are_cut_everywhere_and_json_is_damaged_structurally() {
        let frame = br#"{"a":{"b":[1,"2.5"]},"c":-3}"#;
        let all = mutations(FrameKind::Text, frame, &mut Rng::new(1), 300);
        let cuts = all
            .iter()
            .filter(|m| m.what.starts_with("truncated"))
            .count();
        assert!(cuts >= frame.len() - 1);
        for want in [
            "deleted",
            "renamed",
            "replaced with",
            "number at",
            "flipped",
        ] {
            assert!(all.iter().any(|m| m.what.contains(want)), "no `{want}`");
        }
        assert!(all.iter().any(|m| m.data.is_empty()));
    }
}
