//! OpenLineage `RunEvent`s in (docs/catalog.md): the lineage a job reports at run time.
//!
//! A job's `inputs` are datasets it reads, matched to catalog datasets by
//! `namespace` + `name` against their locators; its `outputs` are datasets it
//! produces (for transitive consumers); the `sourceCodeLocation` job facet
//! names the repository, and an `ownership` facet its owner. Events are read
//! leniently (unknown fields are fine, as the OpenLineage spec asks), but an
//! event without a job name, or a file that is not JSON, is refused with its
//! line.

use std::path::Path;

use serde_json::Value;

use crate::backstage::team_ref;
use crate::*;

/// One run event, reduced to what tern uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    /// `job.namespace`.
    pub job_namespace: String,
    /// `job.name`.
    pub job_name: String,
    /// Repository from the `sourceCodeLocation` facet (`repoUrl`, else `url`).
    pub repo: Option<String>,
    /// First owner from the `ownership` facet.
    pub owner: Option<String>,
    /// (namespace, name) of each input.
    pub inputs: Vec<(String, String)>,
    /// (namespace, name) of each output.
    pub outputs: Vec<(String, String)>,
}

/// Parses a `.json` file (one event or an array of events) or `.ndjson` (one per line).
pub fn parse(text: &str, file: &Path) -> Result<Vec<RunEvent>> {
    let err = |line: usize, message: String| CatalogError::Parse {
        file: file.to_path_buf(),
        line,
        message,
    };
    let ndjson = file
        .extension()
        .is_some_and(|e| e == "ndjson" || e == "jsonl");
    let mut values = Vec::new();
    if ndjson {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| err(i + 1, format!("not valid JSON: {e}")))?;
            values.push((i + 1, v));
        }
    } else {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| err(e.line(), format!("not valid JSON: {e}")))?;
        match v {
            Value::Array(items) => values.extend(items.into_iter().map(|v| (1, v))),
            v => values.push((1, v)),
        }
    }
    values
        .into_iter()
        .map(|(line, v)| event(&v).map_err(|m| err(line, m)))
        .collect()
}

/// Parses one event from a JSON value (the portal's `POST /api/v1/lineage` body).
pub fn event(v: &Value) -> std::result::Result<RunEvent, String> {
    let job = v.get("job").ok_or("a RunEvent needs `job`")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let job_name = text(job, "name")
        .filter(|s| !s.is_empty())
        .ok_or("`job.name` is missing")?;
    let facets = job.get("facets");
    let source = facets.and_then(|f| f.get("sourceCodeLocation"));
    let repo = source.and_then(|s| text(s, "repoUrl").or_else(|| text(s, "url")));
    let owner = facets
        .and_then(|f| f.get("ownership"))
        .and_then(|o| o.get("owners"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|o| text(o, "name"))
        .map(|n| team_ref(n.strip_prefix("team:").unwrap_or(&n)));
    let datasets = |key: &str| -> std::result::Result<Vec<(String, String)>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|d| match (text(d, "namespace"), text(d, "name")) {
                    (Some(ns), Some(name)) => Ok((ns, name)),
                    _ => Err(format!("every `{key}` entry needs `namespace` and `name`")),
                })
                .collect(),
            Some(_) => Err(format!("`{key}` must be a list")),
        }
    };
    Ok(RunEvent {
        job_namespace: text(job, "namespace").unwrap_or_default(),
        job_name,
        repo,
        owner,
        inputs: datasets("inputs")?,
        outputs: datasets("outputs")?,
    })
}

/// The locator an OpenLineage dataset stands for: storage namespaces join
/// their name as a path; anything else names a table.
fn locator(namespace: &str, name: &str) -> (bool, String) {
    if namespace.contains("://")
        && !namespace.starts_with("hive://")
        && !namespace.starts_with("jdbc:")
    {
        let ns = namespace.trim_end_matches('/');
        let name = name.trim_start_matches('/');
        (true, format!("{ns}/{name}"))
    } else if namespace == "file" || (namespace.is_empty() && name.starts_with('/')) {
        (true, name.to_string())
    } else {
        (false, name.to_string())
    }
}

/// Finds the catalog dataset an OpenLineage dataset is: the same path (or a
/// path below it), or the same table.
fn matching<'a>(known: &'a [Dataset], namespace: &str, name: &str) -> Option<&'a Dataset> {
    let (is_path, loc) = locator(namespace, name);
    known.iter().find(|d| {
        if is_path {
            d.paths.iter().any(|p| {
                let p = p.trim_end_matches('/');
                loc == p || loc.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
                    // A bare path also matches a locator that is the same path on some namenode.
                    || (loc.starts_with('/') && p.split_once("://").and_then(|(_, r)| r.find('/').map(|i| &r[i..])) == Some(loc.as_str()))
            })
        } else {
            d.tables.iter().any(|t| if t.split('.').count() == 3 { *t == loc } else { t.eq_ignore_ascii_case(&loc) })
        }
    })
}

/// Turns events into catalog writes against the datasets already known.
/// Inputs that match no catalog dataset are counted in a warning. A
/// relative repository path is resolved against `base`, the folder the
/// events came from; without one it is left out with a warning.
pub fn to_batch(
    events: &[RunEvent],
    known: &[Dataset],
    known_consumers: &[Consumer],
    base: Option<&Path>,
) -> ImportBatch {
    let mut batch = ImportBatch::default();
    let mut unmatched = 0;
    for e in events {
        let Some(repo) = e.repo.as_deref() else {
            batch.warnings.push(format!(
                "job {}/{} has no sourceCodeLocation facet; tern cannot know its repository",
                e.job_namespace, e.job_name
            ));
            continue;
        };
        let Some(repo) = local_repo(repo, base) else {
            batch.warnings.push(format!(
                "job {}/{}: its repository {repo:?} is a relative path and these events came from no folder (give an absolute path or a URL)",
                e.job_namespace, e.job_name
            ));
            continue;
        };
        // A job whose repository the catalog already knows is that consumer;
        // else its name makes the id of a consumer lineage discovered.
        let holds = |f: &dyn Fn(&Consumer) -> bool| {
            known_consumers
                .iter()
                .chain(batch.discovered.iter())
                .find(|c| f(c))
                .cloned()
        };
        let id = match holds(&|c| c.repo == repo) {
            Some(c) => c.id,
            None => consumer_id(&e.job_name),
        };
        if id.is_empty() {
            batch.warnings.push(format!(
                "job {}/{}: its name makes no consumer id (letters or digits needed); left out",
                e.job_namespace, e.job_name
            ));
            continue;
        }
        let job = format!("{}/{}", e.job_namespace, e.job_name);
        match holds(&|c| c.id == id) {
            // The catalog is the authority on where a consumer lives and who
            // owns it (SPEC §6): a job that names one of its consumers from
            // another repository is told apart, never believed.
            Some(c) if c.repo != repo => {
                let detail = format!(
                    "lineage job {job} says consumer {id} lives in {repo}; the catalog has {}; the catalog's is kept and the job's reads were not added",
                    c.repo
                );
                batch.warnings.push(detail.clone());
                batch.disagreements.push(Disagreement {
                    consumer: id,
                    source: "lineage".into(),
                    detail,
                    at: crate::now(),
                });
                continue;
            }
            Some(c) => {
                if let Some(said) = e
                    .owner
                    .as_deref()
                    .filter(|o| Some(*o) != c.owner.as_deref())
                {
                    let detail = format!(
                        "lineage job {job} says consumer {id} is owned by {said}; the catalog has {}; the catalog's is kept",
                        c.owner.as_deref().unwrap_or("no owner")
                    );
                    batch.warnings.push(detail.clone());
                    batch.disagreements.push(Disagreement {
                        consumer: id.clone(),
                        source: "lineage".into(),
                        detail,
                        at: crate::now(),
                    });
                }
            }
            None => batch.discovered.push(Consumer {
                id: id.clone(),
                repo: repo.clone(),
                owner: e.owner.clone(),
            }),
        }
        for (ns, name) in &e.inputs {
            match matching(known, ns, name) {
                Some(d) => batch.reads.push((d.id.clone(), id.clone(), Via::Lineage)),
                None => unmatched += 1,
            }
        }
        for (ns, name) in &e.outputs {
            if let Some(d) = matching(known, ns, name) {
                batch.produces.push((id.clone(), d.id.clone()));
            }
        }
    }
    batch.reads.sort();
    batch.reads.dedup();
    batch.produces.sort();
    batch.produces.dedup();
    if unmatched > 0 {
        batch.warnings.push(format!(
            "{unmatched} lineage inputs match no catalog dataset and were left out"
        ));
    }
    batch
}

/// `file:///x` and relative paths become absolute paths; URLs stay as they
/// are; a relative path with no `base` to resolve it against is `None`.
fn local_repo(repo: &str, base: Option<&Path>) -> Option<String> {
    let path = repo.strip_prefix("file://").unwrap_or(repo);
    if path.contains("://") || path.starts_with("git@") {
        return Some(repo.to_string());
    }
    let p = Path::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base?.join(p)
    };
    Some(
        crate::backstage::normalise(&abs)
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string(),
    )
}

/// Job names such as `plays_daily.compute` become catalog-friendly ids,
/// valid Backstage names: letters and digits, single `-` between them, at
/// most 63 characters.
fn consumer_id(job: &str) -> String {
    let mut id = String::new();
    for c in job.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.truncate(63);
    id.trim_end_matches('-').to_string()
}
