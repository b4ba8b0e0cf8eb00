//! Turning a YAML tree into a [`Spec`], refusing anything off with its place.

use std::collections::HashMap;
use std::time::Duration;

use tern_yaml::Node;

use crate::*;

/// Why a spec was refused: the file, the 1-based line, the key path and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {}{message}", if key.is_empty() { String::new() } else { format!("`{key}`: ") })]
pub struct SpecError {
    /// The spec file as the user named it.
    pub file: String,
    /// 1-based line of the offending node.
    pub line: usize,
    /// Dotted key path, e.g. `rollout.waves[2]`; empty for the whole file.
    pub key: String,
    /// What is wrong, in the user's words.
    pub message: String,
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, node: &Node, key: &str, message: impl Into<String>) -> SpecError {
        SpecError {
            file: self.file.to_string(),
            line: node.line,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// Checks that `node` is a mapping with only `allowed` keys, each once.
    fn mapping<'n>(
        &self,
        node: &'n Node,
        key: &str,
        allowed: &[&str],
    ) -> Result<HashMap<&'n str, &'n Node>, SpecError> {
        let entries = node.as_map().ok_or_else(|| {
            self.err(
                node,
                key,
                format!("expected a mapping, found {}", node.kind()),
            )
        })?;
        let mut out = HashMap::new();
        for (k, v) in entries {
            let name = k
                .as_str()
                .ok_or_else(|| self.err(k, key, "keys must be plain strings"))?;
            let path = join(key, name);
            if !allowed.contains(&name) {
                return Err(self.err(
                    k,
                    &path,
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                ));
            }
            if out.insert(name, v).is_some() {
                return Err(self.err(k, &path, "key given twice"));
            }
        }
        Ok(out)
    }

    fn string(&self, node: &Node, key: &str) -> Result<String, SpecError> {
        match node.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
            _ => Err(self.err(
                node,
                key,
                format!("expected a non-empty string, found {}", node.kind()),
            )),
        }
    }

    fn count(&self, node: &Node, key: &str) -> Result<u64, SpecError> {
        node.as_u64()
            .ok_or_else(|| self.err(node, key, "expected a whole number"))
    }

    fn duration(&self, node: &Node, key: &str) -> Result<Duration, SpecError> {
        let text = node.as_str().unwrap_or_default();
        match parse_duration(text) {
            Some(d) if !d.is_zero() => Ok(d),
            _ => Err(self.err(
                node,
                key,
                format!("expected a duration such as 30s, 10m, 2h or 3d, found {text:?}"),
            )),
        }
    }

    fn strings(&self, node: &Node, key: &str) -> Result<Vec<(String, usize)>, SpecError> {
        match node.as_seq() {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| Ok((self.string(n, &format!("{key}[{i}]"))?, n.line)))
                .collect(),
            None => Ok(vec![(self.string(node, key)?, node.line)]),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Spec {
    /// Parses and validates a spec; `file` is only used to name the place in errors.
    pub fn parse(text: &str, file: &str) -> Result<Spec, SpecError> {
        let cx = Ctx { file };
        let root = tern_yaml::load_one(text).map_err(|e| SpecError {
            file: file.to_string(),
            line: e.line,
            key: String::new(),
            message: format!("not valid YAML: {}", e.message),
        })?;
        let top = cx.mapping(
            &root,
            "",
            &[
                "version",
                "id",
                "title",
                "description",
                "owner",
                "dataset",
                "replace",
                "format",
                "columns",
                "verify",
                "rollout",
                "approval",
                "agent",
            ],
        )?;
        let need = |k: &str| {
            top.get(k).copied().ok_or_else(|| SpecError {
                file: file.to_string(),
                line: root.line,
                key: k.to_string(),
                message: "required key is missing".into(),
            })
        };
        let version = need("version")?;
        if version.as_u64() != Some(1) {
            return Err(cx.err(version, "version", "only version 1 is understood"));
        }
        let id_node = need("id")?;
        let id = cx.string(id_node, "id")?;
        if !valid_id(&id) {
            return Err(cx.err(
                id_node,
                "id",
                format!(
                    "{id:?} must match [a-z0-9][a-z0-9-]{{0,62}} (it names the branch tern/<id>)"
                ),
            ));
        }
        let title = cx.string(need("title")?, "title")?;
        let description = match top.get("description") {
            Some(n) if !n.is_null() => n
                .as_str()
                .ok_or_else(|| cx.err(n, "description", "expected text"))?
                .to_string(),
            _ => String::new(),
        };
        let owner = top
            .get("owner")
            .map(|n| cx.string(n, "owner"))
            .transpose()?;
        let dataset = match top.get("dataset") {
            None => DatasetMove::default(),
            Some(n) => {
                let m = cx.mapping(n, "dataset", &["from", "to", "retire_on"])?;
                let get = |k: &str| {
                    m.get(k)
                        .map(|n| cx.string(n, &format!("dataset.{k}")))
                        .transpose()
                };
                let d = DatasetMove {
                    from: get("from")?,
                    to: get("to")?,
                    retire_on: get("retire_on")?,
                };
                if let (Some(r), Some(node)) = (&d.retire_on, m.get("retire_on")) {
                    if !is_iso_date(r) {
                        return Err(cx.err(
                            node,
                            "dataset.retire_on",
                            "expected a date as YYYY-MM-DD",
                        ));
                    }
                }
                if let (Some(f), Some(t)) = (&d.from, &d.to) {
                    if f == t {
                        return Err(cx.err(n, "dataset.to", "is the same dataset as dataset.from"));
                    }
                }
                d
            }
        };
        let replace = match top.get("replace") {
            None => vec![],
            Some(n) => parse_replace(&cx, n)?,
        };
        if replace.is_empty() && dataset.from.is_none() {
            return Err(cx.err(
                &root,
                "replace",
                "give `replace` or a `dataset.from` whose catalog entry has locators",
            ));
        }
        let format = match top.get("format") {
            None => None,
            Some(n) => {
                let m = cx.mapping(n, "format", &["old", "new"])?;
                let get = |k: &str| -> Result<String, SpecError> {
                    let v = m.get(k).ok_or_else(|| {
                        cx.err(n, &format!("format.{k}"), "required key is missing")
                    })?;
                    Ok(cx.string(v, &format!("format.{k}"))?.to_ascii_lowercase())
                };
                let f = FormatChange {
                    old: get("old")?,
                    new: get("new")?,
                };
                if f.old == f.new {
                    return Err(cx.err(n, "format.new", "is the same as format.old"));
                }
                Some(f)
            }
        };
        let columns = match top.get("columns") {
            None => vec![],
            Some(n) => {
                let entries = n
                    .as_map()
                    .ok_or_else(|| cx.err(n, "columns", "expected a mapping of old: new"))?;
                let mut out: Vec<(String, String)> = Vec::new();
                for (k, v) in entries {
                    let old = cx.string(k, "columns")?;
                    let path = format!("columns.{old}");
                    let new = cx.string(v, &path)?;
                    if !is_identifier(&old) || !is_identifier(&new) {
                        return Err(cx.err(k, &path, "column names must be identifiers"));
                    }
                    if old == new {
                        return Err(cx.err(k, &path, "old and new column names are equal"));
                    }
                    if out.iter().any(|(o, _)| o.eq_ignore_ascii_case(&old)) {
                        return Err(cx.err(k, &path, "column given twice"));
                    }
                    out.push((old, new));
                }
                out
            }
        };
        if format.is_none() && columns.is_empty() {
            if let (Some(i), Some(n)) = (
                replace.iter().position(|r| r.new.is_none()),
                top.get("replace"),
            ) {
                let at = n.as_seq().and_then(|items| items.get(i)).unwrap_or(n);
                return Err(cx.err(
                    at,
                    &format!("replace[{i}].new"),
                    "required key is missing (it may be left out only when `columns` or `format` changes)",
                ));
            }
        }
        let verify = match top.get("verify") {
            None => Verify {
                command: None,
                none: false,
                timeout: Duration::from_secs(600),
                sandbox: Sandbox::None,
                network: false,
            },
            Some(n) => {
                let m = cx.mapping(n, "verify", &["command", "timeout", "sandbox", "network"])?;
                let sandbox = match m.get("sandbox") {
                    None => Sandbox::None,
                    Some(n) => match n.as_str() {
                        Some("none") => Sandbox::None,
                        Some("bwrap") => Sandbox::Bwrap,
                        _ => return Err(cx.err(n, "verify.sandbox", "expected `none` or `bwrap`")),
                    },
                };
                let network = match m.get("network") {
                    None => false,
                    Some(n) => match n.as_str() {
                        Some("true") => true,
                        Some("false") => false,
                        _ => {
                            return Err(cx.err(
                                n,
                                "verify.network",
                                "expected `true` or `false` (whether a sandboxed verification may reach the network)",
                            ))
                        }
                    },
                };
                let command = m
                    .get("command")
                    .map(|c| cx.string(c, "verify.command"))
                    .transpose()?;
                let none = command.as_deref() == Some("none");
                Verify {
                    command: command.filter(|_| !none),
                    none,
                    timeout: match m.get("timeout") {
                        Some(t) => cx.duration(t, "verify.timeout")?,
                        None => Duration::from_secs(600),
                    },
                    sandbox,
                    network,
                }
            }
        };
        let rollout = parse_rollout(&cx, top.get("rollout").copied())?;
        let approval = match top.get("approval") {
            None => Approval::Owners,
            Some(n) => match n.as_str() {
                Some("owners") => Approval::Owners,
                Some("auto") => Approval::Auto,
                _ => return Err(cx.err(n, "approval", "expected `owners` or `auto`")),
            },
        };
        let agent = top.get("agent").map(|n| parse_agent(&cx, n)).transpose()?;
        Ok(Spec {
            id,
            title,
            description,
            owner,
            dataset,
            replace,
            format,
            columns,
            verify,
            rollout,
            approval,
            agent,
        })
    }
}

fn parse_replace(cx: &Ctx, node: &Node) -> Result<Vec<Replace>, SpecError> {
    let items = node
        .as_seq()
        .ok_or_else(|| cx.err(node, "replace", "expected a list of {kind, old, new}"))?;
    let mut out = Vec::new();
    // Every old alias seen so far, normalised, with where it was first given.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let key = format!("replace[{i}]");
        let m = cx.mapping(item, &key, &["kind", "old", "new"])?;
        let field = |k: &str| {
            m.get(k)
                .copied()
                .ok_or_else(|| cx.err(item, &format!("{key}.{k}"), "required key is missing"))
        };
        let kind_node = field("kind")?;
        let kind = match kind_node.as_str() {
            Some("path") => LocatorKind::Path,
            Some("table") => LocatorKind::Table,
            _ => {
                return Err(cx.err(
                    kind_node,
                    &format!("{key}.kind"),
                    "expected `path` or `table`",
                ))
            }
        };
        let old_node = field("old")?;
        let old = cx.strings(old_node, &format!("{key}.old"))?;
        if old.is_empty() {
            return Err(cx.err(
                old_node,
                &format!("{key}.old"),
                "give at least one old locator",
            ));
        }
        let new = match m.get("new").copied() {
            Some(new_node) => {
                let new = cx.string(new_node, &format!("{key}.new"))?;
                check_shape(cx, kind, new_node, &format!("{key}.new"), &new)?;
                Some(new)
            }
            None => None,
        };
        for (j, (alias, line)) in old.iter().enumerate() {
            let at = Node {
                line: *line,
                ..old_node.clone()
            };
            let akey = if old_node.as_seq().is_some() {
                format!("{key}.old[{j}]")
            } else {
                format!("{key}.old")
            };
            check_shape(cx, kind, &at, &akey, alias)?;
            if new
                .as_ref()
                .is_some_and(|new| normalise(kind, alias) == normalise(kind, new))
            {
                return Err(cx.err(&at, &akey, format!("{alias:?} is the same as its `new`")));
            }
            if let Some(first) = seen.insert(normalise(kind, alias), *line) {
                return Err(cx.err(
                    &at,
                    &akey,
                    format!("{alias:?} is given twice (first on line {first})"),
                ));
            }
        }
        out.push(Replace {
            kind,
            old: old.into_iter().map(|(s, _)| s).collect(),
            new,
            line: item.line,
        });
    }
    Ok(out)
}

/// Locators compare as the matcher sees them: paths exactly, Hive tables without case.
fn normalise(kind: LocatorKind, s: &str) -> String {
    let s = s.trim_end_matches('/');
    match kind {
        LocatorKind::Table if s.split('.').count() < 3 => s.to_ascii_lowercase(),
        _ => s.to_string(),
    }
}

fn check_shape(
    cx: &Ctx,
    kind: LocatorKind,
    node: &Node,
    key: &str,
    s: &str,
) -> Result<(), SpecError> {
    if s.chars().any(char::is_whitespace) {
        return Err(cx.err(node, key, format!("{s:?}: a locator has no white space")));
    }
    match kind {
        LocatorKind::Table => {
            let parts: Vec<&str> = s.split('.').collect();
            let ok = (1..=3).contains(&parts.len())
                && parts.iter().enumerate().all(|(i, p)| {
                    !p.is_empty()
                        && p.chars().all(|c| {
                            c.is_ascii_alphanumeric()
                                || c == '_'
                                || (c == '-' && i == 0 && parts.len() == 3)
                        })
                });
            if !ok {
                return Err(cx.err(
                    node,
                    key,
                    format!("{s:?} is not a table name of one to three dotted parts"),
                ));
            }
        }
        LocatorKind::Path | LocatorKind::Entity => {
            if s.trim_end_matches('/').len() < 2 {
                return Err(cx.err(
                    node,
                    key,
                    format!("{s:?} is too short to be a storage location"),
                ));
            }
        }
    }
    Ok(())
}

fn parse_rollout(cx: &Ctx, node: Option<&Node>) -> Result<Rollout, SpecError> {
    let mut r = Rollout {
        waves: vec![Wave::Count(1), Wave::Percent(100.0)],
        max_in_flight: 10,
        per_hour: None,
        pause_when: PauseWhen {
            failed_ratio: 0.2,
            min_failed: 3,
        },
        window: None,
        nudge_after: None,
    };
    let Some(node) = node else { return Ok(r) };
    let m = cx.mapping(
        node,
        "rollout",
        &[
            "waves",
            "max_in_flight",
            "per_hour",
            "pause_when",
            "window",
            "nudge_after",
        ],
    )?;
    if let Some(w) = m.get("waves") {
        let items = w.as_seq().filter(|s| !s.is_empty()).ok_or_else(|| {
            cx.err(
                w,
                "rollout.waves",
                "expected a non-empty list of counts or percentages",
            )
        })?;
        r.waves = items
            .iter()
            .enumerate()
            .map(|(i, n)| parse_wave(cx, n, &format!("rollout.waves[{i}]")))
            .collect::<Result<_, _>>()?;
    }
    if let Some(n) = m.get("max_in_flight") {
        r.max_in_flight = cx.count(n, "rollout.max_in_flight")?;
        if r.max_in_flight == 0 {
            return Err(cx.err(n, "rollout.max_in_flight", "must be at least 1"));
        }
    }
    if let Some(n) = m.get("per_hour") {
        let v = cx.count(n, "rollout.per_hour")?;
        if v == 0 {
            return Err(cx.err(
                n,
                "rollout.per_hour",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        r.per_hour = Some(v);
    }
    if let Some(n) = m.get("pause_when") {
        let p = cx.mapping(n, "rollout.pause_when", &["failed_ratio", "min_failed"])?;
        if let Some(v) = p.get("failed_ratio") {
            r.pause_when.failed_ratio =
                v.as_f64()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        cx.err(
                            v,
                            "rollout.pause_when.failed_ratio",
                            "expected a number from 0 to 1",
                        )
                    })?;
        }
        if let Some(v) = p.get("min_failed") {
            r.pause_when.min_failed = cx.count(v, "rollout.pause_when.min_failed")?;
        }
    }
    if let Some(n) = m.get("window") {
        let w = cx.mapping(n, "rollout.window", &["days", "hours"])?;
        let mut days = vec![];
        if let Some(d) = w.get("days") {
            for (text, line) in cx.strings(d, "rollout.window.days")? {
                let at = Node {
                    line,
                    ..(*d).clone()
                };
                days.push(match text.to_ascii_lowercase().as_str() {
                    "mon" => Weekday::Mon,
                    "tue" => Weekday::Tue,
                    "wed" => Weekday::Wed,
                    "thu" => Weekday::Thu,
                    "fri" => Weekday::Fri,
                    "sat" => Weekday::Sat,
                    "sun" => Weekday::Sun,
                    _ => {
                        return Err(cx.err(
                            &at,
                            "rollout.window.days",
                            format!("{text:?} is not one of mon..sun"),
                        ))
                    }
                });
            }
        }
        let hours = match w.get("hours") {
            None => (0, 24),
            Some(h) => {
                let text = h.as_str().unwrap_or_default();
                let parsed = text.split_once('-').and_then(|(a, b)| {
                    Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?))
                });
                match parsed {
                    Some((a, b)) if a < b && b <= 24 => (a, b),
                    _ => {
                        return Err(cx.err(
                            h,
                            "rollout.window.hours",
                            "expected \"HH-HH\" in UTC, start before end, e.g. \"09-17\"",
                        ))
                    }
                }
            }
        };
        r.window = Some(Window { days, hours });
    }
    if let Some(n) = m.get("nudge_after") {
        r.nudge_after = Some(cx.duration(n, "rollout.nudge_after")?);
    }
    Ok(r)
}

fn parse_wave(cx: &Ctx, n: &Node, key: &str) -> Result<Wave, SpecError> {
    if let Some(c) = n.as_u64() {
        if c == 0 {
            return Err(cx.err(n, key, "a wave holds at least one consumer"));
        }
        return Ok(Wave::Count(c));
    }
    let text = n.as_str().unwrap_or_default();
    match text
        .strip_suffix('%')
        .and_then(|p| p.trim().parse::<f64>().ok())
    {
        Some(p) if p > 0.0 && p <= 100.0 => Ok(Wave::Percent(p)),
        _ => Err(cx.err(
            n,
            key,
            format!("expected a count or a percentage such as \"25%\", found {text:?}"),
        )),
    }
}

fn parse_agent(cx: &Ctx, n: &Node) -> Result<Agent, SpecError> {
    let m = cx.mapping(
        n,
        "agent",
        &[
            "command",
            "endpoint",
            "model",
            "api_key_env",
            "max_attempts",
        ],
    )?;
    let opt = |k: &str| {
        m.get(k)
            .map(|v| cx.string(v, &format!("agent.{k}")))
            .transpose()
    };
    let command = match m.get("command") {
        None => None,
        Some(c) => {
            let items = c.as_seq().filter(|s| !s.is_empty()).ok_or_else(|| {
                cx.err(
                    c,
                    "agent.command",
                    "expected an argv list such as [my-agent, --task-file]",
                )
            })?;
            Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, a)| cx.string(a, &format!("agent.command[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    let agent = Agent {
        command,
        endpoint: opt("endpoint")?,
        model: opt("model")?,
        api_key_env: opt("api_key_env")?,
        max_attempts: match m.get("max_attempts") {
            Some(v) => cx.count(v, "agent.max_attempts")?,
            None => 3,
        },
    };
    if agent.command.is_some() == agent.endpoint.is_some() {
        return Err(cx.err(
            n,
            "agent",
            "give either `command` or `endpoint`, not both or neither",
        ));
    }
    if agent.endpoint.is_some() && agent.model.is_none() {
        return Err(cx.err(n, "agent.model", "an endpoint needs a model"));
    }
    Ok(agent)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
}
