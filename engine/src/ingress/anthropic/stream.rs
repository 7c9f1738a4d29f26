//! OpenAI `chat.completion.chunk` SSE → Anthropic Messages SSE events, statefully.
//!
//! The first chunk opens the message (`message_start`; input tokens are not known yet and
//! read 0 there). Text deltas open a `text` block; a tool call with an id opens a `tool_use`
//! block (closing the open one: Anthropic blocks never interleave) and its argument fragments
//! become `input_json_delta`s. A finish reason closes the open block; `data: [DONE]` emits
//! `message_delta` (stop reason and the whole usage, input and cache reads included, which
//! Anthropic's SDKs apply) and `message_stop`. An argument fragment for a tool call whose
//! block is already closed cannot be expressed and is refused as malformed.
//!
//! Output depends only on the event sequence: byte-identical however the input is split.

use serde::Serialize;

use super::wire::ChunkIn;
use crate::provider::anthropic::error::scrub;
use crate::provider::anthropic::sse::{SseDecoder, SseEvent};
use crate::provider::anthropic::wire::{MessageOut, UsageOut, stop_reason};
use crate::provider::anthropic::{ErrorKind, StreamError};
use crate::usage::Usage;

/// The stateful translator for one stream towards an Anthropic-speaking client.
#[derive(Debug)]
pub struct ChunkToEvents {
    decoder: SseDecoder,
    state: State,
}

#[derive(Debug)]
struct State {
    public_model: String,
    started: bool,
    /// The open block: its Anthropic index and, for a tool call, the OpenAI tool index.
    open: Option<(u64, Option<u32>)>,
    next_block: u64,
    finish: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl ChunkToEvents {
    /// `public_model`: the model name the client asked for, reported back to it.
    pub fn new(public_model: &str, max_event_bytes: usize) -> Self {
        Self {
            decoder: SseDecoder::new(max_event_bytes),
            state: State {
                public_model: public_model.to_owned(),
                started: false,
                open: None,
                next_block: 0,
                finish: None,
                usage: None,
                done: false,
            },
        }
    }

    /// Feeds one upstream read; returns the Anthropic SSE bytes to forward now (maybe empty).
    /// Bytes after `[DONE]` are ignored.
    pub fn push(&mut self, bytes: &[u8]) -> Result<bytes::Bytes, StreamError> {
        let state = &mut self.state;
        self.decoder
            .push(bytes, state.done, |e, out| state.on_event(e, out))
    }

    /// Call when the upstream body ends: `Ok` only if the stream completed. Returns the
    /// error a [`push`](Self::push) deferred (so the output before it could go out first),
    /// else [`StreamError::Truncated`] if the terminating event never came.
    pub fn finish(&mut self) -> Result<(), StreamError> {
        self.decoder.finish(self.state.done)
    }

    /// The usage the provider reported, if it has yet.
    pub fn usage(&self) -> Option<Usage> {
        self.state.usage
    }

    /// Whether `[DONE]` was seen and `message_stop` emitted.
    pub fn is_done(&self) -> bool {
        self.state.done
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventOut<'a> {
    MessageStart {
        message: MessageOut<'a>,
    },
    ContentBlockStart {
        index: u64,
        content_block: BlockStart<'a>,
    },
    ContentBlockDelta {
        index: u64,
        delta: DeltaOut<'a>,
    },
    ContentBlockStop {
        index: u64,
    },
    MessageDelta {
        delta: StopOut,
        usage: UsageOut,
    },
    MessageStop,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockStart<'a> {
    Text {
        text: &'static str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: EmptyObject,
    },
}

#[derive(Serialize)]
struct EmptyObject {}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Serialize)]
struct StopOut {
    stop_reason: &'static str,
    stop_sequence: Option<()>,
}

impl State {
    fn on_event(&mut self, event: &SseEvent, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.done || event.data.is_empty() {
            return Ok(());
        }
        if event.data == b"[DONE]" {
            self.start(out, "");
            self.close(out);
            let stop = StopOut {
                stop_reason: stop_reason(self.finish.as_deref()),
                stop_sequence: None,
            };
            let usage = self.usage.unwrap_or_default().into();
            write(
                out,
                "message_delta",
                &EventOut::MessageDelta { delta: stop, usage },
            );
            write(out, "message_stop", &EventOut::MessageStop);
            self.done = true;
            return Ok(());
        }
        let chunk: ChunkIn = serde_json::from_slice(&event.data)
            .map_err(|_| StreamError::Malformed("a chunk is not a chat.completion.chunk"))?;
        if let Some(error) = chunk.error {
            let message = scrub(error.message.as_deref().unwrap_or(""));
            return Err(StreamError::Upstream {
                kind: ErrorKind::Api,
                message,
            });
        }
        self.start(out, &chunk.id);
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in chunk.choices.iter().flatten().filter(|c| c.index == 0) {
            if let Some(delta) = &choice.delta {
                if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                    if !matches!(self.open, Some((_, None))) {
                        self.open_block(out, None, &BlockStart::Text { text: "" });
                    }
                    let index = self.next_block - 1;
                    let delta = DeltaOut::TextDelta { text };
                    write(
                        out,
                        "content_block_delta",
                        &EventOut::ContentBlockDelta { index, delta },
                    );
                }
                for call in delta.tool_calls.iter().flatten() {
                    let f = call.function.as_ref();
                    // Some servers repeat the id on every fragment: only a new one opens a block.
                    let same = matches!(self.open, Some((_, Some(i))) if i == call.index);
                    if let Some(id) = call.id.as_deref().filter(|_| !same) {
                        let name = f.and_then(|f| f.name.as_deref()).unwrap_or("");
                        let input = EmptyObject {};
                        self.open_block(
                            out,
                            Some(call.index),
                            &BlockStart::ToolUse { id, name, input },
                        );
                    }
                    let Some(args) = f
                        .and_then(|f| f.arguments.as_deref())
                        .filter(|a| !a.is_empty())
                    else {
                        continue;
                    };
                    let Some((index, Some(tool))) = self.open else {
                        return Err(StreamError::Malformed("tool arguments outside a tool call"));
                    };
                    if tool != call.index {
                        return Err(StreamError::Malformed("interleaved tool call arguments"));
                    }
                    let delta = DeltaOut::InputJsonDelta { partial_json: args };
                    write(
                        out,
                        "content_block_delta",
                        &EventOut::ContentBlockDelta { index, delta },
                    );
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish = Some(reason.clone());
                self.close(out);
            }
        }
        Ok(())
    }

    fn start(&mut self, out: &mut Vec<u8>, id: &str) {
        if self.started {
            return;
        }
        self.started = true;
        let message = MessageOut {
            id,
            kind: "message",
            role: "assistant",
            model: &self.public_model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: Usage::default().into(),
        };
        write(out, "message_start", &EventOut::MessageStart { message });
    }

    fn open_block(&mut self, out: &mut Vec<u8>, tool: Option<u32>, block: &BlockStart<'_>) {
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, tool));
        let content_block = match block {
            BlockStart::Text { text } => BlockStart::Text { text },
            BlockStart::ToolUse { id, name, .. } => BlockStart::ToolUse {
                id,
                name,
                input: EmptyObject {},
            },
        };
        write(
            out,
            "content_block_start",
            &EventOut::ContentBlockStart {
                index,
                content_block,
            },
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            write(
                out,
                "content_block_stop",
                &EventOut::ContentBlockStop { index },
            );
        }
    }
}

fn write(out: &mut Vec<u8>, name: &str, event: &EventOut<'_>) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Serialising plain structs of strings and integers into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, event);
    out.extend_from_slice(b"\n\n");
}
