//! The HTML pages: server-rendered with maud, one module per page kind.
//! Every page is computed from the store on each request and subscribes to
//! a live stream (`data-live`) so state changes appear without a reload.

mod change;
mod dataset;
mod migration;

pub use change::{change, change_action};
pub use dataset::dataset;
pub use migration::{approve_green, migration, migration_action, migrations};

use maud::{html, Markup, PreEscaped, DOCTYPE};
use tern_catalog::ChangeState;

use crate::auth::{self, Principal, COOKIE};
use crate::http::{param, ApiError, Params, Req, Resp};
use crate::Portal;

/// A tern's wings in flight: the mark in the top bar.
const LOGO: &str = "<svg class=\"logo\" viewBox=\"0 0 24 16\" width=\"24\" height=\"16\" aria-hidden=\"true\"><path d=\"M1 4 Q7 5 12 11 Q17 5 23 1\" fill=\"none\" stroke=\"#38bdf8\" stroke-width=\"2.4\" stroke-linecap=\"round\"/></svg>";

/// Who is looking at a page, and the CSRF value their forms carry.
pub struct Viewer {
    pub principal: Option<Principal>,
    pub csrf: String,
}

impl Viewer {
    pub fn of(portal: &Portal, req: &Req) -> Result<Viewer, ApiError> {
        let principal = auth::read(portal, req)?;
        let csrf = principal.as_ref().map(auth::csrf).unwrap_or_default();
        Ok(Viewer { principal, csrf })
    }

    /// A POST form with one button; the CSRF value rides along.
    pub fn button(&self, action: &str, label: &str, class: &str, confirm: Option<&str>) -> Markup {
        html! {
            form.inline method="post" action=(action) data-confirm=[confirm] {
                input type="hidden" name="csrf" value=(self.csrf);
                button.btn.(class) type="submit" { (label) }
            }
        }
    }
}

/// The frame every page shares.
pub fn layout(
    title: &str,
    viewer: &Viewer,
    live: Option<&str>,
    crumbs: &[(&str, String)],
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tern" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" href="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><path d='M1 11 L8 4 L15 11' stroke='%2338bdf8' stroke-width='2.5' fill='none'/></svg>";
                script src="/static/app.js" defer {}
            }
            body data-live=[live] {
                header.top {
                    a.brand href="/" { (raw(LOGO.into())) "tern" }
                    nav {
                        a href="/" { "Migrations" }
                        @if viewer.principal.as_ref().is_some_and(|p| p.admin) {
                            a href="/admin/tokens" { "Tokens" }
                        }
                    }
                    span.live-dot title="live updates" {}
                    div.who {
                        @if let Some(p) = &viewer.principal {
                            span.user { (short(&p.user)) @if p.admin { " · admin" } }
                            form.inline method="post" action="/logout" { button.link type="submit" { "Sign out" } }
                        } @else {
                            a href="/login" { "Sign in" }
                        }
                    }
                }
                main {
                    @if !crumbs.is_empty() {
                        nav.crumbs {
                            a href="/" { "Migrations" }
                            @for (label, href) in crumbs { span.sep { "/" } a href=(href) { (label) } }
                        }
                    }
                    div #live { (body) }
                }
                footer { "tern " (env!("CARGO_PKG_VERSION")) " · " a href="/api/openapi.json" { "API" } " · " a href="/metrics" { "metrics" } }
            }
        }
    }
}

/// `user:default/alice` → `alice`; `group:default/bi` → `bi`.
pub fn short(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

pub fn pill(state: ChangeState) -> Markup {
    html! { span class={"pill s-" (state.as_str())} { (state.as_str().replace('_', " ")) } }
}

/// Seconds as `3s`, `4m 05s`, `2h 10m`, `3d 4h`.
pub fn duration(s: i64) -> String {
    let s = s.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A Unix time as `2026-12-01 21:40 UTC`.
pub fn datetime(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// A stacked bar of changes by state.
pub fn progress(counts: &[(ChangeState, usize)]) -> Markup {
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    html! {
        div.progress role="img" aria-label="changes by state" {
            @for (state, n) in counts.iter().filter(|(_, n)| *n > 0) {
                span class={"seg s-" (state.as_str())}
                    style={"width:" (format!("{:.2}", *n as f64 * 100.0 / total.max(1) as f64)) "%"}
                    title={(state.as_str().replace('_', " ")) ": " (n)} {}
            }
        }
    }
}

pub fn error_page(e: &ApiError, principal: Option<Principal>) -> Resp {
    let title = match e.status {
        401 => "Sign in needed",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Not possible now",
        413 => "Too large",
        _ => "Something went wrong",
    };
    let viewer = Viewer {
        principal,
        csrf: String::new(),
    };
    let body = html! {
        section.card.error {
            h1 { (e.status) " · " (title) }
            p.message { (e.message) }
            p { a href="javascript:history.back()" { "← Back" } " · " a href="/" { "All migrations" }
                @if e.status == 401 { " · " a href="/login" { "Sign in" } } }
        }
    };
    Resp::html(layout(title, &viewer, None, &[], body)).with_status(e.status)
}

fn login_form(message: Option<&str>, next: &str) -> Markup {
    let viewer = Viewer {
        principal: None,
        csrf: String::new(),
    };
    layout(
        "Sign in",
        &viewer,
        None,
        &[],
        html! {
            section.card.narrow {
                h1 { "Sign in" }
                p.muted { "Paste the token " code { "tern token create USER" } " printed for you. It is kept in a cookie on this browser only." }
                @if let Some(m) = message { p.message.bad { (m) } }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="token" { "Token" }
                    input #token type="password" name="token" autocomplete="off" placeholder="tern_…" required autofocus;
                    button.btn.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// Only paths on this site may be returned to after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

pub fn login(_: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    Ok(Resp::html(login_form(None, &safe_next(req.query("next")))))
}

pub fn login_post(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    let form = req.form();
    let get = |k: &str| {
        form.iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let next = safe_next(get("next").as_deref());
    let token = get("token").unwrap_or_default();
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Ok(
            Resp::html(login_form(Some("That is not a tern token."), &next)).with_status(400),
        );
    }
    let usable = portal
        .store
        .token(&auth::hash_token(&token))?
        .is_some_and(|t| t.valid_at(tern_catalog::now()) && t.role != tern_catalog::Role::Lineage);
    if !usable {
        return Ok(Resp::html(login_form(
            Some("Unknown, expired or revoked token (a lineage token cannot sign in)."),
            &next,
        ))
        .with_status(401));
    }
    Ok(Resp::see_other(&next).with_header(
        "Set-Cookie",
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000"),
    ))
}

pub fn logout(_: &Portal, _: &Req, _: &Params) -> Result<Resp, ApiError> {
    Ok(Resp::see_other("/").with_header(
        "Set-Cookie",
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    ))
}

pub fn asset(_: &Portal, _: &Req, p: &Params) -> Result<Resp, ApiError> {
    let (ct, body): (&'static str, &'static str) = match param(p, "file") {
        "style.css" => (
            "text/css; charset=utf-8",
            include_str!("../../assets/style.css"),
        ),
        "app.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../../assets/app.js"),
        ),
        other => return Err(ApiError::not_found(format!("no asset {other:?}"))),
    };
    Ok(Resp::bytes(200, ct, body.as_bytes().to_vec())
        .with_header("Cache-Control", "max-age=300".into()))
}

/// Raw HTML the server made itself (the SVG chart).
pub fn raw(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(datetime(0), "1970-01-01 00:00 UTC");
        assert_eq!(datetime(1_796_161_200), "2026-12-01 21:40 UTC");
        assert_eq!(duration(65), "1m 05s");
        assert_eq!(duration(7300), "2h 01m");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/migrations/x")), "/migrations/x");
    }
}
