//! `vendor: bedrock` and its `bedrock:` settings.

use portcullis_engine::provider::Vendor;

use super::*;

const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+CANARYbedrockSECRET";
const AWS_TOKEN: &str = "IQoJb3JpZ2luX2VjCANARYsessiontoken";

const BEDROCK: &str = "  - name: aws\n    vendor: bedrock\n    bedrock:\n      region: eu-central-1\n      access_key_id: env:AWS_ACCESS_KEY_ID\n      secret_access_key: env:AWS_SECRET_ACCESS_KEY\n";

fn with_bedrock(provider: &str) -> String {
    VALID.replace("providers:\n", &format!("providers:\n{provider}"))
}

fn load_aws(text: &str) -> Result<Config, ConfigError> {
    let env = env_of(&[
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("TEAM_A_KEY", TEAM_KEY),
        ("MASTER", MASTER_KEY),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_SESSION_TOKEN", AWS_TOKEN),
    ]);
    Config::from_yaml_str(text, &env)
}

fn error_aws(text: &str) -> String {
    match load_aws(text) {
        Ok(_) => panic!("config was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bedrock_defaults_to_the_regional_runtime_endpoint() {
    let config = load_aws(&with_bedrock(BEDROCK)).unwrap();
    let aws = &config.gateway.providers[0];
    assert_eq!(aws.vendor, Vendor::Bedrock);
    assert_eq!(
        aws.base_url.as_str(),
        "https://bedrock-runtime.eu-central-1.amazonaws.com/"
    );
    let b = aws.bedrock.as_ref().unwrap();
    assert_eq!(b.region, "eu-central-1");
    assert_eq!(b.secret_access_key.expose_secret(), AWS_SECRET);
    assert!(b.session_token.is_none());
    assert!(aws.credential.is_none());
}

#[test]
fn bedrock_takes_a_session_token_and_a_base_url_override() {
    let provider = format!(
        "{BEDROCK}      session_token: env:AWS_SESSION_TOKEN\n    base_url: https://vpce-1.bedrock-runtime.eu-central-1.vpce.amazonaws.com\n"
    );
    let config = load_aws(&with_bedrock(&provider)).unwrap();
    let aws = &config.gateway.providers[0];
    assert_eq!(
        aws.bedrock
            .as_ref()
            .unwrap()
            .session_token
            .as_ref()
            .unwrap()
            .expose_secret(),
        AWS_TOKEN
    );
    assert!(aws.base_url.as_str().starts_with("https://vpce-1."));
}

#[test]
fn bedrock_needs_its_block_and_a_valid_region() {
    let missing = error_aws(&with_bedrock("  - name: aws\n    vendor: bedrock\n"));
    assert!(
        missing.contains("providers[0].bedrock: is required for vendor bedrock"),
        "{missing}"
    );
    let bad = error_aws(&with_bedrock(
        &BEDROCK.replace("eu-central-1", "eu-central-1.evil.example"),
    ));
    assert!(
        bad.contains("providers[0].bedrock.region: must be an AWS region"),
        "{bad}"
    );
}

#[test]
fn bedrock_refuses_an_api_key_and_other_vendors_refuse_the_block() {
    let keyed = error_aws(&with_bedrock(&format!(
        "{BEDROCK}    api_key: env:OPENAI_API_KEY\n"
    )));
    assert!(
        keyed.contains("providers[0].api_key: is not used by vendor bedrock"),
        "{keyed}"
    );
    let text = VALID.replace(
        "    allow_private_network: true\n",
        "    allow_private_network: true\n    bedrock: { region: us-east-1, access_key_id: env:A, secret_access_key: env:B }\n",
    );
    let message = error_aws(&text);
    assert!(
        message.contains("providers[1].bedrock: applies only to vendor bedrock, not vllm"),
        "{message}"
    );
}

#[test]
fn a_missing_aws_secret_is_reported_without_any_secret_value() {
    let text = with_bedrock(&BEDROCK.replace("env:AWS_SECRET_ACCESS_KEY", "env:NOT_SET_ANYWHERE"));
    let message = error_aws(&text);
    assert!(
        message.contains("providers[0].bedrock.secret_access_key"),
        "{message}"
    );
    assert!(!message.contains(AWS_SECRET) && !message.contains("AKIAIOSFODNN7EXAMPLE"));
}
