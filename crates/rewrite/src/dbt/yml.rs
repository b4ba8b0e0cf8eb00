//! dbt's YAML (schema files): `sources:` entries and unit tests (docs/rules.md rule 7).
//!
//! A model names a source table (`source('shop', 'orders')`), and the
//! source's entry says where it lives (`name: shop, schema: raw`, a table's
//! `identifier`, a BigQuery `database`). A move edits the entry, never the
//! calls, so every `source()` in every file keeps working: `schema:` (or
//! `database:`) when all of a source's tables move together, a table's
//! `identifier:` when it is renamed within its schema, and a new entry of the
//! same name when one table leaves a source that keeps others (dbt allows
//! several entries of one name whose tables differ). The entry's columns,
//! `loaded_at_field` and unit-test rows keyed by column follow the renames.
//!
//! Every edit is spliced into the file as it is; an entry written in a shape
//! these edits cannot reach (flow style, a templated schema) is reported.

use std::ops::Range;

use tern_spec::LocatorKind;
use tern_yaml::Node;

use super::{source_args, source_ranges};
use crate::name::follow_case;
use crate::rules::{DbtAlias, Rules};
use crate::{DbtSource, Edit, Finding, Outcome};

/// The YAML text with node positions turned into bytes.
struct Text<'a> {
    src: &'a str,
    /// Byte offset of each character, when the text is not ASCII.
    offsets: Option<Vec<usize>>,
    eol: &'static str,
}

impl<'a> Text<'a> {
    fn new(src: &'a str) -> Text<'a> {
        Text {
            src,
            offsets: (!src.is_ascii()).then(|| src.char_indices().map(|(i, _)| i).collect()),
            eol: if src.contains("\r\n") { "\r\n" } else { "\n" },
        }
    }

    fn at(&self, n: &Node) -> usize {
        match &self.offsets {
            None => n.index.min(self.src.len()),
            Some(o) => o.get(n.index).copied().unwrap_or(self.src.len()),
        }
    }

    /// Where a node starts: a mapping at its first key (the parser marks
    /// a block mapping after that key).
    fn start(&self, n: &Node) -> usize {
        match n.as_map().and_then(|e| e.first()) {
            Some((k, _)) => self.at(k),
            None => self.at(n),
        }
    }

    fn line_start(&self, b: usize) -> usize {
        self.src.as_bytes()[..b]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
    }

    /// Where the line holding `b` ends, before its line break.
    fn line_end(&self, b: usize) -> usize {
        let s = self.src.as_bytes();
        let nl = memchr::memchr(b'\n', &s[b..]).map_or(s.len(), |p| b + p);
        if nl > b && s.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        }
    }

    /// The start of the line after the one holding `b`.
    fn next_line(&self, b: usize) -> usize {
        let s = self.src.as_bytes();
        memchr::memchr(b'\n', &s[b..]).map_or(s.len(), |p| b + p + 1)
    }

    /// A scalar's text and the range of its content, when the content is
    /// written exactly as its text (plain or quoted without escapes).
    fn scalar(&self, n: &Node) -> Option<(&'a str, Range<usize>)> {
        let r = crate::config::content_at(self.src, self.at(n), n.as_str()?)?;
        Some((&self.src[r.clone()], r))
    }

    /// The item of a block sequence whose content starts at `b`: where its
    /// line starts, the column of its `-`, and where it ends (the start of
    /// the first line after it that is not more indented than the `-`).
    fn item(&self, b: usize) -> Option<(usize, usize, usize)> {
        let ls = self.line_start(b);
        let head = self.src.get(ls..b)?;
        let dash = head.find('-')?;
        if !head[..dash].bytes().all(|c| c == b' ') || !head[dash + 1..].bytes().all(|c| c == b' ')
        {
            return None;
        }
        let mut end = self.next_line(b);
        let mut at = end;
        while at < self.src.len() {
            let line = &self.src[at..self.line_end(at)];
            let body = line.trim_start_matches(' ');
            let indent = line.len() - body.len();
            if !body.trim().is_empty() && !body.starts_with('#') {
                if indent <= dash {
                    break;
                }
                end = self.next_line(at);
            }
            at = self.next_line(at);
        }
        Some((ls, dash, end))
    }

    /// The key `key` of mapping `m` sits alone with its value on one line
    /// (`key: value`, perhaps behind a `- `): the column of the key and the
    /// end of that line, where a sibling key can be written after it.
    fn key_line(&self, m: &Node, key: &str) -> Option<(usize, usize)> {
        let (k, v) = m.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key))?;
        let kb = self.at(k);
        let (_, vr) = self.scalar(v)?;
        let ls = self.line_start(kb);
        let head = &self.src[ls..kb];
        if !head.bytes().all(|c| c == b' ' || c == b'-') || self.line_start(vr.end) != ls {
            return None;
        }
        let end = self.line_end(vr.end);
        let rest = self.src[vr.end..end].trim_start_matches(['"', '\'']).trim();
        (rest.is_empty() || rest.starts_with('#')).then_some((kb - ls, end))
    }
}

fn get<'n>(m: &'n Node, key: &str) -> Option<&'n Node> {
    m.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A value written as YAML: plain when it is a simple name.
fn yaml_value(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(&c))
        && !s.starts_with(['-', '.']);
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// What the dbt rules make of one YAML file: edits, findings by offset, and
/// the sources it declares or uses.
#[derive(Default)]
struct Cx {
    /// The names of every source the file declares.
    names: Vec<String>,
    edits: Vec<Edit>,
    findings: Vec<(usize, String)>,
    dbt: Vec<DbtSource>,
}

/// A table of a source entry that names a migrated table.
struct Migrated<'n> {
    node: &'n Node,
    locator: usize,
    /// The new database (when the new name has three parts) and schema.
    group: (Option<String>, String),
    moves: bool,
    edits: Vec<Edit>,
    ok: bool,
    /// The source it leaves for, when it leaves one that keeps other tables.
    new_source: Option<String>,
}

/// dbt's `sources:` and `unit_tests:` in a YAML file; `out` holds the text
/// matcher's edits, which a table moved to a new entry takes along.
pub(crate) fn yml(rules: &Rules, src: &str, out: &mut Outcome) {
    if !src.contains("sources:") && !src.contains("unit_tests:") {
        return;
    }
    let Ok(docs) = tern_yaml::load_all(src) else {
        return;
    };
    let t = Text::new(src);
    let mut cx = Cx::default();
    for doc in &docs {
        for s in get(doc, "sources")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(n) = get(s, "name").and_then(Node::as_str) {
                cx.names.push(n.to_string());
            }
        }
    }
    for doc in &docs {
        cx.calls(rules, &t, doc);
        if let Some(sources) = get(doc, "sources").and_then(Node::as_seq) {
            for s in sources {
                cx.source(rules, &t, s, &mut out.edits);
            }
        }
        if let Some(tests) = get(doc, "unit_tests").and_then(Node::as_seq) {
            for u in tests {
                cx.unit_test(rules, &t, u);
            }
        }
    }
    out.edits.extend(cx.edits);
    out.dbt.extend(cx.dbt);
    out.findings.extend(
        cx.findings
            .into_iter()
            .map(|(at, why)| Finding::at(src.as_bytes(), at, why)),
    );
}

/// The table locator naming `database.schema.identifier`, or why it cannot be told.
fn locator_of(
    rules: &Rules,
    db: Option<&str>,
    schema: &str,
    id: &str,
) -> Option<Result<usize, String>> {
    for (i, l) in rules.locators().iter().enumerate() {
        if l.kind != LocatorKind::Table || l.old == l.new && rules.columns().is_empty() {
            continue;
        }
        let p = &l.old_parts;
        match p.len() {
            2 if l.same_name(schema, &p[0]) && l.same_name(id, &p[1]) => return Some(Ok(i)),
            3 if l.same_name(schema, &p[1]) && l.same_name(id, &p[2]) => match db {
                Some(d) if l.same_name(d, &p[0]) => return Some(Ok(i)),
                Some(_) => {}
                None => {
                    return Some(Err(format!(
                        "this dbt source names `{schema}.{id}` without a `database:`, resting on a default project; check whether it is {} by hand",
                        l.old
                    )))
                }
            },
            _ => {}
        }
    }
    None
}

impl Cx {
    fn source(&mut self, rules: &Rules, t: &Text, s: &Node, text_edits: &mut Vec<Edit>) {
        let Some((name, _)) = get(s, "name").and_then(|n| t.scalar(n)) else {
            return;
        };
        let schema = get(s, "schema").and_then(|n| t.scalar(n));
        let database = get(s, "database").and_then(|n| t.scalar(n));
        let Some(tables) = get(s, "tables").and_then(Node::as_seq) else {
            return;
        };
        let sch = schema.as_ref().map_or(name, |(v, _)| v);
        let db = database.as_ref().map(|(v, _)| *v);
        let mut migrated: Vec<Migrated> = Vec::new();
        for tn in tables {
            let Some((tname, _)) = get(tn, "name").and_then(|n| t.scalar(n)) else {
                continue;
            };
            let ident = get(tn, "identifier").and_then(|n| t.scalar(n));
            let id = ident.as_ref().map_or(tname, |(v, _)| v);
            let l = match locator_of(rules, db, sch, id) {
                None => continue,
                Some(Err(why)) => {
                    self.findings.push((t.start(tn), why));
                    continue;
                }
                Some(Ok(l)) => l,
            };
            if let Some(keeper) = rules.dbt_kept(l) {
                self.findings.push((
                    t.start(tn),
                    format!("dbt source `{name}` (table `{tname}`) left as is because {keeper} keeps its old name; change them together"),
                ));
                self.dbt.push(DbtSource {
                    locator: l,
                    renamed: false,
                    declares: Some(DbtAlias {
                        source: name.to_string(),
                        table: tname.to_string(),
                        locator: l,
                        new_source: None,
                    }),
                });
                continue;
            }
            let loc = &rules.locators()[l];
            let exact = loc.is_bigquery();
            let np = &loc.new_parts;
            let n = np.len();
            let new_id = &np[n - 1];
            let group = (
                (n == 3).then(|| np[0].clone()).or(db.map(str::to_string)),
                np[n - 2].clone(),
            );
            let moves = !loc.same_name(sch, &group.1)
                || matches!((&group.0, db), (Some(g), Some(d)) if !loc.same_name(g, d))
                || (group.0.is_some() && db.is_none());
            let mut m = Migrated {
                node: tn,
                locator: l,
                group,
                moves,
                edits: vec![],
                ok: true,
                new_source: None,
            };
            let old_id = &loc.old_parts[loc.old_parts.len() - 1];
            if !loc.same_name(id, new_id) {
                match (&ident, t.key_line(tn, "name")) {
                    (Some((v, r)), _) => m.edits.push(Edit {
                        range: r.clone(),
                        replacement: follow_case(v, old_id, new_id, exact),
                    }),
                    (None, Some((col, end))) => m.edits.push(Edit {
                        range: end..end,
                        replacement: format!(
                            "{}{}identifier: {}",
                            t.eol,
                            " ".repeat(col),
                            yaml_value(&follow_case(tname, old_id, new_id, exact))
                        ),
                    }),
                    (None, None) => {
                        self.findings.push((
                            t.start(tn),
                            format!("dbt source table `{tname}` is renamed to `{new_id}`, but tern cannot add its `identifier:` here; add it by hand"),
                        ));
                        m.ok = false;
                    }
                }
            }
            self.columns(rules, t, tn, &mut m.edits);
            migrated.push(m);
        }
        if migrated.is_empty() {
            return;
        }
        let moving: Vec<usize> = (0..migrated.len()).filter(|&i| migrated[i].moves).collect();
        if !moving.is_empty() {
            let together = migrated.len() == tables.len()
                && migrated.iter().all(|m| m.group == migrated[0].group);
            if together {
                self.move_source(t, s, &schema, &database, &mut migrated);
            } else {
                self.leave_source(rules, t, s, name, &mut migrated, text_edits);
            }
        }
        // A source-wide `loaded_at_field` naming a renamed column fits only
        // when every table of the source has the new columns.
        if let Some(f) = get(s, "loaded_at_field") {
            if let Some((v, r)) = t.scalar(f) {
                if let Some((_, new)) = renamed(rules, v) {
                    if migrated.len() == tables.len() && migrated.iter().all(|m| m.ok) {
                        self.edits.push(Edit {
                            range: r,
                            replacement: new,
                        });
                    } else {
                        self.findings.push((
                            t.at(f),
                            format!("`loaded_at_field: {v}` applies to tables of source `{name}` that keep the old columns; set it per table by hand"),
                        ));
                    }
                }
            }
        }
        for m in migrated {
            let tname = get(m.node, "name")
                .and_then(Node::as_str)
                .unwrap_or_default();
            if m.ok {
                self.edits.extend(m.edits);
            }
            self.dbt.push(DbtSource {
                locator: m.locator,
                renamed: m.ok,
                declares: Some(DbtAlias {
                    source: name.to_string(),
                    table: tname.to_string(),
                    locator: m.locator,
                    new_source: m.new_source.filter(|_| m.ok),
                }),
            });
        }
    }

    /// Every table of the source moves to one place: its `schema:` and
    /// `database:` change (or are written, when dbt defaulted them).
    fn move_source(
        &mut self,
        t: &Text,
        s: &Node,
        schema: &Option<(&str, Range<usize>)>,
        database: &Option<(&str, Range<usize>)>,
        migrated: &mut [Migrated],
    ) {
        let (new_db, new_schema) = migrated[0].group.clone();
        let mut edits = Vec::new();
        let name_line = t.key_line(s, "name");
        let mut write = |key: &str, current: &Option<(&str, Range<usize>)>, new: &str| match (
            current, name_line,
        ) {
            (Some((v, r)), _) => {
                if *v != new {
                    edits.push(Edit {
                        range: r.clone(),
                        replacement: new.to_string(),
                    });
                }
                true
            }
            (None, Some((col, end))) => {
                edits.push(Edit {
                    range: end..end,
                    replacement: format!("{}{}{key}: {}", t.eol, " ".repeat(col), yaml_value(new)),
                });
                true
            }
            (None, None) => false,
        };
        let mut ok = write("schema", schema, &new_schema);
        if let Some(db) = &new_db {
            ok &= write("database", database, db);
        }
        if !ok {
            self.findings.push((
                t.start(s),
                format!("dbt source entry cannot be edited where it is written (flow style?); set its schema to `{new_schema}` by hand"),
            ));
            for m in migrated.iter_mut() {
                m.ok = false;
            }
            return;
        }
        // The schema line goes before a table's identifier line at the same offset.
        self.edits.extend(edits);
    }

    /// Some tables leave a source that keeps others: they are cut from its
    /// `tables:` and written into a new entry of the same name, with the
    /// source's other settings, after it.
    fn leave_source(
        &mut self,
        rules: &Rules,
        t: &Text,
        s: &Node,
        name: &str,
        migrated: &mut [Migrated],
        text_edits: &mut Vec<Edit>,
    ) {
        let Some((s_ls, s_dash, s_end)) = t.item(t.start(s)) else {
            return self.cannot_move(t, s, name, migrated);
        };
        let Some(first) = s.as_map().and_then(|e| e.first()) else {
            return self.cannot_move(t, s, name, migrated);
        };
        let key_col = t.at(&first.0) - s_ls;
        let mut groups: Vec<(Option<String>, String)> = Vec::new();
        for m in migrated.iter().filter(|m| m.moves) {
            if !groups.contains(&m.group) {
                groups.push(m.group.clone());
            }
        }
        // The source's own settings other than where it lives, as written.
        let entries = s.as_map().unwrap_or_default();
        let mut settings = String::new();
        for (i, (k, _)) in entries.iter().enumerate() {
            let key = k.as_str().unwrap_or_default();
            let kb = t.at(k);
            let end = entries
                .get(i + 1)
                .map_or(s_end, |(n, _)| t.line_start(t.at(n)));
            if ["name", "schema", "database", "tables"].contains(&key) {
                continue;
            }
            let start = if i == 0 { kb } else { t.line_start(kb) };
            // The copy reads as the original will, text edits and all.
            let mut block = spliced(t.src, start..end, text_edits.iter());
            if i == 0 {
                block.insert_str(0, &" ".repeat(key_col));
            }
            if !block.ends_with('\n') {
                block.push_str(t.eol);
            }
            settings.push_str(&block);
        }
        let mut cuts: Vec<Range<usize>> = Vec::new();
        let mut entries_text = String::new();
        // dbt's partial parsing loses tables when two entries share a name,
        // so the leaving tables get a source of their own, named for where
        // they go, and their `source()` calls follow it.
        for g in &groups {
            let mut new_name = format!("{name}_{}", g.1.to_ascii_lowercase());
            while self.names.contains(&new_name) || rules.dbt_source_named(&new_name) {
                new_name.push('_');
            }
            let mut tables = String::new();
            for m in migrated.iter_mut().filter(|m| m.moves && &m.group == g) {
                m.new_source = Some(new_name.clone());
                let Some((ls, _, end)) = t.item(t.start(m.node)) else {
                    return self.cannot_move(t, s, name, migrated);
                };
                // The table's own edits, and the text matcher's inside it, go with it.
                let mut inside: Vec<Edit> = std::mem::take(&mut m.edits);
                inside.extend(
                    text_edits
                        .iter()
                        .filter(|e| e.range.start >= ls && e.range.end <= end)
                        .cloned(),
                );
                text_edits.retain(|e| !(e.range.start >= ls && e.range.end <= end));
                tables.push_str(&spliced(t.src, ls..end, inside.iter()));
                if !tables.ends_with('\n') {
                    tables.push_str(t.eol);
                }
                cuts.push(ls..end);
            }
            let pad = " ".repeat(key_col);
            entries_text.push_str(&format!(
                "{}- name: {}{eol}",
                " ".repeat(s_dash),
                yaml_value(&new_name),
                eol = t.eol
            ));
            if let Some(db) = &g.0 {
                entries_text.push_str(&format!("{pad}database: {}{}", yaml_value(db), t.eol));
            }
            entries_text.push_str(&format!("{pad}schema: {}{}", yaml_value(&g.1), t.eol));
            entries_text.push_str(&settings);
            entries_text.push_str(&format!("{pad}tables:{}", t.eol));
            entries_text.push_str(&tables);
        }
        let lead = if s_end == t.src.len() && !t.src.ends_with('\n') {
            t.eol
        } else {
            ""
        };
        for c in cuts {
            self.edits.push(Edit {
                range: c,
                replacement: String::new(),
            });
        }
        self.edits.push(Edit {
            range: s_end..s_end,
            replacement: format!("{lead}{entries_text}"),
        });
    }

    fn cannot_move(&mut self, t: &Text, s: &Node, name: &str, migrated: &mut [Migrated]) {
        self.findings.push((
            t.start(s),
            format!("tables of dbt source `{name}` move to another schema, but the entry is not written in block style; give them an entry of their own by hand"),
        ));
        for m in migrated.iter_mut() {
            m.ok = false;
        }
    }

    /// A `source()` call written as a YAML value (a relationships test's
    /// `to:`, a unit test's `input:`, an exposure's `depends_on`) follows its
    /// table when the table leaves for a source of its own.
    fn calls(&mut self, rules: &Rules, t: &Text, n: &Node) {
        match &n.value {
            tern_yaml::Value::Scalar { .. } => {
                let Some((text, r)) = t.scalar(n) else { return };
                let Some((a, b)) = source_ranges(text) else {
                    return;
                };
                let Some(alias) = rules.dbt_alias(&text[a.clone()], &text[b]) else {
                    return;
                };
                if rules.dbt_kept(alias.locator).is_some() {
                    return;
                }
                self.dbt.push(DbtSource {
                    locator: alias.locator,
                    renamed: true,
                    declares: None,
                });
                if let Some(new) = &alias.new_source {
                    self.edits.push(Edit {
                        range: r.start + a.start..r.start + a.end,
                        replacement: new.clone(),
                    });
                }
            }
            tern_yaml::Value::Seq(items) => {
                for i in items {
                    self.calls(rules, t, i);
                }
            }
            tern_yaml::Value::Map(entries) => {
                for (_, v) in entries {
                    self.calls(rules, t, v);
                }
            }
            tern_yaml::Value::Null => {}
        }
    }

    /// A migrated source table's documented columns and its
    /// `loaded_at_field` follow the renames.
    fn columns(&mut self, rules: &Rules, t: &Text, tn: &Node, edits: &mut Vec<Edit>) {
        if let Some(cols) = get(tn, "columns").and_then(Node::as_seq) {
            for c in cols {
                if let Some((v, r)) = get(c, "name").and_then(|n| t.scalar(n)) {
                    if let Some((_, new)) = renamed(rules, v) {
                        edits.push(Edit {
                            range: r,
                            replacement: new,
                        });
                    }
                }
            }
        }
        if let Some(f) = get(tn, "loaded_at_field") {
            if let Some((v, r)) = t.scalar(f) {
                {
                    if let Some((_, new)) = renamed(rules, v) {
                        edits.push(Edit {
                            range: r,
                            replacement: new,
                        });
                    } else if let Some(old) = names_renamed(rules, v) {
                        self.findings.push((
                            t.at(f),
                            format!("`loaded_at_field` uses column `{old}`, which is renamed; rewrite it by hand"),
                        ));
                    }
                }
            }
        }
    }

    /// A unit test's `given` rows for a migrated source are keyed by the
    /// source's columns, so the keys follow the renames.
    fn unit_test(&mut self, rules: &Rules, t: &Text, u: &Node) {
        let Some(given) = get(u, "given").and_then(Node::as_seq) else {
            return;
        };
        for g in given {
            let Some(input) = get(g, "input").and_then(Node::as_str) else {
                continue;
            };
            let Some((a, b)) = source_args(input) else {
                continue;
            };
            let Some(l) = rules.dbt_alias(&a, &b).map(|a| a.locator) else {
                continue;
            };
            if rules.dbt_kept(l).is_some() || rules.columns().is_empty() {
                continue;
            }
            let format = get(g, "format").and_then(Node::as_str).unwrap_or("dict");
            match get(g, "rows") {
                Some(rows) if format == "dict" => {
                    for row in rows.as_seq().unwrap_or_default() {
                        for (k, _) in row.as_map().unwrap_or_default() {
                            let Some((v, r)) = t.scalar(k) else { continue };
                            if let Some((_, new)) = renamed(rules, v) {
                                self.edits.push(Edit {
                                    range: r,
                                    replacement: new,
                                });
                            }
                        }
                    }
                }
                Some(rows) => {
                    if let Some(old) = rows.as_str().and_then(|v| names_renamed(rules, v)) {
                        self.findings.push((
                            t.at(rows),
                            format!("unit-test rows given as {format} use column `{old}`, which is renamed; rename it by hand"),
                        ));
                    }
                }
                None => {
                    if get(g, "fixture").is_some() {
                        self.findings.push((
                            t.start(g),
                            format!("unit-test fixture for `{input}` is a file; rename its renamed columns by hand"),
                        ));
                    }
                }
            }
        }
    }
}

/// `src[range]` with the edits that lie inside it applied.
fn spliced<'e>(src: &str, range: Range<usize>, edits: impl Iterator<Item = &'e Edit>) -> String {
    let mut inside: Vec<&Edit> = edits
        .filter(|e| e.range.start >= range.start && e.range.end <= range.end)
        .collect();
    inside.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::new();
    let mut at = range.start;
    for e in inside {
        if e.range.start < at {
            continue;
        }
        out.push_str(&src[at..e.range.start]);
        out.push_str(&e.replacement);
        at = e.range.end;
    }
    out.push_str(&src[at..range.end]);
    out
}

/// The new name of a renamed column, written in the case of `v`.
fn renamed(rules: &Rules, v: &str) -> Option<(String, String)> {
    rules
        .columns()
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(v))
        .map(|(old, new)| (old.clone(), follow_case(v, old, new, false)))
}

/// A renamed column's old name used as a word in `v`.
fn names_renamed(rules: &Rules, v: &str) -> Option<String> {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let lower = v.to_ascii_lowercase();
    let b = lower.as_bytes();
    rules.columns().iter().find_map(|(old, _)| {
        let o = old.to_ascii_lowercase();
        memchr::memmem::find_iter(b, o.as_bytes())
            .any(|i| (i == 0 || !word(b[i - 1])) && b.get(i + o.len()).is_none_or(|&c| !word(c)))
            .then(|| old.clone())
    })
}
