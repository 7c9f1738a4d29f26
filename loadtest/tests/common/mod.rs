//! Helpers shared by the mock upstream's integration tests: a client that
//! does not follow redirects, JSON posting, SSE event reading, and a timeout
//! so a broken mock fails a test instead of hanging it.

#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::future::Future;
use std::time::Duration;

use portcullis_loadtest::{MockOptions, MockUpstream};
use serde_json::{Value, json};

/// Upper bound for any single await in these tests.
pub(crate) const LIMIT: Duration = Duration::from_secs(10);

pub(crate) async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("timed out")
}

pub(crate) async fn start() -> MockUpstream {
    MockUpstream::start(MockOptions::default()).await.unwrap()
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn chat_url(mock: &MockUpstream) -> String {
    format!("{}/chat/completions", mock.base_url())
}

pub(crate) fn request(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello world!"}],
    })
}

pub(crate) async fn post(mock: &MockUpstream, body: &Value) -> reqwest::Response {
    within(
        client()
            .post(chat_url(mock))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send(),
    )
    .await
    .unwrap()
}

/// Status and JSON body of a non-streaming call.
pub(crate) async fn post_json(mock: &MockUpstream, body: &Value) -> (u16, Value) {
    let resp = post(mock, body).await;
    let status = resp.status().as_u16();
    let bytes = within(resp.bytes()).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Reads SSE events from a response body.
pub(crate) struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    pub(crate) fn new(resp: reqwest::Response) -> Self {
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next complete event (without the trailing blank line), `Ok(None)`
    /// at a clean end of body, `Err` if the body failed.
    pub(crate) async fn next(&mut self) -> Result<Option<String>, reqwest::Error> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let event = self.buf[..end].to_owned();
                self.buf.drain(..end + 2);
                return Ok(Some(event));
            }
            match within(self.resp.chunk()).await? {
                Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => {
                    assert!(self.buf.is_empty(), "trailing partial event {:?}", self.buf);
                    return Ok(None);
                }
            }
        }
    }

    /// Every remaining event; panics if the body fails.
    pub(crate) async fn rest(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match self.next().await.unwrap() {
                Some(e) => out.push(e),
                None => return out,
            }
        }
        panic!("too many events");
    }
}

/// The JSON payload of a `data: {...}` event.
pub(crate) fn payload(event: &str) -> Value {
    serde_json::from_str(event.strip_prefix("data: ").unwrap()).unwrap()
}

/// Every event of a response body, read to its end.
pub(crate) async fn events(resp: reqwest::Response) -> Vec<String> {
    Events::new(resp).rest().await
}

/// The `data:` payload of each event, in order (Anthropic events carry an
/// `event:` line first, OpenAI's do not).
pub(crate) fn payloads(events: &[String]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

/// The message URL of the mock's Anthropic side.
pub(crate) fn messages_url(mock: &MockUpstream) -> String {
    format!("{}/messages", mock.base_url())
}

/// An Anthropic messages request.
pub(crate) fn anthropic_request(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello world!"}],
    })
}

/// POSTs `body` to `/v1/messages` with `x-api-key: key` (if any) and
/// `anthropic-version`.
pub(crate) async fn post_messages(
    mock: &MockUpstream,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut req = client()
        .post(messages_url(mock))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(body.to_string());
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    within(req.send()).await.unwrap()
}

/// Status and JSON body of a non-streaming Anthropic call with key `k`.
pub(crate) async fn messages_json(mock: &MockUpstream, body: &Value) -> (u16, Value) {
    let resp = post_messages(mock, Some("k"), body).await;
    let status = resp.status().as_u16();
    let bytes = within(resp.bytes()).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}
