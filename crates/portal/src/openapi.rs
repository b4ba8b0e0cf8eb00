//! The OpenAPI 3 document, made from the route table so it lists exactly
//! the routes the server answers.

use serde_json::{json, Map, Value};

use crate::routes::{Access, Kind, ROUTES};

/// The document served at `/api/openapi.json`.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES.iter().filter(|r| r.kind == Kind::Api) {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if r.path == "/api/datasets/{id}/consumers" {
            params.push(json!({"name": "transitive", "in": "query", "required": false, "schema": {"type": "boolean"}}));
        }
        let ok = match r.path {
            "/metrics" => json!({"description": "Prometheus text", "content": {"text/plain": {}}}),
            p if p.ends_with("/events") => {
                json!({"description": "An event stream", "content": {"text/event-stream": {}}})
            }
            p if p.ends_with("/diff") => {
                json!({"description": "A unified diff", "content": {"text/x-diff": {}}})
            }
            p if p.starts_with("/api/migrations/{id}")
                && !p.contains("plan")
                && r.method == "GET"
                && !p.contains("consumers") =>
            {
                json!({"description": "The status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}})
            }
            _ => json!({"description": "OK", "content": {"application/json": {"schema": {}}}}),
        };
        let mut responses = Map::new();
        let success = match (r.method, r.path) {
            ("POST", "/api/v1/lineage") | ("POST", "/api/tokens") => "201",
            _ => "200",
        };
        responses.insert(success.into(), ok);
        if r.path.ends_with("/retry") {
            responses.insert("202".into(), json!({"description": "Retry started in the background", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}));
        }
        let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        if !params.is_empty() || r.method == "POST" {
            responses.insert("400".into(), err("Bad input"));
        }
        if r.access != Access::Open {
            responses.insert("401".into(), err("No token, or an unknown one"));
        }
        if matches!(r.access, Access::ConsumerOwner | Access::MigrationOwner) {
            responses.insert("403".into(), err("Not in the owner team"));
            responses.insert("409".into(), err("Not possible in the current state"));
        }
        if matches!(r.access, Access::Lineage | Access::Admin) {
            responses.insert("403".into(), err("The token's role may not do this"));
        }
        if !params.is_empty() {
            responses.insert("404".into(), err("No such migration, consumer or dataset"));
        }
        let mut op = json!({
            "summary": r.summary,
            "operationId": operation_id(r.method, r.path),
            "parameters": params,
            "responses": responses,
        });
        if r.access != Access::Open {
            op["security"] = json!([{"bearer": []}]);
        }
        if r.path == "/api/tokens" && r.method == "POST" {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["user"], "properties": {"user": {"type": "string"}, "role": {"type": "string", "enum": ["user", "admin", "lineage"]}, "expires": {"type": "string"}}}}}});
        } else if r.path == "/api/v1/lineage" {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}}}});
        } else if r.path.ends_with("/pause") {
            op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"reason": {"type": "string"}}}}}});
        }
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "tern portal API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Everything `tern` does from the command line, over HTTP. Reads are open on loopback; changes need `Authorization: Bearer <token>` (`tern token create USER`).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["status", "error", "message"], "properties": {
                    "status": {"type": "integer"}, "error": {"type": "string"}, "message": {"type": "string"}}},
                "Status": {"type": "object", "required": ["id", "state", "counts", "consumers", "time_to_completion_s", "breakage_rate", "manual_interventions"], "properties": {
                    "id": {"type": "string"},
                    "state": {"type": "string", "enum": ["running", "paused", "done", "rolled_back"]},
                    "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "consumers": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "state": {"type": "string"}, "branch": {"type": "string", "nullable": true},
                        "verify": {"type": "object", "nullable": true}, "unresolved": {"type": "array"},
                        "schema_check": {"type": "object", "nullable": true, "properties": {
                            "ok": {"type": "boolean"}, "checked": {"type": "integer"}, "failures": {"type": "array"}}}}}},
                    "time_to_completion_s": {"type": "integer", "nullable": true},
                    "breakage_rate": {"type": "number"},
                    "manual_interventions": {"type": "integer"}}},
            },
        },
    })
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for seg in path.split('/').filter(|s| !s.is_empty() && *s != "api") {
        let seg = seg
            .trim_matches(|c| c == '{' || c == '}')
            .replace(['.', '-'], "_");
        id.push('_');
        id.push_str(&seg);
    }
    id
}
