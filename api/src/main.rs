//! The `portcullis` binary: `serve`, `demo`, `check-config`, `check`, `import-litellm`,
//! `gen-key`, and the admin CLI (`keys`, `teams`, `audit verify`).

mod admin_cli;
mod cli_check;
mod cli_import;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use portcullis_api::{
    Config, ConfigSource, StartOptions, demo, keygen, start, start_async, telemetry,
};

/// mimalloc instead of glibc malloc: per-request allocations are freed on other threads (the
/// spend writer, the limiter's actor) and glibc's arenas grew and consolidated under that load
/// (docs/BENCHMARKS.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "An OpenAI-compatible LLM gateway that treats itself as a security boundary"
)]
struct Cli {
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway from a YAML config file.
    Serve {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run a gateway in front of a built-in mock provider, with a generated key. No config needed.
    Demo {
        #[arg(long, default_value = "127.0.0.1:4000")]
        listen: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:4001")]
        admin_listen: SocketAddr,
    },
    /// Validate a config file (secrets are resolved) and exit.
    CheckConfig {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Audit a deployment config for security risks; exits 1 on any high finding.
    Check {
        #[arg(long, short)]
        config: PathBuf,
        /// Print the findings as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Convert a LiteLLM proxy config into a Portcullis config (secrets become env references).
    ImportLitellm {
        /// The LiteLLM config.yaml.
        input: PathBuf,
        /// Where to write the Portcullis config (default: stdout).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print a fresh 256-bit virtual or master key.
    GenKey,
    /// Manage virtual keys through a running gateway's admin API.
    Keys {
        #[command(flatten)]
        target: admin_cli::AdminTarget,
        #[command(subcommand)]
        command: admin_cli::KeysCommand,
    },
    /// Manage teams through a running gateway's admin API.
    Teams {
        #[command(flatten)]
        target: admin_cli::AdminTarget,
        #[command(subcommand)]
        command: admin_cli::TeamsCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: admin_cli::AuditCommand,
    },
}

/// Logs to stderr (text or JSON), and — when `otlp` is given — traces to an OTLP collector.
/// The returned guard flushes and stops the exporters when dropped.
fn init_logging(
    format: LogFormat,
    otlp: Option<&portcullis_config::OtlpConfig>,
) -> anyhow::Result<Option<telemetry::Telemetry>> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Without RUST_LOG: info, but neither the per-request access lines (`portcullis::access`),
    // which `RUST_LOG=info` (or `…,portcullis::access=info`) turns on, nor the spans meant for
    // OpenTelemetry (`portcullis::trace`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,portcullis::access=off,portcullis::trace=off")
    });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let (otel, guard) = otel_layer(otlp)?;
    // Callsites more verbose than any layer wants are turned off once, when they register.
    // Without this floor every `trace!` of actix-http and hyper (several per poll of a
    // connection) was evaluated at run time, because a layer without a level of its own
    // (MalformedRequestFilter) left the subscriber's level open: about a tenth of a stream's
    // instructions (docs/BENCHMARKS.md, "Instructions per request").
    let floor = filter
        .max_level_hint()
        .unwrap_or(LevelFilter::TRACE)
        .max(if otel.is_some() {
            LevelFilter::INFO
        } else {
            LevelFilter::OFF
        });
    tracing_subscriber::registry()
        .with(otel)
        .with(floor)
        // Malformed requests from the network are a metric, not ERROR lines.
        .with(portcullis_api::MalformedRequestFilter)
        .with(fmt.with_filter(filter))
        .init();
    Ok(guard)
}

type OtelLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

#[cfg(feature = "otel")]
fn otel_layer(
    otlp: Option<&portcullis_config::OtlpConfig>,
) -> anyhow::Result<(Option<OtelLayer>, Option<telemetry::Telemetry>)> {
    Ok(match otlp {
        Some(config) => {
            let (layer, guard) = telemetry::layer(config)?;
            (Some(layer), Some(guard))
        }
        None => (None, None),
    })
}

#[cfg(not(feature = "otel"))]
fn otel_layer(
    otlp: Option<&portcullis_config::OtlpConfig>,
) -> anyhow::Result<(Option<OtelLayer>, Option<telemetry::Telemetry>)> {
    telemetry::refuse_without_feature(otlp)?;
    Ok((None, None))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let options = StartOptions {
        handle_signals: true,
    };
    // `serve` reads its config first: the logging set-up exports traces if it says so.
    if let Command::Serve { config: path } = &cli.command {
        let (config, version) = Config::load_versioned(path, &portcullis_config::process_env)
            .with_context(|| format!("loading {}", path.display()))?;
        let _telemetry = init_logging(cli.log_format, config.telemetry.otlp.as_ref())?;
        let gateway = start_async(&config, options).await?;
        // SIGHUP and POST /admin/config/reload read the same file again.
        gateway.reload_from(ConfigSource::file(path), Some(version));
        gateway.wait().await?;
        return Ok(());
    }
    let _telemetry = init_logging(cli.log_format, None)?;
    match cli.command {
        Command::Serve { .. } => {}
        Command::Demo {
            listen,
            admin_listen,
        } => {
            let prepared = demo::prepare(listen, admin_listen).await?;
            let gateway = start(&prepared.config, options)?;
            demo::print_banner(
                &mut std::io::stdout().lock(),
                gateway.public_addr,
                gateway.admin_addr,
                &prepared,
            )?;
            gateway.wait().await?;
        }
        Command::CheckConfig { config } => {
            let loaded =
                Config::load(&config).with_context(|| format!("loading {}", config.display()))?;
            writeln!(
                std::io::stdout().lock(),
                "{}: ok ({} providers, {} models, {} keys)",
                config.display(),
                loaded.gateway.providers.len(),
                loaded.gateway.groups.len(),
                loaded.keys.len()
            )?;
            for warning in &loaded.warnings {
                writeln!(std::io::stdout().lock(), "warning: {warning}")?;
            }
            let limiter = match loaded.limits.backend {
                portcullis_api::LimiterBackend::Memory => "in memory (this replica only)",
                portcullis_api::LimiterBackend::Redis(_) => "on Redis (shared by every replica)",
            };
            writeln!(
                std::io::stdout().lock(),
                "note: rate limits, parallel caps and budgets are enforced {limiter}"
            )?;
        }
        Command::Check { config, json } => {
            if cli_check::run(&config, json, &mut std::io::stdout().lock())? {
                std::process::exit(1);
            }
        }
        Command::ImportLitellm { input, output } => {
            cli_import::run(
                &input,
                output.as_deref(),
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )?;
        }
        Command::GenKey => {
            writeln!(std::io::stdout().lock(), "{}", keygen::generate_key()?)?;
        }
        Command::Keys { target, command } => admin_cli::keys(target, command).await?,
        Command::Teams { target, command } => admin_cli::teams(target, command).await?,
        Command::Audit { command } => admin_cli::audit(command).await?,
    }
    Ok(())
}
