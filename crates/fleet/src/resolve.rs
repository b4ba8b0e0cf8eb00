//! Spec + catalog → rewrite rules: where `dataset.from` supplies locators.

use tern_catalog::{Dataset, Migration, Store};
use tern_rewrite::{RuleInput, Rules};
use tern_spec::{FormatChange, LocatorKind, Spec};

use crate::{FleetError, Result};

/// A spec made concrete against the catalog.
pub struct Resolved {
    /// What the rules were compiled from, to keep with a campaign.
    pub input: RuleInput,
    /// The compiled rewrite rules.
    pub rules: Rules,
    /// The owner team: the spec's, else the old dataset's.
    pub owner: Option<String>,
    /// The old dataset, when the spec names one that the catalog knows.
    pub from: Option<Dataset>,
}

/// Builds the rules: the spec's `replace` entries, or else locators of
/// `dataset.from` paired with those of `dataset.to`; Backstage entity refs
/// whenever `dataset.from` is set; the format change from the spec or, when
/// absent, from the two datasets' formats.
pub fn resolve(spec: &Spec, store: &dyn Store, spec_file: &str) -> Result<Resolved> {
    // A dataset the spec names must be in the catalog even when `replace`
    // gives every locator: a typo there would silently drop the catalog's
    // consumers and the schema check of `dataset.to`.
    let mut known: Option<Vec<String>> = None;
    let mut lookup = |id: &Option<String>, key: &str| -> Result<Option<Dataset>> {
        let Some(id) = id else { return Ok(None) };
        if let Some(d) = store.dataset(id)? {
            return Ok(Some(d));
        }
        let ids = match &known {
            Some(ids) => ids,
            None => known.insert(store.datasets()?.into_iter().map(|d| d.id).collect()),
        };
        let mut words = tern_catalog::suggest::not_found("dataset", id, ids);
        if ids.is_empty() {
            words.push_str(" (import its catalog-info.yaml first)");
        }
        Err(FleetError::Spec(format!(
            "{spec_file}: `dataset.{key}`: {words}"
        )))
    };
    let from = lookup(&spec.dataset.from, "from")?;
    let to = lookup(&spec.dataset.to, "to")?;
    let mut input = RuleInput::from_spec(spec);
    if spec.replace.is_empty() {
        let from = from.as_ref().ok_or_else(|| {
            FleetError::Spec(format!("{spec_file}: give `replace` or `dataset.from`"))
        })?;
        if from.paths.is_empty() && from.tables.is_empty() {
            return Err(FleetError::Spec(format!(
                "{spec_file}: `dataset.from`: dataset {:?} has no locators in the catalog (tern.dev/paths, tern.dev/tables); give `replace`",
                from.id
            )));
        }
        let to = to.as_ref().ok_or_else(|| {
            FleetError::Spec(format!(
                "{spec_file}: `dataset.to`: needed to know the new locators of {:?}",
                from.id
            ))
        })?;
        for (kind, old, new, word) in [
            (LocatorKind::Path, &from.paths, &to.paths, "paths"),
            (LocatorKind::Table, &from.tables, &to.tables, "tables"),
        ] {
            if old.is_empty() {
                continue;
            }
            let new = new.first().ok_or_else(|| {
                FleetError::Spec(format!(
                    "{spec_file}: `dataset.to`: dataset {:?} has no tern.dev/{word} to replace those of {:?}",
                    to.id, from.id
                ))
            })?;
            input.replace.push((kind, old.clone(), new.clone()));
        }
    }
    input.format = input.format.take().or_else(|| {
        let (old, new) = (from.as_ref()?.format.clone()?, to.as_ref()?.format.clone()?);
        (old != new).then_some(FormatChange { old, new })
    });
    (input.schema, input.tables) = schemas(spec, store, from.as_ref(), to.as_ref())?;
    let rules = Rules::new(input.clone()).map_err(|e| {
        let line = spec.replace.first().map_or(1, |r| r.line);
        FleetError::Spec(format!("{spec_file}:{line}: `replace`: {e}"))
    })?;
    Ok(Resolved {
        input,
        rules,
        owner: spec
            .owner
            .clone()
            .or_else(|| from.as_ref().and_then(|d| d.owner.clone())),
        from,
    })
}

/// The new dataset's columns for the schema check (rule 11): the catalog's
/// schema of `dataset.to`, else the old schema with `columns` applied; and
/// the columns of every other table the catalog knows, so unqualified
/// columns bind across joins and subqueries as SQL binds them.
#[allow(clippy::type_complexity)]
fn schemas(
    spec: &Spec,
    store: &dyn Store,
    from: Option<&Dataset>,
    to: Option<&Dataset>,
) -> Result<(Option<Vec<String>>, Vec<(String, Vec<String>)>)> {
    let names = |d: &Dataset| d.schema.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    let schema = match (to, from) {
        (Some(t), _) if !t.schema.is_empty() => Some(names(t)),
        (_, Some(f)) if !f.schema.is_empty() => Some(
            names(f)
                .into_iter()
                .map(|c| {
                    spec.columns
                        .iter()
                        .find(|(old, _)| old.eq_ignore_ascii_case(&c))
                        .map_or(c, |(_, new)| new.clone())
                })
                .collect(),
        ),
        _ => None,
    };
    let skip = |d: &Dataset| Some(&d.id) == from.map(|f| &f.id) || Some(&d.id) == to.map(|t| &t.id);
    let mut tables = Vec::new();
    for d in store.datasets()? {
        if skip(&d) || d.schema.is_empty() {
            continue;
        }
        for t in &d.tables {
            tables.push((t.clone(), names(&d)));
        }
    }
    Ok((schema, tables))
}

/// The spec a migration was stored with, read again: the one reading every
/// entry point (fleet, portal) shares, with one complaint when it fails.
pub fn stored_spec(m: &Migration) -> Result<Spec> {
    Spec::parse(&m.spec, &m.spec_file).map_err(|e| {
        FleetError::State(format!("the stored spec of {} no longer parses: {e}", m.id))
    })
}

/// The rules a campaign rewrites with: those fixed when it first ran, or, for
/// a campaign stored before tern kept them, the spec resolved against the
/// catalog as it is now.
pub(crate) fn campaign_rules(store: &dyn Store, m: &Migration, spec: &Spec) -> Result<Rules> {
    match &m.rules {
        Some(kept) => {
            let input: RuleInput = serde_json::from_value(kept.clone()).map_err(|e| {
                FleetError::State(format!("the stored rules of {} do not read: {e}", m.id))
            })?;
            Rules::new(input).map_err(|e| {
                FleetError::State(format!("the stored rules of {} do not compile: {e}", m.id))
            })
        }
        None => Ok(resolve(spec, store, &m.spec_file)?.rules),
    }
}

/// What to keep on the migration for `campaign_rules`.
pub(crate) fn kept(input: &RuleInput) -> Option<serde_json::Value> {
    // A RuleInput is strings and lists; encoding it cannot fail.
    serde_json::to_value(input).ok()
}
