//! OpenAI's error wire shapes: the JSON body `{"error":{"message","type","param","code"}}`
//! and the one SSE event that ends a stream early. The engine yields typed errors; this is
//! where they become OpenAI bytes.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use portcullis_engine::UpstreamError;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Body<'a> {
    pub(crate) error: Detail<'a>,
}

#[derive(Serialize)]
pub(crate) struct Detail<'a> {
    pub(crate) message: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    pub(crate) param: Option<&'a str>,
    pub(crate) code: Option<&'a str>,
}

/// The event sent when a stream must end early: an OpenAI-shaped error object, which the
/// OpenAI SDKs raise as an `APIError`. Carries no upstream detail.
pub(crate) fn stream_error_event(error: &UpstreamError) -> Bytes {
    let body = Body {
        error: Detail {
            message: error.to_string(),
            kind: "upstream_error",
            param: None,
            code: Some(error.kind()),
        },
    };
    let json = serde_json::to_string(&body).unwrap_or_default();
    Bytes::from(format!("data: {json}\n\n"))
}

/// An engine stream rendered for OpenAI clients: bytes pass through; a final error becomes
/// one [`stream_error_event`] and the end of the stream.
#[derive(Debug)]
pub(crate) struct OpenAiSse<S> {
    inner: S,
    done: bool,
}

impl<S> OpenAiSse<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self { inner, done: false }
    }
}

impl<S> Stream for OpenAiSse<S>
where
    S: Stream<Item = Result<Bytes, UpstreamError>> + Unpin,
{
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Ok(stream_error_event(&e))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[actix_web::test]
    async fn a_final_error_becomes_one_error_event_and_the_end() {
        let items: Vec<Result<Bytes, UpstreamError>> = vec![
            Ok(Bytes::from_static(b"data: {}\n\n")),
            Err(UpstreamError::StreamInterrupted),
            Ok(Bytes::from_static(b"never")),
        ];
        let out: Vec<Bytes> = OpenAiSse::new(futures_util::stream::iter(items))
            .map(|r| r.unwrap())
            .collect()
            .await;
        assert_eq!(out.len(), 2);
        let event = std::str::from_utf8(&out[1]).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(event.strip_prefix("data: ").unwrap().trim()).unwrap();
        assert_eq!(json["error"]["code"], "upstream_stream_interrupted");
        assert_eq!(json["error"]["type"], "upstream_error");
    }
}
