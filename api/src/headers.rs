//! Every HTTP header name the gateway reads or sets itself, in one place.

/// Alternative to `Authorization: Bearer` (Anthropic SDK style).
pub(crate) const API_KEY: &str = "x-api-key";
/// Correlation id the gateway assigns to each request and returns to the client.
pub(crate) const REQUEST_ID: &str = "x-request-id";
/// The cost of a JSON response, in US dollars with six decimals (exact micro-dollars).
pub(crate) const COST_USD: &str = "x-portcullis-cost-usd";
