//! `storage:` and `pricing:`: the durable default needs a pepper; prices parse exactly.

use portcullis_engine::cost::MicroUsd;

use super::*;

fn without_storage() -> String {
    VALID.replace("storage:\n  backend: memory\n", "")
}

#[test]
fn default_storage_is_sqlite_and_requires_a_pepper() {
    let err = error_of(&without_storage());
    assert!(err.contains("auth.key_pepper"), "{err}");
    assert!(err.contains("durable"), "{err}");
    let with_pepper = without_storage().replace(
        "  master_key: env:MASTER\n",
        "  master_key: env:MASTER\n  key_pepper: env:MASTER\n",
    );
    let config = load(&with_pepper).unwrap();
    match &config.storage {
        StorageConfig::Sqlite { path } => {
            assert_eq!(path.to_str(), Some(StorageConfig::DEFAULT_SQLITE_PATH));
        }
        other => panic!("expected sqlite, got {other:?}"),
    }
}

#[test]
fn memory_storage_needs_no_pepper_and_postgres_needs_a_secret_url() {
    assert!(matches!(
        load(VALID).unwrap().storage,
        StorageConfig::Memory
    ));
    let pg = VALID.replace(
        "storage:\n  backend: memory\n",
        "storage:\n  backend: postgres\n",
    );
    let err = error_of(&pg);
    assert!(err.contains("storage.url"), "{err}");
    let inline = VALID.replace(
        "storage:\n  backend: memory\n",
        "storage:\n  backend: postgres\n  url: postgres://u:CANARYPW@h/db\n",
    );
    let err = error_of(&inline);
    assert!(
        err.contains("storage.url") && !err.contains("CANARYPW"),
        "{err}"
    );
    let bad = VALID.replace("backend: memory", "backend: mongo");
    assert!(error_of(&bad).contains("storage.backend"));
}

#[test]
fn pricing_overrides_parse_exactly_and_unpriced_deployments_are_warned() {
    // The fixture's `meta-llama/Llama-3.1-8B` has no built-in price.
    let config = load(VALID).unwrap();
    assert!(
        config.warnings.iter().any(|w| w.contains("Llama-3.1-8B")),
        "{:?}",
        config.warnings
    );
    let priced = VALID.replace(
        "keys:\n",
        "pricing:\n  - model: meta-llama/Llama-3.1-8B\n    input_per_million: \"0.10\"\n    output_per_million: \"0.000003\"\nkeys:\n",
    );
    let config = load(&priced).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let price = config.catalogue.price("meta-llama/Llama-3.1-8B").unwrap();
    assert_eq!(price.base.input, MicroUsd::from_micros(100_000));
    assert_eq!(price.base.output, MicroUsd::from_micros(3));
    let float = priced.replace("\"0.000003\"", "\"0.0000001\"");
    assert!(error_of(&float).contains("pricing[0].output_per_million"));
}
