//! The attack suite: a running gateway (127.0.0.1:0) in front of the recording mock upstream,
//! attacked over HTTP and raw TCP. Every test ends with [`support::Suite::finish`], which
//! checks that no canary (provider credentials, virtual keys, the master key) or any
//! 8-character piece of one appeared in what the test saw, in any log line so far (debug
//! logging on), in /metrics, the health routes, the OpenAPI document or the audit log — and
//! that the "attacker" listener received nothing.
//!
//! One binary, one module per area; the e2e harness is shared through `#[path]`.

// Test-only crate: helpers outside #[test] fns may unwrap and panic like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

mod auth_sweep;
mod authz;
mod fake_upstream;
mod hostile_upstream;
mod overrides;
mod raw_http;
mod support;
