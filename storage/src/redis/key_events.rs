//! Key-change events over Redis pub/sub, so every replica's auth cache drops a revoked or
//! changed key at once instead of at its TTL.
//!
//! Publishers send `k:<key id>` or `t:<team id>` on [`CHANNEL`]. A subscriber yields
//! [`KeyEvent`]s; when its connection drops it reconnects (backoff 50 ms doubling to 2 s) and,
//! once subscribed again, yields [`KeyEvent::Reconnected`]: messages sent meanwhile are lost,
//! so the replica must flush its whole cache. Between the drop and the flush, staleness is
//! bounded by the cache's own TTL. On Redis Cluster, `PUBLISH` reaches subscribers on every
//! node, so any node's URL works for both sides.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::StorageError;
use crate::redis::conn::{UNAVAILABLE, unavailable};
use crate::redis::limiter::{RedisOptions, client};

/// The pub/sub channel key events travel on.
pub const CHANNEL: &str = "portcullis:key-events";

/// Something an auth cache must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEvent {
    /// The key with this id changed or was revoked: drop it.
    KeyChanged(String),
    /// The team with this id changed: drop its keys.
    TeamChanged(String),
    /// The subscription was re-established after a drop: messages may have been missed, drop
    /// everything.
    Reconnected,
}

impl KeyEvent {
    fn encode(&self) -> Option<String> {
        match self {
            KeyEvent::KeyChanged(id) => Some(format!("k:{id}")),
            KeyEvent::TeamChanged(id) => Some(format!("t:{id}")),
            KeyEvent::Reconnected => None,
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        if let Some(id) = payload.strip_prefix("k:") {
            Some(KeyEvent::KeyChanged(id.to_owned()))
        } else {
            payload
                .strip_prefix("t:")
                .map(|id| KeyEvent::TeamChanged(id.to_owned()))
        }
    }
}

/// Publishes and subscribes to key events on one Redis.
#[derive(Clone)]
pub struct KeyEvents {
    client: redis::Client,
    /// deadpool-redis takes a URL only: with a private CA, publishing opens a connection.
    pool: Option<deadpool_redis::Pool>,
    timeout: Duration,
}

impl std::fmt::Debug for KeyEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEvents").finish_non_exhaustive()
    }
}

/// A live subscription; dropping it stops the background task.
#[derive(Debug)]
pub struct KeySubscription {
    events: mpsc::Receiver<KeyEvent>,
    task: JoinHandle<()>,
}

impl KeySubscription {
    /// The next event; `None` only after the subscription was dropped.
    pub async fn recv(&mut self) -> Option<KeyEvent> {
        self.events.recv().await
    }
}

impl Drop for KeySubscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KeyEvents {
    /// For the Redis at `url` (`redis://` or `rediss://`; no connection is made yet).
    pub fn new(url: &str, options: &RedisOptions) -> Result<Self, StorageError> {
        let client = client(url, options)?;
        let pool = match options.ca_pem {
            Some(_) => None,
            None => Some(
                deadpool_redis::Config::from_url(url)
                    .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                    .map_err(|_| StorageError::Unavailable("redis pool"))?,
            ),
        };
        let timeout = options.effective_timeout();
        Ok(Self {
            client,
            pool,
            timeout,
        })
    }

    /// Tell every replica. `Reconnected` is local-only and is not sent.
    pub async fn publish(&self, event: &KeyEvent) -> Result<(), StorageError> {
        let Some(payload) = event.encode() else {
            return Ok(());
        };
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(CHANNEL).arg(payload);
        let work = async {
            match &self.pool {
                Some(pool) => {
                    let mut conn = pool.get().await.map_err(|_| UNAVAILABLE)?;
                    cmd.query_async::<i64>(&mut conn).await
                }
                None => {
                    let mut conn = self.client.get_multiplexed_async_connection().await;
                    match &mut conn {
                        Ok(c) => cmd.query_async::<i64>(c).await,
                        Err(e) => Err(e.clone()),
                    }
                }
            }
            .map(|_| ())
            .map_err(|e| unavailable(&e))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| StorageError::Unavailable("redis timeout"))?
    }

    /// Subscribe, and resolve once the first subscription is live (so nothing published
    /// after this returns is missed). Later drops reconnect in the background.
    pub async fn subscribe(&self) -> Result<KeySubscription, StorageError> {
        let first = tokio::time::timeout(self.timeout, open(&self.client))
            .await
            .map_err(|_| StorageError::Unavailable("redis timeout"))?
            .map_err(|e| unavailable(&e))?;
        let (tx, events) = mpsc::channel(1024);
        let client = self.client.clone();
        let task = tokio::spawn(run(client, first, tx));
        Ok(KeySubscription { events, task })
    }
}

async fn open(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSubStream> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub.into_on_message())
}

async fn run(
    client: redis::Client,
    mut stream: redis::aio::PubSubStream,
    tx: mpsc::Sender<KeyEvent>,
) {
    loop {
        while let Some(msg) = stream.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            if let Some(event) = KeyEvent::decode(&payload)
                && tx.send(event).await.is_err()
            {
                return;
            }
        }
        tracing::warn!("key-event subscription lost; reconnecting");
        let mut delay = Duration::from_millis(50);
        stream = loop {
            if tx.is_closed() {
                return;
            }
            match open(&client).await {
                Ok(s) => break s,
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        };
        if tx.send(KeyEvent::Reconnected).await.is_err() {
            return;
        }
    }
}
