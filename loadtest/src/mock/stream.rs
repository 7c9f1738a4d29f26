//! The mock's server-sent-event stream, shaped like OpenAI's
//! `chat.completion.chunk` stream.
//!
//! The body is a `futures` stream driven by hyper's connection task: each
//! event is produced, counted and handed to hyper as its own frame only when
//! hyper asks for the next one, so delays, pauses and cuts happen exactly
//! between events, and a client sees every event as it is sent.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use super::service::MockBody;
use super::state::Shared;
use super::wire::{Usage, token_text};

/// The body error that makes hyper abort the connection mid-stream
/// ([`Behaviour::disconnect_after`](crate::Behaviour::disconnect_after)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamCut;

impl std::fmt::Display for StreamCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mock upstream cut the stream on purpose")
    }
}

impl std::error::Error for StreamCut {}

/// Everything one stream needs to know, fixed when the request arrives.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    pub id: u64,
    pub created: u64,
    pub model: String,
    pub include_usage: bool,
    pub chunks: usize,
    pub interval: Duration,
    pub first_byte_delay: Duration,
    pub disconnect_after: Option<usize>,
    pub pause_after: Option<usize>,
    pub usage: Usage,
    /// The resume generation when the request arrived.
    pub resume_seen: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Role,
    /// `n` content chunks sent so far.
    Content(usize),
    Usage,
    Done,
    End,
}

struct Sse {
    shared: Arc<Shared>,
    plan: StreamPlan,
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[`
    prefix: String,
    phase: Phase,
}

/// The streaming response body for `plan`.
pub(crate) fn sse_body(shared: Arc<Shared>, plan: StreamPlan) -> MockBody {
    let model = serde_json::to_string(&plan.model).unwrap_or_else(|_| "\"\"".to_owned());
    let prefix = format!(
        r#"data: {{"id":"chatcmpl-mock-{}","object":"chat.completion.chunk","created":{},"model":{},"choices":["#,
        plan.id, plan.created, model
    );
    let state = Sse {
        shared,
        plan,
        prefix,
        phase: Phase::Role,
    };
    StreamBody::new(futures_util::stream::unfold(state, step)).boxed_unsync()
}

async fn step(mut st: Sse) -> Option<(Result<Frame<Bytes>, StreamCut>, Sse)> {
    let event = match st.phase {
        Phase::Role => {
            pause(st.plan.first_byte_delay).await;
            st.phase = Phase::Content(0);
            st.chunk(r#"{"role":"assistant","content":""}"#, None)
        }
        Phase::Content(sent) => {
            if st.plan.disconnect_after == Some(sent) {
                // Hand control back once so hyper flushes what it buffered,
                // then fail the body: hyper drops the connection.
                tokio::task::yield_now().await;
                st.phase = Phase::End;
                return Some((Err(StreamCut), st));
            }
            if st.plan.pause_after == Some(sent) {
                st.shared.resumed_since(st.plan.resume_seen).await;
            }
            pause(st.plan.interval).await;
            if sent < st.plan.chunks {
                st.phase = Phase::Content(sent + 1);
                let text = token_text(u64::try_from(sent).unwrap_or(u64::MAX));
                st.chunk(&format!(r#"{{"content":"{text}"}}"#), None)
            } else {
                st.phase = if st.plan.include_usage {
                    Phase::Usage
                } else {
                    Phase::Done
                };
                st.chunk("{}", Some("stop"))
            }
        }
        Phase::Usage => {
            st.phase = Phase::Done;
            st.usage_chunk()
        }
        Phase::Done => {
            st.phase = Phase::End;
            Bytes::from_static(b"data: [DONE]\n\n")
        }
        Phase::End => return None,
    };
    st.shared.count_chunk();
    Some((Ok(Frame::data(event)), st))
}

async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

impl Sse {
    /// One event with a single choice carrying `delta`.
    fn chunk(&self, delta: &str, finish: Option<&str>) -> Bytes {
        let mut s = String::with_capacity(self.prefix.len() + delta.len() + 96);
        s.push_str(&self.prefix);
        s.push_str(r#"{"index":0,"delta":"#);
        s.push_str(delta);
        s.push_str(r#","logprobs":null,"finish_reason":"#);
        match finish {
            Some(reason) => {
                s.push('"');
                s.push_str(reason);
                s.push('"');
            }
            None => s.push_str("null"),
        }
        s.push_str("}]");
        if self.plan.include_usage {
            s.push_str(r#","usage":null"#);
        }
        s.push_str("}\n\n");
        Bytes::from(s)
    }

    /// The `include_usage` event: no choices, just the usage object.
    fn usage_chunk(&self) -> Bytes {
        let usage = serde_json::to_string(&self.plan.usage).unwrap_or_else(|_| "null".to_owned());
        let mut s = String::with_capacity(self.prefix.len() + usage.len() + 16);
        s.push_str(&self.prefix);
        s.push_str(r#"],"usage":"#);
        s.push_str(&usage);
        s.push_str("}\n\n");
        Bytes::from(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockOptions;

    fn plan(include_usage: bool) -> StreamPlan {
        StreamPlan {
            id: 3,
            created: 11,
            model: "m\"x".into(),
            include_usage,
            chunks: 2,
            interval: Duration::ZERO,
            first_byte_delay: Duration::ZERO,
            disconnect_after: None,
            pause_after: None,
            usage: Usage::new(4, 2),
            resume_seen: 0,
        }
    }

    async fn events(p: StreamPlan) -> (Vec<String>, bool) {
        let shared = Arc::new(Shared::new(&MockOptions::default()));
        let mut body = sse_body(Arc::clone(&shared), p);
        let mut out = Vec::new();
        let mut cut = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => out.push(String::from_utf8(f.into_data().unwrap().to_vec()).unwrap()),
                Err(StreamCut) => cut = true,
            }
        }
        assert_eq!(shared.chunks(), out.len() as u64);
        (out, cut)
    }

    fn json(event: &str) -> serde_json::Value {
        let payload = event
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        serde_json::from_str(payload).unwrap()
    }

    #[tokio::test]
    async fn events_are_valid_chunks_in_openai_order() {
        let (ev, cut) = events(plan(false)).await;
        assert!(!cut);
        assert_eq!(ev.len(), 5);
        let first = json(&ev[0]);
        assert_eq!(first["id"], "chatcmpl-mock-3");
        assert_eq!(first["model"], "m\"x");
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(json(&ev[2])["choices"][0]["delta"]["content"], "tok1 ");
        assert_eq!(json(&ev[3])["choices"][0]["finish_reason"], "stop");
        assert!(json(&ev[3]).get("usage").is_none());
        assert_eq!(ev[4], "data: [DONE]\n\n");
    }

    #[tokio::test]
    async fn include_usage_adds_null_usage_and_a_usage_chunk() {
        let (ev, _) = events(plan(true)).await;
        assert_eq!(ev.len(), 6);
        for e in &ev[..4] {
            assert!(json(e)["usage"].is_null());
            assert!(json(e).get("usage").is_some());
        }
        let usage = json(&ev[4]);
        assert_eq!(usage["choices"], serde_json::json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 6);
    }

    #[tokio::test]
    async fn disconnect_after_ends_with_an_error_and_no_done() {
        let (ev, cut) = events(StreamPlan {
            disconnect_after: Some(1),
            ..plan(false)
        })
        .await;
        assert!(cut);
        assert_eq!(ev.len(), 2);
    }
}
