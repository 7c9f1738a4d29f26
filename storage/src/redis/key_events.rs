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

/// Publishes and subscribes to key events on one Redis (or any node of a cluster).
#[derive(Clone)]
pub struct KeyEvents {
    nodes: Vec<Node>,
    timeout: Duration,
}

/// One Redis this replica may talk to.
#[derive(Clone)]
struct Node {
    client: redis::Client,
    /// deadpool-redis takes a URL only: with a private CA, publishing opens a connection.
    pool: Option<deadpool_redis::Pool>,
}

impl std::fmt::Debug for KeyEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEvents")
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
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
        Self::new_any(&[url.to_owned()], options)
    }

    /// For any of `urls` — the nodes of a Redis Cluster — whichever answers (no connection is
    /// made yet).
    pub fn new_any(urls: &[String], options: &RedisOptions) -> Result<Self, StorageError> {
        if urls.is_empty() {
            return Err(StorageError::Unavailable("redis: no node"));
        }
        let nodes = urls
            .iter()
            .map(|url| {
                let pool = match options.ca_pem {
                    Some(_) => None,
                    None => Some(
                        deadpool_redis::Config::from_url(url.as_str())
                            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                            .map_err(|_| StorageError::Unavailable("redis pool"))?,
                    ),
                };
                Ok(Node {
                    client: client(url, options)?,
                    pool,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(Self {
            nodes,
            timeout: options.effective_timeout(),
        })
    }

    /// Tell every replica. `Reconnected` is local-only and is not sent. Tries each node in
    /// turn, each within the timeout.
    pub async fn publish(&self, event: &KeyEvent) -> Result<(), StorageError> {
        let Some(payload) = event.encode() else {
            return Ok(());
        };
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(CHANNEL).arg(payload);
        let mut last = UNAVAILABLE;
        for node in &self.nodes {
            let work = async {
                match &node.pool {
                    Some(pool) => {
                        let mut conn = pool.get().await.map_err(|_| UNAVAILABLE)?;
                        cmd.query_async::<i64>(&mut conn).await
                    }
                    None => {
                        let mut conn = node.client.get_multiplexed_async_connection().await;
                        match &mut conn {
                            Ok(c) => cmd.query_async::<i64>(c).await,
                            Err(e) => Err(e.clone()),
                        }
                    }
                }
                .map(|_| ())
                .map_err(|e| unavailable(&e))
            };
            match tokio::time::timeout(self.timeout, work).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => last = e,
                Err(_) => last = StorageError::Unavailable("redis timeout"),
            }
        }
        Err(last)
    }

    /// Subscribe, and resolve once the first subscription is live (so nothing published
    /// after this returns is missed). Later drops reconnect in the background, to the next
    /// node that answers.
    pub async fn subscribe(&self) -> Result<KeySubscription, StorageError> {
        let mut last = UNAVAILABLE;
        for (i, node) in self.nodes.iter().enumerate() {
            match tokio::time::timeout(self.timeout, open(&node.client)).await {
                Ok(Ok(first)) => {
                    let (tx, events) = mpsc::channel(1024);
                    let clients = self.nodes.iter().map(|n| n.client.clone()).collect();
                    let task = tokio::spawn(run(clients, i, first, tx));
                    return Ok(KeySubscription { events, task });
                }
                Ok(Err(e)) => last = unavailable(&e),
                Err(_) => last = StorageError::Unavailable("redis timeout"),
            }
        }
        Err(last)
    }
}

async fn open(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSubStream> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub.into_on_message())
}

async fn run(
    clients: Vec<redis::Client>,
    mut at: usize,
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
            // The same node first (it may be back), then the others in turn.
            let mut opened = None;
            for k in 0..clients.len() {
                let i = (at + k) % clients.len();
                if let Ok(s) = open(&clients[i]).await {
                    at = i;
                    opened = Some(s);
                    break;
                }
            }
            match opened {
                Some(s) => break s,
                None => {
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
