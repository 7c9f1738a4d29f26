//! HTTP routes of both listeners. Handlers are thin: authenticate, call the engine, map.

pub mod admin;
pub mod chat;
pub mod fallback;
pub mod health;
pub mod models;
