//! What SIGHUP does: rotate the listeners' TLS certificates (a gateway without a config file)
//! and reload the config file. Its own test binary: the tests send SIGHUP to their own
//! process, which must not reach gateways other test binaries start. Each test here is
//! indifferent to the other's SIGHUP (a second reload of unchanged files changes nothing).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use portcullis_api::{Config, ConfigSource, RunningGateway, StartError, StartOptions};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const MASTER: &str = "master-key-for-the-tls-test-0123456789abcdef";

/// A CA, and a server certificate for 127.0.0.1 it signed: (CA PEM, leaf PEM, leaf key PEM).
fn certificates(name: &str) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    (ca_pem, leaf.pem(), leaf_key.serialize_pem())
}

fn write_pair(dir: &Path, listener: &str, cert: &str, key: &str) {
    std::fs::write(dir.join(format!("{listener}.crt")), cert).unwrap();
    std::fs::write(dir.join(format!("{listener}.key")), key).unwrap();
}

fn config(dir: &Path) -> Config {
    let d = dir.display();
    let yaml = format!(
        r#"
storage:
  backend: memory
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  workers: 1
  tls: {{ cert: {d}/public.crt, key: {d}/public.key }}
  admin_tls: {{ cert: {d}/admin.crt, key: {d}/admin.key }}
auth:
  master_key: env:MASTER
providers:
  - name: local
    vendor: openai_compatible
    base_url: http://127.0.0.1:9/v1
    allow_private_network: true
models:
  - name: m
    deployments:
      - {{ provider: local, model: m }}
"#
    );
    let env = |name: &str| (name == "MASTER").then(|| MASTER.to_owned());
    Config::from_yaml_str(&yaml, &env).unwrap()
}

/// A client that trusts only `ca`.
fn client(ca: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn live(client: &reqwest::Client, gateway: &RunningGateway) -> reqwest::Result<u16> {
    let url = format!("https://{}/health/live", gateway.public_addr);
    Ok(client.get(url).send().await?.status().as_u16())
}

#[actix_web::test]
async fn both_listeners_serve_tls_and_sighup_rotates_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca1, cert1, key1) = certificates("first");
    let (admin_ca, admin_cert, admin_key) = certificates("admin");
    write_pair(dir.path(), "public", &cert1, &key1);
    write_pair(dir.path(), "admin", &admin_cert, &admin_key);
    let gateway = portcullis_api::start(
        &config(dir.path()),
        StartOptions {
            handle_signals: true,
        },
    )
    .unwrap();

    let first = client(&ca1);
    assert_eq!(live(&first, &gateway).await.unwrap(), 200);
    // Plain HTTP to the TLS listener gets no answer a client could read.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let plain_url = format!("http://{}/health/live", gateway.public_addr);
    assert!(
        plain
            .get(&plain_url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
            .eq(&false)
    );
    // The admin listener has its own certificate.
    let admin_url = format!("https://{}/health/ready", gateway.admin_addr);
    let ready = client(&admin_ca)
        .get(&admin_url)
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(first.get(&admin_url).send().await.is_err());

    // Rotate the public certificate on disk, then SIGHUP.
    let (ca2, cert2, key2) = certificates("second");
    write_pair(dir.path(), "public", &cert2, &key2);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let second = client(&ca2);
    let deadline = Instant::now() + Duration::from_secs(5);
    while live(&second, &gateway).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        live(&client(&ca1), &gateway).await.is_err(),
        "the old certificate is still served"
    );
    let metrics = client(&admin_ca)
        .get(format!("https://{}/metrics", gateway.admin_addr))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("portcullis_tls_reloads_total")
                && l.contains("listener=\"public\"")
                && l.contains("result=\"ok\"")),
        "{metrics}"
    );

    // A broken key on disk: the reload fails, says which file without its content, and the
    // certificate in use stays.
    let canary = "-----BEGIN PRIVATE KEY-----\nQ0FOQVJZLXRscy1rZXktbWF0ZXJpYWw=\n-----END PRIVATE KEY-----\n";
    std::fs::write(dir.path().join("public.key"), canary).unwrap();
    let err = gateway.reload_tls().unwrap_err().to_string();
    assert!(err.contains("public.key"), "{err}");
    assert!(!err.contains("Q0FOQVJZ") && !err.contains("BEGIN"), "{err}");
    assert_eq!(live(&second, &gateway).await.unwrap(), 200);
    gateway.stop(true).await;
}

#[actix_web::test]
async fn a_key_that_does_not_match_its_certificate_fails_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, _) = certificates("one");
    let (_, _, other_key) = certificates("two");
    let (_, admin_cert, admin_key) = certificates("admin");
    write_pair(dir.path(), "public", &cert, &other_key);
    write_pair(dir.path(), "admin", &admin_cert, &admin_key);
    let err = portcullis_api::start(
        &config(dir.path()),
        StartOptions {
            handle_signals: false,
        },
    )
    .unwrap_err();
    assert!(matches!(err, StartError::Tls(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("does not match the certificate"), "{text}");
    std::fs::remove_file(dir.path().join("public.crt")).unwrap();
    let err = portcullis_api::start(
        &config(dir.path()),
        StartOptions {
            handle_signals: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("public.crt"), "{err}");
}

fn plain_yaml(models: &str) -> String {
    format!(
        r#"
storage:
  backend: memory
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  workers: 1
auth:
  master_key: env:MASTER
providers:
  - name: local
    vendor: openai_compatible
    base_url: http://127.0.0.1:9/v1
    allow_private_network: true
models:
{models}
"#
    )
}

#[actix_web::test]
async fn sighup_reloads_the_config_file() {
    let env = |name: &str| (name == "MASTER").then(|| MASTER.to_owned());
    let one = "  - name: m\n    deployments:\n      - { provider: local, model: m }\n";
    let two = format!(
        "{one}  - name: added\n    deployments:\n      - {{ provider: local, model: a }}\n"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), plain_yaml(one)).unwrap();
    let (config, version) = Config::load_versioned(file.path(), &env).unwrap();
    let gateway = portcullis_api::start(
        &config,
        StartOptions {
            handle_signals: true,
        },
    )
    .unwrap();
    gateway.reload_from(
        ConfigSource::file_with_env(file.path(), env),
        Some(version.clone()),
    );
    assert_eq!(
        gateway.config_status().version.as_deref(),
        Some(version.as_str())
    );

    std::fs::write(file.path(), plain_yaml(&two)).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while gateway.config_status().reloads == 0 {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the config"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = gateway.config_status();
    assert_ne!(status.version, Some(version));
    // The admin API reports the same.
    let text = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/admin/config", gateway.admin_addr))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["version"].as_str(), status.version.as_deref());
    gateway.stop(true).await;
}
