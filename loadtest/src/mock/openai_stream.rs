//! The events of an OpenAI `chat.completion.chunk` stream, for the
//! [`super::sse`] driver: a role chunk, text chunks, then each tool call as
//! an id/name chunk followed by its arguments in pieces, a finish chunk,
//! the usage chunk when `include_usage` was asked for, and `[DONE]`.

use bytes::Bytes;

use super::openai_error::stream_error_event;
use super::openai_wire::{Usage, token_text};
use super::sse::EventSource;
use super::tools::{PlannedCall, locate};

/// One OpenAI stream, fixed when the request arrives.
#[derive(Debug, Clone)]
pub(crate) struct OpenAiStream {
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[`
    prefix: String,
    include_usage: bool,
    text_chunks: usize,
    calls: Vec<PlannedCall>,
    usage: Usage,
    error_type: Option<String>,
}

/// What an [`OpenAiStream`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct OpenAiStreamPlan {
    pub id: u64,
    pub created: u64,
    pub model: String,
    pub include_usage: bool,
    pub text_chunks: usize,
    pub calls: Vec<PlannedCall>,
    pub usage: Usage,
    pub error_type: Option<String>,
}

impl OpenAiStream {
    pub(crate) fn new(plan: OpenAiStreamPlan) -> Self {
        let model = serde_json::to_string(&plan.model).unwrap_or_else(|_| "\"\"".to_owned());
        let prefix = format!(
            r#"data: {{"id":"chatcmpl-mock-{}","object":"chat.completion.chunk","created":{},"model":{},"choices":["#,
            plan.id, plan.created, model
        );
        Self {
            prefix,
            include_usage: plan.include_usage,
            text_chunks: plan.text_chunks,
            calls: plan.calls,
            usage: plan.usage,
            error_type: plan.error_type,
        }
    }

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
        if self.include_usage {
            s.push_str(r#","usage":null"#);
        }
        s.push_str("}\n\n");
        Bytes::from(s)
    }

    /// The `include_usage` event: no choices, just the usage object.
    fn usage_chunk(&self) -> Bytes {
        let usage = serde_json::to_string(&self.usage).unwrap_or_else(|_| "null".to_owned());
        let mut s = String::with_capacity(self.prefix.len() + usage.len() + 16);
        s.push_str(&self.prefix);
        s.push_str(r#"],"usage":"#);
        s.push_str(&usage);
        s.push_str("}\n\n");
        Bytes::from(s)
    }

    /// Event `offset` of tool call `call` (at position `index`): the id and
    /// name first, then the argument pieces.
    fn tool_event(&self, index: usize, call: &PlannedCall, offset: usize) -> Bytes {
        let delta = if offset == 0 {
            serde_json::json!({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": ""}}]})
        } else {
            serde_json::json!({"tool_calls": [{"index": index,
                "function": {"arguments": call.piece(offset - 1)}}]})
        };
        self.chunk(&delta.to_string(), None)
    }
}

impl EventSource for OpenAiStream {
    fn head(&self, i: usize) -> Option<Bytes> {
        let content = if self.text_chunks == 0 && !self.calls.is_empty() {
            "null"
        } else {
            "\"\""
        };
        (i == 0).then(|| {
            self.chunk(
                &format!(r#"{{"role":"assistant","content":{content}}}"#),
                None,
            )
        })
    }

    fn content(&self, i: usize) -> Option<Bytes> {
        if i < self.text_chunks {
            let text = token_text(u64::try_from(i).unwrap_or(u64::MAX));
            return Some(self.chunk(&format!(r#"{{"content":"{text}"}}"#), None));
        }
        let (index, call, offset) = locate(&self.calls, i - self.text_chunks, 1, 0)?;
        Some(self.tool_event(index, call, offset))
    }

    fn tail(&self, i: usize) -> Option<Bytes> {
        let finish = if self.calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        match (i, self.include_usage) {
            (0, _) => Some(self.chunk("{}", Some(finish))),
            (1, true) => Some(self.usage_chunk()),
            (1, false) | (2, true) => Some(Bytes::from_static(b"data: [DONE]\n\n")),
            _ => None,
        }
    }

    fn error(&self) -> Bytes {
        stream_error_event(self.error_type.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::mock::behaviour::ToolCall;
    use crate::mock::sse::{Timing, collect, sse_body};
    use crate::mock::state::Shared;
    use crate::mock::tools::plan;
    use crate::{Behaviour, MockOptions};

    fn plan_with(include_usage: bool, calls: Vec<PlannedCall>) -> OpenAiStreamPlan {
        OpenAiStreamPlan {
            id: 3,
            created: 11,
            model: "m\"x".into(),
            include_usage,
            text_chunks: 2,
            calls,
            usage: Usage::new(4, 2),
            error_type: None,
        }
    }

    async fn events(p: OpenAiStreamPlan, b: Behaviour) -> (Vec<String>, bool) {
        let shared = Arc::new(Shared::new(&MockOptions::default()));
        let body = sse_body(
            Arc::clone(&shared),
            Timing::new(&b, 0),
            OpenAiStream::new(p),
        );
        let (out, cut) = collect(body).await;
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
        let (ev, cut) = events(plan_with(false, vec![]), Behaviour::ok()).await;
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
        let (ev, _) = events(plan_with(true, vec![]), Behaviour::ok()).await;
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
    async fn tool_calls_stream_index_id_name_then_argument_pieces() {
        let scripted = [
            ToolCall {
                name: Some("a".into()),
                arguments: serde_json::json!({"q": "a long enough query string"}),
            },
            ToolCall {
                name: Some("b".into()),
                arguments: serde_json::json!({}),
            },
        ];
        let calls = plan(&scripted, &["a".to_owned()], "call_x_");
        let pieces = calls[0].piece_count();
        let (ev, _) = events(plan_with(false, calls.clone()), Behaviour::ok()).await;
        // role + 2 text + (1 + pieces) + (1 + 1) + finish + [DONE]
        assert_eq!(ev.len(), 1 + 2 + 1 + pieces + 2 + 2);
        let start = json(&ev[3])["choices"][0]["delta"]["tool_calls"][0].clone();
        assert_eq!(start["index"], 0);
        assert_eq!(start["id"], "call_x_0");
        assert_eq!(start["function"]["name"], "a");
        let args: String = ev[4..4 + pieces]
            .iter()
            .map(|e| {
                let d = json(e)["choices"][0]["delta"]["tool_calls"][0].clone();
                assert_eq!(d["index"], 0);
                assert!(d.get("id").is_none());
                d["function"]["arguments"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(args, calls[0].arguments);
        let second = json(&ev[4 + pieces])["choices"][0]["delta"]["tool_calls"][0].clone();
        assert_eq!(
            (second["index"].clone(), second["id"].clone()),
            (1.into(), "call_x_1".into())
        );
        let finish = json(&ev[ev.len() - 2]);
        assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    }

    #[tokio::test]
    async fn error_after_chunks_ends_with_an_error_event_and_no_done() {
        let (ev, cut) = events(
            plan_with(false, vec![]),
            Behaviour::ok().error_after_chunks(1),
        )
        .await;
        assert!(!cut);
        assert_eq!(ev.len(), 3);
        assert_eq!(json(&ev[2])["error"]["type"], "server_error");
    }

    #[tokio::test]
    async fn disconnect_after_ends_with_an_error_and_no_done() {
        let (ev, cut) = events(
            plan_with(false, vec![]),
            Behaviour::ok().disconnect_after(1),
        )
        .await;
        assert!(cut);
        assert_eq!(ev.len(), 2);
    }
}
