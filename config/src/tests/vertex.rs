//! `vendor: vertex_ai` and its `vertex:` settings.

use std::io::Write;

use portcullis_engine::provider::Vendor;

use super::*;

const FAKE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

fn key_file(token_uri: Option<&str>) -> tempfile::NamedTempFile {
    let mut key = serde_json::json!({
        "type": "service_account",
        "project_id": "my-project",
        "private_key_id": "0",
        "private_key": FAKE_PEM,
        "client_email": "gateway@my-project.iam.gserviceaccount.com",
    });
    if let Some(uri) = token_uri {
        key["token_uri"] = uri.into();
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(key.to_string().as_bytes()).unwrap();
    file
}

fn with_vertex(block: &str) -> String {
    VALID.replace(
        "providers:\n",
        &format!("providers:\n  - name: vertex\n    vendor: vertex_ai\n{block}"),
    )
}

fn vertex_block(file: &tempfile::NamedTempFile, project: &str, region: &str) -> String {
    format!(
        "    vertex: {{ project: '{project}', region: '{region}', service_account: 'file:{}' }}\n",
        file.path().display()
    )
}

#[test]
fn vertex_reads_the_key_file_and_derives_the_regional_base_url() {
    let file = key_file(None);
    let config = load(&with_vertex(&vertex_block(
        &file,
        "my-project",
        "europe-west4",
    )))
    .unwrap();
    let p = &config.gateway.providers[0];
    assert_eq!(p.vendor, Vendor::VertexAi);
    assert_eq!(
        p.base_url.as_str(),
        "https://europe-west4-aiplatform.googleapis.com/v1"
    );
    assert!(p.credential.is_none());
    let v = p.vertex.as_ref().unwrap();
    assert_eq!(
        (v.project.as_str(), v.region.as_str()),
        ("my-project", "europe-west4")
    );
    let sa = &v.service_account;
    assert_eq!(
        sa.client_email,
        "gateway@my-project.iam.gserviceaccount.com"
    );
    assert_eq!(sa.token_uri.as_str(), "https://oauth2.googleapis.com/token");
    assert!(
        !format!("{config:?}").contains("AAAA"),
        "private key in Debug"
    );
}

#[test]
fn vertex_settings_are_required_for_vertex_and_refused_elsewhere() {
    let message = error_of(&with_vertex(""));
    assert!(
        message.contains("providers[0].vertex: is required for vendor vertex_ai"),
        "{message}"
    );
    let file = key_file(None);
    let other = VALID.replace(
        "    allow_private_network: true\n",
        &format!(
            "    allow_private_network: true\n{}",
            vertex_block(&file, "p", "r")
        ),
    );
    let message = error_of(&other);
    assert!(
        message.contains("providers[1].vertex: applies only to vendor vertex_ai, not vllm"),
        "{message}"
    );
    let with_key = with_vertex(&format!(
        "    api_key: env:OPENAI_API_KEY\n{}",
        vertex_block(&file, "my-project", "us-central1")
    ));
    assert!(error_of(&with_key).contains("providers[0].api_key: is not used by vendor vertex_ai"));
}

#[test]
fn project_and_region_cannot_change_the_url() {
    let file = key_file(None);
    for (project, region, field) in [
        ("my-project/../x", "us-central1", "vertex.project"),
        ("my-project", "evil.com/x", "vertex.region"),
        ("my-project", "us-central1#", "vertex.region"),
        ("", "us-central1", "vertex.project"),
    ] {
        let message = error_of(&with_vertex(&vertex_block(&file, project, region)));
        assert!(
            message.contains(&format!("providers[0].{field}")),
            "{message}"
        );
    }
}

#[test]
fn a_key_file_that_is_not_a_service_account_is_refused_without_quoting_it() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"{\"secret\": \"canary-key-file-content\"}")
        .unwrap();
    let message = error_of(&with_vertex(&vertex_block(&file, "p-1", "us-east1")));
    assert!(
        message.contains(
            "providers[0].vertex.service_account: is not a service-account JSON key file"
        ),
        "{message}"
    );
    assert!(!message.contains("canary-key-file-content"), "{message}");
}

#[test]
fn a_private_token_uri_needs_allow_private_network() {
    let file = key_file(Some("http://10.1.2.3/token"));
    let message = error_of(&with_vertex(&vertex_block(&file, "p-1", "us-east1")));
    assert!(
        message.contains("providers[0].vertex.service_account: token_uri:"),
        "{message}"
    );
    let allowed = with_vertex(&format!(
        "    allow_private_network: true\n{}",
        vertex_block(&file, "p-1", "us-east1")
    ));
    let config = load(&allowed).unwrap();
    let sa = &config.gateway.providers[0]
        .vertex
        .as_ref()
        .unwrap()
        .service_account;
    assert_eq!(sa.token_uri.as_str(), "http://10.1.2.3/token");
}
