//! Starts a mock upstream and a gateway configured in front of it, from YAML, exactly as
//! an operator would — with the secrets coming from a fake environment.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use portcullis_api::{Config, RunningGateway, StartOptions};
use portcullis_loadtest::mock::{MockOptions, MockUpstream};
use serde_json::{Value, json};

/// The provider credential: planted so tests can prove it never leaks.
pub(crate) const CANARY: &str = "sk-canary-provider-credential-7f3a9c21d";
/// A key allowed only `gpt-test`.
pub(crate) const KEY_A: &str = "sk-test-team-a-000000000000000001";
/// A key allowed every model.
pub(crate) const KEY_ALL: &str = "sk-test-team-all-0000000000000002";
pub(crate) const MASTER: &str = "master-key-for-tests-0123456789abcdef";
/// The pepper of gateways on durable storage.
pub(crate) const PEPPER: &str = "pepper-for-tests-0123456789abcdef0123";

/// Every log line written by any gateway in this test process.
pub(crate) fn captured_logs() -> String {
    let logs = LOGS.get_or_init(Default::default);
    String::from_utf8_lossy(&logs.lock().unwrap()).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn init_log_capture() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let buffer = LOGS.get_or_init(Default::default).clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_ansi(false)
            .with_writer(move || Capture(buffer.clone()))
            .finish();
        // As the binary does: malformed requests are counted, not logged at ERROR.
        let subscriber = tracing_subscriber::layer::SubscriberExt::with(
            subscriber,
            portcullis_api::MalformedRequestFilter,
        );
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

pub(crate) fn config_yaml(mock_url: &str) -> String {
    format!(
        r#"
storage:
  backend: memory
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  workers: 1
  max_body_bytes: 65536
  max_json_depth: 32
auth:
  master_key: env:MASTER
providers:
  - name: mock
    vendor: openai_compatible
    base_url: {mock_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 1s, read: 1s }}
models:
  - name: gpt-test
    deployments:
      - provider: mock
        model: upstream-gpt
  - name: other-model
    deployments:
      - provider: mock
        model: upstream-other
keys:
  - name: team-a
    key: env:KEY_A
    models: [gpt-test]
  - name: team-all
    key: os.environ/KEY_ALL
    models: ["*"]
"#
    )
}

pub(crate) fn fake_env(name: &str) -> Option<String> {
    match name {
        "MASTER" => Some(MASTER.to_owned()),
        "PROVIDER_KEY" => Some(CANARY.to_owned()),
        "KEY_A" => Some(KEY_A.to_owned()),
        "KEY_ALL" => Some(KEY_ALL.to_owned()),
        "PEPPER" => Some(PEPPER.to_owned()),
        _ => None,
    }
}

/// A gateway in front of a mock, and an HTTP client for both.
pub(crate) struct Harness {
    pub mock: MockUpstream,
    pub gateway: RunningGateway,
    pub config: Config,
    pub http: reqwest::Client,
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Self::start_with(MockOptions::default()).await
    }

    pub(crate) async fn start_with(options: MockOptions) -> Harness {
        Self::start_from(options, config_yaml, None).await
    }

    /// A gateway configured by `yaml(mock_base_url)`.
    pub(crate) async fn start_config(
        options: MockOptions,
        yaml: impl Fn(&str) -> String,
    ) -> Harness {
        Self::start_from(options, yaml, None).await
    }

    /// Starts with the standard config after `edit` (e.g. to add a `limits:` section).
    pub(crate) async fn start_configured(
        options: MockOptions,
        edit: impl FnOnce(String) -> String,
    ) -> Harness {
        Self::start_from(options, |url| edit(config_yaml(url)), None).await
    }

    /// A gateway from the YAML `yaml` makes of the mock's URL, on `stores` if given (else on
    /// the storage the YAML names).
    pub(crate) async fn start_from(
        options: MockOptions,
        yaml: impl FnOnce(&str) -> String,
        stores: Option<portcullis_api::Stores>,
    ) -> Harness {
        let options = MockOptions {
            expect_api_key: Some(CANARY.to_owned()),
            ..options
        };
        Self::start_env(options, yaml, &fake_env, stores).await
    }

    /// A gateway from `yaml`, its secrets resolved by `env`, in front of a mock started with
    /// `options` as given (the security suite plants its own canaries this way).
    pub(crate) async fn start_env(
        options: MockOptions,
        yaml: impl FnOnce(&str) -> String,
        env: &dyn Fn(&str) -> Option<String>,
        stores: Option<portcullis_api::Stores>,
    ) -> Harness {
        init_log_capture();
        let mock = MockUpstream::start(options).await.unwrap();
        let config = Config::from_yaml_str(&yaml(&mock.base_url()), env).unwrap();
        let options = StartOptions {
            handle_signals: false,
        };
        let gateway = match stores {
            Some(stores) => portcullis_api::start_with_stores(&config, options, stores),
            None => portcullis_api::start(&config, options),
        }
        .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Harness {
            mock,
            gateway,
            config,
            http,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.public_addr)
    }

    pub(crate) fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.admin_addr)
    }

    /// A chat completion request with `key` as Bearer (if any) and `body` as JSON.
    pub(crate) fn chat(&self, key: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(self.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_string());
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    pub(crate) async fn stop(self) {
        self.gateway.stop(false).await;
        self.mock.shutdown().await;
    }
}

pub(crate) fn hello(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "Hello there" }] })
}

/// Sends, then returns the body as text, whatever the status.
pub(crate) async fn send_text(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Sends, then returns status and parsed JSON body.
pub(crate) async fn send_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Asserts `body` is an OpenAI-shaped error and returns its `type`.
pub(crate) fn error_type(body: &Value) -> &str {
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no error object in {body}"));
    assert!(
        error.get("message").and_then(Value::as_str).is_some(),
        "{body}"
    );
    assert!(
        error.get("param").is_some() && error.get("code").is_some(),
        "{body}"
    );
    error["type"].as_str().unwrap()
}

/// Sum of the samples of `name` in a Prometheus scrape whose labels include every pair.
pub(crate) fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            if !(rest.is_empty() || rest.starts_with('{')) {
                return None;
            }
            labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

impl Harness {
    /// The admin listener's `/metrics` text.
    pub(crate) async fn scrape(&self) -> String {
        send_text(
            self.http
                .get(self.admin_url("/metrics"))
                .bearer_auth(MASTER),
        )
        .await
    }

    /// Scrapes until the sample rises above `floor` (some are recorded a moment after the
    /// client saw the response end); bounded to 2 s. Returns the last scrape.
    pub(crate) async fn scrape_until_above(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        floor: f64,
    ) -> String {
        let mut scrape = String::new();
        for _ in 0..100 {
            scrape = self.scrape().await;
            if sample(&scrape, name, labels) > floor {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        scrape
    }
}
