//! The service-account JWT and the token cache. The key pair is generated here, at test time
//! (no private key is committed), with the `openssl` CLI the TLS tests use too.

use std::sync::Arc;

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use secrecy::SecretString;

use super::*;
use crate::clock::{Clock, ManualClock};

/// A fresh 2048-bit RSA key as PKCS#8 PEM.
pub(crate) fn generate_pem() -> String {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("the openssl CLI generates the test key");
    assert!(out.status.success(), "openssl genpkey failed");
    String::from_utf8(out.stdout).unwrap()
}

fn account(pem: &str) -> ServiceAccount {
    ServiceAccount {
        client_email: "gateway@proj.iam.gserviceaccount.com".into(),
        private_key: SecretString::from(pem.to_owned()),
        token_uri: "https://oauth2.googleapis.com/token".parse().unwrap(),
    }
}

#[test]
fn the_assertion_is_an_rs256_jwt_for_the_token_uri_that_the_public_key_verifies() {
    let pem = generate_pem();
    let auth = ServiceAccountAuth::new(&account(&pem), Arc::new(ManualClock::new())).unwrap();
    let jwt = auth.assertion(1_700_000_000).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "gateway@proj.iam.gserviceaccount.com");
    assert_eq!(claims["scope"], SCOPE);
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(claims["iat"], 1_700_000_000);
    assert_eq!(claims["exp"], 1_700_003_600);
    let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, auth.key.public().as_ref());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    assert!(public.verify(signed.as_bytes(), &signature).is_ok());
    assert!(public.verify(b"tampered", &signature).is_err());
}

#[test]
fn the_key_never_shows_in_debug_and_a_bad_key_fails_at_start_up() {
    let pem = generate_pem();
    let auth = ServiceAccountAuth::new(&account(&pem), Arc::new(ManualClock::new())).unwrap();
    let debug = format!("{auth:?} {:?}", account(&pem));
    let body_line = pem.lines().nth(1).unwrap();
    assert!(!debug.contains(body_line), "{debug}");
    assert!(debug.contains("gateway@proj"));
    let bad = ServiceAccountAuth::new(
        &account("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Arc::new(ManualClock::new()),
    );
    assert!(matches!(bad, Err(EngineError::Internal(_))));
}

#[test]
fn a_cached_token_is_used_until_its_refresh_time_on_the_injected_clock() {
    let pem = generate_pem();
    let clock = Arc::new(ManualClock::new());
    let auth = ServiceAccountAuth::new(&account(&pem), clock.clone()).unwrap();
    assert!(auth.fresh().is_none());
    let mut header = HeaderValue::from_static("Bearer ya29.test");
    header.set_sensitive(true);
    *auth.cached.lock().unwrap() = Some(Cached {
        header,
        refresh_at: clock.now() + fresh_for(3600),
    });
    clock.advance(Duration::from_secs(3539));
    assert_eq!(auth.fresh().unwrap(), "Bearer ya29.test");
    clock.advance(Duration::from_secs(1));
    assert!(auth.fresh().is_none());
}

#[test]
fn tokens_refresh_a_minute_early_or_at_half_a_short_lifetime() {
    assert_eq!(fresh_for(3600), 3540 * 1_000_000_000);
    assert_eq!(fresh_for(2), 1_000_000_000);
    assert_eq!(fresh_for(0), 0);
}
