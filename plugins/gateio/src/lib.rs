//! gateio venue plugin (work in progress).
