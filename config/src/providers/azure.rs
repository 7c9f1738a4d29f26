//! `azure:` under a provider of vendor `azure`: the `api-version` every request carries and,
//! instead of `api_key`, an Entra ID access token reference. Exactly one credential: a
//! provider with both (or neither) is refused, so which header goes upstream is never a guess.

use portcullis_engine::provider::Vendor;
use portcullis_engine::spec::AzureSpec;
use secrecy::SecretString;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// `azure:` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAzure {
    /// The `api-version` query value; default [`AzureSpec::DEFAULT_API_VERSION`].
    #[serde(default)]
    pub(crate) api_version: Option<Spanned<String>>,
    /// Secret reference to an Entra ID access token, sent as `Authorization: Bearer`.
    #[serde(default)]
    pub(crate) entra_token: Option<Spanned<String>>,
}

impl Checker<'_> {
    /// The Azure settings: only for vendor `azure`, a plain-token `api_version`, and exactly
    /// one of `api_key` (`has_api_key`) and `azure.entra_token`.
    pub(crate) fn azure(
        &mut self,
        path: &str,
        vendor: Vendor,
        raw: Option<Spanned<RawAzure>>,
        has_api_key: bool,
        name: &Spanned<String>,
    ) -> AzureSpec {
        let mut spec = AzureSpec::default();
        if vendor != Vendor::Azure {
            if let Some(raw) = raw {
                let why = format!("applies only to vendor azure, not {}", vendor.as_str());
                self.problem(format!("{path}.azure"), Some(&raw), why);
            }
            return spec;
        }
        let raw = raw.map(|r| r.value).unwrap_or_default();
        if let Some(version) = &raw.api_version
            && self.header_token(&format!("{path}.azure.api_version"), version)
        {
            spec.api_version = version.value.clone();
        }
        let token: Option<SecretString> = raw
            .entra_token
            .as_ref()
            .and_then(|r| self.secret(&format!("{path}.azure.entra_token"), r));
        match (has_api_key, &raw.entra_token) {
            (true, Some(given)) => self.problem(
                format!("{path}.azure.entra_token"),
                Some(given),
                "give either api_key or azure.entra_token, not both",
            ),
            (false, None) => self.problem(
                format!("{path}.api_key"),
                Some(name),
                "vendor azure needs api_key or azure.entra_token",
            ),
            _ => {}
        }
        spec.entra_token = token;
        spec
    }
}
