//! Engine errors: each knows whose fault it is, whether a retry may help, and a
//! low-cardinality `kind()` for metric labels. Mapping to HTTP happens once, in the api crate.

use std::time::Duration;

/// Who caused a failure. Decides the HTTP class and whether details may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request was wrong; the client may be told exactly why.
    Client,
    /// The provider failed or refused; details stay inside.
    Upstream,
    /// The gateway itself failed; details stay inside.
    Internal,
}

/// A request body the gateway refuses before anything is sent upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("request body has a duplicate key `{0}`")]
    DuplicateKey(String),
    #[error("request body is nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("`{0}` is required")]
    MissingField(&'static str),
    #[error("`{field}` {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    /// `model` is not shaped like a model name (a URL, a path, control characters, ...):
    /// refused before any lookup. The reason names the problem, never quotes the value.
    #[error("`model` is not a valid model name: it {0}")]
    InvalidModelName(&'static str),
    #[error(
        "`{0}` is not accepted: upstream endpoints and credentials are set by the gateway operator"
    )]
    OverrideField(String),
    /// A chat message of the wrong shape; `param` is its path (`messages[3].content[0]`).
    #[error("`{param}` {reason}")]
    InvalidMessage { param: String, reason: &'static str },
    /// A size or cost multiplier over the gateway's configured maximum.
    #[error("`{field}` is over this gateway's limit of {limit}")]
    OverLimit { field: &'static str, limit: u64 },
    /// The request cannot be expressed in the dialect of the provider (or ingress) that
    /// serves it; `message` names the field and quotes no request content.
    #[error("{message}")]
    Untranslatable {
        kind: &'static str,
        field: String,
        message: String,
    },
}

impl RequestError {
    /// The body field the error is about, for the OpenAI `param` member.
    pub fn param(&self) -> Option<&str> {
        match self {
            RequestError::MissingField(field) | RequestError::InvalidField { field, .. } => {
                Some(field)
            }
            RequestError::OverrideField(field) | RequestError::DuplicateKey(field) => Some(field),
            RequestError::InvalidModelName(_) => Some("model"),
            RequestError::InvalidMessage { param, .. } => Some(param),
            RequestError::OverLimit { field, .. } => Some(field),
            RequestError::Untranslatable { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Low-cardinality label.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestError::InvalidJson(_) => "invalid_json",
            RequestError::DuplicateKey(_) => "duplicate_key",
            RequestError::TooDeep(_) => "too_deep",
            RequestError::NotAnObject => "not_an_object",
            RequestError::MissingField(_) => "missing_field",
            RequestError::InvalidField { .. } => "invalid_field",
            RequestError::InvalidModelName(_) => "invalid_model_name",
            RequestError::OverrideField(_) => "override_field",
            RequestError::InvalidMessage { .. } => "invalid_message",
            RequestError::OverLimit { .. } => "over_limit",
            RequestError::Untranslatable { kind, .. } => kind,
        }
    }
}

/// A failure talking to a provider. Never carries upstream bodies or credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("could not connect to the provider")]
    Connect,
    #[error("the provider address is not allowed")]
    EgressDenied,
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider rate-limited the request")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider rejected the gateway's credentials")]
    Unauthorized,
    /// A 4xx the client caused (bad parameter, unknown model upstream, context too long).
    /// `message` is the provider's own message, already scrubbed and truncated.
    #[error("the provider rejected the request: {message}")]
    BadRequest { status: u16, message: String },
    /// The prompt does not fit the model's context window (a client fault; may fall back to
    /// a larger-context group). `message` is scrubbed like `BadRequest`'s.
    #[error("the prompt is too long for the model's context window: {message}")]
    ContextWindowExceeded { message: String },
    /// The provider refused the content (a client fault; may fall back to another group).
    #[error("the provider refused the content: {message}")]
    ContentPolicy { message: String },
    /// 529 or an `overloaded_error`: the provider is shedding load.
    #[error("the provider is overloaded")]
    Overloaded,
    #[error("the provider failed with status {0}")]
    Status(u16),
    #[error("the provider answered with a redirect, which the gateway never follows")]
    Redirect,
    #[error("the provider's response was malformed")]
    Malformed,
    #[error("the provider's response was larger than allowed")]
    TooLarge,
    #[error("the provider's stream broke off")]
    StreamInterrupted,
    /// The provider's answer carried the provider's own credential: refused, never shown.
    #[error("the provider's answer carried the provider's credential and was withheld")]
    CredentialEcho,
}

impl UpstreamError {
    pub fn fault(&self) -> Fault {
        match self {
            UpstreamError::BadRequest { .. }
            | UpstreamError::ContextWindowExceeded { .. }
            | UpstreamError::ContentPolicy { .. } => Fault::Client,
            _ => Fault::Upstream,
        }
    }

    /// Whether another attempt (on this or another deployment) may succeed: connect errors,
    /// timeouts, 408, 429, 500, 502, 503, 504 and 529.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            UpstreamError::Connect
                | UpstreamError::Timeout
                | UpstreamError::RateLimited { .. }
                | UpstreamError::Overloaded
                | UpstreamError::Status(408 | 500 | 502 | 503 | 504 | 529)
        )
    }

    /// Low-cardinality label.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamError::Connect => "upstream_connect",
            UpstreamError::EgressDenied => "egress_denied",
            UpstreamError::Timeout => "upstream_timeout",
            UpstreamError::RateLimited { .. } => "upstream_rate_limited",
            UpstreamError::Unauthorized => "upstream_unauthorized",
            UpstreamError::BadRequest { .. } => "upstream_bad_request",
            UpstreamError::ContextWindowExceeded { .. } => "context_length_exceeded",
            UpstreamError::ContentPolicy { .. } => "content_policy_violation",
            UpstreamError::Overloaded => "upstream_overloaded",
            UpstreamError::Status(_) => "upstream_status",
            UpstreamError::Redirect => "upstream_redirect",
            UpstreamError::Malformed => "upstream_malformed",
            UpstreamError::TooLarge => "upstream_too_large",
            UpstreamError::StreamInterrupted => "upstream_stream_interrupted",
            UpstreamError::CredentialEcho => "upstream_credential_echo",
        }
    }
}

/// Anything the engine can fail with while serving one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("no model named `{0}` is configured")]
    UnknownModel(String),
    /// Every deployment of the group is cooling down after 429s.
    #[error("every deployment of this model is cooling down")]
    AllCoolingDown { retry_after: Duration },
    /// No deployment of the model (or its fallbacks) may take traffic now: breakers open.
    #[error("no deployment of this model is available")]
    Unavailable { retry_after: Option<Duration> },
    /// Every deployment stayed at its concurrency limit for the whole queue wait.
    #[error("every deployment of this model is at its concurrency limit")]
    Saturated,
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl EngineError {
    pub fn fault(&self) -> Fault {
        match self {
            EngineError::Request(_) | EngineError::UnknownModel(_) => Fault::Client,
            EngineError::Upstream(e) => e.fault(),
            EngineError::AllCoolingDown { .. }
            | EngineError::Unavailable { .. }
            | EngineError::Saturated => Fault::Upstream,
            EngineError::Internal(_) => Fault::Internal,
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Upstream(e) => e.is_retryable(),
            EngineError::AllCoolingDown { .. }
            | EngineError::Unavailable { .. }
            | EngineError::Saturated => true,
            _ => false,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Request(e) => e.kind(),
            EngineError::Upstream(e) => e.kind(),
            EngineError::UnknownModel(_) => "unknown_model",
            EngineError::AllCoolingDown { .. } => "cooling_down",
            EngineError::Unavailable { .. } => "overloaded",
            EngineError::Saturated => "saturated",
            EngineError::Internal(_) => "internal",
        }
    }
}
