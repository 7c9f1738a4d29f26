//! Client dialects other than OpenAI's, translated to and from the canonical request.
//!
//! The gateway's canonical request is the validated OpenAI chat completions object; an
//! ingress turns another API's request into it and the canonical answer back.

pub mod anthropic;
