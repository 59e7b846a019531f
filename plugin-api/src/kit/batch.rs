//! Splitting a topic list into frames under a venue's per-message limits.
//!
//! The host hands [`Venue::subscribe`](crate::Venue::subscribe) every topic of a connection
//! at once; a venue that takes at most so many topics or bytes per message needs them
//! spread over several frames. The host paces the frames by the connection's
//! `max_outbound_per_sec`.

use crate::{OutFrame, PluginError};

/// A venue's limits for one message (0: no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// At most this many topics per frame.
    pub max_topics: usize,
    /// At most this many bytes per frame.
    pub max_bytes: usize,
}

/// Renders `items` into as few frames as the limits allow, in order, each from one
/// contiguous chunk by `render`.
///
/// Frames are filled greedily; a frame's size is assumed to grow with its chunk. An item
/// whose frame alone is over `max_bytes` is an error naming its index.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::batch::{frames, Limits};
/// use plugin_api::OutFrame;
///
/// let topics = ["a", "b", "c", "d", "e"];
/// let limits = Limits { max_topics: 2, max_bytes: 0 };
/// let out = frames(&topics, limits, |chunk| OutFrame::text(chunk.join(",")))?;
/// let texts: Vec<&[u8]> = out.iter().map(|f| f.data.as_slice()).collect();
/// assert_eq!(texts, [b"a,b".as_slice(), b"c,d", b"e"]);
/// # Ok::<(), plugin_api::PluginError>(())
/// ```
pub fn frames<T>(
    items: &[T],
    limits: Limits,
    mut render: impl FnMut(&[T]) -> OutFrame,
) -> Result<Vec<OutFrame>, PluginError> {
    let max_topics = match limits.max_topics {
        0 => items.len().max(1),
        n => n,
    };
    let fits = |f: &OutFrame| limits.max_bytes == 0 || f.data.len() <= limits.max_bytes;
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut count = max_topics.min(items.len() - start);
        let mut frame = render(&items[start..start + count]);
        if !fits(&frame) {
            // The largest count that fits, by bisection: `lo` fits (or is 0), `hi` does not.
            let (mut lo, mut hi) = (0, count);
            let mut best = None;
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let f = render(&items[start..start + mid]);
                if fits(&f) {
                    lo = mid;
                    best = Some(f);
                } else {
                    hi = mid;
                }
            }
            if lo == 0 {
                let f = render(&items[start..start + 1]);
                if !fits(&f) {
                    return Err(PluginError::unsupported(format!(
                        "topic {start} alone makes a frame of {} bytes, over the venue's {}",
                        f.data.len(),
                        limits.max_bytes
                    )));
                }
                lo = 1;
                best = Some(f);
            }
            count = lo;
            frame = match best {
                Some(f) => f,
                None => render(&items[start..start + count]),
            };
        }
        out.push(frame);
        start += count;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: &[OutFrame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| String::from_utf8(f.data.to_vec()).unwrap())
            .collect()
    }

    fn join(chunk: &[&str]) -> OutFrame {
        OutFrame::text(format!("[{}]", chunk.join(",")))
    }

    #[test]
    fn no_limits_is_one_frame_and_nothing_is_no_frame() {
        let out = frames(&["a", "b"], Limits::default(), join).unwrap();
        assert_eq!(texts(&out), ["[a,b]"]);
        assert!(frames::<&str>(&[], Limits::default(), join)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn byte_limit_fills_each_frame_as_far_as_it_fits() {
        let items = ["aaa", "bb", "c", "dddd", "e"];
        let limits = Limits {
            max_topics: 0,
            max_bytes: 8,
        };
        let out = frames(&items, limits, join).unwrap();
        assert_eq!(texts(&out), ["[aaa,bb]", "[c,dddd]", "[e]"]);
        assert!(out.iter().all(|f| f.data.len() <= 8));
    }

    #[test]
    fn both_limits_apply() {
        let items = ["a", "b", "c", "d", "e"];
        let limits = Limits {
            max_topics: 2,
            max_bytes: 4,
        };
        assert_eq!(
            texts(&frames(&items, limits, join).unwrap()),
            ["[a]", "[b]", "[c]", "[d]", "[e]"]
        );
    }

    #[test]
    fn a_topic_too_big_alone_is_an_error() {
        let limits = Limits {
            max_topics: 0,
            max_bytes: 4,
        };
        let e = frames(&["a", "toolong"], limits, join).unwrap_err();
        assert!(e.message.contains("topic 1 alone"), "{}", e.message);
    }
}
