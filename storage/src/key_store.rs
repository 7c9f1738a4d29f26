//! The `KeyStore` role: find a virtual key by its hash.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use crate::error::StorageError;
use crate::key::{KeyHash, VirtualKey};

/// A boxed future, so stores can be held as `Arc<dyn KeyStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// Where virtual keys live.
pub trait KeyStore: Send + Sync + Debug {
    /// The key whose hash is `hash`, if any.
    fn get(&self, hash: &KeyHash) -> StoreFuture<'_, Option<VirtualKey>>;
}
