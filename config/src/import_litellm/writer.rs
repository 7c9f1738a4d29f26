//! Writes the converted config as YAML. Small on purpose: every string is written as a
//! double-quoted scalar using JSON's escaping (a JSON string is a valid YAML double-quoted
//! scalar), so no value can break the document's structure. Notes go in as comments.

use std::fmt::Write;

use super::{Converted, ImportNote, NoteKind};

/// The pepper every converted config names (`auth.key_pepper`).
pub(super) const PEPPER_REF: &str = "env:PORTCULLIS_KEY_PEPPER";

/// A YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A comment line; notes hold no values, and line breaks are flattened.
fn comment(out: &mut String, text: &str) {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let _ = writeln!(out, "# {flat}");
}

pub(crate) fn write(
    converted: &Converted,
    master_key: Option<&str>,
    notes: &[ImportNote],
) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        "Converted from a LiteLLM proxy config by `portcullis import-litellm`.",
    );
    comment(
        &mut out,
        "Credentials are references; run `portcullis check --config <this file>` before going live.",
    );
    for note in notes.iter().filter(|n| n.kind == NoteKind::Export) {
        comment(&mut out, &format!("EXPORT {}: {}", note.path, note.message));
    }
    for note in notes.iter().filter(|n| n.kind == NoteKind::Unconverted) {
        comment(
            &mut out,
            &format!("NOT CONVERTED {}: {}", note.path, note.message),
        );
    }
    // Keys created through the admin API are stored (SQLite by default) as HMAC(pepper, key):
    // the converted config names a pepper for the operator to set.
    out.push_str("auth:\n");
    if let Some(reference) = master_key {
        let _ = writeln!(out, "  master_key: {}", quoted(reference));
    }
    let _ = writeln!(out, "  key_pepper: {}", quoted(PEPPER_REF));
    out.push_str("providers:\n");
    for p in &converted.providers {
        let _ = writeln!(out, "  - name: {}", quoted(&p.name));
        let _ = writeln!(out, "    vendor: {}", quoted(p.vendor.as_str()));
        if let Some(url) = &p.base_url {
            let _ = writeln!(out, "    base_url: {}", quoted(url));
        }
        if let Some(key) = &p.api_key {
            let _ = writeln!(out, "    api_key: {}", quoted(key));
        }
        if p.allow_private_network {
            out.push_str("    allow_private_network: true\n");
        }
    }
    out.push_str("models:\n");
    for m in &converted.models {
        let _ = writeln!(out, "  - name: {}", quoted(&m.name));
        out.push_str("    deployments:\n");
        for (provider, model, weight) in &m.deployments {
            let _ = writeln!(out, "      - provider: {}", quoted(provider));
            let _ = writeln!(out, "        model: {}", quoted(model));
            if let Some(weight) = weight {
                let _ = writeln!(out, "        weight: {weight}");
            }
        }
    }
    out
}
