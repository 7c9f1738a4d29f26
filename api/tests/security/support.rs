//! The suite's gateway: random canaries planted as every credential, an attacker listener,
//! a bounded raw-TCP client, and the secret-hygiene check every test ends with.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use portcullis_api::Stores;
use portcullis_loadtest::mock::MockOptions;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{Harness, captured_logs, send_text};

/// Credentials planted in the suite's config, random per run so no 8-character piece of one
/// can occur by accident in a log line or a body.
pub(crate) struct Canaries {
    pub openai: String,
    pub anthropic: String,
    /// A Gemini key, for the tests that add a Gemini provider.
    pub gemini: String,
    pub key_a: String,
    pub key_b: String,
    pub master: String,
    pub pepper: String,
}

impl Canaries {
    pub(crate) fn all(&self) -> [&str; 7] {
        [
            &self.openai,
            &self.anthropic,
            &self.gemini,
            &self.key_a,
            &self.key_b,
            &self.master,
            &self.pepper,
        ]
    }
}

fn random(prefix: &str) -> String {
    let tail: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(40)
        .collect();
    format!("{prefix}{tail}")
}

pub(crate) fn canaries() -> &'static Canaries {
    static CANARIES: OnceLock<Canaries> = OnceLock::new();
    CANARIES.get_or_init(|| Canaries {
        openai: random("sk-"),
        anthropic: random("sk-ant-"),
        gemini: random("AIza"),
        key_a: random("sk-a-"),
        key_b: random("sk-b-"),
        master: random("mk-"),
        pepper: random("pp-"),
    })
}

fn env(name: &str) -> Option<String> {
    let c = canaries();
    Some(
        match name {
            "P_OPENAI" => &c.openai,
            "P_ANTHROPIC" => &c.anthropic,
            "P_GEMINI" => &c.gemini,
            "KEY_A" => &c.key_a,
            "KEY_B" => &c.key_b,
            "MASTER" => &c.master,
            "PEPPER" => &c.pepper,
            _ => return None,
        }
        .clone(),
    )
}

/// Two providers (OpenAI-compatible and Anthropic) on the mock; key A may use `gpt-test`
/// only, key B every model. `server_extra` lines are added under `server:`.
pub(crate) fn suite_yaml(mock_url: &str, server_extra: &str) -> String {
    format!(
        r#"
storage: {{ backend: memory }}
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  workers: 1
  max_body_bytes: 65536
  max_json_depth: 32
  header_timeout: 1s
  body_timeout: 1s
  max_url_bytes: 2048
  max_headers: 40
  max_header_bytes: 16384
{server_extra}
auth: {{ master_key: env:MASTER, key_pepper: env:PEPPER }}
providers:
  - name: mock
    vendor: openai_compatible
    base_url: {mock_url}
    api_key: env:P_OPENAI
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 1s }}
  - name: claude
    vendor: anthropic
    base_url: {mock_url}
    api_key: env:P_ANTHROPIC
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 1s }}
    anthropic: {{ default_max_tokens: 512 }}
models:
  - {{ name: gpt-test, deployments: [{{ provider: mock, model: upstream-gpt }}] }}
  - {{ name: gpt-4o-mini, deployments: [{{ provider: mock, model: gpt-4o-mini }}] }}
  - {{ name: claude-test, deployments: [{{ provider: claude, model: upstream-claude }}] }}
keys:
  - {{ name: team-a, key: env:KEY_A, models: [gpt-test] }}
  - {{ name: team-b, key: env:KEY_B, models: ["*"] }}
"#
    )
}

/// A listener the gateway must never connect to: it counts connections and bytes.
pub(crate) struct Attacker {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    bytes: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Attacker {
    pub(crate) async fn start() -> Attacker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicUsize::new(0));
        let (c, b) = (Arc::clone(&connections), Arc::clone(&bytes));
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        b.fetch_add(n, Ordering::SeqCst);
                    }
                });
            }
        });
        Attacker {
            addr,
            connections,
            bytes,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn assert_untouched(&self) {
        assert_eq!(
            (
                self.connections.load(Ordering::SeqCst),
                self.bytes.load(Ordering::SeqCst)
            ),
            (0, 0),
            "the attacker listener was contacted"
        );
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A gateway for one test, its stores (to read the audit log) and an attacker listener.
pub(crate) struct Suite {
    pub h: Harness,
    pub stores: Stores,
    pub attacker: Attacker,
    /// Everything the test saw: response bodies and headers. Checked by [`Suite::finish`].
    pub seen: String,
}

impl Suite {
    pub(crate) async fn start() -> Suite {
        Self::start_with(MockOptions::default(), "").await
    }

    pub(crate) async fn start_with(options: MockOptions, server_extra: &str) -> Suite {
        Self::start_yaml(options, |url| suite_yaml(url, server_extra)).await
    }

    pub(crate) async fn start_yaml(
        options: MockOptions,
        yaml: impl FnOnce(&str) -> String,
    ) -> Suite {
        let attacker = Attacker::start().await;
        let stores = Stores::memory();
        let h = Harness::start_env(options, yaml, &env, Some(stores.clone())).await;
        Suite {
            h,
            stores,
            attacker,
            seen: String::new(),
        }
    }

    pub(crate) fn public(&self) -> SocketAddr {
        self.h.gateway.public_addr
    }

    pub(crate) fn admin(&self) -> SocketAddr {
        self.h.gateway.admin_addr
    }

    /// Sends and keeps status, headers and body in [`Suite::seen`]; returns status and body.
    /// A POST of the JSON `body` to `route` with `key`; status and body, kept in `seen`.
    pub(crate) async fn post(&mut self, route: &str, key: &str, body: &Value) -> (u16, String) {
        let request = self
            .h
            .http
            .post(self.h.url(route))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, String) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        self.seen.push_str(&format!("{:?}", response.headers()));
        let body = response.text().await.unwrap();
        self.seen.push_str(&body);
        (status, body)
    }

    /// An admin call with the master key; status and JSON (or `Null`).
    pub(crate) async fn admin_call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .h
            .http
            .request(method, self.h.admin_url(path))
            .bearer_auth(&canaries().master);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let (status, text) = self.send(request).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Records raw bytes a test read from a socket.
    pub(crate) fn saw(&mut self, bytes: &[u8]) {
        self.seen.push_str(&String::from_utf8_lossy(bytes));
    }

    /// The secret-hygiene check and the attacker check; then stops the gateway.
    pub(crate) async fn finish(mut self) {
        let master = canaries().master.clone();
        for path in ["/metrics", "/health/ready", "/admin/openapi.json"] {
            let text =
                send_text(self.h.http.get(self.h.admin_url(path)).bearer_auth(&master)).await;
            self.seen.push_str(&text);
        }
        self.seen
            .push_str(&send_text(self.h.http.get(self.h.url("/health/live"))).await);
        let audit = self.stores.audit.list(0, 10_000).await.unwrap();
        self.seen.push_str(&format!("{audit:?}"));
        assert_no_canary("responses, metrics, health, OpenAPI or audit", &self.seen);
        assert_no_canary("the log", &captured_logs());
        self.attacker.assert_untouched();
        self.h.stop().await;
    }
}

/// Fails if `text` holds any canary or any 8-character piece of one.
pub(crate) fn assert_no_canary(place: &str, text: &str) {
    for canary in canaries().all() {
        let chars: Vec<char> = canary.chars().collect();
        for piece in chars.windows(8) {
            let piece: String = piece.iter().collect();
            if let Some(at) = text.find(&piece) {
                let before: Vec<char> = text[..at].chars().rev().take(120).collect();
                let before: String = before.into_iter().rev().collect();
                let after: String = text[at..].chars().take(60).collect();
                panic!(
                    "a piece of a canary credential ({piece}) appeared in {place}: …{before}{after}…"
                );
            }
        }
    }
}

/// What a raw exchange returned: the bytes read, and whether the server closed the
/// connection before the deadline.
pub(crate) struct RawReply {
    pub bytes: Vec<u8>,
    pub closed: bool,
}

impl RawReply {
    /// The status of the first response, if one arrived.
    pub(crate) fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.bytes);
        let line = text.lines().next()?;
        line.strip_prefix("HTTP/1.1 ")
            .or_else(|| line.strip_prefix("HTTP/1.0 "))?
            .get(..3)?
            .parse()
            .ok()
    }

    /// The head of the first response, lower-cased.
    pub(crate) fn head(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes).to_ascii_lowercase();
        text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
    }

    /// How many responses arrived.
    pub(crate) fn responses(&self) -> usize {
        String::from_utf8_lossy(&self.bytes)
            .matches("HTTP/1.")
            .count()
    }
}

/// Writes `request` and reads until the server closes or `within` passes.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8], within: Duration) -> RawReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may refuse and close before reading everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    read_until_closed(&mut stream, within).await
}

/// Reads until EOF (or a reset) or until `within` passes; at most 1 MiB.
pub(crate) async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> RawReply {
    let deadline = tokio::time::Instant::now() + within;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => {
                return RawReply {
                    bytes,
                    closed: false,
                };
            }
            Ok(Ok(0) | Err(_)) => {
                return RawReply {
                    bytes,
                    closed: true,
                };
            }
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&buf[..n]);
                assert!(bytes.len() < 1 << 20, "unbounded reply");
            }
        }
    }
}
