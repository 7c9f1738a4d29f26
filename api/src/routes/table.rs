//! Which methods and paths each listener serves, as data. The same rows register the
//! handlers and make the [`route_inventory`] the security suite sweeps, so a route added here
//! is attacked (without credentials, under path variants) without anyone listing it twice.
//!
//! Another method on a known path is answered only after the caller proved who they are:
//! a 405 would otherwise tell an anonymous caller that the path exists.

use actix_web::{Route, web};

use crate::routes::{
    admin, admin_api, admin_deployments, chat, embeddings, fallback, health, messages, models,
};

/// One route of a listener.
pub(crate) struct Row {
    pub entry: RouteEntry,
    pub route: Route,
}

/// A method and path a listener serves, and whether it needs a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteEntry {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The path pattern (`{id}` for a path parameter).
    pub path: &'static str,
    /// `false` only for the unauthenticated liveness probe.
    pub needs_credential: bool,
}

fn row(method: &'static str, path: &'static str, route: Route) -> Row {
    Row {
        entry: RouteEntry {
            method,
            path,
            needs_credential: true,
        },
        route,
    }
}

/// The data plane: virtual keys, and the public liveness probe.
pub(crate) fn public() -> Vec<Row> {
    let mut live = row("GET", "/health/live", web::get().to(health::live));
    live.entry.needs_credential = false;
    vec![
        row(
            "POST",
            "/v1/chat/completions",
            web::post().to(chat::completions),
        ),
        row("POST", "/v1/embeddings", web::post().to(embeddings::create)),
        row("POST", "/v1/messages", web::post().to(messages::create)),
        row(
            "POST",
            "/v1/messages/count_tokens",
            web::post().to(messages::count_tokens),
        ),
        row("GET", "/v1/models", web::get().to(models::list)),
        live,
    ]
}

/// The admin listener: the master key only.
pub(crate) fn admin() -> Vec<Row> {
    let mut rows = vec![
        row("GET", "/metrics", web::get().to(admin::metrics)),
        row("GET", "/health/ready", web::get().to(admin::ready)),
        row(
            "GET",
            "/admin/deployments",
            web::get().to(admin_deployments::list),
        ),
    ];
    for (doc, route) in admin_api::table() {
        rows.push(row(method_name(doc.method), doc.path, route));
    }
    rows
}

fn method_name(lower: &str) -> &'static str {
    match lower {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        _ => "OPTIONS",
    }
}

/// Every route of both listeners: `(public, admin)`.
pub fn route_inventory() -> (Vec<RouteEntry>, Vec<RouteEntry>) {
    let entries = |rows: Vec<Row>| rows.into_iter().map(|r| r.entry).collect();
    (entries(public()), entries(admin()))
}

/// Registers `rows` one resource per path; any other method on the path goes to `other`.
pub(crate) fn register(cfg: &mut web::ServiceConfig, rows: Vec<Row>, other: fn() -> Route) {
    let mut paths: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for Row { entry, route } in rows {
        match paths.iter_mut().find(|(path, _)| *path == entry.path) {
            Some((_, routes)) => routes.push(route),
            None => paths.push((entry.path, vec![route])),
        }
    }
    for (path, routes) in paths {
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |resource, route| resource.route(route));
        cfg.service(resource.default_service(other()));
    }
}

/// The public listener's answer to another method on a known path.
pub(crate) fn public_other() -> Route {
    web::to(fallback::method_not_allowed_public)
}

/// The admin listener's answer to another method on a known path.
pub(crate) fn admin_other() -> Route {
    web::to(fallback::method_not_allowed_admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_liveness_is_open_and_every_admin_route_needs_the_master_key() {
        let (public, admin) = route_inventory();
        let open: Vec<_> = public.iter().filter(|e| !e.needs_credential).collect();
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].method, open[0].path), ("GET", "/health/live"));
        assert!(admin.iter().all(|e| e.needs_credential));
        assert!(admin.iter().any(|e| e.path == "/admin/keys/{id}/rotate"));
        assert!(admin.iter().all(|e| e.method != "OPTIONS"), "{admin:?}");
    }
}
