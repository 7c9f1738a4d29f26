//! `portcullis demo`: a working gateway with no provider account and no config file.
//!
//! Starts the mock upstream from `portcullis-loadtest` in-process, behind three providers: one
//! speaking OpenAI's dialect (model [`DEMO_MODEL`]), one speaking Anthropic's Messages API
//! (model [`DEMO_CLAUDE_MODEL`]) and one speaking AWS Bedrock's Converse API, SigV4-signed with
//! random credentials the mock verifies (model [`DEMO_BEDROCK_MODEL`]), so every translation
//! can be tried, plus an embeddings model ([`DEMO_EMBEDDING_MODEL`], on the OpenAI-dialect
//! provider) and a Gemini-dialect (AI Studio) one ([`DEMO_GEMINI_MODEL`]). When a request
//! offers tools, the mock calls the first one. Generates a demo virtual key and master key, and
//! prints a curl command and SDK snippets that work as printed. Nothing is written to disk.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use portcullis_engine::provider::Vendor;
use portcullis_engine::{BedrockSpec, DeploymentSpec, GatewaySpec, ProviderSpec};
use portcullis_loadtest::mock::{AwsCredentials, Behaviour, MockOptions, MockUpstream, ToolCall};
use secrecy::SecretString;

use crate::keygen;
use portcullis_config::{
    Config, KeyConfig, KeyLimits, LimitsConfig, Mode, ModelAccess, ServerConfig, StorageConfig,
};

/// The public model name the demo serves through an OpenAI-dialect provider.
pub const DEMO_MODEL: &str = "demo-model";
/// The public model name the demo serves through an Anthropic-dialect provider.
pub const DEMO_CLAUDE_MODEL: &str = "demo-claude";

/// The public model name the demo serves through a Gemini-dialect (AI Studio) provider.
pub const DEMO_GEMINI_MODEL: &str = "demo-gemini";

/// The public model name of the demo's embeddings (priced like OpenAI's small embedding model).
pub const DEMO_EMBEDDING_MODEL: &str = "demo-embedding";

/// The public model name the demo serves through a Bedrock (Converse) provider.
pub const DEMO_BEDROCK_MODEL: &str = "demo-bedrock";

/// What the demo started, and the credentials to use it.
#[derive(Debug)]
pub struct Demo {
    pub config: Config,
    pub mock: MockUpstream,
    pub virtual_key: String,
    pub master_key: String,
}

/// Starts the mock upstream and builds the demo config (the gateway is started by the caller).
pub async fn prepare(listen: SocketAddr, admin_listen: SocketAddr) -> anyhow::Result<Demo> {
    let mock = MockUpstream::start(MockOptions {
        record: false,
        default: Behaviour {
            tool_calls: vec![ToolCall {
                name: None,
                arguments: serde_json::json!({ "city": "Paris" }),
            }],
            ..Behaviour::default()
        },
        ..MockOptions::default()
    })
    .await?;
    let virtual_key = keygen::generate_key()?;
    let master_key = keygen::generate_key()?;
    let mut gateway = GatewaySpec::default();
    let mock_provider = gateway.provider(
        ProviderSpec::new("mock", Vendor::OpenaiCompatible, mock.base_url().parse()?)
            .allow_private_network(),
    );
    gateway.group(
        DEMO_MODEL,
        vec![DeploymentSpec::new(mock_provider, "mock-model")],
    );
    gateway.group(
        DEMO_EMBEDDING_MODEL,
        vec![DeploymentSpec::new(mock_provider, "text-embedding-3-small")],
    );
    // The mock accepts any `x-api-key`; a fresh random one stands in for a real credential.
    let anthropic_provider = gateway.provider(
        ProviderSpec::new(
            "mock-anthropic",
            Vendor::Anthropic,
            mock.base_url().parse()?,
        )
        .credential(&keygen::generate_key()?)
        .allow_private_network(),
    );
    gateway.group(
        DEMO_CLAUDE_MODEL,
        vec![DeploymentSpec::new(anthropic_provider, "mock-claude")],
    );
    // Random AWS credentials: the gateway signs with them and the mock checks the signature.
    let aws = AwsCredentials {
        access_key_id: keygen::generate_key()?,
        secret_access_key: keygen::generate_key()?,
        session_token: None,
    };
    mock.expect_aws_credentials(aws.clone());
    let bedrock_provider = gateway.provider(
        ProviderSpec::new(
            "mock-bedrock",
            Vendor::Bedrock,
            format!("http://{}", mock.addr()).parse()?,
        )
        .bedrock(BedrockSpec {
            region: "us-east-1".to_owned(),
            access_key_id: SecretString::from(aws.access_key_id),
            secret_access_key: SecretString::from(aws.secret_access_key),
            session_token: None,
        })
        .allow_private_network(),
    );
    gateway.group(
        DEMO_BEDROCK_MODEL,
        vec![DeploymentSpec::new(
            bedrock_provider,
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
        )],
    );
    // The mock wants some `x-goog-api-key`; a fresh random one stands in for a real key.
    let gemini_provider = gateway.provider(
        ProviderSpec::new(
            "mock-gemini",
            Vendor::Gemini,
            mock.gemini_base_url().parse()?,
        )
        .credential(&keygen::generate_key()?)
        .allow_private_network(),
    );
    gateway.group(
        DEMO_GEMINI_MODEL,
        vec![DeploymentSpec::new(gemini_provider, "mock-gemini")],
    );
    let config = Config {
        mode: Mode::Development,
        server: ServerConfig {
            listen,
            admin_listen,
            workers: 2,
            max_body_bytes: ServerConfig::DEFAULT_MAX_BODY_BYTES,
            max_json_depth: ServerConfig::DEFAULT_MAX_JSON_DEPTH,
            shutdown_timeout: Duration::from_secs(5),
            ..ServerConfig::default()
        },
        master_key: Some(SecretString::from(master_key.clone())),
        key_pepper: None,
        gateway,
        keys: vec![KeyConfig {
            name: "demo".to_owned(),
            key: SecretString::from(virtual_key.clone()),
            models: ModelAccess::All,
            limits: KeyLimits::default(),
        }],
        limits: LimitsConfig::default(),
        storage: StorageConfig::Memory,
        pricing: Vec::new(),
        catalogue: portcullis_engine::cost::Catalogue::builtin()?,
        telemetry: portcullis_config::TelemetryConfig::default(),
        warnings: Vec::new(),
    };
    Ok(Demo {
        config,
        mock,
        virtual_key,
        master_key,
    })
}

/// Prints how to use the running demo gateway.
pub fn print_banner(
    out: &mut impl Write,
    public: SocketAddr,
    admin: SocketAddr,
    demo: &Demo,
) -> std::io::Result<()> {
    let key = &demo.virtual_key;
    writeln!(
        out,
        "Portcullis demo gateway is running (embedded mock provider: no real model is called)."
    )?;
    writeln!(out)?;
    writeln!(out, "  OpenAI-compatible base URL: http://{public}/v1")?;
    writeln!(out, "  demo virtual key:           {key}")?;
    writeln!(out, "  model:                      {DEMO_MODEL}")?;
    writeln!(out, "  embeddings model:           {DEMO_EMBEDDING_MODEL}")?;
    writeln!(out, "  Anthropic base URL:         http://{public}")?;
    writeln!(
        out,
        "  Anthropic-dialect model:    {DEMO_CLAUDE_MODEL} (any route, any client SDK)"
    )?;
    writeln!(
        out,
        "  Bedrock-dialect model:      {DEMO_BEDROCK_MODEL} (SigV4-signed Converse, any route)"
    )?;
    writeln!(
        out,
        "  Gemini-dialect model:       {DEMO_GEMINI_MODEL} (AI Studio generateContent)"
    )?;
    writeln!(
        out,
        "  metrics (admin listener):   curl -H 'Authorization: Bearer {}' http://{admin}/metrics",
        demo.master_key
    )?;
    writeln!(out)?;
    writeln!(out, "Try it with curl:")?;
    writeln!(out, "  curl http://{public}/v1/chat/completions \\")?;
    writeln!(
        out,
        "    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\"
    )?;
    writeln!(
        out,
        "    -d '{{\"model\":\"{DEMO_MODEL}\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'"
    )?;
    writeln!(out)?;
    writeln!(out, "Or with the OpenAI Python SDK (pip install openai):")?;
    writeln!(out, "  from openai import OpenAI")?;
    writeln!(
        out,
        "  client = OpenAI(base_url=\"http://{public}/v1\", api_key=\"{key}\")"
    )?;
    writeln!(
        out,
        "  reply = client.chat.completions.create(model=\"{DEMO_MODEL}\", messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}])"
    )?;
    writeln!(out, "  print(reply.choices[0].message.content)")?;
    writeln!(out)?;
    writeln!(
        out,
        "Or with the Anthropic Python SDK (pip install anthropic), on /v1/messages:"
    )?;
    writeln!(out, "  from anthropic import Anthropic")?;
    writeln!(
        out,
        "  client = Anthropic(base_url=\"http://{public}\", api_key=\"{key}\")"
    )?;
    writeln!(
        out,
        "  reply = client.messages.create(model=\"{DEMO_CLAUDE_MODEL}\", max_tokens=256, messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}])"
    )?;
    writeln!(out, "  print(reply.content[0].text)")?;
    writeln!(out)?;
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()
}
