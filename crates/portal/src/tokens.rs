//! Tokens, for admins: list, make and revoke them over the API and on the
//! admin page, as `tern token` does on the command line.

use maud::html;
use serde_json::{json, Value};
use tern_catalog::{now, Role, Token};

use crate::auth::{self, DEFAULT_TTL_SECS};
use crate::http::{param, ApiError, Params, Req, Resp};
use crate::pages::{layout, Viewer};
use crate::Portal;

/// `never`, or a duration such as `30d` or `12h`: how long a new token
/// lives (`None`: for ever).
pub fn parse_expiry(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let d = tern_spec::parse_duration(text)
        .filter(|d| d.as_secs() > 0)
        .ok_or_else(|| {
            format!("expiry {text:?} is not a duration such as 30d, 12h or 90m, nor `never`")
        })?;
    i64::try_from(d.as_secs())
        .ok()
        .filter(|s| *s <= 100 * 365 * 86_400)
        .map(Some)
        .ok_or_else(|| format!("expiry {text:?} is more than a hundred years; say `never`"))
}

/// A token as lists show it: never the hash, never the token.
pub fn token_json(t: &Token, at: i64) -> Value {
    json!({
        "id": t.id(),
        "user": t.user,
        "role": t.role.as_str(),
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
        "state": state(t, at),
    })
}

fn state(t: &Token, at: i64) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if !t.valid_at(at) {
        "expired"
    } else {
        "valid"
    }
}

pub fn list(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::admin_read(portal, req)?;
    let at = now();
    let tokens: Vec<Value> = portal
        .store
        .tokens()?
        .iter()
        .map(|t| token_json(t, at))
        .collect();
    Ok(Resp::json(&tokens))
}

/// What a create asks for, from JSON or a form.
fn create_from(
    portal: &Portal,
    user: Option<&str>,
    role: Option<&str>,
    expires: Option<&str>,
) -> Result<(String, Token), ApiError> {
    let user = user
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::bad_request("name the token's user (`user`)"))?;
    let role = match role.map(str::trim).filter(|r| !r.is_empty()) {
        None => Role::User,
        Some(r) => Role::parse(r).ok_or_else(|| {
            ApiError::bad_request(format!("role {r:?} is not one of user, admin, lineage"))
        })?,
    };
    let ttl = match expires.map(str::trim).filter(|e| !e.is_empty()) {
        None => Some(DEFAULT_TTL_SECS),
        Some(e) => parse_expiry(e).map_err(ApiError::bad_request)?,
    };
    auth::create_token(portal.store.as_ref(), user, role, ttl).map_err(|e| match e {
        crate::PortalError::UnknownUser(m) => ApiError::bad_request(m),
        other => ApiError::new(500, other.to_string()),
    })
}

pub fn create(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::admin(portal, req)?;
    let body = req.json()?;
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    let (token, stored) = create_from(portal, field("user"), field("role"), field("expires"))?;
    let mut out = token_json(&stored, now());
    out["token"] = json!(token);
    Ok(Resp::json(&out).with_status(201))
}

pub fn revoke(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::admin(portal, req)?;
    let id = param(p, "id");
    match portal.store.revoke_token(id, now())? {
        Some(t) => Ok(Resp::json(&token_json(&t, now()))),
        None => Err(ApiError::not_found(format!("no token {id:?}"))),
    }
}

/// The admin page: every token, a form to make one, a button to revoke.
pub fn page(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::admin_read(portal, req)?;
    render(portal, req, None)
}

fn render(portal: &Portal, req: &Req, made: Option<(String, Token)>) -> Result<Resp, ApiError> {
    let viewer = Viewer::of(portal, req)?;
    let at = now();
    let tokens = portal.store.tokens()?;
    let body = html! {
        h1 { "Tokens" }
        @if let Some((token, t)) = &made {
            div.banner.info {
                "New " (t.role.as_str()) " token for " (t.user) ", shown only now: "
                code.token { (token) }
            }
        }
        section.card { table.grid {
            thead { tr { th { "id" } th { "user" } th { "role" } th { "made" } th { "expires" } th { "state" } th {} } }
            tbody {
                @for t in &tokens {
                    tr {
                        td { code { (t.id()) } }
                        td { (t.user) }
                        td { (t.role.as_str()) }
                        td { (day(t.created_at)) }
                        td { (t.expires_at.map(day).unwrap_or_else(|| "never".into())) }
                        td { span.(format!("pill {}", state(t, at))) { (state(t, at)) } }
                        td {
                            @if t.revoked_at.is_none() {
                                (viewer.button(&format!("/admin/tokens/{}/revoke", t.id()), "Revoke", "danger", Some("Revoke this token? Whoever holds it is signed out.")))
                            }
                        }
                    }
                }
            }
        } }
        section.card {
        h3 { "Make a token" }
        form.stack method="post" action="/admin/tokens" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            label { "User " input type="text" name="user" placeholder="alice" required; }
            label { "Role "
                select name="role" {
                    option value="user" { "user: what their teams may do" }
                    option value="lineage" { "lineage: post lineage, nothing else" }
                    option value="admin" { "admin: everything" }
                }
            }
            label { "Expires after " input type="text" name="expires" value="90d"; }
            button.btn.primary type="submit" { "Make token" }
        }
        }
    };
    Ok(Resp::html(layout(
        "Tokens",
        &viewer,
        None,
        &[("Tokens", "/admin/tokens".into())],
        body,
    )))
}

pub fn page_create(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::admin(portal, req)?;
    let form = req.form();
    let get = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let made = create_from(portal, get("user"), get("role"), get("expires"))?;
    render(portal, req, Some(made)).map(|r| r.with_status(201))
}

pub fn page_revoke(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::admin(portal, req)?;
    let id = param(p, "id");
    if portal.store.revoke_token(id, now())?.is_none() {
        return Err(ApiError::not_found(format!("no token {id:?}")));
    }
    Ok(Resp::see_other("/admin/tokens"))
}

/// `2026-12-04` for Unix seconds.
pub fn day(secs: i64) -> String {
    let mut d = crate::pages::datetime(secs);
    d.truncate(10);
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_and_expiries_read_as_people_write_them() {
        assert_eq!(super::day(0), "1970-01-01");
        assert_eq!(super::day(1_796_342_400), "2026-12-04");
        assert_eq!(super::parse_expiry("never"), Ok(None));
        assert_eq!(super::parse_expiry("30d"), Ok(Some(30 * 86_400)));
        assert!(super::parse_expiry("0d").is_err());
        assert!(super::parse_expiry("soon").is_err());
        assert!(super::parse_expiry("999999d").is_err());
    }
}
