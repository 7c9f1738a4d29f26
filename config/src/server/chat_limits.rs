//! `server.chat_limits:` — maxima on a chat request's size and cost multipliers, enforced
//! when the body is parsed (`engine::request`), before admission: the number of messages,
//! `n`, `max_tokens` (and `max_completion_tokens`), `stop` entries, `tools` (and legacy
//! `functions`) and `top_logprobs`. A request over one gets a 400 naming the field.

use portcullis_engine::ChatLimits;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChatLimits {
    #[serde(default)]
    max_messages: Option<Spanned<usize>>,
    #[serde(default)]
    max_n: Option<Spanned<usize>>,
    #[serde(default)]
    max_tokens: Option<Spanned<usize>>,
    #[serde(default)]
    max_stop: Option<Spanned<usize>>,
    #[serde(default)]
    max_tools: Option<Spanned<usize>>,
    #[serde(default)]
    max_top_logprobs: Option<Spanned<usize>>,
}

/// The largest value each maximum may be configured to.
const CEILINGS: ChatLimits = ChatLimits {
    max_messages: 1_000_000,
    max_n: 128,
    max_tokens: 100_000_000,
    max_stop: 64,
    max_tools: 4_096,
    max_top_logprobs: 20,
};

impl Checker<'_> {
    pub(crate) fn chat_limits(&mut self, raw: Option<RawChatLimits>) -> ChatLimits {
        let raw = raw.unwrap_or_default();
        let defaults = ChatLimits::default();
        let mut one = |name: &str, value: Option<&Spanned<usize>>, default: u64, ceiling: u64| {
            let wide = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
            let path = format!("server.chat_limits.{name}");
            self.bounded(&path, value, wide(default), wide(ceiling)) as u64
        };
        ChatLimits {
            max_messages: one(
                "max_messages",
                raw.max_messages.as_ref(),
                defaults.max_messages,
                CEILINGS.max_messages,
            ),
            max_n: one("max_n", raw.max_n.as_ref(), defaults.max_n, CEILINGS.max_n),
            max_tokens: one(
                "max_tokens",
                raw.max_tokens.as_ref(),
                defaults.max_tokens,
                CEILINGS.max_tokens,
            ),
            max_stop: one(
                "max_stop",
                raw.max_stop.as_ref(),
                defaults.max_stop,
                CEILINGS.max_stop,
            ),
            max_tools: one(
                "max_tools",
                raw.max_tools.as_ref(),
                defaults.max_tools,
                CEILINGS.max_tools,
            ),
            max_top_logprobs: one(
                "max_top_logprobs",
                raw.max_top_logprobs.as_ref(),
                defaults.max_top_logprobs,
                CEILINGS.max_top_logprobs,
            ),
        }
    }
}
