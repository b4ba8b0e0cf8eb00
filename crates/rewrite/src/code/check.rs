//! Rule 11 on DataFrame reads: the rewritten file is read again, and each
//! Spark read of the new dataset that has no compatibility rename must not
//! name an old column in what the job does with it (`select("user_id")`,
//! `col("ts")`, `groupBy`, `where`), in its own chain or through the name it
//! is bound to.

use tree_sitter::Node;

use super::{File, READS};
use crate::Finding;

/// DataFrame methods whose string arguments are column names or expressions.
const COLUMN_CALLS: &[&str] = &[
    "select",
    "selectExpr",
    "groupBy",
    "orderBy",
    "sort",
    "where",
    "filter",
    "drop",
    "col",
    "column",
    "agg",
    "withColumn",
    "dropDuplicates",
    "partitionBy",
];

impl<'a, 't> File<'a, 't> {
    /// Checks one read of the new dataset (rules here are the checker's).
    pub(super) fn check_read(&mut self, call: Node<'t>, columns: &[(String, String)]) {
        let chain = self.chain(call);
        if !chain.iter().any(|(n, _)| READS.contains(&n.as_str())) {
            return;
        }
        self.schema.checked += 1;
        let Some(top) = self.check_chain(call, columns) else {
            return;
        };
        // `df = spark.read...`: the uses of `df` in its scope.
        let Some(p) = top.parent() else { return };
        let Some((name, scope)) = self.binding(p) else {
            return;
        };
        if self.binding_value(p) != Some(top) {
            return;
        }
        for u in self.identifiers_in(scope, self.text(name), name.end_byte()) {
            self.check_chain(u, columns);
        }
    }

    /// Walks the calls hanging on `n` (`n.where(..).select(..)`) until a
    /// compatibility rename; returns the chain's top, or `None` when renamed.
    fn check_chain(&mut self, n: Node<'t>, columns: &[(String, String)]) -> Option<Node<'t>> {
        let above = self.chain_above(n);
        for &p in &above {
            if let Some(c) = self.call(p) {
                let method = self.text(c.name);
                if method == "withColumnRenamed" || method == "toDF" {
                    return None;
                }
                if COLUMN_CALLS.contains(&method) {
                    self.check_arguments(c.args, columns);
                }
            }
        }
        Some(above.last().copied().unwrap_or(n))
    }

    /// Old column names among the string arguments (and `col("x")` inside them).
    fn check_arguments(&mut self, args: Node<'t>, columns: &[(String, String)]) {
        let mut stack = vec![args];
        while let Some(x) = stack.pop() {
            if self.lang.is_string(x) {
                let Some((content, holes)) = self.content(x) else {
                    continue;
                };
                if !holes.is_empty() {
                    continue;
                }
                let v = self.text_at(content);
                // A column, or a SQL expression over columns (`"ts > 0"`).
                let words = v
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty());
                for w in words {
                    if let Some((old, new)) = columns.iter().find(|(old, _)| old == w) {
                        self.schema.failures.push(Finding::at(
                            self.src,
                            x.start_byte(),
                            format!("`{old}` is not a column of the new dataset (it is `{new}`), and this read of it has no compatibility rename; rename it by hand"),
                        ));
                        break;
                    }
                }
                continue;
            }
            let mut cur = x.walk();
            stack.extend(x.named_children(&mut cur));
        }
    }

    /// Identifiers named `name` in `scope` after byte `from`.
    fn identifiers_in(
        &self,
        scope: std::ops::Range<usize>,
        name: &str,
        from: usize,
    ) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        let mut stack = vec![self.tree.root_node()];
        while let Some(x) = stack.pop() {
            if x.end_byte() <= from.max(scope.start) || x.start_byte() >= scope.end {
                continue;
            }
            if x.kind() == "identifier" && self.text(x) == name && x.start_byte() >= from {
                out.push(x);
                continue;
            }
            let mut cur = x.walk();
            stack.extend(x.named_children(&mut cur));
        }
        out
    }
}
