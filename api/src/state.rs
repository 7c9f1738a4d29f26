//! What every worker shares: auth, the router, limits. Built once per gateway.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use portcullis_engine::{Providers, Router};

use crate::auth::Authenticator;
use crate::governance::Governance;
use crate::metrics::ChatMetrics;
use crate::spend::SpendRecorder;
use crate::stores::Stores;

/// Shared, immutable per-gateway state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub auth: Authenticator,
    pub router: Router,
    /// Rate limits and budgets: the limiter and the admission policy.
    pub governance: Governance,
    /// Every provider with its prepared adapter; workers build their clients over it.
    pub providers: Providers,
    pub limits: RequestLimits,
    /// Model group names, in config order.
    pub models: Vec<Arc<str>>,
    /// Unix time the gateway started; reported as `created` in `/v1/models`.
    pub started_unix: u64,
    pub metrics: Option<PrometheusHandle>,
    /// Pre-registered chat metric handles per model group.
    pub chat_metrics: ChatMetrics,
    /// The same for embeddings (route label `embeddings`).
    pub embedding_metrics: ChatMetrics,
    /// Keys and teams, spend and audit, opened once.
    pub stores: Stores,
    /// Prices per deployment and the spend log's request-path side.
    pub spend: SpendRecorder,
}

/// Limits applied to every request head and body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLimits {
    /// Target and header limits, enforced before routing.
    pub head: crate::http_limits::HeadLimits,
    pub max_body_bytes: usize,
    pub max_json_depth: usize,
    /// Maxima on a chat request's messages and cost multipliers.
    pub chat: portcullis_engine::ChatLimits,
    /// Longest time the whole body may take to arrive.
    pub body_timeout: Duration,
}
