//! YAML parsing with tight resource budgets and errors that never quote the document.
//!
//! serde-saphyr can render rustc-style snippets (the offending line plus its neighbours). A
//! config file sits next to credentials, and a pasted key on a neighbouring line would end up
//! in logs, so snippets are switched off and errors are rendered as a message plus
//! `at line L, column C`. The message formatter also drops scalar values that serde or the
//! parser would quote (`invalid type: string "sk-…"`): at this stage we do not know whether
//! a value sits in a secret's position. Field names, which are schema, are kept.
//!
//! Budgets: a config is small and shallow, so the limits are far below serde-saphyr's
//! defaults — one document, nesting depth 16, few anchors and bounded alias replay (no
//! billion-laughs), at most [`MAX_CONFIG_BYTES`] of text.

use std::borrow::Cow;

use serde_saphyr::{Error, MessageFormatter, SnippetMode, UserMessageFormatter};

use super::MAX_CONFIG_BYTES;
use super::document::RawConfig;
use super::error::ConfigError;

/// Parses `text` into the raw config shape.
pub(crate) fn parse(text: &str) -> Result<RawConfig, ConfigError> {
    parse_as(text)
}

/// Parses `text` into any shape with the same budgets and secret-free errors (the LiteLLM
/// importer reads documents that hold inline keys).
pub(crate) fn parse_as<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            limit: MAX_CONFIG_BYTES,
        });
    }
    serde_saphyr::from_str_with_options(text, options()).map_err(|err| yaml_error(&err))
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 16,
            flow_nesting_limit: 16,
            max_events: 1_000_000,
            max_nodes: 500_000,
            max_anchors: 1_000,
            max_aliases: 10_000,
            max_merge_keys: 1_000,
            max_recorded_anchor_events: 100_000,
            max_recorded_anchor_bytes: 4 * 1024 * 1024,
            max_total_scalar_bytes: MAX_CONFIG_BYTES,
            max_inclusion_depth: 0,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
        strict_booleans: true,
        with_snippet: false,
        crop_radius: 0,
    }
}

/// Renders a parse error as message + location, with no snippet and no quoted values.
fn yaml_error(err: &Error) -> ConfigError {
    let options = serde_saphyr::render_options! {
        formatter: &Redacting,
        snippets: SnippetMode::Off,
    };
    let location = err.location();
    ConfigError::Yaml {
        message: err.render_with_options(options),
        line: location.map(|at| at.line()).filter(|&line| line > 0),
        column: location.map(|at| at.column()).filter(|&column| column > 0),
    }
}

/// serde-saphyr's user-facing wording, minus any scalar value taken from the document.
struct Redacting;

impl MessageFormatter for Redacting {
    fn format_message<'a>(&self, err: &'a Error) -> Cow<'a, str> {
        match err {
            Error::SerdeInvalidType {
                unexpected,
                expected,
                ..
            } => Cow::Owned(format!(
                "invalid type: {}, expected {expected}",
                value_kind(unexpected)
            )),
            Error::SerdeInvalidValue {
                unexpected,
                expected,
                ..
            } => Cow::Owned(format!(
                "invalid value: {}, expected {expected}",
                value_kind(unexpected)
            )),
            Error::SerdeUnknownVariant { expected, .. } => Cow::Owned(format!(
                "unknown value, expected one of {}",
                expected.join(", ")
            )),
            Error::SerdeVariantId { .. } => Cow::Borrowed("invalid value for this field"),
            Error::NonFiniteFloat { .. } => Cow::Borrowed("value is not a finite number"),
            Error::QuotingRequired { .. } => Cow::Borrowed("value requires quoting"),
            Error::UnsupportedTag { .. } | Error::TaggedStructFieldName { .. } => {
                Cow::Borrowed("YAML tags are not supported in the config")
            }
            Error::TaggedEnumMismatch { target, .. } => {
                Cow::Owned(format!("tag does not match the expected `{target}`"))
            }
            _ => UserMessageFormatter.format_message(err),
        }
    }
}

/// `string "sk-…"` → `string`; `integer \`5\`` → `integer`; `map` → `map`.
fn value_kind(unexpected: &str) -> &str {
    unexpected
        .split(['"', '`', '\''])
        .next()
        .unwrap_or_default()
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_message(text: &str) -> (String, Option<u64>) {
        match parse(text) {
            Err(ConfigError::Yaml { message, line, .. }) => (message, line),
            Err(other) => panic!("expected a YAML error, got {other}"),
            Ok(_) => panic!("expected a YAML error, got a config"),
        }
    }

    #[test]
    fn type_error_does_not_quote_the_value() {
        let (message, line) = yaml_message("server:\n  workers: sk-CANARY-0123456789abcdef\n");
        assert!(!message.contains("CANARY"), "{message}");
        assert_eq!(line, Some(2), "{message}");
    }

    #[test]
    fn unknown_variant_does_not_quote_the_value_but_lists_the_choices() {
        let (message, line) = yaml_message("mode: sk-CANARY-0123456789abcdef\n");
        assert!(!message.contains("CANARY"), "{message}");
        assert!(message.contains("production"), "{message}");
        assert_eq!(line, Some(1), "{message}");
    }

    #[test]
    fn error_has_no_snippet_of_neighbouring_lines() {
        let text =
            "providers:\n  - name: a\n    api_key: sk-CANARY-0123456789abcdef\n    typo: 1\n";
        let (message, line) = yaml_message(text);
        assert!(!message.contains("CANARY"), "{message}");
        assert!(message.contains("typo"), "{message}");
        assert_eq!(line, Some(4), "{message}");
    }

    /// Budgets are checked on untyped values: the typed schema already stops at the first
    /// unexpected collection, so these show the limits themselves are tighter than the defaults.
    fn parse_untyped(text: &str) -> Result<serde_json::Value, Error> {
        serde_saphyr::from_str_with_options(text, options())
    }

    #[test]
    fn alias_expansion_is_capped_below_the_crate_default() {
        // Expanding up to a4 copies about 134k events: over our 100k caps, under the 1M defaults.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..5 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        assert!(serde_saphyr::from_str::<serde_json::Value>(&text).is_ok());
        let err = parse_untyped(&text).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("budget breached") || message.contains("replay"),
            "{message}"
        );
    }

    #[test]
    fn nesting_is_capped_below_the_crate_default() {
        let text = format!("{}{}", "[".repeat(20), "]".repeat(20));
        assert!(serde_saphyr::from_str::<serde_json::Value>(&text).is_ok());
        let err = parse_untyped(&text).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }

    #[test]
    fn multiple_documents_are_refused() {
        assert!(parse("mode: production\n---\nmode: development\n").is_err());
    }

    #[test]
    fn oversized_text_is_refused_before_parsing() {
        let text = " ".repeat(MAX_CONFIG_BYTES + 1);
        assert!(matches!(parse(&text), Err(ConfigError::TooLarge { .. })));
    }
}
