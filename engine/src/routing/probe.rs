//! Active health checks: for each deployment that has a [`HealthCheckSpec`], every interval,
//! one tiny completion (a user message `ping`, `max_tokens: 1`, not streamed) through the
//! same seam real requests take — the provider's adapter builds it, its `Authorize` step signs
//! it or mints its token, an egress-checked client without redirects sends it, the adapter
//! reads the answer — so every vendor is checked the same way. The outcome goes into the
//! deployment table exactly as a released lease's ([`DeploymentTable::record_check`]), and the
//! provider actor folds it into the breaker like any other: failures in a row open it, and a
//! success once its cool-down has passed closes it. A check holds no lease: it is not refused
//! by the gate it is there to reopen, and takes no in-flight slot.
//!
//! The checks of a provider run on its actor's arbiter, beside the actor and never inside
//! it (the actor awaits no I/O), with their own upstream clients built on that thread. They
//! stop with the arbiter, so with the [`Router`](super::Router) that started them: a config
//! reload's new plane starts its own, and the old plane's end when its router is dropped.
//! No check is sent while the deployment's breaker is open and cooling down, or while it is
//! cooling down after a 429: the breaker would ignore the outcome.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix::ArbiterHandle;
use serde_json::json;
use tokio::time::MissedTickBehavior;

use super::handle::ProviderHandle;
use super::table::{DeploymentTable, Outcome};
use crate::clock::SharedClock;
use crate::ids::{DeploymentId, ProviderId};
use crate::metric_names as names;
use crate::request::ChatRequest;
use crate::spec::{HealthCheckSpec, TimeoutOverrides};
use crate::upstream::{Providers, UpstreamClients};

/// The model name the check request carries; adapters send the deployment's upstream model.
const CHECK_MODEL: &str = "portcullis-health-check";

/// One deployment to check, and how.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) deployment: DeploymentId,
    pub(super) upstream_model: Arc<str>,
    pub(super) timeouts: TimeoutOverrides,
    pub(super) check: HealthCheckSpec,
}

/// Where outcomes go: the table, and the provider's actor to nudge.
#[derive(Debug, Clone)]
pub(super) struct Recorder {
    pub(super) table: Arc<DeploymentTable>,
    pub(super) handle: ProviderHandle,
    pub(super) clock: SharedClock,
}

/// Starts the checks of `targets` (all of provider `provider`) on `arbiter`.
pub(super) fn start(
    arbiter: &ArbiterHandle,
    providers: Providers,
    targets: Vec<Target>,
    recorder: Recorder,
) {
    let provider = recorder.handle.id();
    let started = arbiter.spawn_fn(move || {
        let clients = match UpstreamClients::for_provider(&providers, provider) {
            Ok(clients) => Rc::new(clients),
            Err(e) => {
                tracing::error!(error = %e, "health checks not started: no upstream client");
                return;
            }
        };
        for target in targets {
            actix::spawn(every(
                Rc::clone(&clients),
                provider,
                target,
                recorder.clone(),
            ));
        }
    });
    if !started {
        tracing::error!("health checks not started: the provider's arbiter has stopped");
    }
}

/// Checks `target` every interval, the first one interval after the start, until its arbiter
/// stops.
async fn every(
    clients: Rc<UpstreamClients>,
    provider: ProviderId,
    target: Target,
    recorder: Recorder,
) {
    let request = match ping() {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(error = %e, "health check request refused");
            return;
        }
    };
    let interval = target.check.interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let Some(deployment) = recorder.table.get(target.deployment) else {
        return;
    };
    let labels = (
        deployment.facts.provider_name.to_string(),
        target.deployment.to_string(),
    );
    loop {
        tick.tick().await;
        let now = recorder.clock.now();
        let open = deployment
            .gate
            .open_until()
            .is_some_and(|until| now < until);
        if open || deployment.cooling(now).is_some() {
            continue;
        }
        let outcome = check(&clients, provider, &target, &request).await;
        metrics::counter!(
            names::HEALTH_CHECKS_TOTAL,
            "provider" => labels.0.clone(),
            "deployment" => labels.1.clone(),
            "result" => result_label(outcome),
        )
        .increment(1);
        tracing::debug!(provider = %labels.0, deployment = %labels.1, result = result_label(outcome), "health check");
        if recorder
            .table
            .record_check(target.deployment, outcome, recorder.clock.now())
        {
            recorder.handle.nudge();
        }
    }
}

/// The check request: one user message, one token, not streamed.
fn ping() -> Result<ChatRequest, crate::error::RequestError> {
    let body = json!({
        "model": CHECK_MODEL,
        "messages": [{ "role": "user", "content": "ping" }],
        "max_tokens": 1,
        "stream": false,
    });
    match body {
        serde_json::Value::Object(body) => ChatRequest::from_object(body),
        _ => Err(crate::error::RequestError::NotAnObject),
    }
}

/// One check of `target`, bounded by its timeout; its outcome as a real attempt's would be.
async fn check(
    clients: &UpstreamClients,
    provider: ProviderId,
    target: &Target,
    request: &ChatRequest,
) -> Outcome {
    let Some(p) = clients.provider(provider) else {
        return Outcome::Neutral;
    };
    let upstream = match p.adapter.chat_request(request, &target.upstream_model) {
        Ok(upstream) => upstream,
        Err(_) => return Outcome::Neutral,
    };
    let limit = target.check.timeout;
    let mut timeouts = target.timeouts.over(p.spec.timeouts);
    timeouts.first_byte = timeouts.first_byte.min(limit);
    timeouts.total = timeouts.total.min(limit);
    let sent = Instant::now();
    let exchange = async {
        let response = clients
            .send_within(provider, upstream, false, timeouts)
            .await?;
        let body = clients.read_body(provider, response).await?;
        p.adapter.chat_response(body).map(|_| ())
    };
    match tokio::time::timeout(limit, exchange).await {
        Err(_) => Outcome::Failure,
        Ok(Ok(())) => Outcome::Success {
            latency: sent.elapsed(),
        },
        Ok(Err(e)) => Outcome::after(&e),
    }
}

/// The `result` label of a check's outcome.
fn result_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success { .. } => "ok",
        Outcome::Failure => "failed",
        Outcome::RateLimited { .. } => "rate_limited",
        Outcome::Neutral => "refused",
    }
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
