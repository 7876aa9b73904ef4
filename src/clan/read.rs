//! What builds each machine of a plain NixOS flake, read from `flake.nix`'s
//! syntax: the `nixosConfigurations` entries, the `nixosSystem` call behind
//! each (written in place, in a `let`-bound helper, or in the function a
//! `genAttrs` maps over a literal list of names), and that call's
//! `system`, `specialArgs` and `modules`.

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::ClanError;
use crate::scope::{Binding, Resolution, Scope};
use crate::source::SourceFile;
use crate::syntax::{
    Range, StaticEnv, StaticValue, apply_chain, attrpath_names, dotted_name, get_attr, head_name,
    ident_text, lambda_params, range_of, short_text, static_value, strip_parens,
};

/// The flake's outputs function, as far as the conversion needs it.
pub(super) struct Outputs {
    pub lambda: ast::Lambda,
    /// `let … in { … }` around the output set, if any.
    pub let_in: Option<ast::LetIn>,
    /// The set the `nixosConfigurations` bindings are in.
    pub set: ast::AttrSet,
    /// Set for a flake-parts flake.
    pub parts: Option<Parts>,
    /// The `nixosConfigurations` bindings of the output set, in order.
    pub entries: Vec<Entry>,
    pub machines: Vec<Machine>,
    /// Every `nixosSystem` call some machine is built with, once each.
    pub calls: Vec<Call>,
    /// The `let`-bound helpers those calls are in.
    helpers: Vec<String>,
}

/// A flake-parts flake: `mkFlake { … } MODULE`.
pub(super) struct Parts {
    /// The module's attribute set, where `imports` and the `clan` block go.
    pub module: ast::AttrSet,
    /// Its `flake = { … };`, if the machines are written there.
    pub flake: Option<ast::AttrpathValue>,
}

/// The module given to `mkFlake`: a set, or a function returning one
/// (through a `let`, whose bindings the machines may use).
fn parts_module(
    file: &SourceFile,
    module: Option<ast::Expr>,
) -> Result<(ast::AttrSet, Option<ast::LetIn>), ClanError> {
    let mut e = module.map(strip_parens);
    while let Some(ast::Expr::Lambda(l)) = &e {
        e = l.body().map(strip_parens);
    }
    match e {
        Some(ast::Expr::AttrSet(s)) => Ok((s, None)),
        Some(ast::Expr::LetIn(l)) => match l.body().map(strip_parens) {
            Some(ast::Expr::AttrSet(s)) => Ok((s, Some(l))),
            _ => Err(ClanError::Unsupported {
                at: ClanError::at(file, range_of(l.syntax())),
                what: "a flake-parts module that is not an attribute set".into(),
            }),
        },
        other => Err(ClanError::Unsupported {
            at: other
                .map(|o| ClanError::at(file, range_of(o.syntax())))
                .unwrap_or_else(|| "flake.nix".into()),
            what: "a flake-parts module that is not an attribute set".into(),
        }),
    }
}

/// A `nixosConfigurations…` binding of the output set.
pub(super) struct Entry {
    pub node: ast::AttrpathValue,
    /// `Some("web")` for `nixosConfigurations.web = …`: the text of the
    /// name as written (`"storage.home"` keeps its quotes).
    pub key: Option<String>,
    pub value: ast::Expr,
}

/// One machine and what builds it.
pub(super) struct Machine {
    pub name: String,
    /// Where it is named (for messages): the entry, or the list item.
    pub at: Range,
    /// Index into `Outputs::calls`.
    pub call: usize,
    /// `mkHost "alpha"` when a helper builds it.
    pub via: Option<String>,
}

/// A `<nixpkgs>.lib.nixosSystem { … }` call.
pub(super) struct Call {
    pub node: ast::Apply,
    pub args: ast::AttrSet,
    /// The flake input whose `lib.nixosSystem` it is.
    pub input: String,
    pub system: Option<ast::AttrpathValue>,
    pub inherit_system: Option<ast::Inherit>,
    pub modules: Option<ast::AttrpathValue>,
    pub special_args: Option<ast::AttrpathValue>,
}

pub(super) fn outputs(file: &SourceFile, top: &ast::AttrSet) -> Result<Outputs, ClanError> {
    let here = |node: &rnix::SyntaxNode| ClanError::at(file, range_of(node));
    let Some(value) = get_attr(top, &["outputs"]) else {
        return Err(ClanError::Unsupported {
            at: here(top.syntax()),
            what: "a flake without `outputs`".into(),
        });
    };
    let ast::Expr::Lambda(lambda) = strip_parens(value.clone()) else {
        return Err(ClanError::Unsupported {
            at: here(value.syntax()),
            what: format!(
                "outputs that are not a function: `{}`",
                short_text(value.syntax())
            ),
        });
    };
    let body = lambda.body().map(strip_parens);
    let (let_in, inner) = match body {
        Some(ast::Expr::LetIn(l)) => {
            let b = l.body().map(strip_parens);
            (Some(l), b)
        }
        b => (None, b),
    };
    let mut scope = match &let_in {
        Some(l) => Scope::root().with_bindings(l),
        None => Scope::root(),
    };
    let (set, parts, skip) = match inner {
        Some(ast::Expr::AttrSet(set)) => (set, None, 0),
        Some(e) => match apply_chain(&e) {
            Some((head, args)) if head_name(&head).as_deref() == Some("mkFlake") => {
                let (module, module_let) = parts_module(file, args.last().cloned())?;
                if let Some(l) = &module_let {
                    scope = scope.with_bindings(l);
                }
                let flake = module.attrpath_values().find(|av| {
                    av.attrpath().is_some_and(|p| {
                        let n = attrpath_names(&p);
                        n.len() == 1 && n[0].0.as_static() == Some("flake")
                    })
                });
                let inner_set = flake
                    .as_ref()
                    .and_then(|f| f.value())
                    .map(strip_parens)
                    .and_then(|v| match v {
                        ast::Expr::AttrSet(s) => Some(s),
                        _ => None,
                    });
                let parts = Parts {
                    module: module.clone(),
                    flake: flake.clone(),
                };
                match inner_set {
                    Some(s) => (s, Some(parts), 0),
                    None => (module, Some(parts), 1),
                }
            }
            _ => return Err(unsupported_body(file, Some(e), lambda.syntax())),
        },
        None => return Err(unsupported_body(file, None, lambda.syntax())),
    };
    if let Some(r) = set.rec_token() {
        return Err(ClanError::Unsupported {
            at: ClanError::at(
                file,
                (
                    usize::from(r.text_range().start()),
                    usize::from(r.text_range().end()),
                ),
            ),
            what: "a `rec { … }` output set (its names would no longer reach the machines)".into(),
        });
    }
    let mut out = Outputs {
        lambda,
        let_in,
        set: set.clone(),
        parts,
        entries: Vec::new(),
        machines: Vec::new(),
        calls: Vec::new(),
        helpers: Vec::new(),
    };
    let mut colmena = None;
    for av in set.attrpath_values() {
        let (Some(path), Some(value)) = (av.attrpath(), av.value()) else {
            continue;
        };
        let mut names = attrpath_names(&path);
        // flake-parts: `flake.nixosConfigurations…` in the module itself.
        if skip == 1 {
            if names.len() < 2 || names[0].0.as_static() != Some("flake") {
                continue;
            }
            names.remove(0);
        }
        match names[0].0.as_static() {
            Some("nixosConfigurations") => {}
            Some("colmena") => {
                colmena = Some(range_of(av.syntax()));
                continue;
            }
            _ => continue,
        }
        let key = match names.len() {
            1 => None,
            2 => Some(
                path.attrs()
                    .nth(1 + skip)
                    .map(|a| a.syntax().to_string())
                    .unwrap_or_default(),
            ),
            _ => {
                return Err(ClanError::Unsupported {
                    at: here(av.syntax()),
                    what: format!(
                        "a deeper nixosConfigurations binding: `{}`",
                        short_text(av.syntax())
                    ),
                });
            }
        };
        match &key {
            Some(_) => {
                let Some(name) = names[1].0.as_static() else {
                    return Err(ClanError::Unsupported {
                        at: here(av.syntax()),
                        what: format!("a computed host name: `{}`", short_text(path.syntax())),
                    });
                };
                let (call, via) = out.call_of(file, &value, &scope, &[])?;
                out.machines.push(Machine {
                    name: name.to_string(),
                    at: range_of(av.syntax()),
                    call,
                    via,
                });
            }
            None => out.host_set(file, &value, &scope)?,
        }
        out.entries.push(Entry {
            node: av.clone(),
            key,
            value,
        });
    }
    // A helper becomes a machine module: nothing else may still want it
    // to build a NixOS system.
    let entries: Vec<Range> = out
        .entries
        .iter()
        .map(|e| range_of(e.node.syntax()))
        .collect();
    if let Some(body) = out.lambda.body() {
        for h in &out.helpers {
            let elsewhere = body
                .syntax()
                .descendants()
                .filter_map(ast::Ident::cast)
                .filter(|i| ident_text(i) == *h)
                .filter(|i| {
                    i.syntax().parent().map(|p| p.kind()) != Some(rnix::SyntaxKind::NODE_ATTRPATH)
                })
                .map(|i| range_of(i.syntax()))
                .find(|r| !entries.iter().any(|e| r.0 >= e.0 && r.1 <= e.1));
            if let Some(r) = elsewhere {
                return Err(ClanError::Unsupported {
                    at: ClanError::at(file, r),
                    what: format!(
                        "helper `{h}`, which is used here too, not only for nixosConfigurations (it would no longer build a NixOS system)"
                    ),
                });
            }
        }
    }
    if out.entries.is_empty() {
        return Err(match colmena {
            Some(r) => ClanError::Unsupported {
                at: ClanError::at(file, r),
                what: "a colmena-only hive (no nixosConfigurations to build the machines from)"
                    .into(),
            },
            None => ClanError::NoMachines {
                at: here(set.syntax()),
            },
        });
    }
    Ok(out)
}

fn unsupported_body(
    file: &SourceFile,
    body: Option<ast::Expr>,
    at: &rnix::SyntaxNode,
) -> ClanError {
    let (range, text) = match &body {
        Some(b) => (range_of(b.syntax()), short_text(b.syntax())),
        None => (range_of(at), String::new()),
    };
    let what = match body.as_ref().and_then(apply_chain) {
        Some((head, _)) if head_name(&head).as_deref() == Some("mkFlake") => {
            "a flake-parts flake (`mkFlake`)".to_string()
        }
        _ => format!("outputs whose body is not an attribute set: `{text}`"),
    };
    ClanError::Unsupported {
        at: ClanError::at(file, range),
        what,
    }
}

impl Outputs {
    /// `nixosConfigurations = { a = …; b = …; }` or `= genAttrs [ … ] f`.
    fn host_set(
        &mut self,
        file: &SourceFile,
        value: &ast::Expr,
        scope: &Scope,
    ) -> Result<(), ClanError> {
        let here = |node: &rnix::SyntaxNode| ClanError::at(file, range_of(node));
        match strip_parens(value.clone()) {
            ast::Expr::AttrSet(set) => {
                if let Some(inh) = set.inherits().next() {
                    return Err(ClanError::Unsupported {
                        at: here(inh.syntax()),
                        what: format!("a host taken with `{}`", short_text(inh.syntax())),
                    });
                }
                for av in set.attrpath_values() {
                    let (Some(path), Some(v)) = (av.attrpath(), av.value()) else {
                        continue;
                    };
                    let names = attrpath_names(&path);
                    let (1, Some(name)) = (names.len(), names[0].0.as_static()) else {
                        return Err(ClanError::Unsupported {
                            at: here(av.syntax()),
                            what: format!("a computed host name: `{}`", short_text(path.syntax())),
                        });
                    };
                    let (call, via) = self.call_of(file, &v, scope, &[])?;
                    self.machines.push(Machine {
                        name: name.to_string(),
                        at: range_of(av.syntax()),
                        call,
                        via,
                    });
                }
                Ok(())
            }
            other => {
                let Some((head, args)) = apply_chain(&other) else {
                    return Err(cannot_follow(file, value));
                };
                // The names, each with where it is written, and the function.
                let (names, f, via): (Vec<(String, Range)>, &ast::Expr, String) =
                    match (head_name(&head).as_deref(), args.as_slice()) {
                        (Some("genAttrs"), [list, f]) => {
                            let ast::Expr::List(list) = strip_parens(list.clone()) else {
                                return Err(cannot_follow(file, list));
                            };
                            let mut names = Vec::new();
                            for item in list.items() {
                                let Some(StaticValue::Str(name)) = static_value(
                                    &item,
                                    std::path::Path::new(""),
                                    &StaticEnv::default(),
                                ) else {
                                    return Err(cannot_follow(file, &item));
                                };
                                names.push((name, range_of(item.syntax())));
                            }
                            (names, f, format!("genAttrs {}", short_text(list.syntax())))
                        }
                        (Some("mapAttrs"), [f, set]) => {
                            let Some(set) = literal_set(set, scope) else {
                                return Err(cannot_follow(file, set));
                            };
                            let mut names = Vec::new();
                            for av in set.attrpath_values() {
                                let path = av
                                    .attrpath()
                                    .map(|p| attrpath_names(&p))
                                    .unwrap_or_default();
                                let (1, Some(name)) =
                                    (path.len(), path.first().and_then(|n| n.0.as_static()))
                                else {
                                    return Err(cannot_follow(
                                        file,
                                        &ast::Expr::AttrSet(set.clone()),
                                    ));
                                };
                                names.push((name.to_string(), range_of(av.syntax())));
                            }
                            (names, f, "mapAttrs".to_string())
                        }
                        _ => return Err(cannot_follow(file, value)),
                    };
                for (name, at) in names {
                    let (call, helper) = self.function_call(file, f, scope)?;
                    self.machines.push(Machine {
                        name,
                        at,
                        call,
                        via: Some(helper.map_or(via.clone(), |h| format!("{via} with {h}"))),
                    });
                }
                Ok(())
            }
        }
    }

    /// The `nixosSystem` call a host's value makes, directly or through a
    /// helper applied to arguments.
    fn call_of(
        &mut self,
        file: &SourceFile,
        value: &ast::Expr,
        scope: &Scope,
        params: &[String],
    ) -> Result<(usize, Option<String>), ClanError> {
        let expr = strip_parens(value.clone());
        let Some((head, args)) = apply_chain(&expr) else {
            return Err(cannot_follow(file, value));
        };
        if head_name(&head).as_deref() == Some("nixosSystem") {
            let ast::Expr::Apply(node) = expr else {
                return Err(cannot_follow(file, value));
            };
            return Ok((self.add_call(file, node, head, &args, scope, params)?, None));
        }
        let (k, _) = self.function_call(file, &head, scope)?;
        Ok((k, Some(short_text(value.syntax()))))
    }

    /// The `nixosSystem` call in the body of a function (a `let`-bound
    /// helper or a lambda written in place).
    fn function_call(
        &mut self,
        file: &SourceFile,
        f: &ast::Expr,
        scope: &Scope,
    ) -> Result<(usize, Option<String>), ClanError> {
        let (mut body, via) = match strip_parens(f.clone()) {
            l @ ast::Expr::Lambda(_) => (l, None),
            ast::Expr::Ident(i) => {
                let name = ident_text(&i);
                match scope.resolve(&name) {
                    Resolution::Binding {
                        binding: Binding::Expr(e),
                        ..
                    } => {
                        if !self.helpers.contains(&name) {
                            self.helpers.push(name.clone());
                        }
                        (e, Some(name))
                    }
                    _ => return Err(cannot_follow(file, f)),
                }
            }
            _ => return Err(cannot_follow(file, f)),
        };
        let mut params = Vec::new();
        while let ast::Expr::Lambda(l) = strip_parens(body.clone()) {
            params.extend(lambda_params(&l));
            body = match l.body() {
                Some(b) => b,
                None => return Err(cannot_follow(file, f)),
            };
        }
        let expr = strip_parens(body.clone());
        match apply_chain(&expr) {
            Some((head, args)) if head_name(&head).as_deref() == Some("nixosSystem") => {
                let ast::Expr::Apply(node) = expr else {
                    return Err(cannot_follow(file, &body));
                };
                let k = self.add_call(file, node, head, &args, scope, &params)?;
                Ok((k, via))
            }
            // `name: _: mkHost name`: the helper's call.
            Some((head, _)) if matches!(strip_parens(head.clone()), ast::Expr::Ident(_)) => {
                self.function_call(file, &head, scope)
            }
            _ => Err(cannot_follow(file, &body)),
        }
    }

    fn add_call(
        &mut self,
        file: &SourceFile,
        node: ast::Apply,
        head: ast::Expr,
        args: &[ast::Expr],
        scope: &Scope,
        params: &[String],
    ) -> Result<usize, ClanError> {
        let range = range_of(node.syntax());
        if let Some(k) = self
            .calls
            .iter()
            .position(|c| range_of(c.node.syntax()) == range)
        {
            return Ok(k);
        }
        let here = |node: &rnix::SyntaxNode| ClanError::at(file, range_of(node));
        let input = input_of(&head, scope).ok_or_else(|| ClanError::Unsupported {
            at: here(head.syntax()),
            what: format!(
                "`{}`: which flake input's nixosSystem this is cannot be read",
                short_text(head.syntax())
            ),
        })?;
        let [arg] = args else {
            return Err(cannot_follow(file, &ast::Expr::Apply(node)));
        };
        let ast::Expr::AttrSet(set) = strip_parens(arg.clone()) else {
            return Err(ClanError::Unsupported {
                at: here(arg.syntax()),
                what: format!(
                    "nixosSystem called with `{}`, not a literal set",
                    short_text(arg.syntax())
                ),
            });
        };
        let mut call = Call {
            node,
            args: set.clone(),
            input,
            system: None,
            inherit_system: None,
            modules: None,
            special_args: None,
        };
        for entry in set.entries() {
            match entry {
                ast::Entry::Inherit(inh) => {
                    let names: Vec<String> = inh.attrs().map(|a| a.syntax().to_string()).collect();
                    if names == ["system"] && inh.from().is_none() {
                        call.inherit_system = Some(inh);
                    } else {
                        return Err(ClanError::Unsupported {
                            at: here(inh.syntax()),
                            what: format!("nixosSystem argument `{}`", short_text(inh.syntax())),
                        });
                    }
                }
                ast::Entry::AttrpathValue(av) => {
                    let names = av
                        .attrpath()
                        .map(|p| attrpath_names(&p))
                        .unwrap_or_default();
                    let slot = match (names.len(), names.first().and_then(|n| n.0.as_static())) {
                        (1, Some("system")) => &mut call.system,
                        (1, Some("modules")) => &mut call.modules,
                        (1, Some("specialArgs")) => &mut call.special_args,
                        _ => {
                            return Err(ClanError::Unsupported {
                                at: here(av.syntax()),
                                what: format!(
                                    "nixosSystem argument `{}`, which Clan's machines have no equivalent for",
                                    av.attrpath()
                                        .map(|p| p.syntax().to_string())
                                        .unwrap_or_default()
                                ),
                            });
                        }
                    };
                    *slot = Some(av);
                }
            }
        }
        if let Some(sa) = &call.special_args
            && let Some(v) = sa.value()
            && let Some(p) = free_names(&v).into_iter().find(|n| params.contains(n))
        {
            return Err(ClanError::Unsupported {
                at: here(sa.syntax()),
                what: format!(
                    "specialArgs that use the helper's parameter `{p}` (Clan's specialArgs are one set for every machine)"
                ),
            });
        }
        self.calls.push(call);
        Ok(self.calls.len() - 1)
    }
}

/// `nixpkgs.lib.nixosSystem` -> `nixpkgs`; `inputs.nixpkgs.lib.nixosSystem`
/// -> `nixpkgs`; `lib.nixosSystem` with `lib = nixpkgs.lib;` -> `nixpkgs`.
fn input_of(head: &ast::Expr, scope: &Scope) -> Option<String> {
    let names = dotted_name(head)?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["inputs", input, "lib", "nixosSystem"] | [input, "lib", "nixosSystem"] => {
            Some(input.to_string())
        }
        [lib, "nixosSystem"] => match scope.resolve(lib) {
            Resolution::Binding {
                binding: Binding::Expr(e),
                ..
            } => match dotted_name(&e)?.as_slice() {
                [i, l] if l == "lib" && i != "inputs" => Some(i.clone()),
                [i, input, l] if i == "inputs" && l == "lib" => Some(input.clone()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// A literal attribute set, written in place or bound by a `let`.
fn literal_set(expr: &ast::Expr, scope: &Scope) -> Option<ast::AttrSet> {
    match strip_parens(expr.clone()) {
        ast::Expr::AttrSet(s) if s.rec_token().is_none() => Some(s),
        ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
            Resolution::Binding {
                binding: Binding::Expr(e),
                ..
            } => match strip_parens(e) {
                ast::Expr::AttrSet(s) if s.rec_token().is_none() => Some(s),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Identifiers an expression mentions (over-approximate: bound ones too).
pub(super) fn free_names(expr: &ast::Expr) -> Vec<String> {
    expr.syntax()
        .descendants()
        .filter_map(ast::Ident::cast)
        .map(|i| ident_text(&i))
        .collect()
}

fn cannot_follow(file: &SourceFile, expr: &ast::Expr) -> ClanError {
    if expr.syntax().to_string().contains("makeHive") {
        return ClanError::Unsupported {
            at: ClanError::at(file, range_of(expr.syntax())),
            what: format!(
                "a colmena hive (`{}`): colmena builds these nodes, not nixosSystem",
                short_text(expr.syntax())
            ),
        };
    }
    ClanError::Unsupported {
        at: ClanError::at(file, range_of(expr.syntax())),
        what: format!(
            "a host built by `{}`, which cannot be followed statically",
            short_text(expr.syntax())
        ),
    }
}
