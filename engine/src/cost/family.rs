//! Tokenizer families: which embedded encoding a model's prompt is counted with, the factor
//! that turns that count into the family's own (with a margin), and the family's framing.
//!
//! The family is read from the upstream model name (after any `vendor/`, `models/` or
//! Bedrock `region.vendor.` prefix), so it is the same whether Claude is served by Anthropic,
//! Bedrock or Vertex AI. A name that matches no rule is [`Family::Unknown`], whose profile is
//! at least every family's (one encoding, cl100k, the largest factor and framing). Each factor's source and measured error are in the
//! module docs of [`estimate`](super::estimate) and in docs/LIMITS.md.

use super::tokenizer::Encoding;

/// A model family, by tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1/o3/o4, gpt-oss: o200k_base, exact.
    OpenAiO200k,
    /// gpt-4, gpt-3.5, OpenAI embeddings: cl100k_base, exact.
    OpenAiCl100k,
    /// Claude (any host).
    Anthropic,
    /// Gemini and Gemma.
    Gemini,
    /// Llama.
    Llama,
    /// Mistral, Mixtral, Codestral and the rest of Mistral's models.
    Mistral,
    /// Amazon Nova and Titan.
    Amazon,
    /// Cohere Command and Embed.
    Cohere,
    /// A model no rule recognises (an Azure deployment name, a local model).
    Unknown,
}

/// How a family's estimate is built from an embedded encoding's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The encoding counted.
    pub encoding: Encoding,
    /// The count is multiplied by `factor_tenths / 10`, rounded up.
    pub factor_tenths: u64,
    /// Tokens per request (the reply's priming, a system frame).
    pub per_request: u64,
    /// Tokens per chat message (role markers, separators).
    pub per_message: u64,
    /// Tokens added when the request declares tools (a tool-use system prompt).
    pub with_tools: u64,
}

/// Every family the model-name rules recognise.
pub const KNOWN: [Family; 8] = [
    Family::OpenAiO200k,
    Family::OpenAiCl100k,
    Family::Anthropic,
    Family::Gemini,
    Family::Llama,
    Family::Mistral,
    Family::Amazon,
    Family::Cohere,
];

impl Family {
    /// The family of an upstream model name.
    pub fn of_model(model: &str) -> Self {
        let lower = model.to_ascii_lowercase();
        let base = lower.rsplit('/').next().unwrap_or(&lower);
        let has = |needle: &str| lower.contains(needle);
        if has("claude") {
            Self::Anthropic
        } else if has("gemini") || has("gemma") {
            Self::Gemini
        } else if has("llama") {
            Self::Llama
        } else if [
            "mistral",
            "mixtral",
            "codestral",
            "ministral",
            "pixtral",
            "magistral",
            "devstral",
        ]
        .iter()
        .any(|n| has(n))
        {
            Self::Mistral
        } else if has("nova") || has("titan") {
            Self::Amazon
        } else if has("cohere") || has("command-r") || has("command-a") {
            Self::Cohere
        } else {
            openai_family(base)
        }
    }

    /// How this family is estimated.
    pub fn profile(self) -> Profile {
        let p = |encoding, factor_tenths, per_request, per_message, with_tools| Profile {
            encoding,
            factor_tenths,
            per_request,
            per_message,
            with_tools,
        };
        use Encoding::{Cl100k, O200k};
        match self {
            // OpenAI's documented framing: 3 per message (+1 with a name), 3 to prime the
            // reply; tool definitions are counted as their JSON, which is longer than the
            // rendering OpenAI uses, plus a small header.
            Self::OpenAiO200k => p(O200k, 10, 3, 4, 12),
            Self::OpenAiCl100k => p(Cl100k, 10, 3, 4, 12),
            // Counted with cl100k, whose smaller vocabulary splits non-English text more
            // finely than o200k (as Claude's does). Anthropic's docs: "You are a scientist" + "Hello, Claude" = 14 input tokens
            // (7 o200k tokens of text); tools add a tool-use system prompt (346 tokens on
            // Claude 4 models); Opus 4.7's tokenizer is 1.0–1.35× its predecessor's
            // (measured up to 1.47× on English technical text).
            Self::Anthropic => p(Cl100k, 16, 8, 4, 350),
            // A 256k-token multilingual vocabulary: o200k. Gemini's docs: "The quick brown fox jumps over the lazy dog." = 10 tokens
            // (o200k: 10), 11 as prompt usage.
            Self::Gemini => p(O200k, 13, 3, 4, 12),
            // Llama 3's tokenizer is cl100k's 100k ranks plus 28k more (fewer tokens than
            // cl100k); the margin covers Llama 2's 32k SentencePiece vocabulary.
            Self::Llama => p(Cl100k, 13, 10, 6, 12),
            // Tekken (NeMo and later) compresses better than Llama 3's tokenizer for most
            // languages; older 32k SentencePiece models need the margin.
            Self::Mistral => p(Cl100k, 14, 10, 6, 12),
            // Nothing published to measure against: the Claude-sized margin on cl100k.
            Self::Amazon => p(Cl100k, 16, 10, 6, 12),
            // Command's 255k-token multilingual vocabulary packs text like o200k's.
            Self::Cohere => p(O200k, 14, 10, 6, 12),
            // At least every profile above with one encoding: o200k never counts more than
            // ~1.14× cl100k (1.01× at most on the fixtures), so cl100k × 1.6 covers
            // o200k × 1.4; the largest framing and tool prompt.
            Self::Unknown => p(Cl100k, 16, 12, 6, 350),
        }
    }
}

/// OpenAI's models by name; anything else is unknown.
fn openai_family(base: &str) -> Family {
    // A Bedrock-style `vendor.model` id or a fine-tune `ft:gpt-4o:org::id`.
    let base = base.strip_prefix("ft:").unwrap_or(base);
    let base = base.rsplit_once("openai.").map_or(base, |(_, m)| m);
    let o200k = [
        "gpt-4o",
        "chatgpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "gpt-oss",
        "o1",
        "o3",
        "o4",
        "codex",
        "omni-moderation",
    ];
    let cl100k = ["gpt-4", "gpt-3.5", "gpt-35", "text-embedding"];
    if o200k.iter().any(|p| base.starts_with(p)) {
        Family::OpenAiO200k
    } else if cl100k.iter().any(|p| base.starts_with(p)) {
        Family::OpenAiCl100k
    } else {
        Family::Unknown
    }
}

/// A set of families a model group may route to (its deployments and fallbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Families(u16);

impl Families {
    /// The families of these upstream model names.
    pub fn of_models<'a>(models: impl IntoIterator<Item = &'a str>) -> Self {
        models
            .into_iter()
            .fold(Self::default(), |set, m| set.with(Family::of_model(m)))
    }

    /// Only [`Family::Unknown`]: an estimate at least every family's.
    pub fn unknown() -> Self {
        Self::default().with(Family::Unknown)
    }

    /// This set and `family`.
    pub fn with(self, family: Family) -> Self {
        Self(self.0 | 1 << family as u16)
    }

    /// The profiles to estimate with: each family's (an empty set is `Unknown`).
    pub fn profiles(self) -> impl Iterator<Item = Profile> {
        let set = if self.0 == 0 {
            Self::unknown().0
        } else {
            self.0
        };
        KNOWN
            .into_iter()
            .chain([Family::Unknown])
            .filter(move |f| set & (1 << *f as u16) != 0)
            .map(Family::profile)
    }

    /// Whether any profile counts with `encoding`.
    pub fn uses(self, encoding: Encoding) -> bool {
        self.profiles().any(|p| p.encoding == encoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_read_from_upstream_model_names_on_any_host() {
        let cases = [
            ("gpt-4o-mini", Family::OpenAiO200k),
            ("gpt-4.1-2025-04-14", Family::OpenAiO200k),
            ("o3-mini", Family::OpenAiO200k),
            ("gpt-5", Family::OpenAiO200k),
            ("openai/gpt-oss-120b", Family::OpenAiO200k),
            ("ft:gpt-4o-mini:acme::abc", Family::OpenAiO200k),
            ("gpt-4-turbo", Family::OpenAiCl100k),
            ("gpt-3.5-turbo", Family::OpenAiCl100k),
            ("text-embedding-3-small", Family::OpenAiCl100k),
            ("claude-sonnet-4-5", Family::Anthropic),
            (
                "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
                Family::Anthropic,
            ),
            (
                "publishers/anthropic/models/claude-opus-4",
                Family::Anthropic,
            ),
            ("models/gemini-2.5-flash", Family::Gemini),
            ("meta.llama3-70b-instruct-v1:0", Family::Llama),
            ("mistral.mistral-large-2407-v1:0", Family::Mistral),
            ("amazon.nova-pro-v1:0", Family::Amazon),
            ("amazon.titan-embed-text-v2:0", Family::Amazon),
            ("cohere.command-r-plus-v1:0", Family::Cohere),
            ("my-azure-deployment", Family::Unknown),
        ];
        for (model, family) in cases {
            assert_eq!(Family::of_model(model), family, "{model}");
        }
    }

    #[test]
    fn unknown_dominates_every_profile_with_one_encoding() {
        let unknown = Family::Unknown.profile();
        assert_eq!(
            Families::default().profiles().collect::<Vec<_>>(),
            [unknown]
        );
        assert_eq!(unknown.encoding, Encoding::Cl100k);
        for f in KNOWN {
            let p = f.profile();
            assert!(unknown.factor_tenths >= p.factor_tenths, "{f:?}");
            assert!(unknown.per_request >= p.per_request, "{f:?}");
            assert!(unknown.per_message >= p.per_message, "{f:?}");
            assert!(unknown.with_tools >= p.with_tools, "{f:?}");
        }
        let openai = Families::of_models(["gpt-4o", "gpt-4.1"]);
        assert_eq!(openai.profiles().count(), 1);
        assert!(openai.uses(Encoding::O200k));
        assert!(!openai.uses(Encoding::Cl100k));
        let mixed = Families::of_models(["gpt-4o", "meta.llama3-8b-instruct-v1:0"]);
        assert!(mixed.uses(Encoding::Cl100k));
    }
}
