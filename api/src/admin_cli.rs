//! `portcullis keys|teams|audit`: the admin CLI.
//!
//! `keys` and `teams` drive a running gateway's admin API over HTTP (admin URL and master
//! key from flags or `PORTCULLIS_ADMIN_URL` / `PORTCULLIS_MASTER_KEY`) and print its JSON
//! answer. `audit verify` opens the configured storage directly and checks the hash chain,
//! naming the first altered or missing record (exit status 1).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use portcullis_api::{Config, Stores};
use serde_json::{Value, json};

/// Where the admin API is and how to authenticate.
#[derive(Args)]
pub(crate) struct AdminTarget {
    /// Admin listener URL [env: PORTCULLIS_ADMIN_URL; default http://127.0.0.1:4001].
    #[arg(long, global = true)]
    admin_url: Option<String>,
    /// Master key [env: PORTCULLIS_MASTER_KEY]. Prefer the environment: flags show in `ps`.
    #[arg(long, global = true)]
    master_key: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key; its secret is printed once.
    Create {
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// Comma-separated model names the key may use (default: all).
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
    },
    /// List keys (prefix and last four characters only).
    List {
        #[arg(long)]
        team: Option<String>,
    },
    /// Give a key a new secret; the old one works for the grace period.
    Rotate {
        id: String,
        /// e.g. 30s, 15m, 1h; default none.
        #[arg(long)]
        grace: Option<String>,
    },
    /// Revoke a key at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub(crate) enum TeamsCommand {
    Create {
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
    },
    List,
    /// Delete a team and every key of it.
    Delete {
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the audit log's hash chain in the configured storage.
    Verify {
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn scope(models: Option<Vec<String>>) -> Option<Value> {
    models.map(|m| json!({ "models": { "only": m } }))
}

fn with(mut body: Value, field: &str, value: Option<Value>) -> Value {
    if let (Value::Object(map), Some(v)) = (&mut body, value) {
        map.insert(field.to_owned(), v);
    }
    body
}

pub(crate) async fn keys(target: AdminTarget, command: KeysCommand) -> anyhow::Result<()> {
    let (method, path, body) = match command {
        KeysCommand::Create {
            id,
            name,
            team,
            models,
        } => {
            let body = with(json!({}), "id", id.map(Value::from));
            let body = with(body, "name", name.map(Value::from));
            let body = with(body, "team", team.map(Value::from));
            (
                "POST",
                "/admin/keys".to_owned(),
                Some(with(body, "scope", scope(models))),
            )
        }
        KeysCommand::List { team } => {
            let path = match team {
                Some(t) => format!("/admin/keys?team={t}"),
                None => "/admin/keys".to_owned(),
            };
            ("GET", path, None)
        }
        KeysCommand::Rotate { id, grace } => (
            "POST",
            format!("/admin/keys/{id}/rotate"),
            Some(with(json!({}), "grace_period", grace.map(Value::from))),
        ),
        KeysCommand::Revoke { id } => ("POST", format!("/admin/keys/{id}/revoke"), None),
    };
    call(&target, method, &path, body).await
}

pub(crate) async fn teams(target: AdminTarget, command: TeamsCommand) -> anyhow::Result<()> {
    let (method, path, body) = match command {
        TeamsCommand::Create { id, name, models } => {
            let body = with(json!({}), "id", id.map(Value::from));
            let body = with(body, "name", name.map(Value::from));
            (
                "POST",
                "/admin/teams".to_owned(),
                Some(with(body, "scope", scope(models))),
            )
        }
        TeamsCommand::List => ("GET", "/admin/teams".to_owned(), None),
        TeamsCommand::Delete { id } => ("DELETE", format!("/admin/teams/{id}"), None),
    };
    call(&target, method, &path, body).await
}

async fn call(
    target: &AdminTarget,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<()> {
    let base = target
        .admin_url
        .clone()
        .or_else(|| std::env::var("PORTCULLIS_ADMIN_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:4001".to_owned());
    let master = target
        .master_key
        .clone()
        .or_else(|| std::env::var("PORTCULLIS_MASTER_KEY").ok())
        .context("no master key: set PORTCULLIS_MASTER_KEY or pass --master-key")?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut request = client.request(method, &url).bearer_auth(master);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    let pretty = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(text);
    if !status.is_success() {
        bail!("admin API answered {status}: {pretty}");
    }
    writeln!(std::io::stdout().lock(), "{pretty}")?;
    Ok(())
}

pub(crate) async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Verify { config } = command;
    let loaded = Config::load(&config).with_context(|| format!("loading {}", config.display()))?;
    let stores = Stores::open(&loaded.storage).await?;
    match portcullis_storage::verify_log(&*stores.audit).await? {
        Ok(checked) => {
            writeln!(
                std::io::stdout().lock(),
                "audit chain ok: {checked} records verified"
            )?;
            Ok(())
        }
        Err(brk) => bail!(
            "audit chain broken at record {}: {}",
            brk.seq,
            match brk.reason {
                portcullis_storage::BreakReason::Altered => "altered",
                portcullis_storage::BreakReason::Missing => "missing",
            }
        ),
    }
}
