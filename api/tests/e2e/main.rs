//! End-to-end tests: a real gateway on 127.0.0.1:0 in front of the scriptable mock upstream
//! on 127.0.0.1:0, driven over HTTP. One binary, many modules, to keep link time down.

// Test-only crate: helpers outside #[test] fns may unwrap and panic like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod boundary;
mod harness;
mod metrics;
mod resilience;
mod secrets;
mod shutdown;
mod streaming;
mod upstream_errors;
