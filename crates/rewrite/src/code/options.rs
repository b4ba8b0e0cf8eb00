//! Options whose default names the dataset (Beam's `@Default.String`,
//! argparse's `default=`): code that reads the option reads the dataset.

use std::collections::HashMap;

use tree_sitter::Node;

use super::{fold, File};

impl<'a, 't> File<'a, 't> {
    /// Options whose default names the dataset (`@Default.String(TABLE)` on
    /// a Beam options getter, `parser.add_argument("--input", default=TABLE)`):
    /// code reading the option reads the dataset unless told otherwise.
    pub(super) fn options(&mut self, nodes: &[Node<'t>], bearing: &mut Vec<Node<'t>>) {
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
}
