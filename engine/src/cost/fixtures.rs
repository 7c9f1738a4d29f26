//! Test fixtures shared by the estimate tests: text in `testdata/` and its token counts.

/// Fixture text and its token counts under OpenAI's o200k_base and cl100k_base, counted with
/// tiktoken-rs 0.12.1 (`encode_ordinary`) when the fixtures were written; the embedded
/// tokenizer is checked against them in `estimator_tests.rs`.
pub(crate) const FIXTURES: &[(&str, &str, u64, u64)] = &[
    ("english", include_str!("testdata/english.txt"), 92, 92),
    ("rust", include_str!("testdata/rust.txt"), 128, 128),
    ("python", include_str!("testdata/python.txt"), 130, 131),
    ("json", include_str!("testdata/json.txt"), 121, 120),
    ("numbers", include_str!("testdata/numbers.txt"), 125, 125),
    ("base64", include_str!("testdata/base64.txt"), 365, 389),
    ("ids", include_str!("testdata/ids.txt"), 136, 135),
    ("chinese", include_str!("testdata/chinese.txt"), 82, 116),
    ("russian", include_str!("testdata/russian.txt"), 47, 93),
    ("emoji", include_str!("testdata/emoji.txt"), 29, 35),
    ("german", include_str!("testdata/german.txt"), 58, 72),
    ("japanese", include_str!("testdata/japanese.txt"), 68, 94),
    ("markdown", include_str!("testdata/markdown.txt"), 92, 92),
    ("yaml", include_str!("testdata/yaml.txt"), 70, 71),
];
