//! Vertex AI through the gateway against the mock: Gemini and Claude publisher paths, the
//! access token minted from a service account (RS256 JWT verified by the mock's token
//! endpoint against the test's public key), cached across requests, minted once for a burst,
//! refreshed after expiry, embeddings from the Google publisher's `predict` with Vertex's
//! token counts as usage, and the service account's private key never leaking. The RSA key
//! pair is generated at test time with the `openssl` CLI; none is committed.

use std::process::Command;
use std::time::Duration;

use portcullis_loadtest::mock::{Behaviour, EmbeddingInput, MockOptions, mock_embedding};
use serde_json::{Value, json};

use crate::embeddings::{decode_base64, floats};
use crate::harness::*;

/// A fresh PKCS#8 PEM private key and its PKCS#1 `RSAPublicKey` DER.
fn key_pair(dir: &std::path::Path) -> (String, Vec<u8>) {
    let pem_path = dir.join("key.pem");
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem_path)
        .output()
        .expect("the openssl CLI generates the test key");
    assert!(out.status.success(), "openssl genpkey failed");
    let public = Command::new("openssl")
        .args(["rsa", "-RSAPublicKey_out", "-outform", "DER", "-in"])
        .arg(&pem_path)
        .output()
        .unwrap();
    assert!(public.status.success(), "openssl rsa failed");
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    std::fs::remove_file(&pem_path).unwrap();
    (pem, public.stdout)
}

/// A started gateway with one `vertex_ai` provider, and the private key it was given.
struct Vertex {
    h: Harness,
    pem: String,
    public: Vec<u8>,
    _dir: tempfile::TempDir,
}

async fn start(token_lifetime: Duration) -> Vertex {
    let dir = tempfile::tempdir().unwrap();
    let (pem, public) = key_pair(dir.path());
    let sa_path = dir.path().join("sa.json");
    let h = Harness::start_config(MockOptions::default(), |mock_url| {
        let token_uri = mock_url.replace("/v1", "/token");
        let key = json!({
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "gateway@test-project.iam.gserviceaccount.com",
            "token_uri": token_uri,
        });
        std::fs::write(&sa_path, key.to_string()).unwrap();
        format!(
            r#"
server: {{ listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, workers: 2, max_body_bytes: 65536, max_json_depth: 32 }}
auth: {{ master_key: env:MASTER }}
storage: {{ backend: memory }}
providers:
  - name: vertex
    vendor: vertex_ai
    base_url: {mock_url}
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    vertex: {{ project: test-project, region: us-central1, service_account: "file:{}" }}
models:
  - {{ name: gemini-v, deployments: [{{ provider: vertex, model: gemini-2.5-pro }}] }}
  - {{ name: claude-v, deployments: [{{ provider: vertex, model: claude-sonnet-4-5@20250929 }}] }}
  - {{ name: emb-v, deployments: [{{ provider: vertex, model: gemini-embedding-001 }}] }}
keys:
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"] }}
"#,
            sa_path.display()
        )
    })
    .await;
    h.mock.vertex_tokens(public.clone(), token_lifetime);
    Vertex {
        h,
        pem,
        public,
        _dir: dir,
    }
}

const LOCATION: &str = "/v1/projects/test-project/locations/us-central1/publishers";

#[actix_web::test]
async fn gemini_on_vertex_answers_json_and_sse_with_one_minted_token() {
    let Vertex { h, .. } = start(Duration::from_secs(3600)).await;
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &hello("gemini-v"))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["object"], "chat.completion");
    let mut stream = hello("gemini-v");
    stream["stream"] = json!(true);
    let text = send_text(h.chat(Some(KEY_ALL), &stream)).await;
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(h.mock.tokens_minted(), 1);
    let seen = h.mock.requests();
    let token_requests: Vec<_> = seen.iter().filter(|r| r.path == "/token").collect();
    assert_eq!(token_requests.len(), 1);
    let form = String::from_utf8_lossy(&token_requests[0].body).into_owned();
    assert!(form.starts_with(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
    ));
    let calls: Vec<_> = seen.iter().filter(|r| r.path != "/token").collect();
    assert_eq!(
        calls[0].path,
        format!("{LOCATION}/google/models/gemini-2.5-pro:generateContent")
    );
    assert_eq!(
        calls[1].path,
        format!("{LOCATION}/google/models/gemini-2.5-pro:streamGenerateContent")
    );
    assert_eq!(calls[1].query, "alt=sse");
    for call in calls {
        assert_eq!(
            call.header("authorization"),
            Some("Bearer ya29.mock-token-1")
        );
        assert_eq!(call.header("x-goog-api-key"), None);
    }
    h.stop().await;
}

#[actix_web::test]
async fn claude_on_vertex_goes_through_raw_predict_with_the_anthropic_translation() {
    let Vertex { h, .. } = start(Duration::from_secs(3600)).await;
    h.mock.script_next(Behaviour::ok().cache_tokens(2, 0));
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &hello("claude-v"))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
    let mut stream = hello("claude-v");
    stream["stream"] = json!(true);
    stream["stream_options"] = json!({ "include_usage": true });
    let text = send_text(h.chat(Some(KEY_ALL), &stream)).await;
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(text.contains("\"usage\""), "{text}");
    let calls: Vec<_> = h
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.path != "/token")
        .collect();
    let model = "claude-sonnet-4-5@20250929";
    assert_eq!(
        calls[0].path,
        format!("{LOCATION}/anthropic/models/{model}:rawPredict")
    );
    assert_eq!(
        calls[1].path,
        format!("{LOCATION}/anthropic/models/{model}:streamRawPredict")
    );
    let body: Value = calls[0].json().unwrap();
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert!(body.get("model").is_none());
    assert_eq!(h.mock.tokens_minted(), 1);
    h.stop().await;
}

#[actix_web::test]
async fn a_burst_mints_one_token_and_an_expired_token_is_refreshed() {
    let Vertex { h, .. } = start(Duration::from_secs(2)).await;
    let requests = (0..8).map(|_| send_json(h.chat(Some(KEY_ALL), &hello("gemini-v"))));
    for (status, answer) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(h.mock.tokens_minted(), 1, "one mint for the burst");
    // A 2 s token is refreshed after 1 s (half its lifetime, under the one-minute margin).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = send_json(h.chat(Some(KEY_ALL), &hello("gemini-v"))).await;
    assert_eq!(status, 200);
    assert_eq!(h.mock.tokens_minted(), 2);
    let last = h.mock.requests().pop().unwrap();
    assert_eq!(
        last.header("authorization"),
        Some("Bearer ya29.mock-token-2")
    );
    h.stop().await;
}

#[actix_web::test]
async fn the_private_key_never_leaks_and_a_refused_grant_is_an_upstream_auth_failure() {
    let Vertex {
        h,
        pem,
        public,
        _dir,
    } = start(Duration::from_secs(3600)).await;
    let key_lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut seen = String::new();
    // The token endpoint first expects another key: the gateway's grant is refused.
    let other = tempfile::tempdir().unwrap();
    let (_, other_public) = key_pair(other.path());
    h.mock
        .vertex_tokens(other_public, Duration::from_secs(3600));
    let response = h
        .chat(Some(KEY_ALL), &hello("claude-v"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    seen.push_str(&response.text().await.unwrap());
    assert!(status >= 500, "{status}: {seen}");
    assert_eq!(h.mock.tokens_minted(), 0);
    assert!(
        h.mock.requests().iter().all(|r| r.path == "/token"),
        "no model call without a token"
    );
    // With the right key, a token is minted; an upstream error quoting the key is not echoed.
    h.mock.vertex_tokens(public, Duration::from_secs(3600));
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &hello("gemini-v"))).await;
    assert_eq!(status, 200, "{answer}");
    h.mock
        .script_next(Behaviour::status(400).error_body(pem.clone()));
    seen.push_str(&send_text(h.chat(Some(KEY_ALL), &hello("gemini-v"))).await);
    h.mock
        .script_next(Behaviour::status(500).error_body(pem.clone()));
    seen.push_str(&send_text(h.chat(Some(KEY_ALL), &hello("gemini-v"))).await);
    seen.push_str(&send_text(h.http.get(h.admin_url("/metrics")).bearer_auth(MASTER)).await);
    seen.push_str(&format!("{:?}", h.config));
    let logs = captured_logs();
    for line in &key_lines {
        assert!(
            !seen.contains(line),
            "private key in a response, metric or Debug"
        );
        assert!(!logs.contains(line), "private key in a log line");
    }
    assert!(
        !logs.contains("ya29.mock-token"),
        "access token in a log line"
    );
    assert!(
        !seen.contains("ya29.mock-token"),
        "access token in a response"
    );
    h.stop().await;
}

#[actix_web::test]
async fn embeddings_come_from_predict_with_vertexs_token_counts_in_float_and_base64() {
    let Vertex { h, .. } = start(Duration::from_secs(3600)).await;
    let float = json!({"model": "emb-v", "input": ["one two", "three four five"], "dimensions": 6});
    let (status, answer) = send_json(h.embeddings(KEY_ALL, &float)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model"], "emb-v");
    for (i, text) in ["one two", "three four five"].into_iter().enumerate() {
        let expected = mock_embedding(&EmbeddingInput::Text(text.to_owned()), 6);
        assert_eq!(floats(&answer["data"][i]["embedding"]), expected);
    }
    // The mock counts words: 2 + 3.
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 5, "total_tokens": 5})
    );
    let mut b64 = float.clone();
    b64["encoding_format"] = json!("base64");
    let (status, encoded) = send_json(h.embeddings(KEY_ALL, &b64)).await;
    assert_eq!(status, 200, "{encoded}");
    for i in 0..2 {
        let decoded = decode_base64(encoded["data"][i]["embedding"].as_str().unwrap());
        assert_eq!(decoded, floats(&answer["data"][i]["embedding"]));
    }
    let seen: Vec<_> = h
        .mock
        .requests()
        .into_iter()
        .filter(|r| r.path != "/token")
        .collect();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].path,
        format!("{LOCATION}/google/models/gemini-embedding-001:predict")
    );
    assert!(
        seen[0]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert_eq!(
        seen[1].json().unwrap(),
        json!({"instances": [{"content": "one two"}, {"content": "three four five"}],
               "parameters": {"outputDimensionality": 6}})
    );
    assert_eq!(h.mock.tokens_minted(), 1);
    assert_eq!(h.mock.embeddings_count(), 2);

    let (status, body) =
        send_json(h.embeddings(KEY_ALL, &json!({"model": "claude-v", "input": "x"}))).await;
    assert_eq!(status, 400, "Claude on Vertex serves no embeddings: {body}");
    let (status, body) =
        send_json(h.embeddings(KEY_ALL, &json!({"model": "emb-v", "input": [1, 2]}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "input");
    assert_eq!(h.mock.embeddings_count(), 2);
    h.stop().await;
}
