//! One chat completion, start to finish — and the only place that loops and awaits over
//! attempts. `routing` says where (a [`Plan`]: the group, then its fallbacks), `health` says
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

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::{EngineError, UpstreamError};
use crate::ids::{DeploymentId, ProviderId};
use crate::metric_names as names;
use crate::request::ChatRequest;
use crate::retry::{RetryClass, Wait, backoff, classify};
use crate::routing::{AcquireError, FallbackKind, Lease, Outcome, Plan, Router, engine_error};
use crate::stream::RelayStream;
use crate::upstream::UpstreamClients;
use crate::usage::Usage;

/// What the gateway answers with.
#[derive(Debug)]
pub enum ChatReply {
    /// A complete `chat.completion` body in OpenAI's shape.
    Json {
        body: Bytes,
        usage: Option<Usage>,
        /// Time spent waiting on the provider (send → last body byte).
        upstream: Duration,
        lease: Lease,
    },
    /// An SSE stream relayed as it arrives; its first event has already arrived.
    Stream(RelayStream),
}

impl ChatReply {
    /// The provider that served the reply.
    pub fn provider(&self) -> ProviderId {
        match self {
            ChatReply::Json { lease, .. } => lease.provider,
            ChatReply::Stream(stream) => stream.lease().provider,
        }
    }
}

/// Serves one chat completion request; every fallback group is allowed.
pub async fn chat(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
) -> Result<ChatReply, EngineError> {
    chat_as(router, clients, request, &|_| true).await
}

/// Serves one chat completion for a caller whose key `allows` the named model groups: a
/// fallback group the key may not use is skipped.
pub async fn chat_as(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
    allows: &dyn Fn(&str) -> bool,
) -> Result<ChatReply, EngineError> {
    let mut plan = Plan::new(router.group(request.model())?);
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
        let error = match attempt(router, clients, request, lease).await {
            Ok(reply) => return Ok(reply),
            Err(error) => error,
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

/// One attempt on one leased deployment. Reports the outcome exactly once (for streams, when
/// the stream ends). A stream is returned only once its first event arrived.
pub(crate) async fn attempt(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
    lease: Lease,
) -> Result<ChatReply, EngineError> {
    let Some(provider) = clients.provider(lease.provider) else {
        router.report(&lease, Outcome::Neutral);
        return Err(EngineError::Internal("lease names an unknown provider"));
    };
    let upstream_request = match provider
        .adapter
        .chat_request(request, &lease.upstream_model)
    {
        Ok(r) => r,
        Err(e) => {
            router.report(&lease, Outcome::Neutral);
            return Err(e);
        }
    };
    let timeouts = provider.spec.timeouts;
    let first_byte = lease.first_byte_timeout.unwrap_or(timeouts.first_byte);
    let total = lease.total_timeout.unwrap_or(timeouts.total);
    let sent = Instant::now();
    let response = match clients
        .send_within(
            lease.provider,
            upstream_request,
            request.is_stream(),
            first_byte,
            total,
        )
        .await
    {
        Ok(response) => response,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    if request.is_stream() {
        let translator = provider
            .adapter
            .stream_translator(request, provider.spec.max_event_bytes);
        let mut stream = RelayStream::new(
            Box::pin(response.bytes_stream()),
            translator,
            router.clone(),
            lease,
            sent,
        );
        let deadline = tokio::time::Instant::from_std(sent + first_byte);
        return match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => {
                stream.abandon(UpstreamError::Timeout);
                Err(UpstreamError::Timeout.into())
            }
            // The relay reported the failure when it yielded it.
            Ok(Some(Err(e))) => Err(e.into()),
            Ok(Some(Ok(first))) => {
                stream.unread(first);
                Ok(ChatReply::Stream(stream))
            }
            Ok(None) => Ok(ChatReply::Stream(stream)),
        };
    }
    let body = match clients.read_body(lease.provider, response).await {
        Ok(body) => body,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    let upstream = sent.elapsed();
    let (body, usage) = match provider.adapter.chat_response(body) {
        Ok(translated) => translated,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    router.report(&lease, Outcome::Success { latency: upstream });
    if let Some(usage) = &usage {
        router.record_tokens(
            &lease,
            usage.prompt_tokens.saturating_add(usage.completion_tokens),
        );
    }
    Ok(ChatReply::Json {
        body,
        usage,
        upstream,
        lease,
    })
}

/// Reports a failed attempt and hands its error on.
pub(crate) fn failed(router: &Router, lease: &Lease, error: UpstreamError) -> EngineError {
    router.report(lease, Outcome::after(&error));
    error.into()
}
