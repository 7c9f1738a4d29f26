//! Checks on the config as written: binds, inline secrets, the master key's strength, egress
//! and transport choices. These run even when the loader would refuse the file.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use serde_saphyr::Spanned;

use super::{Findings, Severity, line_of};
use crate::auth::MIN_PRODUCTION_MASTER_KEY_CHARS;
use crate::check::Checker;
use crate::document::RawConfig;
use crate::entropy::{MIN_MASTER_KEY_ENTROPY_BITS, estimate_entropy_bits};
use crate::secret::{SecretError, SecretRef};
use crate::server::ServerConfig;
use crate::{MODE_ENV, Mode};

/// Runs the raw checks; returns the paths of inline secrets (the loader's refusal of those
/// is not reported twice).
pub(crate) fn audit_raw(
    raw: &RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Findings,
) -> Vec<String> {
    let mut checker = Checker {
        problems: Vec::new(),
        env,
    };
    let mode = checker.mode(raw.mode);
    binds(raw, mode, out);
    let mut inline = Vec::new();
    master_key(raw, mode, env, out, &mut inline);
    if let Some(pepper) = raw.auth.as_ref().and_then(|a| a.key_pepper.as_ref()) {
        inline_secret("auth.key_pepper", pepper, out, &mut inline);
    }
    let has_keys = raw.keys.as_ref().is_some_and(|k| !k.is_empty());
    if has_keys && raw.auth.as_ref().is_none_or(|a| a.key_pepper.is_none()) {
        out.push(
            Severity::Low,
            "no_key_pepper",
            "auth.key_pepper",
            None,
            "no key pepper: virtual-key hashes use a random per-process pepper, so stored keys do not survive a restart or match across replicas",
        );
    }
    for (i, provider) in raw.providers.iter().flatten().enumerate() {
        let path = format!("providers[{i}]");
        if let Some(key) = &provider.api_key {
            inline_secret(&format!("{path}.api_key"), key, out, &mut inline);
        }
        if provider.allow_private_network {
            out.push(
                Severity::Medium,
                "private_egress",
                &format!("{path}.allow_private_network"),
                line_of(&provider.name),
                format!(
                    "provider {:?} may connect to private, loopback and link-local addresses (the SSRF guard is off for it); keep this only for a self-hosted model on a trusted network",
                    provider.name.value
                ),
            );
        }
        if let Some(url) = &provider.base_url {
            http_upstream(
                &path,
                &provider.name.value,
                url,
                provider.api_key.is_some(),
                out,
            );
        }
    }
    for (i, key) in raw.keys.iter().flatten().enumerate() {
        let path = format!("keys[{i}]");
        inline_secret(&format!("{path}.key"), &key.key, out, &mut inline);
        let grants_all = key
            .models
            .as_ref()
            .is_some_and(|m| m.value.iter().any(|name| name.value == "*"));
        if grants_all {
            out.push(
                Severity::Low,
                "key_all_models",
                &format!("{path}.models"),
                key.models.as_ref().and_then(line_of),
                format!(
                    "key {:?} may use every model, including ones added later; list the models it needs",
                    key.name.value
                ),
            );
        }
    }
    inline
}

fn binds(raw: &RawConfig, mode: Mode, out: &mut Findings) {
    let server = raw.server.as_ref();
    let listen = bind(
        server.and_then(|s| s.listen.as_ref()),
        ServerConfig::DEFAULT_LISTEN,
    );
    let admin = bind(
        server.and_then(|s| s.admin_listen.as_ref()),
        ServerConfig::DEFAULT_ADMIN_LISTEN,
    );
    if let Some((addr, line)) = listen.filter(|(a, _)| !a.ip().is_loopback()) {
        let scope = if addr.ip().is_unspecified() {
            "every interface"
        } else {
            "a non-loopback address"
        };
        out.push(
            Severity::Info,
            "public_bind",
            "server.listen",
            line,
            format!("the data plane listens on {scope} ({addr}); clients need a virtual key"),
        );
        if server.is_none_or(|s| s.tls.is_none()) {
            out.push(
                Severity::Medium,
                "no_tls",
                "server.listen",
                line,
                "the data plane is reachable off-host over plain HTTP: keys and prompts cross the network in clear unless a TLS terminator (load balancer, reverse proxy, service mesh) sits in front; set server.tls, or ignore this if one does",
            );
        }
        if mode == Mode::Development {
            out.push(
                Severity::Medium,
                "development_mode",
                "mode",
                None,
                format!(
                    "a public listener in development mode: set `mode: production` or {MODE_ENV}=production to enforce a strong master key, a loopback admin listener and https upstreams"
                ),
            );
        }
    }
    if let Some((addr, line)) = admin.filter(|(a, _)| !a.ip().is_loopback()) {
        if server.is_some_and(|s| s.admin_tls.is_some()) {
            out.push(
                Severity::Medium,
                "admin_exposed",
                "server.admin_listen",
                line,
                format!(
                    "the admin listener ({addr}) serves /metrics, detailed health and the admin API off-host (over TLS, master key only); keep it on a network only operators and Prometheus reach"
                ),
            );
        } else {
            out.push(
                Severity::High,
                "admin_exposed",
                "server.admin_listen",
                line,
                format!(
                    "the admin listener ({addr}) serves /metrics, detailed health and the admin API off-host over plain HTTP; bind it to 127.0.0.1 or set server.admin_tls (production refuses this)"
                ),
            );
        }
    }
    let any_origin = server.and_then(|s| s.cors.as_ref()).and_then(|c| {
        c.allowed_origins
            .value
            .iter()
            .find(|o| o.value.trim() == "*")
    });
    if let Some(star) = any_origin {
        out.push(
            Severity::High,
            "permissive_cors",
            "server.cors.allowed_origins",
            line_of(star),
            "CORS allows any origin (`*`): any web page a user opens may call the gateway with a key it holds; list the origins of your web apps (production refuses `*`)",
        );
    }
}

/// The address a listener binds, with its line; `None` when it does not parse (the loader
/// reports that).
fn bind(raw: Option<&Spanned<String>>, default: SocketAddr) -> Option<(SocketAddr, Option<u64>)> {
    match raw {
        None => Some((default, None)),
        Some(at) => at.value.trim().parse().ok().map(|addr| (addr, line_of(at))),
    }
}

fn master_key(
    raw: &RawConfig,
    mode: Mode,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Findings,
    inline: &mut Vec<String>,
) {
    let path = "auth.master_key";
    let Some(at) = raw.auth.as_ref().and_then(|a| a.master_key.as_ref()) else {
        let severity = match mode {
            Mode::Production => Severity::High,
            Mode::Development => Severity::Low,
        };
        out.push(
            severity,
            "no_master_key",
            path,
            None,
            "no master key: the admin API has no credential (production requires one)",
        );
        return;
    };
    let value: Option<SecretString> = match SecretRef::parse(&at.value) {
        Err(SecretError::Inline) => {
            inline_secret(path, at, out, inline);
            Some(SecretString::from(at.value.trim()))
        }
        Err(_) => None,
        Ok(reference) => reference.resolve_with(env).ok(),
    };
    // An unresolvable reference is reported by the loader.
    let Some(value) = value else { return };
    let key = value.expose_secret();
    let chars = key.chars().count();
    let bits = estimate_entropy_bits(key);
    if chars < MIN_PRODUCTION_MASTER_KEY_CHARS {
        out.push(
            Severity::High,
            "weak_master_key",
            path,
            line_of(at),
            format!(
                "the master key has {chars} characters; use at least {MIN_PRODUCTION_MASTER_KEY_CHARS} (`portcullis gen-key`)"
            ),
        );
    } else if bits < MIN_MASTER_KEY_ENTROPY_BITS {
        out.push(
            Severity::High,
            "weak_master_key",
            path,
            line_of(at),
            format!(
                "the master key is predictable: estimated {bits:.0} bits of entropy, under {MIN_MASTER_KEY_ENTROPY_BITS:.0} (repeated or sequential characters); use `portcullis gen-key`"
            ),
        );
    }
}

/// Records an inline secret at `path`, by position only.
fn inline_secret(path: &str, at: &Spanned<String>, out: &mut Findings, inline: &mut Vec<String>) {
    if !matches!(SecretRef::parse(&at.value), Err(SecretError::Inline)) {
        return;
    }
    inline.push(path.to_owned());
    out.push(
        Severity::High,
        "inline_secret",
        path,
        line_of(at),
        "a secret is written inline in the config (the loader refuses it): move it to the environment or a file and reference it as env:NAME or file:PATH, then rotate it — it has been in the file",
    );
}

fn http_upstream(
    path: &str,
    name: &str,
    url: &Spanned<String>,
    credential: bool,
    out: &mut Findings,
) {
    let Ok(parsed) = url::Url::parse(url.value.trim()) else {
        return;
    };
    if parsed.scheme() != "http" {
        return;
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    let (severity, risk) = match (credential, loopback) {
        (_, true) => (Severity::Low, "traffic stays on this host"),
        (true, false) => (
            Severity::High,
            "its credential and every prompt cross the network in clear",
        ),
        // Also a credential to a provider declared private: production allows that too.
        (false, false) => (
            Severity::Medium,
            "prompts and completions cross the network in clear",
        ),
    };
    out.push(
        severity,
        "http_upstream",
        &format!("{path}.base_url"),
        line_of(url),
        format!("provider {name:?} is reached over plain http: {risk} (production requires https)"),
    );
}
