//! `bedrock:` under a provider of vendor `bedrock`: the AWS region and the credentials, each a
//! secret reference (`env:NAME`, `file:/path`). Refused for other vendors. The region also
//! gives the default endpoint (`https://bedrock-runtime.{region}.amazonaws.com`) when the
//! provider names no `base_url` (a VPC endpoint or a test double may).

use portcullis_engine::provider::Vendor;
use portcullis_engine::spec::BedrockSpec;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// Longest region name accepted.
const MAX_REGION_CHARS: usize = 32;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBedrock {
    /// `us-east-1`, `eu-central-1`, `us-gov-west-1`, ...
    pub(crate) region: Spanned<String>,
    /// Secret reference to the access key id.
    pub(crate) access_key_id: Spanned<String>,
    /// Secret reference to the secret access key.
    pub(crate) secret_access_key: Spanned<String>,
    /// Secret reference to an STS session token, for temporary credentials.
    #[serde(default)]
    pub(crate) session_token: Option<Spanned<String>>,
}

/// Whether `region` looks like an AWS region: lower-case words joined by `-`, at least three,
/// the last a number (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= MAX_REGION_CHARS
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        && parts
            .first()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_lowercase()))
}

impl Checker<'_> {
    /// The Bedrock settings: required for vendor `bedrock`, refused for every other vendor.
    pub(crate) fn bedrock(
        &mut self,
        path: &str,
        vendor: Vendor,
        name: &Spanned<String>,
        raw: Option<Spanned<RawBedrock>>,
    ) -> Option<BedrockSpec> {
        let at = format!("{path}.bedrock");
        let raw = match (vendor, raw) {
            (Vendor::Bedrock, Some(raw)) => raw,
            (Vendor::Bedrock, None) => {
                self.problem(
                    at,
                    Some(name),
                    "is required for vendor bedrock (region, access_key_id, secret_access_key)",
                );
                return None;
            }
            (_, None) => return None,
            (other, Some(raw)) => {
                let why = format!("applies only to vendor bedrock, not {}", other.as_str());
                self.problem(at, Some(&raw), why);
                return None;
            }
        };
        let raw = raw.value;
        let region_ok = valid_region(&raw.region.value);
        if !region_ok {
            self.problem(
                format!("{at}.region"),
                Some(&raw.region),
                "must be an AWS region such as us-east-1",
            );
        }
        let access_key_id = self.secret(&format!("{at}.access_key_id"), &raw.access_key_id);
        let secret_access_key =
            self.secret(&format!("{at}.secret_access_key"), &raw.secret_access_key);
        let session_token = match &raw.session_token {
            Some(reference) => Some(self.secret(&format!("{at}.session_token"), reference)?),
            None => None,
        };
        if !region_ok {
            return None;
        }
        Some(BedrockSpec {
            region: raw.region.value,
            access_key_id: access_key_id?,
            secret_access_key: secret_access_key?,
            session_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::valid_region;

    #[test]
    fn regions_are_checked_by_shape() {
        for ok in [
            "us-east-1",
            "eu-central-1",
            "ap-southeast-2",
            "us-gov-west-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "us-east-1.evil.com",
            "us--1",
            "1-us-east",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
    }
}
