//! The vendor table: dialect, base URL, auth style and quirk flags per vendor, as data.

use serde::Deserialize;

/// How the provider credential is presented upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <credential>`.
    Bearer,
    /// `api-key: <credential>` (Azure OpenAI style).
    ApiKeyHeader,
    /// `x-api-key: <credential>` (Anthropic style).
    XApiKey,
    /// `x-goog-api-key: <credential>` (Google AI Studio; never the `key=` URL parameter).
    GoogApiKey,
    /// AWS SigV4: no static header; each request is signed just before it is sent.
    SigV4,
}

/// The wire dialect a vendor speaks: which adapter folder serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI chat completions.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's `generateContent` (Gemini on AI Studio).
    Gemini,
    /// Vertex AI: Gemini's wire format, and Claude through Anthropic's, at project paths.
    VertexAi,
    /// AWS Bedrock's Converse API (event-stream framed streams, SigV4 signing).
    Bedrock,
}

/// How a vendor's endpoint URLs are formed from the configured base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    /// `{base_url}/chat/completions`, `{base_url}/embeddings`; the model goes in the body.
    Plain,
    /// Azure OpenAI: `{base_url}/deployments/{deployment}/chat/completions?api-version=..`
    /// (and `/embeddings`), the deployment being the deployment's upstream model.
    AzureDeployments,
}

/// How a vendor reports token usage on streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamUsage {
    /// Usage arrives only when asked with `stream_options.include_usage` (OpenAI, vLLM, ...).
    OnRequest,
    /// Usage always arrives in the last chunk and `stream_options` is rejected or ignored.
    Always,
}

/// Static facts about one vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorProfile {
    pub dialect: Dialect,
    /// Used when the config gives no `base_url`; `None` means the config must give one.
    pub default_base_url: Option<&'static str>,
    pub auth: AuthStyle,
    /// Whether a credential is mandatory for this vendor.
    pub requires_credential: bool,
    pub stream_usage: StreamUsage,
    pub paths: Paths,
}

/// The vendors Portcullis knows: OpenAI-compatible ones, Anthropic and Bedrock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    Openai,
    /// Any other server speaking the OpenAI chat completions dialect.
    OpenaiCompatible,
    Vllm,
    Ollama,
    Groq,
    Mistral,
    Together,
    Deepseek,
    Openrouter,
    Fireworks,
    /// Anthropic's Messages API (Claude).
    Anthropic,
    /// Azure OpenAI: the OpenAI dialect on deployment URLs with an `api-version`, the
    /// `api-key` header (or an Entra ID bearer token).
    Azure,
    /// Google AI Studio's Gemini API (`generateContent`).
    Gemini,
    /// Google Cloud Vertex AI (Gemini, and Claude on Vertex), with a service account.
    VertexAi,
    /// AWS Bedrock (Converse); credentials and region in the provider's `bedrock:` block.
    Bedrock,
}

impl Vendor {
    /// Every vendor, for docs and error messages.
    pub const ALL: [Vendor; 15] = [
        Vendor::Openai,
        Vendor::OpenaiCompatible,
        Vendor::Vllm,
        Vendor::Ollama,
        Vendor::Groq,
        Vendor::Mistral,
        Vendor::Together,
        Vendor::Deepseek,
        Vendor::Openrouter,
        Vendor::Fireworks,
        Vendor::Anthropic,
        Vendor::Azure,
        Vendor::Gemini,
        Vendor::VertexAi,
        Vendor::Bedrock,
    ];

    /// The config spelling of this vendor.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Openai => "openai",
            Vendor::OpenaiCompatible => "openai_compatible",
            Vendor::Vllm => "vllm",
            Vendor::Ollama => "ollama",
            Vendor::Groq => "groq",
            Vendor::Mistral => "mistral",
            Vendor::Together => "together",
            Vendor::Deepseek => "deepseek",
            Vendor::Openrouter => "openrouter",
            Vendor::Fireworks => "fireworks",
            Vendor::Anthropic => "anthropic",
            Vendor::Azure => "azure",
            Vendor::Gemini => "gemini",
            Vendor::VertexAi => "vertex_ai",
            Vendor::Bedrock => "bedrock",
        }
    }

    /// The row of the vendor table for this vendor.
    pub fn profile(self) -> VendorProfile {
        let hosted = |url| VendorProfile {
            dialect: Dialect::OpenAi,
            default_base_url: Some(url),
            auth: AuthStyle::Bearer,
            requires_credential: true,
            stream_usage: StreamUsage::OnRequest,
            paths: Paths::Plain,
        };
        let self_hosted = |url| VendorProfile {
            dialect: Dialect::OpenAi,
            default_base_url: url,
            auth: AuthStyle::Bearer,
            requires_credential: false,
            stream_usage: StreamUsage::OnRequest,
            paths: Paths::Plain,
        };
        match self {
            Vendor::Openai => hosted("https://api.openai.com/v1"),
            Vendor::OpenaiCompatible => self_hosted(None),
            Vendor::Vllm => self_hosted(None),
            Vendor::Ollama => self_hosted(Some("http://127.0.0.1:11434/v1")),
            Vendor::Groq => hosted("https://api.groq.com/openai/v1"),
            Vendor::Mistral => VendorProfile {
                stream_usage: StreamUsage::Always,
                ..hosted("https://api.mistral.ai/v1")
            },
            Vendor::Together => hosted("https://api.together.xyz/v1"),
            Vendor::Deepseek => hosted("https://api.deepseek.com/v1"),
            Vendor::Openrouter => hosted("https://openrouter.ai/api/v1"),
            Vendor::Fireworks => hosted("https://api.fireworks.ai/inference/v1"),
            Vendor::Anthropic => VendorProfile {
                dialect: Dialect::Anthropic,
                auth: AuthStyle::XApiKey,
                stream_usage: StreamUsage::Always,
                ..hosted("https://api.anthropic.com/v1")
            },
            // The resource's URL is the operator's; the credential is `api_key` or
            // `azure.entra_token` (exactly one, checked with the config).
            Vendor::Azure => VendorProfile {
                dialect: Dialect::OpenAi,
                default_base_url: None,
                auth: AuthStyle::ApiKeyHeader,
                requires_credential: false,
                stream_usage: StreamUsage::OnRequest,
                paths: Paths::AzureDeployments,
            },
            Vendor::Gemini => VendorProfile {
                dialect: Dialect::Gemini,
                auth: AuthStyle::GoogApiKey,
                stream_usage: StreamUsage::Always,
                ..hosted("https://generativelanguage.googleapis.com/v1beta")
            },
            // The base URL follows the region (`https://{region}-aiplatform.googleapis.com/v1`,
            // derived by the config); the credential is a minted token, not an api_key.
            Vendor::VertexAi => VendorProfile {
                dialect: Dialect::VertexAi,
                default_base_url: None,
                auth: AuthStyle::Bearer,
                requires_credential: false,
                stream_usage: StreamUsage::Always,
                paths: Paths::Plain,
            },
            // The default endpoint depends on the region (`bedrock.region`); the config
            // derives it. The credential is the `bedrock:` block, not `api_key`.
            Vendor::Bedrock => VendorProfile {
                dialect: Dialect::Bedrock,
                default_base_url: None,
                auth: AuthStyle::SigV4,
                requires_credential: false,
                stream_usage: StreamUsage::Always,
                paths: Paths::Plain,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_vendors_have_https_defaults_and_need_credentials() {
        for vendor in Vendor::ALL {
            let profile = vendor.profile();
            if let Some(url) = profile.default_base_url
                && profile.requires_credential
            {
                assert!(
                    url.starts_with("https://"),
                    "{} uses {url}",
                    vendor.as_str()
                );
            }
        }
    }

    #[test]
    fn config_spelling_round_trips() {
        for vendor in Vendor::ALL {
            let parsed: Vendor =
                serde_json::from_value(serde_json::json!(vendor.as_str())).unwrap();
            assert_eq!(parsed, vendor);
        }
    }
}
