//! Azure OpenAI: the OpenAI dialect on Azure's URLs and credentials — data and a little code
//! on top of [`super::openai`], not a copy of it.
//!
//! - URLs: `{base_url}/deployments/{deployment}/chat/completions?api-version={v}` and
//!   `.../embeddings`, where `base_url` is the resource's `https://{resource}.openai.azure.com/openai`
//!   and the deployment is the gateway deployment's upstream model. The deployment name is
//!   added as one percent-encoded path segment, so no model name can change the path.
//! - Credential: the `api-key` header from `api_key`, or `Authorization: Bearer` from the
//!   Entra ID token reference (`azure.entra_token`); the config allows exactly one.
//! - Errors: OpenAI's classification, which also reads Azure's content-filter refusals
//!   (`error.code == "content_filter"`, `innererror.code == "ResponsibleAIPolicyViolation"`)
//!   as `ContentPolicy`, and `retry-after-ms` / `retry-after` on 429s.
//! - Responses are forwarded as received, so Azure's `prompt_filter_results` and
//!   `content_filter_results` (and `finish_reason: "content_filter"`) reach the client
//!   unchanged, in JSON and in stream chunks alike.

use secrecy::SecretString;
use url::Url;

use super::AuthStyle;
use crate::error::EngineError;
use crate::spec::ProviderSpec;

/// The operation a URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Chat,
    Embeddings,
}

/// A resource's deployment URLs, prepared once.
#[derive(Debug, Clone)]
pub(crate) struct AzureEndpoints {
    /// The base URL with its query set to `api-version={v}` and no trailing slash.
    base: Url,
}

impl AzureEndpoints {
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let mut base = spec.base_url.clone();
        if base.cannot_be_a_base() {
            return Err(EngineError::Internal(
                "provider base URL does not form an endpoint URL",
            ));
        }
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop_if_empty();
        }
        base.set_query(None);
        base.query_pairs_mut()
            .append_pair("api-version", &spec.azure.api_version);
        Ok(Self { base })
    }

    /// The URL of `operation` on `deployment`.
    pub(crate) fn url(&self, deployment: &str, operation: Operation) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push("deployments").push(deployment);
            match operation {
                Operation::Chat => segments.extend(["chat", "completions"]),
                Operation::Embeddings => segments.push("embeddings"),
            };
        }
        url
    }
}

/// Azure's credential and how it is sent: the Entra ID token as a bearer token if one is
/// configured, else the `api_key` in the `api-key` header.
pub(crate) fn credential(spec: &ProviderSpec) -> Option<(AuthStyle, SecretString)> {
    match (&spec.azure.entra_token, &spec.credential) {
        (Some(token), _) => Some((AuthStyle::Bearer, token.clone())),
        (None, Some(key)) => Some((AuthStyle::ApiKeyHeader, key.clone())),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Vendor;
    use crate::spec::AzureSpec;
    use secrecy::ExposeSecret;

    fn spec(base: &str) -> ProviderSpec {
        ProviderSpec::new("az", Vendor::Azure, base.parse().unwrap())
    }

    #[test]
    fn builds_deployment_urls_with_the_api_version() {
        for base in [
            "https://res.openai.azure.com/openai",
            "https://res.openai.azure.com/openai/",
        ] {
            let endpoints = AzureEndpoints::new(&spec(base)).unwrap();
            assert_eq!(
                endpoints.url("gpt-4o", Operation::Chat).as_str(),
                "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
            );
            assert_eq!(
                endpoints.url("emb", Operation::Embeddings).as_str(),
                "https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21"
            );
        }
        let custom = spec("https://res.openai.azure.com/openai").azure(AzureSpec {
            api_version: "2025-01-01-preview".to_owned(),
            entra_token: None,
        });
        let url = AzureEndpoints::new(&custom)
            .unwrap()
            .url("d", Operation::Chat);
        assert_eq!(url.query(), Some("api-version=2025-01-01-preview"));
    }

    #[test]
    fn a_deployment_name_is_one_encoded_segment() {
        let endpoints = AzureEndpoints::new(&spec("https://res.openai.azure.com/openai")).unwrap();
        let url = endpoints.url("../../evil?x=1#f", Operation::Chat);
        assert_eq!(url.host_str(), Some("res.openai.azure.com"));
        assert_eq!(url.query(), Some("api-version=2024-10-21"));
        assert!(url.fragment().is_none());
        assert!(
            url.path()
                .starts_with("/openai/deployments/..%2F..%2Fevil%3Fx=1%23f/"),
            "{url}"
        );
    }

    #[test]
    fn entra_token_is_sent_as_bearer_else_the_api_key_header() {
        let key = spec("https://r.openai.azure.com/openai").credential("k-1");
        assert!(matches!(
            credential(&key),
            Some((AuthStyle::ApiKeyHeader, s)) if s.expose_secret() == "k-1"
        ));
        let entra = spec("https://r.openai.azure.com/openai").azure(AzureSpec {
            entra_token: Some(SecretString::from("tok-1".to_owned())),
            ..AzureSpec::default()
        });
        assert!(matches!(
            credential(&entra),
            Some((AuthStyle::Bearer, s)) if s.expose_secret() == "tok-1"
        ));
    }

    #[test]
    fn the_adapter_sends_azure_urls_and_exactly_one_credential_header() {
        use crate::provider::ProviderAdapter;
        use crate::provider::openai::OpenAiAdapter;
        use crate::request::ChatRequest;
        use crate::request::embeddings::EmbeddingsRequest;

        let chat = ChatRequest::parse(
            br#"{"model":"public","messages":[{"role":"user","content":"hi"}]}"#,
            8,
        )
        .unwrap();
        let emb = EmbeddingsRequest::parse(br#"{"model":"public","input":"x"}"#, 8).unwrap();
        let keyed = spec("https://r.openai.azure.com/openai").credential("k-1");
        let adapter = OpenAiAdapter::new(&keyed).unwrap();
        let request = adapter.chat_request(&chat, "dep-1").unwrap();
        assert_eq!(
            request.url.as_str(),
            "https://r.openai.azure.com/openai/deployments/dep-1/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(request.headers["api-key"], "k-1");
        assert!(request.headers["api-key"].is_sensitive());
        assert!(!request.headers.contains_key("authorization"));
        let request = adapter.embeddings_request(&emb, "emb-1").unwrap();
        assert!(
            request
                .url
                .path()
                .ends_with("/deployments/emb-1/embeddings")
        );

        let entra = spec("https://r.openai.azure.com/openai").azure(AzureSpec {
            entra_token: Some(SecretString::from("tok-1".to_owned())),
            ..AzureSpec::default()
        });
        let request = OpenAiAdapter::new(&entra)
            .unwrap()
            .chat_request(&chat, "dep-1")
            .unwrap();
        assert_eq!(request.headers["authorization"], "Bearer tok-1");
        assert!(!request.headers.contains_key("api-key"));
    }

    /// Azure's answer when its output filter stopped a completion (documented shape).
    const FILTERED_COMPLETION: &[u8] = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],"choices":[{"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":null},"content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;

    /// An Azure stream: the prompt-filter chunk with no choices first, content with its
    /// filter results, `finish_reason: "content_filter"`, the usage chunk, `[DONE]`.
    const STREAM: &str = concat!(
        "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}],\"id\":\"c1\",\"object\":\"chat.completion.chunk\"}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"content_filter\",\"content_filter_results\":{\"violence\":{\"filtered\":true,\"severity\":\"high\"}}}],\"id\":\"c1\",\"object\":\"chat.completion.chunk\"}\n\n",
        "data: {\"choices\":[],\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn filter_results_and_the_content_filter_finish_reason_pass_through() {
        use crate::provider::ProviderAdapter;
        use crate::provider::openai::OpenAiAdapter;
        use crate::usage::Usage;

        let keyed = spec("https://r.openai.azure.com/openai").credential("k");
        let adapter = OpenAiAdapter::new(&keyed).unwrap();
        let (body, usage) = adapter
            .chat_response(bytes::Bytes::from_static(FILTERED_COMPLETION))
            .unwrap();
        assert_eq!(&body[..], FILTERED_COMPLETION);
        assert_eq!(usage, Some(Usage::new(12, 3)));
    }

    #[test]
    fn azure_streams_keep_filter_chunks_for_any_split() {
        use crate::provider::ProviderAdapter;
        use crate::provider::openai::OpenAiAdapter;
        use crate::request::ChatRequest;
        use crate::usage::Usage;

        let keyed = spec("https://r.openai.azure.com/openai").credential("k");
        let adapter = OpenAiAdapter::new(&keyed).unwrap();
        let chat = ChatRequest::parse(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#,
            8,
        )
        .unwrap();
        let run = |split: usize| {
            let mut translator = adapter.stream_translator(&chat, 1 << 16);
            let (a, b) = STREAM.as_bytes().split_at(split);
            let mut out = translator
                .push(bytes::Bytes::copy_from_slice(a))
                .unwrap()
                .to_vec();
            out.extend_from_slice(&translator.push(bytes::Bytes::copy_from_slice(b)).unwrap());
            assert!(translator.finish().is_ok());
            (String::from_utf8(out).unwrap(), translator.usage())
        };
        let (whole, usage) = run(STREAM.len());
        assert_eq!(usage, Some(Usage::new(9, 1)));
        assert!(whole.contains("prompt_filter_results"), "{whole}");
        assert!(
            whole.contains(r#""finish_reason":"content_filter""#),
            "{whole}"
        );
        // The client did not ask for usage: the usage-only chunk is dropped, [DONE] kept.
        assert!(!whole.contains(r#""usage""#), "{whole}");
        assert!(whole.ends_with("data: [DONE]\n\n"), "{whole}");
        for split in 0..STREAM.len() {
            assert_eq!(run(split).0, whole, "split at {split}");
        }
    }
}
