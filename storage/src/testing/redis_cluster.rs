//! A throwaway 3-master Redis Cluster (no replicas) on free ports, killed on drop. Same skip
//! rule as [`RedisServer`]: missing `redis-server` or `redis-cli` → `Ok(None)` and a loud
//! `SKIPPED` line, or a failure under `PORTCULLIS_REQUIRE_SERVICES=1`.

use std::io;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::testing::redis_server::{RedisServer, find_binary};

/// Three cluster-enabled redis-servers joined into one cluster covering all slots.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    _dir: TempDir,
}

/// A directory removed on drop (each node writes its `nodes.conf` there).
#[derive(Debug)]
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl RedisCluster {
    /// Start the cluster and wait until it reports `cluster_state:ok`.
    pub fn start() -> io::Result<Option<Self>> {
        let Some(cli) = find_binary("redis-cli")? else {
            return Ok(None);
        };
        let dir = std::env::temp_dir().join(format!(
            "portcullis-cluster-{}-{}",
            std::process::id(),
            super::free_port()?
        ));
        std::fs::create_dir_all(&dir)?;
        let dir = TempDir(dir);
        let mut nodes = Vec::new();
        for i in 0..3 {
            let conf = dir.0.join(format!("nodes-{i}.conf"));
            let conf = conf.to_string_lossy().into_owned();
            let args = ["--cluster-enabled", "yes", "--cluster-config-file", &conf];
            let Some(node) = RedisServer::start_with(&args)? else {
                return Ok(None);
            };
            nodes.push(node);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let status = Command::new(&cli)
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(io::Error::other("redis-cli --cluster create failed"));
        }
        let cluster = Self { nodes, _dir: dir };
        cluster.wait_ok(&cli)?;
        Ok(Some(cluster))
    }

    /// `redis://127.0.0.1:<port>` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    fn wait_ok(&self, cli: &std::path::Path) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let all_ok = self.nodes.iter().try_fold(true, |ok, n| {
                let out = Command::new(cli)
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &n.port().to_string(),
                        "cluster",
                        "info",
                    ])
                    .output()?;
                let text = String::from_utf8_lossy(&out.stdout);
                io::Result::Ok(ok && text.contains("cluster_state:ok"))
            })?;
            if all_ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "cluster_state never became ok",
        ))
    }
}
