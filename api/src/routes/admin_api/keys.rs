//! `/admin/keys`: create, list, get, update, rotate, revoke and delete virtual keys.
//!
//! A key's secret is `pk-` and 32 random bytes (base64url); it is returned by create and
//! rotate only, and stored only as HMAC(pepper, key). Changes invalidate this replica's
//! auth cache for the key at once.

use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_storage::{
    KeyDisplay, KeyId, KeyQuery, KeyRecord, KeyUpdate, Metadata, Rotation, Scope, TeamId,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    audit, check_metadata, check_name, key_id, parse_body, present, require_master, views,
};
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::keygen;
use crate::state::AppState;

pub(crate) const CREATE_FIELDS: &[&str] =
    &["id", "name", "team", "scope", "metadata", "expires_at"];
pub(crate) const UPDATE_FIELDS: &[&str] = &["name", "scope", "metadata", "expires_at"];
pub(crate) const ROTATE_FIELDS: &[&str] = &["grace_period"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    #[serde(default)]
    id: Option<KeyId>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    team: Option<TeamId>,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    metadata: Option<Metadata>,
    /// Unix milliseconds.
    #[serde(default)]
    expires_at: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateKey {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    metadata: Option<Metadata>,
    /// Unix milliseconds; `null` removes the expiry.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateKey {
    /// How long the old secret keeps working, e.g. `30s`, `1h`; none when absent.
    #[serde(default)]
    grace_period: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListKeys {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<KeyId>,
    #[serde(default)]
    team: Option<TeamId>,
}

fn secret() -> Result<zeroize::Zeroizing<String>, ApiError> {
    keygen::generate_virtual_key().map_err(|_| ApiError::Internal("random number generator"))
}

pub(crate) async fn create(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let body: CreateKey = parse_body(&body)?;
    let id = match body.id {
        Some(id) => id,
        None => KeyId::parse(
            &keygen::random_id("key-")
                .map_err(|_| ApiError::Internal("random number generator"))?,
        )
        .map_err(|_| ApiError::Internal("generated id"))?,
    };
    let name = body.name.unwrap_or_else(|| id.to_string());
    check_name(&name)?;
    let metadata = body.metadata.unwrap_or_default();
    check_metadata(&metadata)?;
    let secret = secret()?;
    let now = now_ms();
    let mut record = KeyRecord::new(
        id,
        name,
        state.auth.hasher().hash(&secret),
        KeyDisplay::of(&secret),
        now,
    );
    record.team = body.team;
    record.scope = body.scope.unwrap_or_default();
    record.metadata = metadata;
    record.expires_at = body.expires_at;
    state.stores.keys.create_key(record.clone()).await?;
    let target = format!("key:{}", record.id);
    audit(
        &state,
        "key.create",
        target,
        None,
        Some(views::audited(views::key(&record))),
    )
    .await?;
    Ok(HttpResponse::Created().json(views::key_with_secret(&record, &secret)))
}

pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let query = web::Query::<ListKeys>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid(format!("invalid query: {e}"), None))?
        .into_inner();
    let page = state
        .stores
        .keys
        .list_keys(KeyQuery {
            team: query.team,
            after: query.after,
            limit: query.limit.unwrap_or(100),
        })
        .await?;
    let data: Vec<_> = page.items.iter().map(views::key).collect();
    Ok(HttpResponse::Ok().json(json!({ "object": "list", "data": data, "next": page.next })))
}

pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = key_id(&req)?;
    let record = state
        .stores
        .keys
        .get_key(&id)
        .await?
        .ok_or(ApiError::Missing("key"))?;
    Ok(HttpResponse::Ok().json(views::key(&record)))
}

pub(crate) async fn update(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = key_id(&req)?;
    let body: UpdateKey = parse_body(&body)?;
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    if let Some(metadata) = &body.metadata {
        check_metadata(metadata)?;
    }
    let update = KeyUpdate {
        name: body.name,
        scope: body.scope,
        metadata: body.metadata,
        expires_at: body.expires_at,
    };
    let changed = state.stores.keys.update_key(&id, update, now_ms()).await?;
    state.auth.cache().invalidate_key(&id);
    let after = views::key(&changed.after);
    audit(
        &state,
        "key.update",
        format!("key:{id}"),
        Some(views::audited(views::key(&changed.before))),
        Some(views::audited(after.clone())),
    )
    .await?;
    Ok(HttpResponse::Ok().json(after))
}

pub(crate) async fn rotate(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = key_id(&req)?;
    let body: RotateKey = parse_body(&body)?;
    let grace = match body.grace_period.as_deref() {
        None | Some("0") => std::time::Duration::ZERO,
        Some(text) => portcullis_config::parse_duration(text).map_err(|why| {
            ApiError::invalid(format!("grace_period {why}"), Some("grace_period"))
        })?,
    };
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    let secret = secret()?;
    let now = now_ms();
    let rotation = Rotation {
        hash: state.auth.hasher().hash(&secret),
        display: KeyDisplay::of(&secret),
        grace_until: now.saturating_add(grace_ms),
    };
    let changed = state.stores.keys.rotate_key(&id, rotation, now).await?;
    state.auth.cache().invalidate_key(&id);
    audit(
        &state,
        "key.rotate",
        format!("key:{id}"),
        Some(views::audited(views::key(&changed.before))),
        Some(views::audited(views::key(&changed.after))),
    )
    .await?;
    Ok(HttpResponse::Ok().json(views::key_with_secret(&changed.after, &secret)))
}

pub(crate) async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = key_id(&req)?;
    let changed = state.stores.keys.revoke_key(&id, now_ms()).await?;
    state.auth.cache().invalidate_key(&id);
    let after = views::key(&changed.after);
    audit(
        &state,
        "key.revoke",
        format!("key:{id}"),
        Some(views::audited(views::key(&changed.before))),
        Some(views::audited(after.clone())),
    )
    .await?;
    Ok(HttpResponse::Ok().json(after))
}

pub(crate) async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = key_id(&req)?;
    let removed = state.stores.keys.delete_key(&id).await?;
    state.auth.cache().invalidate_key(&id);
    audit(
        &state,
        "key.delete",
        format!("key:{id}"),
        Some(views::audited(views::key(&removed))),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "object": "key", "id": id, "deleted": true })))
}
