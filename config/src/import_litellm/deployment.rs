//! `model_list` → providers and model groups. One LiteLLM entry is one deployment; entries
//! sharing a `model_name` become one group with several deployments.

use portcullis_engine::provider::Vendor;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::{Converted, Model, NoteKind, Notes, Provider};
use crate::egress::{EgressPolicy, check_base_url};

/// `litellm_params` keys this importer understands.
const HANDLED_PARAMS: [&str; 4] = ["model", "api_base", "api_key", "weight"];

/// Inline secrets seen so far, each with the variable it was replaced by. The values live
/// only here, in memory, to give the same secret the same variable; they are wiped on drop.
#[derive(Default)]
pub(crate) struct InlineSecrets(Vec<(Zeroizing<String>, String)>);

impl InlineSecrets {
    /// The variable standing for `value`; a new `PORTCULLIS_<LABEL>_<suffix>` if unseen.
    pub(crate) fn reference(&mut self, value: &str, label: &str, suffix: &str) -> (String, bool) {
        if let Some((_, name)) = self.0.iter().find(|(v, _)| v.as_str() == value) {
            return (name.clone(), false);
        }
        let base = format!("PORTCULLIS_{}{suffix}", env_label(label));
        let mut name = base.clone();
        let mut n = 2;
        while self.0.iter().any(|(_, used)| *used == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.0
            .push((Zeroizing::new(value.to_owned()), name.clone()));
        (name, true)
    }
}

/// `gpt-4o.mini/x` → `GPT_4O_MINI_X`.
fn env_label(text: &str) -> String {
    let mut label: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    label.truncate(64);
    let label = label.trim_matches('_').to_owned();
    if label.is_empty() {
        "MODEL".to_owned()
    } else {
        label
    }
}

pub(crate) fn convert_models(list: &[Value], notes: &mut Notes) -> Converted {
    let mut out = Converted::default();
    for (i, entry) in list.iter().enumerate() {
        let path = format!("model_list[{i}]");
        let Some(entry) = entry.as_object() else {
            notes.push(NoteKind::Unconverted, &path, "not a mapping; skipped");
            continue;
        };
        let Some(name) = entry.get("model_name").and_then(Value::as_str) else {
            notes.push(NoteKind::Unconverted, &path, "no model_name; skipped");
            continue;
        };
        notes.rest(
            &path,
            entry,
            &["model_name", "litellm_params", "model_info"],
            "no equivalent yet; dropped",
        );
        if entry.contains_key("model_info") {
            notes.push(
                NoteKind::Unconverted,
                &format!("{path}.model_info"),
                "model_info (ids, per-token prices, capabilities) is not converted; Portcullis prices models from its built-in catalogue",
            );
        }
        let Some(params) = entry.get("litellm_params").and_then(Value::as_object) else {
            notes.push(NoteKind::Unconverted, &path, "no litellm_params; skipped");
            continue;
        };
        if let Some((provider, upstream, weight)) = deployment(&path, name, params, &mut out, notes)
        {
            match out.models.iter_mut().find(|m| m.name == name) {
                Some(model) => model.deployments.push((provider, upstream, weight)),
                None => out.models.push(Model {
                    name: name.to_owned(),
                    deployments: vec![(provider, upstream, weight)],
                }),
            }
        }
    }
    out
}

fn deployment(
    path: &str,
    model_name: &str,
    params: &Map<String, Value>,
    out: &mut Converted,
    notes: &mut Notes,
) -> Option<(String, String, Option<u32>)> {
    let path = format!("{path}.litellm_params");
    notes.rest(
        &path,
        params,
        &HANDLED_PARAMS,
        "no per-deployment equivalent yet; dropped",
    );
    let Some(model) = params.get("model").and_then(Value::as_str) else {
        notes.push(NoteKind::Unconverted, &path, "no model; deployment skipped");
        return None;
    };
    let base_url = match params.get("api_base") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) if url.trim().starts_with("os.environ/") => {
            notes.push(
                NoteKind::Unconverted,
                &format!("{path}.api_base"),
                "a base URL taken from the environment is not supported (upstream URLs come only from the config file); deployment skipped — write the URL in",
            );
            return None;
        }
        Some(Value::String(url)) => Some(url.trim().to_owned()),
        Some(_) => {
            notes.push(
                NoteKind::Unconverted,
                &format!("{path}.api_base"),
                "not a string; deployment skipped",
            );
            return None;
        }
    };
    let (prefix, upstream) = match model.split_once('/') {
        Some((prefix, rest)) => (prefix, rest),
        None => {
            notes.push(
                NoteKind::Info,
                &format!("{path}.model"),
                "no provider prefix: taken as openai",
            );
            ("openai", model)
        }
    };
    let Some(mut vendor) = vendor_of(prefix) else {
        notes.push(
            NoteKind::Unconverted,
            &format!("{path}.model"),
            format!("provider {prefix:?} has no Portcullis adapter yet; deployment skipped"),
        );
        return None;
    };
    if vendor == Vendor::Openai
        && base_url
            .as_deref()
            .is_some_and(|u| !u.contains("api.openai.com"))
    {
        vendor = Vendor::OpenaiCompatible;
    }
    // LiteLLM talks to Ollama's native API at the root; Portcullis uses its OpenAI one at /v1.
    let base_url = match base_url {
        Some(url) if vendor == Vendor::Ollama && !url.trim_end_matches('/').ends_with("/v1") => {
            notes.push(
                NoteKind::Info,
                &format!("{path}.api_base"),
                "Ollama is reached through its OpenAI-compatible API: /v1 was appended",
            );
            Some(format!("{}/v1", url.trim_end_matches('/')))
        }
        other => other,
    };
    let effective = base_url.as_deref().or(vendor.profile().default_base_url);
    let Some(effective) = effective else {
        notes.push(
            NoteKind::Unconverted,
            &format!("{path}.api_base"),
            format!(
                "vendor {} needs an api_base; deployment skipped",
                vendor.as_str()
            ),
        );
        return None;
    };
    let strict = EgressPolicy {
        allow_private_network: false,
        require_https: false,
    };
    let allow_private_network = check_base_url(effective, strict).is_err();
    if allow_private_network {
        let loose = EgressPolicy {
            allow_private_network: true,
            require_https: false,
        };
        if let Err(why) = check_base_url(effective, loose) {
            notes.push(
                NoteKind::Unconverted,
                &format!("{path}.api_base"),
                format!("{why}; deployment skipped"),
            );
            return None;
        }
        notes.push(
            NoteKind::Info,
            &format!("{path}.api_base"),
            "points at a private or loopback address: the provider gets allow_private_network: true (review it)",
        );
    }
    let api_key = credential(&path, model_name, vendor, params.get("api_key"), out, notes);
    let weight = params
        .get("weight")
        .and_then(Value::as_u64)
        .map(|w| u32::try_from(w).unwrap_or(u32::MAX));
    let provider = Provider {
        name: String::new(),
        vendor,
        base_url,
        api_key,
        allow_private_network,
    };
    let name = match out.providers.iter().find(|p| {
        Provider {
            name: String::new(),
            ..(*p).clone()
        } == provider
    }) {
        Some(existing) => existing.name.clone(),
        None => {
            let base = vendor.as_str().replace('_', "-");
            let mut name = base.clone();
            let mut n = 2;
            while out.providers.iter().any(|p| p.name == name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            out.providers.push(Provider {
                name: name.clone(),
                ..provider
            });
            name
        }
    };
    Some((name, upstream.to_owned(), weight))
}

fn credential(
    path: &str,
    model_name: &str,
    vendor: Vendor,
    raw: Option<&Value>,
    out: &mut Converted,
    notes: &mut Notes,
) -> Option<String> {
    let path = format!("{path}.api_key");
    match raw {
        None | Some(Value::Null) => {
            let conventional = conventional_env(vendor)?;
            notes.push(
                NoteKind::Info,
                &path,
                format!("no api_key: LiteLLM would read {conventional}; the provider references env:{conventional}"),
            );
            Some(format!("env:{conventional}"))
        }
        Some(Value::String(text)) => {
            let text = text.trim();
            if let Some(name) = text.strip_prefix("os.environ/") {
                return Some(format!("env:{name}"));
            }
            if text.starts_with("env:") || text.starts_with("file:") {
                return Some(text.to_owned());
            }
            let (name, new) = out.secrets.reference(text, model_name, "_API_KEY");
            if new {
                notes.push(
                    NoteKind::Export,
                    &path,
                    format!("an inline key was replaced by env:{name}: export {name} with that key before starting (and rotate it: it sat in a config file)"),
                );
            }
            Some(format!("env:{name}"))
        }
        Some(_) => {
            notes.push(
                NoteKind::Unconverted,
                &path,
                "not a string; the provider has no credential",
            );
            None
        }
    }
}

/// LiteLLM's provider prefix → the Portcullis vendor speaking the same API.
fn vendor_of(prefix: &str) -> Option<Vendor> {
    Some(match prefix {
        "openai" => Vendor::Openai,
        "hosted_vllm" | "vllm" => Vendor::Vllm,
        "ollama" | "ollama_chat" => Vendor::Ollama,
        "groq" => Vendor::Groq,
        "mistral" => Vendor::Mistral,
        "together_ai" => Vendor::Together,
        "deepseek" => Vendor::Deepseek,
        "openrouter" => Vendor::Openrouter,
        "fireworks_ai" => Vendor::Fireworks,
        "anthropic" => Vendor::Anthropic,
        "gemini" => Vendor::Gemini,
        _ => return None,
    })
}

/// The variable LiteLLM reads when a deployment names no key.
fn conventional_env(vendor: Vendor) -> Option<&'static str> {
    Some(match vendor {
        Vendor::Openai => "OPENAI_API_KEY",
        Vendor::Groq => "GROQ_API_KEY",
        Vendor::Mistral => "MISTRAL_API_KEY",
        Vendor::Together => "TOGETHERAI_API_KEY",
        Vendor::Deepseek => "DEEPSEEK_API_KEY",
        Vendor::Openrouter => "OPENROUTER_API_KEY",
        Vendor::Fireworks => "FIREWORKS_AI_API_KEY",
        Vendor::Anthropic => "ANTHROPIC_API_KEY",
        Vendor::Azure => "AZURE_API_KEY",
        Vendor::Gemini => "GEMINI_API_KEY",
        Vendor::OpenaiCompatible
        | Vendor::Vllm
        | Vendor::Ollama
        | Vendor::VertexAi
        | Vendor::Bedrock => {
            return None;
        }
    })
}
