//! The registry of resources and their shutdown order: dependents stop before their
//! dependencies; among resources free to stop, the lowest priority goes first, together.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::stop::resource::{Resource, ResourceSpec};

/// A registration the graph refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// Two resources of one owner share a name.
    #[error("{owner}: resource `{name}` is declared twice")]
    Duplicate {
        /// Owner.
        owner: String,
        /// Name.
        name: String,
    },
    /// A dependency names no resource of the same owner.
    #[error("{owner}: resource `{name}` depends on unknown `{missing}`")]
    UnknownDependency {
        /// Owner.
        owner: String,
        /// The dependent resource.
        name: String,
        /// The missing name.
        missing: String,
    },
    /// The dependencies form a cycle.
    #[error("{owner}: dependency cycle through {}", .names.join(" -> "))]
    Cycle {
        /// Owner.
        owner: String,
        /// Resources on the cycle.
        names: Vec<String>,
    },
}

/// One registered resource.
#[derive(Clone)]
pub struct Node {
    /// Identity and stop settings.
    pub spec: ResourceSpec,
    /// The resource itself.
    pub resource: Arc<dyn Resource>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.spec.fmt(f)
    }
}

/// Resources by owner, validated on registration.
#[derive(Default, Debug)]
pub struct ResourceGraph {
    nodes: Vec<Node>,
}

impl ResourceGraph {
    /// An empty graph.
    pub fn new() -> ResourceGraph {
        ResourceGraph::default()
    }

    /// Registers one owner's resources as a batch: all or nothing.
    pub fn register(&mut self, batch: Vec<Node>) -> Result<(), GraphError> {
        let mut all: Vec<&ResourceSpec> = self.nodes.iter().map(|n| &n.spec).collect();
        all.extend(batch.iter().map(|n| &n.spec));
        validate(&all)?;
        self.nodes.extend(batch);
        Ok(())
    }

    /// The resources of `owner` (they stay registered).
    pub fn owned(&self, owner: &str) -> Vec<Node> {
        self.nodes
            .iter()
            .filter(|n| n.spec.owner == owner)
            .cloned()
            .collect()
    }

    /// Removes and returns every resource of `owner`.
    pub fn take_owner(&mut self, owner: &str) -> Vec<Node> {
        let (taken, kept) = std::mem::take(&mut self.nodes)
            .into_iter()
            .partition(|n| n.spec.owner == owner);
        self.nodes = kept;
        taken
    }

    /// Removes and returns every resource.
    pub fn take_all(&mut self) -> Vec<Node> {
        std::mem::take(&mut self.nodes)
    }

    /// The registered resources.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of registered resources.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

fn key(owner: &str, name: &str) -> (String, String) {
    (owner.to_owned(), name.to_owned())
}

fn validate(specs: &[&ResourceSpec]) -> Result<(), GraphError> {
    let mut seen = HashSet::new();
    for s in specs {
        if !seen.insert(key(&s.owner, &s.name)) {
            return Err(GraphError::Duplicate {
                owner: s.owner.clone(),
                name: s.name.clone(),
            });
        }
    }
    for s in specs {
        if let Some(missing) = s
            .depends_on
            .iter()
            .find(|d| !seen.contains(&key(&s.owner, d)))
        {
            return Err(GraphError::UnknownDependency {
                owner: s.owner.clone(),
                name: s.name.clone(),
                missing: missing.clone(),
            });
        }
    }
    let order = stop_waves(specs);
    let ordered: usize = order.iter().map(Vec::len).sum();
    if ordered < specs.len() {
        let placed: HashSet<usize> = order.into_iter().flatten().collect();
        let stuck: Vec<&&ResourceSpec> = (0..specs.len())
            .filter(|i| !placed.contains(i))
            .map(|i| &specs[i])
            .collect();
        return Err(GraphError::Cycle {
            owner: stuck[0].owner.clone(),
            names: stuck.iter().map(|s| s.name.clone()).collect(),
        });
    }
    Ok(())
}

/// Shutdown waves, as indices into `specs`: each wave's resources stop together, after every
/// earlier wave. A resource is free once all resources depending on it have stopped; of the
/// free ones, those with the lowest priority form the next wave. Resources on a cycle are
/// left out (registration refuses cycles, so this happens only in validation).
pub fn stop_waves(specs: &[&ResourceSpec]) -> Vec<Vec<usize>> {
    let index: HashMap<(String, String), usize> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (key(&s.owner, &s.name), i))
        .collect();
    // dependents[i] = how many not-yet-stopped resources depend on i
    let mut dependents = vec![0usize; specs.len()];
    let mut deps_of: Vec<Vec<usize>> = vec![Vec::new(); specs.len()];
    for (i, s) in specs.iter().enumerate() {
        for d in &s.depends_on {
            if let Some(&j) = index.get(&key(&s.owner, d)) {
                dependents[j] += 1;
                deps_of[i].push(j);
            }
        }
    }
    let mut done = vec![false; specs.len()];
    let mut waves = Vec::new();
    loop {
        let free: Vec<usize> = (0..specs.len())
            .filter(|&i| !done[i] && dependents[i] == 0)
            .collect();
        let Some(lowest) = free.iter().map(|&i| specs[i].priority).min() else {
            break;
        };
        let wave: Vec<usize> = free
            .into_iter()
            .filter(|&i| specs[i].priority == lowest)
            .collect();
        for &i in &wave {
            done[i] = true;
            for &j in &deps_of[i] {
                dependents[j] -= 1;
            }
        }
        waves.push(wave);
    }
    waves
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use plugin_api::ResourceKind;

    use super::*;
    use crate::stop::resource::TaskGroup;

    fn spec(name: &str, kind: ResourceKind, deps: &[&str]) -> ResourceSpec {
        ResourceSpec {
            owner: "v".into(),
            name: name.into(),
            kind,
            priority: kind.default_priority(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_secs(1),
        }
    }

    fn node(s: ResourceSpec) -> Node {
        Node {
            spec: s,
            resource: Arc::new(TaskGroup::new()),
        }
    }

    fn names(specs: &[ResourceSpec]) -> Vec<Vec<String>> {
        let refs: Vec<&ResourceSpec> = specs.iter().collect();
        stop_waves(&refs)
            .into_iter()
            .map(|w| {
                let mut n: Vec<String> = w.into_iter().map(|i| specs[i].name.clone()).collect();
                n.sort();
                n
            })
            .collect()
    }

    #[test]
    fn dependents_stop_before_dependencies_and_levels_run_together() {
        use ResourceKind::*;
        let specs = vec![
            spec("limiter", RateLimiter, &[]),
            spec("rest", RestClient, &["limiter"]),
            spec("queue", MessageQueue, &[]),
            spec("public-ws", Connection, &["queue"]),
            spec("private-ws", Connection, &["queue", "rest"]),
            spec("keepalive", Timer, &["rest"]),
            spec("handlers", HandlerBinding, &[]),
        ];
        assert_eq!(
            names(&specs),
            vec![
                vec!["handlers"],
                vec!["keepalive"],
                vec!["private-ws", "public-ws"],
                vec!["queue"],
                vec!["rest"],
                vec!["limiter"],
            ]
        );
    }

    #[test]
    fn a_dependency_waits_for_its_dependent_whatever_the_priorities() {
        use ResourceKind::*;
        // The limiter would go first by priority, but the timer uses it.
        let mut specs = vec![spec("t", Timer, &["l"]), spec("l", RateLimiter, &[])];
        specs[1].priority = 0;
        assert_eq!(names(&specs), vec![vec!["t"], vec!["l"]]);
    }

    #[test]
    fn cycles_unknown_names_and_duplicates_are_refused() {
        use ResourceKind::*;
        let mut g = ResourceGraph::new();
        let err = g
            .register(vec![
                node(spec("a", Timer, &["b"])),
                node(spec("b", Timer, &["c"])),
                node(spec("c", Timer, &["a"])),
            ])
            .unwrap_err();
        assert!(
            matches!(err, GraphError::Cycle { ref names, .. } if names.len() == 3),
            "{err}"
        );
        let err = g
            .register(vec![node(spec("a", Timer, &["zzz"]))])
            .unwrap_err();
        assert!(err.to_string().contains("unknown `zzz`"), "{err}");
        g.register(vec![node(spec("a", Timer, &[]))]).unwrap();
        let err = g.register(vec![node(spec("a", Timer, &[]))]).unwrap_err();
        assert!(matches!(err, GraphError::Duplicate { .. }));
        assert_eq!(g.len(), 1, "refused batches leave the graph unchanged");
    }
}
