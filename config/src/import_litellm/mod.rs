//! `portcullis import-litellm`: a LiteLLM proxy config in, a Portcullis config out — the
//! migration path for teams leaving a proxy whose config held every credential in clear.
//!
//! Pure conversion: text in, [`Imported`] out. `model_list` entries become providers
//! (deduplicated by vendor, base URL and credential) and model groups (several deployments
//! per `model_name`, with their weights). Credentials become references: `os.environ/X`
//! becomes `env:X`; an inline value becomes `env:PORTCULLIS_<MODEL>_API_KEY` and a note tells
//! the operator to export it. A secret value is never written anywhere — not to the output,
//! not to a note, not to an error (YAML errors are rendered without snippets or values).
//! Everything without an equivalent yet (rate limits, retries, fallbacks, callbacks,
//! guardrails, …) is listed by name, never by value.

mod deployment;
mod settings;
#[cfg(test)]
mod tests;
mod writer;

use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::yaml;

/// The converted config and what the operator must know about it.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The Portcullis config, YAML. Holds references only.
    pub yaml: String,
    /// Environment variables the config references; all must be set before it loads.
    pub env_vars: Vec<String>,
    /// Everything the operator should read: exports to make, settings not converted.
    pub notes: Vec<ImportNote>,
}

/// What a note asks of the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// An inline secret was replaced by a reference: export it (and rotate it).
    Export,
    /// A setting that has no Portcullis equivalent yet and was dropped.
    Unconverted,
    /// A conversion choice worth knowing.
    Info,
}

/// One note: where in the LiteLLM config, and what happened. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportNote {
    pub kind: NoteKind,
    /// Path in the LiteLLM config (`model_list[2].litellm_params.rpm`).
    pub path: String,
    pub message: String,
}

/// Why a LiteLLM config could not be converted at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not YAML, or over the parser's budgets. The message quotes no value.
    #[error("{0}")]
    Yaml(#[from] ConfigError),
    /// YAML, but not a LiteLLM proxy config.
    #[error("not a LiteLLM proxy config: {0}")]
    Shape(&'static str),
    /// No `model_list` entry could be converted.
    #[error("no model in model_list could be converted (see the notes)")]
    NothingConverted(Vec<ImportNote>),
}

/// Converts a LiteLLM proxy config.
pub fn import_litellm(text: &str) -> Result<Imported, ImportError> {
    let root: Value = yaml::parse_as(text)?;
    let Value::Object(root) = root else {
        return Err(ImportError::Shape("the document is not a mapping"));
    };
    let Some(Value::Array(model_list)) = root.get("model_list") else {
        return Err(ImportError::Shape("there is no model_list"));
    };
    let mut notes = Notes::default();
    let mut converted = deployment::convert_models(model_list, &mut notes);
    let master_key = settings::convert_settings(&root, &mut converted.secrets, &mut notes);
    if converted.models.is_empty() {
        return Err(ImportError::NothingConverted(notes.0));
    }
    let mut env_vars: Vec<String> = converted
        .providers
        .iter()
        .filter_map(|p| p.api_key.as_deref())
        .chain(master_key.as_deref())
        .chain(Some(writer::PEPPER_REF))
        .filter_map(|r| r.strip_prefix("env:"))
        .map(str::to_owned)
        .collect();
    env_vars.sort();
    env_vars.dedup();
    let yaml = writer::write(&converted, master_key.as_deref(), &notes.0);
    Ok(Imported {
        yaml,
        env_vars,
        notes: notes.0,
    })
}

/// Notes being collected.
#[derive(Default)]
pub(crate) struct Notes(pub(crate) Vec<ImportNote>);

impl Notes {
    pub(crate) fn push(&mut self, kind: NoteKind, path: &str, message: impl Into<String>) {
        self.0.push(ImportNote {
            kind,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Every key of `map` not in `handled`, as one unconverted note each.
    pub(crate) fn rest(
        &mut self,
        path: &str,
        map: &Map<String, Value>,
        handled: &[&str],
        why: &str,
    ) {
        for key in map.keys().filter(|k| !handled.contains(&k.as_str())) {
            self.push(NoteKind::Unconverted, &format!("{path}.{key}"), why);
        }
    }
}

/// A provider of the converted config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Provider {
    pub(crate) name: String,
    pub(crate) vendor: portcullis_engine::provider::Vendor,
    pub(crate) base_url: Option<String>,
    /// A reference (`env:NAME`, `file:PATH`), never a value.
    pub(crate) api_key: Option<String>,
    pub(crate) allow_private_network: bool,
}

/// A model group of the converted config.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) name: String,
    /// (provider name, upstream model, weight)
    pub(crate) deployments: Vec<(String, String, Option<u32>)>,
}

/// What the model list became.
#[derive(Default)]
pub(crate) struct Converted {
    pub(crate) providers: Vec<Provider>,
    pub(crate) models: Vec<Model>,
    pub(crate) secrets: deployment::InlineSecrets,
}
