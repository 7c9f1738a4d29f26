use serde_json::json;

use super::*;
use crate::cost::price::{LongContext, Rates, cost};
use crate::usage::Usage;

fn usd(text: &str) -> MicroUsd {
    MicroUsd::parse_dollars(text).unwrap()
}

use crate::cost::fixtures::FIXTURES;

#[test]
fn text_estimate_is_never_below_openai_tokenizers_on_fixtures() {
    for &(name, text, o200k, cl100k) in FIXTURES {
        let estimate = estimate_text_tokens(text);
        let actual = o200k.max(cl100k);
        assert!(estimate >= actual, "{name}: estimate {estimate} < {actual}");
    }
}

#[test]
fn text_estimate_stays_within_the_documented_over_estimate() {
    for &(name, text, o200k, cl100k) in FIXTURES {
        let estimate = estimate_text_tokens(text);
        let actual = o200k.max(cl100k);
        // Documented: at most ~2.2× the larger count.
        assert!(
            estimate * 10 <= actual * 22,
            "{name}: estimate {estimate} vs {actual}"
        );
    }
}

#[test]
fn text_estimate_counts_by_character_class() {
    assert_eq!(estimate_text_tokens(""), 0);
    // "word" 1; +10% rounds up to 2.
    assert_eq!(estimate_text_tokens("word"), 2);
    // 10 words of 4 letters, single spaces free: 10 → 11.
    assert_eq!(
        estimate_text_tokens("abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd"),
        11
    );
    // 9 digits → 3 groups of three → 4 with the margin.
    assert_eq!(estimate_text_tokens("123456789"), 4);
    // Capital-heavy segments are costed like random strings: "QWERTYUIOP" → 7 → 8.
    assert_eq!(estimate_text_tokens("QWERTYUIOP"), 8);
    // Four CJK characters = 12 bytes → 6 → 7.
    assert_eq!(estimate_text_tokens("网关预算"), 7);
}

#[test]
fn text_estimate_is_linear_and_does_not_overflow_on_long_input() {
    let one = estimate_text_tokens("the budget is settled. ");
    let many = estimate_text_tokens(&"the budget is settled. ".repeat(10_000));
    assert!(many >= one * 10_000 * 9 / 10, "{one} {many}");
    assert!(many <= one * 10_000 * 11 / 10, "{one} {many}");
}

#[test]
fn chat_estimate_adds_message_framing_images_and_tool_schemas() {
    let text_only = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "word"},
            {"role": "user", "content": [{"type": "text", "text": "word"}]}
        ]
    });
    let body = text_only.as_object().unwrap();
    let role = |r: &str| estimate_text_tokens(r);
    let expected = PER_REQUEST_TOKENS
        + 2 * PER_MESSAGE_TOKENS
        + role("system")
        + role("user")
        + role("text")
        + 2 * estimate_text_tokens("word");
    assert_eq!(estimate_chat_prompt_tokens(body), expected);

    let mut with_image = text_only.clone();
    with_image["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}));
    assert_eq!(
        estimate_chat_prompt_tokens(with_image.as_object().unwrap()),
        expected + IMAGE_TOKENS
    );

    let mut with_tools = text_only.clone();
    with_tools["tools"] = json!([{"type": "function", "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
    }}]);
    let with_tools = estimate_chat_prompt_tokens(with_tools.as_object().unwrap());
    // Keys such as "properties" and "city" count too, not only the values.
    assert!(with_tools > expected + 10, "{with_tools} vs {expected}");
}

#[test]
fn chat_estimate_of_a_body_without_messages_is_the_framing_only() {
    let body = json!({"model": "gpt-4o"});
    assert_eq!(
        estimate_chat_prompt_tokens(body.as_object().unwrap()),
        PER_REQUEST_TOKENS
    );
}

#[test]
fn embedding_estimate_counts_token_id_arrays_exactly() {
    assert_eq!(
        estimate_embedding_input_tokens(&json!([[1, 2, 3], [4, 5]])),
        5
    );
    assert_eq!(estimate_embedding_input_tokens(&json!([1, 2, 3])), 3);
    let text = estimate_text_tokens("hello world");
    assert_eq!(estimate_embedding_input_tokens(&json!("hello world")), text);
    assert_eq!(
        estimate_embedding_input_tokens(&json!(["hello world", "hello world"])),
        2 * text
    );
}

fn claude_like() -> Price {
    Price::flat(Rates {
        input: usd("3"),
        output: usd("15"),
        cached_input: usd("0.30"),
        cache_write: usd("3.75"),
    })
}

#[test]
fn worst_case_charges_every_prompt_token_at_the_dearest_prompt_rate() {
    // 1,000 × $3.75 (cache write beats input) + 500 × $15, per million.
    assert_eq!(worst_case_cost(&claude_like(), 1_000, 500), usd("0.01125"));
}

#[test]
fn worst_case_bounds_every_actual_cost_with_that_many_tokens() {
    let price = claude_like();
    let (prompt, max_tokens) = (10_000, 2_000);
    let worst = worst_case_cost(&price, prompt, max_tokens);
    for (cached, written) in [(0, 0), (10_000, 0), (0, 10_000), (3_000, 7_000)] {
        for completion in [0, 1, 1_999, 2_000] {
            let usage = Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
                cached_tokens: cached,
                cache_write_tokens: written,
            };
            assert!(cost(&price, &usage) <= worst, "{usage:?}");
        }
    }
}

#[test]
fn worst_case_uses_long_context_rates_for_long_prompts() {
    let price = Price {
        base: Rates::new(usd("1.25"), usd("10")),
        long_context: Some(LongContext {
            above_prompt_tokens: 200_000,
            rates: Rates::new(usd("2.50"), usd("15")),
        }),
    };
    assert_eq!(worst_case_cost(&price, 300_000, 1_000), usd("0.765"));
    assert_eq!(worst_case_cost(&price, 100_000, 1_000), usd("0.135"));
}

#[test]
fn max_tokens_that_fit_is_the_largest_whose_worst_case_fits() {
    let price = claude_like();
    for (prompt, budget) in [
        (1_000, "0.05"),
        (0, "1"),
        (12_345, "0.123457"),
        (1, "0.000004"),
    ] {
        let budget = usd(budget);
        let fit = max_tokens_that_fit(&price, prompt, budget);
        assert!(
            worst_case_cost(&price, prompt, fit) <= budget,
            "{prompt} {budget}"
        );
        assert!(
            worst_case_cost(&price, prompt, fit + 1) > budget,
            "{prompt} {budget}"
        );
    }
    // $0.05 − 1,000 × $3.75/M = $0.04625 of output at $15/M = 3,083.33 tokens.
    assert_eq!(max_tokens_that_fit(&price, 1_000, usd("0.05")), 3_083);
}

#[test]
fn max_tokens_that_fit_is_zero_when_the_prompt_alone_is_over_budget() {
    assert_eq!(max_tokens_that_fit(&claude_like(), 1_000_000, usd("1")), 0);
    assert_eq!(max_tokens_that_fit(&claude_like(), 1, MicroUsd::ZERO), 0);
}

#[test]
fn max_tokens_that_fit_is_unbounded_when_output_is_free() {
    let embeddings = Price::flat(Rates::new(usd("0.02"), MicroUsd::ZERO));
    assert_eq!(max_tokens_that_fit(&embeddings, 1_000, usd("1")), u64::MAX);
    // A huge budget is not free output: (2^64 − 1) µ$ / $15 per million tokens.
    assert_eq!(
        max_tokens_that_fit(&claude_like(), 0, MicroUsd::MAX),
        u64::MAX / 15
    );
}
