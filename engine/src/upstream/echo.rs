//! The credential-echo guard: a provider answer that carries the provider's own credential
//! never reaches the client.
//!
//! Error bodies are scrubbed elsewhere ([`super::scrub`]); this guard covers the *successful*
//! answers — JSON bodies of every kind and every stream chunk of every dialect — which are
//! otherwise passed on or translated as they are. A provider (or an OpenAI-compatible server
//! in front of one) that reflects its request headers, or a model that was somehow handed the
//! key, must not turn the gateway into the thing that leaks it.
//!
//! For each provider, one Aho-Corasick automaton is built at start-up over every 8-byte
//! window of the *secret* part of each credential it holds:
//!
//! - API keys (OpenAI, Anthropic, Gemini, Azure, OpenAI-compatible vendors): the key without
//!   its vendor prefix (`sk-`, `sk-proj-`, `sk-ant-api03-`, `AIza`, …). The prefix is the
//!   same for every customer; text that merely mentions `sk-proj-` is not an echo.
//! - An Azure Entra ID token (a JWT): its payload and signature, not the `eyJ…` header that
//!   every such token shares.
//! - AWS (Bedrock): the secret access key and the session token. The access key id is an
//!   identifier, not a secret, and is not guarded.
//! - Vertex AI: the service account's private key material (the PEM's base64 body), without
//!   its first line and the public exponent — DER structure every PKCS#8 RSA key shares.
//!
//! The search looks up only the 4-byte pieces of a text that start at multiples of 4 in a
//! one-bit hash set of the patterns' pieces (every 8-byte occurrence covers one), and runs the
//! automaton only around a hit: most text is passed over at a few bytes per nanosecond
//! (docs/BENCHMARKS.md).
//!
//! A window made only of lowercase letters and `-_.` is dropped (a placeholder credential
//! such as `not-needed` is made of words, not secrets), and a window holding `/` is guarded
//! in its JSON-escaped form (`\/`) too. A match anywhere fails the attempt: JSON answers
//! before translation, streams chunk by chunk with the previous chunk's last bytes carried
//! over, so a window split across two reads is still seen.
//!
//! Known limit: the guard sees bytes as the provider sent them. A credential spelled with
//! JSON `\u` escapes, or split over several stream events (token by token), is not one
//! contiguous window and is not caught.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use secrecy::ExposeSecret;

use crate::spec::ProviderSpec;

/// Bytes in one guarded window of a secret.
const WINDOW: usize = 8;
/// Longest guarded pattern: a window whose every byte is `/`, each written as `\/`.
const MAX_PATTERN: usize = 2 * WINDOW;

/// Vendor prefixes that every key of that vendor starts with, longest first among those
/// sharing a start. Not secret, so never guarded.
const KEY_PREFIXES: &[&str] = &[
    "sk-ant-api03-",
    "sk-ant-admin01-",
    "sk-ant-",
    "sk-proj-",
    "sk-svcacct-",
    "sk-admin-",
    "sk-or-v1-",
    "sk-",
    "sk_",
    "AIza",
    "gsk_",
    "xai-",
    "pplx-",
    "nvapi-",
    "csk-",
    "hf_",
    "fw_",
    "r8_",
];

/// The base64 of `INTEGER 65537` followed by the next field's header, as it appears in every
/// 2048-bit PKCS#8 RSA key: public, so windows over it are not guarded.
const RSA_PUBLIC_RUNS: &[&str] = &["AgMBAAECggE"];

/// One credential a provider holds, by kind: each kind has its own non-secret parts.
/// `Debug` names the kind only.
#[derive(Clone, Copy)]
pub enum Secret<'a> {
    /// An API key, possibly starting with a vendor prefix.
    ApiKey(&'a str),
    /// A JWT bearer token (Azure Entra ID): `header.payload.signature`.
    Jwt(&'a str),
    /// An opaque secret with no public part (AWS secret access key, session token).
    Opaque(&'a str),
    /// A PEM private key (Vertex AI service account).
    PrivateKeyPem(&'a str),
}

impl std::fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::ApiKey(_) => "Secret::ApiKey",
            Secret::Jwt(_) => "Secret::Jwt",
            Secret::Opaque(_) => "Secret::Opaque",
            Secret::PrivateKeyPem(_) => "Secret::PrivateKeyPem",
        })
    }
}

/// Finds any 8-byte piece of a provider's secrets in its answers. Cheap to clone (the
/// automaton is shared). `Debug` says only how many patterns it holds: the automaton's own
/// would print pieces of the secrets.
#[derive(Clone, Default)]
pub struct EchoGuard {
    inner: Option<Arc<Guarded>>,
}

/// What an armed guard searches with.
struct Guarded {
    /// Every pattern: the authority on a match.
    matcher: AhoCorasick,
    /// Every 4-byte piece of every pattern, so most of a text is passed over 4 bytes at a
    /// time and only the neighbourhood of a hit is handed to `matcher`.
    grams: GramFilter,
    /// The longest pattern, in bytes.
    longest: usize,
}

impl std::fmt::Debug for EchoGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoGuard")
            .field(
                "patterns",
                &self.inner.as_ref().map_or(0, |g| g.matcher.patterns_len()),
            )
            .finish()
    }
}

/// The tail of the previous stream chunk, so a window split across reads is found. `Debug`
/// shows its length only: it may hold the start of a secret.
#[derive(Clone, Copy, Default)]
pub struct Carry {
    buf: [u8; MAX_PATTERN],
    len: usize,
}

impl std::fmt::Debug for Carry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carry").field("len", &self.len).finish()
    }
}

impl EchoGuard {
    /// The guard over every secret `spec` holds (none for a provider without credentials).
    pub fn for_provider(spec: &ProviderSpec) -> Self {
        let mut secrets = Vec::new();
        if let Some(key) = &spec.credential {
            secrets.push(Secret::ApiKey(key.expose_secret()));
        }
        if let Some(token) = &spec.azure.entra_token {
            secrets.push(Secret::Jwt(token.expose_secret()));
        }
        if let Some(b) = &spec.bedrock {
            secrets.push(Secret::Opaque(b.secret_access_key.expose_secret()));
            if let Some(token) = &b.session_token {
                secrets.push(Secret::Opaque(token.expose_secret()));
            }
        }
        if let Some(v) = &spec.vertex {
            secrets.push(Secret::PrivateKeyPem(
                v.service_account.private_key.expose_secret(),
            ));
        }
        Self::new(&secrets)
    }

    /// The guard over `secrets`; disarmed when none has a guardable window.
    pub fn new(secrets: &[Secret<'_>]) -> Self {
        let mut patterns: Vec<Vec<u8>> = secrets.iter().flat_map(|s| patterns(*s)).collect();
        patterns.sort_unstable();
        patterns.dedup();
        if patterns.is_empty() {
            return Self::default();
        }
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(WINDOW);
        // A DFA is the fastest to search and is built once per provider; should it be
        // refused, the default choice still works. The gram filter does a prefilter's work.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .prefilter(false)
            .build(&patterns)
            .or_else(|_| AhoCorasick::new(&patterns));
        match matcher {
            Ok(matcher) => Self {
                inner: Some(Arc::new(Guarded {
                    matcher,
                    grams: GramFilter::new(&patterns),
                    longest,
                })),
            },
            Err(_) => {
                // Patterns are at most 16 bytes and a few thousand at most: a build failure
                // means a bug, and an unguarded provider must be seen.
                tracing::error!("could not build the credential-echo guard");
                Self::default()
            }
        }
    }

    /// Whether any window is guarded.
    pub fn is_armed(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether `body` (a whole answer) holds a guarded window.
    pub fn finds(&self, body: &[u8]) -> bool {
        self.inner.as_ref().is_some_and(|g| g.finds(body))
    }

    /// Whether `chunk`, read after the chunks that left `carry`, completes a guarded window;
    /// updates `carry` for the next chunk.
    pub fn finds_in_chunk(&self, carry: &mut Carry, chunk: &[u8]) -> bool {
        let Some(guarded) = &self.inner else {
            return false;
        };
        let keep = guarded.longest - 1;
        if carry.len > 0 {
            // Only a window that starts in the carry is new here: it ends within `keep`
            // bytes of the chunk.
            let head = &chunk[..chunk.len().min(keep)];
            let mut joint = [0u8; 2 * MAX_PATTERN];
            let (old, new) = joint.split_at_mut(carry.len);
            old.copy_from_slice(&carry.buf[..carry.len]);
            new[..head.len()].copy_from_slice(head);
            if guarded.matcher.is_match(&joint[..carry.len + head.len()]) {
                return true;
            }
        }
        if guarded.finds(chunk) {
            return true;
        }
        // The last `keep` bytes of carry + chunk.
        if chunk.len() >= keep {
            carry.buf[..keep].copy_from_slice(&chunk[chunk.len() - keep..]);
            carry.len = keep;
        } else {
            let from_old = (keep - chunk.len()).min(carry.len);
            carry.buf.copy_within(carry.len - from_old..carry.len, 0);
            carry.buf[from_old..from_old + chunk.len()].copy_from_slice(chunk);
            carry.len = from_old + chunk.len();
        }
        false
    }
}

impl Guarded {
    /// Whether `text` holds a pattern. Every pattern is at least 8 bytes, so an occurrence
    /// covers a whole 4-byte piece starting at a multiple of 4: only the pieces at those
    /// offsets are looked up, and `matcher` runs only around a piece some pattern holds.
    fn finds(&self, text: &[u8]) -> bool {
        if text.len() < 4 * self.longest {
            return self.matcher.is_match(text);
        }
        text.chunks_exact(4).enumerate().any(|(i, piece)| {
            let gram = u32::from_le_bytes([piece[0], piece[1], piece[2], piece[3]]);
            if !self.grams.may_hold(gram) {
                return false;
            }
            // An occurrence holding bytes at..at+4 lies within at+4-longest..at+longest.
            let at = 4 * i;
            let start = (at + 4).saturating_sub(self.longest);
            let end = (at + self.longest).min(text.len());
            self.matcher.is_match(&text[start..end])
        })
    }
}

/// A one-bit-per-slot hash set of 4-byte pieces: no false negatives, few false positives
/// (sized at 64 slots per piece or more).
struct GramFilter {
    bits: Box<[u64]>,
    shift: u32,
}

impl GramFilter {
    fn new(patterns: &[Vec<u8>]) -> Self {
        let grams: Vec<u32> = patterns
            .iter()
            .flat_map(|p| p.windows(4))
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        // 2^12 to 2^22 slots (512 B to 512 KiB).
        let slots_log2 = (grams.len().max(1) * 64)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(12, 22);
        let mut filter = Self {
            bits: vec![0u64; 1 << (slots_log2 - 6)].into_boxed_slice(),
            shift: 32 - slots_log2,
        };
        for gram in grams {
            let slot = filter.slot(gram);
            if let Some(word) = filter.bits.get_mut(slot >> 6) {
                *word |= 1 << (slot & 63);
            }
        }
        filter
    }

    fn slot(&self, gram: u32) -> usize {
        (gram.wrapping_mul(0x9E37_79B1) >> self.shift) as usize
    }

    fn may_hold(&self, gram: u32) -> bool {
        let slot = self.slot(gram);
        self.bits
            .get(slot >> 6)
            .is_some_and(|word| word >> (slot & 63) & 1 == 1)
    }
}

/// The byte patterns guarding one secret: its secret part's windows, each also JSON-escaped
/// where it holds `/`.
fn patterns(secret: Secret<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for part in secret_parts(secret) {
        for window in part.windows(WINDOW).filter(|w| is_guardable(w)) {
            out.push(window.to_vec());
            if window.contains(&b'/') {
                out.push(escape_solidus(window));
            }
        }
    }
    out
}

/// The parts of a secret that are secret, each searched as a whole (windows do not span
/// two parts).
fn secret_parts(secret: Secret<'_>) -> Vec<Vec<u8>> {
    match secret {
        Secret::ApiKey(key) => {
            let key = key.trim();
            let rest = KEY_PREFIXES
                .iter()
                .find_map(|p| key.strip_prefix(p))
                .unwrap_or(key);
            // A key that is little more than its prefix is guarded whole.
            let part = if rest.len() >= WINDOW { rest } else { key };
            vec![part.as_bytes().to_vec()]
        }
        Secret::Jwt(token) => {
            let token = token.trim();
            let rest = token.split_once('.').map_or(token, |(_, rest)| rest);
            vec![rest.as_bytes().to_vec()]
        }
        Secret::Opaque(secret) => vec![secret.trim().as_bytes().to_vec()],
        Secret::PrivateKeyPem(pem) => pem_body_parts(pem),
    }
}

/// The base64 body of a PEM key without its first line (the algorithm's DER header, the same
/// in every key of its kind), cut around the public exponent's encoding.
fn pem_body_parts(pem: &str) -> Vec<Vec<u8>> {
    let lines: Vec<&str> = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    let body: String = lines.iter().skip(1).copied().collect();
    let mut parts = vec![body];
    for run in RSA_PUBLIC_RUNS {
        parts = parts
            .iter()
            .flat_map(|p| p.split(run).map(str::to_owned).collect::<Vec<_>>())
            .collect();
    }
    parts.into_iter().map(String::into_bytes).collect()
}

/// Whether a window could only come from the secret: it has a digit, an uppercase letter or
/// a symbol, not only lowercase letters and `-_.`.
fn is_guardable(window: &[u8]) -> bool {
    window
        .iter()
        .any(|b| !(b.is_ascii_lowercase() || matches!(b, b'-' | b'_' | b'.')))
}

/// `window` as a JSON string may carry it with `/` escaped.
fn escape_solidus(window: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(window.len() * 2);
    for &b in window {
        if b == b'/' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: &str = "sk-proj-Q7vX2mLp9TzR4wKc8NbY1sFd6HgJ3eUa5oPi0rWt";
    const ANTHROPIC: &str = "sk-ant-api03-Zk4Jq9Vw2Xe7Rb1Ty6Un3Mc8Ld5Pf0Gh-AbCdEfGh_IjKlAA";
    const GEMINI: &str = "AIzaSyD4f8Kq2Lx9Vn3Tz7Bw1Rm6Yc5Hp0Js2Ge";
    const AZURE: &str = "3f9a1c7e5b2d48f0a6c1e9b7d3f5a2c8";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

    fn guard(secret: Secret<'_>) -> EchoGuard {
        EchoGuard::new(&[secret])
    }

    fn answer(text: &str) -> Vec<u8> {
        serde_json::json!({"choices": [{"message": {"content": text}}]})
            .to_string()
            .into_bytes()
    }

    /// A JWT-shaped token; the header is the one every RS256 JWT starts with.
    fn jwt() -> String {
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzIiwib2lkIjoiOWQ3ZiJ9.Xk3Qz8Lw2Vb7Nc4Rt1Yp6Hs9Jd0Fg5Ma".to_owned()
    }

    /// A PEM-shaped private key: a PKCS#8 RSA header line, random-looking lines, the public
    /// exponent's run, more random lines.
    fn pem() -> String {
        [
            "-----BEGIN PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQ7xK2m9Lp4Vw1",
            "Zr8Tq3Yb6Nc0Hs5Jd7Fg2Ma9Xk4Pl1Rw8Ve3Ut6Oy0Ib5Cn2Dm7Ej4Fh9Gk1Ls3",
            "Mw8Nx5Pz0Qa2Rb7Sc4Td9Ue1Vf6Wg3Xh8Yi5Zj0AgMBAAECggEAB4Ck2Dl7Em1Fn6",
            "Go3Hp8Iq5Jr0Ks4Lt9Mu2Nv7Ow1Px6Qy3Rz8Sa5Tb0Uc4Vd9We2Xf7Yg1Zh6Ai3",
            "-----END PRIVATE KEY-----",
        ]
        .join("\n")
    }

    #[test]
    fn each_credential_kind_is_found_when_echoed_whole_or_in_part() {
        let jwt = jwt();
        let pem = pem();
        let cases: [(Secret<'_>, &str); 7] = [
            (Secret::ApiKey(OPENAI), OPENAI),
            (Secret::ApiKey(ANTHROPIC), ANTHROPIC),
            (Secret::ApiKey(GEMINI), GEMINI),
            (Secret::ApiKey(AZURE), AZURE),
            (Secret::Jwt(&jwt), &jwt),
            (Secret::Opaque(AWS_SECRET), AWS_SECRET),
            (
                Secret::PrivateKeyPem(&pem),
                "Go3Hp8Iq5Jr0Ks4Lt9Mu2Nv7Ow1Px6Qy3",
            ),
        ];
        for (secret, text) in cases {
            let g = guard(secret);
            assert!(g.is_armed());
            assert!(g.finds(&answer(text)), "whole: {text}");
            // Any 8-byte piece of the secret part, alone in ordinary text.
            let tail = &text[text.len() - WINDOW..];
            assert!(
                g.finds(&answer(&format!("see {tail} here"))),
                "piece: {tail}"
            );
        }
        // The PEM's base64 as a JSON string, newlines escaped, is found line by line.
        let g = guard(Secret::PrivateKeyPem(&pem));
        assert!(g.finds(&answer(&pem)));
    }

    #[test]
    fn a_window_holding_a_solidus_is_found_json_escaped_too() {
        let g = guard(Secret::Opaque(AWS_SECRET));
        let escaped = br#"{"content":"wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY"}"#;
        assert!(g.finds(escaped));
        assert!(g.finds(br#""MI\/K7MDE""#));
        assert!(
            !g.finds(br#""I\/K7MDE""#),
            "seven characters are not a window"
        );
    }

    #[test]
    fn the_vendor_prefix_and_public_parts_alone_are_not_refused() {
        let prefixes = "Keys look like sk-proj-…, sk-ant-api03-… or AIza…; set OPENAI_API_KEY=sk-";
        for key in [OPENAI, ANTHROPIC, GEMINI] {
            assert!(
                !guard(Secret::ApiKey(key)).finds(&answer(prefixes)),
                "{key}"
            );
        }
        // Every JWT starts with the same header.
        let g = guard(Secret::Jwt(&jwt()));
        assert!(!g.finds(&answer("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig")));
        // Any PKCS#8 RSA key has the same first line and public exponent.
        let g = guard(Secret::PrivateKeyPem(&pem()));
        assert!(!g.finds(&answer(
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC … AgMBAAECggEA"
        )));
        // The access key id is an identifier, not a secret: not guarded.
        let g = guard(Secret::Opaque(AWS_SECRET));
        assert!(!g.finds(&answer(AWS_KEY_ID)));
        // Ordinary text never matches.
        assert!(!guard(Secret::ApiKey(OPENAI)).finds(&answer("The sky is blue because…")));
    }

    #[test]
    fn a_provider_spec_guards_each_secret_it_holds_and_no_identifier() {
        use crate::provider::Vendor;
        use crate::spec::{AzureSpec, BedrockSpec, ServiceAccount, VertexSpec};
        use secrecy::SecretString;
        let secret = |s: &str| SecretString::from(s.to_owned());
        let url: url::Url = "https://example.test/v1".parse().unwrap();
        let session = "IQoJb3JpZ2luX2VjEJr8Tq3Yb6Nc0Hs5Jd7Fg2Ma9Xk4Pl1Rw8Ve3Ut6Oy0Ib5Cn2Dm7";
        let bedrock = ProviderSpec::new("b", Vendor::Bedrock, url.clone()).bedrock(BedrockSpec {
            region: "us-east-1".to_owned(),
            access_key_id: secret(AWS_KEY_ID),
            secret_access_key: secret(AWS_SECRET),
            session_token: Some(secret(session)),
        });
        let g = EchoGuard::for_provider(&bedrock);
        assert!(g.finds(&answer(AWS_SECRET)));
        assert!(g.finds(&answer(&session[30..40])));
        assert!(!g.finds(&answer(&format!("{AWS_KEY_ID} us-east-1"))));
        let pem = pem();
        let vertex = ProviderSpec::new("v", Vendor::VertexAi, url.clone()).vertex(VertexSpec {
            project: "p".to_owned(),
            region: "us-central1".to_owned(),
            service_account: ServiceAccount {
                client_email: "gw@p.iam.gserviceaccount.com".to_owned(),
                private_key: secret(&pem),
                token_uri: url.clone(),
            },
        });
        let g = EchoGuard::for_provider(&vertex);
        assert!(g.finds(&answer(&pem)));
        assert!(!g.finds(&answer("gw@p.iam.gserviceaccount.com")));
        let jwt = jwt();
        let azure = ProviderSpec::new("a", Vendor::Azure, url.clone()).azure(AzureSpec {
            entra_token: Some(secret(&jwt)),
            ..AzureSpec::default()
        });
        assert!(EchoGuard::for_provider(&azure).finds(&answer(&jwt)));
        let keyed = ProviderSpec::new("k", Vendor::Azure, url.clone()).credential(AZURE);
        assert!(EchoGuard::for_provider(&keyed).finds(&answer(AZURE)));
        assert!(!EchoGuard::for_provider(&ProviderSpec::new("n", Vendor::Openai, url)).is_armed());
    }

    #[test]
    fn debug_output_shows_no_piece_of_the_secret() {
        let shown = format!("{:?}", guard(Secret::ApiKey(OPENAI)));
        assert!(shown.starts_with("EchoGuard"), "{shown}");
        assert!(!shown.contains(&OPENAI[8..16]), "{shown}");
    }

    #[test]
    fn placeholder_and_short_credentials_guard_nothing_or_themselves() {
        assert!(!guard(Secret::ApiKey("not-needed")).is_armed());
        assert!(!guard(Secret::ApiKey("sk-1234")).is_armed());
        assert!(!guard(Secret::ApiKey("")).is_armed());
        // Little more than a prefix: the whole key is the pattern.
        let g = guard(Secret::ApiKey("sk-12345"));
        assert!(g.finds(b"key sk-12345 here"));
        assert!(!g.finds(b"key 12345 here"));
        assert!(!EchoGuard::default().finds(OPENAI.as_bytes()));
    }

    #[test]
    fn a_window_split_across_chunks_is_caught_at_every_offset() {
        let g = guard(Secret::ApiKey(OPENAI));
        let body = answer(&format!("here it is: {OPENAI} done"));
        let piece = &OPENAI[20..28];
        let at = body
            .windows(WINDOW)
            .position(|w| w == piece.as_bytes())
            .unwrap();
        // Only the one window is echoed, split at every offset and in three reads.
        let text = answer(&format!("…{piece}…"));
        for cut in 1..text.len() {
            let mut carry = Carry::default();
            let (a, b) = text.split_at(cut);
            let found = g.finds_in_chunk(&mut carry, a) || g.finds_in_chunk(&mut carry, b);
            assert!(found, "split at {cut}");
        }
        for cut in at..at + WINDOW {
            let mut carry = Carry::default();
            let hits = [&body[..cut], &body[cut..cut + 1], &body[cut + 1..]]
                .iter()
                .any(|c| g.finds_in_chunk(&mut carry, c));
            assert!(hits, "three reads around {cut}");
        }
        // One byte at a time.
        let mut carry = Carry::default();
        assert!(text.iter().any(|b| g.finds_in_chunk(&mut carry, &[*b])));
    }

    #[test]
    fn the_gram_filter_never_hides_a_match_the_automaton_finds() {
        let pem = pem();
        let guards = [
            guard(Secret::ApiKey(OPENAI)),
            guard(Secret::Opaque(AWS_SECRET)),
            guard(Secret::PrivateKeyPem(&pem)),
        ];
        let pieces: Vec<&str> = [OPENAI, AWS_SECRET, &pem[100..160]]
            .iter()
            .flat_map(|s| [&s[s.len() - 12..], &s[s.len() - 9..], &s[s.len() - 8..]])
            .chain([r"wJalrXUtnFEMI\/K7MDENG", r"MI\/K7MDE"])
            .collect();
        let filler = answer("The sky is blue because air scatters short waves of sunlight.");
        let mut rng = fastrand::Rng::with_seed(7);
        let mut found = 0;
        for g in &guards {
            let inner = g.inner.as_ref().unwrap();
            for round in 0..400 {
                let mut text = filler.repeat(1 + round % 3);
                let piece = pieces[rng.usize(..pieces.len())].as_bytes();
                let cut = rng.usize(0..piece.len());
                // Whole, or a piece short of a window (a near miss).
                let piece = if round % 4 == 0 { &piece[..cut] } else { piece };
                let at = rng.usize(0..=text.len());
                text.splice(at..at, piece.iter().copied());
                let expected = inner.matcher.is_match(&text);
                assert_eq!(inner.finds(&text), expected, "round {round} at {at}");
                found += usize::from(expected);
            }
        }
        assert!(found > 150, "too few texts held a pattern: {found}");
    }

    #[test]
    fn a_clean_stream_passes_whatever_its_chunking() {
        let g = guard(Secret::ApiKey(OPENAI));
        let text = answer("sk-proj- is only a prefix, and Q7vX2mL is seven bytes");
        for size in [1, 3, 7, 8, 64] {
            let mut carry = Carry::default();
            assert!(
                !text.chunks(size).any(|c| g.finds_in_chunk(&mut carry, c)),
                "chunks of {size}"
            );
        }
    }
}
