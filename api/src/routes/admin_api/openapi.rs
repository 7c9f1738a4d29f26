//! `GET /admin/openapi.json`: an OpenAPI 3.0 document built from the admin route table at
//! run time, so every registered route is in it and nothing else is.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::{AdminRoute, documented, require_master};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn serve(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    Ok(HttpResponse::Ok().json(document(&documented())))
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": { "type": "string" },
                "type": { "type": "string" },
                "param": { "type": "string", "nullable": true },
                "code": { "type": "string", "nullable": true }
            }
        }}
    })
}

fn operation(route: &AdminRoute) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(route.operation));
    op.insert("summary".into(), json!(route.summary));
    let mut parameters: Vec<Value> = Vec::new();
    if route.path.contains("{id}") {
        parameters.push(json!({
            "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$" }
        }));
    }
    for name in route.query {
        parameters.push(json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(fields) = route.body {
        let properties: Map<String, Value> = fields
            .iter()
            .map(|f| ((*f).to_owned(), json!({})))
            .collect();
        op.insert(
            "requestBody".into(),
            json!({ "required": false, "content": { "application/json": { "schema": {
                "type": "object", "additionalProperties": false, "properties": properties
            }}}}),
        );
    }
    op.insert(
        "responses".into(),
        json!({
            route.ok.to_string(): { "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } },
            "default": { "description": "An OpenAI-shaped error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }),
    );
    Value::Object(op)
}

/// The document for `routes`.
pub(crate) fn document(routes: &[AdminRoute]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in routes {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(route.method.to_owned(), operation(route));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Portcullis admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Served on the admin listener only; every route needs the master key as a Bearer token."
        },
        "security": [{ "master_key": [] }],
        "components": {
            "securitySchemes": { "master_key": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Error": error_schema() }
        },
        "paths": paths,
    })
}
