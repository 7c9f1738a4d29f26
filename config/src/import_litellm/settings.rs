//! `router_settings`, `litellm_settings`, `general_settings` and the rest of the top level:
//! the master key is converted (as a reference), the rest is listed by name.

use serde_json::{Map, Value};

use super::deployment::InlineSecrets;
use super::{NoteKind, Notes};

/// Converts the settings sections; returns the master key reference, if any.
pub(crate) fn convert_settings(
    root: &Map<String, Value>,
    secrets: &mut InlineSecrets,
    notes: &mut Notes,
) -> Option<String> {
    notes.rest(
        "",
        root,
        &["model_list", "router_settings", "litellm_settings", "general_settings"],
        "no equivalent; dropped (values are not copied: set what you still need in the environment)",
    );
    if let Some(router) = section(root, "router_settings", notes) {
        if let Some(strategy) = router.get("routing_strategy").and_then(Value::as_str) {
            let (kind, message) = if strategy == "simple-shuffle" {
                (
                    NoteKind::Info,
                    "simple-shuffle is Portcullis's weighted random pick; kept as the default"
                        .to_owned(),
                )
            } else {
                (
                    NoteKind::Unconverted,
                    format!(
                        "routing strategy {strategy:?} has no equivalent yet; Portcullis picks by weight"
                    ),
                )
            };
            notes.push(kind, "router_settings.routing_strategy", message);
        }
        notes.rest(
            "router_settings",
            router,
            &["routing_strategy"],
            "no equivalent in the config yet (retries, fallbacks, cooldowns and timeouts are built in or per provider); dropped",
        );
    }
    if let Some(settings) = section(root, "litellm_settings", notes) {
        for key in settings.keys() {
            let why = if key.contains("callback") {
                "callbacks and logging integrations are not supported: Portcullis sends prompts to no third party; dropped"
            } else if key.contains("guardrail") {
                "guardrails are not supported yet; dropped"
            } else {
                "no equivalent yet; dropped"
            };
            notes.push(
                NoteKind::Unconverted,
                &format!("litellm_settings.{key}"),
                why,
            );
        }
    }
    let general = section(root, "general_settings", notes)?;
    notes.rest(
        "general_settings",
        general,
        &["master_key"],
        "no equivalent in the config yet (storage, UI and key management are configured elsewhere); dropped",
    );
    match general.get("master_key")? {
        Value::String(text) => {
            let text = text.trim();
            if let Some(name) = text.strip_prefix("os.environ/") {
                return Some(format!("env:{name}"));
            }
            let (name, _) = secrets.reference(text, "MASTER", "_KEY");
            notes.push(
                NoteKind::Export,
                "general_settings.master_key",
                format!("the inline master key was replaced by env:{name}: export a new key (`portcullis gen-key`) as {name}; the old one sat in a config file"),
            );
            Some(format!("env:{name}"))
        }
        _ => {
            notes.push(
                NoteKind::Unconverted,
                "general_settings.master_key",
                "not a string; dropped",
            );
            None
        }
    }
}

fn section<'a>(
    root: &'a Map<String, Value>,
    name: &str,
    notes: &mut Notes,
) -> Option<&'a Map<String, Value>> {
    match root.get(name)? {
        Value::Object(map) => Some(map),
        Value::Null => None,
        _ => {
            notes.push(NoteKind::Unconverted, name, "not a mapping; dropped");
            None
        }
    }
}
