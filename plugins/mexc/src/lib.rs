//! mexc venue plugin (work in progress).
