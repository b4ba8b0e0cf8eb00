//! Python: PySpark jobs and Airflow DAGs.

use tree_sitter::Node;

use super::super::fold::Bind;
use super::super::grammar::shared::{fields, first_ident, function_call, ident, interpolations};
use super::super::grammar::{Content, Dollar, Grammar, StringStyle};
use super::super::File;

pub(in crate::code) const PYTHON: Grammar = Grammar {
    name: "python",
    extensions: &["py"],
    language: || tree_sitter_python::LANGUAGE.into(),
    call: "call",
    strings: &["string"],
    concat: "binary_operator",
    scopes: &["function_definition", "lambda", "class_definition"],
    keyword_argument: Some("keyword_argument"),
    module_imports: true,
    path_joins: &["os.path.join", "posixpath.join"],
    dollar_escaped: false,
    line_continuation: false,
    margin: None,
    callee: function_call,
    member: |n| match n.kind() {
        "attribute" => fields(n, "object", "attribute"),
        _ => None,
    },
    binding_name: |n| match n.kind() {
        "assignment" => ident(n.child_by_field_name("left")),
        "default_parameter" | "typed_default_parameter" => ident(n.child_by_field_name("name")),
        "typed_parameter" => first_ident(n),
        "identifier" if n.parent().is_some_and(|p| p.kind() == "parameters") => Some(n),
        _ => None,
    },
    binding_value: |n| match n.kind() {
        "assignment" => n.child_by_field_name("right"),
        _ => None,
    },
    import,
    content,
    is_text: |s, src| {
        let mut cur = s.walk();
        let start = s.children(&mut cur).find(|k| k.kind() == "string_start");
        start.is_some_and(|start| !src[start.byte_range()].to_ascii_lowercase().contains(&b'b'))
    },
    hole: |node| {
        // A conversion or a format spec changes the text.
        let mut cur = node.walk();
        if node.named_children(&mut cur).count() != 1 {
            return None;
        }
        node.child_by_field_name("expression")
    },
    style: |head, _, _| {
        let prefix = head.to_ascii_lowercase();
        StringStyle {
            escapes: !prefix.contains(&b'r'),
            dollar: Dollar::Plain,
            braces: prefix.contains(&b'f'),
        }
    },
    export,
    option_default,
    option_read,
    mapping_entries,
};

/// `from config.tables import PLAYS, EVENTS` as `tables.PLAYS,tables.EVENTS`.
fn import(n: Node, src: &[u8]) -> Option<String> {
    if n.kind() != "import_from_statement" {
        return None;
    }
    let text = |n: Node| std::str::from_utf8(&src[n.byte_range()]).unwrap_or("");
    let module = n
        .child_by_field_name("module_name")
        .map(|m| text(m).rsplit('.').next().unwrap_or("").to_string());
    let mut cur = n.walk();
    let names: Vec<String> = n
        .children_by_field_name("name", &mut cur)
        .filter(|c| c.kind() == "dotted_name")
        .map(|c| text(c).to_string())
        .collect();
    let star = text(n).trim_end().ends_with('*');
    module.map(|m| {
        if star {
            format!("{m}.*")
        } else {
            names
                .iter()
                .map(|x| format!("{m}.{x}"))
                .collect::<Vec<_>>()
                .join(",")
        }
    })
}

fn content(s: Node, _src: &[u8]) -> Option<Content> {
    let mut cur = s.walk();
    let kids: Vec<Node> = s.children(&mut cur).collect();
    let start = kids.iter().find(|k| k.kind() == "string_start")?.end_byte();
    let end = kids
        .iter()
        .rev()
        .find(|k| k.kind() == "string_end")?
        .start_byte();
    (start <= end).then_some((start..end, interpolations(s)))
}

/// A module-level name, found by the module's file stem.
fn export<'t>(f: &File<'_, 't>, b: &Bind<'t>) -> Option<Option<String>> {
    let parent = b.node.parent()?;
    let module_level =
        parent.kind() == "expression_statement" && parent.parent()?.kind() == "module";
    module_level.then(|| Some(f.stem.clone()))
}

/// `parser.add_argument("--input", default=TABLE)`: `input` defaults to `TABLE`.
fn option_default<'t>(f: &File<'_, 't>, n: Node<'t>) -> Option<(String, String)> {
    if n.kind() != "call" {
        return None;
    }
    let c = f.call(n)?;
    if !matches!(
        f.text(c.name),
        "add_argument" | "add_value_provider_argument"
    ) {
        return None;
    }
    let mut cur = c.args.walk();
    let args: Vec<Node> = c.args.named_children(&mut cur).collect();
    let kw = |k: &str| {
        args.iter().find_map(|a| {
            (a.kind() == "keyword_argument"
                && a.child_by_field_name("name")
                    .is_some_and(|x| f.text(x) == k))
            .then(|| a.child_by_field_name("value"))
            .flatten()
        })
    };
    let default = kw("default")?;
    let string = |x: Node<'t>| {
        f.content(x)
            .filter(|(_, h)| h.is_empty())
            .map(|(r, _)| f.text_at(r))
    };
    let dest = kw("dest").and_then(string).or_else(|| {
        args.iter()
            .filter(|a| f.lang.is_string(**a))
            .filter_map(|a| string(*a))
            .find_map(|x| x.strip_prefix("--").map(|x| x.replace('-', "_")))
    })?;
    Some((dest, f.fold(default, false, 0)?))
}

/// `args.input`, not a method call.
fn option_read<'a, 't>(f: &File<'a, 't>, n: Node<'t>) -> Option<&'a str> {
    if n.kind() != "attribute" {
        return None;
    }
    let is_method = n
        .parent()
        .is_some_and(|p| p.kind() == "call" && p.child_by_field_name("function") == Some(n));
    match n.child_by_field_name("attribute") {
        Some(a) if !is_method => Some(f.text(a)),
        _ => None,
    }
}

/// `{"path": p, "format": "avro"}`.
fn mapping_entries<'t>(
    _: &File<'_, 't>,
    parent: Node<'t>,
    v: Node<'t>,
) -> Vec<(Node<'t>, Node<'t>)> {
    let mut entries = Vec::new();
    if parent.kind() != "pair" || parent.child_by_field_name("value") != Some(v) {
        return entries;
    }
    let Some(dict) = parent.parent() else {
        return entries;
    };
    let mut cur = dict.walk();
    for p in dict.named_children(&mut cur) {
        if let (Some(k), Some(val)) = (p.child_by_field_name("key"), p.child_by_field_name("value"))
        {
            entries.push((k, val));
        }
    }
    entries
}
