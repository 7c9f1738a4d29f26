//! Starting a gateway: the shared actors once, then the public and admin listeners.
//!
//! Provider actors and the key store are created here, once, before any `HttpServer`
//! factory runs; the factory (which runs per worker) builds only that worker's upstream
//! clients. The admin listener is a separate server so its routes can never be reached
//! through the public address. Storage is opened once ([`Stores`]) and the spend writer's
//! one task started once; stopping the gateway writes what the writer still holds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, middleware, web};
use portcullis_config::Config;
use portcullis_engine::{Providers, Router, UpstreamClients};
use portcullis_storage::{
    KeyHasher, KeyId, MemoryKeyStore, SpendWriter, SpendWriterConfig, SpendWriterTask,
    StorageError, VirtualKey,
};
use secrecy::ExposeSecret;

use crate::auth::Authenticator;
use crate::cors::{self, Cors};
use crate::governance::Governance;
use crate::http_limits::{self, HeadLimits};
use crate::keygen;
use crate::metrics;
use crate::routes::{fallback, table};
use crate::spend::SpendRecorder;
use crate::state::{AppState, RequestLimits};
use crate::stores::Stores;
use crate::tls::{ReloadableCert, TlsError};

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
    /// Also reload the listeners' TLS certificates on SIGHUP.
    pub handle_signals: bool,
}

/// A started gateway. Dropping it does not stop it; call [`RunningGateway::stop`].
#[derive(Debug)]
pub struct RunningGateway {
    pub public_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    public: ServerHandle,
    admin: ServerHandle,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    spend_task: SpendWriterTask,
    certs: Vec<Arc<ReloadableCert>>,
}

impl RunningGateway {
    /// Reads every listener's certificate and key files again (what SIGHUP does); a listener
    /// whose files do not load keeps its pair. Returns how many were reloaded, or the first
    /// failure.
    pub fn reload_tls(&self) -> Result<usize, TlsError> {
        reload_certs(&self.certs)
    }

    /// Stops both listeners; `graceful` lets in-flight requests finish first.
    pub async fn stop(self, graceful: bool) {
        self.public.stop(graceful).await;
        self.admin.stop(graceful).await;
        for task in self.tasks {
            let _ = task.await;
        }
        self.spend_task.shutdown().await;
    }

    /// Waits until both listeners have stopped (e.g. after a signal).
    pub async fn wait(self) -> std::io::Result<()> {
        let mut result = Ok(());
        for task in self.tasks {
            if let Err(e) = task.await.map_err(std::io::Error::other).and_then(|r| r) {
                result = Err(e);
            }
        }
        self.spend_task.shutdown().await;
        result
    }
}

/// Registers SIGINT and SIGTERM handlers now (so a signal that arrives once `start` returned
/// is never the default "terminate at once") and stops both listeners gracefully on either.
fn drain_on_signal(public: ServerHandle, admin: ServerHandle) -> Result<(), StartError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(StartError::Signals)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(StartError::Signals)?;
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: draining"),
            _ = terminate.recv() => tracing::info!("SIGTERM: draining"),
        }
        tokio::join!(public.stop(true), admin.stop(true));
    });
    Ok(())
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

/// Registers SIGHUP now and reloads the listeners' certificates on each one.
fn reload_on_hangup(certs: Vec<Arc<ReloadableCert>>) -> Result<(), StartError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).map_err(StartError::Signals)?;
    actix_web::rt::spawn(async move {
        while hangup.recv().await.is_some() {
            if certs.is_empty() {
                tracing::info!("SIGHUP: no TLS listener, nothing to reload");
                continue;
            }
            let _ = reload_certs(&certs);
        }
    });
    Ok(())
}

/// actix-web takes the graceful-shutdown deadline in whole seconds: round up, so a
/// sub-second setting still drains instead of cutting every stream at once.
fn shutdown_secs(timeout: Duration) -> u64 {
    timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)
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

/// Starts a gateway on storage the caller opened (tests share one database this way).
pub fn start_with_stores(
    config: &Config,
    options: StartOptions,
    stores: Stores,
) -> Result<RunningGateway, StartError> {
    if stores.backend != "memory" && config.key_pepper.is_none() {
        return Err(StartError::PepperRequired(stores.backend));
    }
    let prometheus = metrics::install();
    let pepper = match &config.key_pepper {
        Some(p) => zeroize::Zeroizing::new(p.expose_secret().as_bytes().to_vec()),
        None => zeroize::Zeroizing::new(
            keygen::random_bytes()
                .map_err(|_| StartError::Random)?
                .to_vec(),
        ),
    };
    let hasher = KeyHasher::new(&pepper);
    let master = config
        .master_key
        .as_ref()
        .map(|k| k.expose_secret().to_owned())
        .map(zeroize::Zeroizing::new);
    let master_hash = master.as_ref().map(|m| hasher.hash(m));
    let store = MemoryKeyStore::new();
    for key in &config.keys {
        let hash = hasher.hash(key.key.expose_secret());
        let id = KeyId::parse(&key.name).map_err(|_| StartError::DuplicateKey(key.name.clone()))?;
        let mut record = VirtualKey::new(id, key.models.clone());
        record.key_scope.rpm = key.limits.rpm;
        record.key_scope.tpm = key.limits.tpm;
        record.key_scope.max_parallel = key.limits.max_parallel;
        record.key_scope.budget = key.limits.budget;
        if Some(hash) == master_hash || store.insert(hash, record).is_err() {
            return Err(StartError::DuplicateKey(key.name.clone()));
        }
    }
    let auth = Authenticator::new(hasher, Arc::new(store), master.as_ref().map(|m| m.as_str()))
        .with_stored(Arc::clone(&stores.keys));
    crate::invalidation::start(config, &auth);
    let (writer, spend_task) =
        SpendWriter::spawn(Arc::clone(&stores.spend), SpendWriterConfig::default());
    let spend = SpendRecorder::new(config, writer);
    tracing::info!(backend = stores.backend, "storage opened");
    if config.master_key.is_none() {
        tracing::warn!("no master key configured: the admin listener refuses every request");
    }
    let providers = Providers::new(&config.gateway)?;
    // A trial build, so a client that cannot be built fails start-up, not a worker.
    UpstreamClients::new(&providers)?;
    let router = Router::start(&config.gateway);
    let models: Vec<Arc<str>> = config
        .gateway
        .groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    let providers_n = config.gateway.providers.len();
    let chat_metrics = metrics::ChatMetrics::new(metrics::ROUTE_CHAT, &models, providers_n);
    let embedding_metrics =
        metrics::ChatMetrics::new(metrics::ROUTE_EMBEDDINGS, &models, providers_n);
    let governance = Governance::start(config, Arc::clone(&stores.spend));
    let mode = governance.limiter.clone();
    metrics::limiter_mode(mode.mode().as_str());
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            metrics::limiter_mode(mode.mode().as_str());
        }
    });
    let state = web::Data::new(AppState {
        auth,
        router,
        governance,
        limits: RequestLimits {
            head: HeadLimits {
                max_url_bytes: config.server.max_url_bytes,
                max_headers: config.server.max_headers,
                max_header_bytes: config.server.max_header_bytes,
            },
            max_body_bytes: config.server.max_body_bytes,
            max_json_depth: config.server.max_json_depth,
            chat: config.server.chat_limits,
            body_timeout: config.server.body_timeout,
        },
        models: config
            .gateway
            .groups
            .iter()
            .map(|g| g.name.clone())
            .collect(),
        providers: providers.clone(),
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        metrics: prometheus,
        chat_metrics,
        embedding_metrics,
        stores,
        spend,
    });

    let public_state = state.clone();
    let cors_on = config.server.cors.is_some();
    let cors = config
        .server
        .cors
        .clone()
        .map(|c| web::Data::new(Cors::new(c)));
    let mut public = HttpServer::new(move || {
        #[expect(
            clippy::expect_used,
            reason = "the same spec built successfully above, before any worker started"
        )]
        let clients =
            UpstreamClients::new(&public_state.providers).expect("upstream clients build");
        let mut app = App::new()
            .app_data(public_state.clone())
            .app_data(web::Data::new(clients));
        if let Some(cors) = &cors {
            app = app.app_data(cors.clone());
        }
        app.wrap(middleware::from_fn(http_limits::enforce))
            // Outermost, so that the limits' own refusals are readable by a browser too.
            .wrap(middleware::Condition::new(
                cors_on,
                middleware::from_fn(cors::apply),
            ))
            .configure(|cfg| table::register(cfg, table::public(), table::public_other))
            .default_service(web::to(fallback::not_found))
    })
    .workers(config.server.workers.max(1))
    .max_connections(config.server.max_connections)
    .tcp_nodelay(true)
    .client_request_timeout(config.server.header_timeout)
    .keep_alive(config.server.keep_alive)
    .shutdown_timeout(shutdown_secs(config.server.shutdown_timeout));
    let admin_state = state;
    let mut admin = HttpServer::new(move || {
        App::new()
            .app_data(admin_state.clone())
            .wrap(middleware::from_fn(http_limits::enforce))
            .configure(|cfg| table::register(cfg, table::admin(), table::admin_other))
            .default_service(web::to(fallback::not_found))
    })
    .workers(1)
    .tcp_nodelay(true)
    .client_request_timeout(config.server.header_timeout)
    .shutdown_timeout(shutdown_secs(config.server.shutdown_timeout));
    public = public.disable_signals();
    admin = admin.disable_signals();
    let public_cert = config
        .server
        .tls
        .as_ref()
        .map(|files| ReloadableCert::load("public", files))
        .transpose()?;
    let admin_cert = config
        .server
        .admin_tls
        .as_ref()
        .map(|files| ReloadableCert::load("admin", files))
        .transpose()?;
    let listen = config.server.listen;
    let public = match &public_cert {
        Some(cert) => public.bind_rustls_0_23(listen, cert.server_config()?),
        None => public.bind(listen),
    }
    .map_err(|source| StartError::Bind {
        what: "public",
        addr: listen,
        source,
    })?;
    let admin_listen = config.server.admin_listen;
    let admin = match &admin_cert {
        Some(cert) => admin.bind_rustls_0_23(admin_listen, cert.server_config()?),
        None => admin.bind(admin_listen),
    }
    .map_err(|source| StartError::Bind {
        what: "admin",
        addr: admin_listen,
        source,
    })?;
    let certs: Vec<_> = public_cert.into_iter().chain(admin_cert).collect();
    let public_addr = public.addrs().first().copied().unwrap_or(listen);
    let admin_addr = admin.addrs().first().copied().unwrap_or(admin_listen);
    let public = public.run();
    let admin = admin.run();
    let (public_handle, admin_handle) = (public.handle(), admin.handle());
    if options.handle_signals {
        drain_on_signal(public_handle.clone(), admin_handle.clone())?;
        reload_on_hangup(certs.clone())?;
    }
    let tasks = vec![actix_web::rt::spawn(public), actix_web::rt::spawn(admin)];
    tracing::info!(%public_addr, %admin_addr, "portcullis listening");
    Ok(RunningGateway {
        public_addr,
        admin_addr,
        public: public_handle,
        admin: admin_handle,
        tasks,
        spend_task,
        certs,
    })
}
