//! The admin API on the admin listener: virtual keys, teams and spend reports, master key
//! only, JSON in and out, OpenAI-shaped errors.
//!
//! Every route is one row of [`table`]: the same rows register the handlers (through
//! `routes::table`) and generate
//! `/admin/openapi.json` ([`openapi`]), so the document cannot drift from what is served.
//! Request bodies refuse unknown fields (no mass assignment: a `hash`, `revoked_at` or
//! `created_at` in a body is a 400); ids are checked before any store is asked. Every change
//! is appended to the audit log with the master as actor and the target's state before and
//! after, never a secret or a hash, and invalidates this replica's auth cache at once.

pub(crate) mod config;
pub(crate) mod keys;
pub(crate) mod openapi;
pub(crate) mod spend;
pub(crate) mod teams;
pub(crate) mod views;

use actix_web::{HttpRequest, Route, web};
use portcullis_storage::{AuditEntry, KeyId, TeamId};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::now_ms;
use crate::error::ApiError;
use crate::state::AppState;

/// Who the audit log names for changes made with the master key.
pub(crate) const ACTOR_MASTER: &str = "master";

/// One admin route: what the OpenAPI document says about it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdminRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: &'static str,
    pub summary: &'static str,
    /// Fields the JSON body accepts; `None` for routes without a body.
    pub body: Option<&'static [&'static str]>,
    /// Query parameters.
    pub query: &'static [&'static str],
    /// Status of a successful answer.
    pub ok: u16,
}

const fn row(
    method: &'static str,
    path: &'static str,
    operation: &'static str,
    summary: &'static str,
) -> AdminRoute {
    AdminRoute {
        method,
        path,
        operation,
        summary,
        body: None,
        query: &[],
        ok: 200,
    }
}

/// Every admin route with its handler. The single source of registration and documentation.
pub(crate) fn table() -> Vec<(AdminRoute, Route)> {
    let create_key = AdminRoute {
        body: Some(keys::CREATE_FIELDS),
        ok: 201,
        ..row(
            "post",
            "/admin/keys",
            "createKey",
            "Create a key; the secret is in this response only",
        )
    };
    let list_keys = AdminRoute {
        query: &["limit", "after", "team"],
        ..row(
            "get",
            "/admin/keys",
            "listKeys",
            "List keys (display prefix and last four only)",
        )
    };
    let update_key = AdminRoute {
        body: Some(keys::UPDATE_FIELDS),
        ..row(
            "patch",
            "/admin/keys/{id}",
            "updateKey",
            "Change a key's name, scope, metadata or expiry",
        )
    };
    let rotate_key = AdminRoute {
        body: Some(keys::ROTATE_FIELDS),
        ..row(
            "post",
            "/admin/keys/{id}/rotate",
            "rotateKey",
            "New secret; the old one works until the grace period ends",
        )
    };
    let create_team = AdminRoute {
        body: Some(teams::CREATE_FIELDS),
        ok: 201,
        ..row("post", "/admin/teams", "createTeam", "Create a team")
    };
    let list_teams = AdminRoute {
        query: &["limit", "after"],
        ..row("get", "/admin/teams", "listTeams", "List teams")
    };
    let update_team = AdminRoute {
        body: Some(teams::UPDATE_FIELDS),
        ..row(
            "patch",
            "/admin/teams/{id}",
            "updateTeam",
            "Change a team's name, scope or metadata",
        )
    };
    let spend = AdminRoute {
        query: spend::QUERY_FIELDS,
        ..row(
            "get",
            "/admin/spend",
            "spendReport",
            "Spend per key, team, model group or day, as JSON or CSV",
        )
    };
    let reload_config = AdminRoute {
        body: Some(config::RELOAD_FIELDS),
        ..row(
            "post",
            "/admin/config/reload",
            "reloadConfig",
            "Reload the config file; a config that does not load is refused and the running one stays",
        )
    };
    vec![
        (create_key, web::post().to(keys::create)),
        (list_keys, web::get().to(keys::list)),
        (
            row("get", "/admin/keys/{id}", "getKey", "One key"),
            web::get().to(keys::get),
        ),
        (update_key, web::patch().to(keys::update)),
        (
            row("delete", "/admin/keys/{id}", "deleteKey", "Delete a key"),
            web::delete().to(keys::delete),
        ),
        (rotate_key, web::post().to(keys::rotate)),
        (
            row(
                "post",
                "/admin/keys/{id}/revoke",
                "revokeKey",
                "Revoke a key at once",
            ),
            web::post().to(keys::revoke),
        ),
        (create_team, web::post().to(teams::create)),
        (list_teams, web::get().to(teams::list)),
        (
            row("get", "/admin/teams/{id}", "getTeam", "One team"),
            web::get().to(teams::get),
        ),
        (update_team, web::patch().to(teams::update)),
        (
            row(
                "delete",
                "/admin/teams/{id}",
                "deleteTeam",
                "Delete a team and every key of it",
            ),
            web::delete().to(teams::delete),
        ),
        (spend, web::get().to(spend::report)),
        (
            row(
                "get",
                "/admin/config",
                "configStatus",
                "The running config's version, when it was loaded and how many reloads since start",
            ),
            web::get().to(config::status),
        ),
        (reload_config, web::post().to(config::reload)),
        (
            row("get", "/admin/openapi.json", "openapi", "This document"),
            web::get().to(openapi::serve),
        ),
    ]
}

/// The routes as documented, without handlers.
pub(crate) fn documented() -> Vec<AdminRoute> {
    table().into_iter().map(|(doc, _)| doc).collect()
}

pub(crate) fn require_master(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    state.auth.require_master(req)
}

/// Largest admin request body, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body, strictly: unknown fields and wrong types are a 400 naming the problem. An
/// empty body reads as `{}`.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(body_error(&e), None))
}

/// serde's message without the input echoed: unknown fields are named (they are the
/// caller's own field names), values never.
fn body_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.split(", expected").next().unwrap_or(&text);
    format!("invalid request body: {text}")
}

pub(crate) fn key_id(req: &HttpRequest) -> Result<KeyId, ApiError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    KeyId::parse(raw).map_err(|e| ApiError::invalid(e.to_string(), Some("id")))
}

pub(crate) fn team_id(req: &HttpRequest) -> Result<TeamId, ApiError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    TeamId::parse(raw).map_err(|e| ApiError::invalid(e.to_string(), Some("id")))
}

/// Appends one admin change to the audit log. A change that cannot be audited is reported
/// as a failure (500), so an operator learns of it; the change itself has been made.
pub(crate) async fn audit(
    state: &AppState,
    action: &str,
    target: String,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        time_ms: now_ms(),
        actor: ACTOR_MASTER.to_owned(),
        action: action.to_owned(),
        target,
        before,
        after,
    };
    state.stores.audit.append(entry).await?;
    Ok(())
}

/// Longest name of a key or team, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 256;
/// Largest metadata object, serialised.
pub(crate) const MAX_METADATA_BYTES: usize = 16 * 1024;

pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            format!("name must be at most {MAX_NAME_CHARS} characters, no control characters"),
            Some("name"),
        ));
    }
    Ok(())
}

pub(crate) fn check_metadata(metadata: &portcullis_storage::Metadata) -> Result<(), ApiError> {
    let size = serde_json::to_vec(metadata).map_or(usize::MAX, |v| v.len());
    if size > MAX_METADATA_BYTES {
        return Err(ApiError::invalid(
            format!("metadata must be at most {MAX_METADATA_BYTES} bytes of JSON"),
            Some("metadata"),
        ));
    }
    Ok(())
}

/// `Some(value)` for a present field, even `null`: tells "set to null" from "absent".
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}
