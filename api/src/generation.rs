//! The servers, started once, and the config *planes* they serve.
//!
//! A plane is everything a loaded config runs: auth over its keys, the router and its provider
//! actors, governance, prices, request limits, CORS, the spend writer. The two servers never
//! hold a plane themselves: an outermost middleware attaches the current one to each request
//! as it arrives (a per-worker cache makes that an atomic load and a reference-count bump), so
//! a reload swaps one pointer. A request keeps the plane it started with until it ends —
//! streams included — and an old plane is dropped, stopping its actors, when its last request
//! is done. Connections are never closed by a reload.
//!
//! What a plane cannot change is the servers' own setup (listen addresses, workers,
//! connection limits and timeouts, TLS on or off): that takes a restart.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{App, HttpServer, middleware, web};
use portcullis_config::Config;
use portcullis_engine::{Providers, Router, UpstreamClients};
use portcullis_storage::{
    KeyHasher, KeyId, MemoryKeyStore, SpendWriter, SpendWriterConfig, SpendWriterTask, VirtualKey,
};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;

use crate::auth::Authenticator;
use crate::cors::{self, Cors};
use crate::governance::{Governance, LimiterCarry};
use crate::http_limits::{self, HeadLimits};
use crate::metrics;
use crate::reload::Reloader;
use crate::routes::{fallback, table};
use crate::server::StartError;
use crate::spend::SpendRecorder;
use crate::state::{AppState, RequestLimits};
use crate::stores::Stores;
use crate::tls::ReloadableCert;

/// What the servers serve: one plane per loaded config.
#[derive(Debug)]
pub(crate) struct Plane {
    /// Increases with every reload; the workers' caches are keyed by it.
    id: u64,
    state: web::Data<AppState>,
    cors: Option<web::Data<Cors>>,
}

/// What a plane owns besides what requests share: stopped or handed on by the reloader.
#[derive(Debug)]
pub(crate) struct PlaneTasks {
    pub(crate) spend_task: SpendWriterTask,
    /// Loops that live as long as the plane (limiter-mode gauge, key invalidations).
    pub(crate) background: Vec<JoinHandle<()>>,
    pub(crate) limiter: LimiterCarry,
}

impl PlaneTasks {
    /// Stops the plane's loops. Its spend writer ends by itself once the plane's last request
    /// dropped its sender (see `SpendWriter`).
    pub(crate) fn retire(&self) {
        for task in &self.background {
            task.abort();
        }
    }
}

/// What a plane is built over.
pub(crate) struct Ground<'a> {
    pub stores: &'a Stores,
    pub started_unix: u64,
    /// The pepper used when the config names none (memory storage): made once per process,
    /// so keys created through the admin API survive a reload.
    pub random_pepper: &'a [u8],
    /// The previous plane's limiter, when the new config keeps its backend.
    pub limiter: Option<LimiterCarry>,
}

/// The plane requests are attached to, swapped by a reload.
#[derive(Debug)]
pub(crate) struct Planes {
    current_id: AtomicU64,
    current: RwLock<Arc<Plane>>,
}

impl Planes {
    fn new(first: Plane) -> Self {
        Self {
            current_id: AtomicU64::new(first.id),
            current: RwLock::new(Arc::new(first)),
        }
    }

    fn current(&self) -> Arc<Plane> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Makes `next` the plane new requests get; returns the one it replaced.
    pub(crate) fn swap(&self, next: Plane) -> Arc<Plane> {
        let id = next.id;
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|e| e.into_inner()),
            Arc::new(next),
        );
        self.current_id.store(id, Ordering::Release);
        old
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.current_id.load(Ordering::Acquire) + 1
    }
}

impl Plane {
    /// Builds and starts what `config` runs. Must run inside the actix `System`.
    pub(crate) fn build(
        id: u64,
        config: &Config,
        ground: Ground<'_>,
    ) -> Result<(Plane, PlaneTasks), StartError> {
        let stores = ground.stores.clone();
        if stores.backend != "memory" && config.key_pepper.is_none() {
            return Err(StartError::PepperRequired(stores.backend));
        }
        // Before any metric handle is registered.
        let prometheus = metrics::install();
        let auth = authenticator(config, &stores, ground.random_pepper)?;
        let providers = Providers::new(&config.gateway)?;
        // A trial build, so a client that cannot be built fails here, not in a worker.
        UpstreamClients::new(&providers)?;
        let mut background = Vec::new();
        background.extend(crate::invalidation::start(config, &auth));
        let (writer, spend_task) =
            SpendWriter::spawn(Arc::clone(&stores.spend), SpendWriterConfig::default());
        let spend = SpendRecorder::new(config, writer);
        if config.master_key.is_none() {
            tracing::warn!("no master key configured: the admin listener refuses every request");
        }
        let router = Router::start(&config.gateway);
        // On the router's arbiters: they stop when this plane's router is dropped.
        router.start_health_checks(&providers);
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
        let governance = Governance::start(config, Arc::clone(&stores.spend), ground.limiter);
        let limiter = governance.limiter_carry();
        let mode = governance.limiter.clone();
        metrics::limiter_mode(mode.mode().as_str());
        background.push(actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                metrics::limiter_mode(mode.mode().as_str());
            }
        }));
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
            models,
            providers,
            started_unix: ground.started_unix,
            metrics: prometheus,
            chat_metrics,
            embedding_metrics,
            stores,
            spend,
        });
        let plane = Plane {
            id,
            state,
            cors: config
                .server
                .cors
                .clone()
                .map(|c| web::Data::new(Cors::new(c))),
        };
        let tasks = PlaneTasks {
            spend_task,
            background,
            limiter,
        };
        Ok((plane, tasks))
    }
}

/// The two running servers.
#[derive(Debug)]
pub(crate) struct Servers {
    pub(crate) public_addr: SocketAddr,
    pub(crate) admin_addr: SocketAddr,
    public: ServerHandle,
    admin: ServerHandle,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
    pub(crate) certs: Vec<Arc<ReloadableCert>>,
    pub(crate) planes: Arc<Planes>,
}

impl Servers {
    /// Binds both listeners and starts serving `first`. Must run on the actix `System`'s
    /// own thread, which then drives the servers.
    pub(crate) fn start(
        config: &Config,
        first: Plane,
        reloader: web::Data<Reloader>,
    ) -> Result<Self, StartError> {
        // Certificates first: a bad file fails the start before anything listens.
        let load = |listener, files: Option<&portcullis_config::TlsFiles>| {
            files
                .map(|files| ReloadableCert::load(listener, files))
                .transpose()
        };
        let public_cert = load("public", config.server.tls.as_ref())?;
        let admin_cert = load("admin", config.server.admin_tls.as_ref())?;
        let planes = Arc::new(Planes::new(first));

        let public_planes = Arc::clone(&planes);
        let traced = config.telemetry.otlp.is_some();
        let public = HttpServer::new(move || {
            let attach = Attach::new(Arc::clone(&public_planes), Side::Public);
            App::new()
                .wrap(middleware::from_fn(http_limits::enforce))
                // Outside the limits, so that their refusals are readable by a browser too.
                .wrap(middleware::from_fn(cors::apply))
                .wrap(middleware::from_fn(move |req, next| {
                    attach.clone().call(req, next)
                }))
                // One span per request, only when traces are exported.
                .wrap(middleware::Condition::new(
                    traced,
                    middleware::from_fn(crate::telemetry::trace),
                ))
                .configure(|cfg| table::register(cfg, table::public(), table::public_other))
                .default_service(web::to(fallback::not_found))
        })
        .workers(config.server.workers.max(1))
        .max_connections(config.server.max_connections)
        .tcp_nodelay(true)
        .client_request_timeout(config.server.header_timeout)
        .keep_alive(config.server.keep_alive)
        .shutdown_timeout(shutdown_secs(config.server.shutdown_timeout))
        .disable_signals();
        let admin_planes = Arc::clone(&planes);
        let admin = HttpServer::new(move || {
            let attach = Attach::new(Arc::clone(&admin_planes), Side::Admin(reloader.clone()));
            App::new()
                .wrap(middleware::from_fn(http_limits::enforce))
                .wrap(middleware::from_fn(move |req, next| {
                    attach.clone().call(req, next)
                }))
                .configure(|cfg| table::register(cfg, table::admin(), table::admin_other))
                .default_service(web::to(fallback::not_found))
        })
        .workers(1)
        .tcp_nodelay(true)
        .client_request_timeout(config.server.header_timeout)
        .shutdown_timeout(shutdown_secs(config.server.shutdown_timeout))
        .disable_signals();

        let (listen, admin_listen) = (config.server.listen, config.server.admin_listen);
        let bound = |what, addr| move |source| StartError::Bind { what, addr, source };
        let public = match &public_cert {
            Some(cert) => public.bind_rustls_0_23(listen, cert.server_config()?),
            None => public.bind(listen),
        }
        .map_err(bound("public", listen))?;
        let admin = match &admin_cert {
            Some(cert) => admin.bind_rustls_0_23(admin_listen, cert.server_config()?),
            None => admin.bind(admin_listen),
        }
        .map_err(bound("admin", admin_listen))?;
        let public_addr = public.addrs().first().copied().unwrap_or(listen);
        let admin_addr = admin.addrs().first().copied().unwrap_or(admin_listen);
        let (public, admin) = (public.run(), admin.run());
        Ok(Self {
            public_addr,
            admin_addr,
            public: public.handle(),
            admin: admin.handle(),
            tasks: vec![actix_web::rt::spawn(public), actix_web::rt::spawn(admin)],
            certs: public_cert.into_iter().chain(admin_cert).collect(),
            planes,
        })
    }

    /// Stops both servers (`graceful`: after the requests and streams they hold). Returns
    /// the first error a server ended with.
    pub(crate) async fn stop(self, graceful: bool) -> std::io::Result<()> {
        tokio::join!(self.public.stop(graceful), self.admin.stop(graceful));
        let mut result = Ok(());
        for task in self.tasks {
            if let Err(e) = task.await.map_err(std::io::Error::other).and_then(|r| r) {
                result = result.and(Err(e));
            }
        }
        result
    }
}

/// Which server a worker belongs to: what its requests get besides the plane's state.
#[derive(Clone)]
enum Side {
    /// This worker's upstream clients for the plane's providers, and CORS.
    Public,
    /// The reloader, for `/admin/config`.
    Admin(web::Data<Reloader>),
}

/// What a worker attached last: the plane's id and its request data.
type Attached = (u64, Rc<Extensions>);

/// Attaches the current plane to each request; one per worker, caching what it attached
/// last (built again only after a reload).
#[derive(Clone)]
struct Attach {
    planes: Arc<Planes>,
    side: Side,
    cached: Rc<RefCell<Option<Attached>>>,
}

impl Attach {
    fn new(planes: Arc<Planes>, side: Side) -> Self {
        Self {
            planes,
            side,
            cached: Rc::new(RefCell::new(None)),
        }
    }

    async fn call(
        self,
        mut req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
        req.add_data_container(self.container());
        next.call(req).await
    }

    fn container(&self) -> Rc<Extensions> {
        let id = self.planes.current_id.load(Ordering::Acquire);
        if let Some((cached, data)) = &*self.cached.borrow()
            && *cached == id
        {
            return Rc::clone(data);
        }
        let plane = self.planes.current();
        let mut data = Extensions::new();
        data.insert(plane.state.clone());
        match &self.side {
            Side::Public => {
                #[expect(
                    clippy::expect_used,
                    reason = "the same providers built a trial client when the plane was built"
                )]
                let clients =
                    UpstreamClients::new(&plane.state.providers).expect("upstream clients build");
                data.insert(web::Data::new(clients));
                if let Some(cors) = &plane.cors {
                    data.insert(cors.clone());
                }
            }
            Side::Admin(reloader) => {
                data.insert(reloader.clone());
            }
        }
        let data = Rc::new(data);
        *self.cached.borrow_mut() = Some((plane.id, Rc::clone(&data)));
        data
    }
}

/// The key checker for `config`: its keys in memory beside the stored ones.
fn authenticator(
    config: &Config,
    stores: &Stores,
    random_pepper: &[u8],
) -> Result<Authenticator, StartError> {
    let hasher = match &config.key_pepper {
        Some(p) => KeyHasher::new(p.expose_secret().as_bytes()),
        None => KeyHasher::new(random_pepper),
    };
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
    Ok(
        Authenticator::new(hasher, Arc::new(store), master.as_ref().map(|m| m.as_str()))
            .with_stored(Arc::clone(&stores.keys)),
    )
}

/// actix-web takes the graceful-shutdown deadline in whole seconds: round up, so a
/// sub-second setting still drains instead of cutting every stream at once.
fn shutdown_secs(timeout: Duration) -> u64 {
    timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)
}
