//! `portcullis-mock`: the mock upstream (OpenAI chat completions, Anthropic
//! messages, Gemini generateContent and Bedrock Converse) as a standalone server, for
//! benchmarks and manual testing. Bedrock requests need a SigV4 `Authorization`; only its
//! shape is checked here, since no credentials are configured.
//!
//! Recording is off (a long benchmark would otherwise grow memory without
//! bound). Prints one line with the bound address, then serves until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use portcullis_loadtest::{Behaviour, MockOptions, MockUpstream};

/// Mock OpenAI-compatible, Anthropic and Gemini upstream.
#[derive(Debug, Parser)]
#[command(name = "portcullis-mock", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Content chunks per streamed response.
    #[arg(long)]
    chunks: Option<usize>,
    /// Milliseconds between streamed chunks.
    #[arg(long, default_value_t = 0)]
    chunk_interval_ms: u64,
    /// Milliseconds before response headers.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Completion tokens reported in usage.
    #[arg(long)]
    completion_tokens: Option<u64>,
    /// Answer this HTTP error status (e.g. 500) ...
    #[arg(long)]
    fail_status: Option<u16>,
    /// ... to this percentage of requests, spread evenly (default: all).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    fail_percent: Option<u8>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .context("building the tokio runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let opts = MockOptions {
        addr: args.listen,
        record: false,
        expect_api_key: None,
        default: Behaviour {
            latency: Duration::from_millis(args.latency_ms),
            chunks: args.chunks,
            chunk_interval: Duration::from_millis(args.chunk_interval_ms),
            completion_tokens: args.completion_tokens,
            status: args.fail_status,
            fail_percent: args.fail_percent,
            ..Behaviour::default()
        },
    };
    let mock = MockUpstream::start(opts)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "portcullis-mock listening on {}", mock.addr())?;
        out.flush()?;
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    mock.shutdown().await;
    Ok(())
}
