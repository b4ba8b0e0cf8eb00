//! One consumer's change: its diff, verification, findings and history.

use maud::html;
use tern_catalog::{Change, ChangeState, Unresolved};

use super::{datetime, layout, pill, short, Viewer};
use crate::api;
use crate::http::{encode, param, ApiError, Params, Req, Resp};
use crate::Portal;

/// Lines shown around a finding.
const CONTEXT: usize = 2;

/// Numbered lines of a file around a finding.
type Excerpt = Vec<(usize, String)>;

/// Each finding with the lines around it, read from the change's commit (or
/// the commit it was made on); `None` for files that cannot be read.
fn findings_with_code(portal: &Portal, c: &Change) -> Vec<(Unresolved, Option<Excerpt>)> {
    let rev = c.commit.as_ref().or(c.base_commit.as_ref());
    let mut paths: Vec<String> = c.unresolved.iter().map(|u| u.path.clone()).collect();
    paths.sort();
    paths.dedup();
    let blobs = rev
        .and_then(|rev| portal.forge.read_all(&c.repo, rev, &paths).ok())
        .unwrap_or_default();
    c.unresolved
        .iter()
        .map(|u| {
            let code = paths
                .iter()
                .position(|p| *p == u.path)
                .and_then(|i| blobs.get(i))
                .map(|bytes| {
                    let text = String::from_utf8_lossy(bytes);
                    let from = u.line.saturating_sub(CONTEXT + 1);
                    text.lines()
                        .enumerate()
                        .skip(from)
                        .take(CONTEXT * 2 + 1)
                        .map(|(i, l)| (i + 1, l.to_string()))
                        .collect()
                });
            (u.clone(), code)
        })
        .collect()
}

pub fn change(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let viewer = Viewer::of(portal, req)?;
    let (id, consumer) = (param(p, "id"), param(p, "consumer"));
    let m = api::migration(portal, id)?;
    let c = api::change_of(portal, id, consumer)?;
    let events = portal.store.events(id, Some(consumer))?;
    let diff = api::diff_text(portal, &c);
    let team = match &c.owner {
        Some(t) => portal.store.team(t)?,
        None => None,
    };
    let findings = findings_with_code(portal, &c);
    let wait = match tern_fleet::stored_spec(&m) {
        Ok(spec) => {
            let all = portal.store.changes(id)?;
            let waits = tern_fleet::waits::waits_of(&all, &m, spec.approval);
            all.iter()
                .zip(waits)
                .find(|(o, _)| o.consumer == c.consumer)
                .and_then(|(_, w)| w)
        }
        Err(_) => None,
    };
    let base = format!("/migrations/{}/consumers/{}", encode(id), encode(consumer));
    // The fleet's own verdicts: a button is shown exactly when pressing it
    // would be allowed by the change's state.
    use tern_fleet::Action;
    let can_approve = Action::Approve.on_change(&c).is_ok();
    let can_retry = Action::Retry.on_change(&c).is_ok();
    let can_roll_back = Action::RollBack.on_change(&c).is_ok();
    let body = html! {
        div.head.row {
            div {
                h1 { (c.consumer) " " (pill(c.state)) }
                p.muted {
                    "owner " (c.owner.as_deref().map(short).unwrap_or("none"))
                    @if let Some(t) = &team { @if !t.members.is_empty() { " (" (t.members.iter().map(|m| short(m)).collect::<Vec<_>>().join(", ")) ")" } }
                    " · repo " code { (c.repo) }
                    @if let Some(b) = &c.branch { " · branch " code { (b) } }
                    // Only a web address is a link: a forge's answer is outside data.
                    @if let Some(u) = c.url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) { " · " a href=(u) rel="noreferrer" { "review on the forge" } }
                    @if let Some(k) = &c.commit { " · commit " code { (&k[..k.len().min(10)]) } }
                    @if let Some(a) = &c.approved_by { " · approved by " (short(a)) }
                    @if let Some(w) = &c.worker { " · worked by " code { (w) } }
                }
            }
            div.actions {
                @if viewer.principal.is_some() {
                    @if can_approve { (viewer.button(&format!("{base}/approve"), "Approve and merge", "primary", None)) }
                    @if can_retry { (viewer.button(&format!("{base}/retry"), "Retry", "", None)) }
                    @if can_roll_back { (viewer.button(&format!("{base}/rollback"), "Roll back", "danger", Some("Roll back this consumer's change?"))) }
                } @else if can_approve || can_retry || can_roll_back {
                    a.btn href={"/login?next=" (encode(&base))} { "Sign in to act" }
                }
            }
        }
        // The next step: what is wrong, who can move it on, and how.
        @if let Some(w) = wait.as_ref().filter(|w| w.on != "tern") {
            div class={"banner next " (if c.state == ChangeState::Failed { "bad" } else { "info" })} {
                b { (headline(c.state)) } " " (w.why) "."
                div.small {
                    "Who can act: " b { (short(&w.on)) }
                    @if let Some(t) = team.as_ref().filter(|t| t.id == w.on && !t.members.is_empty()) {
                        " (" (t.members.iter().map(|m| short(m)).collect::<Vec<_>>().join(", ")) ")"
                    }
                    @if let Some(cmd) = &w.command {
                        " · run " code { (cmd) }
                        @if can_approve || can_retry { " or press " b { @if can_approve { "Approve and merge" } @else { "Retry" } } }
                    }
                }
            }
        }
        @if let Some(e) = c.error.as_ref().filter(|_| c.state != ChangeState::Failed) { div.banner.bad { b { "Error: " } (e) } }
        @if !findings.is_empty() {
            section.card {
                h3 { "Unresolved references (" (findings.len()) ")" }
                @for (u, code) in &findings {
                    div.finding {
                        p { code { (u.path) ":" (u.line) } " — " (u.reason) }
                        @if let Some(lines) = code {
                            pre.code { @for (n, l) in lines { span class=(if *n == u.line { "hl" } else { "" }) { span.ln { (n) } (l) "\n" } } }
                        }
                    }
                }
            }
        }
        @if let Some(s) = &c.schema_check {
            section.card.schema {
                h3 { "Schema check " @if s.ok { span.good { "✓ passed" } } @else { span.bad { "✗ failed" } } }
                p.small.muted {
                    @if s.checked == 0 { "No SQL was rewritten, so there was nothing to check." }
                    @else { "Every rewritten SQL statement that names the new dataset was parsed again and its columns held against the new schema: " (s.checked) " statement" @if s.checked != 1 { "s" } " checked." }
                }
                @if !s.ok {
                    p { "tern's own analysis sees that the rewrite would break these references, so it proposed nothing:" }
                    ul { @for u in &s.failures { li { code { (u.path) ":" (u.line) } " — " (u.reason) } } }
                }
            }
        }
        @if let Some(v) = &c.verify {
            section.card {
                h3 { "Verification " @if v.ok { span.good { "✓ passed" } } @else { span.bad { "✗ failed" } } " " span.muted.small { (format!("{:.1}s", v.seconds)) } }
                p.small.muted { "Command: " code { (v.command.as_deref().unwrap_or("none named")) } }
                @if !v.log_tail.trim().is_empty() { pre.log { (v.log_tail) } }
            }
        }
        section.card {
            h3 { "Diff" @if !c.files.is_empty() { " " span.muted.small { (c.files.len()) " file" @if c.files.len() != 1 { "s" } ", " (c.edits) " edit" @if c.edits != 1 { "s" } } } }
            @match &diff {
                Ok(Some(text)) => { (crate::highlight::diff(text)) }
                Ok(None) => { p.muted { "Nothing committed yet." } }
                Err(e) => { p.bad { (e.message) } }
            }
        }
        section.card {
            h3 { "History" }
            ol.timeline {
                @for e in &events {
                    li {
                        span.when { (datetime(e.at)) }
                        @if let Some(f) = e.from { (pill(f)) " → " }
                        (pill(e.to))
                        " " span.note { (e.note) }
                    }
                }
            }
        }
    };
    let live = format!("/api/migrations/{}/events", encode(id));
    let crumbs = [
        (m.id.as_str(), format!("/migrations/{}", encode(id))),
        (consumer, base.clone()),
    ];
    Ok(Resp::html(layout(
        consumer,
        &viewer,
        Some(&live),
        &crumbs,
        body,
    )))
}

/// The banner's first words for a change that waits on a person.
fn headline(state: ChangeState) -> &'static str {
    match state {
        ChangeState::Failed => "Failed:",
        ChangeState::NeedsAttention => "Needs attention:",
        ChangeState::Open => "Waiting for approval:",
        ChangeState::Closed => "Closed:",
        ChangeState::RolledBack => "Rolled back:",
        _ => "Waiting:",
    }
}

pub fn change_action(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let who = crate::auth::user(portal, req)?;
    let (id, consumer, action) = (param(p, "id"), param(p, "consumer"), param(p, "action"));
    match action {
        "approve" => api::do_approve(portal, &who, id, consumer)?,
        "retry" | "rollback" => {
            api::do_steer(portal, &who, id, Some(consumer), action, None)?;
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action {other:?} on a change"
            )))
        }
    }
    Ok(Resp::see_other(&format!(
        "/migrations/{}/consumers/{}",
        encode(id),
        encode(consumer)
    )))
}
