//! `server:` — the two listeners and the limits enforced on the data plane.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use portcullis_engine::ChatLimits;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use crate::Mode;
use crate::check::Checker;

mod chat_limits;
mod transport;

pub use transport::{CorsConfig, TlsFiles};

/// The two HTTP listeners and the request limits enforced on the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Public data-plane listener.
    pub listen: SocketAddr,
    /// Admin listener (`/metrics`, `/health/ready`, admin API); loopback in production.
    pub admin_listen: SocketAddr,
    /// actix-web worker threads; always at least 1 (a configured 0 means "one per core").
    pub workers: usize,
    /// Request body cap in bytes.
    pub max_body_bytes: usize,
    /// JSON nesting cap for request bodies.
    pub max_json_depth: usize,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Longest time a client may take to send the request head (slow headers: 408, closed).
    pub header_timeout: Duration,
    /// Longest time a request body may take to arrive (slow bodies: 408).
    pub body_timeout: Duration,
    /// Idle keep-alive before a connection is closed.
    pub keep_alive: Duration,
    /// Most concurrent connections per worker on the public listener.
    pub max_connections: usize,
    /// Longest request target (path and query), in bytes: longer is a 414.
    pub max_url_bytes: usize,
    /// Most request headers: more is a 431. (actix-http itself refuses more than 96.)
    pub max_headers: usize,
    /// Largest sum of header name and value lengths, in bytes: larger is a 431.
    pub max_header_bytes: usize,
    /// Maxima on a chat request's messages and cost multipliers (`server.chat_limits`).
    pub chat_limits: ChatLimits,
    /// TLS on the public listener (`server.tls`); plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// TLS on the admin listener (`server.admin_tls`); plain HTTP when `None`.
    pub admin_tls: Option<TlsFiles>,
    /// Cross-origin access to the public listener (`server.cors`); off when `None`.
    pub cors: Option<CorsConfig>,
}

impl ServerConfig {
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000));
    pub const DEFAULT_ADMIN_LISTEN: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4001));
    pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
    pub const MAX_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
    pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;
    pub const MAX_MAX_JSON_DEPTH: usize = 512;
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
    pub const MAX_WORKERS: usize = 1024;
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(75);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
    pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;
    pub const DEFAULT_MAX_URL_BYTES: usize = 8 * 1024;
    /// Below actix-http's own 128 KiB cap on a request head, so the gateway's limit answers.
    pub const MAX_MAX_URL_BYTES: usize = 64 * 1024;
    pub const DEFAULT_MAX_HEADERS: usize = 64;
    /// actix-http parses at most 96 headers.
    pub const MAX_MAX_HEADERS: usize = 96;
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;
    pub const MAX_MAX_HEADER_BYTES: usize = 64 * 1024;
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: Self::DEFAULT_LISTEN,
            admin_listen: Self::DEFAULT_ADMIN_LISTEN,
            workers: default_workers(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_json_depth: Self::DEFAULT_MAX_JSON_DEPTH,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            keep_alive: Self::DEFAULT_KEEP_ALIVE,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_url_bytes: Self::DEFAULT_MAX_URL_BYTES,
            max_headers: Self::DEFAULT_MAX_HEADERS,
            max_header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            chat_limits: ChatLimits::default(),
            tls: None,
            admin_tls: None,
            cors: None,
        }
    }
}

/// One worker per available core, or 1 when that cannot be determined.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    #[serde(default)]
    pub(crate) listen: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) admin_listen: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) workers: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) max_body_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) max_json_depth: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) shutdown_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) header_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) body_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) keep_alive: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) max_connections: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) max_url_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) max_headers: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) max_header_bytes: Option<Spanned<usize>>,
    pub(crate) chat_limits: Option<chat_limits::RawChatLimits>,
    #[serde(default)]
    pub(crate) tls: Option<transport::RawTls>,
    #[serde(default)]
    pub(crate) admin_tls: Option<transport::RawTls>,
    #[serde(default)]
    pub(crate) cors: Option<transport::RawCors>,
    /// Renamed to `shutdown_timeout`; kept only to say so.
    #[serde(default)]
    pub(crate) shutdown_timeout_secs: Option<IgnoredAny>,
}

impl Checker<'_> {
    pub(crate) fn server(&mut self, raw: RawServer, mode: Mode) -> ServerConfig {
        let listen = self.socket_addr(
            "server.listen",
            raw.listen.as_ref(),
            ServerConfig::DEFAULT_LISTEN,
        );
        let admin_listen = self.socket_addr(
            "server.admin_listen",
            raw.admin_listen.as_ref(),
            ServerConfig::DEFAULT_ADMIN_LISTEN,
        );
        let tls = self.tls("server.tls", raw.tls);
        let admin_tls = self.tls("server.admin_tls", raw.admin_tls);
        if mode == Mode::Production && !admin_listen.ip().is_loopback() && admin_tls.is_none() {
            self.problem(
                "server.admin_listen",
                raw.admin_listen.as_ref(),
                "must be a loopback address in production unless server.admin_tls is set (the admin listener serves /metrics and the admin API)",
            );
        }
        let cors = self.cors(raw.cors, mode);
        if listen == admin_listen && listen.port() != 0 {
            self.problem(
                "server.admin_listen",
                raw.admin_listen.as_ref(),
                "must differ from server.listen",
            );
        }
        let workers = match raw.workers {
            None => default_workers(),
            Some(ref w) if w.value == 0 => default_workers(),
            Some(ref w) if w.value > ServerConfig::MAX_WORKERS => {
                self.problem(
                    "server.workers",
                    Some(w),
                    format!("must be at most {}", ServerConfig::MAX_WORKERS),
                );
                1
            }
            Some(w) => w.value,
        };
        let max_body_bytes = self.bounded(
            "server.max_body_bytes",
            raw.max_body_bytes.as_ref(),
            ServerConfig::DEFAULT_MAX_BODY_BYTES,
            ServerConfig::MAX_MAX_BODY_BYTES,
        );
        let max_json_depth = self.bounded(
            "server.max_json_depth",
            raw.max_json_depth.as_ref(),
            ServerConfig::DEFAULT_MAX_JSON_DEPTH,
            ServerConfig::MAX_MAX_JSON_DEPTH,
        );
        self.renamed(
            "server.shutdown_timeout_secs",
            raw.shutdown_timeout_secs.as_ref(),
            "server.shutdown_timeout",
            "a duration such as 30s",
        );
        let shutdown_timeout = self.duration(
            "server.shutdown_timeout",
            raw.shutdown_timeout.as_ref(),
            ServerConfig::DEFAULT_SHUTDOWN_TIMEOUT,
        );
        type S = ServerConfig;
        let chat_limits = self.chat_limits(raw.chat_limits);
        ServerConfig {
            listen,
            admin_listen,
            workers,
            max_body_bytes,
            max_json_depth,
            shutdown_timeout,
            header_timeout: self.duration(
                "server.header_timeout",
                raw.header_timeout.as_ref(),
                S::DEFAULT_HEADER_TIMEOUT,
            ),
            body_timeout: self.duration(
                "server.body_timeout",
                raw.body_timeout.as_ref(),
                S::DEFAULT_BODY_TIMEOUT,
            ),
            keep_alive: self.duration(
                "server.keep_alive",
                raw.keep_alive.as_ref(),
                S::DEFAULT_KEEP_ALIVE,
            ),
            max_connections: self.bounded(
                "server.max_connections",
                raw.max_connections.as_ref(),
                S::DEFAULT_MAX_CONNECTIONS,
                S::MAX_MAX_CONNECTIONS,
            ),
            max_url_bytes: self.bounded(
                "server.max_url_bytes",
                raw.max_url_bytes.as_ref(),
                S::DEFAULT_MAX_URL_BYTES,
                S::MAX_MAX_URL_BYTES,
            ),
            max_headers: self.bounded(
                "server.max_headers",
                raw.max_headers.as_ref(),
                S::DEFAULT_MAX_HEADERS,
                S::MAX_MAX_HEADERS,
            ),
            max_header_bytes: self.bounded(
                "server.max_header_bytes",
                raw.max_header_bytes.as_ref(),
                S::DEFAULT_MAX_HEADER_BYTES,
                S::MAX_MAX_HEADER_BYTES,
            ),
            chat_limits,
            tls,
            admin_tls,
            cors,
        }
    }
}
