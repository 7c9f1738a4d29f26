//! ConverseStream (AWS event-stream frames) → OpenAI `chat.completion.chunk` SSE, as a
//! stateful translator.
//!
//! - `messageStart` → the role chunk (`{"role":"assistant","content":""}`), always first.
//! - `contentBlockDelta` text → `content`; reasoning text → `reasoning_content`.
//! - `contentBlockStart` with a `toolUse` → a tool-call chunk with its id, name and the next
//!   OpenAI tool index (0, 1, … in block order, so parallel calls keep distinct indices); each
//!   `toolUse.input` delta → an `arguments` fragment at that index.
//! - `messageStop` → the one `finish_reason` chunk; `metadata` (which follows it) → the usage
//!   chunk if the client asked for it, then `[DONE]`. The stream is complete only then.
//! - A frame of `:message-type` `exception` (or `error`) ends the stream with a typed
//!   [`StreamError::Provider`]; its message is never forwarded. Unknown events are skipped.
//!
//! Output depends only on the frame sequence, so it is byte-identical however the upstream
//! bytes are split. An error found after some output is deferred: that output goes out first.
//! Bytes after `metadata` are ignored, even a bad frame in the same read.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::eventstream::{Decoder, Frame};
use super::wire::{BlockDeltaIn, BlockStartIn, MessageStopIn, MetadataIn, UsageIn, finish_reason};
use crate::provider::openai_out::{
    ChoiceDelta, Delta, FunctionDelta, ToolCallDelta, UsageOut, write_chunk,
};
use crate::stream::{StreamError, StreamTranslate};
use crate::usage::Usage;

/// Options fixed for one stream.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// The client asked for `stream_options.include_usage`.
    pub include_usage: bool,
    /// Unix time stamped on every chunk (the caller's clock).
    pub created: u64,
    /// The chunk id (Converse streams carry none).
    pub id: String,
    /// The model name stamped on every chunk.
    pub model: String,
    /// Largest event-stream frame accepted, in bytes.
    pub max_event_bytes: usize,
}

/// The stateful translator for one ConverseStream.
#[derive(Debug)]
pub struct StreamTranslator {
    decoder: Decoder,
    state: State,
    failed: Option<StreamError>,
}

#[derive(Debug)]
struct State {
    opts: StreamOptions,
    started: bool,
    /// Content block index → OpenAI tool index, for tool-use blocks.
    tools: Vec<(u64, u32)>,
    stop_reason: Option<Option<String>>,
    usage: Option<UsageIn>,
    done: bool,
}

impl StreamTranslator {
    pub fn new(opts: StreamOptions) -> Self {
        Self {
            decoder: Decoder::new(opts.max_event_bytes),
            state: State {
                opts,
                started: false,
                tools: Vec::new(),
                stop_reason: None,
                usage: None,
                done: false,
            },
            failed: None,
        }
    }
}

impl StreamTranslate for StreamTranslator {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError> {
        // A complete stream ignores what follows, even an error later in the same read: the
        // relay stops reading at the end, so a later read would never be seen either.
        if self.state.done {
            return Ok(Bytes::new());
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut out = Vec::new();
        let state = &mut self.state;
        match self
            .decoder
            .push(&chunk, |frame| state.on_frame(&frame, &mut out))
        {
            Ok(()) => Ok(out.into()),
            Err(e) if out.is_empty() => {
                self.failed = Some(e.clone());
                Err(e)
            }
            Err(e) => {
                self.failed = Some(e);
                Ok(out.into())
            }
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.state.usage.map(UsageIn::to_usage)
    }

    fn is_done(&self) -> bool {
        self.state.done
    }

    fn events(&self) -> u64 {
        self.decoder.frames()
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        match &self.failed {
            _ if self.state.done => Ok(()),
            Some(e) => Err(e.clone()),
            None => Err(StreamError::Truncated),
        }
    }
}

fn parse<T: DeserializeOwned>(frame: &Frame) -> Result<T, StreamError> {
    serde_json::from_slice(&frame.payload).map_err(|_| StreamError::Malformed)
}

/// A low-cardinality label for a mid-stream exception.
fn exception_kind(exception: Option<&str>) -> &'static str {
    match exception {
        Some("throttlingException") => "throttling",
        Some("modelStreamErrorException") => "model_stream_error",
        Some("validationException") => "validation",
        Some("internalServerException") => "internal_server",
        Some("serviceUnavailableException") => "service_unavailable",
        Some("modelTimeoutException") => "model_timeout",
        _ => "exception",
    }
}

impl State {
    fn on_frame(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.done {
            return Ok(());
        }
        match frame.header(":message-type") {
            Some("event") | None => {}
            Some("exception") => {
                return Err(StreamError::Provider {
                    kind: exception_kind(frame.header(":exception-type")),
                });
            }
            Some(_) => return Err(StreamError::Provider { kind: "exception" }),
        }
        let event = frame.header(":event-type").unwrap_or("");
        if event != "messageStart" && !self.started {
            return Err(StreamError::Malformed);
        }
        match event {
            "messageStart" => {
                if self.started {
                    return Err(StreamError::Malformed);
                }
                self.started = true;
                let delta = Delta {
                    role: Some("assistant"),
                    content: Some(""),
                    ..Delta::default()
                };
                self.write(out, delta, None);
            }
            "contentBlockStart" => {
                let start: BlockStartIn = parse(frame)?;
                if let Some(tool) = start.start.tool_use {
                    let index = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                    self.tools.push((start.content_block_index, index));
                    let call = ToolCallDelta {
                        index,
                        id: Some(&tool.tool_use_id),
                        kind: Some("function"),
                        function: FunctionDelta {
                            name: Some(&tool.name),
                            arguments: "",
                        },
                    };
                    self.write_tool(out, call);
                }
            }
            "contentBlockDelta" => self.delta(parse(frame)?, out)?,
            "messageStop" => {
                let stop: MessageStopIn = parse(frame)?;
                let reason = finish_reason(stop.stop_reason.as_deref());
                self.stop_reason = Some(stop.stop_reason);
                self.write(out, Delta::default(), Some(reason));
            }
            "metadata" => {
                let meta: MetadataIn = parse(frame)?;
                if self.stop_reason.is_none() {
                    return Err(StreamError::Malformed);
                }
                self.usage = Some(meta.usage.unwrap_or_default());
                if self.opts.include_usage {
                    let usage = self.usage.unwrap_or_default().to_usage();
                    self.write_chunk(out, &[], Some(usage.into()));
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                self.done = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn delta(&mut self, d: BlockDeltaIn, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if let Some(text) = d.delta.text.as_deref().filter(|t| !t.is_empty()) {
            let delta = Delta {
                content: Some(text),
                ..Delta::default()
            };
            self.write(out, delta, None);
        }
        if let Some(text) = d
            .delta
            .reasoning_content
            .as_ref()
            .and_then(|r| r.text.as_deref())
            .filter(|t| !t.is_empty())
        {
            let delta = Delta {
                reasoning_content: Some(text),
                ..Delta::default()
            };
            self.write(out, delta, None);
        }
        if let Some(tool) = &d.delta.tool_use {
            let index = self
                .tools
                .iter()
                .rev()
                .find(|(block, _)| *block == d.content_block_index)
                .map(|(_, i)| *i)
                .ok_or(StreamError::Malformed)?;
            if !tool.input.is_empty() {
                let call = ToolCallDelta {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments: &tool.input,
                    },
                };
                self.write_tool(out, call);
            }
        }
        Ok(())
    }

    fn write_tool(&self, out: &mut Vec<u8>, call: ToolCallDelta<'_>) {
        let delta = Delta {
            tool_calls: Some([call]),
            ..Delta::default()
        };
        self.write(out, delta, None);
    }

    fn write(&self, out: &mut Vec<u8>, delta: Delta<'_>, finish: Option<&'static str>) {
        let choice = ChoiceDelta {
            index: 0,
            delta,
            finish_reason: finish,
        };
        self.write_chunk(out, &[choice], None);
    }

    fn write_chunk(&self, out: &mut Vec<u8>, choices: &[ChoiceDelta<'_>], usage: Option<UsageOut>) {
        write_chunk(
            out,
            &self.opts.id,
            self.opts.created,
            &self.opts.model,
            choices,
            usage,
        );
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
