//! Anthropic Messages SSE → OpenAI `chat.completion.chunk` SSE, as a stateful translator.
//!
//! Feed it upstream bytes as they arrive; it returns the OpenAI SSE text to forward now.
//! - `message_start` → the role chunk (`{"role":"assistant","content":""}`), always first.
//! - text deltas → `content`; `thinking` deltas → `reasoning_content` (signatures dropped);
//!   a `tool_use` block → a tool-call chunk with its id, name and the next OpenAI tool index
//!   (0, 1, … in block order, so parallel calls keep distinct indices), then each
//!   `input_json_delta` → an `arguments` fragment at that index.
//! - `message_delta` records the stop reason and cumulative usage; `message_stop` emits the
//!   one `finish_reason` chunk, the usage chunk if the client asked for it, then `[DONE]`.
//! - `ping` and unknown events are skipped; an `error` event is returned as
//!   [`StreamError::Upstream`] for the caller to render.
//!
//! Output depends only on the event sequence, so it is byte-identical however the upstream
//! bytes are split, with LF or CRLF line ends.

use super::error::{ErrorBody, StreamError, classify_body, scrub};
use super::sse::{SseDecoder, SseEvent};
use super::wire::{BlockIn, DeltaIn, EventIn, UsageIn, finish_reason};
use crate::provider::openai_out::{
    ChoiceDelta, Delta, FunctionDelta, ToolCallDelta, UsageOut, write_chunk,
};
use crate::usage::Usage;

/// Options fixed for one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// The client asked for `stream_options.include_usage`: end with a usage-only chunk.
    pub include_usage: bool,
    /// Unix time stamped on every chunk (the caller's clock).
    pub created: u64,
    /// Largest SSE event accepted from upstream, in bytes.
    pub max_event_bytes: usize,
}

/// What one Anthropic content block became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// An OpenAI tool call at this index.
    Tool(u32),
    Other,
}

/// The stateful translator for one Anthropic stream.
#[derive(Debug)]
pub struct StreamTranslator {
    decoder: SseDecoder,
    state: State,
}

#[derive(Debug)]
struct State {
    opts: StreamOptions,
    id: String,
    model: String,
    started: bool,
    blocks: Vec<(u64, BlockKind)>,
    next_tool: u32,
    usage: UsageIn,
    stop_reason: Option<String>,
    done: bool,
}

impl StreamTranslator {
    pub fn new(opts: StreamOptions) -> Self {
        Self {
            decoder: SseDecoder::new(opts.max_event_bytes),
            state: State {
                opts,
                id: String::new(),
                model: String::new(),
                started: false,
                blocks: Vec::new(),
                next_tool: 0,
                usage: UsageIn::default(),
                stop_reason: None,
                done: false,
            },
        }
    }

    /// Feeds one upstream read; returns the OpenAI SSE bytes to forward now (maybe empty).
    /// Bytes after `message_stop` are ignored.
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

    /// Usage so far (in the gateway's convention); `None` before `message_start`.
    pub fn usage(&self) -> Option<Usage> {
        self.state.started.then(|| self.state.usage.to_usage())
    }

    /// Whether `message_stop` was seen (and `[DONE]` emitted).
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// Complete upstream events consumed so far.
    pub fn events(&self) -> u64 {
        self.decoder.events()
    }
}

impl State {
    fn on_event(&mut self, event: &SseEvent, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.done || event.data.is_empty() {
            return Ok(());
        }
        let parsed: EventIn = serde_json::from_slice(&event.data)
            .map_err(|_| StreamError::Malformed("an event is not a documented stream event"))?;
        let needs_start = !matches!(
            parsed,
            EventIn::MessageStart { .. } | EventIn::Ping | EventIn::Unknown | EventIn::Error { .. }
        );
        if needs_start && !self.started {
            return Err(StreamError::Malformed("an event came before message_start"));
        }
        match parsed {
            EventIn::MessageStart { message } => {
                if self.started {
                    return Err(StreamError::Malformed("a second message_start"));
                }
                self.started = true;
                self.id = message.id;
                self.model = message.model;
                self.usage = message.usage;
                let delta = Delta {
                    role: Some("assistant"),
                    content: Some(""),
                    ..Delta::default()
                };
                self.write(out, delta, None, None);
            }
            EventIn::ContentBlockStart {
                index,
                content_block,
            } => {
                self.start_block(index, content_block, out)?;
            }
            EventIn::ContentBlockDelta { index, delta } => {
                let kind = self
                    .blocks
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == index)
                    .map(|(_, k)| *k)
                    .ok_or(StreamError::Malformed("a delta for a block never started"))?;
                self.delta(kind, delta, out)?;
            }
            EventIn::ContentBlockStop {} | EventIn::Ping | EventIn::Unknown => {}
            EventIn::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                if let Some(u) = usage {
                    self.usage.merge(&u);
                }
            }
            EventIn::MessageStop => {
                let reason = finish_reason(self.stop_reason.as_deref());
                self.write(out, Delta::default(), Some(reason), None);
                if self.opts.include_usage {
                    let usage = UsageOut::from(self.usage.to_usage());
                    self.write_chunk(out, &[], Some(usage));
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                self.done = true;
            }
            EventIn::Error { error } => return Err(upstream_error(&error)),
        }
        Ok(())
    }

    fn start_block(
        &mut self,
        index: u64,
        block: BlockIn,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        let kind = match block {
            BlockIn::Text { text } => {
                if !text.is_empty() {
                    let delta = Delta {
                        content: Some(&text),
                        ..Delta::default()
                    };
                    self.write(out, delta, None, None);
                }
                BlockKind::Text
            }
            BlockIn::Thinking { thinking } => {
                if !thinking.is_empty() {
                    let delta = Delta {
                        reasoning_content: Some(&thinking),
                        ..Delta::default()
                    };
                    self.write(out, delta, None, None);
                }
                BlockKind::Thinking
            }
            BlockIn::ToolUse { id, name, input } => {
                let tool = self.next_tool;
                self.next_tool += 1;
                // Streams start tool blocks with `input: {}`; anything else is sent whole.
                let arguments = match &input {
                    serde_json::Value::Object(m) if m.is_empty() => String::new(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                let call = ToolCallDelta {
                    index: tool,
                    id: Some(&id),
                    kind: Some("function"),
                    function: FunctionDelta {
                        name: Some(&name),
                        arguments: &arguments,
                    },
                };
                let delta = Delta {
                    tool_calls: Some([call]),
                    ..Delta::default()
                };
                self.write(out, delta, None, None);
                BlockKind::Tool(tool)
            }
            BlockIn::Other => BlockKind::Other,
        };
        self.blocks.push((index, kind));
        Ok(())
    }

    fn delta(
        &mut self,
        kind: BlockKind,
        delta: DeltaIn,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        match (kind, delta) {
            (_, DeltaIn::TextDelta { text }) if !text.is_empty() => {
                let delta = Delta {
                    content: Some(&text),
                    ..Delta::default()
                };
                self.write(out, delta, None, None);
            }
            (_, DeltaIn::ThinkingDelta { thinking }) if !thinking.is_empty() => {
                let delta = Delta {
                    reasoning_content: Some(&thinking),
                    ..Delta::default()
                };
                self.write(out, delta, None, None);
            }
            (BlockKind::Tool(index), DeltaIn::InputJsonDelta { partial_json }) => {
                if partial_json.is_empty() {
                    return Ok(());
                }
                let call = ToolCallDelta {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments: &partial_json,
                    },
                };
                let delta = Delta {
                    tool_calls: Some([call]),
                    ..Delta::default()
                };
                self.write(out, delta, None, None);
            }
            // Server-tool blocks (`server_tool_use`) stream their input too; they are skipped.
            (BlockKind::Other, DeltaIn::InputJsonDelta { .. }) => {}
            (_, DeltaIn::InputJsonDelta { .. }) => {
                return Err(StreamError::Malformed(
                    "tool input for a block that is not tool_use",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn write(
        &self,
        out: &mut Vec<u8>,
        delta: Delta<'_>,
        finish: Option<&'static str>,
        usage: Option<UsageOut>,
    ) {
        let choice = ChoiceDelta {
            index: 0,
            delta,
            finish_reason: finish,
        };
        self.write_chunk(out, &[choice], usage);
    }

    fn write_chunk(&self, out: &mut Vec<u8>, choices: &[ChoiceDelta<'_>], usage: Option<UsageOut>) {
        write_chunk(
            out,
            &self.id,
            self.opts.created,
            &self.model,
            choices,
            usage,
        );
    }
}

/// A mid-stream `error` event, classified, with its message scrubbed.
fn upstream_error(error: &ErrorBody) -> StreamError {
    StreamError::Upstream {
        kind: classify_body(500, error),
        message: scrub(&error.message),
    }
}
