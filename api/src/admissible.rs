//! What admission reads from a request, whatever its kind: the model, an estimate of its
//! input tokens made before any provider counted them, the completion bound, and how to lower
//! that bound when a budget must hold. Chat requests (and the Messages ingress, through their
//! canonical form) and embeddings requests each say it once here.

use portcullis_engine::cost;
use portcullis_engine::{ChatRequest, EmbeddingsRequest};

/// What admission reads from a request of any kind: its model, its estimated input tokens,
/// its completion bound, and how to lower that bound when a budget must hold.
pub(crate) trait Admissible {
    fn model(&self) -> &str;
    /// Estimated input tokens, before any provider counted them, by the model group's
    /// `estimator` (the tokenizer and margin of the families it can route to).
    fn prompt_estimate(&self, estimator: &cost::Estimator) -> u64;
    /// The most completion tokens the request can produce, if bounded.
    fn max_tokens(&self) -> Option<u64>;
    /// Bounds the completion at `n` tokens (called only when `max_tokens` is `None`).
    fn bound_completion(&mut self, n: u64);
}

impl Admissible for ChatRequest {
    fn model(&self) -> &str {
        ChatRequest::model(self)
    }

    fn prompt_estimate(&self, estimator: &cost::Estimator) -> u64 {
        estimator.chat_prompt_tokens(self.body())
    }

    fn max_tokens(&self) -> Option<u64> {
        ChatRequest::max_tokens(self)
    }

    fn bound_completion(&mut self, n: u64) {
        self.set_max_tokens(n);
    }
}

/// An embeddings request produces no completion tokens: it reserves its input only.
impl Admissible for EmbeddingsRequest {
    fn model(&self) -> &str {
        EmbeddingsRequest::model(self)
    }

    fn prompt_estimate(&self, estimator: &cost::Estimator) -> u64 {
        self.body()
            .get("input")
            .map_or(0, |input| estimator.embedding_input_tokens(input))
    }

    fn max_tokens(&self) -> Option<u64> {
        Some(0)
    }

    fn bound_completion(&mut self, _n: u64) {}
}
