//! The config file as written: serde shapes, strict and unvalidated.
//!
//! Every struct denies unknown fields. Values that validation may complain about are
//! [`Spanned`], so a validation error can point at the line and column of the value. Secret
//! references stay plain strings here; they are parsed (and inline secrets refused) in
//! validation, where the field path is known. Sections and lists are optional so that an
//! empty `server:` or a missing `keys:` reads naturally; validation decides what is required.

use portcullis_engine::provider::Vendor;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::Mode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub server: Option<RawServer>,
    #[serde(default)]
    pub auth: Option<RawAuth>,
    #[serde(default)]
    pub providers: Option<Vec<RawProvider>>,
    #[serde(default)]
    pub models: Option<Vec<RawModel>>,
    #[serde(default)]
    pub keys: Option<Vec<RawKey>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
    #[serde(default)]
    pub admin_listen: Option<Spanned<String>>,
    #[serde(default)]
    pub workers: Option<Spanned<usize>>,
    #[serde(default)]
    pub max_body_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub max_json_depth: Option<Spanned<usize>>,
    #[serde(default)]
    pub shutdown_timeout_secs: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    /// Secret reference.
    #[serde(default)]
    pub master_key: Option<Spanned<String>>,
    /// Secret reference.
    #[serde(default)]
    pub key_pepper: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub name: Spanned<String>,
    pub vendor: Vendor,
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// Secret reference.
    #[serde(default)]
    pub api_key: Option<Spanned<String>>,
    #[serde(default)]
    pub allow_private_network: bool,
    #[serde(default)]
    pub max_response_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub max_event_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub timeouts: Option<RawTimeouts>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    #[serde(default)]
    pub connect_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub first_byte_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub read_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub total_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub name: Spanned<String>,
    #[serde(default)]
    pub deployments: Option<Vec<RawDeployment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeployment {
    pub provider: Spanned<String>,
    pub model: Spanned<String>,
    #[serde(default)]
    pub weight: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    pub name: Spanned<String>,
    /// Secret reference.
    pub key: Spanned<String>,
    #[serde(default)]
    pub models: Option<Spanned<Vec<Spanned<String>>>>,
}
