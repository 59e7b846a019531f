//! REST tags of the plugin's own, kept apart from the tags the host hands to
//! [`Venue::place_order`](crate::Venue::place_order) and
//! [`Venue::cancel_order`](crate::Venue::cancel_order).

use crate::PLUGIN_TAG_BIT;

/// Bits of a plugin tag that hold the purpose code.
const PURPOSE_SHIFT: u32 = 56;
const SEQ_MASK: u64 = (1 << PURPOSE_SHIFT) - 1;

/// Allocates REST tags for requests the plugin makes itself.
///
/// The host's tags have the top bit ([`PLUGIN_TAG_BIT`]) clear; a plugin tag has it set, a
/// 7-bit purpose code of the plugin's choosing below it (what the request is for: a book
/// snapshot, a lookup) and a 56-bit counter. [`Tags::decode`] tells a response's tag apart.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::{TagOf, Tags};
///
/// const SNAPSHOT: u8 = 1;
/// let mut tags = Tags::default();
/// let tag = tags.next(SNAPSHOT);
/// assert_eq!(Tags::decode(tag), TagOf::Own { purpose: SNAPSHOT, seq: 1 });
/// assert_eq!(Tags::decode(42), TagOf::Host(42));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tags {
    last: u64,
}

/// What a response's tag is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagOf {
    /// One of the plugin's own, from [`Tags::next`].
    Own {
        /// The purpose code given to [`Tags::next`].
        purpose: u8,
        /// Its place in the allocation order, from 1.
        seq: u64,
    },
    /// A tag the host chose (an order placed or cancelled through the host).
    Host(u64),
}

impl Tags {
    /// The largest purpose code; larger ones are cut to their low 7 bits.
    pub const PURPOSE_MAX: u8 = 0x7F;

    /// A new tag for a request with `purpose` (0..=[`Tags::PURPOSE_MAX`]).
    pub fn next(&mut self, purpose: u8) -> u64 {
        // The counter wraps after 2^56 requests, past any request still in flight.
        self.last = (self.last + 1) & SEQ_MASK;
        if self.last == 0 {
            self.last = 1;
        }
        PLUGIN_TAG_BIT | (u64::from(purpose & Self::PURPOSE_MAX) << PURPOSE_SHIFT) | self.last
    }

    /// Whose tag `tag` is, and for plugin tags the purpose and counter.
    pub fn decode(tag: u64) -> TagOf {
        if tag & PLUGIN_TAG_BIT == 0 {
            return TagOf::Host(tag);
        }
        TagOf::Own {
            purpose: ((tag >> PURPOSE_SHIFT) as u8) & Self::PURPOSE_MAX,
            seq: tag & SEQ_MASK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_tags_carry_purpose_and_count_and_never_look_like_the_hosts() {
        let mut tags = Tags::default();
        let a = tags.next(3);
        let b = tags.next(Tags::PURPOSE_MAX);
        let c = tags.next(0xFF);
        assert!(a & PLUGIN_TAG_BIT != 0 && b & PLUGIN_TAG_BIT != 0);
        assert_eq!(Tags::decode(a), TagOf::Own { purpose: 3, seq: 1 });
        assert_eq!(
            Tags::decode(b),
            TagOf::Own {
                purpose: 127,
                seq: 2
            }
        );
        assert_eq!(
            Tags::decode(c),
            TagOf::Own {
                purpose: 127,
                seq: 3
            }
        );
        assert_eq!(Tags::decode(1), TagOf::Host(1));
        assert_eq!(
            Tags::decode(PLUGIN_TAG_BIT - 1),
            TagOf::Host(PLUGIN_TAG_BIT - 1)
        );
    }

    #[test]
    fn the_counter_wraps_past_zero() {
        let mut tags = Tags { last: SEQ_MASK };
        assert_eq!(
            Tags::decode(tags.next(1)),
            TagOf::Own { purpose: 1, seq: 1 }
        );
    }
}
