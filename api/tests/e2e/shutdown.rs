//! Graceful shutdown: a stop, or SIGTERM, lets a running stream finish before the gateway
//! closes (up to `server.shutdown_timeout`).

use std::time::Duration;

use portcullis_loadtest::mock::{Behaviour, MockOptions};

use crate::harness::*;
use crate::resilience::{start, stream, yaml};

#[actix_web::test]
async fn graceful_shutdown_drains_a_running_stream() {
    let h = start().await;
    h.mock
        .script("solo-up", [Behaviour::ok().chunks(4).pause_after_chunks(2)]);
    let mut response = h.chat(Some(KEY_A), &stream("solo")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    let Harness { mock, gateway, .. } = h;
    let stopping = actix_web::rt::spawn(gateway.stop(true));
    // The listener stops taking connections while the stream is still open.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown did not wait for the stream"
    );
    mock.resume();
    let mut rest = String::from_utf8_lossy(&first).into_owned();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(rest.contains("[DONE]"), "{rest}");
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .unwrap()
        .unwrap();
    mock.shutdown().await;
}

#[actix_web::test]
async fn sigterm_drains_a_running_stream_before_the_gateway_stops() {
    let mock = portcullis_loadtest::mock::MockUpstream::start(MockOptions {
        expect_api_key: Some(CANARY.to_owned()),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let config = portcullis_api::Config::from_yaml_str(&yaml(&mock.base_url()), &fake_env).unwrap();
    let gateway = portcullis_api::start(
        &config,
        portcullis_api::StartOptions {
            handle_signals: true,
        },
    )
    .unwrap();
    mock.script("solo-up", [Behaviour::ok().chunks(4).pause_after_chunks(2)]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1/chat/completions", gateway.public_addr);
    let mut response = http
        .post(url)
        .bearer_auth(KEY_A)
        .header("content-type", "application/json")
        .body(stream("solo").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = String::from_utf8_lossy(&response.chunk().await.unwrap().unwrap()).into_owned();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopped = actix_web::rt::spawn(gateway.wait());
    mock.resume();
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(body.contains("[DONE]"), "{body}");
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("the gateway did not stop after SIGTERM")
        .unwrap()
        .unwrap();
    mock.shutdown().await;
}
