//! AWS Signature Version 4, for AWS Bedrock.
//!
//! A SigV4 signature covers the method, path, query, chosen headers and a hash of the body,
//! under a key derived from the secret for one day, region and service; it therefore has to be
//! computed on the final request, at the time of sending. [`sign`] is the pure algorithm (the
//! time is an argument), checked against AWS's published test-suite vectors; [`SigV4`] is the
//! [`Authorize`] step that reads the time from an injected [`WallClock`] and adds
//! `x-amz-date`, `x-amz-security-token` (temporary credentials) and `Authorization`.
//!
//! The canonical URI encodes each path segment of the request's (already percent-encoded)
//! path once more, as AWS requires of every service but S3: a Bedrock model id's `:` travels
//! as `%3A` and is signed as `%253A`. The secret, the session token and the signature headers
//! never reach a log line: the headers are marked sensitive and the types' `Debug` hides them.

use std::fmt::{self, Debug, Write as _};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, ready};
use hmac::{Hmac, Mac};
use reqwest::Client;
use reqwest::header::{self, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::Authorize;
use crate::error::UpstreamError;
use crate::provider::UpstreamRequest;

/// The only algorithm this module implements.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");

/// The wall-clock time, injected so signatures are testable. Unix seconds.
pub(crate) trait WallClock: Send + Sync + Debug {
    fn unix_seconds(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn unix_seconds(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// One request as it will be sent, reduced to what SigV4 covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInput<'a> {
    pub(crate) method: &'a str,
    /// The path as sent: already percent-encoded (`%3A` for a `:`).
    pub(crate) path: &'a str,
    /// The query as sent, without `?` (empty for none).
    pub(crate) query: &'a str,
    /// The headers to sign, `Host` among them; names in any case.
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) payload: &'a [u8],
}

/// Who signs, where: the credential scope.
#[derive(Clone, Copy)]
pub(crate) struct SignScope<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) secret_access_key: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    /// Unix seconds of signing.
    pub(crate) time: u64,
}

impl Debug for SignScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignScope")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

/// A signature's pieces, for tests and for the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    pub(crate) canonical_request: String,
    pub(crate) string_to_sign: String,
    /// `host;x-amz-date`, ...
    pub(crate) signed_headers: String,
    pub(crate) signature: String,
    /// The whole `Authorization` header value.
    pub(crate) authorization: String,
}

/// `YYYYMMDD'T'HHMMSS'Z'` for `unix` seconds (UTC).
pub(crate) fn amz_date(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), the proleptic Gregorian calendar.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Signs `input` for `scope`. Pure: the time is in the scope.
pub(crate) fn sign(input: &SignInput<'_>, scope: &SignScope<'_>) -> Signed {
    let date_time = amz_date(scope.time);
    let date = &date_time[..8];
    let (canonical_request, signed_headers) = canonical_request(input);
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{date_time}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(scope.secret_access_key, date, scope.region, scope.service);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
        scope.access_key_id
    );
    Signed {
        canonical_request,
        string_to_sign,
        signed_headers,
        signature,
        authorization,
    }
}

/// The canonical request and its signed-headers list.
fn canonical_request(input: &SignInput<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = Vec::with_capacity(input.headers.len());
    for (name, value) in input.headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut out = String::new();
    out.push_str(&input.method.to_ascii_uppercase());
    out.push('\n');
    out.push_str(&canonical_uri(input.path));
    out.push('\n');
    out.push_str(&canonical_query(input.query));
    out.push('\n');
    for (name, value) in &headers {
        let _ = writeln!(out, "{name}:{value}");
    }
    out.push('\n');
    out.push_str(&signed_headers);
    out.push('\n');
    out.push_str(&hex(&Sha256::digest(input.payload)));
    (out, signed_headers)
}

/// Each segment of the path as sent, URI-encoded again (every service but S3).
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Pairs decoded, re-encoded the AWS way, sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// AWS URI encoding: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case hex).
pub(crate) fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The day's signing key: HMAC chain over date, region, service and `aws4_request`.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// AWS credentials: resolved secrets, never printed.
#[derive(Clone)]
pub(crate) struct AwsCredentials {
    pub(crate) access_key_id: SecretString,
    pub(crate) secret_access_key: SecretString,
    pub(crate) session_token: Option<SecretString>,
}

impl Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwsCredentials([redacted])")
    }
}

/// The SigV4 [`Authorize`] step for one provider.
#[derive(Debug)]
pub(crate) struct SigV4 {
    credentials: AwsCredentials,
    region: String,
    service: &'static str,
    clock: Arc<dyn WallClock>,
}

impl SigV4 {
    pub(crate) fn new(
        credentials: AwsCredentials,
        region: &str,
        service: &'static str,
        clock: Arc<dyn WallClock>,
    ) -> Self {
        Self {
            credentials,
            region: region.to_owned(),
            service,
            clock,
        }
    }

    /// Adds `x-amz-date`, `x-amz-security-token` (if any) and `Authorization` to `request`.
    pub(crate) fn sign_request(&self, request: &mut UpstreamRequest) -> Result<(), UpstreamError> {
        let time = self.clock.unix_seconds();
        let date = amz_date(time);
        let headers = &mut request.headers;
        headers.insert(X_AMZ_DATE, header_value(&date, false)?);
        if let Some(token) = &self.credentials.session_token {
            headers.insert(
                X_AMZ_SECURITY_TOKEN,
                header_value(token.expose_secret(), true)?,
            );
        }
        let host = match (request.url.host_str(), request.url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(UpstreamError::Connect),
        };
        let mut signed: Vec<(&str, &str)> = vec![("host", &host)];
        for name in ["content-type", "x-amz-date", "x-amz-security-token"] {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                signed.push((name, value));
            }
        }
        let input = SignInput {
            method: "POST",
            path: request.url.path(),
            query: request.url.query().unwrap_or(""),
            headers: &signed,
            payload: &request.body,
        };
        let scope = SignScope {
            access_key_id: self.credentials.access_key_id.expose_secret(),
            secret_access_key: self.credentials.secret_access_key.expose_secret(),
            region: &self.region,
            service: self.service,
            time,
        };
        let authorization = sign(&input, &scope).authorization;
        headers.insert(header::AUTHORIZATION, header_value(&authorization, true)?);
        Ok(())
    }
}

fn header_value(value: &str, sensitive: bool) -> Result<HeaderValue, UpstreamError> {
    // Only a credential with characters no header may carry fails here; say nothing of it.
    let mut value = HeaderValue::from_str(value).map_err(|_| UpstreamError::Unauthorized)?;
    value.set_sensitive(sensitive);
    Ok(value)
}

impl Authorize for SigV4 {
    fn authorize<'a>(
        &'a self,
        _client: &'a Client,
        request: &'a mut UpstreamRequest,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(ready(self.sign_request(request)))
    }
}

#[cfg(test)]
mod tests;
