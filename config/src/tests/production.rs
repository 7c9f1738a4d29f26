//! Production mode from the environment, and the master-key strength rule.

use super::*;

fn env_with(mode: Option<&str>, master: &str) -> impl Fn(&str) -> Option<String> + use<> {
    let mut pairs = vec![
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("TEAM_A_KEY", TEAM_KEY),
        ("MASTER", master),
    ];
    if let Some(mode) = mode {
        pairs.push((MODE_ENV, mode));
    }
    env_of(&pairs)
}

fn errors(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    Config::from_yaml_str(text, env).unwrap_err().to_string()
}

#[test]
fn portcullis_mode_env_turns_production_on() {
    let env = env_with(Some("production"), MASTER_KEY);
    let config = Config::from_yaml_str(VALID, &env).unwrap();
    assert_eq!(config.mode, Mode::Production);

    // The production rules apply, exactly as with `mode: production` in the file.
    let public_admin = VALID.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  admin_listen: 0.0.0.0:4001\n",
    );
    assert!(errors(&public_admin, &env).contains("server.admin_listen: must be a loopback"));
    let no_master = VALID.replace("  master_key: env:MASTER\n", "");
    assert!(errors(&no_master, &env).contains("auth.master_key: is required in production"));
}

#[test]
fn portcullis_mode_env_never_relaxes_a_production_file() {
    let production = format!("mode: production\n{VALID}");
    let env = env_with(Some("development"), MASTER_KEY);
    let config = Config::from_yaml_str(&production, &env).unwrap();
    assert_eq!(config.mode, Mode::Production);

    let env = env_with(Some("development"), MASTER_KEY);
    assert_eq!(
        Config::from_yaml_str(VALID, &env).unwrap().mode,
        Mode::Development
    );
    let unset = env_with(None, MASTER_KEY);
    assert_eq!(
        Config::from_yaml_str(VALID, &unset).unwrap().mode,
        Mode::Development
    );
}

#[test]
fn unknown_portcullis_mode_is_refused_without_echoing_it() {
    let env = env_with(Some("prod-CANARY"), MASTER_KEY);
    let err = errors(VALID, &env);
    assert!(
        err.contains("PORTCULLIS_MODE: must be `production` or `development`"),
        "{err}"
    );
    assert!(!err.contains("CANARY"), "{err}");
}

#[test]
fn production_refuses_a_long_but_predictable_master_key() {
    let production = format!("mode: production\n{VALID}");
    for weak in [
        "a".repeat(40),
        "abcdefghijklmnopqrstuvwxyz0123456789".to_owned(),
        "changeme".repeat(5),
    ] {
        let env = env_with(None, &weak);
        let err = errors(&production, &env);
        assert!(
            err.contains("auth.master_key: is too predictable for production"),
            "{err}"
        );
        assert!(!err.contains(&weak), "{err}");
        // Development accepts it: the rule is production's.
        let env = env_with(None, &weak);
        Config::from_yaml_str(VALID, &env).unwrap();
    }
}

#[test]
fn production_allows_an_off_host_admin_listener_only_over_tls_and_refuses_cors_star() {
    let env = env_with(Some("production"), MASTER_KEY);
    let admin_tls = VALID.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  admin_listen: 0.0.0.0:4001\n  admin_tls: { cert: /run/secrets/admin.crt, key: /run/secrets/admin.key }\n",
    );
    let config = Config::from_yaml_str(&admin_tls, &env).unwrap();
    let files = config.server.admin_tls.unwrap();
    assert_eq!(files.cert, std::path::Path::new("/run/secrets/admin.crt"));
    assert!(config.server.tls.is_none());

    let cors = |origins: &str| {
        VALID.replace(
            "  listen: 127.0.0.1:0\n",
            &format!("  listen: 127.0.0.1:0\n  cors: {{ allowed_origins: {origins} }}\n"),
        )
    };
    assert!(
        errors(&cors("[\"*\"]"), &env)
            .contains("server.cors.allowed_origins[0]: `*` (any origin) is refused in production")
    );
    let development = env_with(None, MASTER_KEY);
    let star = Config::from_yaml_str(&cors("[\"*\"]"), &development).unwrap();
    assert!(star.server.cors.unwrap().any_origin);
    let listed = Config::from_yaml_str(
        &cors("[\"https://App.example.com/\", \"http://localhost:5173\"]"),
        &env,
    )
    .unwrap();
    let listed = listed.server.cors.unwrap();
    assert_eq!(
        listed.allowed_origins,
        ["https://app.example.com", "http://localhost:5173"]
    );
    assert!(listed.allows("https://app.example.com"));
    assert!(!listed.allows("https://evil.example.com"));
    let bad = errors(&cors("[\"https://app.example.com/path\", \"\"]"), &env);
    assert!(
        bad.contains("server.cors.allowed_origins[0]: must be an origin"),
        "{bad}"
    );
    assert!(
        bad.contains("server.cors.allowed_origins[1]: must be an origin"),
        "{bad}"
    );
    assert!(errors(&cors("[]"), &env).contains("list at least one origin"));
}
