//! Reading the tree alike in every grammar: the names a node binds and
//! their scopes, calls split into receiver, method and arguments, member
//! access, and the chains of calls a read hangs on.

use std::ops::Range;

use tree_sitter::Node;

use super::grammar::Callee;
use super::{Call, File};

impl<'a, 't> File<'a, 't> {
    /// The name after a dot (`x.name`), a keyword argument's name
    /// (`load(path=p)`): words that are not names of their own.
    pub(super) fn is_member_name(&self, n: Node<'t>) -> bool {
        let Some(p) = n.parent() else { return false };
        if self.field(p).is_some_and(|(_, name)| name.id() == n.id()) {
            return true;
        }
        Some(p.kind()) == self.lang.keyword_argument
            && p.child_by_field_name("name")
                .is_some_and(|k| k.id() == n.id())
    }

    /// A name node `n` binds, and the byte range of the scope it binds in:
    /// assignments and declarations of every grammar, and parameters.
    pub(super) fn binding(&self, n: Node<'t>) -> Option<(Node<'t>, Range<usize>)> {
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

    pub(super) fn call(&self, n: Node<'t>) -> Option<Call<'t>> {
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
    pub(super) fn field(&self, n: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
        (self.lang.member)(n)
    }

    /// The innermost call whose arguments hold `n`, unless it is `spark.sql`.
    pub(super) fn read_call(&self, n: Node<'t>) -> Option<Node<'t>> {
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
    pub(super) fn chain(&self, call: Node<'t>) -> Vec<(String, Option<Node<'t>>)> {
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
    pub(super) fn chain_above(&self, n: Node<'t>) -> Vec<Node<'t>> {
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
}
