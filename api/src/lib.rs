//! Portcullis api: the actix-web front end.
//!
//! It owns everything HTTP — listeners, routes, auth, the body boundary, error mapping,
//! metrics — plus the config file and the `portcullis` binary. The engine behind it never
//! sees an actix-web type.

pub mod auth;
pub mod body;
pub mod demo;
pub mod error;
pub mod headers;
pub mod keygen;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod state;

pub use portcullis_config::Config;
pub use server::{RunningGateway, StartError, StartOptions, start};
