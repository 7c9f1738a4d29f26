//! The catalogue keys an upstream model name may be priced under, most specific first.
//!
//! Providers name one priced model many ways: OpenAI and Anthropic add dated snapshots
//! (`gpt-4o-2024-08-06`, `claude-3-5-sonnet-20241022`), Vertex AI writes `@20240620`, Gemini
//! adds `models/` and `-001`, Bedrock wraps Anthropic ids as `anthropic.<id>-v1:0` and adds
//! cross-region inference-profile prefixes (`us.`, `eu.`, ...). Each rule below removes one
//! such wrapper; the catalogue looks every candidate up **exactly**, in order, and stops at the
//! first hit. There is no prefix or fuzzy matching, so `gpt-4o-mini` can never be priced as
//! `gpt-4o`, and a snapshot with its own price (`gpt-4o-2024-05-13`) is found before its family.
//!
//! The rules, applied cumulatively (each candidate is tried before the next rule):
//! 1. lower-case and trim;
//! 2. keep the model id of a provider resource path: after a leading `models/` (Gemini),
//!    after the last `/models/` of a Vertex `…/publishers/<p>/models/<id>` path, after the last
//!    `/` of a Bedrock ARN (`arn:aws…:inference-profile/<id>`). Other slashes are kept:
//!    `openai/gpt-4o` from an aggregator or `mistralai/…` from a self-hosted server is not
//!    the vendor's own API and stays unpriced unless configured;
//! 3. drop a Bedrock inference-profile region prefix (`us.`, `eu.`, `apac.`, `global.`, ...)
//!    when a Bedrock vendor prefix follows (`us.anthropic.…`, `eu.amazon.…`);
//! 4. Anthropic on Bedrock: `anthropic.<id>-v<N>[:<M>]` → `<id>`;
//! 5. drop a date snapshot suffix: `-YYYY-MM-DD`, `-YYYYMMDD` or `@YYYYMMDD`;
//! 6. Gemini only: drop a three-digit version suffix (`gemini-1.5-pro-002`).

/// Bedrock cross-region inference-profile prefixes.
const REGION_PREFIXES: &[&str] = &[
    "us.", "us-gov.", "eu.", "apac.", "jp.", "au.", "ca.", "global.",
];
/// Model vendors as Bedrock spells them at the start of a model id.
const BEDROCK_VENDORS: &[&str] = &[
    "anthropic.",
    "amazon.",
    "meta.",
    "mistral.",
    "cohere.",
    "ai21.",
    "deepseek.",
    "openai.",
    "qwen.",
    "writer.",
];

/// Catalogue keys to try for `model`, most specific first, without duplicates.
pub(crate) fn candidates(model: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(4);
    let mut push = |name: &str| {
        if !name.is_empty() && out.last().is_none_or(|last| last != name) {
            out.push(name.to_owned());
        }
    };
    let name = model.trim().to_ascii_lowercase();
    push(&name);
    let name = without_resource_path(&name);
    push(name);
    let name = without_region_prefix(name);
    push(name);
    let name = without_bedrock_anthropic(name);
    push(name);
    let name = without_date_suffix(name);
    push(name);
    let name = without_gemini_version(name);
    push(name);
    out
}

fn without_resource_path(name: &str) -> &str {
    if name.starts_with("arn:aws") {
        return name.rsplit_once('/').map_or(name, |(_, id)| id);
    }
    if let Some(id) = name.strip_prefix("models/") {
        return id;
    }
    if name.contains("/publishers/") {
        return name.rsplit_once("/models/").map_or(name, |(_, id)| id);
    }
    name
}

fn without_region_prefix(name: &str) -> &str {
    REGION_PREFIXES
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .filter(|rest| {
            BEDROCK_VENDORS
                .iter()
                .any(|vendor| rest.starts_with(vendor))
        })
        .unwrap_or(name)
}

/// `anthropic.claude-3-5-sonnet-20240620-v1:0` → `claude-3-5-sonnet-20240620`.
fn without_bedrock_anthropic(name: &str) -> &str {
    let Some(id) = name.strip_prefix("anthropic.") else {
        return name;
    };
    let Some((stem, version)) = id.rsplit_once("-v") else {
        return id;
    };
    let (major, minor) = version.split_once(':').unwrap_or((version, "0"));
    if is_digits(major) && is_digits(minor) {
        stem
    } else {
        id
    }
}

fn without_date_suffix(name: &str) -> &str {
    // -YYYY-MM-DD (OpenAI)
    if let Some(split) = name.len().checked_sub(11)
        && let (Some(stem), Some(date)) = (name.get(..split), name.get(split..))
        && let Some(date) = date.strip_prefix('-')
        && date.is_ascii()
        && date.len() == 10
        && date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && is_date(&date[..4], &date[5..7], &date[8..])
    {
        return stem;
    }
    // -YYYYMMDD (Anthropic) or @YYYYMMDD (Vertex AI)
    if let Some(split) = name.len().checked_sub(9)
        && let (Some(stem), Some(tail)) = (name.get(..split), name.get(split..))
        && let Some(date) = tail.strip_prefix('-').or_else(|| tail.strip_prefix('@'))
        && date.is_ascii()
        && is_date(&date[..4], &date[4..6], &date[6..])
    {
        return stem;
    }
    name
}

fn without_gemini_version(name: &str) -> &str {
    if !name.starts_with("gemini-") {
        return name;
    }
    match name.rsplit_once('-') {
        Some((stem, version)) if version.len() == 3 && is_digits(version) => stem,
        _ => name,
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible calendar date from 2000 to 2099, so that `-20240620` is a snapshot but
/// `-12345678` is not.
fn is_date(year: &str, month: &str, day: &str) -> bool {
    let number = |text: &str| -> Option<u32> { is_digits(text).then(|| text.parse().ok())? };
    matches!(
        (number(year), number(month), number(day)),
        (Some(2000..=2099), Some(1..=12), Some(1..=31))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(model: &str) -> String {
        candidates(model).pop().unwrap()
    }

    #[test]
    fn exact_name_is_tried_first() {
        assert_eq!(candidates("gpt-4o-2024-05-13")[0], "gpt-4o-2024-05-13");
        assert_eq!(candidates("GPT-4o"), vec!["gpt-4o"]);
    }

    #[test]
    fn dated_snapshots_fall_back_to_their_family() {
        assert_eq!(last("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(last("gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
        assert_eq!(last("claude-3-5-sonnet-20241022"), "claude-3-5-sonnet");
        assert_eq!(last("claude-sonnet-4@20250514"), "claude-sonnet-4");
    }

    #[test]
    fn bedrock_ids_lose_region_vendor_and_version() {
        assert_eq!(
            candidates("us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            vec![
                "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "claude-3-5-sonnet-20240620",
                "claude-3-5-sonnet",
            ]
        );
        assert_eq!(last("eu.amazon.nova-pro-v1:0"), "amazon.nova-pro-v1:0");
        assert_eq!(
            last("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5"
        );
        assert_eq!(
            last("anthropic.claude-3-5-sonnet-20241022-v2:0"),
            "claude-3-5-sonnet"
        );
        assert_eq!(
            last(
                "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.meta.llama3-3-70b-instruct-v1:0"
            ),
            "meta.llama3-3-70b-instruct-v1:0"
        );
    }

    #[test]
    fn region_prefix_is_kept_unless_a_bedrock_vendor_follows() {
        assert_eq!(last("us.my-model"), "us.my-model");
    }

    #[test]
    fn gemini_paths_and_versions_are_stripped() {
        assert_eq!(last("models/gemini-2.0-flash-001"), "gemini-2.0-flash");
        assert_eq!(
            last("projects/p/locations/us-central1/publishers/google/models/gemini-1.5-pro-002"),
            "gemini-1.5-pro"
        );
        // Only provider resource paths lose their slashes.
        assert_eq!(last("openai/gpt-4o"), "openai/gpt-4o");
        assert_eq!(
            last("mistralai/mistral-small-2503"),
            "mistralai/mistral-small-2503"
        );
        // Only Gemini names lose a three-digit suffix.
        assert_eq!(last("custom-model-002"), "custom-model-002");
    }

    #[test]
    fn things_that_only_look_like_dates_are_kept() {
        assert_eq!(last("gpt-3.5-turbo-0125"), "gpt-3.5-turbo-0125");
        assert_eq!(last("model-12345678"), "model-12345678");
        assert_eq!(last("model-2024-13-01"), "model-2024-13-01");
        assert_eq!(last("mistral-large-2411"), "mistral-large-2411");
    }

    #[test]
    fn never_prefix_matches_to_a_shorter_family() {
        for model in [
            "gpt-4o-mini",
            "gpt-4.1-nano",
            "o3-mini",
            "claude-3-5-haiku-latest",
        ] {
            assert_eq!(candidates(model), vec![model.to_string()]);
        }
        assert!(candidates("").is_empty());
    }
}
