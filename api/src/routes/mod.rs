//! HTTP routes of both listeners. Handlers are thin: authenticate, call the engine, map.

pub(crate) mod admin;
pub(crate) mod admin_api;
pub(crate) mod admin_deployments;
pub(crate) mod chat;
mod edge;
pub(crate) mod embeddings;
pub(crate) mod fallback;
pub(crate) mod health;
pub(crate) mod messages;
pub(crate) mod models;
pub(crate) mod table;
