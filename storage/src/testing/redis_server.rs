//! A throwaway `redis-server` on a free 127.0.0.1 port, killed on drop. Can be stopped and
//! started again on the same port, to test a Redis outage.
//!
//! If `redis-server` is not installed, [`RedisServer::start`] prints
//! `SKIPPED: redis-server not found` to stderr and returns `None`, so the test can return
//! early; with `PORTCULLIS_REQUIRE_SERVICES=1` (CI) it fails instead.

use std::io::{self, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether missing services must fail the run (`PORTCULLIS_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var("PORTCULLIS_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A port free on 127.0.0.1 right now (the OS picks it).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Finds `name` on PATH; prints the skip notice (or fails under
/// `PORTCULLIS_REQUIRE_SERVICES=1`) when it is missing.
pub(crate) fn find_binary(name: &str) -> io::Result<Option<PathBuf>> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if services_required() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name} not found and PORTCULLIS_REQUIRE_SERVICES=1"),
            ));
        }
        // Written past the test harness's output capture, so a skip is never silent.
        let _ = writeln!(io::stderr(), "SKIPPED: {name} not found");
    }
    Ok(found)
}

/// A running (or stopped) redis-server owned by a test.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Start one on a free port; `Ok(None)` when redis-server is not installed (skip).
    pub fn start() -> io::Result<Option<Self>> {
        Self::start_with(&[])
    }

    /// Start one with extra `redis-server` arguments (e.g. cluster options).
    pub fn start_with(extra: &[&str]) -> io::Result<Option<Self>> {
        let Some(binary) = find_binary("redis-server")? else {
            return Ok(None);
        };
        let mut server = Self {
            binary,
            port: free_port()?,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        server.restart()?;
        Ok(Some(server))
    }

    /// Start one that also serves TLS on a second free port with `certs`' server
    /// certificate; returns it and its `rediss://` URL.
    pub fn start_tls(certs: &super::TestCerts) -> io::Result<Option<(Self, String)>> {
        let tls_port = free_port()?;
        let path = |n: &str| certs.path(n).to_string_lossy().into_owned();
        let args = [
            "--tls-port".to_owned(),
            tls_port.to_string(),
            "--tls-cert-file".to_owned(),
            path("server.pem"),
            "--tls-key-file".to_owned(),
            path("server.key"),
            "--tls-ca-cert-file".to_owned(),
            path("ca.pem"),
            "--tls-auth-clients".to_owned(),
            "no".to_owned(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Self::start_with(&args)?;
        Ok(server.map(|s| (s, format!("rediss://127.0.0.1:{tls_port}"))))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill it (an outage). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again on the same port (empty: nothing is persisted) and wait for PING.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        wait_for_ping(&self.binary, self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `redis-cli ping` until PONG, at most 10 s (each poll waits on the process, not a
/// fixed sleep; the short pause between polls bounds CPU).
pub(crate) fn wait_for_ping(server_binary: &Path, port: u16) -> io::Result<()> {
    let cli = server_binary.with_file_name("redis-cli");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = Command::new(&cli)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "ping"])
            .stderr(Stdio::null())
            .output()?;
        if out.stdout.starts_with(b"PONG") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "redis-server did not answer PING",
    ))
}
