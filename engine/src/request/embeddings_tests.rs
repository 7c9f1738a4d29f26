use super::*;
use crate::request::OVERRIDE_FIELDS;

fn parse(body: &str) -> Result<EmbeddingsRequest, RequestError> {
    EmbeddingsRequest::parse(body.as_bytes(), 64)
}

fn input_error(body: &str) -> bool {
    matches!(
        parse(body),
        Err(RequestError::InvalidField { field: "input", .. })
    )
}

#[test]
fn reads_every_input_shape() {
    let one = parse(r#"{"model":"e","input":"hello"}"#).unwrap();
    assert_eq!(one.input(), &EmbeddingInput::Texts(vec!["hello".into()]));
    assert_eq!(one.encoding(), EncodingFormat::Float);
    let many = parse(r#"{"model":"e","input":["a","b"]}"#).unwrap();
    assert_eq!(many.texts().unwrap(), ["a".to_owned(), "b".to_owned()]);
    let ids = parse(r#"{"model":"e","input":[1,2,3]}"#).unwrap();
    assert_eq!(ids.input(), &EmbeddingInput::Tokens(vec![vec![1, 2, 3]]));
    assert!(ids.texts().is_none());
    let arrays = parse(r#"{"model":"e","input":[[1],[2,3]]}"#).unwrap();
    assert_eq!(arrays.input().len(), 2);
}

#[test]
fn refuses_empty_and_mixed_inputs() {
    assert_eq!(
        parse(r#"{"model":"e"}"#).unwrap_err(),
        RequestError::MissingField("input")
    );
    for body in [
        r#"{"model":"e","input":""}"#,
        r#"{"model":"e","input":[]}"#,
        r#"{"model":"e","input":[""]}"#,
        r#"{"model":"e","input":[[]]}"#,
        r#"{"model":"e","input":["a",1]}"#,
        r#"{"model":"e","input":[1,"a"]}"#,
        r#"{"model":"e","input":[[1],2]}"#,
        r#"{"model":"e","input":[-1]}"#,
        r#"{"model":"e","input":[1.5]}"#,
        r#"{"model":"e","input":[4294967296]}"#,
        r#"{"model":"e","input":{"text":"a"}}"#,
        r#"{"model":"e","input":7}"#,
        r#"{"model":"e","input":[{"a":1}]}"#,
    ] {
        assert!(input_error(body), "{body}");
    }
}

#[test]
fn caps_the_item_count_and_total_size() {
    let items = |n: usize| vec!["\"x\""; n].join(",");
    assert!(parse(&format!(r#"{{"model":"e","input":[{}]}}"#, items(2048))).is_ok());
    assert!(input_error(&format!(
        r#"{{"model":"e","input":[{}]}}"#,
        items(2049)
    )));
    let big = "y".repeat(MAX_EMBEDDING_TEXT_BYTES / 2 + 1);
    assert!(input_error(&format!(
        r#"{{"model":"e","input":["{big}","{big}"]}}"#
    )));
    let ids = vec!["1"; MAX_EMBEDDING_TOKEN_IDS / 2 + 1].join(",");
    assert!(input_error(&format!(
        r#"{{"model":"e","input":[[{ids}],[{ids}]]}}"#
    )));
}

#[test]
fn reads_encoding_dimensions_and_user() {
    let req = parse(
        r#"{"model":"e","input":"a","encoding_format":"base64","dimensions":256,"user":"u-1"}"#,
    )
    .unwrap();
    assert_eq!(req.encoding(), EncodingFormat::Base64);
    assert_eq!(req.dimensions(), Some(256));
    assert_eq!(req.user(), Some("u-1"));
    for (body, field) in [
        (
            r#"{"model":"e","input":"a","encoding_format":"int8"}"#,
            "encoding_format",
        ),
        (
            r#"{"model":"e","input":"a","encoding_format":1}"#,
            "encoding_format",
        ),
        (r#"{"model":"e","input":"a","dimensions":0}"#, "dimensions"),
        (r#"{"model":"e","input":"a","dimensions":-3}"#, "dimensions"),
        (
            r#"{"model":"e","input":"a","dimensions":"8"}"#,
            "dimensions",
        ),
        (r#"{"model":"e","input":"a","user":5}"#, "user"),
    ] {
        assert!(
            matches!(parse(body), Err(RequestError::InvalidField { field: f, .. }) if f == field),
            "{body}"
        );
    }
}

#[test]
fn refuses_override_fields_like_chat() {
    for field in OVERRIDE_FIELDS {
        let body = format!(
            r#"{{"model":"e","input":"a","{}":"http://evil"}}"#,
            field.to_uppercase()
        );
        assert!(
            matches!(parse(&body), Err(RequestError::OverrideField(_))),
            "{field}"
        );
    }
}

#[test]
fn parses_strictly() {
    assert!(matches!(
        parse(r#"{"model":"e","input":"a","input":"b"}"#),
        Err(RequestError::DuplicateKey(_))
    ));
    let deep = format!(
        r#"{{"model":"e","input":"a","x":{}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(matches!(parse(&deep), Err(RequestError::TooDeep(_))));
    assert_eq!(parse("[1]").unwrap_err(), RequestError::NotAnObject);
    assert!(matches!(
        parse(r#"{"model":"","input":"a"}"#),
        Err(RequestError::InvalidModelName(_))
    ));
    assert!(matches!(
        parse(r#"{"model":"https://attacker/v1","input":"a"}"#),
        Err(RequestError::InvalidModelName(_))
    ));
    assert_eq!(
        parse(r#"{"input":"a"}"#).unwrap_err(),
        RequestError::MissingField("model")
    );
}

#[test]
fn keeps_unknown_fields_for_the_upstream() {
    let req = parse(r#"{"model":"e","input":"a","new_param":{"k":1}}"#).unwrap();
    assert_eq!(req.body()["new_param"]["k"], 1);
}
