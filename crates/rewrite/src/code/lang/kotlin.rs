//! Kotlin: Spark jobs.

use std::ops::Range;

use tree_sitter::Node;

use super::super::fold::Bind;
use super::super::grammar::shared::{braced_hole, first_ident, import_text, quoted};
use super::super::grammar::{Callee, Content, Dollar, Grammar, StringStyle};
use super::super::File;

pub(in crate::code) const KOTLIN: Grammar = Grammar {
    name: "kotlin",
    extensions: &["kt", "kts"],
    language: || tree_sitter_kotlin_ng::LANGUAGE.into(),
    call: "call_expression",
    strings: &["string_literal", "multiline_string_literal"],
    concat: "binary_expression",
    scopes: &[
        "function_declaration",
        "function_body",
        "block",
        "class_body",
        "lambda_literal",
    ],
    keyword_argument: None,
    module_imports: false,
    path_joins: &[],
    dollar_escaped: true,
    line_continuation: false,
    margin: Some((b"trimMargin", "navigation_expression")),
    callee: |n| {
        let mut cur = n.walk();
        let kids: Vec<Node> = n.named_children(&mut cur).collect();
        Some((
            Callee::Expr(*kids.first()?),
            *kids.iter().find(|k| k.kind() == "value_arguments")?,
        ))
    },
    member: |n| {
        if n.kind() != "navigation_expression" {
            return None;
        }
        let mut cur = n.walk();
        let kids: Vec<Node> = n.named_children(&mut cur).collect();
        match kids.as_slice() {
            [receiver, .., name] if name.kind() == "identifier" => Some((*receiver, *name)),
            _ => None,
        }
    },
    binding_name: |n| match n.kind() {
        "property_declaration" => {
            let mut cur = n.walk();
            let decl = n
                .named_children(&mut cur)
                .find(|c| c.kind() == "variable_declaration");
            decl.and_then(first_ident)
        }
        "parameter" | "function_value_parameter" | "class_parameter" => first_ident(n),
        _ => None,
    },
    binding_value: |n| {
        if n.kind() != "property_declaration" {
            return None;
        }
        let mut cur = n.walk();
        let found = n.named_children(&mut cur).find(|c| {
            !matches!(
                c.kind(),
                "modifiers"
                    | "variable_declaration"
                    | "user_type"
                    | "nullable_type"
                    | "type_constraints"
                    | "property_delegate"
                    | "getter"
                    | "setter"
            )
        });
        found
    },
    import: |n, src| match n.kind() {
        "import" => import_text(n, src),
        _ => None,
    },
    content,
    is_text: |_, _| true,
    hole: braced_hole,
    style: |_, triple, _| StringStyle {
        escapes: !triple,
        dollar: if triple {
            Dollar::Template
        } else {
            Dollar::Backslash
        },
        braces: false,
    },
    export,
    option_default: |_, _| None,
    option_read: |_, _| None,
    mapping_entries,
};

/// Kotlin's grammar leaves `$name` and `${...}` as text: they are found here.
fn content(s: Node, src: &[u8]) -> Option<Content> {
    let content = quoted(s, src)?;
    let holes = template_holes(src, content.clone());
    Some((content, holes))
}

/// A property of an `object`, a companion (found by its class) or the file.
fn export<'t>(f: &File<'_, 't>, b: &Bind<'t>) -> Option<Option<String>> {
    let name_of = |n: Node<'t>| n.child_by_field_name("name").map(|x| f.text(x).to_string());
    let parent = b.node.parent()?;
    match parent.kind() {
        "source_file" => Some(None),
        "class_body" => {
            let holder = parent.parent()?;
            match holder.kind() {
                "object_declaration" => Some(name_of(holder)),
                "companion_object" => {
                    let class = holder.parent()?.parent()?;
                    Some(name_of(class))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `mapOf("path" to p, "format" to "avro")`.
fn mapping_entries<'t>(
    f: &File<'_, 't>,
    parent: Node<'t>,
    v: Node<'t>,
) -> Vec<(Node<'t>, Node<'t>)> {
    let mut entries = Vec::new();
    if parent.kind() != "infix_expression" {
        return entries;
    }
    let mut cur = parent.walk();
    let kids: Vec<Node> = parent.named_children(&mut cur).collect();
    if kids.len() != 3 || kids[2] != v || f.text(kids[1]) != "to" {
        return entries;
    }
    let Some(args) = parent.parent().and_then(|a| a.parent()) else {
        return entries;
    };
    let mut cur = args.walk();
    for a in args.named_children(&mut cur) {
        let mut c2 = a.walk();
        let inner: Vec<Node> = a
            .named_children(&mut c2)
            .filter(|x| x.kind() == "infix_expression")
            .collect();
        for e in inner {
            let mut c3 = e.walk();
            let k: Vec<Node> = e.named_children(&mut c3).collect();
            if k.len() == 3 && f.text(k[1]) == "to" {
                entries.push((k[0], k[2]));
            }
        }
    }
    entries
}

/// Kotlin templates: `$name` and `${expr}`, which the grammar leaves as text.
fn template_holes(src: &[u8], content: Range<usize>) -> Vec<Range<usize>> {
    let mut holes = Vec::new();
    let mut i = content.start;
    while i < content.end {
        if src[i] == b'\\' {
            i += 2;
            continue;
        }
        if src[i] == b'$' && i + 1 < content.end {
            let start = i;
            if src[i + 1] == b'{' {
                let mut depth = 0;
                while i < content.end {
                    match src[i] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                holes.push(start..(i + 1).min(content.end));
            } else if src[i + 1].is_ascii_alphabetic() || src[i + 1] == b'_' {
                i += 1;
                while i < content.end && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
                    i += 1;
                }
                holes.push(start..i);
                continue;
            }
        }
        i += 1;
    }
    holes
}
