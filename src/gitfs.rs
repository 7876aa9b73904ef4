//! A revision's tree as an `Fs`, read once into memory, so a revision can
//! be indexed exactly like the work tree (`verify --against REV`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::{EntryKind, Fs, entries_below};

pub struct GitFs {
    files: HashMap<PathBuf, String>,
    dirs: HashSet<PathBuf>,
    /// Every other file's path: what a directory listing sees.
    others: HashSet<PathBuf>,
}

impl GitFs {
    /// The `.nix` files of `tree` below `prefix` (a work-tree subdirectory,
    /// empty for the root), by paths relative to `prefix`.
    pub fn from_tree(
        repo: &git2::Repository,
        tree: &git2::Tree<'_>,
        prefix: &Path,
    ) -> Result<Self, git2::Error> {
        let mut files = HashMap::new();
        let mut dirs = HashSet::new();
        let mut others = HashSet::new();
        dirs.insert(PathBuf::new());
        let mut failure = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
            let Ok(name) = entry.name() else {
                return git2::TreeWalkResult::Skip;
            };
            let full = Path::new(root).join(name);
            let Ok(rel) = full.strip_prefix(prefix) else {
                // Outside the prefix: walk on only towards it.
                return if prefix.starts_with(&full) {
                    git2::TreeWalkResult::Ok
                } else {
                    git2::TreeWalkResult::Skip
                };
            };
            let rel = rel.to_path_buf();
            match entry.kind() {
                Some(git2::ObjectType::Tree) => {
                    dirs.insert(rel);
                }
                Some(git2::ObjectType::Blob) if name.ends_with(".nix") => {
                    match repo.find_blob(entry.id()) {
                        Ok(blob) => {
                            if let Ok(text) = std::str::from_utf8(blob.content()) {
                                files.insert(rel, text.to_string());
                            }
                        }
                        Err(e) => {
                            failure = Some(e);
                            return git2::TreeWalkResult::Abort;
                        }
                    }
                }
                _ => {
                    others.insert(rel);
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(GitFs {
            files,
            dirs,
            others,
        })
    }
}

impl GitFs {
    /// Writes the tree's `.nix` files and directories under `dir`, for
    /// what reads a directory (discovery) rather than an `Fs`.
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        for d in &self.dirs {
            std::fs::create_dir_all(dir.join(d))?;
        }
        for (rel, text) in &self.files {
            std::fs::write(dir.join(rel), text)?;
        }
        Ok(())
    }
}

impl Fs for GitFs {
    fn read(&self, rel: &Path) -> io::Result<String> {
        self.files
            .get(rel)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn is_file(&self, rel: &Path) -> bool {
        self.files.contains_key(rel)
    }

    fn is_dir(&self, rel: &Path) -> bool {
        self.dirs.contains(rel)
    }

    fn read_dir(&self, rel: &Path) -> Option<BTreeMap<String, EntryKind>> {
        if !self.dirs.contains(rel) {
            return None;
        }
        let mut out = entries_below(rel, self.files.keys().chain(&self.others));
        for name in entries_below(rel, &self.dirs).into_keys() {
            out.insert(name, EntryKind::Directory);
        }
        Some(out)
    }
}
