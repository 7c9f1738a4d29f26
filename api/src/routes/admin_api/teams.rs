//! `/admin/teams`: create, list, get, update and delete teams. Deleting a team deletes its
//! keys in the same transaction and drops them from this replica's auth cache at once.

use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_storage::{Metadata, Scope, Team, TeamId, TeamQuery, TeamUpdate};
use serde::Deserialize;
use serde_json::json;

use super::{audit, check_metadata, check_name, parse_body, require_master, team_id, views};
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::keygen;
use crate::state::AppState;

pub(crate) const CREATE_FIELDS: &[&str] = &["id", "name", "scope", "metadata"];
pub(crate) const UPDATE_FIELDS: &[&str] = &["name", "scope", "metadata"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTeam {
    #[serde(default)]
    id: Option<TeamId>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTeam {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListTeams {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<TeamId>,
}

pub(crate) async fn create(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let body: CreateTeam = parse_body(&body)?;
    let id = match body.id {
        Some(id) => id,
        None => TeamId::parse(
            &keygen::random_id("team-")
                .map_err(|_| ApiError::Internal("random number generator"))?,
        )
        .map_err(|_| ApiError::Internal("generated id"))?,
    };
    let name = body.name.unwrap_or_else(|| id.to_string());
    check_name(&name)?;
    let mut team = Team::new(id, name, now_ms());
    team.scope = body.scope.unwrap_or_default();
    team.metadata = body.metadata.unwrap_or_default();
    check_metadata(&team.metadata)?;
    state.stores.keys.create_team(team.clone()).await?;
    let view = views::team(&team);
    audit(
        &state,
        "team.create",
        format!("team:{}", team.id),
        None,
        Some(views::audited(view.clone())),
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let query = web::Query::<ListTeams>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid(format!("invalid query: {e}"), None))?
        .into_inner();
    let page = state
        .stores
        .keys
        .list_teams(TeamQuery {
            after: query.after,
            limit: query.limit.unwrap_or(100),
        })
        .await?;
    let data: Vec<_> = page.items.iter().map(views::team).collect();
    Ok(HttpResponse::Ok().json(json!({ "object": "list", "data": data, "next": page.next })))
}

pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = team_id(&req)?;
    let team = state
        .stores
        .keys
        .get_team(&id)
        .await?
        .ok_or(ApiError::Missing("team"))?;
    Ok(HttpResponse::Ok().json(views::team(&team)))
}

pub(crate) async fn update(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let id = team_id(&req)?;
    let body: UpdateTeam = parse_body(&body)?;
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    if let Some(metadata) = &body.metadata {
        check_metadata(metadata)?;
    }
    let update = TeamUpdate {
        name: body.name,
        scope: body.scope,
        metadata: body.metadata,
    };
    let changed = state.stores.keys.update_team(&id, update, now_ms()).await?;
    state.auth.cache().invalidate_team(&id);
    let after = views::team(&changed.after);
    audit(
        &state,
        "team.update",
        format!("team:{id}"),
        Some(views::audited(views::team(&changed.before))),
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
    let id = team_id(&req)?;
    let removed = state.stores.keys.delete_team(&id).await?;
    state.auth.cache().invalidate_team(&id);
    for key in &removed.keys {
        state.auth.cache().invalidate_key(&key.id);
    }
    let keys: Vec<_> = removed.keys.iter().map(|k| k.id.clone()).collect();
    let mut before = views::audited(views::team(&removed.team));
    if let serde_json::Value::Object(map) = &mut before {
        map.insert("keys".to_owned(), json!(keys));
    }
    audit(
        &state,
        "team.delete",
        format!("team:{id}"),
        Some(before),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "object": "team",
        "id": id,
        "deleted": true,
        "deleted_keys": keys,
    })))
}
