//! The JSON API: everything the CLI does, over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tern_catalog::{openlineage, Change, Migration};

use crate::auth::{self, Principal};
use crate::http::{param, ApiError, Params, Req, Resp};
use crate::Portal;

/// How long a cached status may be served while nothing changed (its
/// elapsed time still moves).
const STATUS_FRESH: Duration = Duration::from_secs(1);

pub fn openapi(_: &Portal, _: &Req, _: &Params) -> Result<Resp, ApiError> {
    Ok(Resp::json(&crate::openapi::document()))
}

pub fn whoami(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    let p = auth::identify(portal, req)?;
    Ok(Resp::json(&json!({
        "user": p.as_ref().map(|p| &p.user),
        "admin": p.as_ref().is_some_and(|p| p.admin),
        "loopback": req.loopback,
    })))
}

/// A status as computed once per store revision, with its two renderings
/// (the API's JSON; the live stream's, without the clock) made at most once.
pub struct Snapshot {
    /// The value pages, metrics and lists read fields from.
    pub status: tern_fleet::Status,
    json: std::sync::OnceLock<Arc<String>>,
    live: std::sync::OnceLock<String>,
}

impl Snapshot {
    /// The status as the API answers it.
    pub fn json(&self) -> Arc<String> {
        Arc::clone(
            self.json
                .get_or_init(|| Arc::new(serde_json::to_string(&self.status).unwrap_or_default())),
        )
    }

    /// The status without the field that moves with the clock alone, so a
    /// live stream speaks only when something happened.
    pub fn without_clock(&self) -> &str {
        self.live.get_or_init(|| {
            let mut v = serde_json::to_value(&self.status).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("elapsed_s");
            }
            v.to_string()
        })
    }
}

/// A migration's status, recomputed only when the store has changed (or a
/// second has passed, for the clock-driven fields).
pub fn snapshot(portal: &Portal, id: &str) -> Result<Arc<Snapshot>, ApiError> {
    let rev = portal.store.revision()?;
    if let Ok(cache) = portal.status_cache.lock() {
        if let Some(c) = cache.get(id) {
            if c.revision == rev && c.at.elapsed() < STATUS_FRESH {
                return Ok(Arc::clone(&c.snapshot));
            }
        }
    }
    let snapshot = Arc::new(Snapshot {
        status: portal.fleet().status(id)?,
        json: Default::default(),
        live: Default::default(),
    });
    if let Ok(mut cache) = portal.status_cache.lock() {
        cache.insert(
            id.to_string(),
            crate::CachedStatus {
                revision: rev,
                at: Instant::now(),
                snapshot: Arc::clone(&snapshot),
            },
        );
    }
    Ok(snapshot)
}

/// A migration's status JSON ([`snapshot`], rendered once).
pub fn status_json(portal: &Portal, id: &str) -> Result<Arc<String>, ApiError> {
    Ok(snapshot(portal, id)?.json())
}

pub fn migrations(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let mut out = Vec::new();
    for m in portal.store.migrations()? {
        let snap = snapshot(portal, &m.id)?;
        let s = &snap.status;
        out.push(json!({
            "id": m.id, "title": m.title, "owner": m.owner, "state": s.state,
            "started_at": m.started_at, "elapsed_s": s.elapsed_s,
            "consumers": s.consumers.len(),
            "counts": s.counts, "breakage_rate": s.breakage_rate,
            "remaining_references": s.remaining_references,
        }));
    }
    Ok(Resp::json(&out))
}

pub fn status(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    Ok(Resp::shared_json(status_json(portal, param(p, "id"))?))
}

pub fn migration(portal: &Portal, id: &str) -> Result<Migration, ApiError> {
    Ok(tern_fleet::campaign(portal.store.as_ref(), id)?)
}

pub fn change_of(portal: &Portal, id: &str, consumer: &str) -> Result<Change, ApiError> {
    migration(portal, id)?;
    Ok(tern_fleet::change_of(portal.store.as_ref(), id, consumer)?)
}

pub fn plan(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let plan = portal.fleet().plan_campaign(param(p, "id"), &|_| {})?;
    Ok(Resp::json(&plan))
}

pub fn change(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let (id, consumer) = (param(p, "id"), param(p, "consumer"));
    let change = change_of(portal, id, consumer)?;
    let events = portal.store.events(id, Some(consumer))?;
    Ok(Resp::json(&json!({"change": change, "events": events})))
}

/// The diff of a change's commit, or `None` when nothing was committed.
pub fn diff_text(portal: &Portal, change: &Change) -> Result<Option<String>, ApiError> {
    let Some(commit) = &change.commit else {
        return Ok(None);
    };
    portal
        .forge
        .diff(&change.repo, commit)
        .map(Some)
        .map_err(|e| ApiError::new(502, format!("reading the diff from {}: {e}", change.repo)))
}

pub fn diff(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let change = change_of(portal, param(p, "id"), param(p, "consumer"))?;
    let text = diff_text(portal, &change)?
        .ok_or_else(|| ApiError::not_found(format!("{} has no commit yet", change.consumer)))?;
    Ok(Resp::bytes(
        200,
        "text/x-diff; charset=utf-8",
        text.into_bytes(),
    ))
}

/// Approves as `p`: the shared path of the API and the page's form.
pub fn do_approve(
    portal: &Portal,
    p: &Principal,
    id: &str,
    consumer: &str,
) -> Result<(), ApiError> {
    // The fleet decides both whether the change may be approved and
    // whether `p` may approve it.
    let by = (!p.admin).then_some(p.user.as_str());
    portal.fleet().approve(id, consumer, by)?;
    Ok(())
}

/// Pause, resume, retry or roll back, for one consumer or the whole
/// migration, as `p`: the shared path of the API and the pages' forms.
/// Retries run verification, so they go on in the background.
pub fn do_steer(
    portal: &Portal,
    p: &Principal,
    id: &str,
    consumer: Option<&str>,
    action: &str,
    reason: Option<String>,
) -> Result<u16, ApiError> {
    let m = migration(portal, id)?;
    if let Some(c) = consumer {
        change_of(portal, id, c)?;
    }
    let act = tern_fleet::Action::parse(action).filter(|a| *a != tern_fleet::Action::Approve);
    let Some(act) = act else {
        return Err(ApiError::not_found(format!(
            "no action {action:?}: use approve, retry, rollback, pause or resume"
        )));
    };
    let on = consumer.map_or(m.id.clone(), |c| format!("{c} of {}", m.id));
    act.by(
        portal.store.as_ref(),
        auth::actor(p),
        m.owner.as_deref(),
        &on,
    )?;
    let fleet = portal.fleet();
    match action {
        "pause" => {
            let reason = reason.unwrap_or_else(|| format!("paused by {} in the portal", p.user));
            fleet.pause(id, &reason)?;
        }
        "resume" => {
            fleet.resume(id)?;
        }
        "rollback" => {
            fleet.rollback(id, consumer, false)?;
        }
        "retry" => {
            retry_in_background(portal, &m, consumer)?;
            return Ok(202);
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action {other:?}: use approve, retry, rollback, pause or resume"
            )))
        }
    }
    Ok(200)
}

fn retry_in_background(
    portal: &Portal,
    m: &Migration,
    consumer: Option<&str>,
) -> Result<(), ApiError> {
    // The fleet refuses now, where the caller sees it; the work goes to the
    // background.
    let retry = portal.fleet().plan_retry(&m.id, consumer)?;
    {
        let mut busy = portal
            .busy
            .lock()
            .map_err(|_| ApiError::new(500, "portal state poisoned"))?;
        if !busy.insert(m.id.clone()) {
            return Err(ApiError::new(
                409,
                format!("{} is already being retried", m.id),
            ));
        }
    }
    let (store, forge, busy) = (
        Arc::clone(&portal.store),
        Arc::clone(&portal.forge),
        Arc::clone(&portal.busy),
    );
    let id = m.id.clone();
    std::thread::spawn(move || {
        let fleet = tern_fleet::Fleet {
            store: store.as_ref(),
            forge: forge.as_ref(),
        };
        if let Err(e) = fleet.carry_out(retry, &|_| {}) {
            tracing::warn!(migration = %id, error = %e, "retry from the portal failed");
        }
        if let Ok(mut b) = busy.lock() {
            b.remove(&id);
        }
    });
    Ok(())
}

/// Approves, as `p`, every green change of campaign `id` that `p` may.
pub fn do_approve_green(
    portal: &Portal,
    p: &Principal,
    id: &str,
) -> Result<tern_fleet::Bulk, ApiError> {
    let by = (!p.admin).then_some(p.user.as_str());
    Ok(portal.fleet().approve_all_green(id, by)?)
}

pub fn approve_green(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let who = auth::user(portal, req)?;
    let bulk = do_approve_green(portal, &who, param(p, "id"))?;
    Ok(Resp::json(&bulk))
}

pub fn approve(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    let who = auth::user(portal, req)?;
    let id = param(p, "id");
    do_approve(portal, &who, id, param(p, "consumer"))?;
    Ok(Resp::shared_json(status_json(portal, id)?))
}

fn steer(
    portal: &Portal,
    req: &Req,
    p: &Params,
    consumer: bool,
    action: &str,
) -> Result<Resp, ApiError> {
    let who = auth::user(portal, req)?;
    let id = param(p, "id");
    let reason = if action == "pause"
        && !req.body.is_empty()
        && req
            .header("Content-Type")
            .is_some_and(|c| c.contains("json"))
    {
        req.json()?
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        None
    };
    let consumer = consumer.then(|| param(p, "consumer"));
    let code = do_steer(portal, &who, id, consumer, action, reason)?;
    Ok(Resp::shared_json(status_json(portal, id)?).with_status(code))
}

pub fn retry_one(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    steer(portal, req, p, true, "retry")
}
pub fn rollback_one(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    steer(portal, req, p, true, "rollback")
}
pub fn pause(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    steer(portal, req, p, false, "pause")
}
pub fn resume(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    steer(portal, req, p, false, "resume")
}
pub fn retry_all(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    steer(portal, req, p, false, "retry")
}
pub fn rollback_all(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    steer(portal, req, p, false, "rollback")
}

pub fn datasets(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    Ok(Resp::json(&portal.store.datasets()?))
}

pub fn dataset(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let id = param(p, "id");
    let d = portal
        .store
        .dataset(id)?
        .ok_or_else(|| ApiError::not_found(format!("no dataset {id:?}")))?;
    Ok(Resp::json(&d))
}

pub fn dataset_consumers(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let id = param(p, "id");
    if portal.store.dataset(id)?.is_none() {
        return Err(ApiError::not_found(format!("no dataset {id:?}")));
    }
    let transitive = match req.query("transitive") {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "transitive must be true or false, not {other:?}"
            )))
        }
    };
    Ok(Resp::json(&portal.store.consumers_of(id, transitive)?))
}

/// Every consumer, with what lineage said of it that the catalog holds
/// otherwise (`disagreements`, when there is any).
pub fn consumers(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let mut said: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for d in portal.store.disagreements()? {
        said.entry(d.consumer.clone())
            .or_default()
            .push(json!({"source": d.source, "detail": d.detail, "at": d.at}));
    }
    let list: Vec<Value> = portal
        .store
        .consumers()?
        .into_iter()
        .map(|c| {
            let mut v = json!(c);
            if let Some(d) = said.remove(&c.id) {
                v["disagreements"] = json!(d);
            }
            v
        })
        .collect();
    Ok(Resp::json(&list))
}

pub fn teams(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    Ok(Resp::json(&portal.store.teams()?))
}

/// The catalog as Backstage would hold it: datasets as Resources (or APIs),
/// consumers as Components depending on what they read, teams as Groups.
pub fn entities(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let store = portal.store.as_ref();
    let mut out = Vec::new();
    let mut reads: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for d in store.datasets()? {
        for c in store.consumers_of(&d.id, false)? {
            reads
                .entry(c.id)
                .or_default()
                .push(format!("resource:default/{}", d.id));
        }
        let mut annotations = serde_json::Map::new();
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                annotations.insert(k.into(), Value::String(v));
            }
        };
        put("tern.dev/paths", d.paths.join(", "));
        put("tern.dev/tables", d.tables.join(", "));
        put("tern.dev/format", d.format.clone().unwrap_or_default());
        put("tern.dev/platform", d.platform.clone().unwrap_or_default());
        put(
            "tern.dev/schema",
            d.schema
                .iter()
                .map(|f| match &f.ty {
                    Some(t) => format!("{}:{t}", f.name),
                    None => f.name.clone(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": if d.kind.is_empty() { "Resource" } else { d.kind.as_str() },
            "metadata": {"name": d.id, "namespace": "default", "annotations": annotations},
            "spec": {"type": "dataset", "owner": d.owner, "lifecycle": d.lifecycle},
        }));
    }
    for c in store.consumers()? {
        let mut depends = reads.remove(&c.id).unwrap_or_default();
        depends.sort();
        depends.dedup();
        let location = if c.repo.contains("://") {
            format!("url:{}", c.repo)
        } else {
            format!("dir:{}", c.repo)
        };
        out.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": c.id, "namespace": "default",
                         "annotations": {"backstage.io/source-location": location}},
            "spec": {"type": "service", "owner": c.owner, "lifecycle": "production", "dependsOn": depends},
        }));
    }
    for t in store.teams()? {
        let name = t.id.rsplit('/').next().unwrap_or(&t.id).to_string();
        let members: Vec<&str> = t
            .members
            .iter()
            .map(|m| m.rsplit('/').next().unwrap_or(m))
            .collect();
        out.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "team", "children": [], "members": members},
        }));
    }
    Ok(Resp::json(&out))
}

/// OpenLineage RunEvents in: one event or an array of them. Every event is
/// checked before anything is written, and the batch lands in one import.
pub fn lineage(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::lineage(portal, req)?;
    let body = req.json()?;
    let values = match body {
        Value::Array(v) => v,
        v @ Value::Object(_) => vec![v],
        _ => {
            return Err(ApiError::bad_request(
                "expected a RunEvent object or an array of them",
            ))
        }
    };
    let mut events = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let e =
            openlineage::event(v).map_err(|m| ApiError::bad_request(format!("event {i}: {m}")))?;
        events.push(e);
    }
    let store = portal.store.as_ref();
    let mut incoming = tern_catalog::Incoming::default();
    incoming.events(events, store.home());
    let imported = tern_catalog::import(store, incoming)?;
    Ok(Resp::json(&json!({
        "events": imported.events,
        "consumers": imported.summary.consumers,
        "edges": imported.summary.edges,
        "warnings": imported.warnings,
    }))
    .with_status(201))
}
