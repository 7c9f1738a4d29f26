//! Any text as a config file: the loader and the audit return a config, problems or findings,
//! never panic, and never echo a value planted in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_config::{Config, audit};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| (name == "K").then(|| "fuzz-value-0123456789abcdef".to_owned());
    if let Err(err) = Config::from_yaml_str(text, &env) {
        let _ = err.to_string();
    }
    let _ = audit(text, &env, 20_000);
    let _ = portcullis_config::import_litellm(text);
});
