//! The importer on LiteLLM-style configs: the output loads, secrets never leave.

use super::*;
use crate::Config;
use crate::tests::env_of;

const INLINE: &str = include_str!("../../tests/fixtures/litellm/inline_keys.yaml");
const ENV_REFS: &str = include_str!("../../tests/fixtures/litellm/env_refs.yaml");

fn notes_text(imported: &Imported) -> String {
    imported
        .notes
        .iter()
        .map(|n| format!("{:?} {}: {}\n", n.kind, n.path, n.message))
        .collect()
}

/// Loads the output with every referenced variable set to a placeholder.
fn load(imported: &Imported) -> Config {
    let values: Vec<(String, String)> = imported
        .env_vars
        .iter()
        .map(|name| (name.clone(), format!("placeholder-{name}-0123456789abcdef")))
        .collect();
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let env = env_of(&pairs);
    Config::from_yaml_str(&imported.yaml, &env)
        .unwrap_or_else(|err| panic!("{err}\n---\n{}", imported.yaml))
}

#[test]
fn inline_keys_become_env_references_and_never_appear_in_the_output() {
    let imported = import_litellm(INLINE).unwrap();
    let everything = format!("{}{}{:?}", imported.yaml, notes_text(&imported), imported);
    assert!(!everything.contains("CANARY"), "{everything}");
    assert!(!everything.contains("sk-1234"), "{everything}");
    // One variable per distinct key: the key shared by gpt-4o and gpt-4o-mini is one export.
    assert_eq!(
        imported.env_vars,
        [
            "PORTCULLIS_GPT_4O_API_KEY",
            "PORTCULLIS_GPT_4O_API_KEY_2",
            "PORTCULLIS_KEY_PEPPER",
            "PORTCULLIS_LLAMA_3_70B_API_KEY",
            "PORTCULLIS_MASTER_KEY"
        ]
    );
    let exports = imported
        .notes
        .iter()
        .filter(|n| n.kind == NoteKind::Export)
        .count();
    assert_eq!(exports, 4, "{}", notes_text(&imported));
    let config = load(&imported);
    assert!(config.master_key.is_some());
    assert_eq!(config.gateway.providers.len(), 3);
    let gpt4o = &config.gateway.groups[0];
    assert_eq!(&*gpt4o.name, "gpt-4o");
    let weights: Vec<u32> = gpt4o.deployments.iter().map(|d| d.weight).collect();
    assert_eq!(weights, [1, 3]);
}

#[test]
fn unconvertible_settings_are_listed_by_name() {
    let imported = import_litellm(INLINE).unwrap();
    let notes = notes_text(&imported);
    for path in [
        "model_list[0].litellm_params.rpm",
        "model_list[0].litellm_params.tpm",
        "model_list[3].litellm_params.timeout",
        "router_settings.num_retries",
        "router_settings.fallbacks",
        "router_settings.redis_password",
        "litellm_settings.success_callback",
        "general_settings.database_url",
    ] {
        assert!(
            notes.contains(&format!("Unconverted {path}:")),
            "{path} missing:\n{notes}"
        );
    }
    assert!(
        notes.contains("Info router_settings.routing_strategy"),
        "{notes}"
    );
    // The output says so too, as comments.
    assert!(
        imported
            .yaml
            .contains("# NOT CONVERTED router_settings.fallbacks")
    );
}

#[test]
fn env_references_several_deployments_and_private_bases_convert() {
    let imported = import_litellm(ENV_REFS).unwrap();
    let notes = notes_text(&imported);
    assert_eq!(
        imported.env_vars,
        [
            "ANTHROPIC_API_KEY",
            "LITELLM_MASTER_KEY",
            "MISTRAL_API_KEY",
            "OPENAI_API_KEY",
            "PORTCULLIS_KEY_PEPPER"
        ],
        "{notes}"
    );
    assert!(
        !imported.notes.iter().any(|n| n.kind == NoteKind::Export),
        "{notes}"
    );
    let config = load(&imported);
    let names: Vec<&str> = config.gateway.groups.iter().map(|g| &*g.name).collect();
    assert_eq!(
        names,
        ["chat", "claude-sonnet", "local-llama", "gpt-4o-mini"],
        "{notes}"
    );
    // azure is skipped, openai and mistral stay, with their weights.
    let chat: Vec<u32> = config.gateway.groups[0]
        .deployments
        .iter()
        .map(|d| d.weight)
        .collect();
    assert_eq!(chat, [2, 1]);
    // Self-hosted providers on loopback get allow_private_network, with a note.
    let vllm = config
        .gateway
        .providers
        .iter()
        .find(|p| p.vendor == portcullis_engine::provider::Vendor::Vllm)
        .unwrap();
    assert!(vllm.allow_private_network);
    let local = &config.gateway.groups[2];
    assert_eq!(
        &*local.deployments[0].upstream_model,
        "meta-llama/Llama-3.1-8B-Instruct"
    );
    assert_eq!(&*local.deployments[1].upstream_model, "llama3.1");
    assert_eq!(local.deployments[1].weight, 2);
    assert!(
        imported.yaml.contains("\"http://localhost:11434/v1\""),
        "{}",
        imported.yaml
    );
    for path in [
        "model_list[2].litellm_params.model",
        "model_list[4].model_info",
        "router_settings.routing_strategy",
        "litellm_settings.callbacks",
        "litellm_settings.guardrails",
        "general_settings.database_url",
        ".environment_variables",
    ] {
        assert!(
            notes.contains(&format!("Unconverted {path}:")),
            "{path} missing:\n{notes}"
        );
    }
    assert!(!imported.yaml.contains("redis.internal"));
}

#[test]
fn not_a_litellm_config_is_refused_without_echoing_it() {
    let err = import_litellm("general_settings: {master_key: sk-CANARY-1}\n").unwrap_err();
    assert!(matches!(err, ImportError::Shape(_)), "{err}");
    let err =
        import_litellm("model_list: [ {model_name: x, litellm_params: {api_key: sk-CANARY-2\n")
            .unwrap_err();
    assert!(!err.to_string().contains("CANARY"), "{err}");
    let err = import_litellm(
        "model_list:\n  - model_name: c\n    litellm_params: {model: bedrock/x, api_key: sk-CANARY-3}\n",
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::NothingConverted(_)), "{err}");
}

#[test]
fn values_cannot_break_the_output_structure() {
    // (`#` only in the upstream model: a public name may not hold one.)
    let text = "model_list:\n  - model_name: \"a\\\": b [x\"\n    litellm_params:\n      model: \"openai/x\\\"y # [z\"\n      api_key: os.environ/OPENAI_API_KEY\n";
    let imported = import_litellm(text).unwrap();
    let config = load(&imported);
    assert_eq!(&*config.gateway.groups[0].name, "a\": b [x");
    assert_eq!(
        &*config.gateway.groups[0].deployments[0].upstream_model,
        "x\"y # [z"
    );

    // A line break stays inside its scalar: the loader sees one model name to refuse.
    let text = "model_list:\n  - model_name: \"evil\\nproviders: []\"\n    litellm_params:\n      model: openai/x\n      api_key: os.environ/OPENAI_API_KEY\n";
    let imported = import_litellm(text).unwrap();
    let err = Config::from_yaml_str(
        &imported.yaml,
        &env_of(&[
            ("OPENAI_API_KEY", "k"),
            ("PORTCULLIS_KEY_PEPPER", "pepper-0123456789"),
        ]),
    )
    .unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(err.problems()[0].path, "models[0].name");
}
