//! One build of a venue instance: the plugin's adapter behind its [`Driver`], the router
//! and resources made from its declaration, and the frame path through them. Frames flow
//! one way, connection → message queue → driver → bus; actions come back through the
//! instance's [`Router`]. The instance is the [`Port`] its resources call.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use abi_stable::std_types::{RResult, RVec};
use plugin_api::{
    Action, PluginError, RestRequest, StreamKind, VenueAdapterBox, VenueConfig, VenueDescriptor,
};

use crate::config::{RateLimitOverride, StaleThresholds};
use crate::error::HostError;
use crate::names::{InstanceName, PluginId};
use crate::pipeline::bindings::Bindings;
use crate::pipeline::bus::Publisher;
use crate::plugin::PluginCode;
use crate::stop::coordinator::ShutdownTimeouts;
use crate::stop::graph::Node;
use crate::transport::ReconnectPolicy;
use crate::venue::driver::{now_ms, rehome, CallError, Driver, Returned};
use crate::venue::port::Port;
use crate::venue::resources::Plan;
use crate::venue::router::{NotDone, Router, RouterSettings};
use crate::venue::tally::{Tally, VenueCounters};
use crate::Bus;

mod port;
use tokio_util::sync::CancellationToken;

/// One build of a venue instance (a reload or a restart makes the next one).
pub(crate) struct Instance {
    name: InstanceName,
    plugin: PluginId,
    /// The stream kinds the plugin said it produces.
    streams: Vec<StreamKind>,
    pub(crate) driver: Driver,
    publisher: Publisher,
    pub(crate) router: Router,
    /// Cancelled once the plugin state is released: the build is over.
    retired: CancellationToken,
}

/// What the host lends every instance it builds.
pub(crate) struct Context<'a> {
    pub(crate) bus: &'a Bus,
    pub(crate) timeouts: &'a ShutdownTimeouts,
    pub(crate) reconnect: &'a ReconnectPolicy,
    pub(crate) rate_limits: &'a BTreeMap<String, RateLimitOverride>,
    /// How long each kind of market data may pause before its connection counts as stalled.
    pub(crate) stale: &'a StaleThresholds,
    /// The instance's counters, kept across its builds.
    pub(crate) tally: Arc<Tally>,
}

/// A new instance with its resources, ready to register and start.
pub(crate) struct Built {
    pub(crate) instance: Arc<Instance>,
    pub(crate) nodes: Vec<Node>,
    /// The handler bindings, with the stream kinds each serves.
    pub(crate) bindings: Vec<(String, Vec<StreamKind>, Bindings)>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("name", &self.name)
            .field("plugin", &self.plugin)
            .finish()
    }
}

/// A build of an instance as far as its plugin's side goes: the plugin's adapter made from
/// the settings, its declaration read and checked. Making one runs only the plugin's
/// constructor and `describe`, which are sans-IO (the plugin contract), so it can be made
/// while another build of the same instance runs, and dropped without a trace. Nothing is
/// built, registered or started until [`Prepared::build`].
pub(crate) struct Prepared {
    name: InstanceName,
    plugin: PluginId,
    driver: Driver,
    descriptor: VenueDescriptor,
    plan: Plan,
}

impl Prepared {
    /// Builds the router and resources the declaration asks for. `carried` are the handler
    /// bindings of the instance's previous build, kept over a reload or a restart. Nothing
    /// runs until [`Instance::start`].
    pub(crate) fn build(self, ctx: &Context<'_>, carried: HashMap<String, Bindings>) -> Built {
        let Prepared {
            name,
            plugin,
            driver,
            descriptor,
            plan,
        } = self;
        let (queues_by_name, queues) = plan.queues();
        let settings = RouterSettings {
            queues: &queues,
            reconnect: ctx.reconnect,
            rate_limits: ctx.rate_limits,
            stale: ctx.stale,
            bus: ctx.bus,
        };
        let instance = Arc::new_cyclic(|me: &std::sync::Weak<Instance>| {
            let port: std::sync::Weak<dyn Port> = me.clone();
            Instance {
                router: Router::build(name.as_str(), &descriptor, port, &settings),
                publisher: ctx.bus.publisher(name.as_str()),
                name: name.clone(),
                plugin,
                streams: descriptor.streams.to_vec(),
                driver,
                retired: CancellationToken::new(),
            }
        });
        let bindings = plan.bindings(carried);
        let nodes = plan.nodes(
            name.as_str(),
            &instance.router,
            &queues_by_name,
            &bindings,
            ctx.bus,
            ctx.timeouts,
        );
        Built {
            instance,
            nodes,
            bindings,
        }
    }

    /// Drops the plugin's adapter (waiting at most `wait` for a call, though none can run:
    /// nothing but the preparation ever called it). The caller keeps the library loaded.
    pub(crate) async fn discard(self, wait: Duration) -> bool {
        self.driver.release(wait).await
    }
}

impl Instance {
    /// Creates the plugin's adapter for the instance `name` from `settings_json` and reads
    /// and checks its declaration; see [`Prepared`]. A plugin that refuses the settings, or
    /// declares something the host cannot build, fails here. The driver counts into
    /// `tally` (a check that must not show on the running build passes a fresh one).
    pub(crate) async fn prepare(
        name: &InstanceName,
        code: &PluginCode,
        settings_json: &str,
        tally: Arc<Tally>,
    ) -> Result<Prepared, HostError> {
        let plugin = PluginId::from(code.info().venue.as_str());
        let fail = |source: CallError| HostError::Create {
            venue: name.to_string(),
            source,
        };
        let config = VenueConfig {
            name: name.as_str().into(),
            settings_json: settings_json.into(),
        };
        let adapter = match code.create(config) {
            RResult::ROk(a) => a,
            RResult::RErr(e) => {
                return Err(fail(CallError::Plugin {
                    venue: name.to_string(),
                    error: rehome(e),
                }))
            }
        };
        let driver = Driver::new(name.as_str(), adapter, tally);
        let descriptor = driver
            .call(|a| a.describe().map(rehome))
            .await
            .map_err(fail)?;
        if descriptor.venue.as_str() != plugin.as_str() {
            return Err(HostError::Declaration {
                venue: name.to_string(),
                error: format!(
                    "describe() names venue `{}` but the plugin is registered as `{plugin}`",
                    descriptor.venue
                ),
            });
        }
        let plan = Plan::new(name.as_str(), &descriptor)?;
        Ok(Prepared {
            name: name.clone(),
            plugin,
            driver,
            descriptor,
            plan,
        })
    }

    /// Creates the plugin's adapter for the instance `name`, asks what it needs and builds
    /// that: [`Instance::prepare`], then [`Prepared::build`]. Nothing runs until
    /// [`Instance::start`].
    pub(crate) async fn create(
        name: &InstanceName,
        code: &PluginCode,
        settings_json: &str,
        ctx: &Context<'_>,
        carried: HashMap<String, Bindings>,
    ) -> Result<Built, HostError> {
        Ok(
            Instance::prepare(name, code, settings_json, ctx.tally.clone())
                .await?
                .build(ctx, carried),
        )
    }

    /// Cancelled once this build's plugin state is released.
    pub(crate) fn retired(&self) -> CancellationToken {
        self.retired.clone()
    }

    /// Drops the plugin's state once no call runs; false if one still did after `wait`.
    pub(crate) async fn release(&self, wait: Duration) -> bool {
        let released = self.driver.release(wait).await;
        self.retired.cancel();
        released
    }

    /// Runs the plugin's `start`, delivers its output and lets the connections follow
    /// consumer interest.
    pub(crate) async fn start(&self) -> Result<(), HostError> {
        self.run(|a| a.start(now_ms()))
            .await
            .map_err(|source| HostError::Start {
                venue: self.name.to_string(),
                source,
            })?;
        self.router.start();
        Ok(())
    }

    /// Hands the plugin the orders an earlier build left unsettled, if there are any, to
    /// look them up ([`plugin_api::Venue::recover_orders`]). A refusal is logged: the
    /// orders stay unsettled, for the next build to try.
    pub(crate) async fn recover_orders(&self) {
        let orders = self.driver.tally.orders().unsettled();
        if orders.is_empty() {
            return;
        }
        let n = orders.len();
        match self
            .run(|a| a.recover_orders(orders.into(), now_ms()))
            .await
        {
            Ok(()) => {
                tracing::info!(venue = %self.name, orders = n, "looking up the orders an earlier build left unsettled")
            }
            Err(e) => {
                tracing::warn!(venue = %self.name, orders = n, error = %e, "the plugin did not take the unsettled orders")
            }
        }
    }

    /// The stop signal: subscriptions freeze, the plugin's `stop` gives its last actions
    /// (waiting at most `wait` for a call still running in the plugin), and from then on
    /// actions that would start new work are refused.
    pub(crate) async fn last_words(&self, wait: Duration) {
        self.router.freeze();
        match self
            .driver
            .call_output_within(wait, |a| a.stop(now_ms()))
            .await
        {
            Ok(Some(returned)) => self.deliver(returned).await,
            Ok(None) => {}
            Err(_) => {
                tracing::warn!(venue = %self.name, "plugin busy in another call; stop() skipped")
            }
        }
        self.router.drain();
    }

    /// Refuses a consumer's topic the plugin cannot serve: a kind it does not produce, or a
    /// market symbol it does not list (private kinds take no symbol).
    pub(crate) async fn check_topic(
        &self,
        symbol: &str,
        kind: StreamKind,
    ) -> Result<(), HostError> {
        if !self.streams.contains(&kind) {
            let served: Vec<&str> = self.streams.iter().map(|k| k.name()).collect();
            return Err(HostError::Unserved {
                venue: self.name.to_string(),
                kind: kind.name(),
                served: served.join(", "),
            });
        }
        if kind.is_private() || symbol.is_empty() {
            return Ok(());
        }
        match self.resolve(symbol).await {
            Some(_) => Ok(()),
            None => Err(HostError::UnknownSymbol {
                venue: self.name.to_string(),
                symbol: symbol.to_owned(),
            }),
        }
    }

    /// Asks the plugin for a signed order request and sends it.
    pub(crate) async fn order(
        &self,
        f: impl FnOnce(&mut VenueAdapterBox) -> RResult<RestRequest, PluginError>,
    ) -> Result<(), HostError> {
        let failed = |error: String, source: Option<CallError>| HostError::Order {
            venue: self.name.to_string(),
            error,
            source,
        };
        let request = self
            .driver
            .call(|a| f(a).map(rehome))
            .await
            .map_err(|e| failed("the plugin refused it".into(), Some(e)))?;
        match self.router.act(Action::Rest(request)).await {
            Ok(()) => Ok(()),
            Err(NotDone::Stopping) => Err(failed("the instance is stopping".into(), None)),
            Err(NotDone::Failed(why)) => Err(failed(why, None)),
        }
    }

    /// Calls the plugin and delivers what it returned.
    async fn run(
        &self,
        f: impl FnOnce(&mut VenueAdapterBox) -> RResult<plugin_api::Output, PluginError>,
    ) -> Result<(), CallError> {
        let returned = self.driver.call_output(f).await?;
        self.deliver(returned).await;
        Ok(())
    }

    /// Delivers `returned`: each output's events, then its actions, in order. The events of
    /// one delivery share a burst: each consumer is woken once.
    async fn deliver(&self, returned: Returned) {
        let Returned { events, actions } = returned;
        let mut burst = self.publisher.burst();
        let mut tally = EventTally {
            total: events.len() as u64,
            out: 0,
            gaps: 0,
            counters: &self.driver.tally.counters,
        };
        let mut actions = actions.into_iter().peekable();
        for (n, event) in events.into_iter().enumerate() {
            while let Some((_, list)) = actions.next_if(|(before, _)| *before == n) {
                self.act_all(list).await;
            }
            tally.gaps += u64::from(matches!(event, plugin_api::Event::Gap(_)));
            if let Err(stalled) = burst.try_publish(event) {
                burst.finish(stalled).await;
            }
            tally.out += 1;
        }
        drop(burst);
        for (_, list) in actions {
            self.act_all(list).await;
        }
    }

    async fn act_all(&self, actions: RVec<Action>) {
        let counters = &self.driver.tally.counters;
        for action in actions {
            match self.router.act(action).await {
                Ok(()) => {}
                Err(NotDone::Stopping) => {
                    counters.actions_refused.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(venue = %self.name, "action refused: the instance is stopping");
                }
                Err(NotDone::Failed(why)) => {
                    counters.actions_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(venue = %self.name, %why, "action not carried out");
                }
            }
        }
    }
}

/// Counts the events of one delivery when it ends, however it ends: those handed to the
/// bus, and those a cancelled delivery never handed over.
struct EventTally<'a> {
    total: u64,
    out: u64,
    /// Gap markers among the events handed over.
    gaps: u64,
    counters: &'a VenueCounters,
}

impl Drop for EventTally<'_> {
    fn drop(&mut self) {
        self.counters
            .events_out
            .fetch_add(self.out, Ordering::Relaxed);
        if self.gaps > 0 {
            self.counters.gaps.fetch_add(self.gaps, Ordering::Relaxed);
        }
        if self.out < self.total {
            self.counters
                .events_abandoned
                .fetch_add(self.total - self.out, Ordering::Relaxed);
        }
    }
}
