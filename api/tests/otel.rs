//! OpenTelemetry export (the `otel` feature) against an in-process OTLP/HTTP receiver: a span
//! per request with one child per upstream attempt, and the GenAI semantic-convention metrics.
//! Its own test binary: it installs the process's tracing subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use portcullis_api::{Config, StartOptions};
use portcullis_loadtest::mock::{Behaviour, MockOptions, MockUpstream};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;

const PROVIDER_KEY: &str = "sk-otel-canary-provider-key-7f3a9c1e5b";
const KEY: &str = "pk-otel-canary-virtual-key-4d8e2a6c0f";
const MASTER: &str = "master-key-for-the-otel-test-0123456789";

/// What the receiver got: each POSTed JSON document, by signal.
#[derive(Clone, Default)]
struct Received {
    traces: Arc<Mutex<Vec<Value>>>,
    metrics: Arc<Mutex<Vec<Value>>>,
    raw: Arc<Mutex<Vec<String>>>,
}

async fn collect(
    got: web::Data<Received>,
    signal: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let text = String::from_utf8_lossy(&body).into_owned();
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    got.raw.lock().unwrap().push(text);
    match signal.as_str() {
        "traces" => got.traces.lock().unwrap().push(doc),
        "metrics" => got.metrics.lock().unwrap().push(doc),
        _ => return HttpResponse::NotFound().finish(),
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}

/// An OTLP/HTTP receiver on 127.0.0.1:0.
fn receiver() -> (String, Received) {
    let got = Received::default();
    let data = web::Data::new(got.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/{signal}", web::post().to(collect))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    (format!("http://{addr}"), got)
}

fn yaml(mock: &str, otlp: &str) -> String {
    format!(
        r#"
storage:
  backend: memory
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  workers: 1
auth:
  master_key: env:MASTER
providers:
  - name: mock
    vendor: openai_compatible
    base_url: {mock}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    retry: {{ backoff_base: 1ms, backoff_max: 1ms }}
models:
  - name: pair
    strategy: priority
    deployments:
      - {{ provider: mock, model: first-up }}
      - {{ provider: mock, model: second-up }}
keys:
  - name: caller
    key: env:KEY
    models: [pair]
telemetry:
  otlp:
    endpoint: {otlp}
    service_name: portcullis-test
    metrics_interval: 100ms
"#
    )
}

fn env(name: &str) -> Option<String> {
    match name {
        "MASTER" => Some(MASTER.to_owned()),
        "PROVIDER_KEY" => Some(PROVIDER_KEY.to_owned()),
        "KEY" => Some(KEY.to_owned()),
        _ => None,
    }
}

/// An attribute value as text, whatever OTLP/JSON type it has.
fn text(value: &Value) -> String {
    for kind in ["stringValue", "intValue", "doubleValue", "boolValue"] {
        if let Some(v) = value.get(kind) {
            return v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        }
    }
    value.to_string()
}

#[derive(Debug)]
struct Span {
    name: String,
    kind: i64,
    trace: String,
    id: String,
    parent: String,
    attrs: HashMap<String, String>,
}

fn spans(got: &Received) -> Vec<Span> {
    let docs = got.traces.lock().unwrap().clone();
    let mut out = Vec::new();
    for doc in docs {
        for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    let attrs = s["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| (a["key"].as_str().unwrap().to_owned(), text(&a["value"])))
                        .collect();
                    out.push(Span {
                        name: s["name"].as_str().unwrap_or_default().to_owned(),
                        kind: s["kind"].as_i64().unwrap_or_default(),
                        trace: s["traceId"].as_str().unwrap_or_default().to_owned(),
                        id: s["spanId"].as_str().unwrap_or_default().to_owned(),
                        parent: s["parentSpanId"].as_str().unwrap_or_default().to_owned(),
                        attrs,
                    });
                }
            }
        }
    }
    out
}

/// Every exported metric's name, with each data point's attributes.
fn metrics(got: &Received) -> Vec<(String, HashMap<String, String>)> {
    let docs = got.metrics.lock().unwrap().clone();
    let mut out = Vec::new();
    for doc in docs {
        for rm in doc["resourceMetrics"].as_array().into_iter().flatten() {
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                for m in sm["metrics"].as_array().into_iter().flatten() {
                    let name = m["name"].as_str().unwrap_or_default().to_owned();
                    let points = m["histogram"]["dataPoints"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for p in points {
                        let attrs = p["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| (a["key"].as_str().unwrap().to_owned(), text(&a["value"])))
                            .collect();
                        out.push((name.clone(), attrs));
                    }
                }
            }
        }
    }
    out
}

/// Polls `ready` for up to 10 s; whether it became true.
async fn until(_what: &str, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

#[actix_web::test]
async fn requests_and_upstream_attempts_are_traced_and_genai_metrics_exported() {
    let (otlp, got) = receiver();
    let mock = MockUpstream::start(MockOptions {
        expect_api_key: Some(PROVIDER_KEY.to_owned()),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let config = Config::from_yaml_str(&yaml(&mock.base_url(), &otlp), &env).unwrap();
    let (layer, telemetry) =
        portcullis_api::telemetry::layer(config.telemetry.otlp.as_ref().unwrap()).unwrap();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();
    let gateway = portcullis_api::start(
        &config,
        StartOptions {
            handle_signals: false,
        },
    )
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1/chat/completions", gateway.public_addr);
    let ask = |stream: bool| {
        http.post(&url)
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(
                json!({ "model": "pair", "stream": stream,
                        "messages": [{ "role": "user", "content": "hi" }] })
                .to_string(),
            )
    };
    // The first deployment fails once: that request has two upstream attempts.
    mock.script("first-up", [Behaviour::status(500)]);
    let response = ask(false).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();
    let streamed = ask(true).send().await.unwrap().text().await.unwrap();
    assert!(streamed.contains("[DONE]"));
    telemetry.flush();

    let waited = until("the request spans", || {
        spans(&got).iter().filter(|s| s.name == "chat pair").count() >= 2
    })
    .await;
    assert!(
        waited,
        "request spans missing; exported: {:#?}; raw documents: {}",
        spans(&got),
        got.raw.lock().unwrap().len()
    );
    let all = spans(&got);
    let requests: Vec<&Span> = all.iter().filter(|s| s.name == "chat pair").collect();
    // The JSON request: a server span with the GenAI attributes and two client children.
    let retried = requests
        .iter()
        .find(|r| all.iter().filter(|s| s.parent == r.id).count() == 2)
        .unwrap_or_else(|| panic!("no request span with two attempts: {all:#?}"));
    assert_eq!(retried.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(retried.attrs["gen_ai.operation.name"], "chat");
    assert_eq!(retried.attrs["gen_ai.request.model"], "pair");
    assert_eq!(retried.attrs["http.response.status_code"], "200");
    assert!(
        retried.attrs["gen_ai.usage.input_tokens"]
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert!(retried.attrs.contains_key("portcullis.request_id"));
    let attempts: Vec<&Span> = all.iter().filter(|s| s.parent == retried.id).collect();
    for attempt in &attempts {
        assert_eq!(attempt.trace, retried.trace);
        assert_eq!(attempt.kind, 3, "SPAN_KIND_CLIENT");
        assert_eq!(attempt.attrs["gen_ai.provider.name"], "mock");
        assert_eq!(attempt.attrs["portcullis.model_group"], "pair");
    }
    let failed = attempts
        .iter()
        .find(|a| a.attrs.get("gen_ai.request.model").map(String::as_str) == Some("first-up"))
        .unwrap();
    assert!(failed.attrs.contains_key("error.type"), "{failed:?}");
    assert!(
        attempts
            .iter()
            .any(|a| a.attrs["gen_ai.request.model"] == "second-up")
    );

    let waited = until("the GenAI metrics", || {
        let m = metrics(&got);
        let has = |name: &str| m.iter().any(|(n, _)| n == name);
        has("gen_ai.client.token.usage")
            && has("gen_ai.server.request.duration")
            && has("gen_ai.server.time_to_first_token")
    })
    .await;
    assert!(waited, "GenAI metrics missing: {:?}", metrics(&got));
    let m = metrics(&got);
    for kind in ["input", "output"] {
        assert!(
            m.iter().any(|(n, a)| n == "gen_ai.client.token.usage"
                && a.get("gen_ai.token.type").map(String::as_str) == Some(kind)
                && a.get("gen_ai.request.model").map(String::as_str) == Some("pair")),
            "{kind} tokens missing: {m:?}"
        );
    }
    // Nothing secret is exported: not the provider key, not the virtual key, not a piece.
    let raw = got.raw.lock().unwrap().join("\n");
    for secret in [PROVIDER_KEY, KEY, MASTER] {
        for piece in secret.as_bytes().windows(12) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!raw.contains(piece), "exported telemetry carries {piece:?}");
        }
    }
    drop(telemetry);
    gateway.stop(true).await;
    mock.shutdown().await;
}
