//! What both planners share: the run's context (frozen files, options,
//! the service target's facts) and how one user's move is made in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::notice::{Notice, codes};
use super::{Plan, PlanError, PlanOptions, Skipped, Target, Trees, UserMove, moves, service};
use crate::analyse::{self, Status};
use crate::discover;
use crate::fs::{DiskFs, Fs};
use crate::index::UserOption;
use crate::load::{self};
use crate::verify;

/// What both planners need.
pub(super) struct Ctx<'a> {
    pub(super) disk: &'a DiskFs,
    pub(super) discovery: &'a discover::Discovery,
    pub(super) frozen: &'a BTreeSet<PathBuf>,
    pub(super) opts: &'a PlanOptions,
    pub(super) service: Option<&'a ServiceCtx>,
}

/// Repeated, or shared but picked for the service (`names` decides).
pub(super) fn movable(u: &analyse::User<'_>) -> bool {
    u.status == Status::Repeated || (u.status == Status::Shared && u.option == UserOption::Users)
}

/// The files a user's move reads: where it is defined on each host, or,
/// for a shared user, its module and the files importing it.
pub(super) fn files_of(graph: &load::ModuleGraph, u: &analyse::User<'_>) -> Vec<PathBuf> {
    if u.status == Status::Shared {
        let mut out: Vec<PathBuf> = u
            .definitions
            .iter()
            .map(|d| d.module.file.clone())
            .collect();
        for d in &u.definitions {
            out.extend(moves::importers(graph, &d.module.file));
        }
        return out;
    }
    u.definitions
        .iter()
        .filter(|d| d.is_local())
        .map(|d| d.module.file.clone())
        .collect()
}

/// A user's move (or why there is none) and a notice if its target changed.
pub(super) type Planned = (Result<Option<UserMove>, String>, Option<Notice>);

/// The service target's plan-wide facts.
pub(super) struct ServiceCtx {
    pub(super) home: service::Home,
    /// Users the service takes (the rest stay on the module target).
    pub(super) users: BTreeSet<String>,
    /// Discovery as it will be after the change (a created clan.nix is
    /// an inventory file too).
    pub(super) after: discover::Discovery,
    /// Where `users.mutableUsers = true` is set, and the hosts it is on.
    pub(super) mutable: Vec<(service::MutableSite, Vec<String>)>,
}

pub(super) fn service_ctx(
    repo: &Path,
    discovery: &discover::Discovery,
    graph: &load::ModuleGraph,
    analysis: &analyse::Analysis<'_>,
    names: &BTreeSet<String>,
    plan: &mut Plan,
) -> Result<ServiceCtx, PlanError> {
    if !discovery.clan {
        return Err(PlanError::NotClan(repo.display().to_string()));
    }
    // `tags.all` reaches every machine of the clan, including any the
    // inventory names that clan-migrate found no configuration for.
    let mut machines: Vec<String> = discovery.hosts.iter().map(|h| h.name.clone()).collect();
    for m in graph.inventories.iter().flat_map(|i| &i.machines) {
        if !machines.contains(m) {
            machines.push(m.clone());
        }
    }
    let home = service::locate(&graph.inventories, machines).map_err(PlanError::NoInventory)?;
    let mut after = discovery.clone();
    if !after.inventory_files.contains(&home.file) {
        after.inventory_files.push(home.file.clone());
    }
    let existing = verify::service_users(graph);
    let mutable = mutable_sites(discovery, graph);
    let conflicts: BTreeMap<&str, &service::MutableSite> = mutable
        .iter()
        .filter(|(s, _)| s.how == service::Mutable::Conflict)
        .flat_map(|(s, hosts)| hosts.iter().map(move |h| (h.as_str(), s)))
        .collect();
    let mut users = BTreeSet::new();
    for u in analysis
        .users
        .iter()
        .filter(|u| u.option == UserOption::Users && movable(u))
        .filter(|u| names.contains(&u.name))
    {
        let clash = u
            .hosts
            .iter()
            .find_map(|h| conflicts.get(h.as_str()).map(|s| (h, s)));
        let why = if existing.contains(u.name.as_str()) {
            Some("a users instance for it exists already".to_string())
        } else if let Some(reason) = service::ineligible(u) {
            Some(reason)
        } else if let Some((h, site)) = clash {
            Some(format!(
                "{site} sets users.mutableUsers = true, which the users service's false would contradict: {h} would no longer evaluate; remove that line (or write lib.mkDefault true) and run again"
            ))
        } else {
            None
        };
        match why {
            Some(reason) => plan.notices.push(
                Notice::note(
                    codes::STAYS_ON_MODULE_TARGET,
                    format!("{} stays on the module target: {reason}", u.name),
                )
                .about(&u.name, Some(u.option)),
            ),
            None => {
                users.insert(u.name.clone());
            }
        }
    }
    Ok(ServiceCtx {
        home,
        users,
        after,
        mutable,
    })
}

/// Every `users.mutableUsers = true` some host evaluates, with those
/// hosts, from the index: in file and position order.
pub(super) fn mutable_sites(
    discovery: &discover::Discovery,
    graph: &load::ModuleGraph,
) -> Vec<(service::MutableSite, Vec<String>)> {
    let mut hosts_of: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for h in &discovery.hosts {
        for (id, _) in graph.closure(&graph.roots(h)) {
            hosts_of.entry(id).or_default().insert(h.name.clone());
        }
    }
    let mut out: Vec<(service::MutableSite, Vec<String>)> = hosts_of
        .iter()
        .flat_map(|(&id, hosts)| {
            graph.modules[id]
                .settings
                .iter()
                .filter_map(service::mutable_site)
                .map(|s| (s, hosts.iter().cloned().collect()))
        })
        .collect();
    out.sort_by(|(a, _), (b, _)| {
        (&a.location.file, a.location.start).cmp(&(&b.location.file, b.location.start))
    });
    out
}

impl Ctx<'_> {
    /// The target a user's move is planned for.
    pub(super) fn target(&self, name: &str) -> Target {
        match self.service {
            Some(s) if s.users.contains(name) => Target::Service { dir: s.home.dir() },
            _ => Target::Module,
        }
    }

    /// Plans a user for its target; a user the service cannot take after
    /// all is planned as a module, saying why.
    pub(super) fn plan_user(
        &self,
        fs: &dyn Fs,
        graph: &load::ModuleGraph,
        trees: &Trees,
        user: &analyse::User<'_>,
    ) -> Planned {
        let target = self.target(&user.name);
        if user.status == Status::Shared {
            return match &target {
                Target::Service { dir } => (
                    moves::plan_shared_service(graph, self.frozen, trees, user, dir),
                    None,
                ),
                Target::Module => (
                    Err("already shared through a module every host imports".into()),
                    None,
                ),
            };
        }
        let first = moves::plan_user(fs, graph, self.frozen, trees, user, &target);
        match (&target, first) {
            (Target::Service { .. }, Err(reason)) => (
                moves::plan_user(fs, graph, self.frozen, trees, user, &Target::Module),
                Some(
                    Notice::note(
                        codes::STAYS_ON_MODULE_TARGET,
                        format!(
                            "{} ({}) stays on the module target: {reason}",
                            user.name,
                            user.option.as_str()
                        ),
                    )
                    .about(&user.name, Some(user.option)),
                ),
            ),
            (_, r) => (r, None),
        }
    }

    /// Discovery as the change leaves it.
    pub(super) fn after(&self) -> &discover::Discovery {
        self.service.map_or(self.discovery, |s| &s.after)
    }

    /// Reads the inventory files the service renders.
    pub(super) fn inventory_files(&self) -> Vec<PathBuf> {
        self.service.map(|s| s.home.files()).unwrap_or_default()
    }
    pub(super) fn note_nothing(&self, plan: &mut Plan, name: &str, option: UserOption) {
        if !self.opts.users.is_empty() {
            plan.skipped.push(Skipped {
                user: name.to_string(),
                option,
                reason: "nothing left that every host has in common".into(),
            });
        }
    }
}
