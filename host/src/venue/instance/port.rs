//! The instance as its resources and the stop pipeline see it: the [`Port`] each of its
//! timers, connection pools and REST runner calls, and the pipeline's [`Member`].

use std::time::Duration;

use abi_stable::std_types::{RSlice, RStr, RVec};
use futures_util::future::BoxFuture;
use plugin_api::{ConnId, Event, InFrame, Instrument, OutFrame, RestRequest, Topic};

use super::Instance;
use crate::stop::pipeline::Member;
use crate::venue::driver::{now_ms, now_ns, rehome, CallError, Returned};
use crate::venue::port::{Callback, Port};
use crate::venue::tally::Tally;

impl Port for Instance {
    fn name(&self) -> &str {
        self.name.as_str()
    }

    fn callback<'a>(&'a self, callback: Callback<'a>) -> BoxFuture<'a, Result<(), CallError>> {
        Box::pin(async move {
            match callback {
                Callback::Timer(name) => {
                    self.run(|a| a.on_timer(RStr::from_str(name), now_ms()))
                        .await
                }
                Callback::Connected(conn, name) => {
                    self.run(|a| a.on_connected(conn, RStr::from_str(name)))
                        .await
                }
                Callback::Disconnected(conn) => self.run(|a| a.on_disconnected(conn)).await,
                Callback::RestResponse(response) => {
                    self.run(|a| a.on_rest_response(response, now_ns())).await
                }
            }
        })
    }

    fn frames<'a>(
        &'a self,
        conn: ConnId,
        frames: &'a [(InFrame<'a>, u64)],
    ) -> BoxFuture<'a, usize> {
        Box::pin(async move {
            let Some(returned) = self.driver.on_frames(conn, frames).await else {
                return 0;
            };
            let events = returned.events.len();
            let received_ns = frames.first().map_or(0, |(_, ns)| *ns);
            if events > 0 {
                self.driver.tally.data_seen(received_ns);
            }
            self.deliver(returned).await;
            if events > 0 {
                let took = now_ns().saturating_sub(received_ns);
                self.driver.tally.delivery.observe_ns(took);
            }
            events
        })
    }

    fn resolve<'a>(&'a self, symbol: &'a str) -> BoxFuture<'a, Option<Instrument>> {
        Box::pin(async move {
            self.driver
                .call(|a| a.resolve(RStr::from_str(symbol)))
                .await
                .ok()
                .and_then(|o| o.into_option())
        })
    }

    fn topic_frames<'a>(
        &'a self,
        conn: ConnId,
        topics: &'a [Topic],
        subscribe: bool,
    ) -> BoxFuture<'a, Vec<OutFrame>> {
        Box::pin(async move {
            let topics = RSlice::from_slice(topics);
            let frames = match subscribe {
                true => {
                    self.driver
                        .call(|a| a.subscribe(conn, topics, now_ms()).map(rehome))
                        .await
                }
                false => {
                    self.driver
                        .call(|a| a.unsubscribe(conn, topics, now_ms()).map(rehome))
                        .await
                }
            };
            frames.map(RVec::into_vec).unwrap_or_default()
        })
    }

    fn heartbeat(&self, conn: ConnId) -> BoxFuture<'_, Option<OutFrame>> {
        Box::pin(async move {
            self.driver
                .call(|a| a.heartbeat(conn, now_ms()).map(rehome))
                .await
                .ok()
                .and_then(|o| o.into_option())
        })
    }

    fn sign(&self, request: RestRequest) -> BoxFuture<'_, Result<RestRequest, CallError>> {
        Box::pin(async move {
            self.driver
                .call(|a| a.sign(request, now_ms()).map(rehome))
                .await
        })
    }

    fn publish(&self, events: Vec<Event>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.deliver(Returned {
                events,
                actions: Vec::new(),
            })
            .await
        })
    }

    fn tally(&self) -> &Tally {
        &self.driver.tally
    }
}

impl Member for Instance {
    fn owner(&self) -> &str {
        self.name.as_str()
    }

    fn signal(&self, wait: Duration) -> BoxFuture<'_, ()> {
        Box::pin(self.last_words(wait))
    }

    fn release(&self, wait: Duration) -> BoxFuture<'_, bool> {
        Box::pin(Instance::release(self, wait))
    }
}
