//! A hostile or broken upstream: endless SSE lines, invalid JSON and non-UTF-8 chunks,
//! `[DONE]` then a held connection, a gzip body, absurd usage, redirects to the attacker,
//! headers that must not reach the client, and answers that echo the credential: error
//! bodies, and successful JSON answers and streams (OpenAI, Anthropic, Gemini dialects).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use portcullis_loadtest::mock::{Behaviour, MockOptions};
use portcullis_storage::{GroupBy, SpendQuery, SpendRow};
use serde_json::{Value, json};

use crate::fake_upstream::{FakeUpstream, Then, gzip, json_200, reply, sse_head};
use crate::harness::{hello, sample, send_text};
use crate::support::{Suite, canaries, suite_yaml};

const CHUNK: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;

/// A suite whose OpenAI-compatible provider is `fake`, with `provider_extra` lines added to
/// that provider (e.g. `max_event_bytes`).
async fn suite_on(fake: &FakeUpstream, provider_extra: &str) -> Suite {
    let extra = format!("    api_key: env:P_OPENAI\n{provider_extra}");
    suite_edited(fake, |yaml| {
        yaml.replacen("    api_key: env:P_OPENAI\n", &extra, 1)
    })
    .await
}

/// A suite whose OpenAI-compatible provider is `fake`, its config changed by `edit`.
async fn suite_edited(fake: &FakeUpstream, edit: impl FnOnce(String) -> String) -> Suite {
    let url = fake.url();
    Suite::start_yaml(MockOptions::default(), move |_| edit(suite_yaml(&url, ""))).await
}

fn stream_body(model: &str) -> Value {
    let mut body = hello(model);
    body["stream"] = json!(true);
    body
}

/// Sends `body` with key B and returns status, headers (as text) and body, all kept in
/// `seen`; the whole exchange must finish within `within`.
async fn exchange(s: &mut Suite, body: &Value, within: Duration) -> (u16, String, String) {
    let key = canaries().key_b.clone();
    let request = s.h.chat(Some(&key), body);
    let run = async {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = format!("{:?}", response.headers()).to_ascii_lowercase();
        let text =
            String::from_utf8_lossy(&response.bytes().await.unwrap_or_default()).into_owned();
        (status, headers, text)
    };
    let (status, headers, text) = tokio::time::timeout(within, run)
        .await
        .expect("the exchange did not end in time");
    s.seen.push_str(&headers);
    s.seen.push_str(&text);
    (status, headers, text)
}

/// The spend rows per key, once at least `n` requests are recorded (the writer is async).
async fn spend_rows(s: &Suite, n: u64) -> Vec<SpendRow> {
    let query = SpendQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        group_by: GroupBy::Key,
        key: None,
        team: None,
    };
    let mut rows = Vec::new();
    for _ in 0..150 {
        rows = s.stores.spend.report(query.clone()).await.unwrap();
        if rows.iter().map(|r| r.requests).sum::<u64>() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rows
}

#[actix_web::test]
async fn an_endless_sse_line_ends_the_stream_with_an_error_and_reading_stops() {
    let head = format!("{}data: {{\"content\":\"", sse_head(""));
    let fake = FakeUpstream::start(vec![reply(head, Then::Endless(vec![b'a'; 64 * 1024]))]).await;
    let mut s = suite_on(&fake, "    max_event_bytes: 65536\n").await;
    let (status, _, body) =
        exchange(&mut s, &stream_body("gpt-test"), Duration::from_secs(10)).await;
    // Before any event arrived the gateway can still answer with a status; after, with a
    // final error event.
    assert!(status == 502 || status == 200, "{status}");
    assert!(body.contains("error"), "no terminal error: {body}");
    assert!(
        body.len() < 64 * 1024,
        "the endless line reached the client"
    );
    // The gateway stopped reading: the fake's writes stalled far below its 256 MiB cap.
    let written = fake.written.load(Ordering::SeqCst);
    assert!(written < 64 << 20, "{written} bytes were read");
    assert_eq!(
        spend_rows(&s, 1)
            .await
            .iter()
            .map(|r| r.requests)
            .sum::<u64>(),
        1
    );
    s.finish().await;
}

#[actix_web::test]
async fn invalid_json_and_non_utf8_from_upstream_end_cleanly_and_are_recorded() {
    let mut stream = sse_head("").into_bytes();
    stream.extend_from_slice(b"data: {not json\n\ndata: \xff\xfe\xfd\n\n");
    stream.extend_from_slice(format!("data: {CHUNK}\n\ndata: [DONE]\n\n").as_bytes());
    let fake = FakeUpstream::start(vec![
        reply(stream, Then::Close),
        reply(json_200(b"{\"id\": not json", ""), Then::Close),
        reply(json_200(b"\xff\xfe{\"id\":1}", ""), Then::Close),
        reply(json_200(b"", ""), Then::Close),
    ])
    .await;
    let mut s = suite_on(&fake, "").await;
    let within = Duration::from_secs(5);
    let (status, _, body) = exchange(&mut s, &stream_body("gpt-test"), within).await;
    assert_eq!(status, 200);
    assert!(
        body.trim_end().ends_with("data: [DONE]") || body.contains("error"),
        "{body}"
    );
    for _ in 0..3 {
        let (status, _, body) = exchange(&mut s, &hello("gpt-test"), within).await;
        assert_eq!(status, 502, "{body}");
        assert!(
            !body.contains("not json"),
            "the provider's body was passed on: {body}"
        );
    }
    let rows = spend_rows(&s, 4).await;
    assert_eq!(rows.iter().map(|r| r.requests).sum::<u64>(), 4);
    assert!(rows.iter().all(|r| r.cost_micro_usd >= 0));
    s.finish().await;
}

#[actix_web::test]
async fn done_then_a_held_connection_still_ends_the_clients_stream() {
    let stream = format!("{}data: {CHUNK}\n\ndata: [DONE]\n\n", sse_head(""));
    let fake = FakeUpstream::start(vec![reply(stream, Then::Hold)]).await;
    // A read timeout well past the time the stream must take.
    let mut s = suite_edited(&fake, |yaml| {
        yaml.replacen(
            "timeouts: { first_byte: 2s, read: 1s }",
            "timeouts: { first_byte: 5s, read: 5s }",
            1,
        )
    })
    .await;
    let started = Instant::now();
    let (status, _, body) =
        exchange(&mut s, &stream_body("gpt-test"), Duration::from_secs(8)).await;
    assert_eq!(status, 200);
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the stream waited for the upstream to close: {:?}",
        started.elapsed()
    );
    s.finish().await;
}

#[actix_web::test]
async fn a_gzip_body_is_never_asked_for_nor_decompressed() {
    // A small gzip member of a megabyte of spaces inside valid JSON: inflated, it would parse.
    let mut inflated = COMPLETION.as_bytes()[..COMPLETION.len() - 1].to_vec();
    inflated.extend_from_slice(format!(",\"pad\":\"{}\"}}", " ".repeat(1 << 20)).as_bytes());
    let body = gzip(&inflated);
    let fake = FakeUpstream::start(vec![reply(
        json_200(&body, "content-encoding: gzip\r\n"),
        Then::Close,
    )])
    .await;
    let mut s = suite_on(&fake, "").await;
    let (status, _, text) = exchange(&mut s, &hello("gpt-test"), Duration::from_secs(5)).await;
    assert_eq!(status, 502, "{text}");
    let request = fake.requests().remove(0).to_ascii_lowercase();
    assert!(
        !request.contains("accept-encoding: gzip")
            && !request.contains("br,")
            && !request.contains("deflate"),
        "the gateway asked for a compressed body: {request}"
    );
    s.finish().await;
}

#[actix_web::test]
async fn absurd_or_negative_usage_never_makes_spend_negative_or_skipped() {
    let usages = [
        r#"{"prompt_tokens":-5,"completion_tokens":-1,"total_tokens":-6}"#,
        r#"{"prompt_tokens":18446744073709551615,"completion_tokens":18446744073709551615}"#,
        r#"{"prompt_tokens":1e308,"completion_tokens":1.5}"#,
        r#"{"prompt_tokens":"12","completion_tokens":null}"#,
        r#"{"prompt_tokens":4294967296000,"completion_tokens":4294967296000}"#,
    ];
    let replies = usages
        .iter()
        .map(|usage| {
            let body = COMPLETION.replace(
                r#"{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}"#,
                usage,
            );
            reply(json_200(body.as_bytes(), ""), Then::Close)
        })
        .collect();
    let fake = FakeUpstream::start(replies).await;
    let mut s = suite_on(&fake, "").await;
    for usage in usages {
        let (status, headers, _) =
            exchange(&mut s, &hello("gpt-4o-mini"), Duration::from_secs(5)).await;
        assert!(matches!(status, 200 | 502), "{usage}: {status}");
        assert!(
            !headers.contains("x-portcullis-cost-usd\": \"-"),
            "{usage}: a negative cost: {headers}"
        );
    }
    let rows = spend_rows(&s, 5).await;
    assert_eq!(
        rows.iter().map(|r| r.requests).sum::<u64>(),
        5,
        "a request left no spend record"
    );
    for row in &rows {
        assert!(row.cost_micro_usd >= 0, "{row:?}");
    }
    s.finish().await;
}

#[actix_web::test]
async fn an_upstream_redirect_to_the_attacker_is_not_followed() {
    let mut s = Suite::start().await;
    for model in ["gpt-test", "claude-test"] {
        for stream in [false, true] {
            s.h.mock.script_next(Behaviour {
                redirect_to: Some(format!("{}/steal", s.attacker.url())),
                ..Behaviour::default()
            });
            let body = if stream {
                stream_body(model)
            } else {
                hello(model)
            };
            let (status, _, text) = exchange(&mut s, &body, Duration::from_secs(5)).await;
            assert!(
                !(200..400).contains(&status) || stream,
                "{model}: {status} {text}"
            );
            assert!(!text.contains("steal"), "{text}");
        }
    }
    // `finish` fails if the attacker listener saw a single connection.
    s.finish().await;
}

const HOSTILE_HEADERS: &str = "set-cookie: session=upstream\r\nx-upstream-secret: hush\r\nconnection: x-upstream-secret\r\nkeep-alive: timeout=5\r\nproxy-authenticate: Basic\r\nwww-authenticate: Basic realm=up\r\nalt-svc: h3=\":1\"\r\nstrict-transport-security: max-age=1\r\nx-powered-by: upstream\r\n";

#[actix_web::test]
async fn upstream_response_headers_never_reach_the_client() {
    let stream = format!(
        "{}data: {CHUNK}\n\ndata: [DONE]\n\n",
        sse_head(HOSTILE_HEADERS)
    );
    let fake = FakeUpstream::start(vec![
        reply(
            json_200(COMPLETION.as_bytes(), HOSTILE_HEADERS),
            Then::Close,
        ),
        reply(stream, Then::Close),
    ])
    .await;
    let mut s = suite_on(&fake, "").await;
    for body in [hello("gpt-test"), stream_body("gpt-test")] {
        let (status, headers, _) = exchange(&mut s, &body, Duration::from_secs(5)).await;
        assert_eq!(status, 200);
        for name in [
            "set-cookie",
            "x-upstream-secret",
            "hush",
            "proxy-authenticate",
            "www-authenticate",
            "alt-svc",
            "strict-transport-security",
            "x-powered-by",
            "keep-alive",
        ] {
            assert!(
                !headers.contains(name),
                "{name} reached the client: {headers}"
            );
        }
    }
    s.finish().await;
}

#[actix_web::test]
async fn upstream_bodies_that_echo_the_credential_are_not_passed_through() {
    let echo = |status: &str| {
        let body = r#"{"error":{"message":"Incorrect API key provided: {AUTH}","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body.as_bytes());
        reply(out, Then::Close)
    };
    let stream_error = format!(
        "{}data: {CHUNK}\n\ndata: {{\"error\":{{\"message\":\"key {{AUTH}} rejected\"}}}}\n\n",
        sse_head("")
    );
    let fake = FakeUpstream::start(vec![
        echo("400 Bad Request"),
        echo("401 Unauthorized"),
        echo("403 Forbidden"),
        echo("404 Not Found"),
        echo("422 Unprocessable Entity"),
        echo("500 Internal Server Error"),
        reply(stream_error, Then::Close),
    ])
    .await;
    let mut s = suite_on(&fake, "").await;
    for _ in 0..6 {
        let (status, _, _) = exchange(&mut s, &hello("gpt-test"), Duration::from_secs(5)).await;
        assert!(status >= 400);
    }
    let _ = exchange(&mut s, &stream_body("gpt-test"), Duration::from_secs(5)).await;
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.contains(&canaries().openai)),
        "the fake did not get the provider credential to echo"
    );
    // The Anthropic provider on the mock, through both ingress routes.
    let anthropic = canaries().anthropic.clone();
    for status in [400, 401, 500] {
        for route in ["/v1/chat/completions", "/v1/messages"] {
            s.h.mock.script_next(Behaviour {
                status: Some(status),
                error_body: Some(format!(
                    r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {anthropic}"}}}}"#
                )),
                ..Behaviour::default()
            });
            let (code, _) = s
                .post(route, &canaries().key_b, &messages_body(false))
                .await;
            assert!(code >= 400, "{route}: {code}");
        }
    }
    s.finish().await;
}

const ANTHROPIC_MESSAGE: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"your key: {AUTH}"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":2}}"#;

fn messages_body(stream: bool) -> Value {
    let mut body = hello("claude-test");
    body["max_tokens"] = json!(16);
    body["stream"] = json!(stream);
    body
}

#[actix_web::test]
async fn a_successful_json_answer_that_echoes_the_credential_is_a_502_that_shows_nothing() {
    let completion = COMPLETION.replace(r#""content":"hi""#, r#""content":"your key: {AUTH}""#);
    let embeddings = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],"model":"{AUTH}","usage":{"prompt_tokens":1,"total_tokens":1}}"#;
    let fake = FakeUpstream::start(vec![
        reply(json_200(completion.as_bytes(), ""), Then::Close),
        reply(json_200(embeddings.as_bytes(), ""), Then::Close),
        reply(json_200(ANTHROPIC_MESSAGE.as_bytes(), ""), Then::Close),
        reply(json_200(ANTHROPIC_MESSAGE.as_bytes(), ""), Then::Close),
    ])
    .await;
    let mut s = suite_on(&fake, "").await;
    // OpenAI-compatible provider: a chat completion and an embeddings list.
    let (status, body) = s
        .post(
            "/v1/chat/completions",
            &canaries().key_b,
            &hello("gpt-test"),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "upstream_credential_echo", "{body}");
    assert_eq!(error["error"]["type"], "upstream_error", "{body}");
    let embed = json!({"model": "gpt-test", "input": "hi"});
    let (status, body) = s.post("/v1/embeddings", &canaries().key_b, &embed).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("upstream_credential_echo"), "{body}");
    // Anthropic provider: natively through /v1/messages (Anthropic's error shape), and
    // translated through /v1/chat/completions.
    let (status, body) = s
        .post("/v1/messages", &canaries().key_b, &messages_body(false))
        .await;
    assert_eq!(status, 502, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["type"], "error", "{body}");
    assert_eq!(error["error"]["type"], "api_error", "{body}");
    let (status, body) = s
        .post(
            "/v1/chat/completions",
            &canaries().key_b,
            &messages_body(false),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(fake.requests().len(), 4, "each refusal is final: no retry");
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.contains(&canaries().openai) || r.contains(&canaries().anthropic)),
        "the fake did not get the provider credential to echo"
    );
    // Counted per provider (the recorder is process-wide: other tests may add to it).
    let scrape = send_text(
        s.h.http
            .get(s.h.admin_url("/metrics"))
            .bearer_auth(&canaries().master),
    )
    .await;
    for provider in ["mock", "claude"] {
        let counted = sample(
            &scrape,
            "portcullis_upstream_credential_echoes_total",
            &[("provider", provider)],
        );
        assert!(counted >= 2.0, "{provider}: {scrape}");
    }
    s.finish().await;
}

#[actix_web::test]
async fn a_stream_that_echoes_the_credential_mid_way_ends_with_one_error_event() {
    let echo_chunk = CHUNK.replace(r#""content":"hi""#, r#""content":"{AUTH}""#);
    let openai_later = format!("data: {echo_chunk}\n\ndata: [DONE]\n\n");
    let anthropic_first = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}"#,
        "\n\nevent: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
        "\n\n"
    );
    let anthropic_later = concat!(
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{AUTH}"}}"#,
        "\n\nevent: content_block_stop\n",
        r#"data: {"type":"content_block_stop","index":0}"#,
        "\n\nevent: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}"#,
        "\n\nevent: message_stop\n",
        r#"data: {"type":"message_stop"}"#,
        "\n\n"
    );
    let later = Duration::from_millis(200);
    let fake = FakeUpstream::start(vec![
        reply(
            format!("{}data: {CHUNK}\n\n", sse_head("")),
            Then::Later(later, openai_later.into_bytes()),
        ),
        // The credential in the very first read: refused before any byte went out.
        reply(
            format!("{}data: {echo_chunk}\n\n", sse_head("")),
            Then::Close,
        ),
        reply(
            format!("{}{anthropic_first}", sse_head("")),
            Then::Later(later, anthropic_later.as_bytes().to_vec()),
        ),
        reply(
            format!("{}{anthropic_first}", sse_head("")),
            Then::Later(later, anthropic_later.as_bytes().to_vec()),
        ),
    ])
    .await;
    let mut s = suite_on(&fake, "").await;
    let (status, _, text) =
        exchange(&mut s, &stream_body("gpt-test"), Duration::from_secs(5)).await;
    assert_eq!(status, 200);
    assert!(text.contains(r#""content":"hi""#), "{text}");
    assert!(text.contains("upstream_credential_echo"), "{text}");
    assert_eq!(text.matches("\"error\"").count(), 1, "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    let (status, _, text) =
        exchange(&mut s, &stream_body("gpt-test"), Duration::from_secs(5)).await;
    assert_eq!(status, 502, "{text}");
    assert!(text.contains("upstream_credential_echo"), "{text}");
    // Anthropic natively: its own error event, no message_stop.
    let (status, text) = s
        .post("/v1/messages", &canaries().key_b, &messages_body(true))
        .await;
    assert_eq!(status, 200);
    assert!(text.contains(r#""text":"hi""#), "{text}");
    assert!(text.contains("event: error"), "{text}");
    assert!(!text.contains("message_stop"), "{text}");
    // Anthropic translated to OpenAI chunks.
    let (status, text) = s
        .post(
            "/v1/chat/completions",
            &canaries().key_b,
            &messages_body(true),
        )
        .await;
    assert_eq!(status, 200);
    assert!(text.contains(r#""content":"hi""#), "{text}");
    assert!(text.contains("upstream_credential_echo"), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert_eq!(fake.requests().len(), 4);
    s.finish().await;
}

#[actix_web::test]
async fn a_gemini_answer_that_echoes_its_key_is_withheld_json_and_stream() {
    let answer = |text: &str, last: bool| {
        let finish = if last {
            r#","finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}"#
        } else {
            "}]"
        };
        format!(
            r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"text":"{text}"}}]}},"index":0{finish},"modelVersion":"gemini-test"}}"#
        )
    };
    let fake = FakeUpstream::start(vec![
        reply(
            json_200(answer("key: {AUTH}", true).as_bytes(), ""),
            Then::Close,
        ),
        reply(
            format!("{}data: {}\r\n\r\n", sse_head(""), answer("hi", false)),
            Then::Later(
                Duration::from_millis(200),
                format!("data: {}\r\n\r\n", answer("{AUTH}", true)).into_bytes(),
            ),
        ),
    ])
    .await;
    let url = fake.url();
    let mut s = suite_edited(&fake, |yaml| {
        yaml.replacen(
            "providers:\n",
            &format!(
                "providers:\n  - {{ name: google, vendor: gemini, base_url: {url}, api_key: env:P_GEMINI, allow_private_network: true, timeouts: {{ first_byte: 2s, read: 1s }} }}\n"
            ),
            1,
        )
        .replacen(
            "models:\n",
            "models:\n  - { name: gemini-test, deployments: [{ provider: google, model: gemini-2.0-flash }] }\n",
            1,
        )
    })
    .await;
    let (status, _, body) = exchange(&mut s, &hello("gemini-test"), Duration::from_secs(5)).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("upstream_credential_echo"), "{body}");
    let (status, _, text) =
        exchange(&mut s, &stream_body("gemini-test"), Duration::from_secs(5)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(r#""content":"hi""#), "{text}");
    assert!(text.contains("upstream_credential_echo"), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests.iter().all(|r| r.contains(&canaries().gemini)),
        "the fake did not get the Gemini key to echo"
    );
    s.finish().await;
}
