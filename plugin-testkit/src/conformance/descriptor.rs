//! The descriptor check: what the host's resource graph and connection pools need from it.

use std::collections::BTreeMap;

use plugin_api::{ResourceKind, VenueDescriptor};

/// Everything wrong with `d`, one sentence each; empty when it is valid.
pub(crate) fn problems(d: &VenueDescriptor) -> Vec<String> {
    let mut out = Vec::new();
    let mut kinds: BTreeMap<&str, ResourceKind> = BTreeMap::new();
    for r in d.resources.iter() {
        if kinds.insert(r.name.as_str(), r.kind).is_some() {
            out.push(format!("resource `{}` is declared twice", r.name));
        }
    }
    let mut declared = |name: &str, kind: ResourceKind, what: &str| match kinds.get(name) {
        None => out.push(format!(
            "{what} `{name}` is not in `resources` (declare it as a {} resource)",
            kind.name()
        )),
        Some(k) if *k != kind => out.push(format!(
            "{what} `{name}` is in `resources` as a {}, not a {}",
            k.name(),
            kind.name()
        )),
        Some(_) => {}
    };
    for c in d.connections.iter() {
        declared(c.name.as_str(), ResourceKind::Connection, "connection");
    }
    if let Some(rest) = d.rest.as_ref().into_option() {
        declared(rest.name.as_str(), ResourceKind::RestClient, "REST client");
    }
    for l in d.rate_limits.iter() {
        declared(l.name.as_str(), ResourceKind::RateLimiter, "rate limiter");
    }
    for t in d.timers.iter() {
        declared(t.name.as_str(), ResourceKind::Timer, "timer");
    }
    for r in d.resources.iter() {
        for dep in r.depends_on.iter() {
            if !kinds.contains_key(dep.as_str()) {
                out.push(format!(
                    "resource `{}` depends on `{dep}`, which is not declared",
                    r.name
                ));
            }
        }
    }
    if let Some(cycle) = plugin_api::kit::find_cycle(&d.resources) {
        out.push(format!("dependency cycle: {}", cycle.join(" → ")));
    }
    // A kind in `streams` that no connection carries is fine: the host serves it from REST
    // answers and timers (`kit::Descriptor::streams_also`). A kind a connection carries but
    // `streams` leaves out is not: the host refuses every subscription to it.
    for c in d.connections.iter() {
        for kind in c.kinds.iter().filter(|k| !d.streams.contains(k)) {
            out.push(format!(
                "connection `{}` carries stream kind `{}`, which `streams` does not declare \
                 (the host refuses subscriptions to it)",
                c.name,
                kind.name()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::{ROption, RVec};
    use plugin_api::{
        ConnectionDecl, OpenMode, RateLimitDecl, ResourceDecl, StreamKind, TimerDecl,
    };

    use super::*;

    fn base() -> VenueDescriptor {
        VenueDescriptor {
            venue: "v".into(),
            version: "1".into(),
            streams: vec![StreamKind::Trades].into(),
            trading: false,
            connections: vec![ConnectionDecl {
                name: "ws".into(),
                url: "wss://x".into(),
                open: OpenMode::OnDemand,
                kinds: vec![StreamKind::Trades].into(),
                max_subscriptions: 0,
                max_lifetime_ms: 0,
                max_outbound_per_sec: 0,
                heartbeat_ms: 0,
                stale_after_ms: 0,
            }]
            .into(),
            rest: ROption::RNone,
            rate_limits: RVec::new(),
            timers: RVec::new(),
            resources: vec![ResourceDecl::new("ws", ResourceKind::Connection)].into(),
        }
    }

    #[test]
    fn a_valid_descriptor_has_no_problems() {
        assert_eq!(problems(&base()), Vec::<String>::new());
    }

    #[test]
    fn a_kind_only_rest_answers_or_timers_make_is_no_problem() {
        let mut d = base();
        d.streams.push(StreamKind::Balances);
        assert_eq!(problems(&d), Vec::<String>::new());
        let built = plugin_api::kit::Descriptor::new("v", "1")
            .public("wss://x", &[StreamKind::Trades])
            .streams_also(&[StreamKind::Balances])
            .build()
            .unwrap();
        assert_eq!(problems(&built), Vec::<String>::new());
    }

    #[test]
    fn each_problem_is_named() {
        let mut d = base();
        d.resources
            .push(ResourceDecl::new("ws", ResourceKind::Connection));
        d.resources
            .push(ResourceDecl::new("a", ResourceKind::Stream).depends_on("b"));
        d.resources
            .push(ResourceDecl::new("b", ResourceKind::Stream).depends_on("a"));
        d.resources
            .push(ResourceDecl::new("c", ResourceKind::Stream).depends_on("gone"));
        d.timers.push(TimerDecl {
            name: "tick".into(),
            period_ms: 1,
        });
        d.rate_limits.push(RateLimitDecl {
            name: "a".into(),
            capacity: 1,
            window_ms: 1,
            per_instrument: false,
        });
        d.connections[0].kinds.push(StreamKind::Depth);
        let p = problems(&d).join("\n");
        for want in [
            "resource `ws` is declared twice",
            "timer `tick` is not in `resources`",
            "rate limiter `a` is in `resources` as a stream, not a rate_limiter",
            "resource `c` depends on `gone`, which is not declared",
            "dependency cycle: a → b → a",
            "connection `ws` carries stream kind `depth`, which `streams` does not declare",
        ] {
            assert!(p.contains(want), "{p}\nshould contain: {want}");
        }
    }
}
