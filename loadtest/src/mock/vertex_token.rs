//! The mock's OAuth token endpoint for Vertex AI (`POST /token`): it takes the RFC 7523
//! `jwt-bearer` grant a service account sends, verifies the RS256 JWT against the public key
//! the test supplied (and its scope, audience and lifetime), and answers
//! `{access_token, expires_in, token_type}` as Google's endpoint does. Issued tokens are
//! remembered with their expiry, so Vertex routes accept only a live token it issued.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Value, json};

use super::openai_wire::to_bytes;

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/token";
/// The scope Vertex AI needs.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The token issuer a test configured.
#[derive(Debug)]
pub(crate) struct Issuer {
    /// PKCS#1 `RSAPublicKey` DER of the service account's key.
    public_key: Vec<u8>,
    lifetime: Duration,
    issued: Vec<(String, Instant)>,
    minted: u64,
}

impl Issuer {
    pub(crate) fn new(public_key: Vec<u8>, lifetime: Duration) -> Self {
        Self {
            public_key,
            lifetime,
            issued: Vec::new(),
            minted: 0,
        }
    }

    pub(crate) fn minted(&self) -> u64 {
        self.minted
    }

    /// Whether `authorization` is `Bearer <a live token this issuer minted>`.
    pub(crate) fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(token) = authorization.and_then(|a| a.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let now = Instant::now();
        self.issued
            .iter()
            .any(|(t, until)| t.as_bytes() == token && now < *until)
    }

    /// Answers one token request: `(status, body)`.
    pub(crate) fn grant(&mut self, audience: &str, form: &[u8]) -> (u16, Bytes) {
        match self.verify(audience, form) {
            Ok(()) => {
                self.minted += 1;
                let token = format!("ya29.mock-token-{}", self.minted);
                self.issued
                    .push((token.clone(), Instant::now() + self.lifetime));
                let body = json!({
                    "access_token": token,
                    "expires_in": self.lifetime.as_secs(),
                    "token_type": "Bearer",
                });
                (200, to_bytes(&body))
            }
            Err(why) => (
                400,
                to_bytes(&json!({"error": "invalid_grant", "error_description": why})),
            ),
        }
    }

    fn verify(&self, audience: &str, form: &[u8]) -> Result<(), &'static str> {
        let form = std::str::from_utf8(form).map_err(|_| "Invalid form.")?;
        let field = |name: &str| {
            form.split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        let grant = field("grant_type").ok_or("Missing grant_type.")?;
        if grant != GRANT && grant.replace("%3A", ":") != GRANT {
            return Err("Invalid grant_type.");
        }
        let jwt = field("assertion").ok_or("Missing assertion.")?;
        let mut parts = jwt.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("Invalid JWT.");
        };
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| "Invalid JWT.");
        let signed = &jwt[..header.len() + 1 + claims.len()];
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(signed.as_bytes(), &decode(signature)?)
            .map_err(|_| "Invalid JWT Signature.")?;
        let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "Invalid JWT.")?;
        let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| "Invalid JWT.")?;
        if header["alg"] != "RS256" {
            return Err("Invalid JWT algorithm.");
        }
        if claims["scope"] != SCOPE || claims["aud"] != audience {
            return Err("Invalid JWT scope or audience.");
        }
        if claims["iss"].as_str().is_none_or(str::is_empty) {
            return Err("Invalid JWT issuer.");
        }
        let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
            return Err("Invalid JWT times.");
        };
        if exp <= iat || exp - iat > 3600 {
            return Err("Invalid JWT: Token must be a short-lived token (60 minutes).");
        }
        Ok(())
    }
}
