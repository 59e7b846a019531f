//! [`Exchange::scope`]: a program runs inside a started exchange, which is shut down in
//! dependency order however the program ends: with a value, with an error, or in a panic.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use super::{Exchange, ExchangeHandle, ScopeError};
use crate::config::{HostConfig, Secrets};
use crate::stop::report::ShutdownReport;

impl Exchange {
    /// Starts an exchange (see [`Exchange::start`]), runs `program` with its handle, then
    /// shuts it down whatever the program did:
    ///
    /// - returned `Ok(value)`: `Ok((value, report))`;
    /// - returned `Err(error)`: [`ScopeError::Program`] with the error and the report;
    /// - panicked: the exchange is shut down, the report logged, and the panic resumed.
    ///
    /// A start that fails is [`ScopeError::Start`] (the program does not run). If the
    /// future of `scope` itself is dropped before the end, the exchange is dropped with it:
    /// everything stops, without the orderly stop, and a warning says so.
    pub async fn scope<T, E, F, Fut>(
        config: HostConfig,
        secrets: Secrets,
        program: F,
    ) -> Result<(T, ShutdownReport), ScopeError<E>>
    where
        F: FnOnce(ExchangeHandle) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Exchange::scope_until(config, secrets, &CancellationToken::new(), program).await
    }

    /// [`Exchange::scope`] whose start gives up when `stop` is cancelled (see
    /// [`Exchange::start_until`]): the program does not run and the error is
    /// [`ScopeError::Start`] of [`ExchangeError::Cancelled`](super::ExchangeError::Cancelled),
    /// whose report [`ScopeError::report`] returns. Once the program runs, `stop` is the
    /// program's to watch: the scope ends when the program returns.
    pub async fn scope_until<T, E, F, Fut>(
        config: HostConfig,
        secrets: Secrets,
        stop: &CancellationToken,
        program: F,
    ) -> Result<(T, ShutdownReport), ScopeError<E>>
    where
        F: FnOnce(ExchangeHandle) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let exchange = Exchange::start_until(config, secrets, stop)
            .await
            .map_err(ScopeError::Start)?;
        let handle = exchange.handle();
        // Called inside the guarded future, so a panic before its first await is caught too.
        let outcome = AssertUnwindSafe(async move { program(handle).await })
            .catch_unwind()
            .await;
        let reason = match &outcome {
            Ok(Ok(_)) => "the program returned",
            Ok(Err(_)) => "the program failed",
            Err(_) => "the program panicked",
        };
        let report = exchange.shutdown(reason).await;
        match outcome {
            Ok(Ok(value)) => Ok((value, report)),
            Ok(Err(error)) => Err(ScopeError::Program {
                error,
                report: Box::new(report),
            }),
            Err(panic) => {
                tracing::error!(
                    tasks_left = ?report.tasks_left,
                    resource_tasks_after = report.after.resource_tasks,
                    images_still_mapped = ?report.images_still_mapped,
                    "the program panicked; every venue was shut down"
                );
                std::panic::resume_unwind(panic)
            }
        }
    }
}
