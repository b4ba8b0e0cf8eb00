//! Who is asking, and may they do it.
//!
//! Tokens are random, shown once, and stored only as SHA-256 hashes. A
//! program sends `Authorization: Bearer <token>`; a browser signs in once and
//! keeps the token in an HttpOnly, SameSite=Strict cookie, and every form it
//! posts carries a CSRF value derived from the token's hash, which a page
//! from another site cannot know. Reads are open on loopback; anything that
//! changes a campaign needs a token and the right team.

use sha2::{Digest, Sha256};
use tern_catalog::backstage::user_ref;
use tern_catalog::{now, Role, Store, Token};

use crate::http::{ApiError, Req};
use crate::{Portal, PortalError};

/// The cookie a signed-in browser sends.
pub const COOKIE: &str = "tern_token";

/// Someone with a valid token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `user:default/<name>`.
    pub user: String,
    pub admin: bool,
    pub role: Role,
    /// The token's hash, for the CSRF value.
    pub hash: String,
    /// Signed in through the cookie (so forms need the CSRF value).
    pub cookie: bool,
}

/// Hex SHA-256 of a token: what the catalog keeps instead of the token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// How long a token lives unless asked otherwise: 90 days.
pub const DEFAULT_TTL_SECS: i64 = 90 * 86_400;

/// Makes a token for a user the catalog knows (any name for an admin or a
/// lineage producer, which need no team), stores its hash, and returns the
/// token (the only time it is seen) with what was stored. `ttl_secs`: how
/// long it lives, `None` for ever.
pub fn create_token(
    store: &dyn Store,
    user: &str,
    role: Role,
    ttl_secs: Option<i64>,
) -> Result<(String, Token), PortalError> {
    let user = user_ref(user);
    if role == Role::User && !store.is_user(&user)? {
        return Err(PortalError::UnknownUser(format!(
            "{user} is not a member of any team in the catalog; import their Group or User entity first (or make an admin token with --role admin)"
        )));
    }
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw)
        .map_err(|e| PortalError::UnknownUser(format!("no randomness: {e}")))?;
    let token = format!("tern_{}", hex(&raw));
    let created_at = now();
    let stored = Token {
        hash: hash_token(&token),
        user,
        role,
        created_at,
        expires_at: ttl_secs.map(|t| created_at.saturating_add(t)),
        revoked_at: None,
    };
    store.put_token(&stored)?;
    Ok((token, stored))
}

/// The CSRF value a signed-in browser's forms must carry.
pub fn csrf(p: &Principal) -> String {
    hex(&Sha256::digest(format!("tern-csrf\0{}", p.hash).as_bytes()))[..32].to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The principal behind a request, if any. A bearer token that is not known
/// is refused (401); a stale cookie just means signed out.
pub fn identify(portal: &Portal, req: &Req) -> Result<Option<Principal>, ApiError> {
    let bearer = req.header("Authorization").and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    let at = now();
    if let Some(token) = bearer {
        let hash = hash_token(token);
        return match portal.store.token(&hash)? {
            Some(t) if t.valid_at(at) => Ok(Some(principal(t, false))),
            Some(t) if t.revoked_at.is_some() => {
                Err(ApiError::new(401, format!("token {} was revoked", t.id())))
            }
            Some(t) => Err(ApiError::new(
                401,
                format!(
                    "token {} expired; make a new one with `tern token create`",
                    t.id()
                ),
            )),
            None => Err(ApiError::new(401, "unknown token")),
        };
    }
    if let Some(token) = req.cookie(COOKIE) {
        // A revoked or expired token in a cookie just means signed out.
        if let Some(t) = portal.store.token(&hash_token(token))? {
            if t.valid_at(at) && t.role != Role::Lineage {
                return Ok(Some(principal(t, true)));
            }
        }
    }
    Ok(None)
}

fn principal(t: Token, cookie: bool) -> Principal {
    Principal {
        admin: t.admin(),
        role: t.role,
        user: t.user,
        hash: t.hash,
        cookie,
    }
}

/// A lineage producer's token opens nothing but the lineage route.
fn not_lineage(p: Option<Principal>) -> Result<Option<Principal>, ApiError> {
    match p {
        Some(p) if p.role == Role::Lineage => Err(ApiError::new(
            403,
            "a lineage token may only post OpenLineage events (POST /api/v1/lineage)",
        )),
        p => Ok(p),
    }
}

/// Reads: open on loopback, a token from anywhere else.
pub fn read(portal: &Portal, req: &Req) -> Result<Option<Principal>, ApiError> {
    let p = not_lineage(identify(portal, req)?)?;
    if p.is_none() && !req.loopback {
        return Err(ApiError::new(
            401,
            "reads from outside this machine need a token: send Authorization: Bearer <token> (`tern token create USER`)",
        ));
    }
    Ok(p)
}

/// Changes: a valid token, and from a browser the form's CSRF value.
pub fn user(portal: &Portal, req: &Req) -> Result<Principal, ApiError> {
    let p = not_lineage(identify(portal, req)?)?.ok_or_else(|| {
        ApiError::new(
            401,
            "sign in first: send Authorization: Bearer <token>, or sign in at /login (`tern token create USER` makes a token)",
        )
    })?;
    if p.cookie {
        let form = req.form();
        let sent = req
            .header("X-Tern-CSRF")
            .map(str::to_string)
            .or_else(|| form.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
        if sent.as_deref() != Some(csrf(&p).as_str()) {
            return Err(ApiError::new(
                403,
                "this form's CSRF value is missing or stale; reload the page and try again",
            ));
        }
    }
    Ok(p)
}

/// Lineage in: a lineage producer's token, or an admin's. Lineage adds read
/// edges, which make tern change the consumers it names, so not every user
/// may post it.
pub fn lineage(portal: &Portal, req: &Req) -> Result<Principal, ApiError> {
    let p = identify(portal, req)?.ok_or_else(|| {
        ApiError::new(
            401,
            "posting lineage needs a token: send Authorization: Bearer <token> (`tern token create NAME --role lineage`)",
        )
    })?;
    if p.role == Role::Lineage || p.admin {
        return Ok(p);
    }
    Err(ApiError::new(
        403,
        "posting lineage needs a lineage token (`tern token create NAME --role lineage`) or an admin's",
    ))
}

/// Admins only, for a change (the CSRF value checked as for any change).
pub fn admin(portal: &Portal, req: &Req) -> Result<Principal, ApiError> {
    only_admin(user(portal, req)?)
}

/// Admins only, for a read (a page or a list: no form, no CSRF value).
pub fn admin_read(portal: &Portal, req: &Req) -> Result<Principal, ApiError> {
    let p = not_lineage(identify(portal, req)?)?.ok_or_else(|| {
        ApiError::new(
            401,
            "sign in first: send Authorization: Bearer <token>, or sign in at /login",
        )
    })?;
    only_admin(p)
}

fn only_admin(p: Principal) -> Result<Principal, ApiError> {
    if !p.admin {
        return Err(ApiError::new(403, "only an admin may manage tokens"));
    }
    Ok(p)
}

/// Who `p` is to the fleet's one policy ([`tern_fleet::Action::by`]).
pub fn actor(p: &Principal) -> tern_fleet::Actor<'_> {
    if p.admin {
        tern_fleet::Actor::Admin
    } else {
        tern_fleet::Actor::User(&p.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn req(loopback: bool, headers: &[(&str, &str)]) -> Req {
        Req {
            query: vec![],
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: vec![],
            loopback,
        }
    }

    #[test]
    fn reads_from_elsewhere_need_a_token() {
        let store: Arc<dyn Store> = Arc::from(tern_catalog::open("sqlite::memory:").unwrap());
        let (token, _) = create_token(store.as_ref(), "root", Role::Admin, None).unwrap();
        assert_eq!(
            store.token(&hash_token(&token)).unwrap().unwrap().user,
            "user:default/root"
        );
        assert!(!store
            .token(&hash_token(&token))
            .unwrap()
            .unwrap()
            .hash
            .contains(&token));
        let portal = Portal::new(store, Arc::new(tern_local_forge::LocalForge::default()));
        assert!(read(&portal, &req(true, &[])).unwrap().is_none());
        assert_eq!(read(&portal, &req(false, &[])).unwrap_err().status, 401);
        let bearer = format!("Bearer {token}");
        let p = read(&portal, &req(false, &[("Authorization", &bearer)]))
            .unwrap()
            .unwrap();
        assert!(p.admin && !p.cookie);
        // Unknown users get no token unless it is an admin's.
        assert!(create_token(portal.store.as_ref(), "mallory", Role::User, None).is_err());
    }
}
