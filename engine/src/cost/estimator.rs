//! The prompt estimate admission reserves TPM and budget against: exact BPE counts for
//! OpenAI's models, the o200k or cl100k count × a family factor for the others (see
//! [`family`](super::family) and the error table in [`estimate`](super::estimate)), the
//! heuristic for what the tokenizer does not cover (images, audio, text past the per-request
//! byte budget, the moments before the ranks are loaded).
//!
//! One [`Estimator`] per model group, built at start-up from the upstream models its
//! deployments and fallbacks route to; when those span families the largest estimate wins,
//! so the reservation holds whichever deployment serves the request.

use serde_json::{Map, Value};

use super::estimate::{IMAGE_TOKENS, is_image_part};
use super::family::{Families, Profile};
use super::tokenizer::{Budget, EXACT_BYTES_PER_REQUEST, Encoding};

/// Request fields rendered into the prompt with their keys (tool and output schemas).
const SCHEMA_FIELDS: &[&str] = &["tools", "functions", "tool_choice", "response_format"];
/// Fields whose presence makes a provider add its tool-use system prompt.
const TOOL_FIELDS: &[&str] = &["tools", "functions"];

/// Estimates the prompt tokens of requests to one model group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimator {
    families: Families,
    /// Bytes of one request's text counted exactly (the rest by the heuristic); 0 = the
    /// heuristic only, and no rank file is ever loaded.
    exact_bytes: usize,
}

impl Estimator {
    /// For requests that may be served by any of `families`.
    pub fn new(families: Families) -> Self {
        Self {
            families,
            exact_bytes: EXACT_BYTES_PER_REQUEST,
        }
    }

    /// This estimator counting at most `bytes` of a request exactly (config
    /// `limits.exact_token_bytes`; 0 turns the tokenizer off).
    pub fn exact_bytes(self, bytes: usize) -> Self {
        Self {
            exact_bytes: bytes,
            ..self
        }
    }

    /// For requests served by these upstream models.
    pub fn for_models<'a>(models: impl IntoIterator<Item = &'a str>) -> Self {
        Self::new(Families::of_models(models))
    }

    /// When nothing is known about the model: the largest estimate of every family.
    pub fn unknown() -> Self {
        Self::new(Families::unknown())
    }

    /// Prompt tokens of an OpenAI-shaped chat request body: its messages (every string in
    /// them, images at [`IMAGE_TOKENS`]) and its schemas (keys included), with the family's
    /// per-request, per-message and tool framing.
    pub fn chat_prompt_tokens(&self, body: &Map<String, Value>) -> u64 {
        let mut tally = Tally::new(self.families, self.exact_bytes);
        let mut messages = 0u64;
        if let Some(Value::Array(list)) = body.get("messages") {
            for message in list {
                messages += 1;
                tally.walk(message, false);
            }
        }
        for field in SCHEMA_FIELDS {
            if let Some(schema) = body.get(*field) {
                tally.walk(schema, true);
            }
        }
        let tools = TOOL_FIELDS
            .iter()
            .any(|f| matches!(body.get(*f), Some(Value::Array(a)) if !a.is_empty()));
        tally.finish(|p| {
            let framing = p
                .per_request
                .saturating_add(p.per_message.saturating_mul(messages));
            framing.saturating_add(if tools { p.with_tools } else { 0 })
        })
    }

    /// Tokens of an embeddings request's `input`: strings counted like chat text, arrays of
    /// token ids counted exactly (one per id), no framing.
    pub fn embedding_input_tokens(&self, input: &Value) -> u64 {
        let mut tally = Tally::new(self.families, self.exact_bytes);
        tally.walk(input, false);
        tally.finish(|_| 0)
    }
}

/// What one estimate has counted so far.
struct Tally {
    families: Families,
    o200k: Option<(Budget, u64)>,
    cl100k: Option<(Budget, u64)>,
    /// Tokens the same for every family: images, numbers, booleans, token ids.
    fixed: u64,
}

impl Tally {
    fn new(families: Families, exact_bytes: usize) -> Self {
        let counter = |e| families.uses(e).then(|| (Budget::bytes(exact_bytes), 0));
        Self {
            families,
            o200k: counter(Encoding::O200k),
            cl100k: counter(Encoding::Cl100k),
            fixed: 0,
        }
    }

    fn text(&mut self, text: &str) {
        for (encoding, slot) in [
            (Encoding::O200k, &mut self.o200k),
            (Encoding::Cl100k, &mut self.cl100k),
        ] {
            if let Some((budget, total)) = slot {
                *total = total.saturating_add(budget.count(encoding, text));
            }
        }
    }

    /// Counts the strings (and, for schemas, keys and one token of punctuation per object)
    /// in `value`, without recursion.
    fn walk(&mut self, value: &Value, schema: bool) {
        let mut stack = vec![value];
        while let Some(value) = stack.pop() {
            match value {
                Value::String(text) => self.text(text),
                Value::Number(_) | Value::Bool(_) => self.fixed = self.fixed.saturating_add(1),
                Value::Null => {}
                Value::Array(items) => stack.extend(items),
                Value::Object(map) if is_image_part(map) => {
                    self.fixed = self.fixed.saturating_add(IMAGE_TOKENS);
                }
                Value::Object(map) => {
                    stack.extend(map.values());
                    if schema {
                        self.fixed = self.fixed.saturating_add(1);
                        for key in map.keys() {
                            self.text(key);
                        }
                    }
                }
            }
        }
    }

    /// The largest estimate over the families' profiles, `framing` added to each.
    fn finish(self, framing: impl Fn(&Profile) -> u64) -> u64 {
        self.families
            .profiles()
            .map(|p| {
                let counted = match p.encoding {
                    Encoding::O200k => self.o200k.as_ref().map_or(0, |c| c.1),
                    Encoding::Cl100k => self.cl100k.as_ref().map_or(0, |c| c.1),
                };
                let scaled = (u128::from(counted) * u128::from(p.factor_tenths)).div_ceil(10);
                u64::try_from(scaled)
                    .unwrap_or(u64::MAX)
                    .saturating_add(self.fixed)
                    .saturating_add(framing(&p))
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
#[path = "estimator_tests.rs"]
mod tests;
