//! `vendor: azure` and its `azure:` settings.

use portcullis_engine::provider::Vendor;

use super::*;

const AZURE: &str =
    "  - name: az\n    vendor: azure\n    base_url: https://res.openai.azure.com/openai\n";

fn with_azure(extra: &str) -> String {
    VALID.replace("providers:\n", &format!("providers:\n{AZURE}{extra}"))
}

#[test]
fn azure_with_an_api_key_gets_the_default_api_version() {
    let config = load(&with_azure("    api_key: env:OPENAI_API_KEY\n")).unwrap();
    let az = &config.gateway.providers[0];
    assert_eq!(az.vendor, Vendor::Azure);
    assert_eq!(az.base_url.as_str(), "https://res.openai.azure.com/openai");
    assert_eq!(az.azure.api_version, "2024-10-21");
    assert_eq!(az.credential.as_ref().unwrap().expose_secret(), OPENAI_KEY);
    assert!(az.azure.entra_token.is_none());
}

#[test]
fn azure_reads_an_api_version_and_an_entra_token_reference() {
    let extra = "    azure: { api_version: 2025-01-01-preview, entra_token: env:TEAM_A_KEY }\n";
    let config = load(&with_azure(extra)).unwrap();
    let az = &config.gateway.providers[0];
    assert_eq!(az.azure.api_version, "2025-01-01-preview");
    assert_eq!(
        az.azure.entra_token.as_ref().unwrap().expose_secret(),
        TEAM_KEY
    );
    assert!(az.credential.is_none());
}

#[test]
fn azure_needs_exactly_one_credential_and_a_base_url() {
    let neither = error_of(&with_azure(""));
    assert!(
        neither.contains("providers[0].api_key: vendor azure needs api_key or azure.entra_token"),
        "{neither}"
    );
    let both = error_of(&with_azure(
        "    api_key: env:OPENAI_API_KEY\n    azure: { entra_token: env:TEAM_A_KEY }\n",
    ));
    assert!(
        both.contains(
            "providers[0].azure.entra_token: give either api_key or azure.entra_token, not both"
        ),
        "{both}"
    );
    let no_base = error_of(
        &with_azure("    api_key: env:OPENAI_API_KEY\n")
            .replace("    base_url: https://res.openai.azure.com/openai\n", ""),
    );
    assert!(
        no_base.contains("providers[0].base_url: is required: vendor azure"),
        "{no_base}"
    );
}

#[test]
fn azure_settings_are_refused_elsewhere_and_checked_here() {
    let text = VALID.replace(
        "    allow_private_network: true\n",
        "    allow_private_network: true\n    azure: { api_version: 2024-10-21 }\n",
    );
    let message = error_of(&text);
    assert!(
        message.contains("providers[1].azure: applies only to vendor azure, not vllm"),
        "{message}"
    );
    let bad = error_of(&with_azure(
        "    api_key: env:OPENAI_API_KEY\n    azure: { api_version: \"2024&x=1\", extra: 1 }\n",
    ));
    assert!(bad.contains("extra"), "{bad}");
    let bad = error_of(&with_azure(
        "    api_key: env:OPENAI_API_KEY\n    azure: { api_version: \"2024&x=1\" }\n",
    ));
    assert!(
        bad.contains("providers[0].azure.api_version: must be"),
        "{bad}"
    );
    let inline = error_of(&with_azure(
        "    azure: { entra_token: eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret }\n",
    ));
    assert!(
        inline.contains("providers[0].azure.entra_token"),
        "{inline}"
    );
    assert!(
        !inline.contains("eyJ0eXAi"),
        "the inline secret is echoed: {inline}"
    );
}
