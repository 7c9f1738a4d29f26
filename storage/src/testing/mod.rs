//! Test helpers shared with other crates' tests (hidden from docs): services spawned by the
//! test itself on free ports, never fixed ones.

mod redis_cluster;
mod redis_server;
mod tls;

pub use redis_cluster::RedisCluster;
pub use redis_server::{RedisServer, free_port, services_required};
pub use tls::TestCerts;
pub mod postgres;
