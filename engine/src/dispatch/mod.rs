//! One request — a chat completion ([`chat`]) or an embeddings request ([`embeddings`]) —
//! start to finish, and the only place that loops and awaits over attempts. `routing` says where (a [`Plan`]: the group, then its fallbacks), `health` says
//! which deployments may take traffic (read from the table inside each lease), `retry` says
//! whether to try again (classification, budget, backoff); this module runs the loop.
//!
//! Nothing is retried once a byte reached the client. A stream is returned only after its
//! first translated event arrived (within the first-byte timeout), so a stream that fails
//! before that is a failed attempt like any other: retried, failed over, or answered with a
//! normal HTTP error status — never `200` followed by an error event.
//!
//! Runs on the actix-web worker that accepted the request; bytes flow worker ↔ provider
//! directly, and each attempt's outcome goes into the shared table at once.

mod chat;
mod embeddings;

use std::time::{Duration, Instant};

pub use chat::{ChatReply, chat, chat_as};
pub(crate) use chat::{attempt, first_event};
pub use embeddings::{EmbeddingsReply, embeddings_as};

use crate::error::{EngineError, UpstreamError};
use crate::ids::{DeploymentId, ProviderId};
use crate::metric_names as names;
use crate::retry::{RetryClass, Wait, backoff, classify};
use crate::routing::{AcquireError, FallbackKind, Lease, Outcome, Plan, Router, engine_error};
use crate::upstream::UpstreamClients;
use tracing::Instrument;

/// One kind of request the loop serves (a chat completion, an embeddings request): what
/// differs between kinds is the model it names and how one attempt on a leased deployment
/// goes. Everything else — the plan, leases, classification, budget, backoff, fallbacks —
/// is the same loop for every kind.
pub(crate) trait Call {
    type Reply;

    /// The public model name the request asks for.
    fn model(&self) -> &str;

    /// One attempt on `lease`, which it must report exactly once.
    fn attempt(
        &self,
        router: &Router,
        clients: &UpstreamClients,
        lease: Lease,
    ) -> impl Future<Output = Result<Self::Reply, EngineError>>;
}

/// Serves `call` for a caller whose key `allows` the named model groups: retried and failed
/// over as its errors warrant; a fallback group the key may not use is skipped.
/// The tracing target of the spans exported as OpenTelemetry traces (off in the logs).
pub const TRACE_TARGET: &str = "portcullis::trace";

pub(crate) async fn run<C: Call>(
    router: &Router,
    clients: &UpstreamClients,
    call: &C,
    allows: &dyn Fn(&str) -> bool,
) -> Result<C::Reply, EngineError> {
    let mut plan = Plan::new(router.group(call.model())?);
    let mut tried: Vec<DeploymentId> = Vec::new();
    let mut attempts_here = 0u32;
    let mut retries = 0u32;
    let mut deposited = false;
    let mut last: Option<EngineError> = None;
    // Set after a retryable failure: the retry-after the provider named, if any.
    let mut backing_off: Option<Option<Duration>> = None;
    loop {
        let group = plan.current();
        let Some(route) = router.routes().get(group.index()) else {
            return Err(EngineError::Internal("plan names an unknown group"));
        };
        let lease = match lease(
            router,
            group,
            &tried,
            backing_off.take(),
            retries,
            route.queue_timeout,
        )
        .await
        {
            Ok(lease) => lease,
            Err(Leasing::TooLong) | Err(Leasing::None(_)) if last.is_some() => {
                match fall_back(router, &mut plan, FallbackKind::General, allows) {
                    true => {
                        tried.clear();
                        attempts_here = 0;
                        continue;
                    }
                    false => {
                        return Err(last.unwrap_or(EngineError::Unavailable { retry_after: None }));
                    }
                }
            }
            Err(Leasing::TooLong) => return Err(EngineError::Unavailable { retry_after: None }),
            Err(Leasing::None(e)) => {
                if fall_back(router, &mut plan, FallbackKind::General, allows) {
                    tried.clear();
                    attempts_here = 0;
                    continue;
                }
                return Err(engine_error(e));
            }
        };
        let now = router.time().clock.now();
        if !deposited && let Some(budget) = router.budget(lease.provider) {
            budget.deposit(now);
            deposited = true;
        }
        attempts_here += 1;
        let provider = lease.provider;
        tried.push(lease.deployment);
        // One span per upstream attempt (OpenTelemetry, when the gateway exports traces; the
        // target is off otherwise, so this costs a disabled callsite check).
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "upstream attempt",
            otel.name = %format_args!("{} {}", lease.provider_name, lease.upstream_model),
            otel.kind = "client",
            gen_ai.provider.name = %lease.provider_name,
            gen_ai.request.model = %lease.upstream_model,
            portcullis.model_group = %route.name,
            portcullis.attempt = retries + 1,
            error.type = tracing::field::Empty,
        );
        let error = match call
            .attempt(router, clients, lease)
            .instrument(span.clone())
            .await
        {
            Ok(reply) => return Ok(reply),
            Err(error) => {
                span.record("error.type", error.kind());
                error
            }
        };
        let kind = match classify(&error) {
            RetryClass::Stop => return Err(error),
            RetryClass::ContextWindow => FallbackKind::ContextWindow,
            RetryClass::ContentPolicy => FallbackKind::ContentPolicy,
            RetryClass::Retry => FallbackKind::General,
        };
        let budget_left = router
            .budget(provider)
            .is_none_or(|b| b.withdraw(router.time().clock.now()));
        if !budget_left {
            metrics::counter!(names::RETRY_BUDGET_EXHAUSTED_TOTAL, "model" => route.name.to_string()).increment(1);
            return Err(error);
        }
        retries += 1;
        if kind == FallbackKind::General && attempts_here < route.max_attempts {
            metrics::counter!(names::RETRIES_TOTAL, "model" => route.name.to_string(), "kind" => error.kind()).increment(1);
            backing_off = Some(retry_after(&error));
            last = Some(error);
            continue;
        }
        if fall_back(router, &mut plan, kind, allows) {
            tried.clear();
            attempts_here = 0;
            last = Some(error);
            continue;
        }
        return Err(error);
    }
}

/// Why no lease was had.
enum Leasing {
    /// The group has nothing to lease.
    None(AcquireError),
    /// Only deployments already tried are left, and the provider asked for a longer pause
    /// than the gateway waits out.
    TooLong,
}

/// Leases a deployment of `group`: one not tried yet if any (at once), else — after a
/// backoff — one already tried; waits (bounded) while every deployment is at its concurrency
/// limit.
async fn lease(
    router: &Router,
    group: crate::ids::GroupId,
    tried: &[DeploymentId],
    backing_off: Option<Option<Duration>>,
    retries: u32,
    queue_timeout: Duration,
) -> Result<Lease, Leasing> {
    let mut result = router.acquire_in(group, tried);
    if let Err(AcquireError::AllTried) = result {
        if let Some(retry_after) = backing_off {
            let provider = tried
                .last()
                .and_then(|d| router.deployment_provider(*d))
                .unwrap_or(ProviderId(0));
            let spec = router.backoff(provider);
            match backoff(&spec, retries, retry_after, &*router.time().picker) {
                Wait::TooLong => return Err(Leasing::TooLong),
                Wait::For(wait) => tokio::time::sleep(wait).await,
            }
        }
        result = router.acquire_in(group, &[]);
    }
    let deadline = Instant::now() + queue_timeout;
    while let Err(AcquireError::Saturated) = result {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        router.wait_for_release(group, left).await;
        result = router.acquire_in(group, &[]);
    }
    result.map_err(Leasing::None)
}

/// Moves `plan` to its next fallback group of `kind`, counting it.
fn fall_back(
    router: &Router,
    plan: &mut Plan,
    kind: FallbackKind,
    allows: &dyn Fn(&str) -> bool,
) -> bool {
    let from = plan.current();
    let Some(to) = plan.next(kind, router.routes(), allows) else {
        return false;
    };
    let name = |g: crate::ids::GroupId| {
        router
            .routes()
            .get(g.index())
            .map_or_else(String::new, |r| r.name.to_string())
    };
    let reason = match kind {
        FallbackKind::General => "unavailable",
        FallbackKind::ContextWindow => "context_window",
        FallbackKind::ContentPolicy => "content_policy",
    };
    metrics::counter!(names::FALLBACKS_TOTAL, "from" => name(from), "to" => name(to), "reason" => reason).increment(1);
    true
}

fn retry_after(error: &EngineError) -> Option<Duration> {
    match error {
        EngineError::Upstream(UpstreamError::RateLimited { retry_after }) => *retry_after,
        _ => None,
    }
}

/// Reports a failed attempt and hands its error on.
pub(crate) fn failed(router: &Router, lease: &Lease, error: UpstreamError) -> EngineError {
    router.report(lease, Outcome::after(&error));
    error.into()
}
