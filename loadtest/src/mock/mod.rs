//! A scriptable mock of an OpenAI-compatible upstream, for the gateway's
//! end-to-end tests and for load tests.
//!
//! [`MockUpstream::start`] binds a listener and spawns the accept loop on the
//! *current* tokio runtime, so it works in a multi-thread runtime, a
//! `#[tokio::test]` current-thread runtime, or the runtime under an actix
//! `System`. It serves keep-alive HTTP/1.1:
//!
//! - `POST /v1/chat/completions`: JSON or SSE completions, shaped by a
//!   [`Behaviour`] chosen per request: the [`MockUpstream::script_next`]
//!   queue first, then the [`MockUpstream::script_model`] entry for the
//!   request's `model`, then [`MockOptions::default`].
//! - `GET /v1/models`: a list of a few mock model ids.
//! - anything else: an OpenAI-shaped `404`.
//!
//! Every request is counted; with [`MockOptions::record`] it is also kept as
//! a [`RecordedRequest`]. Dropping the handle (or [`MockUpstream::shutdown`])
//! stops the listener and every connection.

mod behaviour;
mod recorded;
mod service;
mod state;
mod stream;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub use behaviour::{Behaviour, DEFAULT_CHUNKS, DEFAULT_JSON_COMPLETION_TOKENS};
pub use recorded::RecordedRequest;
pub use service::{CHAT_PATH, MODELS_PATH};
pub use wire::MODEL_IDS;

use state::Shared;

/// How to start a [`MockUpstream`].
#[derive(Clone, Debug)]
pub struct MockOptions {
    /// Where to listen; default `127.0.0.1:0` (an ephemeral port).
    pub addr: SocketAddr,
    /// Behaviour when nothing is scripted.
    pub default: Behaviour,
    /// Keep every request as a [`RecordedRequest`] (default `true`). Turn it
    /// off for load tests; counting happens either way.
    pub record: bool,
    /// If set, requests whose `Authorization` is not `Bearer <key>` get an
    /// OpenAI-shaped `401`.
    pub expect_api_key: Option<String>,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            default: Behaviour::default(),
            record: true,
            expect_api_key: None,
        }
    }
}

/// A running mock upstream. Stops when dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockUpstream")
            .field("addr", &self.addr)
            .field("total_requests", &self.total_requests())
            .finish_non_exhaustive()
    }
}

impl MockUpstream {
    /// Binds `opts.addr` and starts serving on the current tokio runtime.
    pub async fn start(opts: MockOptions) -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind(opts.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&opts));
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(MockUpstream {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/v1`, the base URL an OpenAI client is configured with.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `POST /v1/chat/completions` requests received.
    pub fn request_count(&self) -> u64 {
        self.shared.chat()
    }

    /// Requests received on any route.
    pub fn total_requests(&self) -> u64 {
        self.shared.total()
    }

    /// Recorded requests in arrival order (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded()
    }

    /// Forgets recorded requests and zeroes the request and chunk counters.
    /// Scripts are kept; see [`MockUpstream::clear_scripts`].
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// Drops every queued and per-model script.
    pub fn clear_scripts(&self) {
        self.shared.clear_scripts();
    }

    /// Queues `b` for the next chat-completion request, whatever its model.
    /// Each queued behaviour is used once, first in, first out.
    pub fn script_next(&self, b: Behaviour) {
        self.shared.script_next(b);
    }

    /// Uses `b` for every chat-completion request whose `model` is `model`
    /// (when the queue is empty), until replaced.
    pub fn script_model(&self, model: &str, b: Behaviour) {
        self.shared.script_model(model, b);
    }

    /// Releases streams held by [`Behaviour::pause_after_chunks`]: every
    /// stream paused now, and every stream whose request arrived before this
    /// call and has not reached its pause yet (so a resume that races ahead
    /// of the pause is not lost). Requests arriving later pause as scripted.
    pub fn resume(&self) {
        self.shared.resume();
    }

    /// SSE `data:` events written so far across all streams (role, content,
    /// finish and usage chunks, and `[DONE]`).
    pub fn chunks_sent(&self) -> u64 {
        self.shared.chunks()
    }

    /// Stops accepting, ends every connection task, and waits for the
    /// listener to be closed.
    pub async fn shutdown(mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            // The task ends as cancelled; its result carries nothing.
            let _ = accept.await;
        }
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }
}

/// Accepts connections until aborted. Connection tasks live in a `JoinSet`
/// owned by this task, so aborting it aborts them all.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve(stream, Arc::clone(&shared)));
                }
                // Usually out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    // Nagle would hold back small SSE events; failure only costs latency.
    let _ = stream.set_nodelay(true);
    let svc = service_fn(move |req| service::handle(Arc::clone(&shared), req));
    // Connection errors (client gone, scripted cut) end just this connection.
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}
