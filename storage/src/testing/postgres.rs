//! A fresh PostgreSQL database per test, on a server the machine already runs.
//!
//! The server is found through `PORTCULLIS_TEST_POSTGRES_URL` (a libpq connection string),
//! else [`DEFAULT_POSTGRES_URL`]. Each [`TestDatabase`] is a new, uniquely named database,
//! dropped (with `FORCE`) when the value is dropped. Where no server answers, tests are
//! skipped with a loud `SKIPPED:` line on stderr, unless `PORTCULLIS_REQUIRE_SERVICES=1`,
//! which turns the skip into a failure (CI sets it).

use std::io::Write;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::{Config, NoTls};

/// Names the server to create test databases on.
pub const POSTGRES_URL_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";
/// `1` makes an unreachable service a test failure instead of a skip.
pub const REQUIRE_SERVICES_ENV: &str = "PORTCULLIS_REQUIRE_SERVICES";
/// The server tried when [`POSTGRES_URL_ENV`] is unset.
pub const DEFAULT_POSTGRES_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    admin: Config,
    config: Config,
    name: String,
}

fn server_url() -> String {
    std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Where the server is, without any password the connection string may hold.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "host={} port={} user={}",
        hosts.join(","),
        ports.join(","),
        config.get_user().unwrap_or("")
    )
}

fn required() -> bool {
    std::env::var(REQUIRE_SERVICES_ENV).is_ok_and(|v| v == "1")
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("portcullis_test_{}_{n}_{nanos}", std::process::id())
}

async fn connect(config: &Config) -> Result<tokio_postgres::Client, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls)).await {
        Err(_) => Err("timed out".to_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok((client, connection))) => {
            tokio::spawn(connection);
            Ok(client)
        }
    }
}

impl TestDatabase {
    /// Creates a fresh database, or returns `None` after printing `SKIPPED: …` when no server
    /// is reachable. Panics instead when `PORTCULLIS_REQUIRE_SERVICES=1`, or when the server
    /// answers but refuses to create the database.
    #[expect(
        clippy::panic,
        reason = "test support: a missing required service fails the test"
    )]
    pub async fn create() -> Option<Self> {
        let Ok(admin) = Config::from_str(&server_url()) else {
            panic!("{POSTGRES_URL_ENV} is not a valid connection string");
        };
        let at = describe(&admin);
        let client = match connect(&admin).await {
            Ok(c) => c,
            Err(why) if required() => {
                panic!("PostgreSQL not reachable at {at} ({why}) and {REQUIRE_SERVICES_ENV}=1")
            }
            Err(why) => {
                // Straight to the process's stderr, past the test harness's capture, so the
                // skip shows even when the test "passes".
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: PostgreSQL not reachable at {at} ({why}); \
                     set {POSTGRES_URL_ENV} or run a local server"
                );
                return None;
            }
        };
        let name = unique_name();
        // The name is generated here from digits and underscores: safe to quote as an identifier.
        if let Err(e) = client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            panic!("could not create test database {name}: {e}");
        }
        let mut config = admin.clone();
        config.dbname(&name);
        Some(Self {
            admin,
            config,
            name,
        })
    }

    /// Connection settings for the fresh database.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The fresh database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes the database refuse (`false`: new connections refused, open ones terminated) or
    /// accept connections again, as an outage would, for readiness and failure tests.
    pub async fn set_reachable(&self, reachable: bool) -> Result<(), String> {
        let client = connect(&self.admin).await?;
        let name = &self.name;
        client
            .batch_execute(&format!(
                "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {reachable}"
            ))
            .await
            .map_err(|e| e.to_string())?;
        if !reachable {
            client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&name.as_str()],
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Drop for TestDatabase {
    /// Drops the database on a thread of its own, so this works inside or outside a runtime.
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = std::mem::take(&mut self.name);
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(client) = connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = client.batch_execute(&sql).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
            });
        });
        let _ = dropper.join();
    }
}
