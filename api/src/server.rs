//! Starting a gateway: storage once, the listeners once, then the first config generation
//! (`generation`): the shared actors, the public and admin servers. A reload (`reload`)
//! launches a new generation on the same listeners and drains the old one. The admin listener
//! is a separate server so its routes can never be reached through the public address.
//! Storage is opened once ([`Stores`]); each generation's spend writer writes what it still
//! holds when that generation stops.

use std::net::SocketAddr;

use actix_web::web;
use portcullis_config::Config;
use portcullis_storage::StorageError;

use crate::keygen;
use crate::reload::{ConfigSource, ConfigStatus, ReloadError, Reloader};
use crate::stores::Stores;
use crate::tls::TlsError;

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not bind {what} listener {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the OS random number generator failed")]
    Random,
    #[error("virtual key `{0}` is the same as another key or the master key")]
    DuplicateKey(String),
    #[error("could not install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("could not build upstream clients: {0}")]
    Upstream(#[from] portcullis_engine::EngineError),
    #[error("could not open storage: {0}")]
    Storage(#[from] StorageError),
    #[error("auth.key_pepper is required with durable ({0}) storage")]
    PepperRequired(&'static str),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Options that are not part of the config file.
#[derive(Debug, Clone, Copy)]
pub struct StartOptions {
    /// Stop both listeners gracefully on SIGINT or SIGTERM (the binary): stop accepting,
    /// drain in-flight requests and streams for up to `server.shutdown_timeout`, then close.
    /// (actix-web's own handling treats SIGINT as a fast stop, so the gateway installs its own.)
    /// Also reload on SIGHUP: the config when [`RunningGateway::reload_from`] named its file,
    /// otherwise the listeners' TLS certificates.
    pub handle_signals: bool,
}

/// A started gateway. Dropping it does not stop it; call [`RunningGateway::stop`].
#[derive(Debug)]
pub struct RunningGateway {
    pub public_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    reloader: web::Data<Reloader>,
}

impl RunningGateway {
    /// Stops both listeners; `graceful` lets in-flight requests finish first (those of a
    /// config replaced by a reload too).
    pub async fn stop(self, graceful: bool) {
        self.reloader.stop(graceful).await;
    }

    /// Waits until the gateway has stopped (e.g. after a signal); returns the first error
    /// a listener ended with.
    pub async fn wait(self) -> std::io::Result<()> {
        self.reloader.stopped().await
    }

    /// Reloads from now on read the config from `source` (SIGHUP, `POST
    /// /admin/config/reload`); `version` is the running config's
    /// ([`Config::load_versioned`]).
    pub fn reload_from(&self, source: ConfigSource, version: Option<String>) {
        self.reloader.set_source(source, version);
    }

    /// Reloads the config from its source: see the `reload` module. On an error the running
    /// config goes on serving.
    pub async fn reload(&self) -> Result<ConfigStatus, ReloadError> {
        Reloader::reload(&self.reloader).await
    }

    /// The running config's version, load time and reload count.
    pub fn config_status(&self) -> ConfigStatus {
        self.reloader.status()
    }

    /// Reads every listener's certificate and key files again (what SIGHUP does for a
    /// gateway without a config file); a listener whose files do not load keeps its pair.
    /// Returns how many were reloaded, or the first failure.
    pub fn reload_tls(&self) -> Result<usize, TlsError> {
        self.reloader.reload_tls()
    }
}

/// Registers SIGINT, SIGTERM and SIGHUP handlers now (so a signal that arrives once `start`
/// returned is never the default "terminate at once"): SIGINT and SIGTERM stop both listeners
/// gracefully, SIGHUP reloads (see [`Reloader::hangup`]).
fn handle_signals(reloader: &web::Data<Reloader>) -> Result<(), StartError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(StartError::Signals)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(StartError::Signals)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(StartError::Signals)?;
    let stopping = reloader.clone();
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: draining"),
            _ = terminate.recv() => tracing::info!("SIGTERM: draining"),
        }
        stopping.stop(true).await;
    });
    let reloading = reloader.clone();
    actix_web::rt::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            reloading.hangup();
        }
    });
    Ok(())
}

/// Starts a gateway for `config` on memory or SQLite storage (PostgreSQL needs
/// [`start_async`]). Must be called inside an actix `System`.
pub fn start(config: &Config, options: StartOptions) -> Result<RunningGateway, StartError> {
    let stores = Stores::open_local(&config.storage)?;
    start_with_stores(config, options, stores)
}

/// Starts a gateway on any configured storage, PostgreSQL included.
pub async fn start_async(
    config: &Config,
    options: StartOptions,
) -> Result<RunningGateway, StartError> {
    let stores = Stores::open(&config.storage).await?;
    start_with_stores(config, options, stores)
}

/// Starts a gateway on storage the caller opened (tests share one database this way). Must
/// be called on the actix `System`'s own thread.
pub fn start_with_stores(
    config: &Config,
    options: StartOptions,
    stores: Stores,
) -> Result<RunningGateway, StartError> {
    let random_pepper = keygen::random_bytes()
        .map_err(|_| StartError::Random)?
        .to_vec();
    tracing::info!(backend = stores.backend, "storage opened");
    let (reloader, public_addr, admin_addr) = Reloader::start(config, stores, random_pepper)?;
    if options.handle_signals {
        handle_signals(&reloader)?;
    }
    tracing::info!(%public_addr, %admin_addr, "portcullis listening");
    Ok(RunningGateway {
        public_addr,
        admin_addr,
        reloader,
    })
}
