//! Backstage `catalog-info.yaml` entities in (docs/catalog.md).
//!
//! A dataset is a `Resource` or an `API` of `spec.type: dataset`, its locators
//! in `tern.dev/*` annotations; a consumer is a `Component` with a
//! `backstage.io/source-location`; it reads what it names in `dependsOn` and
//! `consumesApis`. `Group` and `User` give teams and members. Entity kinds tern
//! has no use for (System, Domain, Location...) are passed over.

use std::path::{Component as PathPart, Path, PathBuf};

use tern_yaml::Node;

use crate::*;

/// Parses every entity document of one file. `file` locates `dir:` source
/// locations and names the file in errors; nothing is read from disk.
pub fn parse(text: &str, file: &Path) -> Result<ImportBatch> {
    let err = |line: usize, message: String| CatalogError::Parse {
        file: file.to_path_buf(),
        line,
        message,
    };
    let docs = tern_yaml::load_all(text)
        .map_err(|e| err(e.line, format!("not valid YAML: {}", e.message)))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut batch = ImportBatch::default();
    for doc in docs.iter().filter(|d| !d.is_null()) {
        if doc.as_map().is_none() {
            return Err(err(
                doc.line,
                format!("an entity must be a mapping, found {}", doc.kind()),
            ));
        }
        let field = |node: &Node, key: &str| -> Result<String> {
            node.get(key)
                .and_then(Node::as_str)
                .map(str::to_string)
                .ok_or_else(|| err(node.line, format!("entity has no `{key}`")))
        };
        let api_version = field(doc, "apiVersion")?;
        if !api_version.starts_with("backstage.io/") {
            return Err(err(
                doc.line,
                format!("apiVersion {api_version:?} is not a Backstage entity"),
            ));
        }
        let kind = field(doc, "kind")?;
        let metadata = doc
            .get("metadata")
            .ok_or_else(|| err(doc.line, "entity has no `metadata`".into()))?;
        let name = field(metadata, "name")?;
        let name_line = metadata.get("name").map_or(metadata.line, |n| n.line);
        if !valid_name(&name) {
            return Err(err(
                name_line,
                format!(
                    "`metadata.name` `{}` is not a Backstage entity name: 1 to 63 letters or digits, single `-`, `_` or `.` between them",
                    shown(&name)
                ),
            ));
        }
        let namespace = match metadata.get("namespace") {
            None => "default",
            Some(n) => match n.as_str() {
                Some(ns) if valid_namespace(ns) => ns,
                _ => {
                    return Err(err(
                        n.line,
                        format!(
                            "`metadata.namespace` `{}` is not a Backstage namespace: 1 to 63 lower-case letters or digits, single `-` between them",
                            n.as_str().map(shown).unwrap_or_else(|| n.kind().into())
                        ),
                    ))
                }
            },
        };
        // Annotations are strings (Backstage's own rule): a list or a mapping
        // there is refused, never dropped without a word.
        match metadata.get("annotations") {
            None => {}
            Some(a) if a.is_null() => {}
            Some(a) => {
                let entries = a.as_map().ok_or_else(|| {
                    err(
                        a.line,
                        format!(
                            "`metadata.annotations` must be a mapping, found {}",
                            a.kind()
                        ),
                    )
                })?;
                for (k, v) in entries {
                    if v.as_str().is_none() && !v.is_null() {
                        return Err(err(
                            v.line,
                            format!(
                                "annotation `{}` must be a string, found {}",
                                k.as_str().map(shown).unwrap_or_default(),
                                v.kind()
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(sp) = doc
            .get("spec")
            .filter(|s| !s.is_null() && s.as_map().is_none())
        {
            return Err(err(
                sp.line,
                format!("`spec` must be a mapping, found {}", sp.kind()),
            ));
        }
        let id = entity_id(namespace, &name);
        let annotation = |key: &str| {
            metadata
                .get("annotations")
                .and_then(|a| a.get(key))
                .and_then(Node::as_str)
                .map(str::to_string)
        };
        let spec = doc.get("spec");
        let spec_str = |key: &str| {
            spec.and_then(|s| s.get(key))
                .and_then(Node::as_str)
                .map(str::to_string)
        };
        let spec_list = |key: &str| -> Result<Vec<(String, usize)>> {
            match spec.and_then(|s| s.get(key)) {
                None => Ok(vec![]),
                Some(n) if n.is_null() => Ok(vec![]),
                Some(n) => n
                    .as_seq()
                    .ok_or_else(|| err(n.line, format!("`spec.{key}` must be a list")))?
                    .iter()
                    .map(|i| {
                        i.as_str().map(|s| (s.to_string(), i.line)).ok_or_else(|| {
                            err(i.line, format!("`spec.{key}` entries must be entity refs"))
                        })
                    })
                    .collect(),
            }
        };
        let owner = spec_str("owner").map(|o| team_ref(&o));
        let is_dataset = matches!(kind.as_str(), "Resource" | "API")
            && spec_str("type").as_deref() == Some("dataset");
        let at = |line: usize| format!("{}:{line}", file.display());
        if !KINDS.contains(&kind.as_str()) {
            let kind_line = doc.get("kind").map_or(doc.line, |n| n.line);
            batch.warnings.push(format!(
                "{}: kind `{}` is not a Backstage kind{}; entity {id} was not imported",
                at(kind_line),
                shown(&kind),
                crate::suggest::did_you_mean(&kind, KINDS.iter().copied())
            ));
            continue;
        }
        // Annotations tern reads, by the kind they mean something on: a
        // misspelt one would otherwise leave a dataset without locators and
        // nobody told.
        let meant: &[&str] = match kind.as_str() {
            _ if is_dataset => DATASET_ANNOTATIONS,
            "Group" => &["tern.dev/webhook"],
            _ => &[],
        };
        for (k, _) in metadata
            .get("annotations")
            .and_then(Node::as_map)
            .unwrap_or_default()
        {
            let Some(key) = k.as_str().filter(|k| k.starts_with("tern.dev/")) else {
                continue;
            };
            if meant.contains(&key) {
                continue;
            }
            let what = if DATASET_ANNOTATIONS.contains(&key)
                && matches!(kind.as_str(), "Resource" | "API")
            {
                format!(
                    "means nothing while `spec.type` is {}: a dataset needs `spec.type: dataset`",
                    spec_str("type")
                        .map_or_else(|| "missing".into(), |t| format!("`{}`", shown(&t)))
                )
            } else if ALL_ANNOTATIONS.contains(&key) {
                let on = if DATASET_ANNOTATIONS.contains(&key) {
                    "dataset entities (a Resource or API of spec.type: dataset)"
                } else {
                    "Group entities"
                };
                format!("means nothing on a {kind}; tern reads it on {on}")
            } else {
                format!(
                    "is not an annotation tern knows{}",
                    crate::suggest::did_you_mean(key, ALL_ANNOTATIONS.iter().copied())
                )
            };
            batch.warnings.push(format!(
                "{}: annotation `{}` of {id} {what}; it was ignored",
                at(k.line),
                shown(key)
            ));
        }
        match kind.as_str() {
            "Resource" | "API" if is_dataset => {
                let list = |key: &str| -> Vec<String> {
                    annotation(key)
                        .map(|v| {
                            v.split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let paths = list("tern.dev/paths");
                let schema = list("tern.dev/schema")
                    .into_iter()
                    .map(|f| match f.split_once(':') {
                        Some((n, t)) => Field {
                            name: n.trim().to_string(),
                            ty: Some(t.trim().to_string()),
                        },
                        None => Field { name: f, ty: None },
                    })
                    .collect();
                let tables = list("tern.dev/tables");
                let platform =
                    annotation("tern.dev/platform").or_else(|| infer_platform(&paths, &tables));
                // A Resource that depends on a Component is that component's output.
                for (r, _) in spec_list("dependsOn")? {
                    if let Some(("component", producer)) = split_ref(&r, "component") {
                        batch.produces.push((producer, id.clone()));
                    }
                }
                batch.datasets.push(Dataset {
                    id: id.clone(),
                    kind: kind.clone(),
                    paths,
                    tables,
                    platform,
                    format: annotation("tern.dev/format").map(|f| f.to_ascii_lowercase()),
                    schema,
                    owner,
                    lifecycle: spec_str("lifecycle"),
                });
            }
            "Component" => {
                let mut reads = vec![];
                for (r, _) in spec_list("dependsOn")? {
                    if let Some(("resource", ds)) = split_ref(&r, "") {
                        reads.push(ds);
                    }
                }
                for (r, _) in spec_list("consumesApis")? {
                    if let Some(("api", ds)) = split_ref(&r, "api") {
                        reads.push(ds);
                    }
                }
                let produced: Vec<String> = spec_list("providesApis")?
                    .into_iter()
                    .filter_map(|(r, _)| split_ref(&r, "api").map(|(_, ds)| ds))
                    .collect();
                let Some(location) = annotation("backstage.io/source-location") else {
                    if !reads.is_empty() {
                        batch.warnings.push(format!(
                            "{}:{}: component {id} reads datasets but has no backstage.io/source-location; tern cannot migrate it",
                            file.display(),
                            doc.line
                        ));
                    }
                    continue;
                };
                let repo = source_location(&location, base).ok_or_else(|| {
                    err(
                        metadata.line,
                        format!("source-location {location:?} is neither dir:PATH nor url:URL"),
                    )
                })?;
                for ds in reads {
                    batch.reads.push((ds, id.clone(), Via::Catalog));
                }
                for ds in produced {
                    batch.produces.push((id.clone(), ds));
                }
                batch.declared.push(id.clone());
                batch.consumers.push(Consumer { id, repo, owner });
            }
            "Group" => {
                let members = spec_list("members")?
                    .into_iter()
                    .map(|(m, _)| user_ref(&m))
                    .collect();
                batch.teams.push(Team {
                    id: team_ref(&name_with_ns(namespace, &name)),
                    members,
                    webhook: annotation("tern.dev/webhook"),
                });
            }
            "User" => {
                let user = user_ref(&name_with_ns(namespace, &name));
                for (g, _) in spec_list("memberOf")? {
                    batch.memberships.push((team_ref(&g), user.clone()));
                }
            }
            _ => {}
        }
    }
    Ok(batch)
}

/// Backstage's entity kinds; those tern has no use for are passed over
/// without a word, any other is a typo and warned about.
const KINDS: &[&str] = &[
    "Component",
    "API",
    "Resource",
    "System",
    "Domain",
    "Group",
    "User",
    "Location",
    "Template",
];

/// The annotations tern reads on a dataset entity.
const DATASET_ANNOTATIONS: &[&str] = &[
    "tern.dev/paths",
    "tern.dev/tables",
    "tern.dev/format",
    "tern.dev/schema",
    "tern.dev/platform",
];

/// Every `tern.dev/*` annotation tern reads (docs/catalog.md).
const ALL_ANNOTATIONS: &[&str] = &[
    "tern.dev/paths",
    "tern.dev/tables",
    "tern.dev/format",
    "tern.dev/schema",
    "tern.dev/platform",
    "tern.dev/webhook",
];

/// Backstage's rule for `metadata.name`: 1 to 63 characters, sequences of
/// `[a-zA-Z0-9]` separated by one of `-`, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
        && !b
            .windows(2)
            .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
}

/// Backstage's rule for `metadata.namespace`: DNS-label-like, lower case.
pub fn valid_namespace(ns: &str) -> bool {
    valid_name(ns)
        && ns
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// A name as an error message may show it: control characters escaped.
fn shown(s: &str) -> String {
    s.chars().flat_map(char::escape_default).take(200).collect()
}

fn entity_id(namespace: &str, name: &str) -> String {
    if namespace == "default" {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

fn name_with_ns(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// `resource:default/x` → ("resource", "x"); a ref without kind takes `default_kind`.
fn split_ref(r: &str, default_kind: &str) -> Option<(&'static str, String)> {
    let (kind, rest) = match r.split_once(':') {
        Some((k, rest)) if !k.contains('/') => (k.to_ascii_lowercase(), rest),
        _ => (default_kind.to_string(), r),
    };
    let kind: &'static str = match kind.as_str() {
        "resource" => "resource",
        "api" => "api",
        "component" => "component",
        _ => return None,
    };
    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
    Some((kind, entity_id(ns, name)))
}

/// Normalises an owner to a full group ref: `insights` → `group:default/insights`.
pub fn team_ref(r: &str) -> String {
    full_ref(r, "group")
}

/// Normalises a user to a full ref: `alice` → `user:default/alice`.
pub fn user_ref(r: &str) -> String {
    full_ref(r, "user")
}

fn full_ref(r: &str, default_kind: &str) -> String {
    let (kind, rest) = match r.split_once(':') {
        Some((k, rest)) if !k.contains('/') => (k.to_ascii_lowercase(), rest),
        _ => (default_kind.to_string(), r),
    };
    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!("{kind}:{ns}/{name}")
}

fn infer_platform(paths: &[String], tables: &[String]) -> Option<String> {
    let scheme = paths
        .first()
        .and_then(|p| p.split_once("://"))
        .map(|(s, _)| s);
    match scheme {
        Some("gs") => Some("gcs".into()),
        Some(s) => Some(s.to_string()),
        None if tables.iter().any(|t| t.split('.').count() == 3) => Some("bigquery".into()),
        None if !tables.is_empty() => Some("hive".into()),
        None => None,
    }
}

/// `dir:./repos/x` relative to the catalog file; `url:https://...` kept as the URL.
fn source_location(location: &str, base: &Path) -> Option<String> {
    if let Some(dir) = location.strip_prefix("dir:") {
        let dir = dir.trim();
        let joined = if Path::new(dir).is_absolute() {
            PathBuf::from(dir)
        } else {
            absolute(base).join(dir)
        };
        Some(
            normalise(&joined)
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string(),
        )
    } else {
        location.strip_prefix("url:").map(|u| u.trim().to_string())
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Removes `.` and `..` without touching the file system.
pub(crate) fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in p.components() {
        match part {
            PathPart::CurDir => {}
            PathPart::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
