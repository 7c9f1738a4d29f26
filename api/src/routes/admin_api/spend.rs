//! `GET /admin/spend`: sums of the spend log per key, team, model group or UTC day over a
//! date range, as JSON or CSV (`?format=csv` or `Accept: text/csv`).
//!
//! `from` and `to` are UTC dates (`YYYY-MM-DD`), both included; `from` defaults to the
//! epoch and `to` to today.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_engine::cost::MicroUsd;
use portcullis_storage::{GroupBy, KeyId, SpendGroup, SpendQuery, SpendRow, TeamId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::require_master;
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::state::AppState;

const DAY_MS: i64 = portcullis_storage::spend::DAY_MS;

pub(crate) const QUERY_FIELDS: &[&str] = &["group_by", "from", "to", "key", "team", "format"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    group_by: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    key: Option<KeyId>,
    #[serde(default)]
    team: Option<TeamId>,
    #[serde(default)]
    format: Option<String>,
}

pub(crate) async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let p = web::Query::<Params>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid(format!("invalid query: {e}"), None))?
        .into_inner();
    let group_by = match p.group_by.as_deref().unwrap_or("key") {
        "key" => GroupBy::Key,
        "team" => GroupBy::Team,
        "model" => GroupBy::Model,
        "day" => GroupBy::Day,
        _ => {
            return Err(ApiError::invalid(
                "group_by must be key, team, model or day",
                Some("group_by"),
            ));
        }
    };
    let from_ms = match &p.from {
        Some(d) => day_ms(d, "from")?,
        None => 0,
    };
    let to_ms = match &p.to {
        Some(d) => day_ms(d, "to")?,
        None => now_ms().div_euclid(DAY_MS) * DAY_MS,
    }
    .saturating_add(DAY_MS);
    if to_ms <= from_ms {
        return Err(ApiError::invalid(
            "`to` must not be before `from`",
            Some("to"),
        ));
    }
    let csv = match p.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => {
            return Err(ApiError::invalid(
                "format must be json or csv",
                Some("format"),
            ));
        }
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
    };
    let rows = state
        .stores
        .spend
        .report(SpendQuery {
            from_ms,
            to_ms,
            group_by,
            key: p.key,
            team: p.team,
        })
        .await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(to_csv(&rows)));
    }
    let data: Vec<Value> = rows.iter().map(row_json).collect();
    Ok(HttpResponse::Ok().json(json!({
        "object": "spend_report",
        "group_by": p.group_by.as_deref().unwrap_or("key"),
        "from_ms": from_ms,
        "to_ms": to_ms,
        "data": data,
    })))
}

fn group_text(group: &SpendGroup) -> String {
    match group {
        SpendGroup::Key(k) => k.to_string(),
        SpendGroup::Team(Some(t)) => t.to_string(),
        SpendGroup::Team(None) => String::new(),
        SpendGroup::Model(m) => m.clone(),
        SpendGroup::Day(ms) => date_of(*ms),
    }
}

fn cost_text(micros: i64) -> String {
    MicroUsd::from_micros(u64::try_from(micros).unwrap_or(0)).to_string()
}

fn row_json(row: &SpendRow) -> Value {
    json!({
        "group": group_text(&row.group),
        "requests": row.requests,
        "tokens_in": row.tokens_in,
        "tokens_out": row.tokens_out,
        "tokens_cached": row.tokens_cached,
        "tokens_cache_write": row.tokens_cache_write,
        "cost_micro_usd": row.cost_micro_usd,
        "cost_usd": cost_text(row.cost_micro_usd),
        "unpriced_requests": row.unpriced_requests,
    })
}

/// RFC 4180 CSV; every group value is quoted, and one that a spreadsheet would read as a
/// formula gets a leading `'`.
fn to_csv(rows: &[SpendRow]) -> String {
    let mut out = String::from(
        "group,requests,tokens_in,tokens_out,tokens_cached,tokens_cache_write,cost_usd,unpriced_requests\r\n",
    );
    for r in rows {
        let mut group = group_text(&r.group);
        if group.starts_with(['=', '+', '-', '@']) {
            group.insert(0, '\'');
        }
        out.push_str(&format!(
            "\"{}\",{},{},{},{},{},{},{}\r\n",
            group.replace('"', "\"\""),
            r.requests,
            r.tokens_in,
            r.tokens_out,
            r.tokens_cached,
            r.tokens_cache_write,
            cost_text(r.cost_micro_usd),
            r.unpriced_requests
        ));
    }
    out
}

/// Unix ms at the start of UTC day `YYYY-MM-DD`.
fn day_ms(text: &str, param: &'static str) -> Result<i64, ApiError> {
    let bad = || ApiError::invalid(format!("{param} must be a date YYYY-MM-DD"), Some(param));
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of the UTC day containing unix ms `ms`.
fn date_of(ms: i64) -> String {
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_unix_days() {
        assert_eq!(day_ms("1970-01-01", "from").unwrap(), 0);
        assert_eq!(day_ms("2000-03-01", "from").unwrap(), 951_868_800_000);
        for text in ["2024-02-29", "1999-12-31", "2026-11-30"] {
            assert_eq!(date_of(day_ms(text, "from").unwrap()), text);
        }
        assert!(day_ms("2024-13-01", "from").is_err());
        assert!(day_ms("24-1-1", "from").is_err());
    }

    #[test]
    fn csv_quotes_groups_and_defuses_formulas() {
        let mut row = SpendRow::empty(SpendGroup::Model("=cmd,\"x\"".into()));
        row.cost_micro_usd = 1_500_000;
        let csv = to_csv(&[row]);
        assert!(
            csv.contains("\"'=cmd,\"\"x\"\"\",0,0,0,0,0,1.500000,0"),
            "{csv}"
        );
    }
}
