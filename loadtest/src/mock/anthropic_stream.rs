//! The events of an Anthropic Messages stream, for the [`super::sse`]
//! driver, in the documented order: `message_start`, the first block's
//! `content_block_start`, a `ping`, then per block its deltas (`text_delta`
//! or `input_json_delta`) and `content_block_stop` (and the next block's
//! `content_block_start`), then `message_delta` with the stop reason and the
//! output tokens, and `message_stop`.

use bytes::Bytes;
use serde_json::json;

use super::anthropic_wire::{Usage, sse_event, stream_error_event};
use super::openai_wire::token_text;
use super::sse::EventSource;
use super::tools::PlannedCall;

/// One Anthropic stream, fixed when the request arrives.
#[derive(Debug, Clone)]
pub(crate) struct AnthropicStream {
    pub id: String,
    pub model: String,
    /// Text deltas in the leading text block (none: no text block).
    pub text_chunks: usize,
    pub calls: Vec<PlannedCall>,
    pub stop_reason: &'static str,
    pub usage: Usage,
    pub error_type: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Block {
    Text,
    Tool(usize),
}

impl AnthropicStream {
    fn block(&self, index: usize) -> Option<Block> {
        let text = usize::from(self.text_chunks > 0);
        if index < text {
            Some(Block::Text)
        } else {
            let call = index - text;
            (call < self.calls.len()).then_some(Block::Tool(call))
        }
    }

    fn deltas(&self, block: Block) -> usize {
        match block {
            Block::Text => self.text_chunks,
            Block::Tool(call) => self.calls.get(call).map_or(0, PlannedCall::piece_count),
        }
    }

    fn start(&self, index: usize, block: Block) -> Bytes {
        let content_block = match block {
            Block::Text => json!({"type": "text", "text": ""}),
            Block::Tool(call) => {
                let call = self.calls.get(call);
                json!({"type": "tool_use", "id": call.map(|c| c.id.as_str()),
                       "name": call.map(|c| c.name.as_str()), "input": {}})
            }
        };
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": content_block}),
        )
    }

    fn delta(&self, index: usize, block: Block, i: usize) -> Bytes {
        let delta = match block {
            Block::Text => {
                json!({"type": "text_delta", "text": token_text(u64::try_from(i).unwrap_or(u64::MAX))})
            }
            Block::Tool(call) => {
                let piece = self.calls.get(call).map_or("", |c| c.piece(i));
                json!({"type": "input_json_delta", "partial_json": piece})
            }
        };
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    }
}

fn event(name: &str, data: serde_json::Value) -> Bytes {
    sse_event(name, data.to_string().as_bytes())
}

impl EventSource for AnthropicStream {
    fn head(&self, i: usize) -> Option<Bytes> {
        let first = self.block(0);
        match (i, first) {
            (0, _) => {
                let start_usage = Usage {
                    output_tokens: self.usage.output_tokens.min(1),
                    ..self.usage
                };
                Some(event(
                    "message_start",
                    json!({"type": "message_start", "message": {
                        "id": self.id, "type": "message", "role": "assistant", "content": [],
                        "model": self.model, "stop_reason": null, "stop_sequence": null,
                        "usage": start_usage}}),
                ))
            }
            (1, Some(block)) => Some(self.start(0, block)),
            (1, None) | (2, Some(_)) => Some(event("ping", json!({"type": "ping"}))),
            _ => None,
        }
    }

    fn content(&self, mut i: usize) -> Option<Bytes> {
        let mut index = 0;
        while let Some(block) = self.block(index) {
            // Block 0 was opened in the head; later ones open here.
            let opens = usize::from(index > 0);
            let deltas = self.deltas(block);
            if i < opens + deltas + 1 {
                return Some(if i < opens {
                    self.start(index, block)
                } else if i < opens + deltas {
                    self.delta(index, block, i - opens)
                } else {
                    event(
                        "content_block_stop",
                        json!({"type": "content_block_stop", "index": index}),
                    )
                });
            }
            i -= opens + deltas + 1;
            index += 1;
        }
        None
    }

    fn tail(&self, i: usize) -> Option<Bytes> {
        match i {
            0 => Some(event(
                "message_delta",
                json!({"type": "message_delta",
                       "delta": {"stop_reason": self.stop_reason, "stop_sequence": null},
                       "usage": {"output_tokens": self.usage.output_tokens}}),
            )),
            1 => Some(event("message_stop", json!({"type": "message_stop"}))),
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

    use serde_json::Value;

    use super::*;
    use crate::mock::behaviour::ToolCall;
    use crate::mock::sse::{Timing, collect, sse_body};
    use crate::mock::state::Shared;
    use crate::mock::tools::plan;
    use crate::{Behaviour, MockOptions};

    fn stream(text_chunks: usize, calls: Vec<PlannedCall>) -> AnthropicStream {
        AnthropicStream {
            id: "msg_mock_1".into(),
            model: "claude-x".into(),
            text_chunks,
            calls,
            stop_reason: "end_turn",
            usage: Usage {
                input_tokens: 3,
                cache_creation_input_tokens: 4,
                cache_read_input_tokens: 5,
                output_tokens: 9,
            },
            error_type: None,
        }
    }

    /// `(event name, data)` of every event.
    async fn events(s: AnthropicStream, b: Behaviour) -> (Vec<(String, Value)>, bool) {
        let shared = Arc::new(Shared::new(&MockOptions::default()));
        let (raw, cut) = collect(sse_body(shared, Timing::new(&b, 0), s)).await;
        let parsed = raw
            .iter()
            .map(|e| {
                let (name, data) = e.strip_suffix("\n\n").unwrap().split_once('\n').unwrap();
                let name = name.strip_prefix("event: ").unwrap().to_owned();
                let data: Value =
                    serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(data["type"], name.as_str());
                (name, data)
            })
            .collect();
        (parsed, cut)
    }

    fn names(ev: &[(String, Value)]) -> Vec<&str> {
        ev.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[tokio::test]
    async fn text_stream_follows_the_documented_event_order() {
        let (ev, cut) = events(stream(2, vec![]), Behaviour::ok()).await;
        assert!(!cut);
        assert_eq!(
            names(&ev),
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let usage = &ev[0].1["message"]["usage"];
        assert_eq!(usage["cache_read_input_tokens"], 5);
        assert_eq!(usage["cache_creation_input_tokens"], 4);
        assert_eq!(
            ev[3].1["delta"],
            json!({"type": "text_delta", "text": "tok0 "})
        );
        assert_eq!(ev[6].1["delta"]["stop_reason"], "end_turn");
        assert_eq!(ev[6].1["usage"]["output_tokens"], 9);
    }

    #[tokio::test]
    async fn parallel_tool_use_blocks_follow_the_text_block_with_json_deltas() {
        let scripted = [
            ToolCall {
                name: Some("a".into()),
                arguments: json!({"city": "Paris, France", "unit": "celsius"}),
            },
            ToolCall {
                name: Some("b".into()),
                arguments: json!({"tz": "UTC"}),
            },
        ];
        let calls = plan(&scripted, &["a".to_owned()], "toolu_mock_1_");
        let (ev, _) = events(stream(1, calls.clone()), Behaviour::ok()).await;
        let mut inputs = vec![String::new(); 2];
        let mut starts = Vec::new();
        for (name, data) in &ev {
            match name.as_str() {
                "content_block_start" => starts.push(data.clone()),
                "content_block_delta" if data["delta"]["type"] == "input_json_delta" => {
                    let index = data["index"].as_u64().unwrap() as usize;
                    inputs[index - 1].push_str(data["delta"]["partial_json"].as_str().unwrap());
                }
                _ => {}
            }
        }
        assert_eq!(starts.len(), 3);
        assert_eq!(starts[1]["index"], 1);
        assert_eq!(
            starts[1]["content_block"],
            json!({"type": "tool_use", "id": "toolu_mock_1_0", "name": "a", "input": {}})
        );
        assert_eq!(starts[2]["content_block"]["name"], "b");
        for (i, input) in inputs.iter().enumerate() {
            assert_eq!(
                serde_json::from_str::<Value>(input).unwrap(),
                scripted[i].arguments
            );
        }
        let stops = ev.iter().filter(|(n, _)| n == "content_block_stop").count();
        assert_eq!(stops, 3);
        assert_eq!(names(&ev).last(), Some(&"message_stop"));
    }

    #[tokio::test]
    async fn error_after_chunks_sends_an_error_event_and_no_message_stop() {
        let (ev, cut) = events(stream(4, vec![]), Behaviour::ok().error_after_chunks(2)).await;
        assert!(!cut);
        let last = ev.last().unwrap();
        assert_eq!(last.0, "error");
        assert_eq!(last.1["error"]["type"], "overloaded_error");
        assert_eq!(ev.len(), 3 + 2 + 1);
    }
}
