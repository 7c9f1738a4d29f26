//! HTTP routes of both listeners. Handlers are thin: authenticate, call the engine, map.

pub(crate) mod admin;
pub(crate) mod admin_deployments;
pub(crate) mod chat;
pub(crate) mod fallback;
pub(crate) mod health;
pub(crate) mod models;
