//! `portcullis check --config FILE [--json]`: the deployment audit, printed for a person
//! (a table, most severe first) or a pipeline (`--json`). The audit itself is the pure
//! `portcullis_config::audit`; this module reads the file and renders the findings.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use portcullis_config::{Audit, MAX_CONFIG_BYTES, Severity, audit, process_env};
use zeroize::Zeroizing;

/// Audits the file at `path`, writes the report to `out`; returns whether any finding is high.
pub(crate) fn run(path: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<bool> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // The file may hold inline secrets (the audit reports them); wipe our copy when done.
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    let report = audit(&text, &process_env, today_days());
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        render_table(path, &report, out)?;
    }
    Ok(report.has_high())
}

/// Days since 1970-01-01, UTC.
fn today_days() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(i64::MAX)
}

fn render_table(path: &Path, report: &Audit, out: &mut dyn Write) -> std::io::Result<()> {
    let counts = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .map(|s| format!("{} {s}", report.count(s)));
    writeln!(out, "{}: {}", path.display(), counts.join(", "))?;
    if report.findings.is_empty() {
        return Ok(());
    }
    let where_of = |f: &portcullis_config::Finding| match f.line {
        Some(line) => format!("{} (line {line})", f.path),
        None => f.path.clone(),
    };
    let id_width = report
        .findings
        .iter()
        .map(|f| f.id.len())
        .max()
        .unwrap_or(0);
    let where_width = report
        .findings
        .iter()
        .map(|f| where_of(f).len())
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "{:<8} {:<id_width$} {:<where_width$} FINDING",
        "SEVERITY", "ID", "WHERE"
    )?;
    for finding in &report.findings {
        writeln!(
            out,
            "{:<8} {:<id_width$} {:<where_width$} {}",
            finding.severity.as_str().to_uppercase(),
            finding.id,
            where_of(finding),
            finding.message
        )?;
    }
    Ok(())
}
