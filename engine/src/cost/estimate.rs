//! Token and cost estimates before a request is admitted (TPM reservations, budget holds):
//! the one-pass heuristic, the per-family error table, and the money arithmetic.
//!
//! **What admission uses.** [`Estimator`](super::Estimator) (`estimator.rs`): exact BPE
//! counts with OpenAI's o200k_base / cl100k_base ranks embedded in the binary
//! ([`tokenizer`](super::tokenizer), tiktoken-rs), scaled for other families
//! ([`family`](super::family)). The heuristic below is its fallback: for text past the
//! per-request exact-byte budget (4 KiB: tiktoken-rs counts at ~7 MB/s, so no admission
//! costs milliseconds), while the
//! ranks load in the background after the first use, and if they ever fail to parse. The
//! estimate is settled to the provider's reported usage afterwards, so it must be cheap and
//! err high, not be exact.
//!
//! **Error per provider family** (estimate ÷ the provider's count). OpenAI's models are
//! counted exactly (checked in `estimator_tests.rs` against tiktoken's counts of the 14
//! fixtures in `testdata/`). The others have no embeddable tokenizer: their estimate is an
//! OpenAI count × a factor with a margin, measured against what the providers publish.
//!
//! | family | counted as | published reference → our estimate | error |
//! | --- | --- | --- | --- |
//! | OpenAI gpt-4o, 4.1, 4.5, 5, o-series, gpt-oss | o200k, exact; +3/request, +4/message | fixtures: exact | 1.00 on text (+ framing: 3 + 4 per message + the role's token, OpenAI's 3 + 3 per message + 1 per name) |
//! | OpenAI gpt-4, gpt-3.5, embeddings | cl100k, exact | fixtures: exact | 1.00 |
//! | Anthropic Claude | cl100k × 1.6; +8/request, +4/message, +350 with tools | docs: system + "Hello, Claude" = 14 → 31; with the get_weather tool = 403 → 443 | 2.2× (framing-dominated), 1.10×; English prose ≈ 1.15× (Opus 4.7, 3.60 chars/token published measurement) to 1.4× (4.6, 4.33); technical Markdown ≈ 1.06× (4.7) to 1.5× (4.6) |
//! | Google Gemini, Gemma | o200k × 1.3; +3/request, +4/message | docs: "The quick brown fox jumps over the lazy dog." = 10 counted, 11 prompt usage → 22 | 2.0× (framing-dominated); English ≈ 1.04× Google's "about 4 characters per token" |
//! | Meta Llama | cl100k × 1.3; +10/request, +6/message | Llama 3's vocabulary is cl100k's plus 28k tokens (about cl100k's count on English, fewer elsewhere); Llama 2 up to ~1.18× Llama 3 (Meta: "up to 15% fewer tokens") | ≥ 1.3× (Llama 3), ≈ 1.1× (Llama 2) |
//! | Mistral | cl100k × 1.4; +10/request, +6/message | Tekken (NeMo and later) beats Llama 3's tokenizer on ~85% of languages; the older 32k SentencePiece models are Llama 2-like | ≥ 1.4× (Tekken), ≈ 1.2× (older) |
//! | Amazon Nova, Titan | cl100k × 1.6 | nothing published | not measured: Claude's margin |
//! | Cohere Command, Embed | o200k × 1.4 | nothing published (255k multilingual vocabulary) | not measured |
//! | unknown model name | cl100k × 1.6, the largest framing (+12/request, +6/message, +350 with tools) | | ≥ each family's (o200k ≤ ~1.14× cl100k) |
//!
//! Text under non-OpenAI families is scaled from cl100k where the family's vocabulary is
//! small (it splits non-English text finely, as cl100k does: Russian 93 cl100k vs 47 o200k
//! tokens on the fixture) and from o200k where it is large and multilingual (Gemini,
//! Cohere). The family factors are cross-text comparisons, not same-text counts: replace
//! them with measured same-text ratios when a provider's counts of the fixtures are at hand
//! (Anthropic's and Gemini's `count_tokens` endpoints give them for free).
//!
//! **The heuristic.** Text is split the way BPE pre-tokenizers split it: ASCII letter runs
//! (further split at lower→upper case changes) cost ⌈L/4⌉, or ⌈2L/3⌉ for segments with two or
//! more capitals (base64, hashes, acronyms); digit runs ⌈L/3⌉ (OpenAI splits numbers into
//! groups of three); punctuation runs ⌈L/2⌉; a run of several spaces or any line break 1; a
//! single space 0 (it joins the next word); non-ASCII text ⌈bytes/2⌉ (1 token per Cyrillic
//! or accented letter, 1.5 per CJK character, 2 per emoji). The sum is raised by 10%. On the
//! fixtures it is 1.07–2.2× the larger of the o200k and cl100k counts (about 1.5× for
//! English prose and source code, 1.1–1.2× for numbers, ids and base64, 1.5–1.6× for
//! Chinese and Japanese, 2.1× for Russian), never below either. Indic scripts, which cl100k
//! splits into more than ⌈bytes/2⌉ tokens, and adversarial text can be under-estimated.
//!
//! Chat requests add [`PER_MESSAGE_TOKENS`] per message and [`PER_REQUEST_TOKENS`] (OpenAI's
//! documented framing is 3 + 1 per name, and 3 to prime the reply), and [`IMAGE_TOKENS`] per
//! image part, in the heuristic and in the [`Estimator`](super::Estimator) alike (Claude's
//! largest resized image is ~1,600 tokens, gpt-4o's high-detail 2048×768 image 1,445;
//! gpt-4o-mini reports ~33× more tokens per image, at the same cost, and is
//! under-estimated). Audio and file parts are counted as their base64 text: far too high,
//! never too low.

use serde_json::{Map, Value};

use crate::cost::money::MicroUsd;
use crate::cost::price::{Price, micros_rounded_up};

/// Tokens of framing around each chat message.
pub const PER_MESSAGE_TOKENS: u64 = 4;
/// Tokens of framing per chat request (priming the assistant's reply).
pub const PER_REQUEST_TOKENS: u64 = 3;
/// Tokens charged for one image part.
pub const IMAGE_TOKENS: u64 = 1_600;

/// Request fields whose JSON is rendered into the prompt with its keys (tool schemas,
/// structured-output schemas).
const SCHEMA_FIELDS: &[&str] = &["tools", "functions", "tool_choice", "response_format"];
/// Content part types that carry an image.
const IMAGE_PART_TYPES: &[&str] = &["image_url", "image", "input_image"];

/// Estimated tokens of `text`, on the high side (see the module docs for the error).
pub fn estimate_text_tokens(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut tokens: u64 = 0;
    let mut non_ascii: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let run = |i: &mut usize, pred: fn(u8) -> bool| {
            while *i < bytes.len() && pred(bytes[*i]) {
                *i += 1;
            }
            (*i - start) as u64
        };
        tokens += match b {
            b if b.is_ascii_alphabetic() => {
                run(&mut i, |b| b.is_ascii_alphabetic());
                letter_run_tokens(&bytes[start..i])
            }
            b if b.is_ascii_digit() => run(&mut i, |b| b.is_ascii_digit()).div_ceil(3),
            b' ' => u64::from(run(&mut i, |b| b == b' ') > 1),
            b'\n' | b'\r' | b'\t' => {
                run(&mut i, |b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'));
                1
            }
            b if b.is_ascii() => run(&mut i, is_ascii_punctuation_like).div_ceil(2),
            _ => {
                non_ascii += run(&mut i, |b| !b.is_ascii());
                0
            }
        };
    }
    let total = tokens.saturating_add(non_ascii.div_ceil(2));
    // +10%, rounded up, in u128 so no input can overflow.
    let raised = (u128::from(total) * 11).div_ceil(10);
    u64::try_from(raised).unwrap_or(u64::MAX)
}

fn is_ascii_punctuation_like(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_alphanumeric() && !matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Tokens of one run of ASCII letters: split at lower→upper changes (`getHTTPResponse` →
/// `get`, `HTTPResponse`), then each segment by how word-like it is.
fn letter_run_tokens(run: &[u8]) -> u64 {
    let mut tokens = 0;
    let mut segment_start = 0;
    for i in 1..=run.len() {
        let boundary =
            i == run.len() || (run[i].is_ascii_uppercase() && run[i - 1].is_ascii_lowercase());
        if boundary {
            tokens += segment_tokens(&run[segment_start..i]);
            segment_start = i;
        }
    }
    tokens
}

fn segment_tokens(segment: &[u8]) -> u64 {
    let len = segment.len() as u64;
    let capitals = segment.iter().filter(|b| b.is_ascii_uppercase()).count();
    if capitals >= 2 && len > 2 {
        (2 * len).div_ceil(3)
    } else {
        len.div_ceil(4)
    }
}

/// Estimated prompt tokens of an OpenAI-shaped chat request body: its `messages` (every
/// string in them, images at [`IMAGE_TOKENS`]) and the schemas it sends (`tools`,
/// `functions`, `tool_choice`, `response_format`, keys included).
pub fn estimate_chat_prompt_tokens(body: &Map<String, Value>) -> u64 {
    let mut tokens = PER_REQUEST_TOKENS;
    if let Some(Value::Array(messages)) = body.get("messages") {
        for message in messages {
            tokens = tokens
                .saturating_add(PER_MESSAGE_TOKENS)
                .saturating_add(json_tokens(message, false));
        }
    }
    for field in SCHEMA_FIELDS {
        if let Some(schema) = body.get(*field) {
            tokens = tokens.saturating_add(json_tokens(schema, true));
        }
    }
    tokens
}

/// Estimated tokens of an embeddings request's `input`: a string, an array of strings, or
/// pre-tokenized arrays of token ids (counted exactly, one per id).
pub fn estimate_embedding_input_tokens(input: &Value) -> u64 {
    match input {
        Value::Number(_) => 1,
        Value::Array(items) => items
            .iter()
            .map(estimate_embedding_input_tokens)
            .fold(0, u64::saturating_add),
        other => json_tokens(other, false),
    }
}

/// Tokens of the strings (and, for schemas, keys) in `value`, walked without recursion.
fn json_tokens(value: &Value, count_keys: bool) -> u64 {
    let mut tokens: u64 = 0;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        let add = match value {
            Value::String(text) => estimate_text_tokens(text),
            Value::Number(_) | Value::Bool(_) => 1,
            Value::Null => 0,
            Value::Array(items) => {
                stack.extend(items);
                0
            }
            Value::Object(map) if is_image_part(map) => IMAGE_TOKENS,
            Value::Object(map) => {
                stack.extend(map.values());
                if count_keys {
                    map.keys()
                        .map(|key| estimate_text_tokens(key))
                        .fold(0, u64::saturating_add)
                } else {
                    0
                }
            }
        };
        tokens = tokens.saturating_add(add);
    }
    tokens
}

pub(crate) fn is_image_part(part: &Map<String, Value>) -> bool {
    matches!(part.get("type"), Some(Value::String(kind)) if IMAGE_PART_TYPES.contains(&kind.as_str()))
}

/// The most a request can cost: every prompt token at the dearest prompt rate (input, cache
/// read or cache write, whichever is highest) and `max_tokens` of output, at the rates for a
/// prompt of `prompt_estimate` tokens. Rounded up like [`cost`](super::price::cost).
pub fn worst_case_cost(price: &Price, prompt_estimate: u64, max_tokens: u64) -> MicroUsd {
    let rates = price.rates_for(prompt_estimate);
    micros_rounded_up(&[
        (prompt_estimate, rates.max_prompt_rate()),
        (max_tokens, rates.output),
    ])
}

/// The largest `max_tokens` whose [`worst_case_cost`] fits in `remaining_budget`, for the
/// policy that clamps `max_tokens` instead of refusing. `0` means even the prompt alone does
/// not fit (refuse the request); `u64::MAX` means output is free for this model (clamp to
/// the model's own limit).
pub fn max_tokens_that_fit(price: &Price, prompt_estimate: u64, remaining_budget: MicroUsd) -> u64 {
    let rates = price.rates_for(prompt_estimate);
    // Work in micro-USD × tokens, where rounding up the total to whole micro-dollars fits
    // the budget exactly when the unrounded total is at most budget × 10^6.
    let allowance = u128::from(remaining_budget.as_micros()) * 1_000_000;
    let prompt = u128::from(prompt_estimate) * u128::from(rates.max_prompt_rate().as_micros());
    let Some(left) = allowance.checked_sub(prompt) else {
        return 0;
    };
    let output_rate = u128::from(rates.output.as_micros());
    if output_rate == 0 {
        return u64::MAX;
    }
    u64::try_from(left / output_rate).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "estimate_tests.rs"]
mod tests;
