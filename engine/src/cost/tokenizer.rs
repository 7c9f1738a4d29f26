//! Exact BPE counts with OpenAI's o200k_base and cl100k_base ranks, embedded in the binary
//! (the `tiktoken-rs` crate ships them; nothing is downloaded at run time).
//!
//! **Loaded lazily, off the request path.** Parsing a rank file takes 0.2–0.35 s and 25–45
//! MiB of memory (measured: docs/BENCHMARKS.md), so nothing is loaded at start-up (an idle
//! gateway stays small) and only the encodings the configured models need are ever loaded.
//! The first estimate that wants an encoding starts loading it on a background thread and
//! falls back to the one-pass heuristic ([`estimate_text_tokens`]) until it is ready: no
//! admission ever waits for a rank file. [`load_now`] loads synchronously (tests, benches,
//! an operator who prefers to pay at start-up).
//!
//! **Bounded per request.** tiktoken-rs counts ~27 MB/s with o200k and ~16 MB/s with cl100k
//! on a quiet core (docs/BENCHMARKS.md: 37 µs and 64 µs for 1 KB), against ~300 MB/s for the
//! heuristic. One request's estimate therefore counts at most a budget of bytes exactly
//! ([`Budget`]; [`EXACT_BYTES_PER_REQUEST`], 4 KiB, by default: ≤ ~0.15–0.26 ms; config
//! `limits.exact_token_bytes`, 0 = none) and the rest with the heuristic (which errs high:
//! 1.07–2.2× on the fixtures), so no admission costs milliseconds however long the prompt.
//! Typical chat turns fit in it; long prompts are exact for their first 4 KiB only.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tiktoken_rs::CoreBPE;

use super::estimate::estimate_text_tokens;

/// Bytes of one request's text counted exactly; the rest is estimated by the heuristic.
pub const EXACT_BYTES_PER_REQUEST: usize = 4 * 1024;

/// An embedded BPE encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series, gpt-oss.
    O200k,
    /// gpt-4, gpt-3.5-turbo, text-embedding-3-*, text-embedding-ada-002.
    Cl100k,
}

/// One encoding's lazily loaded ranks: `None` inside when the embedded data failed to parse
/// (then the heuristic is used for good).
struct Slot {
    started: AtomicBool,
    bpe: OnceLock<Option<CoreBPE>>,
}

static O200K: Slot = Slot::new();
static CL100K: Slot = Slot::new();

impl Slot {
    const fn new() -> Self {
        Self {
            started: AtomicBool::new(false),
            bpe: OnceLock::new(),
        }
    }

    fn of(encoding: Encoding) -> &'static Slot {
        match encoding {
            Encoding::O200k => &O200K,
            Encoding::Cl100k => &CL100K,
        }
    }

    fn load(&self, encoding: Encoding) -> Option<&CoreBPE> {
        self.bpe
            .get_or_init(|| {
                let parsed = match encoding {
                    Encoding::O200k => tiktoken_rs::o200k_base(),
                    Encoding::Cl100k => tiktoken_rs::cl100k_base(),
                };
                parsed
                    .inspect_err(|e| tracing::warn!("embedded {encoding:?} ranks: {e}"))
                    .ok()
            })
            .as_ref()
    }
}

/// The encoding's ranks if loaded; otherwise starts loading them in the background (once)
/// and answers `None`.
fn ready(encoding: Encoding) -> Option<&'static CoreBPE> {
    let slot = Slot::of(encoding);
    if let Some(bpe) = slot.bpe.get() {
        return bpe.as_ref();
    }
    if !slot.started.swap(true, Ordering::AcqRel) {
        let spawned = std::thread::Builder::new()
            .name("portcullis-tokenizer".into())
            .spawn(move || {
                Slot::of(encoding).load(encoding);
            });
        if spawned.is_err() {
            // No thread: try again on a later estimate.
            slot.started.store(false, Ordering::Release);
        }
    }
    None
}

/// Loads `encoding` now, on this thread; `false` if the embedded data would not parse.
pub fn load_now(encoding: Encoding) -> bool {
    let slot = Slot::of(encoding);
    slot.started.store(true, Ordering::Release);
    slot.load(encoding).is_some()
}

/// Exact token count of `text` (no special tokens: a literal `<|endoftext|>` in a prompt is
/// counted as text), or `None` while the encoding is not loaded.
pub fn count_exact(encoding: Encoding, text: &str) -> Option<u64> {
    ready(encoding).map(|bpe| bpe.encode_ordinary(text).len() as u64)
}

/// Bytes of text one estimate may still count exactly.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
}

impl Budget {
    /// [`EXACT_BYTES_PER_REQUEST`].
    pub fn per_request() -> Self {
        Self::bytes(EXACT_BYTES_PER_REQUEST)
    }

    /// A budget of `bytes` (tests, benches).
    pub fn bytes(bytes: usize) -> Self {
        Self { left: bytes }
    }

    /// Tokens of `text` under `encoding`: exact for the part that fits the budget (cut at a
    /// line or word boundary where one is near), the heuristic for the rest or when the
    /// ranks are not loaded.
    pub fn count(&mut self, encoding: Encoding, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        if self.left == 0 {
            return estimate_text_tokens(text);
        }
        let Some(bpe) = ready(encoding) else {
            return estimate_text_tokens(text);
        };
        let cut = split_point(text, self.left);
        // A text that did not fit spends the whole budget (the cut may fall short of it).
        self.left = if cut == text.len() {
            self.left - cut
        } else {
            0
        };
        let (exact, rest) = text.split_at(cut);
        (bpe.encode_ordinary(exact).len() as u64).saturating_add(estimate_text_tokens(rest))
    }
}

/// Where to cut `text` so that the first part is at most `limit` bytes: the whole text if it
/// fits; else before the last whitespace within the limit (so no word is split, a space
/// joins the word after it as BPE pre-tokenizers do), else at a char boundary.
fn split_point(text: &str, limit: usize) -> usize {
    if text.len() <= limit {
        return text.len();
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let window = &text.as_bytes()[..cut];
    match window.iter().rposition(u8::is_ascii_whitespace) {
        Some(space) if space > 0 => space,
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_keeps_short_texts_whole_and_cuts_long_ones_before_a_space() {
        assert_eq!(split_point("short", 64), 5);
        assert_eq!(split_point("alpha beta gamma", 12), 10);
        // No whitespace: cut at the limit, never inside a character.
        assert_eq!(split_point("ééé", 3), 2);
    }

    #[test]
    fn a_spent_budget_counts_the_rest_with_the_heuristic() {
        assert!(load_now(Encoding::O200k));
        let text = "the budget is settled. ".repeat(100);
        let mut none = Budget::bytes(0);
        assert_eq!(
            none.count(Encoding::O200k, &text),
            estimate_text_tokens(&text)
        );
        let mut all = Budget::bytes(1 << 20);
        assert_eq!(
            all.count(Encoding::O200k, &text),
            count_exact(Encoding::O200k, &text).unwrap_or(0)
        );
        assert_eq!(all.left, (1 << 20) - text.len());
    }

    #[test]
    fn a_budget_is_shared_by_every_text_of_one_estimate() {
        assert!(load_now(Encoding::O200k));
        let word = "settled ".repeat(1_000); // 8 000 bytes
        let mut budget = Budget::bytes(12_000);
        let first = budget.count(Encoding::O200k, &word);
        assert_eq!(Some(first), count_exact(Encoding::O200k, &word));
        // The second text is counted exactly up to the last space in the 4 000 bytes left.
        let second = budget.count(Encoding::O200k, &word);
        let exact_part = count_exact(Encoding::O200k, &word[..3_999]).unwrap_or(0);
        let heuristic_rest = estimate_text_tokens(&word[3_999..]);
        assert_eq!(second, exact_part + heuristic_rest);
        assert_eq!(budget.left, 0);
        assert_eq!(
            budget.count(Encoding::O200k, &word),
            estimate_text_tokens(&word)
        );
    }
}
