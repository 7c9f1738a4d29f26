//! Checks that need the validated config: prices for every deployment, the catalogue's age,
//! and limits the gateway does not enforce yet.

use std::collections::HashSet;

use portcullis_engine::cost::Catalogue;

use super::{Findings, MAX_PRICE_AGE_DAYS, Severity};
use crate::Config;

pub(crate) fn audit_loaded(config: &Config, today_days: i64, out: &mut Findings) {
    match Catalogue::builtin() {
        Err(err) => out.push(
            Severity::Medium,
            "price_catalogue",
            "-",
            None,
            format!("the built-in price catalogue does not load ({err}): spend cannot be priced"),
        ),
        Ok(catalogue) => prices(config, &catalogue, today_days, out),
    }
    out.push(
        Severity::Info,
        "unenforced_limits",
        "-",
        None,
        "no budgets or rate limits are enforced from the config yet (the config has no limits section): a virtual key can send as many requests, and spend as much, as its providers allow",
    );
}

fn prices(config: &Config, catalogue: &Catalogue, today_days: i64, out: &mut Findings) {
    if catalogue.is_stale(today_days, MAX_PRICE_AGE_DAYS) {
        out.push(
            Severity::Medium,
            "stale_prices",
            "-",
            None,
            format!(
                "the built-in prices date from {} (over {MAX_PRICE_AGE_DAYS} days ago): recorded spend may be wrong; upgrade Portcullis",
                catalogue.as_of()
            ),
        );
    }
    let mut reported: HashSet<&str> = HashSet::new();
    for (i, group) in config.gateway.groups.iter().enumerate() {
        for (j, deployment) in group.deployments.iter().enumerate() {
            let model = &*deployment.upstream_model;
            if catalogue.price(model).is_some() || !reported.insert(model) {
                continue;
            }
            out.push(
                Severity::Medium,
                "unpriced_deployment",
                &format!("models[{i}].deployments[{j}].model"),
                None,
                format!(
                    "no known price for upstream model {model:?} (model {:?}): its spend is recorded as unknown and no budget can be enforced on it",
                    &*group.name
                ),
            );
        }
    }
}
