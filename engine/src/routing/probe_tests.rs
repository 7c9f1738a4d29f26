//! Health checks against a bare local HTTP upstream: they open and close the breaker with no
//! client traffic, reach only deployments that have them, and stop with their router.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::super::*;
use crate::clock::{ManualClock, SeededPicker};
use crate::health::BreakerState;
use crate::provider::Vendor;
use crate::spec::{HealthCheckSpec, ProviderSpec};

const COMPLETION: &str = r#"{"id":"c","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"p"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;

/// An upstream that answers every request with `status` and counts requests.
struct Upstream {
    url: url::Url,
    requests: Arc<AtomicU64>,
    status: Arc<AtomicU16>,
}

impl Upstream {
    async fn start(status: u16) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let status = Arc::new(AtomicU16::new(status));
        let (count, answer) = (Arc::clone(&requests), Arc::clone(&status));
        actix::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                actix::spawn(answer_one(socket, answer.load(Ordering::SeqCst)));
            }
        });
        Upstream {
            url: url.parse().unwrap(),
            requests,
            status,
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads one request (head and `content-length` body), answers `status`, closes.
async fn answer_one(mut socket: TcpStream, status: u16) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                break;
            }
        }
    }
    let body = if status == 200 { COMPLETION } else { "{}" };
    let reply = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(reply.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Polls (at most 5 s) until `check` holds.
async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..250 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never: {what}");
}

#[actix::test]
async fn checks_open_and_close_the_breaker_with_no_traffic_and_stop_with_the_router() {
    let (checked, unchecked) = (Upstream::start(500).await, Upstream::start(200).await);
    let mut spec = GatewaySpec::default();
    let breaker = crate::health::BreakerSpec {
        consecutive_failures: 2,
        cooldown: Duration::from_secs(60),
        ..Default::default()
    };
    let a = spec.provider(
        ProviderSpec::new("a", Vendor::OpenaiCompatible, checked.url.clone())
            .allow_private_network()
            .breaker(breaker),
    );
    let b = spec.provider(
        ProviderSpec::new("b", Vendor::OpenaiCompatible, unchecked.url.clone())
            .allow_private_network(),
    );
    let check = HealthCheckSpec {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(500),
    };
    spec.group(
        "m",
        vec![
            DeploymentSpec::new(a, "a-model").health_check(check),
            DeploymentSpec::new(b, "b-model"),
        ],
    );
    let clock = Arc::new(ManualClock::new());
    let router = Router::start_with(
        &spec,
        RoutingClock {
            clock: clock.clone(),
            picker: Arc::new(SeededPicker::new(1)),
        },
    );
    router.start_health_checks(&Providers::new(&spec).unwrap());
    let state = |router: &Router| router.deployments().next().unwrap().gate.state();
    until("two failed checks open the breaker", || {
        matches!(state(&router), BreakerState::Open { .. })
    })
    .await;
    assert!(checked.requests() >= 2);
    // While the cool-down runs, no check is sent: the breaker would ignore it.
    let during = checked.requests();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        checked.requests() <= during + 1,
        "checks during the cool-down"
    );
    // The upstream recovers; once the cool-down has passed a successful check closes it.
    checked.status.store(200, Ordering::SeqCst);
    clock.advance(Duration::from_secs(60));
    until("a successful check closes the breaker", || {
        state(&router) == BreakerState::Closed
    })
    .await;
    assert_eq!(
        unchecked.requests(),
        0,
        "a deployment without checks got one"
    );
    // Dropping the router stops its arbiters, and the checks with them.
    drop(router);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_drop = checked.requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        checked.requests(),
        after_drop,
        "checks outlived their router"
    );
}
