//! Gemini `streamGenerateContent?alt=sse` → OpenAI `chat.completion.chunk` SSE, as a
//! stateful translator.
//!
//! Each SSE event is a whole `GenerateContentResponse` holding the next parts of each
//! candidate. Per candidate (an OpenAI choice):
//! - its first event → the role chunk (`{"role":"assistant","content":""}`);
//! - text parts → `content` deltas, thought parts → `reasoning_content`;
//! - each `functionCall` part (Gemini sends calls whole) → one tool-call chunk with its id,
//!   name, complete arguments and the next tool index of that choice (0, 1, … so parallel
//!   calls keep distinct, stable indices);
//! - `finishReason` → that choice's finish chunk.
//!
//! Gemini has no end marker: the stream is complete once every expected candidate (`n`)
//! finished. Then come the usage chunk, if the client asked for it (`usageMetadata` of the
//! events so far, the last one winning: Google sends cumulative counts), and `data: [DONE]`.
//! A blocked prompt (`promptFeedback.blockReason`) or an `error` object ends the stream as a
//! typed provider error, never its text. Output depends only on the event sequence, so it is
//! byte-identical however the upstream bytes are split, with LF or CRLF line ends. Events after
//! the stream is complete are ignored, even in the same read (their usage and errors too).

use bytes::Bytes;

use super::error::stream_error_kind;
use super::wire::{ResponseIn, UsageIn, call_id, finish_reason};
use crate::provider::anthropic::StreamError as SseError;
use crate::provider::anthropic::sse::{SseDecoder, SseEvent};
use crate::provider::openai_out::{
    ChoiceDelta, Delta, FunctionDelta, ToolCallDelta, UsageOut, write_chunk,
};
use crate::stream::{StreamError, StreamTranslate};
use crate::usage::Usage;

/// Options fixed for one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// The client asked for `stream_options.include_usage`: end with a usage-only chunk.
    pub include_usage: bool,
    /// Unix time stamped on every chunk (the caller's clock).
    pub created: u64,
    /// Largest SSE event accepted from upstream, in bytes.
    pub max_event_bytes: usize,
    /// Candidates asked for (`n`, at least 1): the stream is complete when all finished.
    pub choices: u32,
    /// The deployment's model, named in chunks when Gemini sends no `modelVersion`.
    pub model: String,
}

/// The stateful translator for one Gemini stream.
#[derive(Debug)]
pub struct StreamTranslator {
    decoder: SseDecoder,
    state: State,
    /// An error found after some output was ready: returned by the next call.
    failed: Option<StreamError>,
}

#[derive(Debug)]
struct State {
    opts: StreamOptions,
    id: String,
    model: String,
    response_id: Option<String>,
    candidates: Vec<Candidate>,
    /// Tool calls seen in the whole stream, for generated ids.
    calls: u32,
    usage: Option<UsageIn>,
    finished: u32,
    done: bool,
}

#[derive(Debug)]
struct Candidate {
    index: u32,
    next_tool: u32,
    finished: bool,
}

impl StreamTranslator {
    pub fn new(opts: StreamOptions) -> Self {
        Self {
            decoder: SseDecoder::new(opts.max_event_bytes),
            state: State {
                model: opts.model.clone(),
                opts,
                id: String::new(),
                response_id: None,
                candidates: Vec::new(),
                calls: 0,
                usage: None,
                finished: 0,
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
        let mut own = None;
        let state = &mut self.state;
        let fed = self.decoder.feed(&chunk, |event| {
            state.on_event(&event, &mut out).map_err(|e| {
                own = Some(e);
                SseError::Truncated
            })
        });
        match fed {
            Ok(()) => Ok(out.into()),
            Err(e) => {
                let e = own.unwrap_or(match e {
                    SseError::EventTooLarge(n) => StreamError::EventTooLarge(n),
                    _ => StreamError::Malformed,
                });
                self.failed = Some(e.clone());
                if out.is_empty() {
                    Err(e)
                } else {
                    Ok(out.into())
                }
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
        self.decoder.events()
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        match &self.failed {
            _ if self.state.done => Ok(()),
            Some(e) => Err(e.clone()),
            None => Err(StreamError::Truncated),
        }
    }
}

impl State {
    fn on_event(&mut self, event: &SseEvent, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.done || event.data.is_empty() || event.data == b"[DONE]" {
            return Ok(());
        }
        let parsed: ResponseIn =
            serde_json::from_slice(&event.data).map_err(|_| StreamError::Malformed)?;
        if let Some(error) = &parsed.error {
            return Err(StreamError::Provider {
                kind: stream_error_kind(error),
            });
        }
        if let Some(usage) = parsed.usage_metadata {
            self.usage = Some(usage);
        }
        if parsed.candidates.is_empty()
            && parsed
                .prompt_feedback
                .as_ref()
                .is_some_and(|f| f.block_reason.is_some())
        {
            return Err(StreamError::Provider {
                kind: "content_policy",
            });
        }
        if self.id.is_empty() {
            self.response_id = parsed.response_id.clone();
            self.id = format!(
                "chatcmpl-{}",
                parsed.response_id.as_deref().unwrap_or("gemini")
            );
            if let Some(m) = &parsed.model_version {
                self.model.clone_from(m);
            }
        }
        for (i, candidate) in parsed.candidates.iter().enumerate() {
            let index = candidate
                .index
                .unwrap_or(u32::try_from(i).unwrap_or(u32::MAX));
            let slot = self.candidate(index, out);
            if self.candidates[slot].finished {
                continue;
            }
            for part in candidate.content.iter().flat_map(|c| &c.parts) {
                if let Some(call) = &part.function_call {
                    let id = call_id(call.id.as_deref(), self.response_id.as_deref(), self.calls);
                    self.calls += 1;
                    let tool = self.candidates[slot].next_tool;
                    self.candidates[slot].next_tool += 1;
                    let arguments = call
                        .args
                        .as_ref()
                        .map_or_else(|| "{}".to_owned(), ToString::to_string);
                    let delta = Delta {
                        tool_calls: Some([ToolCallDelta {
                            index: tool,
                            id: Some(&id),
                            kind: Some("function"),
                            function: FunctionDelta {
                                name: Some(&call.name),
                                arguments: &arguments,
                            },
                        }]),
                        ..Delta::default()
                    };
                    self.write(out, index, delta, None);
                } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
                    let delta = if part.thought {
                        Delta {
                            reasoning_content: Some(text),
                            ..Delta::default()
                        }
                    } else {
                        Delta {
                            content: Some(text),
                            ..Delta::default()
                        }
                    };
                    self.write(out, index, delta, None);
                }
            }
            if let Some(reason) = &candidate.finish_reason {
                let called = self.candidates[slot].next_tool > 0;
                self.candidates[slot].finished = true;
                self.finished += 1;
                self.write(
                    out,
                    index,
                    Delta::default(),
                    Some(finish_reason(reason, called)),
                );
            }
        }
        if self.finished >= self.opts.choices.max(1) {
            if self.opts.include_usage {
                let usage = UsageOut::from(self.usage.unwrap_or_default().to_usage());
                self.write_chunk(out, &[], Some(usage));
            }
            out.extend_from_slice(b"data: [DONE]\n\n");
            self.done = true;
        }
        Ok(())
    }

    /// The slot of candidate `index`, opened (role chunk written) on first sight.
    fn candidate(&mut self, index: u32, out: &mut Vec<u8>) -> usize {
        if let Some(slot) = self.candidates.iter().position(|c| c.index == index) {
            return slot;
        }
        self.candidates.push(Candidate {
            index,
            next_tool: 0,
            finished: false,
        });
        let delta = Delta {
            role: Some("assistant"),
            content: Some(""),
            ..Delta::default()
        };
        self.write(out, index, delta, None);
        self.candidates.len() - 1
    }

    fn write(
        &self,
        out: &mut Vec<u8>,
        index: u32,
        delta: Delta<'_>,
        finish_reason: Option<&'static str>,
    ) {
        let choice = ChoiceDelta {
            index,
            delta,
            finish_reason,
        };
        self.write_chunk(out, &[choice], None);
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
