//! `portcullis-load`: a bounded load generator for chat-completion
//! endpoints (see [`portcullis_loadtest::load`]).
//!
//! Prints a short text report, or one JSON object with `--json`.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use portcullis_loadtest::load::{self, LoadConfig};

/// Load generator for OpenAI-compatible chat completions.
#[derive(Debug, Parser)]
#[command(name = "portcullis-load", version)]
struct Args {
    /// Full URL of the chat completions endpoint (http:// only).
    #[arg(long)]
    url: String,
    /// API key, sent as `Authorization: Bearer <key>`.
    #[arg(long)]
    key: Option<String>,
    /// Model named in every request.
    #[arg(long, default_value = "mock-model")]
    model: String,
    /// Concurrent workers, one keep-alive connection each.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Length of the measured window in seconds.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Stop after this many measured requests.
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured warm-up in seconds.
    #[arg(long, default_value_t = 1)]
    warmup_secs: u64,
    /// Stream responses and measure TTFT and inter-chunk gaps.
    #[arg(long)]
    stream: bool,
    /// `max_tokens` for every request.
    #[arg(long)]
    max_tokens: Option<u64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cfg = LoadConfig {
        url: args.url,
        key: args.key,
        model: args.model,
        concurrency: args.concurrency,
        duration: Duration::from_secs(args.duration_secs),
        max_requests: args.requests,
        warmup: Duration::from_secs(args.warmup_secs),
        stream: args.stream,
        max_tokens: args.max_tokens,
    };
    let report = load::run(&cfg).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{report}")?;
    }
    Ok(())
}
