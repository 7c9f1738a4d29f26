//! Key-change events over Redis pub/sub between two "replicas", and the flush-everything
//! event after a reconnect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use portcullis_storage::redis::{KeyEvent, KeyEvents, RedisOptions};
use portcullis_storage::testing::RedisServer;

const WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_key_change_published_on_one_replica_reaches_another() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let replica1 = KeyEvents::new(&server.url(), &RedisOptions::default()).unwrap();
    let replica2 = KeyEvents::new(&server.url(), &RedisOptions::default()).unwrap();
    let mut sub = replica2.subscribe().await.unwrap();
    replica1
        .publish(&KeyEvent::KeyChanged("key-1".into()))
        .await
        .unwrap();
    replica1
        .publish(&KeyEvent::TeamChanged("team-9".into()))
        .await
        .unwrap();
    let first = tokio::time::timeout(WITHIN, sub.recv()).await.unwrap();
    assert_eq!(first, Some(KeyEvent::KeyChanged("key-1".into())));
    let second = tokio::time::timeout(WITHIN, sub.recv()).await.unwrap();
    assert_eq!(second, Some(KeyEvent::TeamChanged("team-9".into())));
}

#[tokio::test]
async fn a_subscriber_that_lost_its_connection_is_told_to_flush_after_reconnecting() {
    let Some(mut server) = RedisServer::start().unwrap() else {
        return;
    };
    let events = KeyEvents::new(&server.url(), &RedisOptions::default()).unwrap();
    let mut sub = events.subscribe().await.unwrap();
    server.restart().unwrap();
    let got = tokio::time::timeout(WITHIN, sub.recv()).await.unwrap();
    assert_eq!(got, Some(KeyEvent::Reconnected));
    events
        .publish(&KeyEvent::KeyChanged("key-2".into()))
        .await
        .unwrap();
    let got = tokio::time::timeout(WITHIN, sub.recv()).await.unwrap();
    assert_eq!(got, Some(KeyEvent::KeyChanged("key-2".into())));
}

/// On a Redis Cluster an event published through one node reaches a subscriber on another:
/// classic pub/sub is broadcast over the cluster bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_an_event_published_on_one_node_reaches_a_subscriber_on_another() {
    let Some(cluster) = portcullis_storage::testing::RedisCluster::start().unwrap() else {
        return;
    };
    let urls = cluster.urls();
    let mut reversed = urls.clone();
    reversed.reverse();
    let options = RedisOptions::with_timeout(Duration::from_secs(2));
    let subscriber = KeyEvents::new_any(&urls, &options).unwrap();
    let publisher = KeyEvents::new_any(&reversed, &options).unwrap();
    let mut sub = subscriber.subscribe().await.unwrap();
    publisher
        .publish(&KeyEvent::KeyChanged("key-on-cluster".into()))
        .await
        .unwrap();
    let got = tokio::time::timeout(WITHIN, sub.recv()).await.unwrap();
    assert_eq!(got, Some(KeyEvent::KeyChanged("key-on-cluster".into())));
}
