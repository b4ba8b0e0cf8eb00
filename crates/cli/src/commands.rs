//! One function per subcommand: open what it needs, call the libraries, render.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tern_catalog::Store;
use tern_fleet::{Fleet, Progress};
use tern_local_forge::LocalForge;
use tern_spec::Spec;

use crate::{render, BadInput, Failed};

#[derive(Args)]
pub struct DemoArgs {
    /// Print the report and exit instead of serving the portal
    #[arg(long)]
    pub no_serve: bool,
    /// Where to build the demo
    #[arg(long, default_value = "tern-demo", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Where the portal listens after the migration
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "HOST:PORT")]
    pub addr: String,
}

#[derive(Args)]
pub struct WorkerArgs {
    /// Exit when no running migration has work left, instead of waiting for more
    #[arg(long)]
    pub once: bool,
    /// How long to wait between looks when there is nothing to do
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub idle: String,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen; reads are open to loopback only, so a wider address
    /// makes every read need a token
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "HOST:PORT")]
    pub addr: String,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make an API token; it is printed once and stored only as a hash
    Create {
        /// Who holds it: a user the catalog knows (`alice` or
        /// `user:default/alice`); any name for an admin or a lineage producer
        user: String,
        /// user: what their teams may do; admin: everything; lineage: post
        /// OpenLineage events and nothing else
        #[arg(long, value_name = "ROLE", default_value = "user")]
        role: String,
        /// The same as --role admin
        #[arg(long, hide = true)]
        admin: bool,
        /// How long it lives: 90d, 12h, ... or never
        #[arg(long, value_name = "DURATION", default_value = "90d")]
        expires: String,
        /// Print the token as JSON
        #[arg(long)]
        json: bool,
    },
    /// List every token: id, user, role, expiry, state (never the token)
    List {
        /// Print the list as JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `tern token list`): it gets 401 from then on
    Revoke {
        /// The token's id
        id: String,
        /// Print the revoked token as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct RewriteArgs {
    /// The migration spec
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
    /// Print a unified diff instead of writing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Directory trees to rewrite
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Import Backstage catalog-info.yaml entities and OpenLineage events (.json, .ndjson)
    Import {
        /// Files to import
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Refuse the whole import (exit 2, nothing written) on any warning:
        /// an unknown kind or annotation, a component without a repository
        #[arg(long)]
        strict: bool,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// List who reads a dataset
    Consumers {
        /// Dataset id
        dataset: String,
        /// Include readers of datasets derived from it
        #[arg(long)]
        transitive: bool,
        /// Print the list as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct SpecArgs {
    /// The migration spec
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct JsonArgs {
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    /// Migration id
    pub id: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ApproveArgs {
    /// Migration id
    pub id: String,
    /// Consumer id
    #[arg(required_unless_present = "all_green", conflicts_with = "all_green")]
    pub consumer: Option<String>,
    /// Approve every green change (open, verified, schema check passed, no
    /// findings) that you may approve; another team's are left and listed
    #[arg(long)]
    pub all_green: bool,
    /// Approve as this catalog user; they must belong to the consumer's owner team
    #[arg(long = "as", value_name = "USER")]
    pub user: Option<String>,
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PauseArgs {
    /// Migration id
    pub id: String,
    /// Why, shown in status
    #[arg(long, default_value = "paused by request")]
    pub reason: String,
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RetryArgs {
    /// Migration id
    pub id: String,
    /// Only this consumer (default: all)
    pub consumer: Option<String>,
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RollbackArgs {
    /// Migration id
    pub id: String,
    /// Only this consumer (default: all)
    pub consumer: Option<String>,
    /// The merged changes broke their consumers: count them in the breakage
    /// rate (a rollback asked for without it is not breakage)
    #[arg(long)]
    pub broken: bool,
    /// Print the status as JSON
    #[arg(long)]
    pub json: bool,
}

/// Opens the catalog; commands that only read refuse a catalog that does not exist.
pub fn open_catalog(url: &str, create: bool) -> Result<Box<dyn Store>> {
    let at = tern_catalog::Location::parse(url)?;
    if let (false, tern_catalog::Location::File(path)) = (create, &at) {
        if !at.exists() {
            return Err(BadInput(format!(
                "no catalog at {}: import one with `tern catalog import catalog-info.yaml`, or name it with --catalog",
                path.display()
            ))
            .into());
        }
    }
    Ok(at.open()?)
}

fn read_spec(path: &Path) -> Result<(Spec, String, String)> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("{name}: cannot read the spec: {e}")))?;
    let spec = Spec::parse(&text, &name)?;
    Ok((spec, text, name))
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:>10} [{bar:30}] {pos}/{len} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A progress bar on stderr, shown only when both stdout and stderr are terminals.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn new(json: bool) -> Bar {
        let show = !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Bar(show.then(|| {
            let b = ProgressBar::new(0);
            b.set_style(bar_style());
            b
        }))
    }

    pub fn update(&self, p: &Progress) {
        if let Some(b) = &self.0 {
            b.set_style(bar_style());
            b.set_prefix(p.phase);
            b.set_length(p.total as u64);
            b.set_position(p.done as u64);
            b.set_message(crate::out::shown(p.consumer).into_owned());
        }
    }

    pub fn count(&self, phase: &'static str, n: u64) {
        if let Some(b) = &self.0 {
            if n % 64 == 1 {
                // No total yet: a spinner and the count, never a `0/0` bar.
                b.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:>10} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b.set_prefix(phase);
                b.set_message(format!("{n} files"));
                b.tick();
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// How to call this tern in a command printed for the user to run: `tern`
/// when that is what `PATH` finds, else this binary's own path (after
/// `cargo run`, `tern` is not installed, and a printed `tern ...` would be
/// "command not found").
/// How a printed command starts so that it runs as printed against the
/// same catalog: the binary, and `--catalog` unless the catalog is the
/// default or `TERN_CATALOG` already names it (a password is never shown).
pub fn typed(url: &str) -> String {
    let me = invocation();
    let from_env = std::env::var("TERN_CATALOG").is_ok_and(|e| e == url);
    if from_env || url == DEFAULT_CATALOG {
        return me;
    }
    let shown = tern_catalog::redact(url);
    let shown = if shown.contains(|c: char| c.is_whitespace() || "'\"$`\\&;|<>()*?".contains(c)) {
        format!("'{}'", shown.replace('\'', "'\\''"))
    } else {
        shown
    };
    format!("{me} --catalog {shown}")
}

/// The catalog when neither `--catalog` nor `TERN_CATALOG` names one.
pub const DEFAULT_CATALOG: &str = "sqlite:./tern.db";

/// The binary as a printed command should name it.
pub fn invocation() -> String {
    let me = std::env::current_exe().and_then(|p| p.canonicalize()).ok();
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("tern"))
            .find(|c| c.is_file())
            .and_then(|c| c.canonicalize().ok())
    });
    match (me, on_path) {
        (Some(me), Some(found)) if me == found => "tern".into(),
        (Some(me), _) => {
            let shown = me.display().to_string();
            if shown.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", shown.replace('\'', "'\\''"))
            } else {
                shown
            }
        }
        (None, _) => "tern".into(),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn demo(a: DemoArgs) -> Result<()> {
    crate::demo::run(&a)
}

pub fn rewrite(a: RewriteArgs, catalog: &str) -> Result<()> {
    let (spec, _, name) = read_spec(&a.spec)?;
    // Only a spec that leans on the catalog needs one; never create one here.
    let store = if spec.replace.is_empty() {
        open_catalog(catalog, false)?
    } else {
        if tern_catalog::Location::parse(catalog)?.exists() {
            open_catalog(catalog, false)?
        } else {
            tern_catalog::open("sqlite::memory:")?
        }
    };
    let engine =
        tern_rewrite::Engine::new(tern_fleet::resolve(&spec, store.as_ref(), &name)?.rules);
    let bar = Bar::new(a.json);
    let mut out = render::RewriteOutput::default();
    for dir in &a.dirs {
        let report = tern_scan::scan_tree(&engine, dir, &|n| bar.count("scanning", n))?;
        if a.dry_run && !a.json {
            bar.finish();
            for f in &report.files {
                out!("{}", tern_scan::unified_diff(f));
            }
        } else if !a.dry_run {
            tern_scan::write_changes(dir, &report)?;
        }
        out.add(report);
    }
    bar.finish();
    if a.json {
        print_json(&out)
    } else {
        render::rewrite(&out, a.dry_run);
        Ok(())
    }
}

pub fn catalog(c: CatalogCommand, url: &str) -> Result<()> {
    match c {
        CatalogCommand::Import {
            files,
            strict,
            json,
        } => {
            // Everything is read first: a bad file anywhere writes nothing.
            let mut incoming = tern_catalog::Incoming::default();
            if strict {
                incoming.strict();
            }
            for f in &files {
                incoming.file(f)?;
            }
            incoming.check()?;
            let store = open_catalog(url, true)?;
            let imported = tern_catalog::import(store.as_ref(), incoming)?;
            for w in &imported.warnings {
                eprintln!("warning: {}", crate::out::shown(w));
            }
            let summary = &imported.summary;
            if json {
                print_json(&imported)
            } else {
                outln!(
                    "imported {}, {}, {}, {}",
                    render::count(summary.datasets, "dataset"),
                    render::count(summary.consumers, "consumer"),
                    render::count(summary.edges, "read edge"),
                    render::count(summary.teams, "team")
                );
                Ok(())
            }
        }
        CatalogCommand::Consumers {
            dataset,
            transitive,
            json,
        } => {
            let store = open_catalog(url, false)?;
            if store.dataset(&dataset)?.is_none() {
                let ids: Vec<String> = store.datasets()?.into_iter().map(|d| d.id).collect();
                return Err(
                    BadInput(tern_catalog::suggest::not_found("dataset", &dataset, &ids)).into(),
                );
            }
            let list = store.consumers_of(&dataset, transitive)?;
            if json {
                print_json(&list)
            } else {
                render::consumers(&list);
                Ok(())
            }
        }
    }
}

fn fleet_parts(url: &str, create: bool) -> Result<(Box<dyn Store>, LocalForge)> {
    Ok((open_catalog(url, create)?, LocalForge::default()))
}

pub fn plan(a: SpecArgs, url: &str) -> Result<()> {
    let (spec, _, name) = read_spec(&a.spec)?;
    let (store, forge) = fleet_parts(url, false)?;
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    let bar = Bar::new(a.json);
    let plan = fleet.plan(&spec, &name, &|p| bar.update(&p))?;
    bar.finish();
    if a.json {
        print_json(&plan)
    } else {
        render::plan(&plan);
        Ok(())
    }
}

pub fn run(a: SpecArgs, url: &str) -> Result<()> {
    let (spec, text, name) = read_spec(&a.spec)?;
    let (store, forge) = fleet_parts(url, true)?;
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    let bar = Bar::new(a.json);
    let status = fleet.run(&spec, &text, &name, &|p| bar.update(&p));
    bar.finish();
    let status = status?;
    report_status(&status, a.json, url)?;
    if status.counts.get("failed").copied().unwrap_or(0) > 0 {
        return Err(Failed.into());
    }
    Ok(())
}

fn report_status(status: &tern_fleet::Status, json: bool, url: &str) -> Result<()> {
    if json {
        print_json(status)
    } else {
        render::status(status, &typed(url));
        Ok(())
    }
}

fn with_fleet<T>(url: &str, f: impl FnOnce(&Fleet) -> Result<T>) -> Result<T> {
    let (store, forge) = fleet_parts(url, false)?;
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    f(&fleet)
}

/// `tern migrations`: every migration with its state and counts, as the
/// portal's `GET /api/migrations` lists them.
pub fn migrations(a: JsonArgs, url: &str) -> Result<()> {
    let list = with_fleet(url, |f| {
        let mut out = Vec::new();
        for m in f.store.migrations()? {
            let s = f.status(&m.id)?;
            out.push((m, s));
        }
        Ok(out)
    })?;
    if a.json {
        let v: Vec<_> = list
            .iter()
            .map(|(m, s)| {
                serde_json::json!({
                    "id": m.id, "title": m.title, "owner": m.owner, "state": s.state,
                    "started_at": m.started_at, "consumers": s.consumers.len(),
                    "counts": s.counts, "breakage_rate": s.breakage_rate,
                })
            })
            .collect();
        return print_json(&v);
    }
    if list.is_empty() {
        outln!("No migrations yet. `tern run SPEC` starts one.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|(m, s)| {
            let merged = s.counts.get("merged").copied().unwrap_or(0);
            vec![
                m.id.clone(),
                serde_json::to_value(s.state)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                format!("{merged}/{}", s.consumers.len()),
                m.title.clone(),
            ]
        })
        .collect();
    crate::render::table(&["ID", "STATE", "MERGED", "TITLE"], &rows);
    Ok(())
}

pub fn status(a: IdArgs, url: &str) -> Result<()> {
    let status = with_fleet(url, |f| Ok(f.status(&a.id)?))?;
    report_status(&status, a.json, url)
}

pub fn approve(a: ApproveArgs, url: &str) -> Result<()> {
    let Some(consumer) = &a.consumer else {
        let bulk = with_fleet(url, |f| Ok(f.approve_all_green(&a.id, a.user.as_deref())?))?;
        if a.json {
            return print_json(&bulk);
        }
        if let Some(status) = &bulk.status {
            render::status(status, &typed(url));
            outln!();
        }
        outln!(
            "approved {}{}",
            render::count(bulk.approved.len(), "green change"),
            if bulk.approved.is_empty() {
                String::new()
            } else {
                format!(": {}", bulk.approved.join(", "))
            }
        );
        for r in &bulk.not_theirs {
            outln!("  left {}: {}", r.consumer, r.reason);
        }
        return Ok(());
    };
    let status = with_fleet(url, |f| {
        Ok(f.approve(&a.id, consumer, a.user.as_deref())?)
    })?;
    report_status(&status, a.json, url)
}

pub fn pause(a: PauseArgs, url: &str) -> Result<()> {
    let status = with_fleet(url, |f| Ok(f.pause(&a.id, &a.reason)?))?;
    report_status(&status, a.json, url)
}

pub fn resume(a: IdArgs, url: &str) -> Result<()> {
    let status = with_fleet(url, |f| Ok(f.resume(&a.id)?))?;
    report_status(&status, a.json, url)
}

pub fn rollback(a: RollbackArgs, url: &str) -> Result<()> {
    let status = with_fleet(url, |f| {
        Ok(f.rollback(&a.id, a.consumer.as_deref(), a.broken)?)
    })
    .context("rollback")?;
    report_status(&status, a.json, url)
}

pub fn retry(a: RetryArgs, url: &str) -> Result<()> {
    let bar = Bar::new(a.json);
    let status = with_fleet(url, |f| {
        Ok(f.retry(&a.id, a.consumer.as_deref(), &|p| bar.update(&p))?)
    });
    bar.finish();
    let status = status?;
    report_status(&status, a.json, url)?;
    if status.counts.get("failed").copied().unwrap_or(0) > 0 {
        return Err(Failed.into());
    }
    Ok(())
}

/// Checks an address before binding, so a typo is bad input (exit 2) and a
/// busy port is a failure (exit 1).
fn parse_addr(addr: &str) -> Result<()> {
    use std::net::ToSocketAddrs;
    match addr.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(_)) => Ok(()),
        _ => Err(BadInput(format!(
            "--addr {addr:?} is not HOST:PORT (for example 127.0.0.1:7878)"
        ))
        .into()),
    }
}

/// Starts the portal over a catalog and blocks; `on_ready` gets its URL.
pub fn serve_catalog(store: Box<dyn Store>, addr: &str, on_ready: impl FnOnce(&str)) -> Result<()> {
    parse_addr(addr)?;
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::from(store);
    let forge = std::sync::Arc::new(LocalForge::default());
    let server = tern_portal::Server::bind(addr, store, forge).with_context(|| {
        "starting the portal (is another tern serve running? pick another --addr)"
    })?;
    on_ready(&format!("http://{}/", server.addr()));
    server.wait();
    Ok(())
}

pub fn serve(a: ServeArgs, url: &str) -> Result<()> {
    let store = open_catalog(url, true)?;
    serve_catalog(store, &a.addr, |u| {
        // Whoever started us may stop reading; the server goes on regardless.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "tern portal on {u}  (Ctrl-C to stop)");
        let _ = writeln!(
            out,
            "Reads are open on loopback; to act, `tern token create USER` and sign in at {u}login"
        );
        let _ = out.flush();
    })
}

pub fn token(c: TokenCommand, url: &str) -> Result<()> {
    match c {
        TokenCommand::Create {
            user,
            role,
            admin,
            expires,
            json,
        } => {
            let role = if admin {
                tern_catalog::Role::Admin
            } else {
                tern_catalog::Role::parse(&role).ok_or_else(|| {
                    BadInput(format!(
                        "--role {role:?} is not one of user, admin, lineage"
                    ))
                })?
            };
            let ttl = tern_portal::parse_expiry(&expires)
                .map_err(|m| BadInput(format!("--expires: {m}")))?;
            let store = open_catalog(url, false)?;
            let (token, stored) = tern_portal::create_token(store.as_ref(), &user, role, ttl)
                .map_err(|e| match e {
                    tern_portal::PortalError::UnknownUser(m) => anyhow::Error::new(BadInput(m)),
                    other => other.into(),
                })?;
            if json {
                let mut v = tern_portal::token_json(&stored, tern_catalog::now());
                v["token"] = serde_json::json!(token);
                v["admin"] = serde_json::json!(stored.admin());
                return print_json(&v);
            }
            outln!("{token}");
            if std::io::stderr().is_terminal() {
                let until = match stored.expires_at {
                    Some(t) => format!("until {}", tern_portal::day(t)),
                    None => "with no expiry".to_string(),
                };
                eprintln!(
                    "Token {} for {} ({}), {until}. It is shown only now; tern keeps only its hash.",
                    stored.id(),
                    stored.user,
                    stored.role.as_str()
                );
            }
            Ok(())
        }
        TokenCommand::List { json } => {
            let store = open_catalog(url, false)?;
            let at = tern_catalog::now();
            let tokens = store.tokens()?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| tern_portal::token_json(t, at))
                    .collect();
                return print_json(&list);
            }
            if tokens.is_empty() {
                outln!("No tokens. `tern token create USER` makes one.");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    let v = tern_portal::token_json(t, at);
                    vec![
                        t.id().to_string(),
                        t.user.clone(),
                        t.role.as_str().to_string(),
                        tern_portal::day(t.created_at),
                        t.expires_at
                            .map(tern_portal::day)
                            .unwrap_or_else(|| "never".into()),
                        v["state"].as_str().unwrap_or_default().to_string(),
                    ]
                })
                .collect();
            crate::render::table(&["ID", "USER", "ROLE", "MADE", "EXPIRES", "STATE"], &rows);
            Ok(())
        }
        TokenCommand::Revoke { id, json } => {
            let store = open_catalog(url, false)?;
            let Some(t) = store.revoke_token(&id, tern_catalog::now())? else {
                return Err(
                    BadInput(format!("no token {id:?}: `tern token list` shows the ids")).into(),
                );
            };
            if json {
                return print_json(&tern_portal::token_json(&t, tern_catalog::now()));
            }
            outln!("Revoked token {} of {}.", t.id(), t.user);
            Ok(())
        }
    }
}

/// `tern worker`: leases and works changes of every running migration's
/// open waves from a shared catalog, next to `tern run` and other workers.
pub fn worker(a: WorkerArgs, url: &str) -> Result<()> {
    let idle = tern_spec::parse_duration(&a.idle).ok_or_else(|| {
        BadInput(format!(
            "--idle {:?} is not a duration such as 500ms, 1s or 1m",
            a.idle
        ))
    })?;
    let (store, forge) = fleet_parts(url, false)?;
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    if !a.json && std::io::stdout().is_terminal() {
        outln!("tern worker: working the open waves of every running migration (Ctrl-C to stop)");
    }
    let worked = fleet.work_everything(a.once, idle, &stop, &|p| {
        tracing::info!(consumer = p.consumer, "worked");
    })?;
    if a.json {
        return print_json(&serde_json::json!({"worked": worked}));
    }
    outln!(
        "worked {worked} change{}",
        if worked == 1 { "" } else { "s" }
    );
    Ok(())
}
