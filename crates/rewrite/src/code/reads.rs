//! Rules 4 and 6 on a read: the chain that reads (or writes) a locator
//! changes format and gets the compatibility renames right after the read;
//! a format key beside a locator in a mapping literal changes.

use tree_sitter::Node;

use super::{File, READER_METHODS, READS, WRITES};
use crate::Edit;

impl<'a, 't> File<'a, 't> {
    /// Rules 4 and 6 on the chain that reads (or writes) a locator.
    pub(super) fn read_chain(&mut self, call: Node<'t>) {
        let Some(c) = self.call(call) else { return };
        let chain = self.chain(call);
        let has = |names: &[&str]| chain.iter().any(|(n, _)| names.contains(&n.as_str()));
        let method = self.text(c.name).to_string();
        // Beam is not Spark: its reads never get `.withColumnRenamed`.
        if has(&["BigQueryIO"]) {
            if !self.rules.columns().is_empty() {
                let reason = if has(&["write", "writeTableRows", "to"]) {
                    "this Beam BigQueryIO write goes to the migrated dataset, whose columns are renamed: rename the fields it writes, by hand"
                } else {
                    "a Beam BigQueryIO read of the dataset that tern cannot turn into a renaming query; rename its columns by hand"
                };
                self.findings.push((call.start_byte(), reason.into()));
            }
            return;
        }
        let is_write = has(WRITES);
        let is_read = !is_write && (has(READS) || method == "table");
        if !is_read && !is_write {
            // `reader.load(p)` on a reader made elsewhere: its format and
            // what follows the read are out of sight.
            let loads = method == "load" || READER_METHODS.contains(&method.as_str());
            if loads && (self.rules.format().is_some() || !self.rules.columns().is_empty()) {
                let via = c
                    .receiver
                    .map_or(String::new(), |r| format!(" through `{}`", self.text(r)));
                self.replaced.push(c.args.byte_range());
                self.findings.push((
                    call.start_byte(),
                    format!("this reads the dataset{via}, a reader tern cannot follow to its format and columns; check them by hand"),
                ));
            }
            return;
        }
        if let Some(f) = self.rules.format().cloned() {
            for (name, node) in &chain {
                let Some(node) = node else { continue };
                if name == "format" {
                    if let Some(arg) = self.call(*node).and_then(|c| self.first_string(c.args)) {
                        self.swap_format(arg, &f.old, &f.new);
                    }
                }
            }
            if method.eq_ignore_ascii_case(&f.old) && READER_METHODS.contains(&method.as_str()) {
                let new = if READER_METHODS.contains(&f.new.as_str()) {
                    f.new.clone()
                } else {
                    format!("format(\"{}\").load", f.new)
                };
                self.edits.push(Edit {
                    range: c.name.byte_range(),
                    replacement: new,
                });
            }
            // Python's `load(p, format="avro")`.
            let mut format_kwargs: Vec<Node<'t>> = Vec::new();
            if let Some(keyword) = self.lang.keyword_argument {
                let mut cur = c.args.walk();
                format_kwargs.extend(c.args.named_children(&mut cur).filter(|kw| {
                    kw.kind() == keyword
                        && kw
                            .child_by_field_name("name")
                            .is_some_and(|n| self.text(n) == "format")
                }));
            }
            // `load(p)` and `save(p)` with no format use Spark's default
            // source, Parquet: a change away from it names the new format.
            let named_format = has(&["format"]) || !format_kwargs.is_empty();
            if f.old == "parquet" && matches!(method.as_str(), "load" | "save") && !named_format {
                self.edits.push(Edit {
                    range: c.name.start_byte()..c.name.start_byte(),
                    replacement: format!("format(\"{}\").", f.new),
                });
            }
            for kw in format_kwargs {
                if let Some(v) = kw.child_by_field_name("value") {
                    if self.lang.is_string(v) {
                        self.swap_format(v, &f.old, &f.new);
                    }
                }
            }
        }
        if self.rules.columns().is_empty() {
            return;
        }
        if is_write {
            self.findings.push((
                call.start_byte(),
                "this writes the migrated dataset, whose columns are renamed: rename the columns before the write, by hand".into(),
            ));
            return;
        }
        // `spark.read.schema(s)`: a schema given in code names the old
        // columns, which the new files do not have (Spark reads them as nulls).
        if has(&["schema"]) {
            self.findings.push((
                call.start_byte(),
                "this read gives its own schema, whose fields name the dataset's old columns: rename them in the schema, by hand".into(),
            ));
        }
        let renames: String = self
            .rules
            .columns()
            .iter()
            .map(|(old, new)| format!(".withColumnRenamed(\"{new}\", \"{old}\")"))
            .collect();
        // Already there (a dataset that stays where it is is found again).
        if self.src[call.end_byte()..].starts_with(renames.as_bytes()) {
            return;
        }
        self.edits.push(Edit {
            range: call.end_byte()..call.end_byte(),
            replacement: renames,
        });
    }

    /// Rule 4 in code: `{"path": p, "format": "avro"}`, `Map("path" -> p,
    /// "format" -> "avro")`, `Map.of("path", p, "format", "avro")`,
    /// `mapOf("path" to p, "format" to "avro")` holding a locator (or a
    /// constant bound to one) as a value: the format beside it changes.
    pub(super) fn mapping_format(&mut self, v: Node<'t>, old: &str, new: &str) {
        let v = match v.parent() {
            Some(p) if p.kind() == "interpolated_string_expression" => p,
            _ => v,
        };
        let Some(parent) = v.parent() else { return };
        let entries = (self.lang.mapping_entries)(self, parent, v);
        for (k, val) in entries {
            let key = self.content(k).map(|(c, _)| &self.src[c]);
            let is_format = key.is_some_and(|key| {
                crate::config::FORMAT_KEYS
                    .iter()
                    .any(|f| key.eq_ignore_ascii_case(f.as_bytes()))
            });
            if is_format && self.lang.is_string(val) {
                self.swap_format(val, old, new);
            }
        }
    }

    pub(super) fn swap_format(&mut self, s: Node<'t>, old: &str, new: &str) {
        let Some((content, _)) = self.content(s) else {
            return;
        };
        let written = std::str::from_utf8(&self.src[content.clone()]).unwrap_or("");
        if written.eq_ignore_ascii_case(old)
            || (old == "avro" && written == "com.databricks.spark.avro")
        {
            self.edits.push(Edit {
                range: content,
                replacement: new.to_string(),
            });
        }
    }
}
