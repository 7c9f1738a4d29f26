use std::time::Duration;

use reqwest::header::HeaderValue;

use super::*;

fn with_type(kind: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        ERROR_TYPE_HEADER,
        HeaderValue::from_str(&format!(
            "{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        ))
        .unwrap(),
    );
    h
}

fn classify_as(status: u16, kind: &str, message: &str) -> UpstreamError {
    let body = serde_json::json!({ "message": message }).to_string();
    classify(
        StatusCode::from_u16(status).unwrap(),
        &with_type(kind),
        body.as_bytes(),
        &["AKIACANARY0000000000", "canary-secret/key+value"],
    )
}

#[test]
fn bedrock_exceptions_map_to_the_gateway_classes() {
    let mut h = with_type("ThrottlingException");
    h.insert("retry-after", HeaderValue::from_static("2"));
    assert_eq!(
        classify(StatusCode::TOO_MANY_REQUESTS, &h, b"{}", &[]),
        UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert_eq!(
        classify_as(503, "ServiceUnavailableException", ""),
        UpstreamError::Overloaded
    );
    let not_ready = classify_as(429, "ModelNotReadyException", "");
    assert!(not_ready.is_retryable());
    assert_eq!(
        classify_as(408, "ModelTimeoutException", ""),
        UpstreamError::Timeout
    );
    for kind in [
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
    ] {
        assert_eq!(
            classify_as(403, kind, "x"),
            UpstreamError::Unauthorized,
            "{kind}"
        );
    }
    assert_eq!(
        classify_as(500, "InternalServerException", ""),
        UpstreamError::Status(500)
    );
    assert_eq!(
        classify_as(424, "ModelErrorException", ""),
        UpstreamError::Status(424)
    );
    assert_eq!(
        classify_as(404, "ResourceNotFoundException", "Model not found"),
        UpstreamError::BadRequest {
            status: 404,
            message: "Model not found".into()
        }
    );
}

#[test]
fn validation_errors_are_bad_requests_or_context_window_exceeded() {
    assert_eq!(
        classify_as(400, "ValidationException", "temperature must be <= 1"),
        UpstreamError::BadRequest {
            status: 400,
            message: "temperature must be <= 1".into()
        }
    );
    assert!(matches!(
        classify_as(
            400,
            "ValidationException",
            "Input is too long for requested model."
        ),
        UpstreamError::ContextWindowExceeded { .. }
    ));
}

#[test]
fn the_type_is_read_from_the_body_when_no_header_names_it() {
    let body = br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#;
    assert_eq!(
        classify(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, &[]),
        UpstreamError::BadRequest {
            status: 400,
            message: "bad".into()
        }
    );
    assert!(matches!(
        classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"", &[]),
        UpstreamError::RateLimited { .. }
    ));
}

#[test]
fn messages_never_carry_the_credentials() {
    let e = classify_as(
        400,
        "ValidationException",
        "key AKIACANARY0000000000 with secret canary-secret/key+value is odd",
    );
    let UpstreamError::BadRequest { message, .. } = e else {
        panic!("{e:?}")
    };
    assert!(!message.contains("AKIACANARY"), "{message}");
    assert!(!message.contains("canary-secret"), "{message}");
}
