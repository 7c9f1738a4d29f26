//! The frames of a ConverseStream answer, for the [`super::sse`] driver
//! (which sends each as its own body frame): `messageStart`; the text
//! block's `contentBlockDelta`s and `contentBlockStop`; per tool call a
//! `contentBlockStart` (id and name), its `toolUse.input` deltas and a
//! `contentBlockStop`; then `messageStop` with the stop reason and
//! `metadata` with the usage.

use bytes::Bytes;
use serde_json::json;

use super::bedrock_wire::{Usage, event, exception};
use super::openai_wire::token_text;
use super::sse::EventSource;
use super::tools::{PlannedCall, locate};

/// One ConverseStream, fixed when the request arrives.
#[derive(Debug, Clone)]
pub(crate) struct BedrockStream {
    /// Text deltas in the leading text block (none: no text block).
    pub text_chunks: usize,
    pub calls: Vec<PlannedCall>,
    pub stop_reason: &'static str,
    pub usage: Usage,
    /// The `:exception-type` of a mid-stream error.
    pub error_type: Option<String>,
}

impl BedrockStream {
    /// Content events of the text block: its deltas and its stop.
    fn text_events(&self) -> usize {
        if self.text_chunks == 0 {
            0
        } else {
            self.text_chunks + 1
        }
    }
}

impl EventSource for BedrockStream {
    fn head(&self, i: usize) -> Option<Bytes> {
        (i == 0).then(|| event("messageStart", &json!({"role": "assistant"})))
    }

    fn content(&self, i: usize) -> Option<Bytes> {
        let text = self.text_events();
        if i < text {
            return Some(if i < self.text_chunks {
                let t = token_text(u64::try_from(i).unwrap_or(u64::MAX));
                event(
                    "contentBlockDelta",
                    &json!({"contentBlockIndex": 0, "delta": {"text": t}}),
                )
            } else {
                event("contentBlockStop", &json!({"contentBlockIndex": 0}))
            });
        }
        let (n, call, offset) = locate(&self.calls, i - text, 1, 1)?;
        let index = n + usize::from(text > 0);
        Some(if offset == 0 {
            event(
                "contentBlockStart",
                &json!({"contentBlockIndex": index,
                        "start": {"toolUse": {"toolUseId": call.id, "name": call.name}}}),
            )
        } else if offset <= call.piece_count() {
            event(
                "contentBlockDelta",
                &json!({"contentBlockIndex": index,
                        "delta": {"toolUse": {"input": call.piece(offset - 1)}}}),
            )
        } else {
            event("contentBlockStop", &json!({"contentBlockIndex": index}))
        })
    }

    fn tail(&self, i: usize) -> Option<Bytes> {
        match i {
            0 => Some(event(
                "messageStop",
                &json!({"stopReason": self.stop_reason}),
            )),
            1 => Some(event(
                "metadata",
                &json!({"usage": self.usage.to_json(), "metrics": {"latencyMs": 1}}),
            )),
            _ => None,
        }
    }

    fn error(&self) -> Bytes {
        let kind = self
            .error_type
            .as_deref()
            .unwrap_or("modelStreamErrorException");
        exception(kind, "Mid-stream error (mock).")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::mock::behaviour::ToolCall;
    use crate::mock::tools::plan;

    /// `(:event-type, payload)` of one frame, checking its lengths and CRCs.
    fn read(frame: &[u8]) -> (String, Value) {
        let total = u32::from_be_bytes(frame[0..4].try_into().unwrap()) as usize;
        let headers = u32::from_be_bytes(frame[4..8].try_into().unwrap()) as usize;
        assert_eq!(total, frame.len());
        assert_eq!(frame[8..12], crc32fast::hash(&frame[..8]).to_be_bytes());
        assert_eq!(
            frame[total - 4..],
            crc32fast::hash(&frame[..total - 4]).to_be_bytes()
        );
        let section = &frame[12..12 + headers];
        let name_len = section[0] as usize;
        assert_eq!(&section[1..1 + name_len], b":event-type");
        let value_len = u16::from_be_bytes([section[2 + name_len], section[3 + name_len]]) as usize;
        let value = &section[4 + name_len..4 + name_len + value_len];
        let payload = serde_json::from_slice(&frame[12 + headers..total - 4]).unwrap();
        (String::from_utf8(value.to_vec()).unwrap(), payload)
    }

    fn all(s: &BedrockStream) -> Vec<(String, Value)> {
        let mut frames = Vec::new();
        for section in [
            &(|i| s.head(i)) as &dyn Fn(usize) -> Option<Bytes>,
            &|i| s.content(i),
            &|i| s.tail(i),
        ] {
            let mut i = 0;
            while let Some(f) = section(i) {
                frames.push(read(&f));
                i += 1;
                assert!(i < 1000);
            }
        }
        frames
    }

    #[test]
    fn text_and_parallel_tool_use_follow_the_documented_event_order() {
        let scripted = [
            ToolCall {
                name: None,
                arguments: json!({"city": "Paris, France", "unit": "c"}),
            },
            ToolCall {
                name: Some("b".into()),
                arguments: json!({}),
            },
        ];
        let calls = plan(&scripted, &["a".to_owned()], "tooluse_mock_1_");
        let s = BedrockStream {
            text_chunks: 2,
            calls: calls.clone(),
            stop_reason: "tool_use",
            usage: Usage {
                input_tokens: 3,
                output_tokens: 9,
                cache_read_input_tokens: 1,
                cache_write_input_tokens: 0,
            },
            error_type: None,
        };
        let frames = all(&s);
        let names: Vec<&str> = frames.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names[..5],
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "contentBlockStart"
            ]
        );
        assert_eq!(names[names.len() - 2..], ["messageStop", "metadata"]);
        let start = &frames[4].1;
        assert_eq!(start["contentBlockIndex"], 1);
        assert_eq!(start["start"]["toolUse"]["name"], "a");
        let input: String = frames
            .iter()
            .filter(|(n, p)| n == "contentBlockDelta" && p["contentBlockIndex"] == 1)
            .map(|(_, p)| p["delta"]["toolUse"]["input"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&input).unwrap(),
            scripted[0].arguments
        );
        let starts = names.iter().filter(|n| **n == "contentBlockStart").count();
        assert_eq!(starts, 2);
        assert_eq!(frames.last().unwrap().1["usage"]["totalTokens"], 12);
        assert!(!s.error().is_empty());
    }
}
