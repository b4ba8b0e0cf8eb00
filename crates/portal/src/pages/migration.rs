//! The migrations list and one migration's page.

use maud::{html, Markup};
use tern_catalog::{now, ChangeState, MigrationState};
use tern_fleet::{Action, Status};
use tern_spec::Spec;

use super::{datetime, duration, layout, pill, progress, raw, short, Viewer};
use crate::api;
use crate::http::{encode, param, ApiError, Params, Req, Resp};
use crate::Portal;

fn counts(s: &Status) -> Vec<(ChangeState, usize)> {
    ChangeState::ALL
        .iter()
        .map(|st| (*st, s.counts.get(st.as_str()).copied().unwrap_or(0)))
        .collect()
}

/// The campaign's state; a running one that only people can move on says
/// so rather than looking busy.
fn state_badge(s: &Status) -> Markup {
    let (class, word) = match s.state {
        MigrationState::Running if s.needs_people.is_some() => ("needs-people", "needs people"),
        MigrationState::Running => ("running", "running"),
        MigrationState::Paused => ("paused", "paused"),
        MigrationState::Done => ("done", "done"),
        MigrationState::RolledBack => ("rolled_back", "rolled back"),
    };
    html! { span class={"badge m-" (class)} title=[s.needs_people.as_deref()] { (word) } }
}

fn legend(counts: &[(ChangeState, usize)]) -> Markup {
    html! {
        ul.legend {
            @for (st, n) in counts.iter().filter(|(_, n)| *n > 0) {
                li { span class={"swatch s-" (st.as_str())} {} (st.as_str().replace('_', " ")) " " b { (n) } }
            }
        }
    }
}

pub fn migrations(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    let viewer = Viewer::of(portal, req)?;
    let fleet = portal.fleet();
    let mut rows = Vec::new();
    for m in portal.store.migrations()? {
        rows.push(fleet.status(&m.id)?);
    }
    let datasets = portal.store.datasets()?;
    let body = html! {
        div.head {
            h1 { "Migrations" }
            p.muted { (rows.len()) " campaign" @if rows.len() != 1 { "s" } " · every consumer of a moved dataset, rewritten, verified and merged" }
        }
        @if rows.is_empty() {
            section.card { p { "No migrations yet. Write a spec and run " code { "tern run SPEC" } "; it appears here." } }
        }
        @for s in &rows {
            @let c = counts(s);
            @let done = s.counts.get("merged").copied().unwrap_or(0) + s.counts.get("skipped").copied().unwrap_or(0);
            a.card.migration-card href={"/migrations/" (encode(&s.id))} {
                div.row {
                    div {
                        h2 { (s.title) }
                        p.muted { code { (s.id) } " · owner " (s.owner.as_deref().map(short).unwrap_or("none"))
                            " · started " (datetime(s.started_at)) " · " (duration(s.elapsed_s)) @if s.state == MigrationState::Done { " to complete" } @else { " so far" } }
                    }
                    (state_badge(s))
                }
                (progress(&c))
                div.row.small {
                    (legend(&c))
                    span.muted { b { (done) "/" (s.consumers.len()) } " done · breakage " (format!("{:.1}%", s.breakage_rate * 100.0)) }
                }
            }
        }
        @if !datasets.is_empty() {
            h2.section { "Datasets" }
            section.card {
                table.grid {
                    thead { tr { th { "Dataset" } th { "Locators" } th { "Format" } th { "Lifecycle" } th { "Owner" } } }
                    tbody {
                        @for d in &datasets {
                            tr {
                                td { a href={"/datasets/" (encode(&d.id))} { (d.id) } }
                                td.mono.small { @for l in d.paths.iter().chain(&d.tables) { div { (l) } } }
                                td { (d.format.as_deref().unwrap_or("—")) }
                                td { (d.lifecycle.as_deref().unwrap_or("—")) }
                                td { (d.owner.as_deref().map(short).unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Resp::html(layout(
        "Migrations",
        &viewer,
        Some("/api/events"),
        &[],
        body,
    )))
}

/// The waves, the error budget and what the campaign waits for.
fn rollout(s: &Status, spec: Option<&Spec>) -> Markup {
    let failed = s.counts.get("failed").copied().unwrap_or(0);
    let finished: usize = [
        "failed",
        "merged",
        "open",
        "approved",
        "needs_attention",
        "skipped",
    ]
    .iter()
    .map(|k| s.counts.get(*k).copied().unwrap_or(0))
    .sum();
    let ratio = if finished == 0 {
        0.0
    } else {
        failed as f64 / finished as f64
    };
    html! {
        section.card {
            h3 { "Rollout" }
            div.waves {
                @for w in &s.waves {
                    @let pct = w.done as f64 * 100.0 / w.consumers.max(1) as f64;
                    div.wave {
                        div.row.small { b { "Wave " (w.wave) @if w.wave == 1 { " · canary" } } span.muted { (w.done) "/" (w.consumers) @if w.failed > 0 { " · " span.bad { (w.failed) " failed" } } } }
                        div.bar { span style={"width:" (format!("{pct:.1}")) "%"} {} }
                    }
                }
            }
            @if let Some(spec) = spec {
                @let pw = &spec.rollout.pause_when;
                p.small {
                    "Error budget: pauses at " b { (pw.min_failed) " failed" } " and " b { (format!("{:.0}%", pw.failed_ratio * 100.0)) } " of finished · now "
                    span class=(if failed >= pw.min_failed as usize && ratio >= pw.failed_ratio { "bad" } else { "good" }) { (failed) " failed, " (format!("{:.0}%", ratio * 100.0)) }
                    " · " (s.pauses) " automatic pause" @if s.pauses != 1 { "s" }
                }
                p.small.muted { "Approval: " (format!("{:?}", spec.approval).to_lowercase()) " · at most " (spec.rollout.max_in_flight) " in flight" }
            }
            @if let Some(w) = &s.waiting { p.small.warn { "Waiting: " (w) } }
            @if !s.digests.is_empty() {
                h3.sub { "Team digests" }
                ul.digests.small {
                    @for d in s.digests.iter().rev().take(8) {
                        li {
                            @if d.delivered { span.good { "✓" } } @else { span.bad { "✗" } }
                            " " b { (short(&d.team)) } " · "
                            @match d.wave { Some(w) => { "wave " (w) } None => { "reminder" } }
                            " · " (d.consumers.len()) " consumer" @if d.consumers.len() != 1 { "s" }
                            @if let Some(e) = &d.error { span.bad { " · " (e) " (" (d.attempts) " attempts)" } }
                        }
                    }
                }
            }
        }
    }
}

pub fn migration(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let viewer = Viewer::of(portal, req)?;
    let id = param(p, "id");
    let m = api::migration(portal, id)?;
    let s = portal.fleet().status(id)?;
    let spec = tern_fleet::stored_spec(&m).ok();
    let c = counts(&s);
    let n = |k: &str| s.counts.get(k).copied().unwrap_or(0);
    let mut owners: Vec<&str> = s
        .consumers
        .iter()
        .filter_map(|c| c.owner.as_deref())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let states: Vec<&(ChangeState, usize)> = c.iter().filter(|(_, n)| *n > 0).collect();
    let base = format!("/migrations/{}", encode(id));
    let green = green_for(portal, &viewer, id)?;
    let body = html! {
        div.head.row {
            div {
                h1 { (s.title) " " (state_badge(&s)) }
                p.muted { code { (s.id) } " · owner " (s.owner.as_deref().map(short).unwrap_or("none"))
                    " · started " (datetime(s.started_at))
                    @if let Some(t) = s.time_to_completion_s { " · completed in " (duration(t)) } @else { " · " (duration(s.elapsed_s)) " so far" } }
            }
            @if viewer.principal.is_some() {
                div.actions {
                    @if green > 0 {
                        (viewer.button(&format!("{base}/approve-green"), &format!("Approve {green} green"), "primary", Some(&format!("Approve and merge the {green} green change{} you may approve?", if green == 1 { "" } else { "s" }))))
                    }
                    // The fleet's own list: a button is shown exactly when it would do something.
                    @for a in Action::on_campaign(s.state, n("failed")) {
                        @match a {
                            Action::Resume => (viewer.button(&format!("{base}/resume"), "Resume", "primary", None)),
                            Action::Pause => (viewer.button(&format!("{base}/pause"), "Pause", "", None)),
                            Action::Retry => (viewer.button(&format!("{base}/retry"), "Retry failed", "", None)),
                            Action::RollBack => (viewer.button(&format!("{base}/rollback"), "Roll back all", "danger", Some("Roll back every consumer of this migration? Merged changes get a revert commit."))),
                            Action::Approve => {}
                        }
                    }
                }
            }
        }
        @if let Some(r) = &s.paused_reason { div.banner.warn { b { "Paused. " } (r) } }
        div.tiles {
            div.tile { span.big { (s.consumers.len()) } span { "consumers" } }
            div.tile.good { span.big { (n("merged")) } span { "merged" } }
            div.tile { span.big { (n("open") + n("approved")) } span { "open" } }
            div.tile.warn { span.big { (n("needs_attention")) } span { "need attention" } }
            div.tile.bad { span.big { (n("failed")) } span { "failed" } }
            div.tile { span.big { (format!("{:.1}%", s.breakage_rate * 100.0)) } span { "breakage" } }
            div.tile { span.big { (s.remaining_references.map_or("—".to_string(), |r| r.to_string())) } span { "references left" } }
            div.tile { span.big { (s.manual_interventions) } span { "manual steps" } }
            @if s.unverified > 0 { div.tile.warn { span.big { (s.unverified) } span { "unverified" } } }
        }
        div.cols {
            section.card.wide {
                h3 { "Burndown" }
                (raw(crate::svg::burndown(&s.burndown, now())))
                ul.legend.small { li { span.swatch.line-remaining {} "references left on default branches" } li { span.swatch.line-open {} "changes waiting for a person" } }
            }
            (rollout(&s, spec.as_ref()))
        }
        section.card {
            div.row {
                h3 { "Consumers" }
                div.filters {
                    input #q type="search" placeholder="Filter by name…" aria-label="filter by name";
                    select #state aria-label="state" {
                        option value="" { "All states" }
                        @for (st, k) in &states { option value=(st.as_str()) { (st.as_str().replace('_', " ")) " (" (k) ")" } }
                    }
                    select #owner aria-label="owner" {
                        option value="" { "All owners" }
                        @for o in &owners { option value=(o) { (short(o)) } }
                    }
                }
            }
            (progress(&c))
            (legend(&c))
            table.grid #consumers {
                thead { tr { th { "Consumer" } th { "Owner" } th { "State" } th { "Waiting on" } th { "Wave" } th.num { "Files" } th { "Verify" } th { "Note" } } }
                tbody {
                    @for cs in &s.consumers {
                        tr data-id=(cs.id) data-state=(cs.state.as_str()) data-owner=(cs.owner.as_deref().unwrap_or("")) {
                            td { a href={(base) "/consumers/" (encode(&cs.id))} { (cs.id) } }
                            td { (cs.owner.as_deref().map(short).unwrap_or("—")) }
                            td { (pill(cs.state)) }
                            td.waiting title=[cs.waiting.as_deref()] {
                                @match cs.waiting_on.as_deref() {
                                    None => { span.muted { "—" } }
                                    Some("tern") => { span.muted { "tern" } }
                                    Some(who) => { b { (short(who)) } }
                                }
                            }
                            td.num { (cs.wave) }
                            td.num { (cs.files.len()) }
                            td {
                                @match &cs.verify {
                                    Some(v) if v.ok => { span.good { "✓ pass" } " " span.muted { (format!("{:.1}s", v.seconds)) } }
                                    Some(v) => { span.bad { "✗ fail" } " " span.muted { (format!("{:.1}s", v.seconds)) } }
                                    None => { span.muted { "—" } }
                                }
                            }
                            td.note {
                                @if let Some(e) = &cs.error { (e) }
                                @else if let Some(u) = cs.unresolved.first() {
                                    code { (u.path) ":" (u.line) } " " (u.reason)
                                    @if cs.unresolved.len() > 1 { span.muted { " (+" (cs.unresolved.len() - 1) " more)" } }
                                }
                                @else if let Some(v) = cs.verify.as_ref().filter(|v| !v.ok) { (v.log_tail.lines().last().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            p.muted.small #empty hidden { "No consumer matches the filter." }
        }
    };
    let live = format!("/api/migrations/{}/events", encode(id));
    Ok(Resp::html(layout(
        &s.title,
        &viewer,
        Some(&live),
        &[(&s.id, base.clone())],
        body,
    )))
}

pub fn approve_green(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let who = crate::auth::user(portal, req)?;
    let id = param(p, "id");
    api::do_approve_green(portal, &who, id)?;
    Ok(Resp::see_other(&format!("/migrations/{}", encode(id))))
}

/// The green changes the viewer may approve in one press.
fn green_for(portal: &Portal, viewer: &Viewer, id: &str) -> Result<usize, ApiError> {
    let Some(p) = &viewer.principal else {
        return Ok(0);
    };
    let actor = if p.admin {
        tern_fleet::Actor::Admin
    } else {
        tern_fleet::Actor::User(&p.user)
    };
    let mut n = 0;
    for c in portal.store.changes(id)? {
        if tern_fleet::waits::is_green(&c)
            && Action::Approve
                .by(
                    portal.store.as_ref(),
                    actor,
                    c.owner.as_deref(),
                    &c.consumer,
                )
                .is_ok()
        {
            n += 1;
        }
    }
    Ok(n)
}

pub fn migration_action(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let who = crate::auth::user(portal, req)?;
    let (id, action) = (param(p, "id"), param(p, "action"));
    if Action::parse(action).is_none_or(|a| a == Action::Approve) {
        return Err(ApiError::not_found(format!(
            "no action {action:?} on a migration"
        )));
    }
    api::do_steer(portal, &who, id, None, action, None)?;
    Ok(Resp::see_other(&format!("/migrations/{}", encode(id))))
}
