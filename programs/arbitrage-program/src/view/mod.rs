//! What the program shows while it runs, rendered from one [`Snapshot`] built each refresh.
//!
//! - [`snapshot`]: the data of a refresh and the counts it is built from;
//! - [`text`]: how its values read;
//! - [`plain`]: the plain summary, and the trades and shutdown report printed at the end.

pub(crate) mod plain;
pub(crate) mod snapshot;
pub(crate) mod text;

#[cfg(test)]
mod testutil;

pub(crate) use snapshot::Tally;
