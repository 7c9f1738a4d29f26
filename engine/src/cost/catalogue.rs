//! The price list: built-in data with its date, overridable per deployment.
//!
//! The built-in list is `prices.json`, shipped inside the binary, with an `as_of` date that
//! `portcullis check` compares against today ([`Catalogue::is_stale`]) so a stale list is
//! noticed. A model is looked up by the name sent upstream; `model_name.rs`
//! documents the exact normalisations (dated snapshots, Bedrock and Vertex ids, `models/`
//! paths) and there is no fuzzy matching, so an unknown model is reported as unpriced rather
//! than priced like its neighbour. Claude on Bedrock and Vertex AI is priced at Anthropic's
//! list price (Bedrock's regional endpoints may charge a premium: override those in config).
//! Config overrides are searched before the built-in list, through the same normalisations:
//! overriding `gpt-4o` prices `gpt-4o-2024-08-06` and even `gpt-4o-2024-05-13` (which the
//! built-in list prices apart), because a deployment's own price beats any list price.

use std::collections::HashMap;

use serde::Deserialize;

use crate::cost::model_name;
use crate::cost::money::{MicroUsd, MoneyParseError};
use crate::cost::price::{LongContext, Price, Rates};

/// The built-in price data.
const BUILTIN_JSON: &str = include_str!("prices.json");

/// Why price data was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("price data is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("price of `{model}`: {source}")]
    Price {
        model: String,
        source: MoneyParseError,
    },
    #[error("model `{0}` is priced twice")]
    Duplicate(String),
    #[error("model name `{0}` must be non-empty and lower-case")]
    BadName(String),
    #[error("`as_of` must be a date written YYYY-MM-DD, not `{0}`")]
    BadDate(String),
}

/// Prices by model name.
#[derive(Debug, Clone)]
pub struct Catalogue {
    as_of: String,
    as_of_days: i64,
    prices: HashMap<String, Price>,
    overrides: HashMap<String, Price>,
}

impl Catalogue {
    /// The list shipped in the binary.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        Catalogue::from_json(BUILTIN_JSON)
    }

    /// Price data in the built-in format (see `prices.json`).
    pub fn from_json(json: &str) -> Result<Catalogue, CatalogueError> {
        let raw: RawCatalogue = serde_json::from_str(json)?;
        let as_of_days =
            parse_date(&raw.as_of).ok_or_else(|| CatalogueError::BadDate(raw.as_of.clone()))?;
        let mut prices = HashMap::new();
        for entry in raw.models {
            let first = entry.names.first().cloned().unwrap_or_default();
            let price = entry.price().map_err(|source| CatalogueError::Price {
                model: first.clone(),
                source,
            })?;
            if entry.names.is_empty() {
                return Err(CatalogueError::BadName(first));
            }
            for name in entry.names {
                if name.is_empty() || name != name.trim().to_ascii_lowercase() {
                    return Err(CatalogueError::BadName(name));
                }
                if prices.insert(name.clone(), price).is_some() {
                    return Err(CatalogueError::Duplicate(name));
                }
            }
        }
        Ok(Catalogue {
            as_of: raw.as_of,
            as_of_days,
            prices,
            overrides: HashMap::new(),
        })
    }

    /// This catalogue with configured prices, searched before the built-in ones. Names are
    /// trimmed and lower-cased; an empty name is ignored; a later duplicate wins.
    pub fn with_overrides(mut self, overrides: impl IntoIterator<Item = (String, Price)>) -> Self {
        for (name, price) in overrides {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() {
                self.overrides.insert(name, price);
            }
        }
        self
    }

    /// The price of the model sent upstream as `model`, and the key that matched: the
    /// overrides are tried with every normalised candidate name first, then the built-in list.
    pub fn lookup(&self, model: &str) -> Option<(&str, &Price)> {
        let candidates = model_name::candidates(model);
        [&self.overrides, &self.prices]
            .into_iter()
            .find_map(|table| candidates.iter().find_map(|key| table.get_key_value(key)))
            .map(|(key, price)| (key.as_str(), price))
    }

    /// The price of `model`, `None` if it is unpriced.
    pub fn price(&self, model: &str) -> Option<&Price> {
        self.lookup(model).map(|(_, price)| price)
    }

    /// The date the built-in prices were last checked, `YYYY-MM-DD`.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Whether the prices are more than `max_age_days` old on `today_days` (days since
    /// 1970-01-01, UTC).
    pub fn is_stale(&self, today_days: i64, max_age_days: u32) -> bool {
        today_days.saturating_sub(self.as_of_days) > i64::from(max_age_days)
    }

    /// Number of priced names, built-in and overridden (a name in both counts twice).
    pub fn len(&self) -> usize {
        self.prices.len() + self.overrides.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    as_of: String,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation carried by the data file")]
    about: String,
    models: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[allow(dead_code, reason = "documentation carried by the data file")]
    provider: String,
    names: Vec<String>,
    input: String,
    output: String,
    #[serde(default)]
    cached_input: Option<String>,
    #[serde(default)]
    cache_write: Option<String>,
    #[serde(default)]
    long_context: Option<RawLongContext>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation carried by the data file")]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLongContext {
    above_prompt_tokens: u64,
    input: String,
    output: String,
    #[serde(default)]
    cached_input: Option<String>,
    #[serde(default)]
    cache_write: Option<String>,
}

impl RawEntry {
    fn price(&self) -> Result<Price, MoneyParseError> {
        let long_context = match &self.long_context {
            None => None,
            Some(long) => Some(LongContext {
                above_prompt_tokens: long.above_prompt_tokens,
                rates: rates(
                    &long.input,
                    &long.output,
                    &long.cached_input,
                    &long.cache_write,
                )?,
            }),
        };
        Ok(Price {
            base: rates(
                &self.input,
                &self.output,
                &self.cached_input,
                &self.cache_write,
            )?,
            long_context,
        })
    }
}

/// Rates from dollar strings; cache reads and writes default to the input rate.
fn rates(
    input: &str,
    output: &str,
    cached_input: &Option<String>,
    cache_write: &Option<String>,
) -> Result<Rates, MoneyParseError> {
    let input = MicroUsd::parse_dollars(input)?;
    let or_input = |rate: &Option<String>| match rate {
        None => Ok(input),
        Some(text) => MicroUsd::parse_dollars(text),
    };
    Ok(Rates {
        input,
        output: MicroUsd::parse_dollars(output)?,
        cached_input: or_input(cached_input)?,
        cache_write: or_input(cache_write)?,
    })
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian calendar).
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' || !text.is_ascii() {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a civil date: years are counted from March so that the leap day
/// falls at the end of the year, then eras of 400 years (146,097 days) are summed.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
