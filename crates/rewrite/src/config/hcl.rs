//! Terraform HCL, through hcl-edit, which keeps spans.

use super::align::align_into;
use super::{Parsed, Quoting, Tree};

/// The file's one document, when it parses.
pub(super) fn parse(src: &str) -> Parsed {
    Ok(read(src).into_iter().collect())
}

fn read(src: &str) -> Option<Tree> {
    use hcl_edit::expr::Expression;
    use hcl_edit::structure::{Body, Structure};
    use hcl_edit::Span;
    let body = hcl_edit::parser::parse_body(src).ok()?;
    fn expr(e: &Expression, src: &str) -> Tree {
        match e {
            Expression::String(s) => {
                let text = s.value().to_string();
                let range = s.span().and_then(|sp| {
                    let r = sp.start + 1..sp.end.checked_sub(1)?;
                    (src.get(r.clone())? == text).then_some(r)
                });
                let value = s
                    .span()
                    .map(|sp| (sp.start + 1, Quoting::Escaped { triple: false }));
                Tree::Scalar { text, range, value }
            }
            Expression::Array(a) => Tree::Seq(a.iter().map(|v| expr(v, src)).collect()),
            Expression::Object(o) => Tree::Map(
                o.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            hcl_edit::expr::ObjectKey::Ident(i) => i.value().to_string(),
                            hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => {
                                s.value().to_string()
                            }
                            hcl_edit::expr::ObjectKey::Expression(_) => String::new(),
                        };
                        (key, expr(v.expr(), src))
                    })
                    .collect(),
            ),
            Expression::Parenthesis(p) => expr(p.inner(), src),
            Expression::StringTemplate(t) => template(t, src, Quoting::Escaped { triple: false }),
            Expression::HeredocTemplate(h) => template(&h.template, src, Quoting::Bare),
            _ => Tree::Other,
        }
    }
    /// A template's value: literals read back byte by byte, each
    /// interpolation and directive masked.
    fn template(t: &hcl_edit::template::Template, src: &str, quoting: Quoting) -> Tree {
        use hcl_edit::template::Element;
        let mut b = crate::mapped::Builder::default();
        let (mut start, mut end) = (usize::MAX, 0);
        for e in t.iter() {
            let Some(span) = e.span() else {
                return Tree::Other;
            };
            start = start.min(span.start);
            end = end.max(span.end);
            match e {
                Element::Literal(l) => {
                    let from = b.len();
                    if align_into(&mut b, src.as_bytes(), span.start, l.value(), quoting).is_err() {
                        return Tree::Other;
                    }
                    b.piece(from);
                }
                Element::Interpolation(_) | Element::Directive(_) => b.mask(src.as_bytes(), span),
            }
        }
        match b.finish(start.min(end)..end) {
            Some(m) => Tree::Template(std::sync::Arc::new(m), quoting),
            None => Tree::Other,
        }
    }
    fn body_tree(b: &Body, src: &str) -> Tree {
        Tree::Map(
            b.iter()
                .map(|s| match s {
                    Structure::Attribute(a) => (a.key.value().to_string(), expr(&a.value, src)),
                    Structure::Block(bl) => {
                        (bl.ident.value().to_string(), body_tree(&bl.body, src))
                    }
                })
                .collect(),
        )
    }
    Some(body_tree(&body, src))
}
