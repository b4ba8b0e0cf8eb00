//! The campaign: from a spec to merged changes across a fleet of consumers.
//!
//! [`Fleet`] ties a catalog [`Store`] and a [`Forge`] together. Data flows one
//! way: the spec is resolved against the catalog into rewrite rules
//! ([`resolve`]), consumers are found and planned ([`Fleet::plan`]), and each
//! consumer's [`Change`] walks the state machine of docs/cli.md
//! (planned → patched → verifying → open → approved → merged, or failed,
//! needs_attention, skipped) in [`Fleet::run`]. Every transition is written to
//! the store before the next step starts and every forge step is idempotent,
//! so a campaign killed at any point continues where it stopped.
//!
//! This crate prints nothing: progress goes to a callback, results come back
//! as values ([`Plan`], [`Status`]) that the CLI and portal render.

pub mod action;
mod control;
mod notify;
mod plan;
mod resolve;
pub mod rollout;
mod run;
mod status;
pub mod verifier;
pub mod waits;
mod work;

use tern_catalog::{CatalogError, Store};
use tern_forge::Forge;

pub use action::{Action, Actor};
pub use control::{Bulk, Refused, Retry};
pub use plan::{ConsumerPlan, Plan};
pub use resolve::{resolve, stored_spec, Resolved};
pub use status::{ConsumerStatus, Status, VerifySummary};
pub use waits::Wait;

pub use tern_catalog::{Change, ChangeState, MigrationState};

/// Why a fleet operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The spec cannot be applied to this catalog (bad input, exit 2).
    #[error("{0}")]
    Spec(String),
    /// No migration or consumer by that id (bad input, exit 2).
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit the change's or campaign's state (exit 1).
    #[error("{0}")]
    State(String),
    /// The person asking may not do this ([`Action::by`] says why).
    #[error("{0}")]
    Forbidden(String),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl FleetError {
    /// True when the user's input was at fault (exit status 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, FleetError::Spec(_) | FleetError::NotFound(_))
    }
}

/// Result alias for fleet calls.
pub type Result<T, E = FleetError> = std::result::Result<T, E>;

/// A progress report for long work; the CLI turns these into a progress bar.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    /// What is being done ("planning", "migrating").
    pub phase: &'static str,
    /// Consumers finished so far.
    pub done: usize,
    /// Consumers in all.
    pub total: usize,
    /// The consumer just finished.
    pub consumer: &'a str,
}

/// A catalog and a forge, the two things every campaign step needs.
pub struct Fleet<'a> {
    /// Where the catalog and campaign state live.
    pub store: &'a dyn Store,
    /// Where consumer repositories live.
    pub forge: &'a dyn Forge,
}

/// A stored campaign, or `NotFound` naming the closest ids.
pub fn campaign(store: &dyn tern_catalog::Store, id: &str) -> Result<tern_catalog::Migration> {
    if let Some(m) = store.migration(id)? {
        return Ok(m);
    }
    let ids: Vec<String> = store.migrations()?.into_iter().map(|m| m.id).collect();
    let mut words = tern_catalog::suggest::not_found("migration", id, &ids);
    if ids.is_empty() {
        words.push_str(" (`tern run SPEC` starts one)");
    }
    Err(FleetError::NotFound(words))
}

/// One consumer's change in a campaign, or `NotFound` naming the closest.
pub fn change_of(
    store: &dyn tern_catalog::Store,
    id: &str,
    consumer: &str,
) -> Result<tern_catalog::Change> {
    if let Some(c) = store.change(id, consumer)? {
        return Ok(c);
    }
    let ids: Vec<String> = store.changes(id)?.into_iter().map(|c| c.consumer).collect();
    let near = tern_catalog::suggest::did_you_mean(consumer, ids.iter().map(String::as_str));
    Err(FleetError::NotFound(format!(
        "migration {id} has no consumer {consumer:?}{near}"
    )))
}

/// The commit message of a migration's change: title, description, trailer.
pub fn commit_message(spec: &tern_spec::Spec) -> String {
    let body = spec.description.trim_end();
    if body.is_empty() {
        format!("{}\n\n{}", spec.title, trailer(&spec.id))
    } else {
        format!("{}\n\n{}\n\n{}", spec.title, body, trailer(&spec.id))
    }
}

/// `Tern-Migration: ID`, the trailer that marks tern's commits.
pub fn trailer(id: &str) -> String {
    format!("Tern-Migration: {id}")
}

/// The branch a migration's changes live on.
pub fn branch_name(id: &str) -> String {
    format!("tern/{id}")
}
