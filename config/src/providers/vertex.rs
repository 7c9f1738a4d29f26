//! `vertex:` under a provider of vendor `vertex_ai`: the Google Cloud project and region that
//! place the model paths, and the service account whose key file mints access tokens.
//!
//! The project and region go into the URL (`https://{region}-aiplatform.googleapis.com/v1/
//! projects/{project}/locations/{region}/…`), so both are checked as path- and host-safe
//! tokens. The key file is a secret reference (`file:/path.json`); only `client_email`,
//! `private_key` and `token_uri` are read from it, and no problem message quotes it. The
//! token endpoint is held to the same egress rules as `base_url`.

use portcullis_engine::provider::Vendor;
use portcullis_engine::spec::{ServiceAccount, VertexSpec};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;
use crate::egress::{EgressPolicy, check_base_url};

/// Google's token endpoint, when a key file names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVertex {
    pub(crate) project: Spanned<String>,
    pub(crate) region: Spanned<String>,
    /// Secret reference to the service account's JSON key file.
    pub(crate) service_account: Spanned<String>,
}

/// The fields of a service-account key file the gateway uses.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    #[serde(default)]
    token_uri: Option<String>,
}

/// `https://{region}-aiplatform.googleapis.com/v1` (`global`: no region prefix).
pub(crate) fn default_base_url(region: &str) -> String {
    if region == "global" {
        "https://aiplatform.googleapis.com/v1".to_owned()
    } else {
        format!("https://{region}-aiplatform.googleapis.com/v1")
    }
}

impl Checker<'_> {
    /// The Vertex settings: required for `vertex_ai`, refused for any other vendor.
    pub(crate) fn vertex(
        &mut self,
        path: &str,
        vendor: Vendor,
        name: &Spanned<String>,
        raw: Option<Spanned<RawVertex>>,
        policy: EgressPolicy,
    ) -> Option<VertexSpec> {
        let raw = match (raw, vendor) {
            (None, Vendor::VertexAi) => {
                let why = "is required for vendor vertex_ai (project, region, service_account)";
                self.problem(format!("{path}.vertex"), Some(name), why);
                return None;
            }
            (None, _) => return None,
            (Some(raw), Vendor::VertexAi) => raw.value,
            (Some(raw), other) => {
                let why = format!("applies only to vendor vertex_ai, not {}", other.as_str());
                self.problem(format!("{path}.vertex"), Some(&raw), why);
                return None;
            }
        };
        let project = self.token(&format!("{path}.vertex.project"), &raw.project, true);
        let region = self.token(&format!("{path}.vertex.region"), &raw.region, false);
        let at = format!("{path}.vertex.service_account");
        let key = self.secret(&at, &raw.service_account)?;
        let account = self.key_file(&at, &raw.service_account, &key, policy)?;
        Some(VertexSpec {
            project: project?,
            region: region?,
            service_account: account,
        })
    }

    /// A project id (`[a-z0-9-.:]`, as Google's legacy domain-scoped ids allow) or a region
    /// (`[a-z0-9-]`): 1 to 63 characters that cannot change a URL's host or path.
    fn token(&mut self, path: &str, raw: &Spanned<String>, project: bool) -> Option<String> {
        let v = raw.value.as_str();
        let ok = !v.is_empty()
            && v.len() <= 63
            && !v.starts_with(['-', '.', ':'])
            && v.chars().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == '-'
                    || (project && matches!(c, '.' | ':'))
            });
        if ok {
            return Some(v.to_owned());
        }
        let allowed = if project {
            "lower-case letters, digits, '-', '.' or ':'"
        } else {
            "lower-case letters, digits or '-'"
        };
        self.problem(path, Some(raw), format!("must be 1 to 63 {allowed}"));
        None
    }

    fn key_file(
        &mut self,
        path: &str,
        at: &Spanned<String>,
        key: &SecretString,
        policy: EgressPolicy,
    ) -> Option<ServiceAccount> {
        let Ok(file) = serde_json::from_str::<KeyFile>(key.expose_secret()) else {
            let why = "is not a service-account JSON key file (client_email, private_key)";
            self.problem(path, Some(at), why);
            return None;
        };
        if file.kind.as_deref().is_some_and(|k| k != "service_account") {
            self.problem(
                path,
                Some(at),
                "is a key file of another type than service_account",
            );
            return None;
        }
        if !file.private_key.contains("PRIVATE KEY-----") {
            self.problem(path, Some(at), "has no PEM private_key");
            return None;
        }
        let token_uri = file.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
        let token_uri = match check_base_url(token_uri, policy) {
            Ok(url) => url,
            Err(why) => {
                self.problem(path, Some(at), format!("token_uri: {why}"));
                return None;
            }
        };
        Some(ServiceAccount {
            client_email: file.client_email,
            private_key: SecretString::from(file.private_key),
            token_uri,
        })
    }
}
