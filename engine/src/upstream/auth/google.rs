//! Google service-account credentials (Vertex AI): the gateway signs an RS256 JWT with the
//! account's private key, exchanges it at the account's `token_uri` for an access token
//! (RFC 7523 `jwt-bearer` grant), caches the token until shortly before it expires, and sends
//! it as `Authorization: Bearer`.
//!
//! - The key is parsed once, at start-up (a bad key fails the start, not a request).
//! - One mint at a time: concurrent requests that find no fresh token wait for the one mint
//!   in flight and use its token (single flight), so a burst never mints a token per request.
//! - The token endpoint is called with the calling worker's client for the provider, so the
//!   provider's egress rules (private addresses refused unless `allow_private_network`),
//!   timeouts and redirect refusal apply to it as to the model endpoint.
//! - A mint failure is classified, never echoed: the endpoint refusing the grant (4xx) is
//!   [`UpstreamError::Unauthorized`], a failing endpoint (5xx, 429) keeps its status, a
//!   transport failure is the transport's class. The key, the JWT and the token appear in no
//!   `Debug` output, log line or error.
//! - Expiry is read through the injected [`Clock`]; `iat`/`exp` need wall-clock time, which
//!   Google checks (with some leeway), so they come from the system time.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures_util::future::BoxFuture;
use reqwest::Client;
use reqwest::header::{self, HeaderValue};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use super::Authorize;
use crate::clock::SharedClock;
use crate::error::{EngineError, UpstreamError};
use crate::provider::UpstreamRequest;
use crate::spec::ServiceAccount;
use crate::upstream::{classify_transport, read_bounded};

/// The OAuth scope Vertex AI needs.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The grant type of a signed-JWT token request (RFC 7523), form-encoded.
const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
/// Lifetime asked for in the JWT (Google's maximum).
const JWT_LIFETIME_SECS: u64 = 3600;
/// Refresh this long before a token expires (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// A service account that mints and caches access tokens.
pub(crate) struct ServiceAccountAuth {
    client_email: String,
    token_uri: Url,
    key: RsaKeyPair,
    rng: SystemRandom,
    clock: SharedClock,
    cached: Mutex<Option<Cached>>,
    /// Held while minting: the single flight.
    mint: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    /// `Bearer <token>`, marked sensitive.
    header: HeaderValue,
    /// Clock time (ns) from which the token is refreshed instead of used.
    refresh_at: u64,
}

impl fmt::Debug for ServiceAccountAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountAuth")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

/// A PEM private key (PKCS#8 `PRIVATE KEY`, as Google's key files hold, or PKCS#1
/// `RSA PRIVATE KEY`) → the signing key.
pub(crate) fn parse_private_key(pem: &str) -> Result<RsaKeyPair, EngineError> {
    let bad = || EngineError::Internal("the service account private key is not an RSA PEM key");
    let pkcs8 = pem.contains("-----BEGIN PRIVATE KEY-----");
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| bad())?;
    if pkcs8 {
        RsaKeyPair::from_pkcs8(&der).map_err(|_| bad())
    } else {
        RsaKeyPair::from_der(&der).map_err(|_| bad())
    }
}

impl ServiceAccountAuth {
    pub(crate) fn new(account: &ServiceAccount, clock: SharedClock) -> Result<Self, EngineError> {
        Ok(Self {
            client_email: account.client_email.clone(),
            token_uri: account.token_uri.clone(),
            key: parse_private_key(account.private_key.expose_secret())?,
            rng: SystemRandom::new(),
            clock,
            cached: Mutex::new(None),
            mint: tokio::sync::Mutex::new(()),
        })
    }

    /// The signed JWT asserting this account, issued at Unix time `iat`.
    pub(crate) fn assertion(&self, iat: u64) -> Result<String, UpstreamError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri.as_str(),
            "iat": iat,
            "exp": iat + JWT_LIFETIME_SECS,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| UpstreamError::Unauthorized)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The cached token, if it is still fresh.
    fn fresh(&self) -> Option<HeaderValue> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|c| self.clock.now() < c.refresh_at)
            .map(|c| c.header.clone())
    }

    /// A fresh token: the cached one, the one another request is minting, or a new one.
    async fn token(&self, client: &Client) -> Result<HeaderValue, UpstreamError> {
        if let Some(header) = self.fresh() {
            return Ok(header);
        }
        let _flight = self.mint.lock().await;
        if let Some(header) = self.fresh() {
            return Ok(header);
        }
        let minted = self.mint(client).await?;
        let header = minted.header.clone();
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(minted);
        Ok(header)
    }

    async fn mint(&self, client: &Client) -> Result<Cached, UpstreamError> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let body = format!("grant_type={GRANT}&assertion={}", self.assertion(iat)?);
        let started = self.clock.now();
        let response = client
            .post(self.token_uri.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| classify_transport(&e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(UpstreamError::Redirect);
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(UpstreamError::Status(status.as_u16()));
        }
        if !status.is_success() {
            return Err(UpstreamError::Unauthorized);
        }
        let body = read_bounded(response, MAX_TOKEN_RESPONSE).await?;
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| UpstreamError::Malformed)?;
        if token
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
            || token.access_token.is_empty()
        {
            return Err(UpstreamError::Malformed);
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.access_token))
            .map_err(|_| UpstreamError::Malformed)?;
        header.set_sensitive(true);
        Ok(Cached {
            header,
            refresh_at: started.saturating_add(fresh_for(token.expires_in.unwrap_or(3600))),
        })
    }
}

/// Nanoseconds a token that expires in `expires_in` seconds is used before refreshing.
fn fresh_for(expires_in: u64) -> u64 {
    let lifetime = Duration::from_secs(expires_in);
    let margin = REFRESH_MARGIN.min(lifetime / 2);
    u64::try_from((lifetime - margin).as_nanos()).unwrap_or(u64::MAX)
}

impl Authorize for ServiceAccountAuth {
    fn authorize<'a>(
        &'a self,
        client: &'a Client,
        request: &'a mut UpstreamRequest,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let header = self.token(client).await?;
            request.headers.insert(header::AUTHORIZATION, header);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
