//! BigQuery in Scio and Beam: table reads become query reads over a renaming
//! query when columns are renamed, and a table given by its parts (builders,
//! `TableId.of`) changes part by part (rule 7).

use std::ops::Range;

use tern_spec::LocatorKind;
use tree_sitter::Node;

use super::{renaming_query, File};
use crate::text;
use crate::Edit;

impl<'a, 't> File<'a, 't> {
    /// Scio and Beam BigQuery table reads, when columns are renamed: the same
    /// API's query read over a query that gives the old names back.
    pub(super) fn bigquery(&mut self, n: Node<'t>) -> bool {
        if self.rules.columns().is_empty() {
            return false;
        }
        // A string, or what names one (`from(TABLE)`, `from(t)`,
        // `from(ExampleData.TABLE)`, `from(options.getInput())`).
        let value = match self.bound.get(&n.id()) {
            Some(v) => v.clone(),
            None if self.lang.is_string(n) => self.text(n).to_string(),
            None => return false,
        };
        let found = text::find(self.rules, value.as_bytes());
        let Some(m) = found
            .matches
            .iter()
            .find(|m| self.rules.locators()[m.locator].is_bigquery())
        else {
            return false;
        };
        let locator = &self.rules.locators()[m.locator];
        let query = format!("\"{}\"", renaming_query(self.rules, &locator.new));
        let Some(args) = n.parent() else { return false };
        let Some(outer) = args.parent() else {
            return false;
        };
        // @BigQueryType.fromTable("p:legacy.plays")
        if outer.kind() == "annotation" {
            let Some(name) = outer.child_by_field_name("name") else {
                return false;
            };
            let text = self.text(name);
            if let Some(prefix) = text.strip_suffix("fromTable") {
                self.edits.push(Edit {
                    range: name.byte_range(),
                    replacement: format!("{prefix}fromQuery"),
                });
                self.replace_string(n, query);
                return true;
            }
            return false;
        }
        let Some(c) = self.call(outer) else {
            return false;
        };
        let method = self.text(c.name).to_string();
        // sc.bigQueryTable(Table.Spec("p:legacy.plays"))
        if method == "Spec" {
            let Some(sc_args) = outer.parent() else {
                return false;
            };
            let Some(sc_call) = sc_args.parent() else {
                return false;
            };
            let Some(sc) = self.call(sc_call) else {
                return false;
            };
            if self.text(sc.name) != "bigQueryTable" {
                return false;
            }
            self.edits.push(Edit {
                range: sc.name.byte_range(),
                replacement: "bigQuerySelect".into(),
            });
            let f = outer.child_by_field_name("function").unwrap_or(c.name);
            self.edits.push(Edit {
                range: f.byte_range(),
                replacement: "Query".into(),
            });
            self.replace_string(n, query);
            return true;
        }
        // BigQueryIO.readTableRows().from("p:legacy.plays")
        if method == "from" && self.chain(outer).iter().any(|(n, _)| n == "BigQueryIO") {
            self.edits.push(Edit {
                range: c.name.byte_range(),
                replacement: "fromQuery".into(),
            });
            self.replace_string(n, query);
            self.edits.push(Edit {
                range: outer.end_byte()..outer.end_byte(),
                replacement: ".usingStandardSql()".into(),
            });
            return true;
        }
        false
    }

    /// Rule 7 in code: a BigQuery table given by its parts, as builder
    /// calls (`new TableReference().setProjectId(p).setDatasetId(d).setTableId(t)`)
    /// or `TableId.of(d, t)` / `TableId.of(p, d, t)`: every part changes.
    pub(super) fn split_names(&mut self, nodes: &[Node<'t>]) {
        const SETTERS: [&str; 3] = ["setProjectId", "setDatasetId", "setTableId"];
        for &n in nodes {
            let Some(c) = self.call(n) else { continue };
            let name = self.text(c.name);
            // Each part: the string literal given, or `None` when it is not one.
            let mut parts: [Option<Option<Node<'t>>>; 3] = [None, None, None];
            if SETTERS.contains(&name) {
                // Only the outermost setter of a chain speaks for it.
                let outer = [n.parent(), n.parent().and_then(|p| p.parent())]
                    .into_iter()
                    .flatten()
                    .filter_map(|p| self.call(p))
                    .any(|p| {
                        p.receiver.is_some_and(|r| r.byte_range() == n.byte_range())
                            && SETTERS.contains(&self.text(p.name))
                    });
                if outer {
                    continue;
                }
                for (setter, call) in self.chain(n) {
                    let (Some(i), Some(call)) = (SETTERS.iter().position(|s| *s == setter), call)
                    else {
                        continue;
                    };
                    let args = self.call(call).map(|c| c.args);
                    parts[i] = Some(args.and_then(|a| self.only_string(a)));
                }
            } else if name == "of"
                && c.receiver
                    .is_some_and(|r| self.text(r).ends_with("TableId"))
            {
                let mut cur = c.args.walk();
                let args: Vec<Node> = c.args.named_children(&mut cur).collect();
                let strings: Vec<Option<Node>> = args
                    .iter()
                    .map(|a| {
                        // Kotlin wraps each argument.
                        let a = if a.kind() == "value_argument" {
                            let mut cur = a.walk();
                            a.named_children(&mut cur).last().unwrap_or(*a)
                        } else {
                            *a
                        };
                        self.lang.is_string(a).then_some(a)
                    })
                    .collect();
                match strings.as_slice() {
                    [d, t] => (parts[1], parts[2]) = (Some(*d), Some(*t)),
                    [p, d, t] => parts = [Some(*p), Some(*d), Some(*t)],
                    _ => continue,
                }
            } else {
                continue;
            }
            self.split_name(n, parts);
        }
    }

    pub(super) fn split_name(&mut self, at: Node<'t>, parts: [Option<Option<Node<'t>>>; 3]) {
        let value = |n: Option<Option<Node<'t>>>| -> Option<Option<(Range<usize>, String)>> {
            n.map(|s| {
                s.and_then(|s| {
                    let (r, holes) = self.content(s)?;
                    holes.is_empty().then(|| (r.clone(), self.text_at(r)))
                })
            })
        };
        let [project, dataset, table] = parts.map(value);
        let (Some(dataset), Some(table)) = (dataset, table) else {
            return;
        };
        let Some((table_r, table_v)) = table else {
            return;
        };
        for l in self.rules.locators().iter() {
            if l.kind != LocatorKind::Table || l.old_parts.len() < 2 {
                continue;
            }
            let n = l.old_parts.len();
            let exact = l.is_bigquery();
            let same = |a: &str, b: &str| l.same_name(a, b);
            if !same(&table_v, &l.old_parts[n - 1]) {
                continue;
            }
            let Some((dataset_r, dataset_v)) = dataset.clone() else {
                self.findings.push((
                    at.start_byte(),
                    format!("a table `{table_v}` is given apart from a dataset tern cannot read here; check whether it is {} by hand", l.old),
                ));
                return;
            };
            if !same(&dataset_v, &l.old_parts[n - 2]) {
                continue;
            }
            let project = match (n, &project) {
                (3, Some(Some((r, v)))) if same(v, &l.old_parts[0]) => Some(r.clone()),
                (3, Some(Some(_))) => continue,
                (3, _) => {
                    self.findings.push((
                        at.start_byte(),
                        format!("`{dataset_v}.{table_v}` names {} without its project (a default project, or one tern cannot read); check it by hand", l.old),
                    ));
                    return;
                }
                _ => None,
            };
            if !self.rules.columns().is_empty() {
                self.findings.push((
                    at.start_byte(),
                    format!("{} is given by its parts here and its columns are renamed; a read of it needs the renaming query, which tern writes only where the table is one string; change it by hand", l.old),
                ));
                return;
            }
            let (old, new) = (l.old_parts.clone(), l.new_parts.clone());
            let m = new.len();
            if m != n {
                self.findings.push((
                    at.start_byte(),
                    format!("{} is given by its parts and its new name has another number of parts; change it by hand", l.old),
                ));
                return;
            }
            let project = project.map(|r| {
                let v = self.text_at(r.clone());
                (r, v)
            });
            let mut put = |r: Range<usize>, v: &str, i: usize| {
                self.edits.push(Edit {
                    range: r,
                    replacement: crate::name::follow_case(v, &old[i], &new[i], exact),
                });
            };
            if let Some((r, v)) = project {
                put(r, &v, 0);
            }
            put(dataset_r, &dataset_v, n - 2);
            put(table_r, &table_v, n - 1);
            return;
        }
    }
}
