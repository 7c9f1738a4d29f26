//! Cost and spend on the request path: each deployment's price, resolved once at start-up,
//! and one spend record per request handed to the [`SpendWriter`] without waiting.
//!
//! A record carries who (key, team), what (model group, upstream model, tokens), how much
//! (integer micro-USD, or flagged unpriced), how long and how it ended; never a body. A full
//! queue drops the record and counts it in `portcullis_spend_records_dropped_total`.

use std::time::Duration;

use portcullis_config::Config;
use portcullis_engine::cost::{MicroUsd, Price, cost};
use portcullis_engine::{DeploymentId, Usage};
use portcullis_storage::{KeyId, SpendRecord, SpendWriter, TeamId};

use crate::auth::now_ms;
use crate::metrics::{SPEND_DROPPED_TOTAL, SPEND_MICRO_USD_TOTAL};

/// Prices by deployment and the writer's request-path side.
#[derive(Debug)]
pub(crate) struct SpendRecorder {
    /// Indexed by `DeploymentId`, in the router's order (groups, then their deployments).
    prices: Vec<Option<Price>>,
    writer: SpendWriter,
}

/// Who made a request, once authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub key: KeyId,
    pub team: Option<TeamId>,
}

/// What a finished request did.
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    pub request_id: &'a str,
    pub model_group: &'a str,
    pub deployment: Option<(DeploymentId, &'a str)>,
    pub usage: Option<Usage>,
    /// What admission charged the budgets, when it priced the request itself (a deployment
    /// without a catalogue price, charged at the `unpriced` price or the group's): recorded
    /// instead of the deployment's price so the spend log and the budgets agree.
    pub charged: Option<MicroUsd>,
    pub latency: Duration,
    pub status: u16,
}

impl SpendRecorder {
    /// Resolves every deployment's price from the catalogue (config overrides first).
    pub(crate) fn new(config: &Config, writer: SpendWriter) -> Self {
        let prices = config
            .gateway
            .groups
            .iter()
            .flat_map(|g| g.deployments.iter())
            .map(|d| config.catalogue.price(&d.upstream_model).copied())
            .collect();
        Self { prices, writer }
    }

    /// The cost of `usage` on `deployment`, `None` when it has no price.
    pub(crate) fn cost(&self, deployment: DeploymentId, usage: &Usage) -> Option<MicroUsd> {
        let price = self.prices.get(deployment.index())?.as_ref()?;
        Some(cost(price, usage))
    }

    /// Queues one record; never waits.
    pub(crate) fn record(&self, caller: &Caller, outcome: Outcome<'_>) {
        let usage = outcome.usage.unwrap_or_default();
        let priced = outcome
            .deployment
            .and_then(|(d, _)| self.cost(d, &usage))
            .or(outcome.charged);
        let record = SpendRecord {
            time_ms: now_ms(),
            request_id: outcome.request_id.to_owned(),
            key: caller.key.clone(),
            team: caller.team.clone(),
            model_group: outcome.model_group.to_owned(),
            deployment: outcome
                .deployment
                .map_or_else(String::new, |(_, model)| model.to_owned()),
            tokens_in: clamp(usage.prompt_tokens),
            tokens_out: clamp(usage.completion_tokens),
            tokens_cached: clamp(usage.cached_tokens),
            tokens_cache_write: clamp(usage.cache_write_tokens),
            cost_micro_usd: priced.map_or(0, |c| i64::try_from(c.as_micros()).unwrap_or(i64::MAX)),
            unpriced: priced.is_none() && outcome.deployment.is_some(),
            latency_ms: u32::try_from(outcome.latency.as_millis()).unwrap_or(u32::MAX),
            status: outcome.status,
        };
        access_log(&record);
        if let Some(micros) = priced.map(|c| c.as_micros()).filter(|&m| m > 0) {
            let team = record.team.as_ref().map_or("", TeamId::as_str).to_owned();
            metrics::counter!(SPEND_MICRO_USD_TOTAL, "team" => team, "model" => record.model_group.clone())
                .increment(micros);
        }
        if !self.writer.try_record(record) {
            metrics::counter!(SPEND_DROPPED_TOTAL).increment(1);
        }
    }
}

/// The log target of the per-request access line. Off unless asked for (`RUST_LOG` naming
/// it, or `RUST_LOG=info`): one line per request is a write per request.
pub(crate) const ACCESS_LOG_TARGET: &str = "portcullis::access";

/// One structured line per authenticated request — the spend record's fields: ids, who, which
/// model and deployment, status, latency, tokens and cost. Never a body, a key or a URL.
fn access_log(r: &SpendRecord) {
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        request_id = %r.request_id,
        key = %r.key.as_str(),
        team = r.team.as_ref().map(TeamId::as_str),
        model_group = %r.model_group,
        deployment = %r.deployment,
        status = r.status,
        latency_ms = r.latency_ms,
        tokens_in = r.tokens_in,
        tokens_out = r.tokens_out,
        cost_micro_usd = r.cost_micro_usd,
        unpriced = r.unpriced,
        "request"
    );
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
