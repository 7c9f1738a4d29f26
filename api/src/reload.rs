//! Reloading the config in place: SIGHUP, `POST /admin/config/reload`, or
//! [`crate::RunningGateway::reload`].
//!
//! The file is read and validated first; a file that does not load, or that changes what only
//! a restart can change (the servers' setup, storage, the key pepper), is refused with the
//! reason and the running config goes on serving. Otherwise a new plane is built and swapped
//! in (see `generation`): requests and streams in flight finish on the plane they started
//! with, and no connection is closed. The limiter carries over when its backend and failure
//! policy are unchanged, so a reload resets no rate limit and forgets no reservation. The TLS
//! certificate files are read again too. Reloads are serialized: they run on the actix
//! `System`'s own thread.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::web;
use portcullis_config::{Config, LimiterBackend, StorageConfig};
use secrecy::ExposeSecret;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use crate::generation::{Ground, Plane, PlaneTasks, Servers};
use crate::governance::LimiterCarry;
use crate::metrics;
use crate::server::StartError;
use crate::stores::Stores;
use crate::tls::{ReloadableCert, TlsError};

/// Resolves a secret reference's variable.
type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where a reload reads the config from.
#[derive(Clone)]
pub struct ConfigSource {
    path: PathBuf,
    env: Arc<EnvLookup>,
}

impl std::fmt::Debug for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSource")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ConfigSource {
    /// The file at `path`, its secret references resolved from the process environment.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::file_with_env(path, portcullis_config::process_env)
    }

    /// The file at `path`, its secret references resolved through `env` (tests).
    pub fn file_with_env(
        path: impl Into<PathBuf>,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            path: path.into(),
            env: Arc::new(env),
        }
    }

    fn load(&self) -> Result<(Config, String), ReloadError> {
        Config::load_versioned(&self.path, &*self.env)
            .map_err(|e| ReloadError::Invalid(e.to_string()))
    }
}

/// Why a reload did not happen. The running config goes on serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("this gateway was not started from a config file, so there is nothing to reload")]
    NoSource,
    #[error("the config was not reloaded: {0}")]
    Invalid(String),
    #[error("the config was not reloaded: {0} changed, which takes a restart")]
    NeedsRestart(&'static str),
    #[error("the config was not reloaded: it could not start: {0}")]
    Start(String),
    #[error("the gateway is stopping")]
    Stopping,
}

/// What the admin API says about the loaded config.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigStatus {
    /// `sha256:` and 16 hex digits of the loaded file; `null` when the gateway was started
    /// from a config in memory.
    pub version: Option<String>,
    /// Unix seconds at which the running config was loaded.
    pub loaded_at: u64,
    /// Successful reloads since start.
    pub reloads: u64,
    /// Whether a reload has a file to read.
    pub reloadable: bool,
}

/// The gateway's lifecycle: its servers, the running plane's tasks, what outlives planes,
/// and reloads.
pub(crate) struct Reloader {
    stores: Stores,
    started_unix: u64,
    random_pepper: zeroize::Zeroizing<Vec<u8>>,
    inner: Mutex<Inner>,
    /// Set once the gateway stopped, with the first server error if any.
    stopped: watch::Sender<Option<Result<(), String>>>,
}

struct Inner {
    servers: Option<Servers>,
    /// The running plane's tasks.
    current: Option<PlaneTasks>,
    /// Replaced planes' spend writers, which finish once their last request is done.
    retired: Vec<PlaneTasks>,
    /// The running config, for what a reload may not change.
    config: Config,
    source: Option<ConfigSource>,
    status: ConfigStatus,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader").finish_non_exhaustive()
    }
}

impl Reloader {
    /// Builds the first plane and starts the servers. Must run on the actix `System`'s own
    /// thread. Returns the reloader and the listeners' addresses.
    pub(crate) fn start(
        config: &Config,
        stores: Stores,
        random_pepper: Vec<u8>,
    ) -> Result<(web::Data<Reloader>, SocketAddr, SocketAddr), StartError> {
        let now = unix_now();
        let (stopped, _) = watch::channel(None);
        let reloader = web::Data::new(Reloader {
            stores,
            started_unix: now,
            random_pepper: zeroize::Zeroizing::new(random_pepper),
            inner: Mutex::new(Inner {
                servers: None,
                current: None,
                retired: Vec::new(),
                config: config.clone(),
                source: None,
                status: ConfigStatus {
                    version: None,
                    loaded_at: now,
                    reloads: 0,
                    reloadable: false,
                },
            }),
            stopped,
        });
        let (plane, tasks) = Plane::build(0, config, reloader.ground(None))?;
        let servers = Servers::start(config, plane, reloader.clone())?;
        let addrs = (servers.public_addr, servers.admin_addr);
        {
            let mut inner = reloader.lock();
            inner.servers = Some(servers);
            inner.current = Some(tasks);
        }
        Ok((reloader, addrs.0, addrs.1))
    }

    fn ground(&self, limiter: Option<LimiterCarry>) -> Ground<'_> {
        Ground {
            stores: &self.stores,
            started_unix: self.started_unix,
            random_pepper: &self.random_pepper,
            limiter,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reloads read `source` from now on; `version` is the running config's.
    pub(crate) fn set_source(&self, source: ConfigSource, version: Option<String>) {
        let mut inner = self.lock();
        inner.source = Some(source);
        inner.status.reloadable = true;
        if version.is_some() {
            inner.status.version = version;
        }
    }

    pub(crate) fn status(&self) -> ConfigStatus {
        self.lock().status.clone()
    }

    /// Reloads from the config source, on the `System`'s thread; safe to call from any
    /// actix thread (the admin listener's worker, a test).
    pub(crate) async fn reload(this: &web::Data<Self>) -> Result<ConfigStatus, ReloadError> {
        let (tx, rx) = oneshot::channel();
        let reloader = this.clone();
        actix_web::rt::System::current()
            .arbiter()
            .spawn(async move {
                let _ = tx.send(reloader.reload_now());
            });
        rx.await.map_err(|_| ReloadError::Stopping)?
    }

    /// The reload itself; runs on the `System`'s thread.
    fn reload_now(&self) -> Result<ConfigStatus, ReloadError> {
        let Some(source) = self.lock().source.clone() else {
            return Err(ReloadError::NoSource);
        };
        let outcome = source
            .load()
            .and_then(|(config, version)| self.replace(&config, version));
        match &outcome {
            Ok(status) => {
                metrics::config_reload(true);
                tracing::info!(
                    version = status.version.as_deref().unwrap_or(""),
                    "config reloaded"
                );
            }
            Err(e) => {
                metrics::config_reload(false);
                tracing::error!("{e}; the running config stays");
            }
        }
        outcome
    }

    /// Builds a plane for `config` and swaps it in.
    fn replace(&self, config: &Config, version: String) -> Result<ConfigStatus, ReloadError> {
        let (carry, id) = {
            let inner = self.lock();
            let (Some(servers), Some(current)) = (&inner.servers, &inner.current) else {
                return Err(ReloadError::Stopping);
            };
            if let Some(field) = restart_only_change(&inner.config, config) {
                return Err(ReloadError::NeedsRestart(field));
            }
            let carry = same_limiter(&inner.config, config).then(|| current.limiter.clone());
            (carry, servers.planes.next_id())
        };
        let (plane, tasks) = Plane::build(id, config, self.ground(carry))
            .map_err(|e| ReloadError::Start(e.to_string()))?;
        let mut inner = self.lock();
        let Some(servers) = &inner.servers else {
            return Err(ReloadError::Stopping);
        };
        servers.planes.swap(plane);
        // The same certificate files, read again (their paths cannot change without a restart).
        let certs = servers.certs.clone();
        if let Some(old) = inner.current.replace(tasks) {
            old.retire();
            inner.retired.push(old);
        }
        inner.config = config.clone();
        inner.status.version = Some(version);
        inner.status.loaded_at = unix_now();
        inner.status.reloads += 1;
        let status = inner.status.clone();
        drop(inner);
        let _ = reload_certs(&certs);
        Ok(status)
    }

    /// What SIGHUP does: reload the config when there is a file to read it from, otherwise
    /// read the TLS certificates again.
    pub(crate) fn hangup(&self) {
        if self.lock().source.is_some() {
            let _ = self.reload_now();
        } else {
            let _ = self.reload_tls();
        }
    }

    /// Reads the listeners' certificate files again (see `tls`).
    pub(crate) fn reload_tls(&self) -> Result<usize, TlsError> {
        let certs = self
            .lock()
            .servers
            .as_ref()
            .map(|s| s.certs.clone())
            .unwrap_or_default();
        reload_certs(&certs)
    }

    /// Stops the servers (`graceful`: after the requests and streams they hold, whichever
    /// plane they run on), then every plane's tasks; later reloads are refused.
    pub(crate) async fn stop(&self, graceful: bool) {
        let (servers, planes) = {
            let mut inner = self.lock();
            let mut planes = std::mem::take(&mut inner.retired);
            planes.extend(inner.current.take());
            (inner.servers.take(), planes)
        };
        let Some(servers) = servers else {
            return;
        };
        let result = servers.stop(graceful).await.map_err(|e| e.to_string());
        for plane in planes {
            plane.retire();
            plane.spend_task.shutdown().await;
        }
        self.stopped.send_replace(Some(result));
    }

    /// Waits until [`Reloader::stop`] finished; returns the first server error.
    pub(crate) async fn stopped(&self) -> std::io::Result<()> {
        let mut rx = self.stopped.subscribe();
        let done = rx.wait_for(Option::is_some).await;
        match done.as_deref() {
            Ok(Some(Err(e))) => Err(std::io::Error::other(e.clone())),
            _ => Ok(()),
        }
    }
}

/// Reloads each certificate, counting and logging each result; the first failure is returned
/// after every one was tried.
fn reload_certs(certs: &[Arc<ReloadableCert>]) -> Result<usize, TlsError> {
    let mut first_error = None;
    for cert in certs {
        let listener = cert.listener();
        match cert.reload() {
            Ok(()) => {
                metrics::tls_reload(listener, true);
                tracing::info!(listener, "TLS certificate reloaded");
            }
            Err(e) => {
                metrics::tls_reload(listener, false);
                tracing::error!(listener, error = %e, "TLS certificate not reloaded; the previous one stays in use");
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(certs.len()), Err)
}

/// The first setting a reload may not change, if `next` changes one.
fn restart_only_change(running: &Config, next: &Config) -> Option<&'static str> {
    let (a, b) = (&running.server, &next.server);
    let servers = [
        ("server.listen", a.listen == b.listen),
        ("server.admin_listen", a.admin_listen == b.admin_listen),
        ("server.workers", a.workers == b.workers),
        (
            "server.max_connections",
            a.max_connections == b.max_connections,
        ),
        ("server.keep_alive", a.keep_alive == b.keep_alive),
        (
            "server.header_timeout",
            a.header_timeout == b.header_timeout,
        ),
        (
            "server.shutdown_timeout",
            a.shutdown_timeout == b.shutdown_timeout,
        ),
        ("server.tls", a.tls == b.tls),
        ("server.admin_tls", a.admin_tls == b.admin_tls),
    ];
    if let Some((field, _)) = servers.iter().find(|(_, same)| !same) {
        return Some(field);
    }
    let same_storage = match (&running.storage, &next.storage) {
        (StorageConfig::Memory, StorageConfig::Memory) => true,
        (StorageConfig::Sqlite { path: a }, StorageConfig::Sqlite { path: b }) => a == b,
        (
            StorageConfig::Postgres {
                url: a,
                pool_size: pa,
            },
            StorageConfig::Postgres {
                url: b,
                pool_size: pb,
            },
        ) => a.expose_secret() == b.expose_secret() && pa == pb,
        _ => false,
    };
    if !same_storage {
        return Some("storage");
    }
    let same_pepper = match (&running.key_pepper, &next.key_pepper) {
        (None, None) => true,
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        _ => false,
    };
    if !same_pepper {
        return Some("auth.key_pepper");
    }
    None
}

/// Whether `next` can go on with `running`'s limiter: the same backend, reached the same
/// way, with the same failure policy.
fn same_limiter(running: &Config, next: &Config) -> bool {
    let same_backend = match (&running.limits.backend, &next.limits.backend) {
        (LimiterBackend::Memory, LimiterBackend::Memory) => true,
        (LimiterBackend::Redis(a), LimiterBackend::Redis(b)) => {
            a.url.expose_secret() == b.url.expose_secret()
                && a.cluster == b.cluster
                && a.timeout == b.timeout
        }
        _ => false,
    };
    same_backend && running.limits.failure == next.limits.failure
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
