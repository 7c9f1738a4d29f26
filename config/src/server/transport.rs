//! `server.tls`, `server.admin_tls` and `server.cors`: how the listeners meet the network.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;
use url::Url;

use crate::Mode;
use crate::check::Checker;

/// A certificate chain and its private key: PEM files, read at start-up and again on every
/// reload (SIGHUP), so a renewed certificate needs no restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Cross-origin access to the data plane, for browser clients. Off unless configured; the
/// admin listener never answers cross-origin requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Origins allowed, serialized as browsers send them (`https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// `*` was listed: any origin (refused in production).
    pub any_origin: bool,
    /// Request headers a browser may send, besides the ones every client needs
    /// (lower case).
    pub allowed_headers: Vec<String>,
    /// How long a browser may cache a preflight answer.
    pub max_age: Duration,
}

impl CorsConfig {
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
    pub const MAX_MAX_AGE: Duration = Duration::from_secs(86_400);
    /// Longest header name accepted in `allowed_headers`.
    const MAX_HEADER_NAME_CHARS: usize = 64;

    /// Whether a request from `origin` (the `Origin` header, as sent) may read the answer.
    pub fn allows(&self, origin: &str) -> bool {
        self.any_origin || self.allowed_origins.iter().any(|o| o == origin)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) cert: Spanned<String>,
    pub(crate) key: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCors {
    pub(crate) allowed_origins: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) allowed_headers: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) max_age: Option<Spanned<String>>,
}

impl Checker<'_> {
    pub(crate) fn tls(&mut self, path: &str, raw: Option<RawTls>) -> Option<TlsFiles> {
        let raw = raw?;
        let mut file = |field: &str, value: &Spanned<String>| {
            let trimmed = value.value.trim();
            if trimmed.is_empty() || trimmed.contains('\0') {
                self.problem(
                    format!("{path}.{field}"),
                    Some(value),
                    "must be the path of a PEM file",
                );
            }
            PathBuf::from(trimmed)
        };
        Some(TlsFiles {
            cert: file("cert", &raw.cert),
            key: file("key", &raw.key),
        })
    }

    pub(crate) fn cors(&mut self, raw: Option<RawCors>, mode: Mode) -> Option<CorsConfig> {
        let raw = raw?;
        let path = "server.cors.allowed_origins";
        if raw.allowed_origins.value.is_empty() {
            self.problem(
                path,
                Some(&raw.allowed_origins),
                "list at least one origin, e.g. https://app.example.com (or leave cors out)",
            );
        }
        let mut allowed_origins = Vec::new();
        let mut any_origin = false;
        for (i, origin) in raw.allowed_origins.value.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if origin.value.trim() == "*" {
                if mode == Mode::Production {
                    self.problem(
                        at,
                        Some(origin),
                        "`*` (any origin) is refused in production: list the origins of your web apps",
                    );
                }
                any_origin = true;
                continue;
            }
            match serialized_origin(origin.value.trim()) {
                Some(o) => allowed_origins.push(o),
                None => self.problem(
                    at,
                    Some(origin),
                    "must be an origin: http or https, a host and an optional port, no path (e.g. https://app.example.com)",
                ),
            }
        }
        let mut allowed_headers = Vec::new();
        for (i, name) in raw.allowed_headers.iter().enumerate() {
            let ok = !name.value.is_empty()
                && name.value.len() <= CorsConfig::MAX_HEADER_NAME_CHARS
                && name
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if ok {
                allowed_headers.push(name.value.to_ascii_lowercase());
            } else {
                self.problem(
                    format!("server.cors.allowed_headers[{i}]"),
                    Some(name),
                    format!(
                        "must be a header name: 1 to {} letters, digits or '-'",
                        CorsConfig::MAX_HEADER_NAME_CHARS
                    ),
                );
            }
        }
        let max_age = self.duration(
            "server.cors.max_age",
            raw.max_age.as_ref(),
            CorsConfig::DEFAULT_MAX_AGE,
        );
        if max_age > CorsConfig::MAX_MAX_AGE {
            self.problem(
                "server.cors.max_age",
                raw.max_age.as_ref(),
                "must be at most 24h",
            );
        }
        Some(CorsConfig {
            allowed_origins,
            any_origin,
            allowed_headers,
            max_age: max_age.min(CorsConfig::MAX_MAX_AGE),
        })
    }
}

/// `text` as a browser serializes an origin (`https://app.example.com`, default port left
/// out), or `None` when it is not exactly an http(s) origin.
fn serialized_origin(text: &str) -> Option<String> {
    let url = Url::parse(text).ok()?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.host().is_some()
        && url.path() == "/"
        && !text.trim_end_matches('/').ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none();
    bare.then(|| url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::serialized_origin;

    #[test]
    fn origins_are_serialized_as_browsers_send_them() {
        for (written, origin) in [
            ("https://app.example.com", "https://app.example.com"),
            ("https://App.Example.com/", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:5173", "http://localhost:5173"),
        ] {
            assert_eq!(serialized_origin(written).as_deref(), Some(origin));
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "https://user@app.example.com",
            "https://app.example.com?x=1",
            "ftp://app.example.com",
            "null",
            "https://app.example.com//",
        ] {
            assert_eq!(serialized_origin(bad), None, "{bad}");
        }
    }
}
