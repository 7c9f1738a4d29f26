//! A raw-TCP upstream for what the scriptable mock cannot send: endless lines, bytes that
//! are not UTF-8, gzip bodies, hop-by-hop and cookie headers, held-open connections, and
//! replies that echo the credential the gateway sent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake does once its reply is written.
#[derive(Clone)]
pub(crate) enum Then {
    Close,
    /// Keep the connection open until the gateway drops it.
    Hold,
    /// Write this chunk again and again until the gateway stops reading (at most 256 MiB).
    Endless(Vec<u8>),
    /// Wait, write these bytes as a separate read (`{AUTH}` replaced too), then close.
    Later(Duration, Vec<u8>),
}

/// One scripted answer. `{AUTH}` in the reply is replaced by the request's `Authorization`
/// (or `x-api-key`, `x-goog-api-key`) value: an upstream that echoes the credential it was
/// sent.
#[derive(Clone)]
pub(crate) struct Reply {
    pub bytes: Vec<u8>,
    pub then: Then,
}

pub(crate) fn reply(bytes: impl Into<Vec<u8>>, then: Then) -> Reply {
    Reply {
        bytes: bytes.into(),
        then,
    }
}

/// A `200` JSON answer with `body`, `extra` header lines, and `Connection: close`.
pub(crate) fn json_200(body: &[u8], extra: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The head of a `200` event stream, read until the connection closes.
pub(crate) fn sse_head(extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n{extra}\r\n"
    )
}

pub(crate) struct FakeUpstream {
    pub addr: SocketAddr,
    /// Every request head and body received, as text.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Bytes written by `Then::Endless`.
    pub written: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeUpstream {
    /// Connection `i` gets `replies[i]` (the last one for every later connection).
    pub(crate) async fn start(replies: Vec<Reply>) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicUsize::new(0));
        let (r, w) = (Arc::clone(&requests), Arc::clone(&written));
        let task = tokio::spawn(async move {
            let mut index = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let reply = replies[index.min(replies.len() - 1)].clone();
                index += 1;
                tokio::spawn(serve(stream, reply, Arc::clone(&r), Arc::clone(&w)));
            }
        });
        FakeUpstream {
            addr,
            requests,
            written,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and `Content-Length` body; 1 MiB and 5 s at most).
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            bytes.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return Some(text);
                }
            }
            if bytes.len() > 1 << 20 {
                return None;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}

fn credential(request: &str) -> String {
    request
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            ["authorization", "x-api-key", "x-goog-api-key"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default()
}

async fn serve(
    mut stream: TcpStream,
    reply: Reply,
    requests: Arc<Mutex<Vec<String>>>,
    written: Arc<AtomicUsize>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let auth = credential(&request);
    requests.lock().unwrap().push(request);
    let mut bytes = reply.bytes;
    if let Some(at) = bytes.windows(6).position(|w| w == b"{AUTH}") {
        bytes.splice(at..at + 6, auth.clone().into_bytes());
        fix_content_length(&mut bytes);
    }
    if stream.write_all(&bytes).await.is_err() {
        return;
    }
    match reply.then {
        Then::Close => {
            let _ = stream.shutdown().await;
        }
        Then::Hold => {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Then::Later(wait, mut later) => {
            tokio::time::sleep(wait).await;
            if let Some(at) = later.windows(6).position(|w| w == b"{AUTH}") {
                later.splice(at..at + 6, auth.into_bytes());
            }
            let _ = stream.write_all(&later).await;
            let _ = stream.shutdown().await;
        }
        Then::Endless(chunk) => {
            while written.load(Ordering::SeqCst) < 256 << 20 {
                if stream.write_all(&chunk).await.is_err() {
                    break;
                }
                written.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    }
}

/// Rewrites `content-length` after `{AUTH}` was substituted in the body.
fn fix_content_length(bytes: &mut Vec<u8>) {
    let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let body_len = bytes.len() - split - 4;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let head: Vec<String> = head
        .split("\r\n")
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("content-length: {body_len}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    let mut out = head.join("\r\n").into_bytes();
    out.extend_from_slice(&bytes[split..]);
    *bytes = out;
}

/// `data` as a gzip member with stored (uncompressed) deflate blocks: a valid gzip body
/// without a compression library.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32_of_the_check_string_is_the_standard_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}
