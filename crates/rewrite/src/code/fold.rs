//! String constants folded through the repository (docs/rules.md rules 6 and 8).
//!
//! A job rarely writes its dataset as one literal: `BASE + "/plays"`,
//! `f"{ROOT}/plays"`, `os.path.join(BASE, "plays")`, `ExampleData.TABLE` from
//! another file, an option whose default is the table. Each expression made
//! only of literals and constants is folded to the string it holds, so the
//! engine knows exactly what it names: one that folds to a locator is
//! rewritten where it is defined, once (a literal by the text matcher, a
//! concatenation whose parts cannot say the new value by itself as one new
//! literal); one that folds to another name (`TABLE + "_daily"`) is left
//! alone; one that cannot be folded keeps the run-time rules of the module.

use std::collections::HashMap;
use std::ops::Range;

use tree_sitter::Node;

use super::File;
use crate::rules::Constant;
use tern_spec::LocatorKind;

/// How deep a fold follows names and operands: a deeper chain is read as
/// unknown rather than walked (a hostile file cannot recurse without bound).
const MAX_DEPTH: u8 = 16;

/// A name bound in a scope: the node binding it and the value given.
#[derive(Clone, Copy)]
pub(super) struct Bind<'t> {
    /// The binding node (assignment, declaration, parameter).
    pub node: Node<'t>,
    /// The name node.
    pub name: Node<'t>,
    pub scope: (usize, usize),
    /// The value expression, for assignments and declarations.
    pub value: Option<Node<'t>>,
}

/// What a name resolves to where it is used.
pub(super) enum Resolved {
    /// One value (every binding visible there agrees).
    Value(String),
    /// Several bindings visible there, some naming the dataset and some not.
    Mixed,
    Unknown,
}

impl<'a, 't> File<'a, 't> {
    /// Indexes every binding of the file by name.
    pub(super) fn index_bindings(&mut self, nodes: &[Node<'t>]) {
        for &n in nodes {
            let Some((name, scope)) = self.binding(n) else {
                continue;
            };
            let value = self.binding_value(n);
            self.binds.entry(self.text(name)).or_default().push(Bind {
                node: n,
                name,
                scope: (scope.start, scope.end),
                value,
            });
            self.def_names.insert(name.id());
        }
        for &n in nodes {
            let import = (self.lang.import)(n, self.src);
            self.imports.extend(import);
        }
    }

    /// The value expression a binding node gives its name.
    pub(super) fn binding_value(&self, n: Node<'t>) -> Option<Node<'t>> {
        (self.lang.binding_value)(n)
    }

    /// Whether a file imports constant `name` of `qualifier`.
    fn imports_constant(&self, qualifier: &str, name: &str) -> bool {
        let q = format!("{qualifier}.");
        self.imports.iter().any(|i| {
            i.split(',').any(|i| {
                let tail = i
                    .rsplit_once(&q)
                    .map(|(before, rest)| (before.is_empty() || before.ends_with('.'), rest));
                match tail {
                    Some((true, rest)) => {
                        rest == name
                            || rest == "*"
                            || rest == "_"
                            || (rest.starts_with('{')
                                && rest
                                    .trim_matches(|c| c == '{' || c == '}')
                                    .split(',')
                                    .any(|x| x.trim() == name))
                    }
                    _ => i == qualifier && self.lang.module_imports,
                }
            })
        })
    }

    /// The string `n` holds, when it is made only of literals and
    /// constants. With `new`, the string it will hold after the rewrite,
    /// part by part: each literal with the text matcher's edits, each
    /// constant as it is rewritten where it is defined.
    pub(super) fn fold(&self, n: Node<'t>, new: bool, depth: u8) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let d = depth + 1;
        if self.lang.is_concat(n, self.src) {
            let l = self.fold(n.child_by_field_name("left")?, new, d)?;
            let r = self.fold(n.child_by_field_name("right")?, new, d)?;
            return Some(l + &r);
        }
        match n.kind() {
            "parenthesized_expression" => {
                let mut cur = n.walk();
                let inner: Vec<Node> = n.named_children(&mut cur).collect();
                match inner.as_slice() {
                    [one] => self.fold(*one, new, d),
                    _ => None,
                }
            }
            "concatenated_string" => {
                let mut cur = n.walk();
                let parts: Vec<Node> = n.named_children(&mut cur).collect();
                parts.iter().map(|p| self.fold(*p, new, d)).collect()
            }
            "interpolated_string_expression" => {
                let i = n.child_by_field_name("interpolator")?;
                if !matches!(self.text(i), "s" | "raw") {
                    return None;
                }
                let mut cur = n.walk();
                let s = n
                    .named_children(&mut cur)
                    .find(|c| c.kind() == "interpolated_string")?;
                self.fold_string(s, new, d)
            }
            "identifier" => match self.resolve(n, new, d) {
                Resolved::Value(v) => Some(v),
                _ => None,
            },
            _ if self.lang.is_string(n) => self.fold_string(n, new, d),
            _ => {
                if let Some((receiver, name)) = self.field(n) {
                    return self.qualified(receiver, name, new, d);
                }
                self.fold_join(n, new, d)
            }
        }
    }

    /// `os.path.join(a, b)`, as the platform joins paths.
    fn fold_join(&self, n: Node<'t>, new: bool, d: u8) -> Option<String> {
        if !self.is_path_join(n) {
            return None;
        }
        let args = (self.lang.callee)(n)?.1;
        let mut cur = args.walk();
        let mut out = String::new();
        for a in args.named_children(&mut cur) {
            let part = self.fold(a, new, d)?;
            if part.starts_with('/') || out.is_empty() {
                out = part;
            } else {
                if !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&part);
            }
        }
        Some(out)
    }

    /// A string literal's value, with its interpolations folded.
    fn fold_string(&self, s: Node<'t>, new: bool, d: u8) -> Option<String> {
        if !(self.lang.is_text)(s, self.src) {
            return None;
        }
        let (content, mut holes) = self.content(s)?;
        holes.sort_by_key(|h| h.start);
        let mut out = String::new();
        let mut at = content.start;
        for h in holes.iter().filter(|h| h.start >= content.start) {
            out.push_str(&self.literal(at..h.start, new)?);
            out.push_str(&self.fold_hole(s, h.clone(), new, d)?);
            at = h.end.max(at);
        }
        out.push_str(&self.literal(at..content.end.max(at), new)?);
        Some(out)
    }

    /// The literal text of `r` (with the text matcher's edits when `new`);
    /// `None` for escapes, which tern does not decode.
    fn literal(&self, r: Range<usize>, new: bool) -> Option<String> {
        let raw = std::str::from_utf8(self.src.get(r.clone())?).ok()?;
        if raw.contains('\\') {
            return None;
        }
        if !new {
            return Some(raw.to_string());
        }
        let mut out = String::new();
        let mut at = r.start;
        let mut edits: Vec<crate::Edit> = self
            .matches
            .iter()
            .filter(|m| m.range.start >= r.start && m.range.end <= r.end)
            .flat_map(|m| m.edits())
            .collect();
        edits.sort_by_key(|e| e.range.start);
        for e in edits {
            if e.range.start < at {
                continue;
            }
            out.push_str(std::str::from_utf8(&self.src[at..e.range.start]).ok()?);
            out.push_str(&e.replacement);
            at = e.range.end;
        }
        out.push_str(std::str::from_utf8(&self.src[at..r.end]).ok()?);
        Some(out)
    }

    /// An interpolation's value: `{NAME}`, `$NAME`, `${NAME}`.
    fn fold_hole(&self, s: Node<'t>, h: Range<usize>, new: bool, d: u8) -> Option<String> {
        let mut cur = s.walk();
        let node = s
            .named_children(&mut cur)
            .find(|c| c.byte_range() == h && c.kind() == "interpolation");
        if let Some(node) = node {
            return self.fold((self.lang.hole)(node)?, new, d);
        }
        // Kotlin's `$name`, which the grammar leaves as text.
        let t = std::str::from_utf8(&self.src[h.clone()]).ok()?;
        let name = t.strip_prefix('$')?.trim_matches(|c| c == '{' || c == '}');
        match self.resolve_name(name, h, new, d) {
            Resolved::Value(v) => Some(v),
            _ => None,
        }
    }

    /// What identifier `n` holds where it is used.
    pub(super) fn resolve(&self, n: Node<'t>, new: bool, d: u8) -> Resolved {
        self.resolve_name(self.text(n), n.byte_range(), new, d)
    }

    fn resolve_name(&self, name: &str, at: Range<usize>, new: bool, d: u8) -> Resolved {
        let binds = self.binds.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let inner = binds
            .iter()
            .filter(|b| b.scope.0 <= at.start && at.end <= b.scope.1)
            .map(|b| b.scope.1 - b.scope.0)
            .min();
        let Some(inner) = inner else {
            // Not bound here: a constant of another file it imports.
            return self.foreign(None, name, new);
        };
        let visible: Vec<&Bind> = binds
            .iter()
            .filter(|b| b.scope.1 - b.scope.0 == inner && b.scope.0 <= at.start)
            .collect();
        let values: Vec<Option<String>> = visible.iter().map(|b| self.bound_value(b, d)).collect();
        let named = |v: &Option<String>| v.as_deref().is_some_and(|v| self.names_dataset(v));
        match values.first() {
            Some(Some(first)) if values.iter().all(|v| v.as_ref() == Some(first)) => {
                Resolved::Value(if new {
                    self.rewritten(first).0
                } else {
                    first.clone()
                })
            }
            _ if values.iter().any(named) => Resolved::Mixed,
            _ => Resolved::Unknown,
        }
    }

    /// A binding's value as the file has it today, memoised by name node.
    fn bound_value(&self, b: &Bind<'t>, d: u8) -> Option<String> {
        if let Some(v) = self.memo.borrow().get(&b.name.id()) {
            return v.clone();
        }
        // A cycle (`a = a + "x"`) folds to nothing.
        self.memo.borrow_mut().insert(b.name.id(), None);
        let v = b.value.and_then(|v| self.fold(v, false, d));
        self.memo.borrow_mut().insert(b.name.id(), v.clone());
        v
    }

    /// `Q.NAME`: a constant of this file's class or object `Q`, else of
    /// another file.
    fn qualified(&self, receiver: Node<'t>, name: Node<'t>, new: bool, d: u8) -> Option<String> {
        let q = self.text(receiver).rsplit('.').next().unwrap_or("");
        let name = self.text(name);
        let own: Vec<&Bind> = self
            .binds
            .get(name)
            .into_iter()
            .flatten()
            .filter(|b| {
                self.export_qualifier(b)
                    .is_some_and(|x| x.as_deref() == Some(q))
            })
            .collect();
        if let [b] = own.as_slice() {
            let v = self.bound_value(b, d)?;
            return Some(if new { self.rewritten(&v).0 } else { v });
        }
        match self.foreign(Some(q), name, new) {
            Resolved::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A constant of another file: named with its qualifier, or bare where
    /// this file imports it.
    fn foreign(&self, qualifier: Option<&str>, name: &str, new: bool) -> Resolved {
        let found: Vec<&Constant> = self
            .rules
            .constants_named(name)
            .filter(|c| match (qualifier, c.qualifier.as_deref()) {
                (Some(q), Some(cq)) => q == cq,
                (None, Some(cq)) => self.imports_constant(cq, name),
                (None, None) => true,
                (Some(_), None) => false,
            })
            .collect();
        match found.as_slice() {
            [] => Resolved::Unknown,
            [first, rest @ ..] if rest.iter().all(|c| c.value == first.value) => {
                Resolved::Value(if new {
                    self.rewritten(&first.value).0
                } else {
                    first.value.clone()
                })
            }
            _ if found.iter().any(|c| self.names_dataset(&c.value)) => Resolved::Mixed,
            _ => Resolved::Unknown,
        }
    }

    /// The value as the rules rewrite it, and whether a locator matched.
    pub(super) fn rewritten(&self, v: &str) -> (String, bool) {
        let found = crate::text::find(self.rules, v.as_bytes());
        let named = found
            .matches
            .iter()
            .any(|m| self.rules.locators()[m.locator].kind != LocatorKind::Entity);
        let out = crate::apply(v.as_bytes(), found.outcome(v.as_bytes()));
        let text = out
            .output
            .map(|o| String::from_utf8_lossy(&o).into_owned())
            .unwrap_or_else(|| v.to_string());
        (text, named)
    }

    pub(super) fn names_dataset(&self, v: &str) -> bool {
        self.rewritten(v).1
    }

    /// Where other files find a binding: `Some(qualifier)` for a module-level
    /// Python name, a final field of a Java class, a `val` of a Scala object,
    /// a property of a Kotlin object, companion or file; `None` otherwise.
    pub(super) fn export_qualifier(&self, b: &Bind<'t>) -> Option<Option<String>> {
        (self.lang.export)(self, b)
    }

    /// The constants this file gives other files: those naming the
    /// dataset, or the start of a locator (a root another file joins a tail to).
    pub(super) fn exports(&self) -> Vec<Constant> {
        let mut out = Vec::new();
        for (name, binds) in &self.binds {
            if binds.len() != 1 {
                continue;
            }
            let b = &binds[0];
            let Some(qualifier) = self.export_qualifier(b) else {
                continue;
            };
            let Some(value) = self.bound_value(b, 0) else {
                continue;
            };
            // A root another file joins a tail to (`hdfs://nn/warehouse`, a
            // BigQuery project): long enough not to be any word.
            let part =
                value.len() >= 8
                    && self.rules.locators().iter().any(|l| {
                        l.kind != LocatorKind::Entity && l.old.starts_with(value.as_str())
                    });
            if part || self.names_dataset(&value) {
                out.push(Constant {
                    qualifier,
                    name: name.to_string(),
                    value,
                });
            }
        }
        out.sort();
        out
    }

    /// The file stem Python modules are imported by.
    pub(super) fn stem_of(path: &str) -> String {
        let file = path.rsplit('/').next().unwrap_or(path);
        file.split_once('.').map_or(file, |(s, _)| s).to_string()
    }

    /// Whether `n` is a composite string expression: a concatenation, an
    /// interpolated string, a path join.
    pub(super) fn is_composite(&self, n: Node<'t>) -> bool {
        if self.lang.is_concat(n, self.src)
            || matches!(
                n.kind(),
                "concatenated_string" | "interpolated_string_expression"
            )
        {
            return true;
        }
        if self.lang.is_string(n) {
            return n
                .parent()
                .is_none_or(|p| p.kind() != "interpolated_string_expression")
                && self.content(n).is_some_and(|(_, holes)| !holes.is_empty());
        }
        self.is_path_join(n)
    }

    /// `os.path.join(...)` and the like: a call of one of the grammar's path joins.
    fn is_path_join(&self, n: Node<'t>) -> bool {
        self.lang.is_call(n)
            && (self.lang.callee)(n).is_some_and(|(callee, _)| match callee {
                super::grammar::Callee::Expr(f) => self.lang.path_joins.contains(&self.text(f)),
                super::grammar::Callee::Method { .. } => false,
            })
    }

    /// A composite expression that no other composite holds.
    pub(super) fn is_root_composite(&self, n: Node<'t>) -> bool {
        if !self.is_composite(n) {
            return false;
        }
        let mut p = n.parent();
        while let Some(x) = p.filter(|x| x.kind() == "parenthesized_expression") {
            p = x.parent();
        }
        p.is_none_or(|p| !self.is_composite(p))
    }

    /// The language's string literal for `v`.
    pub(super) fn quote(&self, v: &str) -> String {
        let mut out = String::from("\"");
        for c in v.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '$' if self.lang.dollar_escaped => out.push_str("\\$"),
                _ => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// Options whose default names the dataset, by the name code reads them with.
pub(super) type Options = HashMap<String, String>;
