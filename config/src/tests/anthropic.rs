//! `vendor: anthropic` and its `anthropic:` settings.

use portcullis_engine::provider::Vendor;

use super::*;

const CLAUDE: &str = "  - name: claude\n    vendor: anthropic\n    api_key: env:OPENAI_API_KEY\n";

fn with_claude(extra: &str) -> String {
    VALID.replace("providers:\n", &format!("providers:\n{CLAUDE}{extra}"))
}

#[test]
fn anthropic_provider_defaults_to_the_public_api_and_documented_version() {
    let config = load(&with_claude("")).unwrap();
    let claude = &config.gateway.providers[0];
    assert_eq!(claude.vendor, Vendor::Anthropic);
    assert_eq!(claude.base_url.as_str(), "https://api.anthropic.com/v1");
    assert_eq!(claude.anthropic.version, "2023-06-01");
    assert!(claude.anthropic.beta.is_empty());
    assert_eq!(claude.anthropic.default_max_tokens, 4096);
}

#[test]
fn anthropic_settings_are_read_when_given() {
    let extra = "    anthropic:\n      version: 2024-10-22\n      beta: [prompt-caching-2024-07-31, output-128k-2025-02-19]\n      default_max_tokens: 1024\n";
    let config = load(&with_claude(extra)).unwrap();
    let a = &config.gateway.providers[0].anthropic;
    assert_eq!(a.version, "2024-10-22");
    assert_eq!(
        a.beta,
        vec!["prompt-caching-2024-07-31", "output-128k-2025-02-19"]
    );
    assert_eq!(a.default_max_tokens, 1024);
}

#[test]
fn anthropic_needs_a_credential() {
    let text = with_claude("").replace(
        "    vendor: anthropic\n    api_key: env:OPENAI_API_KEY\n",
        "    vendor: anthropic\n",
    );
    assert!(
        error_of(&text).contains("providers[0].api_key: is required for vendor anthropic"),
        "{}",
        error_of(&text)
    );
}

#[test]
fn anthropic_settings_are_refused_for_other_vendors() {
    let text = VALID.replace(
        "    allow_private_network: true\n",
        "    allow_private_network: true\n    anthropic: { version: 2023-06-01 }\n",
    );
    let message = error_of(&text);
    assert!(
        message.contains("providers[1].anthropic: applies only to vendor anthropic, not vllm"),
        "{message}"
    );
}

#[test]
fn anthropic_header_values_must_be_plain_tokens() {
    let message = error_of(&with_claude(
        "    anthropic: { beta: [\"ok-1\", \"bad\\r\\nx-api-key: y\"], default_max_tokens: 0 }\n",
    ));
    assert!(
        message.contains("providers[0].anthropic.beta[1]: must be"),
        "{message}"
    );
    assert!(
        message.contains("providers[0].anthropic.default_max_tokens: must be between 1"),
        "{message}"
    );
}
