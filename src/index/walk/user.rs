//! Inside one user: the attributes of `users.users.<name>` (or
//! `home-manager.users.<name>`) down to the leaves the index records.

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::{Walker, segment_text};
use crate::index::options::UserOption;
use crate::index::wrappers::recognise;
use crate::index::{Leaf, Wrapper};
use crate::scope::Scope;
use crate::syntax::{attr_name, attrpath_names, range_of, strip_parens};

impl Walker<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn walk_user(
        &mut self,
        option: UserOption,
        value: ast::Expr,
        sub_path: Vec<String>,
        scope: Scope,
        wrappers: Vec<Wrapper>,
        leaves: &mut Vec<Leaf>,
        depth: usize,
    ) {
        let value = strip_parens(value);
        match &value {
            ast::Expr::AttrSet(set) if depth < 64 => {
                let inner = if set.rec_token().is_some() {
                    scope.with_bindings(set)
                } else {
                    scope.clone()
                };
                let mut any = false;
                for entry in set.entries() {
                    any = true;
                    match entry {
                        ast::Entry::AttrpathValue(av) => {
                            let (Some(p), Some(v)) = (av.attrpath(), av.value()) else {
                                continue;
                            };
                            let mut path = sub_path.clone();
                            path.extend(attrpath_names(&p).iter().map(|(n, _)| segment_text(n)));
                            self.walk_user(
                                option,
                                v,
                                path,
                                inner.clone(),
                                wrappers.clone(),
                                leaves,
                                depth + 1,
                            );
                        }
                        ast::Entry::Inherit(inh) => {
                            for attr in inh.attrs() {
                                let name = segment_text(&attr_name(&attr));
                                let mut path = sub_path.clone();
                                path.push(name.clone());
                                let value = self.inherit_canon(&inh, &name, &scope);
                                let elements = if option.is_list_option(&path) {
                                    self.inherit_elements(&inh, &name, &scope)
                                } else {
                                    None
                                };
                                leaves.push(Leaf {
                                    path: path.into(),
                                    value,
                                    elements: elements.map(Vec::into_boxed_slice),
                                    wrappers: wrappers.as_slice().into(),
                                    range: range_of(attr.syntax()),
                                });
                            }
                        }
                    }
                }
                if !any && !sub_path.is_empty() {
                    leaves.push(self.leaf(option, &value, sub_path, &scope, wrappers));
                }
                return;
            }
            ast::Expr::LetIn(l) => {
                if let Some(b) = l.body() {
                    self.walk_user(
                        option,
                        b,
                        sub_path,
                        scope.with_bindings(l),
                        wrappers,
                        leaves,
                        depth + 1,
                    );
                }
                return;
            }
            ast::Expr::With(w) if !option.is_list_option(&sub_path) => {
                if let (Some(ns), Some(b)) = (w.namespace(), w.body()) {
                    self.walk_user(
                        option,
                        b,
                        sub_path,
                        scope.with_namespace(ns),
                        wrappers,
                        leaves,
                        depth + 1,
                    );
                }
                return;
            }
            _ => {}
        }
        if let Some(w) = recognise(&value) {
            if let Some(ws) = self.wrap(&w, &scope, &wrappers) {
                self.walk_user(option, w.inner, sub_path, scope, ws, leaves, depth + 1);
                return;
            }
            if let ast::Expr::List(list) = strip_parens(w.inner.clone()) {
                for item in list.items() {
                    self.walk_user(
                        option,
                        item,
                        sub_path.clone(),
                        scope.clone(),
                        wrappers.clone(),
                        leaves,
                        depth + 1,
                    );
                }
                return;
            }
        }
        leaves.push(self.leaf(option, &value, sub_path, &scope, wrappers));
    }

    pub(super) fn leaf(
        &self,
        option: UserOption,
        value: &ast::Expr,
        path: Vec<String>,
        scope: &Scope,
        wrappers: Vec<Wrapper>,
    ) -> Leaf {
        let elements = if option.is_list_option(&path) {
            self.canon.list_elements(value, scope)
        } else {
            None
        };
        Leaf {
            value: self.canon.canon(value, scope),
            elements: elements.map(Vec::into_boxed_slice),
            path: path.into(),
            wrappers: wrappers.into(),
            range: range_of(value.syntax()),
        }
    }

    /// `inherit x;` is `x = x;` from the enclosing scope; `inherit (e) x;` is `x = e.x;`.
    pub(super) fn inherit_canon(&self, inh: &ast::Inherit, name: &str, scope: &Scope) -> String {
        let from = inh.from().and_then(|f| f.expr());
        self.canon.canon_inherited(from.as_ref(), name, scope)
    }

    pub(super) fn inherit_elements(
        &self,
        inh: &ast::Inherit,
        name: &str,
        scope: &Scope,
    ) -> Option<Vec<String>> {
        if inh.from().is_some() {
            return None;
        }
        self.canon.name_elements(name, scope)
    }
}
