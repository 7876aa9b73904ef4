//! Building the commits: validating the planned changes, then making
//! their blobs, trees and commits through libgit2 into an in-memory object
//! store, and finally writing every new object to the repository as one
//! pack.
//!
//! A directory the plan changes keeps its libgit2 `TreeBuilder` from one
//! commit to the next, so a large directory (`hosts/`, rewritten by every
//! commit) is read once, not once per commit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Component, Path};

use git2::{Mempack, Oid, Repository, Signature, TreeBuilder};

use super::error::{git_err, invalid};
use super::{FileChange, MODE_BLOB, MODE_COMMIT, MODE_EXEC, MODE_LINK, MODE_TREE, StageError};

/// A set of changes arranged as a directory tree (work-tree-relative).
pub(super) enum Node<'a> {
    File(Option<&'a [u8]>),
    Dir(BTreeMap<String, Node<'a>>),
}

/// Validates a change path and returns its work-tree-relative components.
fn components(prefix: &[String], path: &Path) -> Result<Vec<String>, StageError> {
    let mut out = prefix.to_vec();
    let mut own = 0;
    for c in path.components() {
        match c {
            Component::Normal(s) => {
                let Some(s) = s.to_str() else {
                    return Err(invalid(path, "the path is not UTF-8"));
                };
                if s.eq_ignore_ascii_case(".git") {
                    return Err(invalid(path, "the path is inside `.git`"));
                }
                if s.contains('\0') {
                    return Err(invalid(path, "the path contains a NUL byte"));
                }
                out.push(s.to_string());
                own += 1;
            }
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(invalid(path, "the path contains `..`"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(invalid(path, "the path must be relative to the repository"));
            }
        }
    }
    if own == 0 {
        return Err(invalid(path, "the path is empty"));
    }
    Ok(out)
}

/// Arranges `changes` as a tree, refusing duplicate paths and a path that is
/// both a file and a directory. Returns the tree and the work-tree-relative
/// `/`-joined path of each change, in order.
pub(super) fn arrange<'a>(
    prefix: &[String],
    changes: &'a [FileChange],
) -> Result<(BTreeMap<String, Node<'a>>, Vec<String>), StageError> {
    let mut root: BTreeMap<String, Node<'a>> = BTreeMap::new();
    let mut paths = Vec::with_capacity(changes.len());
    for change in changes {
        let comps = components(prefix, &change.path)?;
        let (last, dirs) = comps.split_last().expect("components are never empty");
        let mut map = &mut root;
        for d in dirs {
            let node = map
                .entry(d.clone())
                .or_insert_with(|| Node::Dir(BTreeMap::new()));
            match node {
                Node::Dir(m) => map = m,
                Node::File(_) => {
                    return Err(invalid(
                        &change.path,
                        format!("the plan also changes `{d}` as a file"),
                    ));
                }
            }
        }
        match map.get(last) {
            Some(Node::File(_)) => {
                return Err(invalid(&change.path, "the plan changes this path twice"));
            }
            Some(Node::Dir(_)) => {
                return Err(invalid(
                    &change.path,
                    "the plan also puts files below this path",
                ));
            }
            None => {
                map.insert(last.clone(), Node::File(change.contents.as_deref()));
            }
        }
        paths.push(comps.join("/"));
    }
    Ok((root, paths))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// One commit to make: its cleaned-up message and its changes as a tree.
pub(super) struct Planned<'a> {
    pub message: String,
    pub changes: BTreeMap<String, Node<'a>>,
}

/// Validates commit `index` of the plan (a message, paths inside the work
/// tree, no path changed twice) and arranges its changes as a tree.
pub(super) fn plan<'a>(
    prefix: &[String],
    index: usize,
    spec: &'a super::CommitSpec,
) -> Result<Planned<'a>, StageError> {
    let message = git2::message_prettify(spec.message.as_str(), None)
        .map_err(git_err("cleaning up a commit message"))?;
    if message.trim().is_empty() {
        return Err(StageError::EmptyMessage { index });
    }
    let (changes, _) = arrange(prefix, &spec.changes)?;
    Ok(Planned { message, changes })
}

/// What [`Builder`] made.
pub(super) struct Built {
    /// The new commits, oldest first.
    pub commits: Vec<Oid>,
    /// Every object written for them (blobs, trees, commits), once each.
    pub objects: Vec<Oid>,
    /// The files the branch adds (absent from `HEAD`'s tree, present in the
    /// last commit's), work-tree-relative, sorted.
    pub added: Vec<String>,
}

/// Makes the commits' objects in the repository's object database (which
/// [`commit`](super::commit) backs with a mempack, so that they stay in
/// memory).
pub(super) struct Builder<'r> {
    repo: &'r Repository,
    /// Each directory written so far (work-tree-relative, `""` the root),
    /// with its entries as of the newest commit.
    dirs: HashMap<String, TreeBuilder<'r>>,
    /// Per file written or deleted (work-tree-relative): whether it was in
    /// the original tree (as its first change found it) and whether it is
    /// in the newest one.
    files: HashMap<String, (bool, bool)>,
    objects: Vec<Oid>,
    seen: HashSet<Oid>,
    commits: Vec<Oid>,
}

impl<'r> Builder<'r> {
    pub fn new(repo: &'r Repository) -> Self {
        Builder {
            repo,
            dirs: HashMap::new(),
            files: HashMap::new(),
            objects: Vec::new(),
            seen: HashSet::new(),
            commits: Vec::new(),
        }
    }

    fn made(&mut self, id: Oid) -> Oid {
        if self.seen.insert(id) {
            self.objects.push(id);
        }
        id
    }

    fn file(&mut self, path: String, existed: bool, exists: bool) {
        self.files.entry(path).or_insert((existed, exists)).1 = exists;
    }

    /// Makes one commit with `plan` applied, on top of `parent` (the
    /// previous commit made, or `HEAD` whose tree is `base`); its id.
    pub fn commit(
        &mut self,
        base: Oid,
        parent: Oid,
        plan: &Planned<'_>,
        author: &Signature<'_>,
        committer: &Signature<'_>,
    ) -> Result<Oid, StageError> {
        let tree = match self.tree("", Some(base), &plan.changes)? {
            Some(id) => id,
            None => {
                let id = self
                    .repo
                    .treebuilder(None)
                    .and_then(|tb| tb.write())
                    .map_err(git_err("writing an empty tree"))?;
                self.made(id)
            }
        };
        let tree = self
            .repo
            .find_tree(tree)
            .map_err(git_err("reading a new tree"))?;
        let parent = self
            .repo
            .find_commit(parent)
            .map_err(git_err("reading the parent commit"))?;
        let id = self
            .repo
            .commit(None, author, committer, &plan.message, &tree, &[&parent])
            .map_err(git_err("writing a commit"))?;
        self.commits.push(id);
        Ok(self.made(id))
    }

    /// Makes the tree of directory `dir` (whose tree is `base` in the
    /// original commit, unless an earlier commit changed it) with
    /// `changes` applied. `None` means the directory became empty (git
    /// does not store empty trees).
    fn tree(
        &mut self,
        dir: &str,
        base: Option<Oid>,
        changes: &BTreeMap<String, Node<'_>>,
    ) -> Result<Option<Oid>, StageError> {
        let mut tb = match self.dirs.remove(dir) {
            Some(known) => known,
            None => {
                let tree = base
                    .map(|id| self.repo.find_tree(id))
                    .transpose()
                    .map_err(git_err(format!("reading tree `{dir}`")))?;
                self.repo
                    .treebuilder(tree.as_ref())
                    .map_err(git_err(format!("reading tree `{dir}`")))?
            }
        };
        for (name, node) in changes {
            let path = join(dir, name);
            let existing = tb
                .get(name.as_str())
                .map_err(git_err(format!("looking up `{path}`")))?
                .map(|e| (e.filemode(), e.id()));
            match node {
                Node::File(Some(data)) => {
                    let mode = match existing {
                        None => MODE_BLOB,
                        Some((m, _)) if m == MODE_BLOB || m == MODE_EXEC => m,
                        Some((m, _)) => return Err(invalid(&path, cannot_write(m))),
                    };
                    let blob = self
                        .repo
                        .blob(data)
                        .map_err(git_err(format!("writing the contents of `{path}`")))?;
                    let blob = self.made(blob);
                    tb.insert(name.as_str(), blob, mode)
                        .map_err(git_err(format!("adding `{path}` to its tree")))?;
                    self.file(path, existing.is_some(), true);
                }
                Node::File(None) => match existing {
                    None => {
                        return Err(invalid(&path, "it is to be deleted but does not exist"));
                    }
                    Some((m, _)) if m == MODE_BLOB || m == MODE_EXEC || m == MODE_LINK => {
                        tb.remove(name.as_str())
                            .map_err(git_err(format!("removing `{path}` from its tree")))?;
                        self.file(path, true, false);
                    }
                    Some((m, _)) => return Err(invalid(&path, cannot_write(m))),
                },
                Node::Dir(children) => {
                    let sub = match existing {
                        None => None,
                        Some((MODE_TREE, id)) => Some(id),
                        Some((m, _)) => {
                            return Err(invalid(
                                &path,
                                format!("the plan puts files below it, but {}", what_is(m)),
                            ));
                        }
                    };
                    match self.tree(&path, sub, children)? {
                        Some(id) => tb.insert(name.as_str(), id, MODE_TREE).map(drop),
                        None => tb.remove(name.as_str()),
                    }
                    .map_err(git_err(format!("updating `{path}` in its tree")))?;
                }
            }
        }
        let id = if tb.is_empty() {
            None
        } else {
            let id = tb
                .write()
                .map_err(git_err(format!("writing tree `{dir}`")))?;
            Some(self.made(id))
        };
        self.dirs.insert(dir.to_string(), tb);
        Ok(id)
    }

    pub fn finish(self) -> Built {
        let mut added: Vec<String> = self
            .files
            .into_iter()
            .filter(|(_, (existed, exists))| !existed && *exists)
            .map(|(path, _)| path)
            .collect();
        added.sort();
        Built {
            commits: self.commits,
            objects: self.objects,
            added,
        }
    }
}

pub(super) fn what_is(mode: i32) -> String {
    match mode {
        MODE_TREE => "it is a directory".into(),
        MODE_LINK => "it is a symbolic link in the repository".into(),
        MODE_COMMIT => "it is a submodule".into(),
        MODE_BLOB | MODE_EXEC => "it is a file".into(),
        m => format!("it has the unsupported mode {m:o}"),
    }
}

pub(super) fn cannot_write(mode: i32) -> String {
    match mode {
        MODE_LINK => {
            "it is a symbolic link in the repository and the tool does not write through links: change the file it points to".into()
        }
        m => format!("{} and cannot be replaced by a file", what_is(m)),
    }
}
/// Writes the objects `built` made (held by `mempack`) to the repository
/// as one pack, built by libgit2's pack builder and indexed by the object
/// database's pack writer; then empties the mempack and checks that the
/// object database now finds every commit on disk.
pub(super) fn write_pack(
    repo: &Repository,
    mempack: &Mempack<'_>,
    built: &Built,
) -> Result<(), StageError> {
    let pack_err = |what: &str| {
        git_err(format!(
            "{what} the pack of the new objects in `{}`",
            repo.commondir().join("objects/pack").display()
        ))
    };
    // libgit2's pack builder searches deltas on every core (its default
    // is one thread) and hands the pack over in pieces, which the object
    // database's pack writer indexes as they come: the whole pack is never
    // held in memory at once. It builds from a repository of its own
    // around the same object database, whose settings bound the delta
    // search (see `narrow_delta_search`); the user's repository and its
    // configuration are not touched.
    let odb = repo.odb().map_err(git_err("opening the object database"))?;
    let packing = Repository::from_odb(repo.odb().map_err(pack_err("building"))?)
        .map_err(pack_err("building"))?;
    let _settings = narrow_delta_search(&packing);
    let mut pb = packing.packbuilder().map_err(pack_err("building"))?;
    pb.set_threads(0);
    for id in &built.objects {
        pb.insert_object(*id, None).map_err(pack_err("building"))?;
    }
    let mut writer = odb.packwriter().map_err(pack_err("writing"))?;
    let mut failed = None;
    let streamed = pb.foreach(|chunk| match writer.write_all(chunk) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    // A failed write stops the builder too: report the write, the cause.
    if let Some(e) = failed {
        return Err(pack_err("writing")(git2::Error::from_str(&e.to_string())));
    }
    streamed.map_err(pack_err("building"))?;
    drop(pb);
    writer.commit().map_err(pack_err("writing"))?;
    drop(writer);
    // From here on, what git finds, it finds on disk.
    mempack
        .reset()
        .map_err(git_err("emptying the object store in memory"))?;
    if let Some(missing) = built.commits.iter().find(|id| !odb.exists(**id)) {
        return Err(pack_err("checking")(git2::Error::from_str(&format!(
            "object {missing} is not in the repository"
        ))));
    }
    Ok(())
}

/// What `packing`'s pack builder is told, on top of the user's global
/// settings: `pack.windowMemory`, which libgit2 reads (unlike
/// `pack.window`, fixed at 10 there), set to one byte. Every object is
/// then tried as a delta of the one object before it in the builder's
/// order (by type, then size) instead of the ten before it: the new
/// versions of a file or directory, similar in size, still become
/// deltas of each other, for a tenth of the search. On a fleet of 1,000
/// hosts (18,600 new objects) that search was two thirds of `apply`, and
/// the pack is 13 MB instead of 11 MB; `git gc` repacks it as git likes
/// anyway.
///
/// libgit2 takes settings from files only, so they go to a temporary
/// file, added in memory at the application level of `packing`'s
/// configuration; the file must outlive the pack builder. Without it
/// (no temporary directory), the search is just wider.
pub(super) fn narrow_delta_search(packing: &Repository) -> Option<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("clan-migrate-pack")
        .suffix(".gitconfig")
        .tempfile()
        .ok()?;
    file.write_all(b"[pack]\n\twindowMemory = 1\n").ok()?;
    file.flush().ok()?;
    let mut config = packing.config().ok()?;
    config
        .add_file(file.path(), git2::ConfigLevel::App, false)
        .ok()?;
    Some(file)
}

pub(super) fn short_id(repo: &Repository, oid: Oid) -> String {
    repo.find_object(oid, None)
        .ok()
        .and_then(|o| o.short_id().ok())
        .and_then(|b| b.as_str().ok().map(str::to_string))
        .unwrap_or_else(|| oid.to_string()[..7].to_string())
}
