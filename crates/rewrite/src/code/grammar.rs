//! What the code rules need to know of a grammar, as one row per language
//! (`lang/*.rs`): its node kinds as data, and the few readings whose shape
//! differs from grammar to grammar (a call's parts, a binding's name and
//! value, an import, a string's content and style, an exported constant, an
//! option's default, a mapping's entries) as functions of that row. The
//! rules in the other files of `code/` read only this, so a new language is
//! its grammar crate, one file in `lang/` and one entry of [`GRAMMARS`].

use std::ops::Range;

use tree_sitter::Node;

use super::fold::Bind;
use super::lang::{JAVA, KOTLIN, PYTHON, SCALA};
use super::File;

/// Every grammar the code module reads.
pub(super) const GRAMMARS: &[&Grammar] = &[&PYTHON, &SCALA, &JAVA, &KOTLIN];

/// One language's row.
pub(super) struct Grammar {
    /// The module's name in messages (`python`).
    pub name: &'static str,
    /// File extensions it claims.
    pub extensions: &'static [&'static str],
    /// The tree-sitter grammar.
    pub language: fn() -> tree_sitter::Language,
    /// The call node's kind.
    pub call: &'static str,
    /// String literal kinds.
    pub strings: &'static [&'static str],
    /// The binary-operator kind that `+` is one of.
    pub concat: &'static str,
    /// Kinds that open a scope for the names bound inside.
    pub scopes: &'static [&'static str],
    /// `name=value` arguments, in a language that has them.
    pub keyword_argument: Option<&'static str>,
    /// Importing a module brings its names (`import config`, then `config.X`).
    pub module_imports: bool,
    /// Calls that join paths as the platform's library does.
    pub path_joins: &'static [&'static str],
    /// A literal `$` is written `\$` in a string.
    pub dollar_escaped: bool,
    /// A backslash before a newline continues the line (Java text blocks).
    pub line_continuation: bool,
    /// The method that strips a margin from a multi-line string, and the
    /// member-access kind it is called through.
    pub margin: Option<(&'static [u8], &'static str)>,
    /// A call's callee and argument list.
    pub callee: for<'t> fn(Node<'t>) -> Option<(Callee<'t>, Node<'t>)>,
    /// `a.b`: the receiver and the name after the dot.
    pub member: for<'t> fn(Node<'t>) -> Option<(Node<'t>, Node<'t>)>,
    /// The name a declaration, assignment or parameter binds.
    pub binding_name: for<'t> fn(Node<'t>) -> Option<Node<'t>>,
    /// The value a binding node gives its name.
    pub binding_value: for<'t> fn(Node<'t>) -> Option<Node<'t>>,
    /// An import as dotted paths (`x.ExampleData.TABLE`, `config.*`), joined by `,`.
    pub import: fn(Node, &[u8]) -> Option<String>,
    /// A string's content range (quotes and prefixes excluded) and its interpolations.
    pub content: fn(Node, &[u8]) -> Option<Content>,
    /// Whether a string literal holds text (Python's `b"..."` does not).
    pub is_text: fn(Node, &[u8]) -> bool,
    /// The expression an interpolation node holds, when it holds only one.
    pub hole: for<'t> fn(Node<'t>) -> Option<Node<'t>>,
    /// How a string writes escapes, `$` and braces, from its opening
    /// (`f"`, `"""`), and its interpolator (Scala's `s`, `raw`).
    pub style: fn(head: &[u8], triple: bool, interpolator: Option<&[u8]>) -> StringStyle,
    /// Where other files find a binding: `Some(qualifier)` for an exported
    /// constant, `Some(None)` for a file-level one; `None` when it is not one.
    pub export: for<'a, 't> fn(&File<'a, 't>, &Bind<'t>) -> Option<Option<String>>,
    /// An option declared with a default (`@Default.String(T)`,
    /// `add_argument("--input", default=T)`): its name and default.
    pub option_default: for<'a, 't> fn(&File<'a, 't>, Node<'t>) -> Option<(String, String)>,
    /// A read of an option (`options.getInput()`, `args.input`): its name.
    pub option_read: for<'a, 't> fn(&File<'a, 't>, Node<'t>) -> Option<&'a str>,
    /// The key-value entries of the mapping literal in which `v` is the value
    /// under `parent` (`{"path": p}`, `"path" -> p`, `Map.of("path", p)`).
    pub mapping_entries:
        for<'a, 't> fn(&File<'a, 't>, Node<'t>, Node<'t>) -> Vec<(Node<'t>, Node<'t>)>,
}

/// A string's content range and the ranges of its interpolations.
pub(super) type Content = (Range<usize>, Vec<Range<usize>>);

/// What a call calls.
pub(super) enum Callee<'t> {
    /// The grammar names the receiver and the method itself (Java).
    Method {
        receiver: Option<Node<'t>>,
        name: Node<'t>,
    },
    /// An expression: a name, or a member access to split.
    Expr(Node<'t>),
}

/// How a string literal writes what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StringStyle {
    /// Backslash escapes are processed.
    pub escapes: bool,
    /// What a literal `$` is written as.
    pub dollar: Dollar,
    /// `{` and `}` are written doubled (Python f-strings).
    pub braces: bool,
}

/// What a literal `$` must be written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dollar {
    Plain,
    /// Scala interpolators: `$$`.
    Doubled,
    /// Kotlin string literals: `\$`.
    Backslash,
    /// Kotlin raw strings: `${'$'}`.
    Template,
}

impl Grammar {
    pub(super) fn is_call(&self, n: Node) -> bool {
        n.kind() == self.call
    }

    pub(super) fn is_string(&self, n: Node) -> bool {
        self.strings.contains(&n.kind())
    }

    /// `a + b` nodes, for paths joined at run time.
    pub(super) fn is_concat(&self, n: Node, src: &[u8]) -> bool {
        if n.kind() != self.concat {
            return false;
        }
        if let Some(o) = n.child_by_field_name("operator") {
            return &src[o.byte_range()] == b"+";
        }
        // Kotlin's grammar names no operator: it is the text between the operands.
        match (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) {
            (Some(l), Some(r)) => src[l.end_byte()..r.start_byte()].trim_ascii() == b"+",
            _ => false,
        }
    }

    pub(super) fn claims(&self, path: &str) -> bool {
        let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
        self.extensions.contains(&ext)
    }
}

/// Shared readings the rows build on.
pub(super) mod shared {
    use std::ops::Range;

    use tree_sitter::Node;

    /// `node.field` when it is an identifier.
    pub fn ident<'t>(x: Option<Node<'t>>) -> Option<Node<'t>> {
        x.filter(|x| x.kind() == "identifier")
    }

    /// The first identifier among a node's named children.
    pub fn first_ident(x: Node) -> Option<Node> {
        let mut cur = x.walk();
        let found = x
            .named_children(&mut cur)
            .find(|c| c.kind() == "identifier");
        found
    }

    /// The byte ranges of a string's `interpolation` children.
    pub fn interpolations(s: Node) -> Vec<Range<usize>> {
        let mut cur = s.walk();
        let holes = s
            .named_children(&mut cur)
            .filter(|ch| ch.kind() == "interpolation")
            .map(|ch| ch.byte_range())
            .collect();
        holes
    }

    /// A call whose grammar names its `function` and `arguments` (Python, Scala).
    pub fn function_call(n: Node) -> Option<(super::Callee, Node)> {
        Some((
            super::Callee::Expr(n.child_by_field_name("function")?),
            n.child_by_field_name("arguments")?,
        ))
    }

    /// A `"..."` or `"""..."""` string's content, with its `interpolation` children.
    pub fn quoted_content(s: Node, src: &[u8]) -> Option<super::Content> {
        Some((quoted(s, src)?, interpolations(s)))
    }

    /// Content between `"` or `"""` quotes.
    pub fn quoted(s: Node, src: &[u8]) -> Option<Range<usize>> {
        let r = s.byte_range();
        let t = &src[r.clone()];
        let q = if t.starts_with(b"\"\"\"") && t.len() >= 6 {
            3
        } else {
            1
        };
        if t.len() < 2 * q || t.first() != Some(&b'"') {
            return None;
        }
        Some(r.start + q..r.end - q)
    }

    /// The receiver and name of a member access whose grammar names them.
    pub fn fields<'t>(n: Node<'t>, receiver: &str, name: &str) -> Option<(Node<'t>, Node<'t>)> {
        Some((
            n.child_by_field_name(receiver)?,
            n.child_by_field_name(name)?,
        ))
    }

    /// The first named child of an interpolation, unwrapping a block of one.
    pub fn braced_hole(node: Node) -> Option<Node> {
        let mut cur = node.walk();
        let mut inner = node.named_children(&mut cur).next()?;
        if inner.kind() == "block" {
            let mut cur = inner.walk();
            let kids: Vec<Node> = inner.named_children(&mut cur).collect();
            inner = match kids.as_slice() {
                [one] => *one,
                _ => return None,
            };
        }
        Some(inner)
    }

    /// `import a.b.C;`, `import static a.b.C.X`, `import a.b.{C, D}` as one dotted path.
    pub fn import_text(n: Node, src: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(&src[n.byte_range()]).unwrap_or("");
        let t: String = text
            .trim_start_matches("import")
            .split_whitespace()
            .filter(|w| *w != "static")
            .collect();
        Some(t.trim_end_matches(';').to_string())
    }
}
