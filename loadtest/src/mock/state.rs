//! State shared by the mock's handle and every connection task.
//!
//! The hot path (an unscripted request with recording off) touches only
//! atomics: scripts and per-model counts are looked up only once something
//! has been scripted or recording is on, and no lock is ever held across an
//! `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::bedrock_sigv4::AwsCredentials;
use super::script::ModelScripts;
use super::vertex_token::Issuer;
use super::{Behaviour, MockOptions, RecordedRequest};

/// Which route a request hit, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/embeddings` (or Azure's deployment path).
    Embeddings,
    /// A Gemini `generateContent` / `streamGenerateContent` call.
    Gemini,
    /// `POST /model/{id}/converse` and `/converse-stream` (Bedrock).
    Converse,
    /// Anything else.
    Other,
}

/// Counters, scripts, recordings and the resume gate.
#[derive(Debug)]
pub(crate) struct Shared {
    record: bool,
    /// The exact `Authorization` value expected, if any.
    expected_auth: Option<Box<[u8]>>,
    /// The exact `x-api-key` value expected, if any.
    expected_key: Option<Box<[u8]>>,
    default: Arc<Behaviour>,
    total: AtomicU64,
    chat: AtomicU64,
    messages: AtomicU64,
    embeddings: AtomicU64,
    gemini: AtomicU64,
    converse: AtomicU64,
    /// Credentials Bedrock requests must be signed with, once a test sets them.
    aws: Mutex<Option<AwsCredentials>>,
    chunks: AtomicU64,
    ids: AtomicU64,
    /// Set once anything is scripted, so unscripted runs skip the locks.
    scripted: AtomicBool,
    queue: Mutex<VecDeque<Arc<Behaviour>>>,
    models: Mutex<ModelScripts>,
    recorded: Mutex<Vec<RecordedRequest>>,
    /// The Vertex AI token endpoint, once a test configured one.
    issuer: Mutex<Option<Issuer>>,
    /// Generation counter bumped by every `resume()`.
    resume: watch::Sender<u64>,
    /// Requests answered by a behaviour with a `fail_percent`.
    partial: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(opts: &MockOptions) -> Self {
        Self {
            record: opts.record,
            expected_auth: opts
                .expect_api_key
                .as_ref()
                .map(|k| format!("Bearer {k}").into_bytes().into_boxed_slice()),
            expected_key: opts
                .expect_api_key
                .as_ref()
                .map(|k| k.as_bytes().to_vec().into_boxed_slice()),
            default: Arc::new(opts.default.clone()),
            total: AtomicU64::new(0),
            chat: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            embeddings: AtomicU64::new(0),
            gemini: AtomicU64::new(0),
            converse: AtomicU64::new(0),
            aws: Mutex::new(None),
            chunks: AtomicU64::new(0),
            ids: AtomicU64::new(0),
            scripted: AtomicBool::new(false),
            queue: Mutex::new(VecDeque::new()),
            models: Mutex::new(ModelScripts::default()),
            recorded: Mutex::new(Vec::new()),
            issuer: Mutex::new(None),
            resume: watch::Sender::new(0),
            partial: AtomicU64::new(0),
        }
    }

    pub(crate) fn records(&self) -> bool {
        self.record
    }

    /// Whether an `Authorization` header value passes the key check.
    pub(crate) fn authorized(&self, header: Option<&[u8]>) -> bool {
        match &self.expected_auth {
            None => true,
            Some(expected) => header == Some(&expected[..]),
        }
    }

    /// Whether an `x-api-key` header value passes the key check.
    pub(crate) fn key_accepted(&self, header: Option<&[u8]>) -> bool {
        match &self.expected_key {
            None => true,
            Some(expected) => header == Some(&expected[..]),
        }
    }

    /// Turns the token endpoint on (replacing any earlier issuer).
    pub(crate) fn set_issuer(&self, issuer: Issuer) {
        *lock(&self.issuer) = Some(issuer);
    }

    /// Tokens the token endpoint minted so far.
    pub(crate) fn tokens_minted(&self) -> u64 {
        lock(&self.issuer).as_ref().map_or(0, Issuer::minted)
    }

    /// Whether an `Authorization` value carries a live token the endpoint minted.
    pub(crate) fn vertex_token_accepted(&self, header: Option<&[u8]>) -> bool {
        lock(&self.issuer)
            .as_ref()
            .is_some_and(|i| i.accepts(header))
    }

    /// Answers a token request for `audience`: `None` when no issuer is configured.
    pub(crate) fn grant_token(&self, audience: &str, form: &[u8]) -> Option<(u16, bytes::Bytes)> {
        lock(&self.issuer).as_mut().map(|i| i.grant(audience, form))
    }

    /// Counts a request on any route.
    pub(crate) fn count(&self, route: Route) {
        self.total.fetch_add(1, Ordering::Relaxed);
        match route {
            Route::Chat => self.chat.fetch_add(1, Ordering::Relaxed),
            Route::Messages => self.messages.fetch_add(1, Ordering::Relaxed),
            Route::Embeddings => self.embeddings.fetch_add(1, Ordering::Relaxed),
            Route::Gemini => self.gemini.fetch_add(1, Ordering::Relaxed),
            Route::Converse => self.converse.fetch_add(1, Ordering::Relaxed),
            Route::Other => 0,
        };
    }

    pub(crate) fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    pub(crate) fn embeddings(&self) -> u64 {
        self.embeddings.load(Ordering::Relaxed)
    }

    pub(crate) fn gemini(&self) -> u64 {
        self.gemini.load(Ordering::Relaxed)
    }

    pub(crate) fn converse(&self) -> u64 {
        self.converse.load(Ordering::Relaxed)
    }

    pub(crate) fn set_aws_credentials(&self, credentials: AwsCredentials) {
        *lock(&self.aws) = Some(credentials);
    }

    pub(crate) fn aws_credentials(&self) -> Option<AwsCredentials> {
        lock(&self.aws).clone()
    }

    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn chat(&self) -> u64 {
        self.chat.load(Ordering::Relaxed)
    }

    pub(crate) fn count_chunk(&self) {
        self.chunks.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn chunks(&self) -> u64 {
        self.chunks.load(Ordering::Relaxed)
    }

    /// A fresh number for `chatcmpl-mock-N` ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn push_record(&self, r: RecordedRequest) {
        lock(&self.recorded).push(r);
    }

    pub(crate) fn recorded(&self) -> Vec<RecordedRequest> {
        lock(&self.recorded).clone()
    }

    /// Forgets recordings and zeroes the counters.
    pub(crate) fn clear(&self) {
        lock(&self.recorded).clear();
        self.total.store(0, Ordering::Relaxed);
        self.chat.store(0, Ordering::Relaxed);
        self.messages.store(0, Ordering::Relaxed);
        self.embeddings.store(0, Ordering::Relaxed);
        self.gemini.store(0, Ordering::Relaxed);
        self.converse.store(0, Ordering::Relaxed);
        self.chunks.store(0, Ordering::Relaxed);
        lock(&self.models).clear_counts();
    }

    pub(crate) fn script_next(&self, b: Behaviour) {
        lock(&self.queue).push_back(Arc::new(b));
        self.scripted.store(true, Ordering::Release);
    }

    pub(crate) fn script_model(&self, model: &str, b: Behaviour) {
        lock(&self.models).set_standing(model, b);
        self.scripted.store(true, Ordering::Release);
    }

    pub(crate) fn script_sequence(&self, model: &str, seq: impl IntoIterator<Item = Behaviour>) {
        lock(&self.models).set_sequence(model, seq);
        self.scripted.store(true, Ordering::Release);
    }

    pub(crate) fn clear_scripts(&self) {
        lock(&self.queue).clear();
        lock(&self.models).clear_scripts();
    }

    pub(crate) fn model_requests(&self, model: &str) -> u64 {
        lock(&self.models).requests(model)
    }

    pub(crate) fn script_remaining(&self, model: &str) -> usize {
        lock(&self.models).remaining(model)
    }

    /// The behaviour for a request naming `model`: the script queue, then the
    /// model's sequence, then its standing script, then the default. Counts
    /// the request for `model` unless nothing is scripted and recording is
    /// off (the load-test hot path).
    pub(crate) fn behaviour_for(&self, model: &str) -> Arc<Behaviour> {
        let scripted = self.scripted.load(Ordering::Acquire);
        if !scripted && !self.record {
            return self.partially(Arc::clone(&self.default));
        }
        let queued = if scripted {
            lock(&self.queue).pop_front()
        } else {
            None
        };
        let from_model = lock(&self.models).step(model, scripted && queued.is_none());
        self.partially(
            queued
                .or(from_model)
                .unwrap_or_else(|| Arc::clone(&self.default)),
        )
    }

    /// Applies a behaviour's `fail_percent`: its error for that share of
    /// requests, spread evenly, success for the rest.
    fn partially(&self, b: Arc<Behaviour>) -> Arc<Behaviour> {
        let Some(percent) = b.fail_percent.filter(|p| *p < 100) else {
            return b;
        };
        let n = self.partial.fetch_add(1, Ordering::Relaxed) + 1;
        let p = u64::from(percent);
        if n * p / 100 > (n - 1) * p / 100 {
            b
        } else {
            Arc::new(b.spared())
        }
    }

    /// The resume generation now; a stream snapshots it when it arrives.
    pub(crate) fn resume_generation(&self) -> u64 {
        *self.resume.borrow()
    }

    pub(crate) fn resume(&self) {
        self.resume.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Waits until `resume()` has been called after generation `seen` was
    /// read. Returns at once if it already has.
    pub(crate) async fn resumed_since(&self, seen: u64) {
        let mut rx = self.resume.subscribe();
        // The sender lives as long as `self`, so this cannot fail; if it
        // somehow did, not pausing is the harmless outcome.
        let _ = rx.wait_for(|g| *g != seen).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared::new(&MockOptions::default())
    }

    fn status(code: u16) -> Behaviour {
        Behaviour {
            status: Some(code),
            ..Behaviour::default()
        }
    }

    #[test]
    fn fail_percent_fails_that_share_of_requests_evenly() {
        let shared = Shared::new(&MockOptions {
            default: Behaviour {
                status: Some(500),
                fail_percent: Some(50),
                ..Behaviour::default()
            },
            ..MockOptions::default()
        });
        let statuses: Vec<_> = (0..10)
            .map(|_| shared.behaviour_for("m").error_status())
            .collect();
        let failed = statuses.iter().filter(|s| s.is_some()).count();
        assert_eq!(failed, 5, "{statuses:?}");
        assert!(
            statuses.windows(2).all(|w| w[0] != w[1]),
            "alternates: {statuses:?}"
        );
    }

    #[test]
    fn queue_wins_over_model_script_which_wins_over_default() {
        let s = shared();
        s.script_model("a", status(500));
        s.script_next(status(429));
        assert_eq!(s.behaviour_for("a").status, Some(429));
        assert_eq!(s.behaviour_for("a").status, Some(500));
        assert_eq!(s.behaviour_for("b").status, None);
        s.clear_scripts();
        assert_eq!(s.behaviour_for("a").status, None);
    }

    #[test]
    fn auth_check_compares_the_whole_bearer_value() {
        let s = Shared::new(&MockOptions {
            expect_api_key: Some("sk-1".into()),
            ..MockOptions::default()
        });
        assert!(s.authorized(Some(b"Bearer sk-1")));
        assert!(!s.authorized(Some(b"Bearer sk-12")));
        assert!(!s.authorized(None));
        assert!(shared().authorized(None));
        assert!(s.key_accepted(Some(b"sk-1")));
        assert!(!s.key_accepted(Some(b"Bearer sk-1")));
        assert!(!s.key_accepted(None));
        assert!(shared().key_accepted(None));
    }

    #[test]
    fn model_sequence_comes_after_the_queue_and_counts_every_request() {
        let s = shared();
        s.script_sequence("a", [status(500), status(502)]);
        s.script_next(status(429));
        assert_eq!(s.behaviour_for("a").status, Some(429));
        assert_eq!(s.behaviour_for("a").status, Some(500));
        assert_eq!(s.behaviour_for("a").status, Some(502));
        assert_eq!(s.behaviour_for("a").status, None);
        assert_eq!(s.model_requests("a"), 4);
        s.clear();
        assert_eq!(s.model_requests("a"), 0);
    }

    #[test]
    fn concurrent_requests_each_take_one_step() {
        let s = Arc::new(shared());
        s.script_sequence("a", (0..200).map(|i| status(1000 + i)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    (0..50)
                        .map(|_| s.behaviour_for("a").status.unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen: Vec<u16> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (1000..1200).collect::<Vec<u16>>());
        assert_eq!(s.model_requests("a"), 200);
    }

    #[tokio::test]
    async fn resume_before_the_wait_is_not_lost() {
        let s = shared();
        let seen = s.resume_generation();
        s.resume();
        tokio::time::timeout(std::time::Duration::from_secs(5), s.resumed_since(seen))
            .await
            .unwrap();
    }
}
