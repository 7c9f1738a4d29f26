//! End-to-end tests: a real gateway on 127.0.0.1:0 in front of the scriptable mock upstream
//! on 127.0.0.1:0, driven over HTTP. One binary, many modules, to keep link time down.

// Test-only crate: helpers outside #[test] fns may unwrap and panic like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_cli;
mod admin_keys;
mod admin_openapi;
mod anthropic;
mod auth;
mod azure;
mod bedrock;
mod boundary;
mod cors;
mod embeddings;
mod gemini;
mod gemini_embeddings;
mod harness;
mod keys_harness;
mod limits;
mod limits_redis;
mod metrics;
mod postgres_shared;
mod reload;
mod resilience;
mod secrets;
mod shutdown;
mod spend_audit;
mod streaming;
mod upstream_errors;
mod vertex;
