//! Any bytes as an embeddings request body: parsing returns a typed error or a request within
//! the input caps (items, token ids, text bytes; never empty), never panics, and respects the
//! depth cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_engine::{
    EmbeddingInput, EmbeddingsRequest, MAX_EMBEDDING_INPUTS, MAX_EMBEDDING_TEXT_BYTES,
    MAX_EMBEDDING_TOKEN_IDS,
};

fuzz_target!(|data: &[u8]| {
    let _ = EmbeddingsRequest::parse(data, 2);
    let Ok(request) = EmbeddingsRequest::parse(data, 64) else {
        return;
    };
    let input = request.input();
    assert!(!input.is_empty() && input.len() <= MAX_EMBEDDING_INPUTS);
    match input {
        EmbeddingInput::Texts(texts) => {
            assert!(texts.iter().all(|t| !t.is_empty()));
            assert!(texts.iter().map(String::len).sum::<usize>() <= MAX_EMBEDDING_TEXT_BYTES);
        }
        EmbeddingInput::Tokens(ids) => {
            assert!(ids.iter().all(|i| !i.is_empty()));
            assert!(ids.iter().map(Vec::len).sum::<usize>() <= MAX_EMBEDDING_TOKEN_IDS);
        }
    }
    let _ = (
        request.model(),
        request.texts(),
        request.encoding(),
        request.dimensions(),
        request.user(),
    );
});
