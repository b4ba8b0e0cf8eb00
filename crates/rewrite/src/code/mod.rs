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
//!
//! A grammar is one row (`grammar.rs`, `lang/*.rs`); the rules read only the
//! row. This file walks a file's tree once (`File::run`) and hands each idea
//! to its own file: `syntax.rs` (bindings, calls, chains), `fold.rs` (string
//! expressions folded to what they hold, exported constants), `reads.rs`
//! (format and renames on a read's chain), `options.rs`, `sql_strings.rs`
//! and `sql_text.rs` (SQL in strings), `runtime.rs` (names built at run
//! time), `bigquery.rs` (Scio and Beam table reads, tables given by parts),
//! `storage.rs` (the BigQuery Storage API) and `check.rs` (rule 11).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use tern_spec::LocatorKind;
use tree_sitter::{Node, Parser, Tree};

mod bigquery;
mod check;
mod fold;
mod grammar;
mod lang;
mod options;
mod reads;
mod runtime;
mod sql_strings;
mod sql_text;
mod storage;
mod syntax;

use crate::rules::Rules;
use crate::text::{self, Match};
use crate::{Edit, Finding, Language, Outcome};
use grammar::{Grammar, GRAMMARS};

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

    fn first_string(&self, args: Node<'t>) -> Option<Node<'t>> {
        let mut cur = args.walk();
        let mut first = args.named_children(&mut cur).next()?;
        if first.kind() == "value_argument" {
            let mut cur = first.walk();
            first = first.named_children(&mut cur).last()?;
        }
        self.lang.is_string(first).then_some(first)
    }

    /// A string's content range (quotes and prefixes excluded) and its interpolations.
    fn content(&self, s: Node<'t>) -> Option<(Range<usize>, Vec<Range<usize>>)> {
        (self.lang.content)(s, self.src)
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
