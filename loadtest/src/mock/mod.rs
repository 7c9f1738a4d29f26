//! A scriptable mock of an OpenAI-compatible and Anthropic upstream, for the
//! gateway's end-to-end tests and for load tests.
//!
//! [`MockUpstream::start`] binds a listener and spawns the accept loop on the
//! *current* tokio runtime, so it works in a multi-thread runtime, a
//! `#[tokio::test]` current-thread runtime, or the runtime under an actix
//! `System`. It serves keep-alive HTTP/1.1:
//!
//! - `POST /v1/chat/completions`: OpenAI JSON or SSE completions.
//! - `POST /v1/messages`: Anthropic Messages JSON or SSE (needs `x-api-key`
//!   and `anthropic-version`).
//! - `POST /v1beta/models/{model}:generateContent` and
//!   `:streamGenerateContent?alt=sse`: Gemini JSON or SSE (needs `x-goog-api-key`).
//! - Vertex AI: `POST /v1/projects/{p}/locations/{r}/publishers/google/models/…`
//!   (Gemini) and `…/publishers/anthropic/models/{m}:rawPredict` /
//!   `:streamRawPredict` (Claude), with a Bearer token from `POST /token`, which
//!   verifies a service account's RS256 JWT once [`MockUpstream::vertex_tokens`]
//!   is called.
//! - `POST /model/{id}/converse` and `/converse-stream`: AWS Bedrock
//!   Converse JSON, or ConverseStream in AWS event-stream frames (needs a
//!   SigV4 `Authorization`; verified once
//!   [`MockUpstream::expect_aws_credentials`] is called).
//! - `POST /model/{id}/invoke`: Bedrock InvokeModel for Titan and Cohere
//!   embedding models (same SigV4 check).
//! - `GET /v1/models`: a list of a few mock model ids.
//! - anything else: an OpenAI-shaped `404`.
//!
//! Both completion routes answer by a [`Behaviour`] chosen per request (the
//! model name is how the mock tells deployments apart): the
//! [`MockUpstream::script_next`] queue first, then the model's
//! [`MockUpstream::script`] sequence, then its [`MockUpstream::script_model`]
//! standing behaviour, then [`MockOptions::default`].
//!
//! Every request is counted; with [`MockOptions::record`] it is also kept as
//! a [`RecordedRequest`] and counted per model. Dropping the handle (or
//! [`MockUpstream::shutdown`]) stops the listener and every connection.

mod anthropic;
mod anthropic_stream;
mod anthropic_wire;
mod azure;
mod bedrock;
mod bedrock_invoke;
mod bedrock_sigv4;
mod bedrock_stream;
mod bedrock_wire;
mod behaviour;
mod builder;
mod embeddings;
mod gemini;
mod gemini_embeddings;
mod gemini_stream;
mod gemini_wire;
mod openai;
mod openai_error;
mod openai_stream;
mod openai_wire;
mod recorded;
mod respond;
mod script;
mod service;
mod sse;
mod state;
mod tools;
mod vertex;
mod vertex_token;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub use azure::AZURE_PREFIX;
pub use bedrock_sigv4::AwsCredentials;
pub use behaviour::{
    Behaviour, DEFAULT_CHUNKS, DEFAULT_JSON_COMPLETION_TOKENS, Stall, TOOL_ARGUMENT_PIECE, ToolCall,
};
pub use embeddings::{DEFAULT_EMBEDDING_DIMENSIONS, Input as EmbeddingInput, mock_embedding};
pub use openai_error::MODEL_IDS;
pub use recorded::RecordedRequest;
pub use service::{CHAT_PATH, EMBEDDINGS_PATH, GEMINI_MODELS, MESSAGES_PATH, MODELS_PATH};
pub use vertex_token::TOKEN_PATH;

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
    /// If set, OpenAI-side requests whose `Authorization` is not
    /// `Bearer <key>` get an OpenAI-shaped `401`, and `/v1/messages`
    /// requests whose `x-api-key` is not `<key>` an Anthropic
    /// `authentication_error`, and Gemini requests whose `x-goog-api-key` is
    /// not `<key>` Google's `API_KEY_INVALID` 400. (A missing `x-api-key` or
    /// `x-goog-api-key` is refused either way.)
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

    /// `POST /v1/embeddings` requests received (Azure's deployment path included).
    pub fn embeddings_count(&self) -> u64 {
        self.shared.embeddings()
    }

    /// `POST /v1/messages` requests received.
    pub fn messages_count(&self) -> u64 {
        self.shared.messages()
    }

    /// Gemini `generateContent` / `streamGenerateContent` requests received.
    pub fn gemini_count(&self) -> u64 {
        self.shared.gemini()
    }

    /// `http://ADDR/v1beta`, the base URL of a Gemini (AI Studio) provider.
    pub fn gemini_base_url(&self) -> String {
        format!("http://{}/v1beta", self.addr)
    }

    /// Turns on the Vertex AI token endpoint (`POST /token`): it verifies JWTs signed by
    /// the key whose PKCS#1 `RSAPublicKey` DER is `public_key`, and mints tokens that live
    /// `lifetime` (reported as `expires_in`, whole seconds).
    pub fn vertex_tokens(&self, public_key: Vec<u8>, lifetime: Duration) {
        self.shared
            .set_issuer(vertex_token::Issuer::new(public_key, lifetime));
    }

    /// Access tokens the token endpoint minted.
    pub fn tokens_minted(&self) -> u64 {
        self.shared.tokens_minted()
    }

    /// `http://ADDR/token`, the `token_uri` of a test service account.
    pub fn token_uri(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.addr)
    }

    /// Bedrock Converse requests (JSON and stream) received.
    pub fn converse_count(&self) -> u64 {
        self.shared.converse()
    }

    /// From now on, Bedrock requests must carry a SigV4 signature made with
    /// `credentials` (and their session token, if any), else they get
    /// Bedrock's `403`.
    pub fn expect_aws_credentials(&self, credentials: AwsCredentials) {
        self.shared.set_aws_credentials(credentials);
    }

    /// Completion requests (either dialect) whose body named `model`.
    /// Kept unless recording is off and nothing is scripted.
    pub fn model_request_count(&self, model: &str) -> u64 {
        self.shared.model_requests(model)
    }

    /// Recorded requests in arrival order (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded()
    }

    /// Recorded requests whose JSON body named `model`, in arrival order.
    pub fn requests_for(&self, model: &str) -> Vec<RecordedRequest> {
        let mut all = self.shared.recorded();
        all.retain(|r| r.model().as_deref() == Some(model));
        all
    }

    /// The parsed JSON bodies of [`MockUpstream::requests_for`] `model`.
    pub fn bodies_for(&self, model: &str) -> Vec<serde_json::Value> {
        self.shared
            .recorded()
            .iter()
            .filter_map(RecordedRequest::json)
            .filter(|v| v.get("model").and_then(serde_json::Value::as_str) == Some(model))
            .collect()
    }

    /// Forgets recorded requests and zeroes the request (also per model)
    /// and chunk counters.
    /// Scripts are kept; see [`MockUpstream::clear_scripts`].
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// Drops every queued and per-model script.
    pub fn clear_scripts(&self) {
        self.shared.clear_scripts();
    }

    /// Queues `b` for the next completion request (either dialect),
    /// whatever its model.
    /// Each queued behaviour is used once, first in, first out.
    pub fn script_next(&self, b: Behaviour) {
        self.shared.script_next(b);
    }

    /// Uses `b` for every completion request whose `model` is `model` (when
    /// the queue and the model's sequence are empty), until replaced.
    pub fn script_model(&self, model: &str, b: Behaviour) {
        self.shared.script_model(model, b);
    }

    /// Scripts a sequence for `model`, replacing any it still had: its next
    /// requests take these behaviours one each, in order (one atomic step
    /// per request, so concurrent requests never share or skip one); then
    /// its standing behaviour (or the default) applies again.
    ///
    /// ```no_run
    /// # use portcullis_loadtest::{Behaviour, MockUpstream};
    /// # fn f(mock: &MockUpstream) {
    /// mock.script("gpt-a", [Behaviour::status(429).retry_after(1), Behaviour::ok()]);
    /// # }
    /// ```
    pub fn script(&self, model: &str, sequence: impl IntoIterator<Item = Behaviour>) {
        self.shared.script_sequence(model, sequence);
    }

    /// Steps of `model`'s [`MockUpstream::script`] sequence not yet used.
    pub fn script_remaining(&self, model: &str) -> usize {
        self.shared.script_remaining(model)
    }

    /// Releases streams held by [`Behaviour::pause_after_chunks`]: every
    /// stream paused now, and every stream whose request arrived before this
    /// call and has not reached its pause yet (so a resume that races ahead
    /// of the pause is not lost). Requests arriving later pause as scripted.
    pub fn resume(&self) {
        self.shared.resume();
    }

    /// SSE events written so far across all streams of both dialects
    /// (OpenAI: role, content, finish and usage chunks, and `[DONE]`;
    /// Anthropic: every event, `ping` included).
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
