//! Key and team changes reach every replica within a second: with the Redis limiter, the
//! auth cache publishes each invalidation over Redis pub/sub, and a task here applies what the
//! other replicas publish. If the subscription drops, it is re-established (at most once a
//! second) and the whole cache is cleared, since messages may have been missed meanwhile.
//! Without Redis (one replica), the local invalidation is all there is.

use std::sync::Arc;
use std::time::Duration;

use portcullis_config::{Config, LimiterBackend};
use portcullis_storage::redis::{KeyEvent, KeyEvents, RedisOptions, RedisTarget};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;

use crate::auth::Authenticator;
use crate::auth_cache::AuthCache;

/// Wires `auth`'s cache to the other replicas when limits live on Redis. Must run inside an
/// actix `System` (the listener is a task on it); returns that task, to be stopped with the
/// config generation it belongs to.
pub(crate) fn start(config: &Config, auth: &Authenticator) -> Option<JoinHandle<()>> {
    let LimiterBackend::Redis(redis) = &config.limits.backend else {
        return None;
    };
    let options = RedisOptions::with_timeout(redis.timeout);
    // On a cluster, pub/sub is broadcast to every node: any node that answers will do.
    let target = RedisTarget::from_url(redis.url.expose_secret(), redis.cluster);
    let events = match KeyEvents::new_any(target.nodes(), &options) {
        Ok(events) => Arc::new(events),
        Err(e) => {
            tracing::warn!("key invalidation over Redis unavailable, the TTL applies: {e}");
            return None;
        }
    };
    let cache = auth.shared_cache();
    cache.publish_to(Arc::clone(&events));
    Some(actix_web::rt::spawn(listen(events, cache)))
}

/// Applies other replicas' invalidations for as long as the gateway runs.
async fn listen(events: Arc<KeyEvents>, cache: Arc<AuthCache>) {
    let mut first = true;
    loop {
        match events.subscribe().await {
            Ok(mut subscription) => {
                if !first {
                    // Messages may have been missed while unsubscribed.
                    cache.apply(&KeyEvent::Reconnected);
                }
                first = false;
                while let Some(event) = subscription.recv().await {
                    cache.apply(&event);
                }
            }
            Err(e) => tracing::debug!("key events subscription failed: {e}"),
        }
        cache.apply(&KeyEvent::Reconnected);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
