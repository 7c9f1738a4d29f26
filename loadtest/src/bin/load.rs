//! `portcullis-load`: a bounded load generator for chat-completion endpoints (see
//! [`portcullis_loadtest::load`]).
//!
//! Closed loop (`--concurrency`), open loop (`--rate`) or an open-loop rate sweep
//! (`--sweep`). Prints a table (or one JSON object with `--json`); `--out run.json` also
//! writes the JSON and its SVG plots next to it. A progress line goes to stderr once a
//! second unless `--quiet`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use portcullis_loadtest::load::rss::RssSampler;
use portcullis_loadtest::load::{self, LoadConfig, Mode, plot};
use serde::Serialize;

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
    /// Closed loop: this many connections, each sending back to back (the default mode, 1).
    #[arg(long, conflicts_with_all = ["rate", "sweep"])]
    concurrency: Option<usize>,
    /// Open loop: requests per second, on schedule; latency counts from the intended send.
    #[arg(long, conflicts_with = "sweep")]
    rate: Option<f64>,
    /// Open-loop rate sweep: comma-separated rates, run in order; stops once p99 > 10 ms.
    #[arg(long, value_delimiter = ',')]
    sweep: Option<Vec<f64>>,
    /// Open loop: size of the connection pool.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Length of the measured window in seconds (per rate, for a sweep).
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Stop after this many measured requests.
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured warm-up in seconds (per rate, for a sweep).
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// Stream responses and measure TTFT and inter-chunk gaps.
    #[arg(long)]
    stream: bool,
    /// `max_tokens` for every request.
    #[arg(long)]
    max_tokens: Option<u64>,
    /// Print the report as one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file, and SVG plots beside it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sample this process's resident memory every second (Linux; e.g. the gateway's pid).
    #[arg(long)]
    watch_pid: Option<u32>,
    /// Tokio worker threads of the client (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// No progress line on stderr.
    #[arg(long)]
    quiet: bool,
}

/// Longest window one run may ask for: a day.
const MAX_SECS: f64 = 86_400.0;

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !(0.0..=MAX_SECS).contains(&v) {
        bail!("--{name} must be between 0 and {MAX_SECS} seconds");
    }
    Ok(Duration::from_secs_f64(v))
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
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mode = match (args.concurrency, args.rate) {
        (_, Some(rate)) => Mode::Open {
            rate,
            connections: args.connections,
        },
        (c, None) => Mode::Closed {
            concurrency: c.unwrap_or(1),
        },
    };
    let cfg = LoadConfig {
        url: args.url.clone(),
        key: args.key.clone(),
        model: args.model.clone(),
        mode,
        duration: secs("duration-secs", args.duration_secs)?,
        max_requests: args.requests,
        warmup: secs("warmup-secs", args.warmup_secs)?,
        stream: args.stream,
        max_tokens: args.max_tokens,
        progress: !args.quiet,
    };
    let sampler = args.watch_pid.map(RssSampler::start).transpose()?;
    if let Some(rates) = &args.sweep {
        let report = load::sweep(&cfg, rates, args.connections).await?;
        let plots = match &args.out {
            Some(out) => save(out, &report, |p| plot::write_sweep(p, &report))?,
            None => Vec::new(),
        };
        return print(&args, &report, &plots);
    }
    let mut report = load::run(&cfg).await?;
    report.rss = sampler.map(RssSampler::finish);
    let plots = match &args.out {
        Some(out) => save(out, &report, |p| plot::write_run(p, &report))?,
        None => Vec::new(),
    };
    print(&args, &report, &plots)
}

fn save<T: Serialize>(
    out: &Path,
    report: &T,
    plots: impl FnOnce(&Path) -> std::io::Result<Vec<PathBuf>>,
) -> anyhow::Result<Vec<PathBuf>> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(report)?;
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
    plots(out).with_context(|| format!("writing plots beside {}", out.display()))
}

fn print<T: Serialize + std::fmt::Display>(
    args: &Args,
    report: &T,
    plots: &[PathBuf],
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, report)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{report}")?;
    }
    if let Some(path) = &args.out {
        let mut err = std::io::stderr().lock();
        writeln!(err, "wrote {}", path.display())?;
        for p in plots {
            writeln!(err, "wrote {}", p.display())?;
        }
    }
    Ok(())
}
