//! A throwaway CA and a server certificate for 127.0.0.1, made with the `openssl` CLI into a
//! temp directory removed on drop: enough to test `rediss://` against a spawned redis-server.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::testing::redis_server::find_binary;

/// CA and server files; the directory is removed on drop.
#[derive(Debug)]
pub struct TestCerts {
    dir: PathBuf,
}

impl TestCerts {
    /// Make them; `Ok(None)` (with the loud skip line) when `openssl` is not installed.
    pub fn generate() -> io::Result<Option<Self>> {
        let Some(openssl) = find_binary("openssl")? else {
            return Ok(None);
        };
        let dir = std::env::temp_dir().join(format!(
            "portcullis-tls-{}-{}",
            std::process::id(),
            super::free_port()?
        ));
        std::fs::create_dir_all(&dir)?;
        let certs = Self { dir };
        let d = |name: &str| certs.path(name).to_string_lossy().into_owned();
        std::fs::write(
            certs.path("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )?;
        run(
            &openssl,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ],
            &[
                "-subj",
                "/CN=portcullis test CA",
                "-keyout",
                &d("ca.key"),
                "-out",
                &d("ca.pem"),
            ],
        )?;
        run(
            &openssl,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
            ],
            &["-keyout", &d("server.key"), "-out", &d("server.csr")],
        )?;
        run(
            &openssl,
            &["x509", "-req", "-days", "1", "-CAcreateserial"],
            &[
                "-in",
                &d("server.csr"),
                "-CA",
                &d("ca.pem"),
                "-CAkey",
                &d("ca.key"),
                "-extfile",
                &d("san.ext"),
                "-out",
                &d("server.pem"),
            ],
        )?;
        Ok(Some(certs))
    }

    /// A file in the directory: `ca.pem`, `server.pem`, `server.key`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> io::Result<Vec<u8>> {
        std::fs::read(self.path("ca.pem"))
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(openssl: &Path, a: &[&str], b: &[&str]) -> io::Result<()> {
    let status = Command::new(openssl)
        .args(a)
        .args(b)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other("openssl failed"))
    }
}
