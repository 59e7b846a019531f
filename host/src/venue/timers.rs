//! Timer resources: after the plugin arms a declared timer, the host calls
//! [`plugin_api::Venue::on_timer`] on its period until it is cancelled or stopped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::stop::resource::{Resource, ResourceCounts, TaskGroup};
use crate::venue::port::{Callback, Port};

/// One declared timer.
pub(crate) struct Timer {
    name: String,
    period: Duration,
    tasks: TaskGroup,
    running: Mutex<Option<CancellationToken>>,
    /// Carries `venue` and `resource` into the logs of the timer's task.
    span: tracing::Span,
}

/// The instance's timers by name.
pub(crate) struct Timers {
    port: Weak<dyn Port>,
    timers: HashMap<String, Arc<Timer>>,
}

impl Timers {
    /// Timers of the instance `venue` behind `port` from `(name, period)` declarations.
    pub(crate) fn new(
        venue: &str,
        port: Weak<dyn Port>,
        decls: impl IntoIterator<Item = (String, Duration)>,
    ) -> Timers {
        Timers {
            port,
            timers: decls
                .into_iter()
                .map(|(name, period)| {
                    let timer = Arc::new(Timer {
                        name: name.clone(),
                        period: period.max(Duration::from_millis(1)),
                        tasks: TaskGroup::new(),
                        running: Mutex::new(None),
                        span: tracing::info_span!("timer", venue, resource = %name),
                    });
                    (name, timer)
                })
                .collect(),
        }
    }

    /// The timer resource called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Timer>> {
        self.timers.get(name).cloned()
    }

    /// Starts calling the plugin for `name` every period (no-op if already armed).
    pub(crate) fn arm(&self, name: &str) -> Result<(), String> {
        let timer = self.timer(name)?;
        let mut running = timer.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.as_ref().is_some_and(|t| !t.is_cancelled()) {
            return Ok(());
        }
        let token = timer.tasks.token().child_token();
        *running = Some(token.clone());
        let port = self.port.clone();
        let period = timer.period;
        let timer_name = timer.name.clone();
        let span = timer.span.clone();
        timer.tasks.spawn(tracing::Instrument::instrument(
            async move {
                let start = tokio::time::Instant::now() + period;
                let mut ticks = tokio::time::interval_at(start, period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    let Some(port) = port.upgrade() else {
                        return;
                    };
                    match port.callback(Callback::Timer(&timer_name)).await {
                        Ok(()) => {}
                        Err(e) if e.is_fatal() => return,
                        Err(_) => {} // counted and logged by the driver; keep ticking
                    }
                }
            },
            span,
        ));
        Ok(())
    }

    /// Stops calling the plugin for `name`.
    pub(crate) fn cancel(&self, name: &str) -> Result<(), String> {
        let timer = self.timer(name)?;
        if let Some(t) = timer
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.cancel();
        }
        Ok(())
    }

    fn timer(&self, name: &str) -> Result<&Arc<Timer>, String> {
        self.timers
            .get(name)
            .ok_or_else(|| format!("no timer `{name}` was declared"))
    }
}

impl Resource for Timer {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        self.tasks.stop()
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        self.tasks.force()
    }

    fn counts(&self) -> ResourceCounts {
        self.tasks.counts()
    }
}
