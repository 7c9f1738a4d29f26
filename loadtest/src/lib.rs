//! Test and benchmark tooling for Portcullis.
//!
//! The gateway is only as testable as the upstream it talks to, so this crate
//! provides two things that stand in for the outside world:
//!
//! - [`mock`]: a scriptable, in-process upstream speaking OpenAI chat
//!   completions and Anthropic messages, built on hyper and tokio. It runs
//!   inside whatever tokio runtime starts it (including the current-thread
//!   runtime of an actix `System`), records what it is sent, answers with
//!   text or tool calls, and can be scripted per model to be slow, fail,
//!   stall, redirect, pause, error mid-stream or cut a stream.
//! - [`load`]: a bounded load generator (keep-alive HTTP/1.1 connections, closed
//!   loop at a fixed concurrency or open loop at a constant arrival rate) that
//!   measures latency, time to first token and inter-chunk gaps with HDR
//!   histograms, and writes a table, JSON and SVG plots.
//!
//! The `portcullis-mock` and `portcullis-load` binaries are thin command-line
//! wrappers over these modules.

pub mod load;
pub mod mock;

pub use mock::{
    AwsCredentials, Behaviour, MockOptions, MockUpstream, RecordedRequest, Stall, ToolCall,
};
