//! Every route the portal answers, in one table. The router and the OpenAPI
//! document are both made from it, so the document cannot miss a route.

use crate::http::{ApiError, Params, Req, Resp};
use crate::{api, live, metrics, pages, tokens, Portal};

/// A page for people or an API call for programs (errors differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JSON in and out; listed in the OpenAPI document.
    Api,
    /// HTML for a browser.
    Page,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone on loopback; a token from elsewhere.
    Read,
    /// A member of the consumer's owner team, or an admin.
    ConsumerOwner,
    /// A member of the migration's owner team, or an admin.
    MigrationOwner,
    /// Anyone with a valid token.
    User,
    /// A lineage producer's token, or an admin's.
    Lineage,
    /// An admin.
    Admin,
    /// Anyone at all.
    Open,
}

pub type Handler = fn(&Portal, &Req, &Params) -> Result<Resp, ApiError>;

/// One route.
#[derive(Debug)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path with `{name}` segments.
    pub path: &'static str,
    /// What it does, for the OpenAPI document.
    pub summary: &'static str,
    /// Page or API.
    pub kind: Kind,
    /// Who may call it (the handler enforces it; this documents it).
    pub access: Access,
    pub(crate) handler: Handler,
}

macro_rules! route {
    ($m:literal $p:literal, $kind:ident, $access:ident, $h:path, $s:literal) => {
        Route {
            method: $m,
            path: $p,
            summary: $s,
            kind: Kind::$kind,
            access: Access::$access,
            handler: $h,
        }
    };
}

/// The routes, most specific first.
pub static ROUTES: &[Route] = &[
    route!("GET" "/api/openapi.json", Api, Open, api::openapi, "This document"),
    route!("GET" "/api/whoami", Api, Open, api::whoami, "Who the request's token belongs to"),
    route!("GET" "/api/migrations", Api, Read, api::migrations, "Every migration, newest first, with counts by state"),
    route!("GET" "/api/migrations/{id}", Api, Read, api::status, "A migration's status (as `tern status --json`)"),
    route!("GET" "/api/migrations/{id}/plan", Api, Read, api::plan, "What the migration's spec would change now, per consumer (as `tern plan --json`)"),
    route!("GET" "/api/migrations/{id}/events", Api, Read, live::migration_events, "Server-sent events: the status again whenever it changes"),
    route!("GET" "/api/migrations/{id}/consumers/{consumer}", Api, Read, api::change, "One consumer's change with its state history"),
    route!("GET" "/api/migrations/{id}/consumers/{consumer}/diff", Api, Read, api::diff, "The change's diff as `git show` prints it"),
    route!("POST" "/api/migrations/{id}/consumers/{consumer}/approve", Api, ConsumerOwner, api::approve, "Approve an open or needs-attention change and merge it"),
    route!("POST" "/api/migrations/{id}/consumers/{consumer}/retry", Api, MigrationOwner, api::retry_one, "Re-run one failed change from the current default branch (runs in the background)"),
    route!("POST" "/api/migrations/{id}/consumers/{consumer}/rollback", Api, MigrationOwner, api::rollback_one, "Roll back one consumer: close its change or revert its merge"),
    route!("POST" "/api/migrations/{id}/approve-green", Api, User, api::approve_green, "Approve every green change (open, verified, schema check passed, no findings) the caller may approve; the answer lists those approved and those left (as `tern approve ID --all-green --json`)"),
    route!("POST" "/api/migrations/{id}/pause", Api, MigrationOwner, api::pause, "Pause: nothing more is proposed until resumed"),
    route!("POST" "/api/migrations/{id}/resume", Api, MigrationOwner, api::resume, "Resume a paused migration"),
    route!("POST" "/api/migrations/{id}/retry", Api, MigrationOwner, api::retry_all, "Re-run every failed change (runs in the background)"),
    route!("POST" "/api/migrations/{id}/rollback", Api, MigrationOwner, api::rollback_all, "Roll back the whole migration"),
    route!("GET" "/api/datasets", Api, Read, api::datasets, "Every dataset"),
    route!("GET" "/api/datasets/{id}", Api, Read, api::dataset, "One dataset with its locators, schema and lifecycle"),
    route!("GET" "/api/datasets/{id}/consumers", Api, Read, api::dataset_consumers, "Who reads a dataset (as `tern catalog consumers --json`); `?transitive=true` adds readers of derived datasets"),
    route!("GET" "/api/consumers", Api, Read, api::consumers, "Every consumer"),
    route!("GET" "/api/teams", Api, Read, api::teams, "Every team and its members"),
    route!("GET" "/api/catalog/entities", Api, Read, api::entities, "The catalog as Backstage entities"),
    route!("GET" "/api/tokens", Api, Admin, tokens::list, "Every token: id, user, role, when it expires, whether it was revoked (never the token)"),
    route!("POST" "/api/tokens", Api, Admin, tokens::create, "Make a token: `{\"user\", \"role\": \"user\"|\"admin\"|\"lineage\", \"expires\": \"90d\"|\"never\"}`; the answer holds it, once"),
    route!("POST" "/api/tokens/{id}/revoke", Api, Admin, tokens::revoke, "Revoke a token: it gets 401 from then on"),
    route!("POST" "/api/v1/lineage", Api, Lineage, api::lineage, "OpenLineage RunEvents in (one event, or an array), as Marquez accepts them"),
    route!("GET" "/api/events", Api, Read, live::catalog_events, "Server-sent events: a revision number whenever anything changes"),
    route!("GET" "/metrics", Api, Read, metrics::handler, "Prometheus text: changes by state, verify durations, pauses, HTTP requests"),
    route!("GET" "/", Page, Read, pages::migrations, "The migrations"),
    route!("GET" "/migrations/{id}", Page, Read, pages::migration, "A migration: burndown, counts, waves, every consumer"),
    route!("GET" "/migrations/{id}/consumers/{consumer}", Page, Read, pages::change, "One consumer's change: diff, verify log, findings, history"),
    route!("POST" "/migrations/{id}/consumers/{consumer}/{action}", Page, ConsumerOwner, pages::change_action, "Form: approve, retry or roll back a change"),
    route!("POST" "/migrations/{id}/approve-green", Page, User, pages::approve_green, "Form: approve every green change the signed-in person may approve"),
    route!("POST" "/migrations/{id}/{action}", Page, MigrationOwner, pages::migration_action, "Form: pause, resume, retry or roll back a migration"),
    route!("GET" "/datasets/{id}", Page, Read, pages::dataset, "A dataset: locators, schema, owners, consumers"),
    route!("GET" "/admin/tokens", Page, Admin, tokens::page, "Tokens: list, make and revoke them"),
    route!("POST" "/admin/tokens", Page, Admin, tokens::page_create, "Form: make a token"),
    route!("POST" "/admin/tokens/{id}/revoke", Page, Admin, tokens::page_revoke, "Form: revoke a token"),
    route!("GET" "/login", Page, Open, pages::login, "Sign in with a token"),
    route!("POST" "/login", Page, Open, pages::login_post, "Form: sign in"),
    route!("POST" "/logout", Page, Open, pages::logout, "Form: sign out"),
    route!("GET" "/static/{file}", Page, Open, pages::asset, "Style sheet and script"),
];

/// The route for a method and decoded path: 404 when no path matches, 405
/// when one does under another method.
pub fn find(method: &str, segments: &[String]) -> Result<(&'static Route, Params), ApiError> {
    let mut other_method = false;
    for r in ROUTES {
        let Some(params) = matches(r.path, segments) else {
            continue;
        };
        let method_ok = r.method == method || (method == "HEAD" && r.method == "GET");
        if method_ok {
            return Ok((r, params));
        }
        other_method = true;
    }
    let path = format!("/{}", segments.join("/"));
    if other_method {
        Err(ApiError::new(
            405,
            format!("{method} is not allowed on {path}"),
        ))
    } else {
        Err(ApiError::not_found(format!("nothing at {path}")))
    }
}

fn matches(pattern: &'static str, segments: &[String]) -> Option<Params> {
    let parts: Vec<&'static str> = pattern[1..].split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in parts.iter().zip(segments) {
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if s.is_empty() {
                return None;
            }
            params.push((name, s.clone()));
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_reference_names_every_route() {
        let doc = include_str!("../../../docs/routes.md");
        for r in ROUTES {
            let row = format!("| {} | `{}` |", r.method, r.path);
            assert!(
                doc.contains(&row),
                "docs/routes.md lacks {} {}",
                r.method,
                r.path
            );
        }
    }

    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p[1..].split('/').map(String::from).collect()
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let (r, p) = find("GET", &segs("/api/migrations/m1/consumers/c1/diff")).unwrap();
        assert_eq!(r.path, "/api/migrations/{id}/consumers/{consumer}/diff");
        assert_eq!(
            p,
            vec![("id", "m1".to_string()), ("consumer", "c1".to_string())]
        );
        let (r, _) = find("POST", &segs("/migrations/m1/pause")).unwrap();
        assert_eq!(r.path, "/migrations/{id}/{action}");
        assert_eq!(
            find("DELETE", &segs("/api/migrations")).unwrap_err().status,
            405
        );
        assert_eq!(find("GET", &segs("/nope")).unwrap_err().status, 404);
    }
}
