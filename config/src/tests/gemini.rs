//! `vendor: gemini` (Google AI Studio).

use portcullis_engine::provider::Vendor;

use super::*;

const GEMINI: &str = "  - name: google\n    vendor: gemini\n    api_key: env:OPENAI_API_KEY\n";

fn with_gemini(provider: &str) -> String {
    VALID.replace("providers:\n", &format!("providers:\n{provider}"))
}

#[test]
fn gemini_defaults_to_the_generative_language_api() {
    let config = load(&with_gemini(GEMINI)).unwrap();
    let google = &config.gateway.providers[0];
    assert_eq!(google.vendor, Vendor::Gemini);
    assert_eq!(
        google.base_url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta"
    );
    assert!(google.credential.is_some());
}

#[test]
fn gemini_needs_an_api_key_given_as_a_reference() {
    let missing = with_gemini("  - name: google\n    vendor: gemini\n");
    let message = error_of(&missing);
    assert!(
        message.contains("providers[0].api_key: is required for vendor gemini"),
        "{message}"
    );
    let inline = with_gemini(
        "  - name: google\n    vendor: gemini\n    api_key: AIzaSyInlineInlineInline\n",
    );
    let message = error_of(&inline);
    assert!(message.contains("providers[0].api_key"), "{message}");
    assert!(!message.contains("AIzaSyInlineInlineInline"), "{message}");
}
