use super::*;
use crate::cost::price::cost;
use crate::usage::Usage;

fn usd(text: &str) -> MicroUsd {
    MicroUsd::parse_dollars(text).unwrap()
}

fn builtin() -> Catalogue {
    Catalogue::builtin().unwrap()
}

fn cost_of(model: &str, usage: Usage) -> MicroUsd {
    let catalogue = builtin();
    let price = catalogue
        .price(model)
        .unwrap_or_else(|| panic!("{model} is unpriced"));
    cost(price, &usage)
}

#[test]
fn builtin_catalogue_loads_with_its_date() {
    let catalogue = builtin();
    assert_eq!(catalogue.as_of(), "2026-11-30");
    assert!(catalogue.len() > 100, "{}", catalogue.len());
}

#[test]
fn builtin_catalogue_prices_every_provider_family() {
    let catalogue = builtin();
    for model in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1-nano",
        "o4-mini",
        "gpt-5",
        "text-embedding-3-large",
        "claude-3-haiku-20240307",
        "claude-opus-4-5-20251101",
        "claude-haiku-4-5-20251001",
        "gemini-2.5-flash-lite",
        "gemini-1.5-flash-8b",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "amazon.nova-pro-v1:0",
        "amazon.titan-embed-text-v2:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "mistral.mixtral-8x7b-instruct-v0:1",
        "mistral-small-latest",
        "mistral-embed",
    ] {
        assert!(catalogue.price(model).is_some(), "{model} is unpriced");
    }
}

#[test]
fn known_models_cost_matches_the_catalogue_to_the_micro_dollar() {
    let gpt4o = Usage {
        prompt_tokens: 1_000,
        completion_tokens: 500,
        cached_tokens: 200,
        cache_write_tokens: 0,
    };
    // 800 × $2.50 + 200 × $1.25 + 500 × $10, per million.
    assert_eq!(cost_of("gpt-4o-2024-08-06", gpt4o), usd("0.00725"));

    let claude = Usage {
        prompt_tokens: 10_000,
        completion_tokens: 1_000,
        cached_tokens: 4_000,
        cache_write_tokens: 2_000,
    };
    // 4,000 × $3 + 4,000 × $0.30 + 2,000 × $3.75 + 1,000 × $15, per million.
    let bedrock = "us.anthropic.claude-3-5-sonnet-20240620-v1:0";
    assert_eq!(cost_of(bedrock, claude), usd("0.0357"));

    // Above 200k prompt tokens Gemini 2.5 Pro charges $2.50 in and $15 out.
    let long = Usage::new(250_000, 10_000);
    assert_eq!(cost_of("models/gemini-2.5-pro", long), usd("0.775"));

    // 3 × $0.035 + 1 × $0.14 per million = 0.245 µ$, charged as 1.
    assert_eq!(
        cost_of("amazon.nova-micro-v1:0", Usage::new(3, 1)).as_micros(),
        1
    );

    let embeddings = Usage::new(1_000_000_000, 0);
    assert_eq!(cost_of("text-embedding-3-small", embeddings), usd("20"));

    let opus = Usage::new(1_000_000, 1_000_000);
    assert_eq!(cost_of("claude-opus-4-1-20250805", opus), usd("90"));
    assert_eq!(cost_of("claude-opus-4-5", opus), usd("30"));
}

#[test]
fn snapshot_with_its_own_price_is_not_priced_as_its_family() {
    let catalogue = builtin();
    assert_eq!(
        catalogue.lookup("gpt-4o-2024-05-13").unwrap().0,
        "gpt-4o-2024-05-13"
    );
    assert_ne!(
        catalogue.price("gpt-4o-2024-05-13"),
        catalogue.price("gpt-4o")
    );
    assert_eq!(catalogue.lookup("gpt-4o-2024-11-20").unwrap().0, "gpt-4o");
    assert_eq!(
        catalogue.lookup("gpt-4o-mini-2024-07-18").unwrap().0,
        "gpt-4o-mini"
    );
}

#[test]
fn unknown_models_are_unpriced_rather_than_guessed() {
    let catalogue = builtin();
    for model in [
        "gpt-4o-mini-tts",
        "ft:gpt-4o-mini-2024-07-18:acme::abc123",
        "claude-4-sonnet",
        "my-local-llama",
        "gemini-2.5-pro-exp",
        "openai/gpt-4o",
        "",
    ] {
        assert!(catalogue.price(model).is_none(), "{model} was priced");
    }
}

#[test]
fn overrides_replace_and_add_prices_and_reach_snapshots() {
    let cheap = Price::flat(Rates::new(usd("1"), usd("2")));
    let catalogue = builtin().with_overrides([
        ("GPT-4o".to_string(), cheap),
        ("acme-llm".to_string(), cheap),
        (" ".to_string(), cheap),
    ]);
    assert_eq!(catalogue.price("gpt-4o"), Some(&cheap));
    assert_eq!(catalogue.price("gpt-4o-2024-08-06"), Some(&cheap));
    // A configured price beats even a built-in snapshot entry.
    assert_eq!(catalogue.price("gpt-4o-2024-05-13"), Some(&cheap));
    assert_eq!(catalogue.price("acme-llm"), Some(&cheap));
    assert_ne!(catalogue.price("gpt-4o-mini"), Some(&cheap));
}

#[test]
fn staleness_is_measured_from_the_as_of_date() {
    let catalogue = builtin();
    let as_of = parse_date("2026-11-30").unwrap();
    assert!(!catalogue.is_stale(as_of, 0));
    assert!(!catalogue.is_stale(as_of + 90, 90));
    assert!(catalogue.is_stale(as_of + 91, 90));
    assert!(!catalogue.is_stale(as_of - 10, 0));
}

#[test]
fn dates_convert_to_days_since_the_epoch() {
    assert_eq!(parse_date("1970-01-01"), Some(0));
    assert_eq!(parse_date("2000-03-01"), Some(11_017));
    assert_eq!(parse_date("2024-02-29"), Some(19_782));
    assert_eq!(parse_date("2026-11-30"), Some(20_787));
    for bad in [
        "2023-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-1-01",
        "26-11-30",
        "2026/11/30",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
}

#[test]
fn builtin_prices_are_internally_consistent() {
    let catalogue = builtin();
    for (name, price) in &catalogue.prices {
        let base = &price.base;
        assert!(!base.input.is_zero(), "{name}: free input");
        assert!(
            base.cached_input <= base.input,
            "{name}: cache read dearer than input"
        );
        assert!(
            base.cache_write >= base.input,
            "{name}: cache write cheaper than input"
        );
        if let Some(long) = &price.long_context {
            assert!(
                long.rates.input >= base.input,
                "{name}: long context cheaper"
            );
            assert!(
                long.rates.output >= base.output,
                "{name}: long context cheaper"
            );
            assert!(long.above_prompt_tokens >= 100_000, "{name}: odd threshold");
        }
    }
}

#[test]
fn price_data_with_mistakes_is_refused() {
    let entry = |names: &str, input: &str| {
        format!(
            r#"{{"as_of":"2026-01-01","models":[{{"provider":"x","names":{names},"input":"{input}","output":"1"}}]}}"#
        )
    };
    assert!(Catalogue::from_json(&entry(r#"["a"]"#, "1.5")).is_ok());
    assert!(matches!(
        Catalogue::from_json(&entry(r#"["a","a"]"#, "1")),
        Err(CatalogueError::Duplicate(_))
    ));
    assert!(matches!(
        Catalogue::from_json(&entry(r#"["GPT-4o"]"#, "1")),
        Err(CatalogueError::BadName(_))
    ));
    assert!(matches!(
        Catalogue::from_json(&entry("[]", "1")),
        Err(CatalogueError::BadName(_))
    ));
    assert!(matches!(
        Catalogue::from_json(&entry(r#"["a"]"#, "1.2345678")),
        Err(CatalogueError::Price { .. })
    ));
    let typo = r#"{"as_of":"2026-01-01","models":[{"provider":"x","names":["a"],"input":"1","ouput":"1"}]}"#;
    assert!(matches!(
        Catalogue::from_json(typo),
        Err(CatalogueError::Json(_))
    ));
    let bad_date = r#"{"as_of":"soon","models":[]}"#;
    assert!(matches!(
        Catalogue::from_json(bad_date),
        Err(CatalogueError::BadDate(_))
    ));
}
