//! The request a load run sends, validated and pre-built once.
//!
//! Workers clone cheap pieces (`Bytes`, `HeaderValue`, `Uri`) per request
//! instead of re-serializing the body or re-parsing the URL.

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::Full;

use super::{LoadConfig, LoadError};

/// Where to connect and what to send.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    pub stream: bool,
    authority: HeaderValue,
    path: Uri,
    body: Bytes,
    auth: Option<HeaderValue>,
}

impl Target {
    pub(crate) fn new(cfg: &LoadConfig) -> Result<Self, LoadError> {
        let bad = |reason| LoadError::InvalidUrl {
            url: cfg.url.clone(),
            reason,
        };
        let uri: Uri = cfg.url.parse().map_err(|_| bad("cannot parse"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// is supported"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse::<Uri>()
            .map_err(|_| bad("bad path"))?;
        let auth = cfg
            .key
            .as_ref()
            .map(|k| HeaderValue::from_str(&format!("Bearer {k}")))
            .transpose()
            .map_err(|_| LoadError::InvalidKey)?;
        Ok(Self {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            stream: cfg.stream,
            authority: HeaderValue::from_str(authority.as_str()).map_err(|_| bad("bad host"))?,
            path,
            body: request_body(cfg),
            auth,
        })
    }

    /// A fresh request; cheap clones only.
    pub(crate) fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.path.clone();
        let headers = req.headers_mut();
        headers.insert(HOST, self.authority.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.stream {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        req
    }
}

fn request_body(cfg: &LoadConfig) -> Bytes {
    let mut body = serde_json::json!({
        "model": cfg.model,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    });
    if cfg.stream {
        body["stream"] = true.into();
    }
    if let Some(max) = cfg.max_tokens {
        body["max_tokens"] = max.into();
    }
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_host_port_path_and_body_from_the_config() {
        let cfg = LoadConfig {
            key: Some("sk-x".into()),
            stream: true,
            max_tokens: Some(7),
            ..LoadConfig::new("http://127.0.0.1:8080/v1/chat/completions?a=1")
        };
        let t = Target::new(&cfg).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        let req = t.request();
        assert_eq!(req.uri(), "/v1/chat/completions?a=1");
        assert_eq!(req.headers()[HOST], "127.0.0.1:8080");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer sk-x");
        let body: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["max_tokens"], 7);
        assert_eq!(body["model"], "mock-model");
    }

    #[test]
    fn rejects_https_missing_host_and_bad_keys() {
        for url in ["https://x/v1", "/v1/chat", "not a url"] {
            assert!(Target::new(&LoadConfig::new(url)).is_err(), "{url}");
        }
        let cfg = LoadConfig {
            key: Some("bad\nkey".into()),
            ..LoadConfig::new("http://x/v1")
        };
        assert!(matches!(Target::new(&cfg), Err(LoadError::InvalidKey)));
        assert_eq!(
            Target::new(&LoadConfig::new("http://x/v1")).unwrap().port,
            80
        );
    }
}
