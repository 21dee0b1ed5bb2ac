//! The OpenAPI document: valid (by the reference validator), and true to the routes it
//! describes, field by field.

use super::{WOO_PAID, assert_json_error, keys_of, post_paid, woo_store};

use crate::common::app::{WOO_SECRET, start};
use crate::common::sign::*;
use reqwest::Method;
use serde_json::Value;

/// The served document, checked by `openapi-spec-validator` (PyPI), the reference validator of
/// OpenAPI 3.0 and 3.1 documents. `.ci/run` installs it and runs this test.
#[tokio::test]
#[ignore = "needs openapi-spec-validator (pip)"]
async fn the_served_openapi_document_passes_openapi_spec_validator() {
    let p = start(woo_store).await;
    let resp = p.admin(Method::GET, "/admin/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    keys_of(&text);
    let file = p.dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let run = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .arg(&file)
            .output()
    };
    let out = run("openapi-spec-validator", &[])
        .or_else(|_| run("python3", &["-m", "openapi_spec_validator"]))
        .expect("openapi-spec-validator runs (pip install openapi-spec-validator)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "openapi-spec-validator is not installed (pip install openapi-spec-validator): {stderr}"
    );
    assert!(
        out.status.success() && stdout.contains("OK"),
        "the OpenAPI document is invalid:\n{stdout}\n{stderr}\n{text}"
    );
}

/// `schema` with its `$ref` resolved and an `allOf` merged into one object schema.
fn resolve(doc: &Value, schema: &Value) -> Value {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        let found = &doc["components"]["schemas"][name];
        assert!(found.is_object(), "$ref {target} points nowhere");
        return resolve(doc, found);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = resolve(doc, part);
            if let Some(p) = part["properties"].as_object() {
                for (k, v) in p {
                    assert!(
                        properties.insert(k.clone(), v.clone()).is_none(),
                        "property {k} defined twice in an allOf"
                    );
                }
            }
            if let Some(r) = part["required"].as_array() {
                required.extend(r.iter().cloned());
            }
        }
        return serde_json::json!({
            "type": "object", "properties": properties, "required": required
        });
    }
    schema.clone()
}

/// What in `value` does not match the document's `schema` (the keywords utoipa emits). An
/// object schema with `properties` is taken as closed: a field served but not documented is an
/// error.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|o| mismatches(doc, o, value, at).is_empty())
            .count();
        return match matching {
            1 => vec![],
            n => vec![format!("{at}: {value} matches {n} of oneOf {options:?}")],
        };
    }
    if let Some(options) = schema["anyOf"].as_array() {
        return match options
            .iter()
            .any(|o| mismatches(doc, o, value, at).is_empty())
        {
            true => vec![],
            false => vec![format!("{at}: {value} matches none of anyOf {options:?}")],
        };
    }
    let mut errors = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("{at}: unknown type {other}"),
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errors.push(format!("{at}: {value} is not {types:?}"));
        return errors;
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => errors.extend(mismatches(doc, s, v, &format!("{at}.{key}"))),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => errors.push(format!("{at}.{key} is not allowed")),
                    extra if extra.is_object() => {
                        errors.extend(mismatches(doc, extra, v, &format!("{at}.{key}")))
                    }
                    _ if properties.is_some() => {
                        errors.push(format!("{at}.{key} is served but not documented"))
                    }
                    _ => {}
                },
            }
        }
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            if !object.contains_key(key) {
                errors.push(format!("{at}.{key} is required but missing"));
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(mismatches(doc, schema, item, &format!("{at}[{i}]")));
        }
    }
    errors
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let id = p.settled(1).await[0].id;
    let doc: Value = p
        .admin(Method::GET, "/admin/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort_unstable();
    assert_eq!(
        documented,
        [
            "/admin/jobs",
            "/admin/jobs/{id}",
            "/admin/jobs/{id}/replay",
            "/admin/openapi.json",
            "/admin/stores",
            "/admin/stores/{id}/optouts",
            "/admin/stores/{id}/optouts/{phone}"
        ]
    );

    // Every answer a route gives is documented, and its body matches the documented schema.
    let check = |method: String, path: String, resp: reqwest::Response| {
        let doc = &doc;
        async move {
            let status = resp.status().as_u16().to_string();
            let op = &doc["paths"][&path][method.to_lowercase()];
            let documented = &op["responses"][&status];
            assert!(
                documented.is_object(),
                "{method} {path} answered {status}, not documented"
            );
            assert!(
                documented["description"].is_string(),
                "{method} {path} {status} has no description"
            );
            let schema = &documented["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{method} {path} {status}: no JSON schema"
            );
            let body: Value = resp.json().await.unwrap();
            let errors = mismatches(doc, schema, &body, "body");
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {errors:#?}\n{body:#}"
            );
        }
    };
    let all_methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for (path, item) in paths {
        let served: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
        let with = |id: &str| path.replace("{id}", id);
        for method in &served {
            let m: Method = method.to_uppercase().parse().unwrap();
            let url = with(&id.to_string());
            // Authenticated, then as the replayed job is queued (a replay gets 409), then
            // without a token, then for an unknown job and a malformed id.
            check(method.clone(), path.clone(), p.admin(m.clone(), &url).await).await;
            check(method.clone(), path.clone(), p.admin(m.clone(), &url).await).await;
            let anonymous = p
                .http
                .request(m.clone(), format!("{}{url}", p.base))
                .send()
                .await
                .unwrap();
            check(method.clone(), path.clone(), anonymous).await;
            if path.contains("{id}") {
                for bad in ["424242", "abc"] {
                    check(
                        method.clone(),
                        path.clone(),
                        p.admin(m.clone(), &with(bad)).await,
                    )
                    .await;
                }
            }
            if path == "/admin/jobs" {
                let bad = p.admin(m.clone(), "/admin/jobs?limit=abc").await;
                check(method.clone(), path.clone(), bad).await;
                let page = p.admin(m.clone(), "/admin/jobs?limit=1").await;
                check(method.clone(), path.clone(), page).await;
            }
        }
        // A method the document does not list is not served.
        for m in &all_methods {
            if served.contains(&m.as_str().to_lowercase()) {
                continue;
            }
            let url = with(&id.to_string());
            let resp = p.admin(m.clone(), &url).await;
            let allow = resp
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_lowercase();
            assert_eq!(allow, served.join(", "), "{m} {path}");
            assert_json_error(resp, 405, &format!("{m} {path}")).await;
        }
    }
    // Nor is any path the document does not list.
    for path in [
        "/admin",
        "/admin/",
        "/admin/job",
        "/admin/jobs/1/run",
        "/admin/stores/acme-woo",
        "/admin/openapi.yaml",
        "/admin/metrics",
    ] {
        for m in &all_methods {
            let resp = p.admin(m.clone(), path).await;
            assert_json_error(resp, 404, &format!("{m} {path}")).await;
        }
    }
}
