//! SigV4 against AWS's published test-suite vectors (`aws-sig-v4-test-suite`: credentials
//! AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service `service`), and the Bedrock step.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use secrecy::SecretString;
use url::Url;

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z.
const SUITE_TIME: u64 = 1_440_938_160;
const HOST: (&str, &str) = ("Host", "example.amazonaws.com");
const DATE: (&str, &str) = ("X-Amz-Date", "20150830T123600Z");

fn suite_scope() -> SignScope<'static> {
    SignScope {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: SECRET,
        region: "us-east-1",
        service: "service",
        time: SUITE_TIME,
    }
}

fn suite(method: &str, query: &str, headers: &[(&str, &str)], payload: &[u8]) -> Signed {
    let input = SignInput {
        method,
        path: "/",
        query,
        headers,
        payload,
    };
    sign(&input, &suite_scope())
}

#[test]
fn amz_date_formats_utc_seconds() {
    assert_eq!(amz_date(SUITE_TIME), "20150830T123600Z");
    assert_eq!(amz_date(0), "19700101T000000Z");
    assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    assert_eq!(amz_date(1_798_761_599), "20261231T235959Z");
}

#[test]
fn get_vanilla_matches_the_test_suite() {
    let signed = suite("GET", "", &[HOST, DATE], b"");
    assert_eq!(
        signed.canonical_request,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        signed.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
    assert_eq!(
        signed.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn post_vanilla_matches_the_test_suite() {
    let signed = suite("POST", "", &[HOST, DATE], b"");
    assert_eq!(
        signed.signature,
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
    );
}

#[test]
fn post_vanilla_query_matches_the_test_suite() {
    let signed = suite("POST", "Param1=value1", &[HOST, DATE], b"");
    assert_eq!(
        signed.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd"
    );
    assert_eq!(
        signed.signature,
        "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
    );
}

#[test]
fn post_x_www_form_urlencoded_matches_the_test_suite() {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        HOST,
        DATE,
    ];
    let signed = suite("POST", "", &headers, b"Param1=value1");
    assert_eq!(
        signed.canonical_request,
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
    );
    assert_eq!(
        signed.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"
    );
    assert_eq!(
        signed.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
    );
}

#[test]
fn header_names_are_lowercased_sorted_and_values_trimmed() {
    let a = suite(
        "POST",
        "",
        &[DATE, ("HOST", "  example.amazonaws.com ")],
        b"",
    );
    let b = suite("POST", "", &[HOST, DATE], b"");
    assert_eq!(a, b);
}

#[test]
fn a_model_id_colon_is_signed_double_encoded() {
    let input = SignInput {
        method: "POST",
        path: "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
        query: "",
        headers: &[HOST],
        payload: b"{}",
    };
    let signed = sign(&input, &suite_scope());
    assert!(
        signed
            .canonical_request
            .starts_with("POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n\n"),
        "{}",
        signed.canonical_request
    );
}

#[derive(Debug)]
struct Fixed(u64);

impl WallClock for Fixed {
    fn unix_seconds(&self) -> u64 {
        self.0
    }
}

fn credentials(token: Option<&str>) -> AwsCredentials {
    AwsCredentials {
        access_key_id: SecretString::from("AKIDEXAMPLE"),
        secret_access_key: SecretString::from(SECRET),
        session_token: token.map(SecretString::from),
    }
}

fn bedrock_request() -> UpstreamRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    UpstreamRequest {
        url: Url::parse(
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse",
        )
        .unwrap(),
        headers,
        body: br#"{"messages":[]}"#.to_vec(),
    }
}

#[test]
fn the_authorize_step_signs_with_the_injected_time_and_marks_secrets_sensitive() {
    let signer = SigV4::new(
        credentials(Some("session-token-canary")),
        "us-east-1",
        "bedrock",
        Arc::new(Fixed(SUITE_TIME)),
    );
    let mut request = bedrock_request();
    signer.sign_request(&mut request).unwrap();
    let h = &request.headers;
    assert_eq!(h["x-amz-date"], "20150830T123600Z");
    assert_eq!(h["x-amz-security-token"], "session-token-canary");
    assert!(h["x-amz-security-token"].is_sensitive());
    assert!(h["authorization"].is_sensitive());
    let auth = h["authorization"].to_str().unwrap();
    assert!(auth.starts_with(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
    ), "{auth}");
    // The same request signed by the pure function gives the same header.
    let expected = sign(
        &SignInput {
            method: "POST",
            path: "/model/amazon.nova-pro-v1%3A0/converse",
            query: "",
            headers: &[
                ("host", "bedrock-runtime.us-east-1.amazonaws.com"),
                ("content-type", "application/json"),
                ("x-amz-date", "20150830T123600Z"),
                ("x-amz-security-token", "session-token-canary"),
            ],
            payload: br#"{"messages":[]}"#,
        },
        &SignScope {
            service: "bedrock",
            ..suite_scope()
        },
    );
    assert_eq!(auth, expected.authorization);
    assert!(!format!("{signer:?}").contains(SECRET));
    assert!(!format!("{signer:?}").contains("session-token-canary"));
}

#[test]
fn without_a_session_token_no_token_header_is_sent_or_signed() {
    let signer = SigV4::new(
        credentials(None),
        "eu-west-3",
        "bedrock",
        Arc::new(Fixed(SUITE_TIME + 86_400)),
    );
    let mut request = bedrock_request();
    signer.sign_request(&mut request).unwrap();
    assert!(!request.headers.contains_key("x-amz-security-token"));
    let auth = request.headers["authorization"].to_str().unwrap();
    assert!(auth.contains(
        "/20150831/eu-west-3/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
    ));
}
