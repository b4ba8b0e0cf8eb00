//! Scala: Spark and Scio jobs.

use tree_sitter::Node;

use super::super::fold::Bind;
use super::super::grammar::shared::{
    braced_hole, fields, function_call, ident, import_text, quoted_content,
};
use super::super::grammar::{Dollar, Grammar, StringStyle};
use super::super::File;

pub(in crate::code) const SCALA: Grammar = Grammar {
    name: "scala",
    extensions: &["scala", "sc"],
    language: || tree_sitter_scala::LANGUAGE.into(),
    call: "call_expression",
    strings: &["string", "interpolated_string"],
    concat: "infix_expression",
    scopes: &[
        "function_definition",
        "block",
        "template_body",
        "lambda_expression",
        "case_clause",
    ],
    keyword_argument: None,
    module_imports: false,
    path_joins: &[],
    dollar_escaped: false,
    line_continuation: false,
    margin: Some((b"stripMargin", "field_expression")),
    callee: function_call,
    member: |n| match n.kind() {
        "field_expression" => fields(n, "value", "field"),
        _ => None,
    },
    binding_name: |n| match n.kind() {
        "val_definition" | "var_definition" => ident(n.child_by_field_name("pattern")),
        "parameter" => ident(n.child_by_field_name("name")),
        _ => None,
    },
    binding_value: |n| match n.kind() {
        "val_definition" | "var_definition" => n.child_by_field_name("value"),
        _ => None,
    },
    import: |n, src| match n.kind() {
        "import_declaration" => import_text(n, src),
        _ => None,
    },
    content: quoted_content,
    is_text: |_, _| true,
    hole: braced_hole,
    style: |_, triple, interpolator| match interpolator {
        Some(name) => StringStyle {
            escapes: name != b"raw",
            dollar: Dollar::Doubled,
            braces: false,
        },
        None => StringStyle {
            escapes: !triple,
            dollar: Dollar::Plain,
            braces: false,
        },
    },
    export,
    option_default: |_, _| None,
    option_read: |_, _| None,
    mapping_entries,
};

/// A `val` of an `object`, found as `Object.NAME`.
fn export<'t>(f: &File<'_, 't>, b: &Bind<'t>) -> Option<Option<String>> {
    let parent = b.node.parent()?;
    let object = parent.parent()?;
    (parent.kind() == "template_body" && object.kind() == "object_definition").then(|| {
        object
            .child_by_field_name("name")
            .map(|x| f.text(x).to_string())
    })
}

/// `Map("path" -> p, "format" -> "avro")`.
fn mapping_entries<'t>(
    f: &File<'_, 't>,
    parent: Node<'t>,
    v: Node<'t>,
) -> Vec<(Node<'t>, Node<'t>)> {
    let mut entries = Vec::new();
    let arrow = parent.kind() == "infix_expression"
        && parent.child_by_field_name("right") == Some(v)
        && parent
            .child_by_field_name("operator")
            .is_some_and(|o| f.text(o) == "->");
    if !arrow {
        return entries;
    }
    let Some(args) = parent.parent() else {
        return entries;
    };
    let mut cur = args.walk();
    for e in args.named_children(&mut cur) {
        if let (Some(k), Some(val)) = (
            e.child_by_field_name("left"),
            e.child_by_field_name("right"),
        ) {
            entries.push((k, val));
        }
    }
    entries
}
