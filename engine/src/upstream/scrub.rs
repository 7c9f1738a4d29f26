//! Scrubbing provider text before a client may see it.
//!
//! Only client-caused 4xx messages are ever passed on, and only after the provider's own
//! credential and anything shaped like a key are removed and the text is truncated.

/// Longest provider message shown to a client.
const MAX_MESSAGE_CHARS: usize = 512;
/// What a client sees when the provider's message cannot be shown.
pub(crate) const GENERIC_REJECTION: &str = "the provider rejected the request";

/// `message` with `credential` and key-like tokens removed, truncated.
pub(crate) fn scrub(message: &str, credential: Option<&str>) -> String {
    let message = match credential {
        Some(c) if !c.is_empty() => message.replace(c, "[redacted]"),
        _ => message.to_owned(),
    };
    let message = message
        .split(' ')
        .map(|word| {
            if looks_like_key(word) {
                "[redacted]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    message.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// The `error.message` of a JSON error body (OpenAI's and Anthropic's shape), scrubbed; the
/// generic text when the body has none.
pub(crate) fn error_message(body: &[u8], credential: Option<&str>) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        });
    match message {
        Some(m) => scrub(&m, credential),
        None => GENERIC_REJECTION.to_owned(),
    }
}

fn looks_like_key(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    [
        "sk-", "sk_", "pk-", "key-", "AKIA", "AIza", "ya29.", "Bearer",
    ]
    .iter()
    .any(|p| w.starts_with(p))
        && w.len() >= 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_never_carry_the_credential() {
        let body = br#"{"error":{"message":"Incorrect API key canary-credential-123 and sk-abcdefghijklmnop given"}}"#;
        let message = error_message(body, Some("canary-credential-123"));
        assert!(!message.contains("canary-credential-123"));
        assert!(!message.contains("sk-abcdefghijklmnop"));
        assert!(message.starts_with("Incorrect API key [redacted]"));
    }

    #[test]
    fn non_json_error_bodies_are_not_echoed() {
        assert_eq!(
            error_message(b"<html>secret stack trace</html>", Some("k")),
            GENERIC_REJECTION
        );
    }
}
