//! `/admin/openapi.json` is an OpenAPI 3 document listing every admin route, and every
//! route it lists is served (behind the master key).

use serde_json::Value;

use crate::keys_harness::start_memory;

/// Every admin route this issue adds, as (method, path).
const EXPECTED: &[(&str, &str)] = &[
    ("post", "/admin/keys"),
    ("get", "/admin/keys"),
    ("get", "/admin/keys/{id}"),
    ("patch", "/admin/keys/{id}"),
    ("delete", "/admin/keys/{id}"),
    ("post", "/admin/keys/{id}/rotate"),
    ("post", "/admin/keys/{id}/revoke"),
    ("post", "/admin/teams"),
    ("get", "/admin/teams"),
    ("get", "/admin/teams/{id}"),
    ("patch", "/admin/teams/{id}"),
    ("delete", "/admin/teams/{id}"),
    ("get", "/admin/spend"),
    ("get", "/admin/config"),
    ("post", "/admin/config/reload"),
    ("get", "/admin/openapi.json"),
];

#[actix_web::test]
async fn openapi_document_is_openapi_3_and_lists_every_admin_route() {
    let h = start_memory().await;
    let (status, _) = h.admin_as(None, "GET", "/admin/openapi.json", None).await;
    assert_eq!(status, 401, "the document needs the master key too");
    let (status, doc) = h.admin("GET", "/admin/openapi.json", None).await;
    assert_eq!(status, 200);
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    let mut listed = Vec::new();
    for (path, item) in paths {
        assert!(path.starts_with("/admin/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            assert!(op["operationId"].is_string());
            listed.push((method.clone(), path.clone()));
        }
    }
    for (method, path) in EXPECTED {
        assert!(
            listed.contains(&((*method).to_owned(), (*path).to_owned())),
            "{method} {path} missing from {listed:?}"
        );
    }
    // Every listed route is served: without the master key it answers 401, not 404.
    for (method, path) in &listed {
        let concrete = path.replace("{id}", "some-id");
        let (status, body) = h
            .admin_as(None, &method.to_uppercase(), &concrete, None)
            .await;
        assert_eq!(status, 401, "{method} {concrete}: {body}");
    }
    let refs: Vec<&Value> = paths.values().collect();
    assert_eq!(listed.len(), EXPECTED.len(), "{refs:?}");
    h.stop().await;
}
