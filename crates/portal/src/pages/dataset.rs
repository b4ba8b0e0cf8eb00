//! A dataset: where it lives, what it holds, who owns and who reads it.

use maud::html;

use super::{layout, short, Viewer};
use crate::http::{encode, param, ApiError, Params, Req, Resp};
use crate::Portal;

pub fn dataset(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let viewer = Viewer::of(portal, req)?;
    let id = param(p, "id");
    let d = portal
        .store
        .dataset(id)?
        .ok_or_else(|| ApiError::not_found(format!("no dataset {id:?}")))?;
    let readers = portal.store.consumers_of(id, true)?;
    let said = portal.store.disagreements()?;
    let team = match &d.owner {
        Some(t) => portal.store.team(t)?,
        None => None,
    };
    let moving: Vec<_> = portal
        .store
        .migrations()?
        .into_iter()
        .filter(|m| {
            tern_fleet::stored_spec(m).ok().is_some_and(|s| {
                s.dataset.from.as_deref() == Some(id) || s.dataset.to.as_deref() == Some(id)
            })
        })
        .collect();
    let body = html! {
        div.head {
            h1 { (d.id) " " span class={"badge l-" (d.lifecycle.as_deref().unwrap_or("unknown"))} { (d.lifecycle.as_deref().unwrap_or("lifecycle unknown")) } }
            p.muted { (d.kind) " · owner " (d.owner.as_deref().map(short).unwrap_or("none"))
                @if let Some(t) = &team { @if !t.members.is_empty() { " (" (t.members.iter().map(|m| short(m)).collect::<Vec<_>>().join(", ")) ")" } } }
        }
        div.cols {
            section.card {
                h3 { "Locators" }
                dl.kv {
                    dt { "Paths" } dd { @for l in &d.paths { div.mono { (l) } } @if d.paths.is_empty() { "—" } }
                    dt { "Tables" } dd { @for l in &d.tables { div.mono { (l) } } @if d.tables.is_empty() { "—" } }
                    dt { "Format" } dd { (d.format.as_deref().unwrap_or("—")) }
                    dt { "Platform" } dd { (d.platform.as_deref().unwrap_or("—")) }
                    dt { "Entity" } dd.mono { "resource:default/" (d.id) }
                }
                @if !moving.is_empty() {
                    h3 { "Migrations" }
                    ul { @for m in &moving { li { a href={"/migrations/" (encode(&m.id))} { (m.title) } } } }
                }
            }
            section.card {
                h3 { "Schema" }
                @if d.schema.is_empty() { p.muted { "No schema in the catalog." } }
                @else {
                    table.grid { thead { tr { th { "Column" } th { "Type" } } }
                        tbody { @for f in &d.schema { tr { td.mono { (f.name) } td { (f.ty.as_deref().unwrap_or("—")) } } } } }
                }
            }
        }
        section.card {
            h3 { "Consumers (" (readers.len()) ")" }
            table.grid {
                thead { tr { th { "Consumer" } th { "Owner" } th { "How tern knows" } th { "Depth" } th { "Repository" } } }
                tbody {
                    @for r in &readers {
                        tr {
                            td {
                                (r.id)
                                @for d in said.iter().filter(|d| d.consumer == r.id) {
                                    div.disagree title=(d.detail) { "⚠ " (d.source) " disagrees: " (d.detail) }
                                }
                            }
                            td { (r.owner.as_deref().map(short).unwrap_or("—")) }
                            td { span class={"via v-" (r.via.as_str())} { (r.via.as_str()) } }
                            td.num { @if r.depth == 1 { "direct" } @else { "transitive (" (r.depth) ")" } }
                            td.mono.small { (r.repo) }
                        }
                    }
                }
            }
        }
    };
    let crumbs = [(d.id.as_str(), format!("/datasets/{}", encode(id)))];
    Ok(Resp::html(layout(
        &d.id,
        &viewer,
        Some("/api/events"),
        &crumbs,
        body,
    )))
}
