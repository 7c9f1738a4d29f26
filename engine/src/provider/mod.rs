//! Providers as data.
//!
//! OpenAI and the many servers that speak its dialect (vLLM, Ollama, Groq, Mistral, Together,
//! DeepSeek, OpenRouter, Fireworks) differ only in a base URL, an auth header and a few
//! quirks. They are described here as a table, not as code: adding a vendor is adding a row.

pub mod anthropic;
mod vendor;

pub use vendor::{AuthStyle, StreamUsage, Vendor, VendorProfile};
