use serde_json::{Value, json};

use super::*;
use crate::cost::estimate::estimate_text_tokens;
use crate::cost::family::{Family, KNOWN};
use crate::cost::fixtures::FIXTURES;
use crate::cost::tokenizer::{EXACT_BYTES_PER_REQUEST, count_exact, load_now};

fn loaded() {
    assert!(load_now(Encoding::O200k), "o200k ranks");
    assert!(load_now(Encoding::Cl100k), "cl100k ranks");
}

fn chat(estimator: Estimator, body: Value) -> u64 {
    estimator.chat_prompt_tokens(body.as_object().unwrap())
}

fn one_user_message(text: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": text}]})
}

fn family(f: Family) -> Estimator {
    Estimator::new(Families::default().with(f))
}

#[test]
fn embedded_tokenizer_counts_the_fixtures_exactly_as_tiktoken() {
    loaded();
    for &(name, text, o200k, cl100k) in FIXTURES {
        assert_eq!(count_exact(Encoding::O200k, text), Some(o200k), "{name}");
        assert_eq!(count_exact(Encoding::Cl100k, text), Some(cl100k), "{name}");
    }
}

#[test]
fn openai_estimate_is_the_exact_count_plus_the_documented_framing() {
    loaded();
    for &(name, text, o200k, cl100k) in FIXTURES {
        // 3 to prime the reply, 4 per message, 1 for the role's text.
        let body = one_user_message(text);
        assert_eq!(
            chat(family(Family::OpenAiO200k), body.clone()),
            o200k + 8,
            "{name}"
        );
        assert_eq!(
            chat(family(Family::OpenAiCl100k), body),
            cl100k + 8,
            "{name}"
        );
    }
}

#[test]
fn other_families_estimate_at_least_the_openai_counts_and_framing_on_fixtures() {
    loaded();
    // Families with a large multilingual vocabulary are held to o200k's count, the others to
    // the larger of o200k's and cl100k's.
    let multilingual = [Family::Gemini, Family::Cohere];
    for &(name, text, o200k, cl100k) in FIXTURES {
        let body = one_user_message(text);
        for f in &KNOWN[2..] {
            let floor = if multilingual.contains(f) {
                o200k
            } else {
                o200k.max(cl100k)
            };
            let estimate = chat(family(*f), body.clone());
            assert!(
                estimate >= floor + 8,
                "{f:?} {name}: {estimate} < {floor} + 8"
            );
        }
    }
}

#[test]
fn claude_estimates_cover_anthropics_published_token_counts() {
    loaded();
    let claude = Estimator::for_models(["claude-opus-4-6"]);
    // Anthropic's token-counting docs: this request is 14 input tokens.
    let basic = json!({"model": "c", "messages": [
        {"role": "system", "content": "You are a scientist"},
        {"role": "user", "content": "Hello, Claude"}]});
    let estimate = chat(claude, basic);
    assert!((14..=40).contains(&estimate), "{estimate}");
    // ... and this one, with a tool, 403.
    let tools = json!({"model": "c",
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": {"type": "object",
                "properties": {"location": {"type": "string",
                    "description": "The city and state, e.g. San Francisco, CA"}},
                "required": ["location"]}}}],
        "messages": [{"role": "user", "content": "What's the weather like in San Francisco?"}]});
    let estimate = chat(claude, tools);
    assert!((403..=520).contains(&estimate), "{estimate}");
}

#[test]
fn gemini_estimate_covers_googles_published_token_count() {
    loaded();
    // Gemini's docs: 10 tokens counted, 11 reported as prompt usage.
    let body = one_user_message("The quick brown fox jumps over the lazy dog.");
    let estimate = chat(Estimator::for_models(["gemini-2.5-flash"]), body);
    assert!((11..=25).contains(&estimate), "{estimate}");
}

#[test]
fn a_group_across_families_and_unknown_models_take_the_largest_estimate() {
    loaded();
    for &(name, text, _, _) in FIXTURES {
        let body = one_user_message(text);
        let largest = KNOWN
            .iter()
            .map(|f| chat(family(*f), body.clone()))
            .max()
            .unwrap_or(0);
        let unknown = chat(Estimator::unknown(), body.clone());
        assert!(unknown >= largest, "{name}: {unknown} < {largest}");
        assert_eq!(
            chat(Estimator::for_models(["my-azure-deployment"]), body.clone()),
            unknown
        );
        let mixed = Estimator::for_models(["gpt-4o", "claude-sonnet-4-5"]);
        assert_eq!(
            chat(mixed, body.clone()),
            chat(family(Family::OpenAiO200k), body.clone())
                .max(chat(family(Family::Anthropic), body))
        );
    }
}

#[test]
fn text_past_the_byte_budget_is_extrapolated_by_the_heuristic() {
    loaded();
    let text = "The gateway admits a request once its estimate fits. ".repeat(5_000); // 265 KB
    let estimate = chat(family(Family::OpenAiO200k), one_user_message(&text));
    let exact = count_exact(Encoding::O200k, &text).unwrap_or(0);
    // Never below the exact count; the part past the budget costs what the heuristic says.
    assert!(estimate >= exact + 8, "{estimate} vs {exact}");
    // The role's "user" is counted first, from the same budget.
    let budget = EXACT_BYTES_PER_REQUEST - "user".len();
    let cut = text[..budget].rfind(' ').unwrap_or(budget);
    let expected = count_exact(Encoding::O200k, &text[..cut]).unwrap_or(0)
        + estimate_text_tokens(&text[cut..])
        + 8;
    assert!(estimate.abs_diff(expected) <= 1, "{estimate} vs {expected}");
}

#[test]
fn an_exact_budget_of_zero_is_the_heuristic_alone_and_a_smaller_one_counts_less_exactly() {
    loaded();
    let text = "The gateway admits a request once its estimate fits. ".repeat(100); // 5.3 KB
    let off = chat(
        family(Family::OpenAiO200k).exact_bytes(0),
        one_user_message(&text),
    );
    // 3 + 4 framing; "user" and the text both by the heuristic.
    assert_eq!(
        off,
        7 + estimate_text_tokens("user") + estimate_text_tokens(&text)
    );
    let small = chat(
        family(Family::OpenAiO200k).exact_bytes(512),
        one_user_message(&text),
    );
    let full = chat(family(Family::OpenAiO200k), one_user_message(&text));
    let exact = count_exact(Encoding::O200k, &text).unwrap_or(0);
    // The heuristic errs high, so the less is counted exactly, the higher the estimate.
    assert!(
        off >= small && small >= full && full >= exact,
        "{off} {small} {full} {exact}"
    );
}

#[test]
fn images_keep_their_fixed_charge_and_tools_add_the_family_tool_prompt() {
    loaded();
    let image = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]});
    // 3 + 4 + "user" 1 + the image.
    assert_eq!(chat(family(Family::OpenAiO200k), image), 8 + IMAGE_TOKENS);
    let tool = json!({"model": "m", "tools": [{"type": "function", "function": {"name": "f"}}],
        "messages": []});
    let without = chat(
        family(Family::Anthropic),
        json!({"model": "m", "messages": []}),
    );
    assert!(chat(family(Family::Anthropic), tool) >= without + 350);
}

#[test]
fn embedding_estimate_counts_text_exactly_and_token_ids_one_each() {
    loaded();
    let ada = Estimator::for_models(["text-embedding-3-small"]);
    let (_, text, _, cl100k) = FIXTURES[0];
    assert_eq!(ada.embedding_input_tokens(&json!(text)), cl100k);
    assert_eq!(ada.embedding_input_tokens(&json!([text, text])), 2 * cl100k);
    assert_eq!(ada.embedding_input_tokens(&json!([[1, 2, 3], [4, 5]])), 5);
    let titan = Estimator::for_models(["amazon.titan-embed-text-v2:0"]);
    assert!(titan.embedding_input_tokens(&json!(text)) >= cl100k);
}
