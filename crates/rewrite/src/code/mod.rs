//! Spark, Scio and Beam jobs in Python, Scala, Java and Kotlin, read with tree-sitter
//! grammars (docs/rules.md rules 4, 5, 6 and 8).
//!
//! Locators are found by the boundary-aware text matcher wherever they are
//! (strings, interpolations, comments); the syntax tree adds what text cannot
//! know:
//! - a string that holds SQL is handed to the SQL module, like ast-grep's
//!   language injection, with interpolations masked so their bytes stay;
//! - the call chain that reads a locator (directly or through a constant that
//!   holds it) changes format and gets the compatibility renames right after
//!   the read, and only that chain: other reads in the file keep their format;
//! - BigQuery table reads in Scio and Beam become query reads over a renaming
//!   query;
//! - a string that only holds the tail of a location (`base + "/plays"`) is
//!   reported as a path built at run time.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use tern_spec::LocatorKind;
use tree_sitter::{Node, Parser, Tree};

mod check;
mod fold;
mod grammar;
mod lang;
mod sql_text;
mod storage;

use crate::rules::Rules;
use crate::text::{self, Match};
use crate::{Edit, Finding, Language, Outcome};
use grammar::{Callee, Grammar, GRAMMARS};
use sql_text::{Part, SqlText};

/// The code modules: one per grammar.
pub struct CodeModule {
    lang: &'static Grammar,
}

impl CodeModule {
    /// Whether any code module reads the file at `path`.
    pub fn claimed(path: &str) -> bool {
        GRAMMARS.iter().any(|g| g.claims(path))
    }

    /// Every code module, one per row of the grammar table.
    pub fn all() -> impl Iterator<Item = CodeModule> {
        GRAMMARS.iter().map(|&lang| CodeModule { lang })
    }
}

impl Language for CodeModule {
    fn name(&self) -> &'static str {
        self.lang.name
    }

    fn claims(&self, path: &str) -> bool {
        self.lang.claims(path)
    }

    fn rewrite(&self, rules: &Rules, path: &str, text: &[u8]) -> Outcome {
        let tree = parse(self.lang, text);
        match tree {
            Some(tree) if !tree.root_node().has_error() => {
                let out = File::new(self.lang, rules, path, text, &tree).run();
                if out.edits.is_empty() {
                    return out;
                }
                // The grammar reads the output again: a rewrite that breaks
                // the file's syntax is not proposed (and would not settle).
                let written = crate::apply(text, out.clone()).output;
                let reparsed = written
                    .as_ref()
                    .map(|w| parse(self.lang, w).filter(|t| !t.root_node().has_error()));
                match (&written, reparsed) {
                    (Some(w), Some(Some(t))) => {
                        // Rule 11: the output's reads of the new dataset.
                        let mut out = out;
                        if let (Some(checker), false) =
                            (rules.checker(), rules.columns().is_empty())
                        {
                            let mut file = File::new(self.lang, checker, path, w, &t);
                            file.check = Some(rules.columns());
                            out.schema.absorb(file.run().schema);
                        }
                        return out;
                    }
                    (None, _) => return out,
                    _ => {}
                }
                let mut findings = out.findings;
                findings.push(Finding {
                    line: 1,
                    reason: format!("tern's rewrite of this {} file would not parse again; nothing changed, check it by hand", self.name()),
                });
                Outcome {
                    edits: vec![],
                    findings,
                    dbt: out.dbt,
                    schema: out.schema,
                    constants: out.constants,
                }
            }
            _ => {
                let mut out = crate::TextModule.rewrite(rules, path, text);
                if !rules.columns().is_empty() && !out.edits.is_empty() {
                    out.findings.push(Finding {
                        line: 1,
                        reason: format!("tern cannot parse this {} file, so the reads' columns were not renamed; check them by hand", self.name()),
                    });
                }
                out
            }
        }
    }
}

thread_local! {
    /// One parser per grammar per thread: a parser's buffers are reused
    /// from file to file instead of being allocated for each.
    static PARSERS: std::cell::RefCell<Vec<(&'static str, Parser)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn parse(lang: &'static Grammar, text: &[u8]) -> Option<Tree> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let i = match parsers.iter().position(|(l, _)| *l == lang.name) {
            Some(i) => i,
            None => {
                let mut p = Parser::new();
                p.set_language(&(lang.language)()).ok()?;
                parsers.push((lang.name, p));
                parsers.len() - 1
            }
        };
        let parser = &mut parsers[i].1;
        let tree = parser.parse(text, None);
        parser.reset();
        tree
    })
}

/// Method names on a read's chain that make it a read or a write.
const READS: &[&str] = &["read", "readStream"];
const WRITES: &[&str] = &[
    "write",
    "writeStream",
    "writeTo",
    "save",
    "saveAsTable",
    "insertInto",
];
/// DataFrameReader shorthands a format change can call instead of `avro(p)`.
const READER_METHODS: &[&str] = &["parquet", "orc", "json", "csv", "text", "avro"];

/// A call split into receiver, method name and argument list.
struct Call<'t> {
    receiver: Option<Node<'t>>,
    name: Node<'t>,
    args: Node<'t>,
}

struct File<'a, 't> {
    lang: &'static Grammar,
    rules: &'a Rules,
    src: &'a [u8],
    tree: &'t Tree,
    /// The text matcher's locator matches; their edits apply unless a
    /// structural rule replaced the range they lie in.
    matches: Vec<Match>,
    edits: Vec<Edit>,
    findings: Vec<(usize, String)>,
    /// Ranges whose text edits are replaced by the edits of a structural rule.
    replaced: Vec<Range<usize>>,
    /// The schema check of the SQL strings, by file line.
    schema: crate::SchemaCheck,
    /// Expressions read as naming the dataset (a name, a constant of another
    /// file, a folded concatenation): node id to the value they hold today.
    bound: HashMap<usize, String>,
    /// Every binding of the file by name, and the name nodes that bind.
    binds: HashMap<&'a str, Vec<fold::Bind<'t>>>,
    def_names: HashSet<usize>,
    /// The file's imports, as dotted paths (`x.ExampleData.TABLE`, `config.*`).
    imports: Vec<String>,
    /// Folded values of bindings, by name node.
    memo: std::cell::RefCell<HashMap<usize, Option<String>>>,
    /// The Python module name other files import this one by.
    stem: String,
    /// Untyped Storage API reads of the dataset whose fields were renamed.
    storage_rows: usize,
    /// Rule 11's second reading of a rewritten file, with the migration's
    /// column renames: reads are checked, nothing is edited.
    check: Option<&'a [(String, String)]>,
}

impl<'a, 't> File<'a, 't> {
    fn new(
        lang: &'static Grammar,
        rules: &'a Rules,
        path: &str,
        src: &'a [u8],
        tree: &'t Tree,
    ) -> File<'a, 't> {
        let found = text::find(rules, src);
        File {
            lang,
            rules,
            src,
            tree,
            matches: found.matches,
            edits: vec![],
            findings: found.unresolved,
            replaced: vec![],
            schema: crate::SchemaCheck::default(),
            bound: HashMap::new(),
            binds: HashMap::new(),
            def_names: HashSet::new(),
            imports: vec![],
            memo: Default::default(),
            stem: File::stem_of(path),
            storage_rows: 0,
            check: None,
        }
    }

    fn text(&self, n: Node) -> &'a str {
        std::str::from_utf8(&self.src[n.byte_range()]).unwrap_or("")
    }

    fn run(mut self) -> Outcome {
        let mut nodes = Vec::new();
        let mut cursor = self.tree.walk();
        loop {
            nodes.push(cursor.node());
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break;
                }
            }
            if cursor.node() == self.tree.root_node() {
                break;
            }
        }
        let strings: Vec<Node> = nodes
            .iter()
            .copied()
            .filter(|n| self.lang.is_string(*n))
            .collect();
        self.index_bindings(&nodes);
        let sql = match self.check {
            Some(_) => HashSet::new(),
            None => self.sql_values(&strings),
        };
        let mut bearing: Vec<Node> = Vec::new();
        // Composite expressions, folded to the string they hold.
        let mut folded: Vec<Range<usize>> = Vec::new();
        let mut failed: Vec<Node> = Vec::new();
        for &n in &nodes {
            if !self.is_root_composite(n) {
                continue;
            }
            let r = n.byte_range();
            let inside = |x: &Range<usize>| x.start <= r.start && r.end <= x.end;
            if folded.iter().any(inside) {
                continue;
            }
            let holds_sql = strings.iter().any(|s| {
                sql.contains(&s.id()) && r.start <= s.start_byte() && s.end_byte() <= r.end
            });
            if holds_sql {
                continue;
            }
            let Some(old) = self.fold(n, false, 0) else {
                failed.push(n);
                continue;
            };
            folded.push(r.clone());
            let (target, named) = self.rewritten(&old);
            let by_parts = self.fold(n, true, 0).unwrap_or_default();
            if crate::sql::holds_sql(self.rules, old.as_bytes(), true) {
                if named && (!self.rules.columns().is_empty() || by_parts != target) {
                    self.replaced.push(r.clone());
                    self.findings.push((
                        r.start,
                        format!("this SQL names the dataset through constants (`{}`); tern rewrites SQL where the table is written in it, so check this one by hand", self.text(n)),
                    ));
                }
                continue;
            }
            // What the parts would say after their own rewrites is not
            // always the value's: `BASE + "/plays"` must say the new location
            // though neither part names it, and `TABLE + "_daily"` (another
            // table) or `OTHER_ROOT + "/warehouse/plays"` (another root) must
            // keep theirs though a part is rewritten. Then the whole
            // expression becomes one literal.
            if by_parts != target {
                let literal = self.quote(&target);
                self.replace_string(n, literal);
            }
            if named {
                self.bound.insert(n.id(), old);
                bearing.push(n);
            }
        }
        let in_folded =
            |x: Range<usize>| folded.iter().any(|f| f.start <= x.start && x.end <= f.end);
        // Strings holding a locator.
        for s in &strings {
            if in_folded(s.byte_range()) {
                continue;
            }
            let r = s.byte_range();
            let holds = self.matches.iter().any(|m| {
                m.range.start >= r.start
                    && m.range.end <= r.end
                    && self.rules.locators()[m.locator].kind != LocatorKind::Entity
            });
            if !holds {
                self.run_time_path(*s);
                continue;
            }
            if self.computed_prefix(*s) || sql.contains(&s.id()) {
                continue;
            }
            bearing.push(*s);
        }
        // Names and constants holding a locator: each use reads the binding
        // in scope, so a same-named local in another function, a parameter
        // or a reassignment is not the dataset.
        for &n in &nodes {
            let ident = n.kind() == "identifier";
            let field = (!ident).then(|| self.field(n)).flatten();
            if (!ident && field.is_none())
                || self.def_names.contains(&n.id())
                || in_folded(n.byte_range())
            {
                continue;
            }
            let name = match field {
                Some((_, name)) => self.text(name),
                None => self.text(n),
            };
            if !self.binds.contains_key(name) && self.rules.constants_named(name).next().is_none() {
                continue;
            }
            if ident && self.is_member_name(n) {
                continue;
            }
            let value = match field {
                None => self.resolve(n, false, 0),
                Some(_) => match self.fold(n, false, 0) {
                    Some(v) => fold::Resolved::Value(v),
                    None => fold::Resolved::Unknown,
                },
            };
            match value {
                fold::Resolved::Value(v) if self.names_dataset(&v) => {
                    let root = failed
                        .iter()
                        .filter(|f| f.start_byte() <= n.start_byte() && n.end_byte() <= f.end_byte())
                        .min_by_key(|f| f.byte_range().len())
                        .copied();
                    if let Some(root) = root {
                        if !self.continues_as_part(root, n) {
                            self.findings.push((
                                n.start_byte(),
                                format!("name built at run time: `{}` joins `{}` to a value tern cannot know, which may name another dataset; check it by hand", self.text(root), self.text(n)),
                            ));
                            continue;
                        }
                    }
                    self.bound.insert(n.id(), v);
                    bearing.push(n);
                }
                fold::Resolved::Mixed => self.findings.push((
                    n.start_byte(),
                    format!("`{name}` is bound to the dataset's location here and to another value in the same scope; tern cannot tell which this use reads, so check it by hand"),
                )),
                _ => {}
            }
        }
        self.options(&nodes, &mut bearing);
        let constants = self.exports();
        if let Some(columns) = self.check {
            let mut done = HashSet::new();
            for n in bearing {
                if let Some(call) = self.read_call(n) {
                    if done.insert(call.id()) {
                        self.check_read(call, columns);
                    }
                }
            }
            return Outcome {
                schema: self.schema,
                ..Outcome::default()
            };
        }
        self.split_names(&nodes);
        if let Some(f) = self.rules.format().cloned() {
            for n in &bearing {
                self.mapping_format(*n, &f.old, &f.new);
            }
        }
        let mut reads_done: HashSet<usize> = HashSet::new();
        let columns = !self.rules.columns().is_empty();
        for n in bearing {
            if (columns && self.storage(n)) || self.bigquery(n) {
                continue;
            }
            if let Some(call) = self.read_call(n) {
                if reads_done.insert(call.id()) {
                    self.read_chain(call);
                }
            }
        }
        self.storage_check(&nodes);
        let File {
            src,
            matches,
            mut edits,
            findings,
            replaced,
            schema,
            ..
        } = self;
        edits.extend(matches.iter().flat_map(Match::edits).filter(|e| {
            !replaced
                .iter()
                .any(|r| e.range.start >= r.start && e.range.end <= r.end)
        }));
        Outcome {
            edits,
            findings: findings
                .into_iter()
                .map(|(at, reason)| Finding::at(src, at, reason))
                .collect(),
            dbt: vec![],
            schema,
            constants,
        }
    }

    /// The name after a dot (`x.name`), a keyword argument's name
    /// (`load(path=p)`): words that are not names of their own.
    fn is_member_name(&self, n: Node<'t>) -> bool {
        let Some(p) = n.parent() else { return false };
        if self.field(p).is_some_and(|(_, name)| name.id() == n.id()) {
            return true;
        }
        Some(p.kind()) == self.lang.keyword_argument
            && p.child_by_field_name("name")
                .is_some_and(|k| k.id() == n.id())
    }

    /// In a concatenation tern cannot fold, whether the name `n` stays the
    /// dataset: what follows it is a sub-path or a partition (`/dt=`,
    /// BigQuery's `$20260101`), or nothing. `TABLE + "_daily"`,
    /// `f"{TABLE}_{env}"` or `PLAYS + suffix` may be another dataset.
    fn continues_as_part(&self, root: Node<'t>, n: Node<'t>) -> bool {
        let mut parts = Vec::new();
        self.parts(root, &mut parts);
        let r = n.byte_range();
        let inside = |x: &Range<usize>| x.start <= r.start && r.end <= x.end;
        let text = |from: usize, content: &Range<usize>, holes: &[Range<usize>]| {
            let to = holes
                .iter()
                .map(|h| h.start)
                .filter(|&s| s >= from)
                .min()
                .unwrap_or(content.end);
            self.src.get(from..to.max(from)).unwrap_or(b"").to_vec()
        };
        let mut next: Option<Vec<u8>> = None;
        for (i, p) in parts.iter().enumerate() {
            match p {
                Part::Code(c) if inside(c) => {
                    next = match parts.get(i + 1) {
                        None => Some(vec![]),
                        Some(Part::Str { content, holes, .. }) => {
                            Some(text(content.start, content, holes))
                        }
                        Some(Part::Code(_)) => None,
                    };
                    break;
                }
                Part::Str { content, holes, .. } => {
                    if let Some(h) = holes.iter().find(|h| inside(h)) {
                        next = Some(text(h.end, content, holes));
                        break;
                    }
                }
                _ => {}
            }
        }
        next.is_some_and(|t| t.is_empty() || t.starts_with(b"/") || t.starts_with(b"$"))
    }

    /// Options whose default names the dataset (`@Default.String(TABLE)` on
    /// a Beam options getter, `parser.add_argument("--input", default=TABLE)`):
    /// code reading the option reads the dataset unless told otherwise.
    fn options(&mut self, nodes: &[Node<'t>], bearing: &mut Vec<Node<'t>>) {
        let mut options: fold::Options = HashMap::new();
        for &n in nodes {
            if let Some((name, default)) = (self.lang.option_default)(self, n) {
                options.insert(name, default);
            }
        }
        options.retain(|_, v| self.names_dataset(v));
        if options.is_empty() {
            return;
        }
        for &n in nodes {
            let Some(name) = (self.lang.option_read)(self, n) else {
                continue;
            };
            if let Some(v) = options.get(name) {
                self.bound.insert(n.id(), v.clone());
                bearing.push(n);
            }
        }
    }

    /// A name node `n` binds, and the byte range of the scope it binds in:
    /// assignments and declarations of every grammar, and parameters.
    fn binding(&self, n: Node<'t>) -> Option<(Node<'t>, Range<usize>)> {
        let name = (self.lang.binding_name)(n)?;
        let scopes = self.lang.scopes;
        let mut up = n.parent();
        while let Some(p) = up {
            if scopes.contains(&p.kind()) {
                return Some((name, p.byte_range()));
            }
            up = p.parent();
        }
        Some((name, self.tree.root_node().byte_range()))
    }

    fn call(&self, n: Node<'t>) -> Option<Call<'t>> {
        if !self.lang.is_call(n) {
            return None;
        }
        let (callee, args) = (self.lang.callee)(n)?;
        // `recv.name(...)` or a bare `name(...)`.
        let (receiver, name) = match callee {
            Callee::Method { receiver, name } => (receiver, name),
            Callee::Expr(f) => match self.field(f) {
                Some((receiver, name)) => (Some(receiver), name),
                None => (None, f),
            },
        };
        Some(Call {
            receiver,
            name,
            args,
        })
    }

    /// `a.b` in any grammar (`attribute`, `field_expression`,
    /// `navigation_expression`): the receiver and the name after the dot.
    fn field(&self, n: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
        (self.lang.member)(n)
    }

    /// The innermost call whose arguments hold `n`, unless it is `spark.sql`.
    fn read_call(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut cur = n;
        while let Some(p) = cur.parent() {
            if let Some(c) = self.call(p) {
                if c.args.start_byte() <= n.start_byte() && n.end_byte() <= c.args.end_byte() {
                    let name = self.text(c.name);
                    return (name != "sql").then_some(p);
                }
            }
            cur = p;
        }
        None
    }

    /// The calls and fields a read call hangs on: `spark.read.format("avro").load(p)`
    /// gives `load`, `format`, `read`, `spark`, with the calls among them.
    fn chain(&self, call: Node<'t>) -> Vec<(String, Option<Node<'t>>)> {
        let mut out = Vec::new();
        let mut cur = Some(call);
        while let Some(n) = cur {
            if let Some(c) = self.call(n) {
                out.push((self.text(c.name).to_string(), Some(n)));
                cur = c.receiver;
            } else if let Some((receiver, name)) = self.field(n) {
                out.push((self.text(name).to_string(), None));
                cur = Some(receiver);
            } else {
                out.push((self.text(n).to_string(), None));
                cur = None;
            }
        }
        out
    }

    /// The calls and fields hanging on `n`, bottom up: `n.where(..).select(..)`
    /// gives the `where` field, its call, the `select` field and its call
    /// (Java's calls take their receiver directly).
    fn chain_above(&self, n: Node<'t>) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        let mut top = n;
        while let Some(p) = top.parent() {
            let on_top = |r: Option<Node<'t>>| r.is_some_and(|r| r.id() == top.id());
            let next = match self.call(p) {
                Some(pc) => on_top(pc.receiver) || on_top(p.named_child(0)),
                None => self.field(p).is_some_and(|(r, _)| r.id() == top.id()),
            };
            if !next {
                break;
            }
            out.push(p);
            top = p;
        }
        out
    }

    /// Rules 4 and 6 on the chain that reads (or writes) a locator.
    fn read_chain(&mut self, call: Node<'t>) {
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
    fn mapping_format(&mut self, v: Node<'t>, old: &str, new: &str) {
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

    fn first_string(&self, args: Node<'t>) -> Option<Node<'t>> {
        let mut cur = args.walk();
        let mut first = args.named_children(&mut cur).next()?;
        if first.kind() == "value_argument" {
            let mut cur = first.walk();
            first = first.named_children(&mut cur).last()?;
        }
        self.lang.is_string(first).then_some(first)
    }

    fn swap_format(&mut self, s: Node<'t>, old: &str, new: &str) {
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

    /// A string's content range (quotes and prefixes excluded) and its interpolations.
    fn content(&self, s: Node<'t>) -> Option<(Range<usize>, Vec<Range<usize>>)> {
        (self.lang.content)(s, self.src)
    }

    /// The SQL values in the file: each concatenation of strings that holds
    /// SQL (`"SELECT a " + "FROM t"`), then each other string that does.
    /// Returns the string nodes they were read from.
    fn sql_values(&mut self, strings: &[Node<'t>]) -> HashSet<usize> {
        let mut done = HashSet::new();
        let mut roots = HashSet::new();
        for s in strings {
            let Some(root) = self.concat_root(*s) else {
                continue;
            };
            if !roots.insert(root.id()) {
                continue;
            }
            let mut parts = Vec::new();
            self.parts(root, &mut parts);
            if let Some(value) = self.sql_value(&parts) {
                for p in &parts {
                    if let Part::Str { node, .. } = p {
                        done.insert(node.id());
                    }
                }
                self.sql_rewrite(value);
            }
        }
        for s in strings {
            if done.contains(&s.id()) {
                continue;
            }
            let Some((content, holes)) = self.content(*s) else {
                continue;
            };
            // tern's own renaming query over a table that stays where it is
            // (rule 9): already migrated, not a `SELECT *` to report.
            let written = &self.src[content.clone()];
            let own = !self.rules.columns().is_empty()
                && self.rules.locators().iter().any(|l| {
                    l.old == l.new
                        && l.is_bigquery()
                        && written == renaming_query(self.rules, &l.new).as_bytes()
                });
            if own {
                done.insert(s.id());
                continue;
            }
            let part = Part::Str {
                node: *s,
                content,
                holes,
            };
            if let Some(value) = self.sql_value(std::slice::from_ref(&part)) {
                done.insert(s.id());
                self.sql_rewrite(value);
            }
        }
        done
    }

    /// The top of the `+` chain (or Python's implicit concatenation) that
    /// string `s` is an operand of.
    fn concat_root(&self, s: Node<'t>) -> Option<Node<'t>> {
        let mut n = match s.parent() {
            Some(p) if p.kind() == "interpolated_string_expression" => p,
            _ => s,
        };
        let start = n.id();
        while let Some(p) = n.parent() {
            let joins = self.lang.is_concat(p, self.src)
                || p.kind() == "concatenated_string"
                || (p.kind() == "parenthesized_expression"
                    && p.parent().is_some_and(|g| self.lang.is_concat(g, self.src)));
            if !joins {
                break;
            }
            n = p;
        }
        (n.id() != start).then_some(n)
    }

    /// The operands of a concatenation, in order.
    fn parts(&self, n: Node<'t>, out: &mut Vec<Part<'t>>) {
        let mut cur = n.walk();
        if self.lang.is_concat(n, self.src) {
            for side in ["left", "right"] {
                if let Some(c) = n.child_by_field_name(side) {
                    self.parts(c, out);
                }
            }
        } else if n.kind() == "concatenated_string" || n.kind() == "parenthesized_expression" {
            for c in n.named_children(&mut cur) {
                self.parts(c, out);
            }
        } else if n.kind() == "interpolated_string_expression" {
            match n.named_children(&mut cur).find(|c| self.lang.is_string(*c)) {
                Some(c) => self.parts(c, out),
                None => out.push(Part::Code(n.byte_range())),
            }
        } else if let Some((content, holes)) =
            self.lang.is_string(n).then(|| self.content(n)).flatten()
        {
            out.push(Part::Str {
                node: n,
                content,
                holes,
            });
        } else {
            out.push(Part::Code(n.byte_range()));
        }
    }

    /// The SQL value of the parts, when they name a locator and hold SQL: a
    /// statement, or a fragment naming a table after `FROM`, `JOIN`, `INTO`,
    /// `UPDATE` or `TABLE`. An error when they hold SQL tern cannot read.
    fn sql_value(&self, parts: &[Part<'t>]) -> Option<Result<SqlText, (Range<usize>, String)>> {
        let strings = || {
            parts.iter().filter_map(|p| match p {
                Part::Str { content, .. } => Some(content.clone()),
                Part::Code(_) => None,
            })
        };
        let names = strings().any(|c| {
            self.matches
                .iter()
                .any(|m| m.range.start >= c.start && m.range.end <= c.end)
        });
        if !names {
            return None;
        }
        match SqlText::read(self.lang, self.src, parts) {
            Ok(t) => {
                crate::sql::holds_sql(self.rules, t.value.text.as_bytes(), true).then_some(Ok(t))
            }
            Err(reason) => strings()
                .any(|c| crate::sql::holds_sql(self.rules, &self.src[c], true))
                .then(|| {
                    let start = strings().map(|c| c.start).min().unwrap_or(0);
                    let end = strings().map(|c| c.end).max().unwrap_or(start);
                    let span = start..end;
                    Err((span, reason))
                }),
        }
    }

    /// SQL goes to the SQL module; its edits replace the text edits. The
    /// value changes whole or not at all: when an edit cannot be written back
    /// into the string it lands in, the value is left whole and reported.
    fn sql_rewrite(&mut self, value: Result<SqlText, (Range<usize>, String)>) {
        let t = match value {
            Ok(t) => t,
            Err((span, reason)) => {
                self.replaced.push(span.clone());
                self.findings.push((
                    span.start,
                    format!("this string holds SQL that tern cannot read ({reason}); left whole, table name included"),
                ));
                return;
            }
        };
        self.replaced.push(t.value.span.clone());
        let out = crate::mapped::rewrite_sql(self.rules, self.src, &t.value, |piece, r| {
            t.encode(piece, r)
        });
        self.edits.extend(out.edits);
        self.findings.extend(out.findings);
        self.schema.checked += out.schema.checked;
        self.schema.failures.extend(out.schema.failures);
    }

    /// `base + "/warehouse/plays"`, `s"$base/warehouse/plays"`: a whole alias
    /// joined to a computed prefix may sit under another root (rule 1), so
    /// it is reported, not rewritten.
    fn computed_prefix(&mut self, s: Node<'t>) -> bool {
        let Some((content, holes)) = self.content(s) else {
            return false;
        };
        let right_operand = s.parent().is_some_and(|p| {
            self.lang.is_concat(p, self.src) && p.child_by_field_name("right") == Some(s)
        });
        let joined: Vec<usize> = self
            .matches
            .iter()
            .filter(|m| {
                self.rules.locators()[m.locator].kind == LocatorKind::Path
                    && ((right_operand && m.range.start == content.start)
                        || holes.iter().any(|h| h.end == m.range.start))
            })
            .map(|m| m.range.start)
            .collect();
        for at in &joined {
            self.replaced.push(*at..content.end);
            self.findings.push((
                *at,
                format!("path built at run time: `{}` joins a location to a computed prefix, which may be another root; check it by hand", self.text(s)),
            ));
        }
        !joined.is_empty()
    }

    /// `base + "/plays"`, `os.path.join(b, "plays")`, `f"{b}/plays"`: a string
    /// holding only the tail of a location, joined to something computed.
    fn run_time_path(&mut self, s: Node<'t>) {
        let Some((content, holes)) = self.content(s) else {
            return;
        };
        let Some(parent) = s.parent() else { return };
        let joined = self.lang.is_concat(parent, self.src)
            && parent.child_by_field_name("right") == Some(s)
            || self
                .call(parent.parent().unwrap_or(parent))
                .is_some_and(|c| matches!(self.text(c.name), "join" | "get" | "resolve"))
            || holes
                .iter()
                .any(|h| h.end <= content.start + 1 || h.end < content.end);
        if !joined {
            return;
        }
        // `f"{project}.core.users"`, `s"$project:core.users"`, `db + ".plays"`:
        // a table name whose leading parts are computed.
        let right_operand =
            self.lang.is_concat(parent, self.src) && parent.child_by_field_name("right") == Some(s);
        let starts = holes
            .iter()
            .map(|h| h.end)
            .chain(right_operand.then_some(content.start))
            .filter(|&e| e < content.end);
        for from in starts {
            if let Some(l) = self.computed_table(&self.src[from..content.end]) {
                self.findings.push((
                    s.start_byte(),
                    format!("table name built at run time: `{}` may be {l}; tern cannot tell, so check it by hand", self.text(s)),
                ));
                return;
            }
        }
        // The text after the last interpolation is the literal tail.
        let tail_from = holes
            .iter()
            .map(|h| h.end)
            .filter(|&e| e <= content.end)
            .max()
            .unwrap_or(content.start)
            .max(content.start);
        let tail = std::str::from_utf8(&self.src[tail_from..content.end]).unwrap_or("");
        let tail = tail.trim_start_matches('/');
        if tail.is_empty() {
            return;
        }
        for l in self.rules.locators() {
            if l.kind != LocatorKind::Path {
                continue;
            }
            let segments: Vec<&str> = l.old.split('/').collect();
            for k in 1..segments.len() {
                let suffix = segments[k..].join("/");
                if suffix.is_empty() || suffix.contains(':') {
                    continue;
                }
                let hit = tail == suffix
                    || tail
                        .strip_prefix(suffix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'));
                if hit {
                    self.findings.push((
                        s.start_byte(),
                        format!("path built at run time: `{}` may be the tail of {}; tern cannot tell, so check it by hand", self.text(s), l.old),
                    ));
                    return;
                }
            }
        }
    }

    /// The table locator whose trailing parts `rest` starts with, after a
    /// separator (`.core.users`, `:core.users`, `` .`core`.users ``).
    fn computed_table(&self, rest: &[u8]) -> Option<String> {
        let rest = std::str::from_utf8(rest).ok()?;
        let rest = rest.strip_prefix(['.', ':'])?;
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '`')))
            .unwrap_or(rest.len());
        let name = rest[..end].replace('`', "");
        let name = name.trim_end_matches('.');
        let parts: Vec<&str> = name.split('.').collect();
        self.rules.locators().iter().find_map(|l| {
            let n = l.old_parts.len();
            let k = parts.len();
            let hit = l.kind == LocatorKind::Table
                && k <= n
                && parts
                    .iter()
                    .zip(&l.old_parts[n - k..])
                    .all(|(a, b)| l.same_name(a, b));
            hit.then(|| l.old.clone())
        })
    }

    /// Scio and Beam BigQuery table reads, when columns are renamed: the same
    /// API's query read over a query that gives the old names back.
    fn bigquery(&mut self, n: Node<'t>) -> bool {
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
    fn split_names(&mut self, nodes: &[Node<'t>]) {
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

    fn split_name(&mut self, at: Node<'t>, parts: [Option<Option<Node<'t>>>; 3]) {
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

    fn text_at(&self, r: Range<usize>) -> String {
        String::from_utf8_lossy(&self.src[r]).into_owned()
    }

    /// The argument list's only argument, when it is a string literal.
    fn only_string(&self, args: Node<'t>) -> Option<Node<'t>> {
        let mut cur = args.walk();
        let kids: Vec<Node> = args.named_children(&mut cur).collect();
        match kids.as_slice() {
            [one] => self
                .first_string(args)
                .filter(|s| s.id() == one.id() || one.kind() == "value_argument"),
            _ => None,
        }
    }

    fn replace_string(&mut self, n: Node<'t>, with: String) {
        self.replaced.push(n.byte_range());
        self.edits.push(Edit {
            range: n.byte_range(),
            replacement: with,
        });
    }
}

/// `SELECT * EXCEPT (account_id, event_time), account_id AS user_id, event_time AS ts FROM `p.lake.plays``
fn renaming_query(rules: &Rules, table: &str) -> String {
    let news: Vec<&str> = rules.columns().iter().map(|(_, n)| n.as_str()).collect();
    let renames: Vec<String> = rules
        .columns()
        .iter()
        .map(|(old, new)| format!("{new} AS {old}"))
        .collect();
    format!(
        "SELECT * EXCEPT ({}), {} FROM `{}`",
        news.join(", "),
        renames.join(", "),
        table.replace(':', ".")
    )
}
