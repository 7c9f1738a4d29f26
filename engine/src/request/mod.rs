//! The client's chat request, validated at the boundary.
//!
//! The body is parsed once, strictly ([`strict_json`]), checked for the fields the gateway
//! must understand (`model`, `messages`, `stream`, `stream_options`), for the shape of every
//! message and the configured maxima ([`ChatLimits`], `validate.rs`), and for fields that
//! would let a client steer the gateway (`api_base`, `api_key`, ...). Everything else is kept and
//! forwarded, so new OpenAI parameters work without a gateway release. The upstream body is
//! re-serialised from this validated value; the client's raw bytes are never forwarded.

pub(crate) mod embeddings;
pub mod strict_json;
mod validate;

use serde_json::{Map, Value};

pub use validate::ChatLimits;

use crate::error::RequestError;

/// Body fields that other gateways interpret as "send this request elsewhere" or "use this
/// credential". Portcullis takes upstreams and credentials from its config only, so a client
/// sending any of these is refused rather than silently ignored.
pub const OVERRIDE_FIELDS: &[&str] = &[
    "api_base",
    "base_url",
    "api_key",
    "api_version",
    "api_type",
    "azure_endpoint",
    "azure_ad_token",
    "azure_deployment",
    "extra_headers",
    "extra_query",
    "headers",
    "custom_llm_provider",
    "organization",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region_name",
    "aws_profile_name",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "litellm_params",
    "mock_response",
    "proxy",
];

/// Longest accepted model name, in characters (the config applies the same limit).
const MAX_MODEL_LEN: usize = 256;

/// A validated chat completions request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    body: Map<String, Value>,
    model: String,
    stream: bool,
    client_wants_usage: bool,
    max_tokens: Option<u64>,
}

impl ChatRequest {
    /// Parses and validates a request body under the default [`ChatLimits`].
    pub fn parse(bytes: &[u8], max_depth: usize) -> Result<ChatRequest, RequestError> {
        Self::parse_with(bytes, max_depth, &ChatLimits::default())
    }

    /// Parses and validates a request body under `limits`.
    pub fn parse_with(
        bytes: &[u8],
        max_depth: usize,
        limits: &ChatLimits,
    ) -> Result<ChatRequest, RequestError> {
        let Value::Object(body) = strict_json::parse_strict(bytes, max_depth)? else {
            return Err(RequestError::NotAnObject);
        };
        Self::from_object_with(body, limits)
    }

    /// Validates an already parsed body (an ingress's canonical form) under the default
    /// [`ChatLimits`].
    pub fn from_object(body: Map<String, Value>) -> Result<ChatRequest, RequestError> {
        Self::from_object_with(body, &ChatLimits::default())
    }

    /// Validates an already parsed body exactly as [`parse_with`](Self::parse_with) does
    /// after parsing.
    pub fn from_object_with(
        body: Map<String, Value>,
        limits: &ChatLimits,
    ) -> Result<ChatRequest, RequestError> {
        refuse_override_fields(&body)?;
        let model = model_field(&body)?;
        match body.get("messages") {
            None => return Err(RequestError::MissingField("messages")),
            Some(Value::Array(items)) if !items.is_empty() => {
                validate::check_messages(items, limits)?;
            }
            Some(_) => {
                return Err(RequestError::InvalidField {
                    field: "messages",
                    reason: "must be a non-empty array",
                });
            }
        }
        let stream = match body.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(RequestError::InvalidField {
                    field: "stream",
                    reason: "must be a boolean",
                });
            }
        };
        let client_wants_usage = match body.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(Value::Object(options)) => match options.get("include_usage") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(RequestError::InvalidField {
                        field: "stream_options",
                        reason: "`include_usage` must be a boolean",
                    });
                }
            },
            Some(_) => {
                return Err(RequestError::InvalidField {
                    field: "stream_options",
                    reason: "must be an object",
                });
            }
        };
        let max_tokens =
            token_cap(&body, "max_completion_tokens")?.or(token_cap(&body, "max_tokens")?);
        validate::check_limits(&body, limits)?;
        Ok(ChatRequest {
            body,
            model,
            stream,
            client_wants_usage,
            max_tokens,
        })
    }

    /// The public model name the client asked for.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// Whether the client asked for the usage chunk on a stream.
    pub fn client_wants_usage(&self) -> bool {
        self.client_wants_usage
    }

    /// `max_completion_tokens`, else `max_tokens`, if the client bounded the completion.
    pub fn max_tokens(&self) -> Option<u64> {
        self.max_tokens
    }

    /// Bounds the completion at `n` tokens (a budget's worst case must hold): sets
    /// `max_completion_tokens` if the client used that field, else `max_tokens`.
    pub fn set_max_tokens(&mut self, n: u64) {
        let field = if self.body.contains_key("max_completion_tokens") {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        self.body.insert(field.to_owned(), Value::from(n));
        self.max_tokens = Some(n);
    }

    /// The validated request object: the canonical form every provider translates from.
    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }
}

fn is_override_field(key: &str) -> bool {
    OVERRIDE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key))
}

/// Refuses a body that names any [`OVERRIDE_FIELDS`] member (in any letter case). Every
/// request kind the gateway accepts runs this same check.
pub(crate) fn refuse_override_fields(body: &Map<String, Value>) -> Result<(), RequestError> {
    match body.keys().find(|k| is_override_field(k)) {
        Some(field) => Err(RequestError::OverrideField(field.clone())),
        None => Ok(()),
    }
}

/// The required `model`: a string that [`model_name_problem`] accepts.
pub(crate) fn model_field(body: &Map<String, Value>) -> Result<String, RequestError> {
    match body.get("model") {
        None | Some(Value::Null) => Err(RequestError::MissingField("model")),
        Some(Value::String(m)) => match model_name_problem(m) {
            None => Ok(m.clone()),
            Some(reason) => Err(RequestError::InvalidModelName(reason)),
        },
        Some(_) => Err(RequestError::InvalidField {
            field: "model",
            reason: "must be a string",
        }),
    }
}

/// Why `name` cannot be a model name, or `None` when it can be one.
///
/// A request's model is only ever looked up among the configured names, so none of these
/// could reach an upstream anyway; refusing them here answers a clear 400 instead of "not
/// found", and the config checks public names (groups and aliases) with this same function,
/// so every name an operator can configure is one a client can ask for. Names keep what
/// real model names use: `/` between segments (`accounts/fireworks/models/x`,
/// `openai/gpt-4o`), `:` (`llama3.1:8b`), `.`, spaces, and an `@version` suffix
/// (`claude-3-5-sonnet-v2@20241022`, `text-bison@latest`).
pub fn model_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.chars().count() > MAX_MODEL_LEN {
        return Some("is longer than 256 characters");
    }
    if name.chars().any(char::is_control) {
        return Some("contains a control character");
    }
    if name.contains("://") {
        return Some("is a URL; name a configured model instead");
    }
    if name.contains(['#', '?', '%', '\\']) {
        return Some("contains `#`, `?`, `%` or `\\`, which no model name uses");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Some("starts or ends with `/` or contains `//`");
    }
    if name
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Some("has a `.` or `..` path segment");
    }
    if let Some((base, version)) = name.split_once('@') {
        let is_version = (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()))
            || version == "latest"
            || version == "default";
        if base.is_empty() || !is_version {
            return Some(
                "has an `@` that is not a version suffix (`name@20241022`, `name@latest`)",
            );
        }
    }
    None
}

fn token_cap(body: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, RequestError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(RequestError::InvalidField {
            field,
            reason: "must be a non-negative integer",
        }),
        Some(_) => Err(RequestError::InvalidField {
            field,
            reason: "must be a non-negative integer",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ChatRequest, RequestError> {
        ChatRequest::parse(body.as_bytes(), 64)
    }

    const OK: &str = r#"{"model":"gpt","messages":[{"role":"user","content":"hi"}]}"#;

    #[test]
    fn parses_a_minimal_request() {
        let req = parse(OK).unwrap();
        assert_eq!(req.model(), "gpt");
        assert!(!req.is_stream());
        assert!(!req.client_wants_usage());
        assert_eq!(req.max_tokens(), None);
    }

    #[test]
    fn rejects_every_override_field_in_any_case() {
        for field in OVERRIDE_FIELDS {
            let body = format!(
                r#"{{"model":"gpt","messages":[{{"role":"user","content":"x"}}],"{}":"http://evil"}}"#,
                field.to_uppercase()
            );
            let err = parse(&body).unwrap_err();
            assert!(
                matches!(err, RequestError::OverrideField(_)),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn requires_model_and_messages() {
        assert_eq!(
            parse(r#"{"messages":[{"role":"user","content":"x"}]}"#).unwrap_err(),
            RequestError::MissingField("model")
        );
        assert_eq!(
            parse(r#"{"model":"m"}"#).unwrap_err(),
            RequestError::MissingField("messages")
        );
        assert_eq!(
            parse(r#"{"model":"","messages":[{"role":"user","content":"x"}]}"#).unwrap_err(),
            RequestError::InvalidModelName("is empty")
        );
        assert!(matches!(
            parse(r#"{"model":7,"messages":[{"role":"user","content":"x"}]}"#).unwrap_err(),
            RequestError::InvalidField { field: "model", .. }
        ));
        assert!(matches!(
            parse(r#"{"model":"m","messages":[]}"#).unwrap_err(),
            RequestError::InvalidField {
                field: "messages",
                ..
            }
        ));
        assert_eq!(parse("[1]").unwrap_err(), RequestError::NotAnObject);
    }

    #[test]
    fn malformed_model_names_are_a_dedicated_error_naming_the_field() {
        let long = "m".repeat(257);
        for name in [
            "gpt/../../admin",
            "..",
            "a/./b",
            "gpt#fragment",
            "gpt?api-version=1",
            "gpt%2F..%2F",
            "a\\b",
            "user@attacker",
            "user@attacker.example",
            "@001",
            "gpt@",
            "a@1@2",
            "http://127.0.0.1:8080/v1",
            "//127.0.0.1/v1",
            "/gpt",
            "gpt/",
            "a//b",
            "gpt\r\nHost: attacker",
            "gpt\u{0}",
            long.as_str(),
        ] {
            let body =
                serde_json::json!({"model": name, "messages": [{"role": "user", "content": "x"}]});
            let err = parse(&body.to_string()).unwrap_err();
            assert!(
                matches!(err, RequestError::InvalidModelName(_)),
                "{name:?}: {err:?}"
            );
            assert_eq!(err.param(), Some("model"));
            assert_eq!(err.kind(), "invalid_model_name");
            assert!(
                err.to_string()
                    .starts_with("`model` is not a valid model name")
            );
            // The message never quotes the value.
            assert!(
                name.len() < 4 || !err.to_string().contains(name),
                "{name:?}"
            );
        }
    }

    #[test]
    fn real_model_names_are_accepted() {
        let at_limit = "m".repeat(256);
        for name in [
            "gpt-4o",
            "gpt-4o-mini-2024-07-18",
            "claude-3-5-sonnet-20241022",
            "claude-3-5-sonnet-v2@20241022",
            "gemini-1.5-pro@002",
            "text-bison@latest",
            "llama3.1:8b",
            "accounts/fireworks/models/llama-v3p1-8b-instruct",
            "openai/gpt-4o",
            "Qwen/Qwen2.5-72B-Instruct",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude",
            "my model",
            "ft:gpt-4o-mini:acme::abc123",
            at_limit.as_str(),
        ] {
            assert_eq!(model_name_problem(name), None, "{name}");
        }
    }

    #[test]
    fn a_budget_can_bound_the_completion() {
        let mut req = parse(OK).unwrap();
        req.set_max_tokens(64);
        assert_eq!(req.max_tokens(), Some(64));
        assert_eq!(req.body()["max_tokens"], 64);
        let mut newer =
            parse(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":9000}"#).unwrap();
        newer.set_max_tokens(10);
        assert_eq!(newer.body()["max_completion_tokens"], 10);
        assert!(newer.body().get("max_tokens").is_none());
    }

    #[test]
    fn reads_stream_usage_and_token_caps() {
        let req = parse(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":7,"max_completion_tokens":9}"#,
        )
        .unwrap();
        assert!(req.is_stream());
        assert!(req.client_wants_usage());
        assert_eq!(req.max_tokens(), Some(9));
        assert!(matches!(
            parse(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#)
                .unwrap_err(),
            RequestError::InvalidField {
                field: "stream",
                ..
            }
        ));
        assert!(matches!(
            parse(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1}"#)
                .unwrap_err(),
            RequestError::InvalidField {
                field: "max_tokens",
                ..
            }
        ));
    }
}
