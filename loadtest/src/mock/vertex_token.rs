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

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use ring::rand::SystemRandom;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

    use super::*;

    const AUD: &str = "http://127.0.0.1:1/token";

    /// A key generated now with the `openssl` CLI (no key is committed).
    fn generate_key() -> RsaKeyPair {
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
        assert!(out.status.success());
        let pem = String::from_utf8(out.stdout).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap()
    }

    fn form(key: &RsaKeyPair, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}")
    }

    fn claims(aud: &str, lifetime: u64) -> Value {
        json!({"iss": "sa@p.iam.gserviceaccount.com", "scope": SCOPE, "aud": aud,
               "iat": 1_700_000_000u64, "exp": 1_700_000_000 + lifetime})
    }

    #[test]
    fn grants_only_a_well_signed_short_lived_jwt_for_its_audience_and_scope() {
        let key = generate_key();
        let mut issuer = Issuer::new(key.public().as_ref().to_vec(), Duration::from_secs(60));
        let (status, body) = issuer.grant(AUD, form(&key, &claims(AUD, 3600)).as_bytes());
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["expires_in"], 60);
        assert_eq!(v["token_type"], "Bearer");
        let header = format!("Bearer {}", v["access_token"].as_str().unwrap());
        assert!(issuer.accepts(Some(header.as_bytes())));
        assert!(!issuer.accepts(Some(b"Bearer ya29.other")));
        assert!(!issuer.accepts(None));

        let refused = [
            form(&key, &claims("http://elsewhere/token", 3600)),
            form(&key, &claims(AUD, 7200)),
            form(
                &key,
                &json!({"iss": "x", "scope": "other", "aud": AUD, "iat": 1, "exp": 2}),
            ),
            form(&key, &claims(AUD, 3600)).replace("jwt-bearer", "client-credentials"),
            form(&key, &claims(AUD, 3600)).replacen("assertion=ey", "assertion=ex", 1),
        ];
        for f in refused {
            let (status, body) = issuer.grant(AUD, f.as_bytes());
            assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
        }
        let other = generate_key();
        let (status, body) = issuer.grant(AUD, form(&other, &claims(AUD, 3600)).as_bytes());
        assert_eq!(status, 400);
        assert!(String::from_utf8_lossy(&body).contains("Invalid JWT Signature."));
        assert_eq!(issuer.minted(), 1);
    }

    #[test]
    fn an_expired_token_is_no_longer_accepted() {
        let key = generate_key();
        let mut issuer = Issuer::new(key.public().as_ref().to_vec(), Duration::ZERO);
        let (status, body) = issuer.grant(AUD, form(&key, &claims(AUD, 3600)).as_bytes());
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        let header = format!("Bearer {}", v["access_token"].as_str().unwrap());
        assert!(!issuer.accepts(Some(header.as_bytes())));
    }
}
