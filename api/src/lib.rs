//! Portcullis api: the actix-web front end.
//!
//! It owns everything HTTP — listeners, routes, auth, the body boundary, error mapping,
//! metrics — plus the config file and the `portcullis` binary. The engine behind it never
//! sees an actix-web type.

mod admissible;
mod auth;
mod auth_cache;
mod body;
mod cors;
pub mod demo;
mod error;
mod generation;
mod governance;
mod headers;
mod http_limits;
mod invalidation;
pub mod keygen;
mod log_filter;
pub mod metrics;
mod reload;
mod routes;
mod server;
mod spend;
mod state;
pub mod stores;
pub mod telemetry;
mod tls;

pub use log_filter::MalformedRequestFilter;
pub use portcullis_config::{Config, LimiterBackend};
pub use reload::{ConfigSource, ConfigStatus, ReloadError};
pub use routes::table::{RouteEntry, route_inventory};
pub use server::{RunningGateway, StartError, StartOptions, start, start_async, start_with_stores};
pub use stores::Stores;
pub use tls::TlsError;
