//! Java: Spark and Beam jobs.

use tree_sitter::Node;

use super::super::fold::Bind;
use super::super::grammar::shared::{braced_hole, fields, ident, import_text, quoted_content};
use super::super::grammar::{Callee, Dollar, Grammar, StringStyle};
use super::super::File;

pub(in crate::code) const JAVA: Grammar = Grammar {
    name: "java",
    extensions: &["java"],
    language: || tree_sitter_java::LANGUAGE.into(),
    call: "method_invocation",
    strings: &["string_literal"],
    concat: "binary_expression",
    scopes: &[
        "method_declaration",
        "constructor_declaration",
        "block",
        "class_body",
        "lambda_expression",
    ],
    keyword_argument: None,
    module_imports: false,
    path_joins: &[],
    dollar_escaped: false,
    line_continuation: true,
    margin: None,
    callee: |n| {
        Some((
            Callee::Method {
                receiver: n.child_by_field_name("object"),
                name: n.child_by_field_name("name")?,
            },
            n.child_by_field_name("arguments")?,
        ))
    },
    member: |n| match n.kind() {
        "field_access" => fields(n, "object", "field"),
        _ => None,
    },
    binding_name: |n| match n.kind() {
        "formal_parameter" | "variable_declarator" => ident(n.child_by_field_name("name")),
        _ => None,
    },
    binding_value: |n| match n.kind() {
        "variable_declarator" => n.child_by_field_name("value"),
        _ => None,
    },
    import: |n, src| match n.kind() {
        "import_declaration" => import_text(n, src),
        _ => None,
    },
    content: quoted_content,
    is_text: |_, _| true,
    hole: braced_hole,
    style: |_, _, _| StringStyle {
        escapes: true,
        dollar: Dollar::Plain,
        braces: false,
    },
    export,
    option_default,
    option_read,
    mapping_entries,
};

/// A final field of a class, found as `Class.NAME`.
fn export<'t>(f: &File<'_, 't>, b: &Bind<'t>) -> Option<Option<String>> {
    let parent = b.node.parent()?;
    let field = matches!(parent.kind(), "field_declaration" | "constant_declaration");
    let is_final = parent.kind() == "constant_declaration" || {
        let mut cur = parent.walk();
        let found = parent
            .named_children(&mut cur)
            .any(|c| c.kind() == "modifiers" && f.text(c).contains("final"));
        found
    };
    let class = parent.parent()?.parent()?;
    (field && is_final).then(|| {
        class
            .child_by_field_name("name")
            .map(|x| f.text(x).to_string())
    })
}

/// `@Default.String(TABLE)` on a Beam options getter `getInput()`.
fn option_default<'t>(f: &File<'_, 't>, n: Node<'t>) -> Option<(String, String)> {
    if n.kind() != "annotation" {
        return None;
    }
    let is_default = n
        .child_by_field_name("name")
        .is_some_and(|x| f.text(x).ends_with("Default.String"));
    let value = n.child_by_field_name("arguments").and_then(|a| {
        let mut cur = a.walk();
        let first = a.named_children(&mut cur).next();
        first
    });
    let method = n
        .parent()
        .and_then(|m| m.parent())
        .filter(|m| m.kind() == "method_declaration")
        .and_then(|m| m.child_by_field_name("name"));
    match (is_default, value, method) {
        (true, Some(v), Some(m)) => Some((f.text(m).to_string(), f.fold(v, false, 0)?)),
        _ => None,
    }
}

/// `options.getInput()`: a getter with no arguments on a receiver.
fn option_read<'a, 't>(f: &File<'a, 't>, n: Node<'t>) -> Option<&'a str> {
    if n.kind() != "method_invocation" {
        return None;
    }
    let c = f.call(n)?;
    let mut cur = c.args.walk();
    if c.receiver.is_none() || c.args.named_children(&mut cur).next().is_some() {
        return None;
    }
    Some(f.text(c.name))
}

/// `Map.of("path", p, "format", "avro")`.
fn mapping_entries<'t>(
    f: &File<'_, 't>,
    parent: Node<'t>,
    v: Node<'t>,
) -> Vec<(Node<'t>, Node<'t>)> {
    let mut entries = Vec::new();
    if parent.kind() != "argument_list" {
        return entries;
    }
    let is_map_of = parent.parent().and_then(|c| f.call(c)).is_some_and(|c| {
        f.text(c.name) == "of"
            && c.receiver
                .is_some_and(|r| matches!(f.text(r), "Map" | "ImmutableMap"))
    });
    if !is_map_of {
        return entries;
    }
    let mut cur = parent.walk();
    let args: Vec<Node> = parent.named_children(&mut cur).collect();
    if args.iter().position(|a| *a == v).is_none_or(|i| i % 2 == 0) {
        return entries;
    }
    for pair in args.chunks(2) {
        if let [k, val] = pair {
            entries.push((*k, *val));
        }
    }
    entries
}
