//! `pricing:` — prices per upstream model, overriding the built-in catalogue, and the check
//! that names deployments nobody has priced.
//!
//! Rates are decimal dollar strings per million tokens (`"2.50"`), parsed exactly into
//! micro-dollars: a price is never a float. A deployment whose upstream model has neither a
//! configured nor a built-in price is not an error: `check-config` warns, and its requests
//! are recorded with their tokens and flagged unpriced.

use portcullis_engine::cost::{Catalogue, CatalogueError, MicroUsd, Price, Rates};
use portcullis_engine::spec::ModelGroupSpec;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// One configured price: the upstream model name it applies to, and its rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceOverride {
    pub model: String,
    pub price: Price,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrice {
    /// The upstream model name (as a deployment's `model`).
    pub(crate) model: Spanned<String>,
    pub(crate) input_per_million: Spanned<String>,
    pub(crate) output_per_million: Spanned<String>,
    #[serde(default)]
    pub(crate) cached_input_per_million: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) cache_write_per_million: Option<Spanned<String>>,
}

impl Checker<'_> {
    pub(crate) fn pricing(&mut self, raw: Vec<RawPrice>) -> Vec<PriceOverride> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, p) in raw.into_iter().enumerate() {
            let path = format!("pricing[{i}]");
            if p.model.value.trim().is_empty() {
                self.problem(format!("{path}.model"), Some(&p.model), "must not be empty");
                continue;
            }
            let input = self.dollars(&format!("{path}.input_per_million"), &p.input_per_million);
            let output = self.dollars(&format!("{path}.output_per_million"), &p.output_per_million);
            let (Some(input), Some(output)) = (input, output) else {
                continue;
            };
            let mut rates = Rates::new(input, output);
            if let Some(raw) = &p.cached_input_per_million {
                rates.cached_input = self
                    .dollars(&format!("{path}.cached_input_per_million"), raw)
                    .unwrap_or(input);
            }
            if let Some(raw) = &p.cache_write_per_million {
                rates.cache_write = self
                    .dollars(&format!("{path}.cache_write_per_million"), raw)
                    .unwrap_or(input);
            }
            out.push(PriceOverride {
                model: p.model.value,
                price: Price::flat(rates),
            });
        }
        out
    }

    fn dollars(&mut self, path: &str, raw: &Spanned<String>) -> Option<MicroUsd> {
        match MicroUsd::parse_dollars(raw.value.trim()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(path, Some(raw), e.to_string());
                None
            }
        }
    }
}

/// The built-in catalogue with `overrides` searched first.
pub(crate) fn catalogue(overrides: &[PriceOverride]) -> Result<Catalogue, CatalogueError> {
    Ok(Catalogue::builtin()?.with_overrides(overrides.iter().map(|o| (o.model.clone(), o.price))))
}

/// One warning per deployment whose upstream model has no price.
pub(crate) fn unpriced_warnings(groups: &[ModelGroupSpec], catalogue: &Catalogue) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        for (j, d) in group.deployments.iter().enumerate() {
            if catalogue.price(&d.upstream_model).is_none() {
                warnings.push(format!(
                    "models[{i}].deployments[{j}]: upstream model {:?} (group {:?}) has no price; add it under `pricing:` or its requests are recorded unpriced",
                    &*d.upstream_model, &*group.name
                ));
            }
        }
    }
    warnings
}
