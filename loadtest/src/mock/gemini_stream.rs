//! The events of a Gemini `streamGenerateContent?alt=sse` answer, for the [`super::sse`]
//! driver: each a whole `GenerateContentResponse`. One event per text chunk (`tokN `), one
//! per function call (Gemini sends calls whole), then a last event with the finish reason
//! and `usageMetadata`. There is no end marker: the body simply ends.

use bytes::Bytes;

use super::gemini_wire::{Usage, call_part, event, stream_error_event};
use super::openai_wire::token_text;
use super::sse::EventSource;
use super::tools::PlannedCall;

/// One Gemini stream, fixed when the request arrives.
#[derive(Debug, Clone)]
pub(crate) struct GeminiStream {
    pub id: String,
    pub model: String,
    pub text_chunks: usize,
    pub calls: Vec<PlannedCall>,
    pub finish_reason: &'static str,
    pub usage: Usage,
    pub error_status: Option<String>,
}

impl EventSource for GeminiStream {
    fn head(&self, _i: usize) -> Option<Bytes> {
        None
    }

    fn content(&self, i: usize) -> Option<Bytes> {
        let part = if i < self.text_chunks {
            let text = token_text(u64::try_from(i).unwrap_or(u64::MAX));
            serde_json::json!({ "text": text })
        } else {
            call_part(self.calls.get(i - self.text_chunks)?)
        };
        Some(event(&self.id, &self.model, vec![part], None, None))
    }

    fn tail(&self, i: usize) -> Option<Bytes> {
        (i == 0).then(|| {
            event(
                &self.id,
                &self.model,
                Vec::new(),
                Some(self.finish_reason),
                Some(self.usage),
            )
        })
    }

    fn error(&self) -> Bytes {
        stream_error_event(self.error_status.as_deref())
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

    #[tokio::test]
    async fn text_then_whole_calls_then_the_finish_with_usage() {
        let calls = plan(
            &[ToolCall {
                name: None,
                arguments: serde_json::json!({"city": "Paris"}),
            }],
            &["weather".to_owned()],
            "",
        );
        let stream = GeminiStream {
            id: "r1".into(),
            model: "gemini-mock".into(),
            text_chunks: 2,
            calls,
            finish_reason: "STOP",
            usage: Usage {
                prompt: 4,
                candidates: 3,
                cached: 0,
            },
            error_status: None,
        };
        let shared = Arc::new(Shared::new(&MockOptions::default()));
        let (events, cut) =
            collect(sse_body(shared, Timing::new(&Behaviour::ok(), 0), stream)).await;
        assert!(!cut);
        assert_eq!(events.len(), 4);
        let json = |e: &str| -> serde_json::Value {
            serde_json::from_str(e.strip_prefix("data: ").unwrap().trim_end()).unwrap()
        };
        assert_eq!(
            json(&events[1])["candidates"][0]["content"]["parts"][0]["text"],
            "tok1 "
        );
        let call = &json(&events[2])["candidates"][0]["content"]["parts"][0]["functionCall"];
        assert_eq!(call["name"], "weather");
        assert_eq!(call["args"]["city"], "Paris");
        let last = json(&events[3]);
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 7);
    }
}
