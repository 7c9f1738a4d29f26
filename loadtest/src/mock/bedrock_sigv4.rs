//! Checking the SigV4 `Authorization` of a Bedrock request, as AWS would.
//!
//! Without expected credentials the mock checks only the header's shape
//! (algorithm, a `bedrock` credential scope, signed headers, a 64-hex-digit
//! signature, an `x-amz-date`). With them
//! ([`MockUpstream::expect_aws_credentials`](crate::MockUpstream::expect_aws_credentials))
//! it recomputes the signature from the request as received (canonical
//! request with each path segment encoded again, the signed headers' values,
//! the body's SHA-256) and compares, and checks the session token.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use http::request::Parts;
use sha2::{Digest, Sha256};

/// The credentials a test expects requests to be signed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Expected in `x-amz-security-token` (and signed) when set.
    pub session_token: Option<String>,
}

/// Why a request's signature was refused: the exception AWS names and its
/// message.
pub(crate) type Refusal = (&'static str, &'static str);

const MISSING: Refusal = (
    "MissingAuthenticationTokenException",
    "Missing Authentication Token",
);
const MALFORMED: Refusal = (
    "IncompleteSignatureException",
    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
);
const UNKNOWN_KEY: Refusal = (
    "UnrecognizedClientException",
    "The security token included in the request is invalid.",
);
const MISMATCH: Refusal = (
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided.",
);

struct Parsed<'a> {
    access_key: &'a str,
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Parsed<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=')? {
            ("Credential", v) => credential = Some(v),
            ("SignedHeaders", v) => signed_headers = Some(v),
            ("Signature", v) => signature = Some(v),
            _ => return None,
        }
    }
    let (access_key, scope) = credential?.split_once('/')?;
    let fields: Vec<&str> = scope.split('/').collect();
    let shape_ok = fields.len() == 4 && fields[2] == "bedrock" && fields[3] == "aws4_request";
    let signature = signature?;
    let hex_ok = signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit());
    (shape_ok && hex_ok).then_some(Parsed {
        access_key,
        scope,
        signed_headers: signed_headers?,
        signature,
    })
}

/// Checks the request's signature; `Err` names the exception to answer.
pub(crate) fn check(
    parts: &Parts,
    body: &[u8],
    expected: Option<&AwsCredentials>,
) -> Result<(), Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let Some(authorization) = header("authorization") else {
        return Err(MISSING);
    };
    let parsed = parse(authorization).ok_or(MALFORMED)?;
    let date = header("x-amz-date").ok_or(MALFORMED)?;
    let Some(expected) = expected else {
        return Ok(());
    };
    if parsed.access_key != expected.access_key_id {
        return Err(UNKNOWN_KEY);
    }
    if let Some(token) = &expected.session_token {
        let signed = parsed
            .signed_headers
            .split(';')
            .any(|h| h == "x-amz-security-token");
        if header("x-amz-security-token") != Some(token.as_str()) || !signed {
            return Err(UNKNOWN_KEY);
        }
    }
    let mut canonical = String::new();
    let _ = writeln!(canonical, "{}", parts.method.as_str());
    let path: Vec<String> = parts.uri.path().split('/').map(encode).collect();
    let _ = writeln!(canonical, "{}", path.join("/"));
    let _ = writeln!(canonical, "{}", parts.uri.query().unwrap_or(""));
    for name in parsed.signed_headers.split(';') {
        let value = header(name).ok_or(MISMATCH)?;
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(canonical, "{name}:{value}");
    }
    let _ = writeln!(canonical);
    let _ = writeln!(canonical, "{}", parsed.signed_headers);
    canonical.push_str(&hex(&Sha256::digest(body)));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{}\n{}",
        parsed.scope,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut fields = parsed.scope.split('/');
    let mut key = format!("AWS4{}", expected.secret_access_key).into_bytes();
    for field in [fields.next(), fields.next(), fields.next(), fields.next()] {
        key = hmac(&key, field.unwrap_or("").as_bytes());
    }
    if hex(&hmac(&key, to_sign.as_bytes())) == parsed.signature {
        Ok(())
    } else {
        Err(MISMATCH)
    }
}

fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(authorization: &str, date: &str) -> Parts {
        let (parts, ()) = http::Request::post("/")
            .header("host", "example.amazonaws.com")
            .header("x-amz-date", date)
            .header("authorization", authorization)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    /// AWS's `post-vanilla` request, scoped to `bedrock`: the signature is
    /// derived step by step here, then tampered with.
    #[test]
    fn a_correct_signature_passes_and_any_change_fails() {
        let expected = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let scope = "20150830/us-east-1/bedrock/aws4_request";
        let probe = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders=host;x-amz-date, Signature={}",
            "0".repeat(64)
        );
        assert_eq!(
            check(&parts(&probe, "20150830T123600Z"), b"", Some(&expected)),
            Err(MISMATCH)
        );
        let canonical = "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n{scope}\n{}",
            hex(&Sha256::digest(canonical))
        );
        let mut key = b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_vec();
        for f in ["20150830", "us-east-1", "bedrock", "aws4_request"] {
            key = hmac(&key, f.as_bytes());
        }
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        let auth = probe.replace(&"0".repeat(64), &signature);
        assert_eq!(
            check(&parts(&auth, "20150830T123600Z"), b"", Some(&expected)),
            Ok(())
        );
        assert_eq!(
            check(&parts(&auth, "20150830T123601Z"), b"", Some(&expected)),
            Err(MISMATCH)
        );
        assert_eq!(
            check(&parts(&auth, "20150830T123600Z"), b"x", Some(&expected)),
            Err(MISMATCH)
        );
        let other = AwsCredentials {
            access_key_id: "AKIDOTHER".into(),
            ..expected
        };
        assert_eq!(
            check(&parts(&auth, "20150830T123600Z"), b"", Some(&other)),
            Err(UNKNOWN_KEY)
        );
    }

    #[test]
    fn without_expected_credentials_only_the_shape_is_checked() {
        let ok = format!(
            "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature={}",
            "a".repeat(64)
        );
        assert_eq!(check(&parts(&ok, "20250101T000000Z"), b"", None), Ok(()));
        assert_eq!(
            check(&parts("Bearer sk-x", "20250101T000000Z"), b"", None),
            Err(MALFORMED)
        );
        let wrong_service = ok.replace("/bedrock/", "/s3/");
        assert_eq!(
            check(&parts(&wrong_service, "20250101T000000Z"), b"", None),
            Err(MALFORMED)
        );
    }
}
