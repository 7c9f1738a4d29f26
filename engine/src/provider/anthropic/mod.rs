//! Anthropic's Messages API as a provider behind the OpenAI dialect.
//!
//! Pure translation, no I/O, no clock, no globals: the caller supplies the validated OpenAI
//! request, the deployment's model name, and the time to stamp on responses.
//! - [`build_request`]: OpenAI chat request → Messages API body (mapping decisions in
//!   [`request`]'s docs).
//! - [`translate_response`]: Messages response → `chat.completion` plus [`Usage`].
//! - [`StreamTranslator`]: Messages SSE → `chat.completion.chunk` SSE, any byte split.
//! - [`classify_error`]: an Anthropic error response → [`AnthropicError`] for routing.
//!
//! Headers are the caller's job: `x-api-key`, `anthropic-version` (see
//! [`DEFAULT_ANTHROPIC_VERSION`]) and `anthropic-beta` only as the operator configured.
//!
//! [`Usage`]: crate::usage::Usage

pub mod error;
pub mod request;
pub mod response;
pub(crate) mod sse;
pub mod stream;
pub(crate) mod wire;

pub use error::{
    AnthropicError, ErrorKind, MalformedUpstream, StreamError, TranslateError, classify_error,
};
pub use request::build_request;
pub use response::translate_response;
pub use stream::{StreamOptions, StreamTranslator};

/// The `anthropic-version` header value sent unless the operator configures another.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Per-deployment translation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnthropicOptions {
    /// `max_tokens` when the client set neither `max_tokens` nor `max_completion_tokens`
    /// (Anthropic requires one). Default 4096: within every current Claude model's output
    /// limit, and the amount budgets reserve for such a request.
    pub default_max_tokens: u64,
    /// Thinking budgets for `reasoning_effort` low, medium, high. Default 1024, 4096, 16384.
    pub thinking_budgets: [u64; 3],
}

impl Default for AnthropicOptions {
    fn default() -> Self {
        Self {
            default_max_tokens: 4096,
            thinking_budgets: [1024, 4096, 16384],
        }
    }
}
