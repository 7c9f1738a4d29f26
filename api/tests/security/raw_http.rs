//! HTTP/1.1 attacks over raw TCP: request smuggling, head limits, slow clients, the
//! connection cap, header injection and request ids — and none of it logged at ERROR.

use std::time::Duration;

use portcullis_loadtest::mock::MockOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::harness::{captured_logs, sample, send_text};
use crate::support::{Suite, canaries, raw, read_until_closed};

const WITHIN: Duration = Duration::from_secs(3);

fn chat_body() -> String {
    serde_json::json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})
        .to_string()
}

/// A chat request whose framing headers are `framing` and whose body bytes are `body`.
fn framed(framing: &str, body: &str) -> Vec<u8> {
    let key = &canaries().key_a;
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n{framing}\r\n{body}"
    )
    .into_bytes()
}

/// A second request hidden after the first one's body, as a smuggler would send it.
fn smuggled() -> String {
    let key = &canaries().key_a;
    let body = chat_body();
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[actix_web::test]
async fn request_smuggling_is_a_400_the_connection_closes_and_nothing_goes_upstream() {
    let mut s = Suite::start().await;
    let body = chat_body();
    let hidden = smuggled();
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "CL.TE",
            framed(
                &format!(
                    "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
                    chunked.len()
                ),
                &format!("{chunked}{hidden}"),
            ),
        ),
        (
            "TE.CL",
            framed(
                "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                &format!("{chunked}{hidden}"),
            ),
        ),
        (
            "duplicate CL",
            framed(
                &format!("Content-Length: {0}\r\nContent-Length: {0}\r\n", body.len()),
                &body,
            ),
        ),
        (
            "differing CL",
            framed(
                &format!("Content-Length: {}\r\nContent-Length: 3\r\n", body.len()),
                &body,
            ),
        ),
        ("CL list", framed("Content-Length: 5, 5\r\n", &body)),
        ("CL sign", framed("Content-Length: +5\r\n", &body)),
        ("CL hex", framed("Content-Length: 0x10\r\n", &body)),
        (
            "TE obfuscated",
            framed("Transfer-Encoding: xchunked\r\n", &chunked),
        ),
        (
            "TE twice",
            framed(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                &chunked,
            ),
        ),
        (
            "obs-fold",
            framed(
                &format!("Content-Length: {}\r\nX-Folded: a\r\n b\r\n", body.len()),
                &body,
            ),
        ),
        (
            "obs-fold TE",
            framed("Transfer-Encoding:\r\n chunked\r\n", &chunked),
        ),
        (
            "space before colon",
            framed("Transfer-Encoding : chunked\r\n", &chunked),
        ),
    ];
    for (name, bytes) in cases {
        let reply = raw(s.public(), &bytes, WITHIN).await;
        assert_eq!(reply.status(), Some(400), "{name}");
        assert!(reply.closed, "{name}: the connection stayed open");
        assert_eq!(
            reply.responses(),
            1,
            "{name}: a second request was answered"
        );
        s.saw(&reply.bytes);
    }
    assert_eq!(
        s.h.mock.total_requests(),
        0,
        "a smuggled request went upstream"
    );
    s.finish().await;
}

#[actix_web::test]
async fn a_head_over_the_gateways_limits_is_431_and_a_long_target_414() {
    let mut s = Suite::start().await;
    let key = &canaries().key_a;
    let auth = format!("Authorization: Bearer {key}\r\n");
    let many: String = (0..41).map(|i| format!("X-H{i}: v\r\n")).collect();
    let more_than_actix: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let large = format!("X-Big: {}\r\n", "v".repeat(17 * 1024));
    for (name, extra, path, want) in [
        ("41 headers", many.as_str(), "/v1/models".to_owned(), 431),
        (
            "120 headers",
            more_than_actix.as_str(),
            "/v1/models".to_owned(),
            431,
        ),
        (
            "17 KiB header",
            large.as_str(),
            "/v1/models".to_owned(),
            431,
        ),
        (
            "long target",
            "",
            format!("/v1/models?q={}", "a".repeat(3000)),
            414,
        ),
        ("long path", "", format!("/{}", "a".repeat(3000)), 414),
    ] {
        let head =
            format!("GET {path} HTTP/1.1\r\nHost: g\r\nConnection: close\r\n{auth}{extra}\r\n");
        for addr in [s.public(), s.admin()] {
            let reply = raw(addr, head.as_bytes(), WITHIN).await;
            assert_eq!(reply.status(), Some(want), "{name}");
            s.saw(&reply.bytes);
        }
    }
    // At the limits, a request passes.
    let at: String = (0..30).map(|i| format!("X-H{i}: v\r\n")).collect();
    let head = format!("GET /v1/models HTTP/1.1\r\nHost: g\r\nConnection: close\r\n{auth}{at}\r\n");
    let reply = raw(s.public(), head.as_bytes(), WITHIN).await;
    assert_eq!(reply.status(), Some(200));
    s.saw(&reply.bytes);
    let scrape = send_text(
        s.h.http
            .get(s.h.admin_url("/metrics"))
            .bearer_auth(&canaries().master),
    )
    .await;
    for reason in ["uri_too_long", "headers_too_large"] {
        let n = sample(
            &scrape,
            "portcullis_malformed_requests_total",
            &[("reason", reason)],
        );
        assert!(n >= 2.0, "{reason} counted: {n}");
    }
    s.finish().await;
}

#[actix_web::test]
async fn slow_headers_and_slow_bodies_are_cut_off_at_their_timeouts() {
    let mut s = Suite::start().await;
    // Slowloris: one header byte every 100 ms, for far longer than the 1 s header timeout.
    let slow = TcpStream::connect(s.public()).await.unwrap();
    let (mut slow_read, mut slow_write) = slow.into_split();
    let started = Instant::now();
    slow_write
        .write_all(b"GET /v1/models HTTP/1.1\r\nHost: g\r\n")
        .await
        .unwrap();
    let dribble = tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow_write.write_all(b"X").await.is_err() {
                break;
            }
        }
    });
    // Others are served meanwhile.
    let mut other = TcpStream::connect(s.public()).await.unwrap();
    let probe = "GET /health/live HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n";
    other.write_all(probe.as_bytes()).await.unwrap();
    assert_eq!(
        read_until_closed(&mut other, WITHIN).await.status(),
        Some(200)
    );
    // The slow connection is closed at the header timeout, while bytes still trickle in.
    let mut bytes = Vec::new();
    let closed = tokio::time::timeout(WITHIN, slow_read.read_to_end(&mut bytes)).await;
    let elapsed = started.elapsed();
    assert!(closed.is_ok(), "a slow head kept its connection");
    assert!(
        elapsed < Duration::from_millis(2500),
        "closed only after {elapsed:?}"
    );
    dribble.abort();
    s.saw(&bytes);

    // A body that stops arriving: 408 within the 1 s body timeout, and nothing upstream.
    let mut stream = TcpStream::connect(s.public()).await.unwrap();
    let head = framed("Content-Length: 200\r\n", "{\"model\":");
    let started = Instant::now();
    stream.write_all(&head).await.unwrap();
    let reply = read_until_closed(&mut stream, WITHIN).await;
    assert_eq!(reply.status(), Some(408));
    assert!(started.elapsed() < Duration::from_millis(2500));
    s.saw(&reply.bytes);
    assert_eq!(s.h.mock.total_requests(), 0);
    s.finish().await;
}

#[actix_web::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let mut s = Suite::start_with(MockOptions::default(), "  max_connections: 2").await;
    let key = &canaries().key_a;
    let request =
        format!("GET /v1/models HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {key}\r\n\r\n");
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(s.public()).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        // Keep-alive: the answer arrives, the connection stays.
        let reply = read_until_closed(&mut stream, Duration::from_millis(500)).await;
        assert_eq!(reply.status(), Some(200));
        assert!(!reply.closed);
        held.push(stream);
    }
    let mut third = TcpStream::connect(s.public()).await.unwrap();
    third.write_all(request.as_bytes()).await.unwrap();
    let waiting = read_until_closed(&mut third, Duration::from_millis(500)).await;
    assert_eq!(waiting.status(), None, "a third connection was served");
    drop(held.pop());
    let served = read_until_closed(&mut third, Duration::from_secs(3)).await;
    assert_eq!(served.status(), Some(200));
    s.saw(&served.bytes);
    drop(held);
    s.finish().await;
}

#[actix_web::test]
async fn header_values_are_never_reflected_and_only_plain_request_ids_are_kept() {
    let mut s = Suite::start().await;
    let key = &canaries().key_b;
    let client_id = "client-chosen-id";
    // Injection attempts through the path, a header and the model name.
    let model = "x\\r\\nSet-Cookie: injected=1";
    let body = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
    let requests = [
        format!(
            "GET /v1/models%0d%0aSet-Cookie:%20injected=1 HTTP/1.1\r\nHost: g\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\r\n"
        ),
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nX-Request-Id: {client_id}\r\nX-Echo: %0d%0aSet-Cookie: injected=1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nX-Request-Id: {client_id}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            chat_body().len(),
            chat_body()
        ),
    ];
    for request in &requests {
        let reply = raw(s.public(), request.as_bytes(), WITHIN).await;
        assert!(reply.status().is_some());
        let head = reply.head();
        assert!(!head.contains("set-cookie"), "{head}");
        assert!(!head.contains("injected"), "{head}");
        // A plain token is kept as the request's id (issue 13); anything else is replaced
        // by the gateway's own.
        if let Some(line) = head.lines().find(|l| l.starts_with("x-request-id:")) {
            let id = line["x-request-id:".len()..].trim();
            assert!(
                id == client_id || (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())),
                "{id}"
            );
        }
        s.saw(&reply.bytes);
    }
    // An id that could split a log line or smuggle a field is never taken.
    for bad in ["a b", "x%0d%0aSet-Cookie:injected", "<script>", "id,other"] {
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nX-Request-Id: {bad}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            chat_body().len(),
            chat_body()
        );
        let reply = raw(s.public(), request.as_bytes(), WITHIN).await;
        let head = reply.head();
        let line = head
            .lines()
            .find(|l| l.starts_with("x-request-id:"))
            .unwrap_or_else(|| panic!("no request id: {head}"));
        let id = line["x-request-id:".len()..].trim();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{bad} was kept as {id}"
        );
        s.saw(&reply.bytes);
    }
    // The mock got the well-formed requests, without the client's id or the echo header.
    let upstream = s.h.mock.requests();
    assert_eq!(upstream.len(), 5);
    assert_ne!(upstream[0].header("x-request-id"), Some(client_id));
    assert_eq!(upstream[0].header("x-echo"), None);
    s.finish().await;
}

#[actix_web::test]
async fn malformed_requests_are_never_logged_at_error() {
    let s = Suite::start().await;
    let junk: [&[u8]; 10] = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: g\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nContent-Length: 10\r\n\r\nab",
        b"GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nHost: g\r\nX: \xff\xfe\r\n\r\n",
    ];
    for bytes in junk {
        for addr in [s.public(), s.admin()] {
            let _ = raw(addr, bytes, Duration::from_secs(2)).await;
        }
    }
    // A head past actix-http's own buffer.
    let huge = format!(
        "GET /v1/models HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let _ = raw(s.public(), huge.as_bytes(), Duration::from_secs(2)).await;
    let errors: Vec<String> = captured_logs()
        .lines()
        .filter(|line| line.contains(" ERROR ") && line.contains("actix"))
        .map(str::to_owned)
        .collect();
    assert!(
        errors.is_empty(),
        "ERROR lines from the HTTP layer: {errors:?}"
    );
    let scrape = send_text(
        s.h.http
            .get(s.h.admin_url("/metrics"))
            .bearer_auth(&canaries().master),
    )
    .await;
    let counted = sample(
        &scrape,
        "portcullis_malformed_requests_total",
        &[("reason", "http_parse")],
    );
    assert!(counted >= 20.0, "parse failures are counted: {counted}");
    s.finish().await;
}
