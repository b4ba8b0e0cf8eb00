//! BigQuery Storage API reads in Scio and Beam (docs/rules.md rules 6 and 11).
//!
//! A Storage read names its columns itself (`selectedFields`,
//! `rowRestriction`) and cannot be turned into a query read (Beam refuses
//! selected fields on a query), so it keeps reading the table and the
//! fields it names follow the renames. What it gives the job then carries
//! the new names: a generated type's fields are reported, and the file's
//! `row.get("old_name")` calls fail the schema check.

use tree_sitter::Node;

use super::File;
use crate::{Edit, Finding};

/// Calls that read a TableRow's field by name.
const ROW_GETTERS: &[&str] = &["get", "getOrDefault", "containsKey"];

impl<'a, 't> File<'a, 't> {
    /// When `n` (the table, or what names it) is the table of a Storage
    /// read, renames the fields the read names and says so.
    pub(super) fn storage(&mut self, n: Node<'t>) -> bool {
        let Some(args) = n.parent() else { return false };
        let Some(outer) = args.parent() else {
            return false;
        };
        // @BigQueryType.fromStorage(t, selectedFields = ..., rowRestriction = ...)
        if outer.kind() == "annotation" {
            let typed = outer
                .child_by_field_name("name")
                .is_some_and(|x| self.text(x).ends_with("fromStorage"));
            if typed {
                self.storage_arguments(outer, args, true);
            }
            return typed;
        }
        let Some(c) = self.call(outer) else {
            return false;
        };
        // sc.bigQueryStorage(Table.Spec(t), selectedFields = ..., rowRestriction = ...)
        if self.text(c.name) == "Spec" {
            let site = outer
                .parent()
                .and_then(|a| a.parent().map(|p| (a, p)))
                .and_then(|(a, p)| self.call(p).map(|sc| (a, p, sc)));
            let Some((sc_args, sc_call, sc)) = site else {
                return false;
            };
            let name = self.text(sc.name);
            let name = name.split('[').next().unwrap_or(name);
            if !matches!(name, "bigQueryStorage" | "typedBigQueryStorage") {
                return false;
            }
            self.storage_arguments(sc_call, sc_args, name == "typedBigQueryStorage");
            return true;
        }
        // BigQueryIO.readTableRows().from(t).withSelectedFields(..).withRowRestriction(..)
        if self.text(c.name) != "from" {
            return false;
        }
        let top = self.chain_above(outer).last().copied().unwrap_or(outer);
        let chain = self.chain(top);
        if !chain.iter().any(|(n, _)| n == "BigQueryIO") {
            return false;
        }
        let mut storage = false;
        for (name, call) in chain {
            let Some(args) = call.and_then(|c| self.call(c)).map(|c| c.args) else {
                continue;
            };
            match name.as_str() {
                "withSelectedFields" => {
                    storage = true;
                    self.rename_fields(args);
                }
                "withRowRestriction" => {
                    storage = true;
                    self.rename_restriction(args);
                }
                _ => {}
            }
        }
        if storage {
            self.storage_rows += 1;
        }
        storage
    }

    /// The named arguments of a Scio Storage read; `typed` when the read
    /// generates or fills a type whose fields are the columns.
    fn storage_arguments(&mut self, site: Node<'t>, args: Node<'t>, typed: bool) {
        let mut cur = args.walk();
        let named: Vec<Node> = args
            .named_children(&mut cur)
            .filter(|a| a.kind() == "assignment_expression")
            .collect();
        let mut selected: Option<Vec<String>> = None;
        for a in named {
            let (Some(key), Some(value)) = (
                a.child_by_field_name("left"),
                a.child_by_field_name("right"),
            ) else {
                continue;
            };
            match self.text(key) {
                "selectedFields" => selected = Some(self.rename_fields(value)),
                "rowRestriction" => self.rename_restriction(value),
                _ => {}
            }
        }
        if !typed {
            self.storage_rows += 1;
            return;
        }
        let renamed: Vec<String> = self
            .rules
            .columns()
            .iter()
            .filter(|(old, _)| {
                selected
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|f| f.eq_ignore_ascii_case(old)))
            })
            .map(|(old, new)| format!("{old} → {new}"))
            .collect();
        if !renamed.is_empty() {
            self.findings.push((
                site.start_byte(),
                format!("this Storage API read keeps reading the table, so the fields of its type take the new column names ({}); code using the old field names must follow, by hand", renamed.join(", ")),
            ));
        }
    }

    /// Renames the string literals under `n` that name an old column;
    /// returns the fields as they were written.
    fn rename_fields(&mut self, n: Node<'t>) -> Vec<String> {
        let mut fields = Vec::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if self.lang.is_string(x) {
                if let Some((content, holes)) = self.content(x) {
                    let v = self.text_at(content.clone());
                    if holes.is_empty() {
                        if let Some((_, new)) = self
                            .rules
                            .columns()
                            .iter()
                            .find(|(old, _)| old.eq_ignore_ascii_case(&v))
                        {
                            self.edits.push(Edit {
                                range: content,
                                replacement: new.clone(),
                            });
                        }
                    }
                    fields.push(v);
                }
                continue;
            }
            let mut cur = x.walk();
            stack.extend(x.named_children(&mut cur));
        }
        fields
    }

    /// Renames the columns of a `rowRestriction` filter, or reports it.
    fn rename_restriction(&mut self, n: Node<'t>) {
        let s = if self.lang.is_string(n) {
            Some(n)
        } else {
            self.first_string(n)
        };
        let content = s
            .and_then(|s| self.content(s))
            .filter(|(_, h)| h.is_empty());
        let edits = content.as_ref().and_then(|(r, _)| {
            let text = std::str::from_utf8(&self.src[r.clone()]).ok()?;
            crate::sql::rename_in_expression(self.rules, text)
        });
        match (content, edits) {
            (Some((r, _)), Some(edits)) => {
                self.edits.extend(edits.into_iter().map(|e| Edit {
                    range: r.start + e.range.start..r.start + e.range.end,
                    replacement: e.replacement,
                }));
            }
            _ => self.findings.push((
                n.start_byte(),
                "a Storage API row restriction tern cannot read; rename its columns by hand".into(),
            )),
        }
    }

    /// Rule 11 for untyped Storage reads: the rows carry the new column
    /// names, so a field read by an old name is a schema failure.
    pub(super) fn storage_check(&mut self, nodes: &[Node<'t>]) {
        if self.storage_rows == 0 {
            return;
        }
        self.schema.checked += self.storage_rows;
        for &n in nodes {
            let Some(c) = self.call(n) else { continue };
            if !ROW_GETTERS.contains(&self.text(c.name)) {
                continue;
            }
            let Some(arg) = self.first_string(c.args) else {
                continue;
            };
            let Some((content, _)) = self.content(arg) else {
                continue;
            };
            let v = self.text_at(content);
            if let Some((old, new)) = self.rules.columns().iter().find(|(old, _)| *old == v) {
                self.schema.failures.push(Finding::at(
                    self.src,
                    n.start_byte(),
                    format!("`{old}` is read from rows of a Storage API read of the new dataset, where it is `{new}`; rename it by hand"),
                ));
            }
        }
    }
}
