//! The migration's locators, compiled into one literal prefilter.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use tern_spec::{FormatChange, LocatorKind};

/// One old alias and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// Path, table or Backstage entity ref.
    pub kind: LocatorKind,
    /// The old text, without a trailing `/` for paths.
    pub old: String,
    /// The new text.
    pub new: String,
    /// For tables: the dotted parts of `old` and `new`.
    pub old_parts: Vec<String>,
    /// See `old_parts`.
    pub new_parts: Vec<String>,
}

impl Locator {
    /// Three-part table names are BigQuery names: case-sensitive, with `:` forms.
    pub fn is_bigquery(&self) -> bool {
        self.kind == LocatorKind::Table && self.old_parts.len() == 3
    }

    /// Whether two parts of a table name are one name, compared as the
    /// warehouse compares them: BigQuery's exactly, others in any ASCII case.
    pub(crate) fn same_name(&self, a: &str, b: &str) -> bool {
        if self.is_bigquery() {
            a == b
        } else {
            a.eq_ignore_ascii_case(b)
        }
    }
}

/// What the rules are built from: the spec's `replace`, derived entity refs,
/// format and columns. It serialises so a campaign can keep the rules it was
/// resolved to and every worker rewrites alike, whatever the catalog learns later.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RuleInput {
    /// (kind, old aliases, new) per `replace` entry.
    pub replace: Vec<(LocatorKind, Vec<String>, String)>,
    /// (kind, aliases) per `replace` entry without `new`: the dataset stays
    /// where it is, and these locators only find its consumers (docs/spec.md).
    pub stays: Vec<(LocatorKind, Vec<String>)>,
    /// `dataset.from` and `dataset.to` ids, for Backstage entity refs.
    pub entity: Option<(String, String)>,
    /// File format change.
    pub format: Option<FormatChange>,
    /// Column renames in spec order.
    pub columns: Vec<(String, String)>,
    /// The new dataset's columns, when the catalog knows them (its schema of
    /// `dataset.to`, else the old schema with `columns` applied): the schema
    /// check of rule 11 holds every reference to the new table against it.
    pub schema: Option<Vec<String>>,
    /// Other tables whose columns the catalog knows (name, columns): they let
    /// an unqualified column bind as SQL binds it, across joins and into
    /// correlated subqueries.
    pub tables: Vec<(String, Vec<String>)>,
}

impl RuleInput {
    /// What a spec says itself: its `replace` entries (those without `new`
    /// as `stays`), the entity refs of `dataset`, `format` and `columns`.
    /// Callers add what a catalog knows.
    pub fn from_spec(spec: &tern_spec::Spec) -> RuleInput {
        RuleInput {
            replace: spec
                .replace
                .iter()
                .filter_map(|r| Some((r.kind, r.old.clone(), r.new.clone()?)))
                .collect(),
            stays: spec
                .replace
                .iter()
                .filter(|r| r.new.is_none())
                .map(|r| (r.kind, r.old.clone()))
                .collect(),
            entity: match (&spec.dataset.from, &spec.dataset.to) {
                (Some(f), Some(t)) => Some((f.clone(), t.clone())),
                _ => None,
            },
            format: spec.format.clone(),
            columns: spec.columns.clone(),
            schema: None,
            tables: vec![],
        }
    }
}

/// Why a set of rules cannot be applied safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The new text still holds an old locator, so a second run would rewrite again.
    #[error("`new` {new:?} still contains the old locator {old:?}; rewriting would never settle (not idempotent)")]
    NotIdempotent {
        /// The offending new text.
        new: String,
        /// The old locator found inside it.
        old: String,
    },
    /// There is nothing to rewrite.
    #[error("the migration names no locator to rewrite")]
    Empty,
    /// The locators are too many or too long to search for together.
    #[error("the locators cannot be searched for together: {0}")]
    TooLarge(String),
}

/// What a needle found by the prefilter stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Needle {
    /// The whole old text of locator `i` (paths and entity refs).
    Whole(usize),
    /// Part `part` of table locator `i`: a name may start there.
    TablePart(usize, usize),
}

/// Compiled rules: locators plus the literal automaton that finds candidates.
#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) locators: Vec<Locator>,
    pub(crate) format: Option<FormatChange>,
    pub(crate) columns: Vec<(String, String)>,
    pub(crate) needles: Vec<Needle>,
    /// The literal text of each needle, in automaton pattern order.
    pub(crate) patterns: Vec<String>,
    pub(crate) automaton: AhoCorasick,
    /// The prefilter's parts: entity refs, whole paths, and the parts a table
    /// name may start with.
    entities: Option<AhoCorasick>,
    paths: Option<AhoCorasick>,
    tables: Option<AhoCorasick>,
    /// The same needles as one SIMD literal search, when they fit one.
    fragments: Option<Fragments>,
    /// The last part of every path and table locator (`plays`): a file where
    /// none occurs as a whole word holds nothing for a language module's
    /// structural rules, so it can skip parsing.
    tails: Vec<AhoCorasick>,
    /// The same last parts as text, for [`Rules::search_terms`].
    tail_words: Vec<String>,
    /// dbt sources (by locator) that must keep their old names in this
    /// repository, with the file that keeps them: set by [`crate::Engine::settle`].
    pub(crate) dbt_kept: Vec<(usize, String)>,
    /// The repository's dbt source tables that name a migrated table, once
    /// its `sources:` entries are known (see [`crate::Engine::second_pass`]).
    pub(crate) dbt: Option<Vec<DbtAlias>>,
    /// The repository's string constants that name the dataset (or part of
    /// its location), once a first pass has met them.
    pub(crate) constants: Vec<Constant>,
    /// See [`RuleInput::schema`].
    schema: Option<Vec<String>>,
    /// See [`RuleInput::tables`]: dotted parts, and columns.
    tables_known: Vec<(Vec<String>, Vec<String>)>,
    /// The same locators with `old` set to `new`: what finds the new names
    /// in rewritten text for the schema check. `None` inside a checker.
    checker: Option<Box<Rules>>,
}

/// A dbt source table naming a migrated table: `source('shop', 'orders')`
/// reads `raw.orders` when its `sources:` entry says `name: shop, schema: raw`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DbtAlias {
    /// The source's `name`, as `source()` calls give it.
    pub source: String,
    /// The table's `name` (not its `identifier`).
    pub table: String,
    /// Index of the table locator in [`Rules::locators`].
    pub locator: usize,
    /// The source the table moves to when it leaves one that keeps other
    /// tables (`shop_lake`): its `source()` calls follow.
    pub new_source: Option<String>,
}

/// A string constant one file defines and others name (`ExampleData.TABLE`,
/// `from config import PLAYS`): a use is resolved through the repository,
/// and the constant is rewritten where it is defined, once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Constant {
    /// What a use qualifies it with: the class or object that holds it, or
    /// the Python module's file stem; `None` for a top-level Kotlin constant.
    pub qualifier: Option<String>,
    /// The constant's name.
    pub name: String,
    /// Its value as the repository has it today, folded from literals.
    pub value: String,
}

impl Rules {
    /// The same rules knowing what a first pass learned of the repository.
    pub(crate) fn with_repository(
        &self,
        mut aliases: Vec<DbtAlias>,
        mut constants: Vec<Constant>,
    ) -> Rules {
        aliases.sort();
        aliases.dedup();
        constants.sort();
        constants.dedup();
        Rules {
            dbt: Some(aliases),
            constants,
            ..self.clone()
        }
    }

    /// The repository's constants of this name, with their values.
    pub(crate) fn constants_named<'r>(
        &'r self,
        name: &'r str,
    ) -> impl Iterator<Item = &'r Constant> + 'r {
        self.constants.iter().filter(move |c| c.name == name)
    }

    /// Can this file name a constant of the repository that names the dataset?
    pub(crate) fn constants_mentioned(&self, bytes: &[u8]) -> bool {
        self.constants
            .iter()
            .any(|c| memchr::memmem::find(bytes, c.name.as_bytes()).is_some())
    }

    /// The source table that `source(source, table)` reads, when its entry is known.
    pub(crate) fn dbt_alias(&self, source: &str, table: &str) -> Option<&DbtAlias> {
        self.dbt
            .as_deref()?
            .iter()
            .find(|a| a.source == source && a.table == table)
    }

    /// Whether a source of this name is declared for the dataset.
    pub(crate) fn dbt_source_named(&self, name: &str) -> bool {
        self.dbt
            .as_deref()
            .is_some_and(|a| a.iter().any(|a| a.source == name))
    }

    /// True when the repository's dbt sources are known.
    pub(crate) fn dbt_known(&self) -> bool {
        self.dbt.is_some()
    }

    /// Can this file call a dbt source that names the dataset? Models name
    /// the source, not the table, so the locator prefilter cannot see them.
    pub(crate) fn dbt_mentioned(&self, bytes: &[u8]) -> bool {
        let Some(aliases) = self.dbt.as_deref().filter(|a| !a.is_empty()) else {
            return false;
        };
        memchr::memmem::find(bytes, b"source").is_some()
            && aliases
                .iter()
                .any(|a| memchr::memmem::find(bytes, a.table.as_bytes()).is_some())
    }

    /// The same rules with these dbt sources kept (locator, the file keeping it).
    pub(crate) fn keeping_dbt(&self, kept: &[(usize, String)]) -> Rules {
        Rules {
            dbt_kept: kept.to_vec(),
            ..self.clone()
        }
    }

    /// Why the dbt source of locator `l` keeps its name here, if it must.
    pub(crate) fn dbt_kept(&self, l: usize) -> Option<&str> {
        self.dbt_kept
            .iter()
            .find(|(k, _)| *k == l)
            .map(|(_, why)| why.as_str())
    }

    /// Compiles the rules and refuses any that could not settle.
    pub fn new(input: RuleInput) -> Result<Rules, RuleError> {
        let mut locators = Vec::new();
        for (kind, olds, new) in &input.replace {
            let new = match kind {
                LocatorKind::Path => trim_path(new),
                _ => new.clone(),
            };
            for old in olds {
                let old = match kind {
                    LocatorKind::Path => trim_path(old),
                    _ => old.clone(),
                };
                locators.push(locator(*kind, old, new.clone()));
            }
        }
        for (kind, olds) in &input.stays {
            for old in olds {
                let old = match kind {
                    LocatorKind::Path => trim_path(old),
                    _ => old.clone(),
                };
                locators.push(locator(*kind, old.clone(), old));
            }
        }
        if let Some((from, to)) = &input.entity {
            for prefix in ["resource:default/", "resource:"] {
                locators.push(locator(
                    LocatorKind::Entity,
                    format!("{prefix}{from}"),
                    format!("{prefix}{to}"),
                ));
            }
        }
        if locators.is_empty() {
            return Err(RuleError::Empty);
        }
        let check_locators: Vec<Locator> = locators
            .iter()
            .map(|l| locator(l.kind, l.new.clone(), l.new.clone()))
            .collect();
        let checker = Rules::compile(check_locators, None, vec![], None, vec![], None)?;
        let tables = input
            .tables
            .iter()
            .map(|(name, cols)| {
                (
                    name.split('.').map(str::to_string).collect(),
                    cols.iter().map(|c| c.to_ascii_lowercase()).collect(),
                )
            })
            .collect();
        let rules = Rules::compile(
            locators,
            input.format,
            input.columns,
            input.schema,
            tables,
            Some(Box::new(checker)),
        )?;
        rules.check_idempotent()?;
        Ok(rules)
    }

    /// Builds the prefilter and automata over `locators`.
    fn compile(
        locators: Vec<Locator>,
        format: Option<FormatChange>,
        columns: Vec<(String, String)>,
        schema: Option<Vec<String>>,
        tables: Vec<(Vec<String>, Vec<String>)>,
        checker: Option<Box<Rules>>,
    ) -> Result<Rules, RuleError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut needles = Vec::new();
        for (i, l) in locators.iter().enumerate() {
            match l.kind {
                LocatorKind::Table => {
                    // A name starts at its first part; for BigQuery names a
                    // name may also lack the project, so the dataset part is a
                    // second start.
                    let starts = if l.is_bigquery() { 2 } else { 1 };
                    for part in 0..starts.min(l.old_parts.len()) {
                        patterns.push(l.old_parts[part].clone());
                        needles.push(Needle::TablePart(i, part));
                    }
                }
                _ => {
                    patterns.push(l.old.clone());
                    needles.push(Needle::Whole(i));
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| RuleError::TooLarge(e.to_string()))?;
        let mut tails: Vec<String> = locators
            .iter()
            .filter(|l| l.kind != LocatorKind::Entity)
            .filter_map(|l| match l.kind {
                LocatorKind::Table => l.old_parts.last().cloned(),
                _ => l
                    .old
                    .rsplit('/')
                    .find(|s| !s.is_empty())
                    .map(str::to_string),
            })
            .map(|t| t.to_ascii_lowercase())
            .collect();
        tails.sort();
        tails.dedup();
        // One small DFA per tail: a non-overlapping search per tail sees
        // every occurrence, and is far cheaper than one overlapping search.
        let tail_words = tails.clone();
        let tails = tails
            .iter()
            .map(|t| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build([t])
                    .map_err(|e| RuleError::TooLarge(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Paths match byte for byte, so their search is case-sensitive
        // (and gets the SIMD literal search); entity refs and table parts
        // match in any ASCII case.
        let group = |kind: LocatorKind, any_case: bool| -> Result<Option<AhoCorasick>, RuleError> {
            let pats: Vec<&String> = patterns
                .iter()
                .zip(&needles)
                .filter(|(_, n)| {
                    let i = match n {
                        Needle::Whole(i) | Needle::TablePart(i, _) => *i,
                    };
                    locators[i].kind == kind
                })
                .map(|(p, _)| p)
                .collect();
            if pats.is_empty() {
                return Ok(None);
            }
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(any_case)
                .build(pats)
                .map(Some)
                .map_err(|e| RuleError::TooLarge(e.to_string()))
        };
        let fragments = Fragments::new(&patterns, &needles, &locators);
        let entities = group(LocatorKind::Entity, true)?;
        let paths = group(LocatorKind::Path, false)?;
        let table_parts = group(LocatorKind::Table, true)?;
        Ok(Rules {
            entities,
            paths,
            tables: table_parts,
            fragments,
            tails,
            tail_words,
            locators,
            patterns,
            format,
            columns,
            needles,
            automaton,
            dbt_kept: vec![],
            dbt: None,
            constants: vec![],
            schema,
            tables_known: tables,
            checker,
        })
    }

    /// The literal strings the prefilter looks for (matched without regard to
    /// ASCII case): a file holding none of them cannot name the dataset.
    pub fn needles(&self) -> &[String] {
        &self.patterns
    }

    /// What a file the engine might change or report must hold one of
    /// (matched without regard to ASCII case): the needles, each locator's
    /// last part, and the repository's constants and dbt source tables once
    /// known. For a forge that searches on its side before handing blobs to
    /// [`crate::Engine::may_rewrite`].
    pub fn search_terms(&self) -> Vec<String> {
        let mut terms = self.patterns.clone();
        terms.extend(self.tail_words.iter().cloned());
        terms.extend(self.constants.iter().map(|c| c.name.clone()));
        terms.extend(self.dbt.iter().flatten().map(|a| a.table.clone()));
        terms.sort();
        terms.dedup();
        terms
    }

    /// Every compiled locator, in spec order.
    pub fn locators(&self) -> &[Locator] {
        &self.locators
    }

    /// The format change, if any.
    pub fn format(&self) -> Option<&FormatChange> {
        self.format.as_ref()
    }

    /// Column renames, old to new.
    pub fn columns(&self) -> &[(String, String)] {
        &self.columns
    }

    /// The new dataset's columns, when known.
    pub fn schema(&self) -> Option<&[String]> {
        self.schema.as_deref()
    }

    /// Other tables' columns (dotted parts, columns lower-cased).
    pub(crate) fn known_tables(&self) -> &[(Vec<String>, Vec<String>)] {
        &self.tables_known
    }

    /// Rules that find the new names, for checking rewritten text.
    pub(crate) fn checker(&self) -> Option<&Rules> {
        self.checker.as_deref()
    }

    /// `None` when the file cannot name the dataset (a superset of real
    /// matches); otherwise whether a locator's last part occurs as a whole
    /// word, which the language modules need, so it is searched for once.
    ///
    /// A path or table name needs that word too, so a file naming only
    /// `legacy.tracks` or `.../plays_archive` is passed over.
    pub(crate) fn prefilter(&self, bytes: &[u8]) -> Option<bool> {
        let (names, entities) = match &self.fragments {
            Some(f) => f.scan(bytes),
            None => {
                let names = self.paths.as_ref().is_some_and(|a| a.is_match(bytes))
                    || self.tables.as_ref().is_some_and(|a| a.is_match(bytes));
                let entities = self.entities.as_ref().is_some_and(|a| a.is_match(bytes));
                (names, entities)
            }
        };
        if names && self.tail_occurs(bytes) {
            return Some(true);
        }
        // With a name needle present, the tail was just searched for in vain.
        entities.then(|| !names && self.tail_occurs(bytes))
    }

    /// True when the last part of a locator occurs as a whole word, so the
    /// file may hold a split name, a name under `USE`, or a path's tail.
    /// True when the last part of a locator occurs as a word at the start of
    /// a path segment or a string (`"/plays"`, `"plays"`, `{base}/plays`): a
    /// location code may join from constants.
    pub(crate) fn tail_joined(&self, b: &[u8]) -> bool {
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        self.tails.iter().any(|t| {
            t.find_iter(b).any(|m| {
                m.start() > 0
                    && matches!(b[m.start() - 1], b'/' | b'"' | b'\'')
                    && b.get(m.end()).is_none_or(|&c| !word(c))
            })
        })
    }

    pub(crate) fn tail_occurs(&self, b: &[u8]) -> bool {
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        self.tails.iter().any(|t| {
            t.find_iter(b).any(|m| {
                (m.start() == 0 || !word(b[m.start() - 1]))
                    && b.get(m.end()).is_none_or(|&c| !word(c))
            })
        })
    }

    /// Every `new` (with a sample suffix) must be left alone by the rules.
    fn check_idempotent(&self) -> Result<(), RuleError> {
        // A locator that stays (no `new` in the spec) only finds consumers.
        for l in self.locators.iter().filter(|l| l.old != l.new) {
            let sample = match l.kind {
                LocatorKind::Path => format!(" {}/x ", l.new),
                _ => format!(" {} ", l.new),
            };
            let found = crate::text::find(self, sample.as_bytes());
            if let Some(m) = found.matches.first() {
                return Err(RuleError::NotIdempotent {
                    new: l.new.clone(),
                    old: self.locators[m.locator].old.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The prefilter as one pass of a SIMD literal search (Teddy), which an
/// ASCII-case-insensitive automaton cannot use: the first four bytes of
/// every needle, in each of their ASCII cases where the needle matches in
/// any case, each hit then checked against its whole needle. All fragments
/// have one length, so no two can start at one byte, and the search resumes
/// one byte after each hit: no occurrence is passed over.
#[derive(Debug, Clone)]
struct Fragments {
    searcher: aho_corasick::packed::Searcher,
    /// For each fragment, the needles (indices into `whole`) it starts.
    starts: Vec<Vec<usize>>,
    /// Each needle's bytes, whether it matches in any ASCII case, and
    /// whether it is an entity ref (else a path or table name).
    whole: Vec<(Vec<u8>, bool, bool)>,
    entities: bool,
}

/// Fragment length: long enough to be rare, short enough to have few cases.
const FRAGMENT: usize = 4;

impl Fragments {
    fn new(patterns: &[String], needles: &[Needle], locators: &[Locator]) -> Option<Fragments> {
        let mut whole = Vec::new();
        let mut frags: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        for (p, n) in patterns.iter().zip(needles) {
            let (Needle::Whole(i) | Needle::TablePart(i, _)) = *n;
            let kind = locators[i].kind;
            let any_case = kind != LocatorKind::Path;
            let bytes = p.as_bytes();
            let head = bytes.get(..FRAGMENT)?;
            let w = whole.len();
            whole.push((bytes.to_vec(), any_case, kind == LocatorKind::Entity));
            let mut cases = vec![head.to_vec()];
            if any_case {
                for k in 0..FRAGMENT {
                    if head[k].is_ascii_alphabetic() {
                        let flipped: Vec<Vec<u8>> = cases
                            .iter()
                            .map(|c| {
                                let mut c = c.clone();
                                c[k] ^= 0x20;
                                c
                            })
                            .collect();
                        cases.extend(flipped);
                    }
                }
            }
            for c in cases {
                match frags.iter_mut().find(|(f, _)| *f == c) {
                    Some((_, ws)) => ws.push(w),
                    None => frags.push((c, vec![w])),
                }
            }
        }
        if frags.len() > 64 {
            return None;
        }
        let mut b = aho_corasick::packed::Config::new().builder();
        for (f, _) in &frags {
            b.add(f);
        }
        let searcher = b.build()?;
        Some(Fragments {
            searcher,
            entities: whole.iter().any(|w| w.2),
            starts: frags.into_iter().map(|(_, ws)| ws).collect(),
            whole,
        })
    }

    /// Whether a path or table needle occurs, and whether an entity ref does.
    fn scan(&self, b: &[u8]) -> (bool, bool) {
        let (mut names, mut entities) = (false, false);
        let mut at = 0;
        while at < b.len() {
            let Some(m) = self
                .searcher
                .find_in(b, aho_corasick::Span::from(at..b.len()))
            else {
                break;
            };
            for &w in &self.starts[m.pattern().as_usize()] {
                let (needle, any_case, entity) = &self.whole[w];
                let found = b.get(m.start()..m.start() + needle.len()).is_some_and(|s| {
                    if *any_case {
                        s.eq_ignore_ascii_case(needle)
                    } else {
                        s == needle
                    }
                });
                if found {
                    if *entity {
                        entities = true;
                    } else {
                        names = true;
                    }
                }
            }
            if names && (entities || !self.entities) {
                break;
            }
            at = m.start() + 1;
        }
        (names, entities)
    }
}

fn trim_path(s: &str) -> String {
    let t = s.trim_end_matches('/');
    if t.is_empty() {
        s.to_string()
    } else {
        t.to_string()
    }
}

fn locator(kind: LocatorKind, old: String, new: String) -> Locator {
    let split = |s: &str| -> Vec<String> {
        if kind == LocatorKind::Table {
            s.split('.').map(str::to_string).collect()
        } else {
            vec![]
        }
    };
    Locator {
        kind,
        old_parts: split(&old),
        new_parts: split(&new),
        old,
        new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass fragment search agrees with the automata it replaces on
    /// haystacks made of needles, their near misses and their case variants,
    /// overlapping in every way a short alphabet of pieces can produce.
    #[test]
    fn fragments_agree_with_the_automata() {
        let rules = Rules::new(RuleInput {
            replace: vec![
                (
                    LocatorKind::Path,
                    vec![
                        "hdfs://prod-nn:8020/warehouse/plays".into(),
                        "/warehouse/plays".into(),
                    ],
                    "gs://lake/plays".into(),
                ),
                (
                    LocatorKind::Table,
                    vec!["legacy.plays".into()],
                    "lake.plays".into(),
                ),
            ],
            entity: Some(("hdfs-plays".into(), "lake-plays".into())),
            ..RuleInput::default()
        })
        .expect("rules");
        let f = rules
            .fragments
            .as_ref()
            .expect("the needles fit one search");
        let pieces: &[&str] = &[
            "legacy",
            "LEGACY",
            "LeGaCy",
            "lega",
            "leg",
            "l",
            "L",
            "egacy",
            "/warehouse/plays",
            "/war",
            "/warehouse",
            "hdfs://prod-nn:8020",
            "hdfs-plays",
            "HDFS-PLAYS",
            "hdfs-",
            "x",
            " ",
            ".",
            "resource:",
            "dataset:",
        ];
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..20_000 {
            let len = 1 + next(8);
            let hay: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
            let b = hay.as_bytes();
            let names = rules.paths.as_ref().is_some_and(|a| a.is_match(b))
                || rules.tables.as_ref().is_some_and(|a| a.is_match(b));
            let entities = rules.entities.as_ref().is_some_and(|a| a.is_match(b));
            let (n, e) = f.scan(b);
            assert_eq!(n, names, "names in {hay:?}");
            if !names || f.entities {
                assert_eq!(e, entities, "entities in {hay:?}");
            }
        }
    }
}
