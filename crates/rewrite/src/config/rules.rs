//! The rules on a configuration tree, for every format alike: format keys
//! beside a locator, database and table keys that name a table together, SQL
//! held in values.

use std::ops::Range;

use tern_spec::LocatorKind;

use super::align::{align, encode};
use super::{Quoting, Tree};
use crate::name::follow_case;
use crate::rules::Rules;
use crate::text::Match;
use crate::Edit;

pub(crate) const FORMAT_KEYS: &[&str] = &[
    "format",
    "file_format",
    "fileformat",
    "file-format",
    "input_format",
    "inputformat",
    "storage_format",
];
/// Keys that name a table's database, schema or BigQuery dataset.
const DB_KEYS: &[&str] = &[
    "database",
    "db",
    "schema",
    "dataset",
    "dataset_id",
    "datasetid",
    "dataset-id",
];
/// Keys that name a table.
const TABLE_KEYS: &[&str] = &[
    "table",
    "table_id",
    "tableid",
    "table_name",
    "tablename",
    "table-id",
    "table-name",
];
/// Keys that name a BigQuery project.
const PROJECT_KEYS: &[&str] = &["project", "project_id", "projectid", "project-id"];

pub(super) struct Cx<'a> {
    pub(super) rules: &'a Rules,
    pub(super) src: &'a [u8],
    /// Values whose SQL the SQL module rewrote: text edits inside give way.
    pub(super) replaced: Vec<Range<usize>>,
    pub(super) schema: crate::SchemaCheck,
    pub(super) matches: &'a [Match],
    pub(super) edits: Vec<Edit>,
    pub(super) findings: Vec<(usize, String)>,
}

fn scalar(t: &Tree) -> Option<(&str, Option<&Range<usize>>)> {
    match t {
        Tree::Scalar { text, range, .. } => Some((text.as_str(), range.as_ref())),
        _ => None,
    }
}

fn key_in(key: &str, set: &[&str]) -> bool {
    set.iter().any(|k| key.eq_ignore_ascii_case(k))
}

impl Cx<'_> {
    fn holds_locator(&self, t: &Tree) -> bool {
        let inside = |r: &Range<usize>| {
            self.matches.iter().any(|m| {
                m.range.start >= r.start
                    && m.range.end <= r.end
                    && self.rules.locators()[m.locator].kind != LocatorKind::Entity
            })
        };
        match t {
            Tree::Scalar { range: Some(r), .. } => inside(r),
            Tree::Seq(items) => items
                .iter()
                .any(|i| matches!(i, Tree::Scalar { range: Some(r), .. } if inside(r))),
            _ => false,
        }
    }

    /// Rule 5 in values: a scalar that holds SQL naming a locator (a
    /// scheduled query's `query: |`, a check's `sql`) goes to the SQL module,
    /// whose edits replace the text edits inside it.
    pub(super) fn sql_values(&mut self, t: &Tree) {
        match t {
            Tree::Map(entries) => entries.iter().for_each(|(_, v)| self.sql_values(v)),
            Tree::Seq(items) => items.iter().for_each(|v| self.sql_values(v)),
            Tree::Scalar {
                text,
                value: Some((at, quoting)),
                ..
            } => self.sql_value(text, *at, *quoting),
            Tree::Template(value, quoting) => self.sql_mapped(value, *quoting),
            Tree::Scalar { .. } | Tree::Other => {}
        }
    }

    fn sql_value(&mut self, text: &str, at: usize, quoting: Quoting) {
        if !text.is_empty() && !self.matches.iter().any(|m| m.range.start >= at) {
            return;
        }
        let value = match align(self.src, at, text, quoting) {
            Ok(v) => v,
            Err(stop) => {
                let span = at..stop;
                if self.names_locator(&span)
                    && crate::sql::holds_sql(self.rules, text.as_bytes(), false)
                {
                    self.replaced.push(span);
                    self.findings.push((
                        at,
                        "this value holds SQL written with escapes tern cannot map back; left whole, table name included".to_string(),
                    ));
                }
                return;
            }
        };
        self.sql_mapped(&value, quoting);
    }

    fn sql_mapped(&mut self, value: &crate::mapped::Mapped, quoting: Quoting) {
        if !self.names_locator(&value.span)
            || !crate::sql::holds_sql(self.rules, value.text.as_bytes(), false)
        {
            return;
        }
        self.replaced.push(value.span.clone());
        let out =
            crate::mapped::rewrite_sql(self.rules, self.src, value, |_, r| encode(quoting, r));
        self.edits.extend(out.edits);
        self.findings.extend(out.findings);
        self.schema.checked += out.schema.checked;
        self.schema.failures.extend(out.schema.failures);
    }

    fn names_locator(&self, span: &Range<usize>) -> bool {
        self.matches.iter().any(|m| {
            m.range.start >= span.start
                && m.range.end <= span.end
                && self.rules.locators()[m.locator].kind != LocatorKind::Entity
        })
    }

    pub(super) fn walk(&mut self, t: &Tree) {
        match t {
            Tree::Map(entries) => {
                self.mapping(entries);
                for (_, v) in entries {
                    self.walk(v);
                }
            }
            Tree::Seq(items) => items.iter().for_each(|i| self.walk(i)),
            _ => {}
        }
    }

    fn edit(&mut self, range: &Range<usize>, written: &str, old: &str, new: &str, exact: bool) {
        self.edits.push(Edit {
            range: range.clone(),
            replacement: follow_case(written, old, new, exact),
        });
    }

    fn mapping(&mut self, entries: &[(String, Tree)]) {
        // Rule 4: the format beside a locator.
        if let Some(f) = self.rules.format().cloned() {
            if entries.iter().any(|(_, v)| self.holds_locator(v)) {
                for (k, v) in entries {
                    if let Some((text, Some(r))) = scalar(v) {
                        if key_in(k, FORMAT_KEYS) && text.eq_ignore_ascii_case(&f.old) {
                            self.edit(r, text, &f.old, &f.new, false);
                        }
                    }
                }
            }
        }
        // Rule 7: a database and a table given apart.
        let find = |set: &[&str]| {
            entries
                .iter()
                .find(|(k, _)| key_in(k, set))
                .and_then(|(_, v)| scalar(v))
        };
        let (Some((db, Some(db_r))), Some((table, Some(table_r)))) =
            (find(DB_KEYS), find(TABLE_KEYS))
        else {
            return;
        };
        let project = find(PROJECT_KEYS);
        let locators: Vec<_> = self
            .rules
            .locators()
            .iter()
            .filter(|l| l.kind == LocatorKind::Table)
            .cloned()
            .collect();
        for l in locators {
            let n = l.old_parts.len();
            if n < 2 || l.new_parts.len() != n {
                continue;
            }
            let exact = l.is_bigquery();
            let same = |a: &str, b: &str| l.same_name(a, b);
            if !same(db, &l.old_parts[n - 2]) || !same(table, &l.old_parts[n - 1]) {
                continue;
            }
            if n == 3 {
                match project {
                    Some((p, Some(pr))) if same(p, &l.old_parts[0]) => {
                        let pr = pr.clone();
                        self.edit(&pr, p, &l.old_parts[0], &l.new_parts[0], true);
                    }
                    Some(_) => continue,
                    None => {
                        self.findings.push((
                            db_r.start,
                            format!("`{db}` and `{table}` name {} without its project, resting on a default project; check it by hand", l.old),
                        ));
                        return;
                    }
                }
            }
            let (db_r, table_r) = (db_r.clone(), table_r.clone());
            self.edit(&db_r, db, &l.old_parts[n - 2], &l.new_parts[n - 2], exact);
            self.edit(
                &table_r,
                table,
                &l.old_parts[n - 1],
                &l.new_parts[n - 1],
                exact,
            );
            return;
        }
    }
}
