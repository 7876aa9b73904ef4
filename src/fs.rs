//! The file tree the pipeline reads: the repository on disk, or the
//! repository with planned changes laid over it in memory, so a plan can
//! be re-indexed and verified before anything is written.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

/// Read access to a repository, by paths relative to its root.
pub trait Fs: Sync {
    fn read(&self, rel: &Path) -> io::Result<String>;
    fn is_file(&self, rel: &Path) -> bool;
    fn is_dir(&self, rel: &Path) -> bool;
    /// What `builtins.readDir` gives for a directory: each entry's name
    /// and kind, by name; `None` if it is no directory.
    fn read_dir(&self, rel: &Path) -> Option<BTreeMap<String, EntryKind>>;
}

/// An entry's kind as `builtins.readDir` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Regular,
    Directory,
    Symlink,
    Unknown,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Regular => "regular",
            EntryKind::Directory => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::Unknown => "unknown",
        }
    }
}

/// The entries `paths` (files, relative to the root) put directly in `dir`:
/// a file there, or the directory holding one further down.
pub fn entries_below<'p>(
    dir: &Path,
    paths: impl IntoIterator<Item = &'p PathBuf>,
) -> BTreeMap<String, EntryKind> {
    let mut out = BTreeMap::new();
    for p in paths {
        let Ok(rest) = p.strip_prefix(dir) else {
            continue;
        };
        let mut parts = rest.components();
        let Some(first) = parts.next() else { continue };
        let kind = if parts.next().is_some() {
            EntryKind::Directory
        } else {
            EntryKind::Regular
        };
        out.insert(first.as_os_str().to_string_lossy().into_owned(), kind);
    }
    out
}

/// The repository as it is on disk.
pub struct DiskFs {
    root: PathBuf,
    /// `is_file` answers: each import is resolved again when a plan is
    /// verified, and a `stat` costs more than a look-up. One run sees one
    /// state of the tree.
    files: Mutex<FxHashMap<PathBuf, bool>>,
}

impl DiskFs {
    pub fn new(root: &Path) -> Self {
        DiskFs {
            root: root.to_path_buf(),
            files: Mutex::default(),
        }
    }
}

impl Fs for DiskFs {
    fn read(&self, rel: &Path) -> io::Result<String> {
        let bytes = std::fs::read(self.root.join(rel))?;
        String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file is not valid UTF-8"))
    }

    fn is_file(&self, rel: &Path) -> bool {
        let known = self.files.lock().ok().and_then(|f| f.get(rel).copied());
        known.unwrap_or_else(|| {
            let is = self.root.join(rel).is_file();
            if let Ok(mut f) = self.files.lock() {
                f.insert(rel.to_path_buf(), is);
            }
            is
        })
    }

    fn is_dir(&self, rel: &Path) -> bool {
        self.root.join(rel).is_dir()
    }

    fn read_dir(&self, rel: &Path) -> Option<BTreeMap<String, EntryKind>> {
        let entries = std::fs::read_dir(self.root.join(rel)).ok()?;
        let mut out = BTreeMap::new();
        for e in entries.flatten() {
            let kind = match e.file_type() {
                Ok(t) if t.is_symlink() => EntryKind::Symlink,
                Ok(t) if t.is_dir() => EntryKind::Directory,
                Ok(t) if t.is_file() => EntryKind::Regular,
                _ => EntryKind::Unknown,
            };
            out.insert(e.file_name().to_string_lossy().into_owned(), kind);
        }
        Some(out)
    }
}

/// Planned contents over a base tree: `Some(text)` replaces or creates a
/// file, `None` deletes it.
pub struct Overlay<'a> {
    base: &'a dyn Fs,
    files: HashMap<PathBuf, Option<Arc<str>>>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Fs) -> Self {
        Overlay {
            base,
            files: HashMap::new(),
        }
    }

    pub fn set(&mut self, rel: PathBuf, text: Option<Arc<str>>) {
        self.files.insert(rel, text);
    }
}

impl Fs for Overlay<'_> {
    fn read(&self, rel: &Path) -> io::Result<String> {
        match self.files.get(rel) {
            Some(Some(text)) => Ok(text.to_string()),
            Some(None) => Err(io::Error::from(io::ErrorKind::NotFound)),
            None => self.base.read(rel),
        }
    }

    fn is_file(&self, rel: &Path) -> bool {
        match self.files.get(rel) {
            Some(f) => f.is_some(),
            None => self.base.is_file(rel),
        }
    }

    fn is_dir(&self, rel: &Path) -> bool {
        self.base.is_dir(rel)
            || self
                .files
                .iter()
                .any(|(p, f)| f.is_some() && p.starts_with(rel) && p != rel)
    }

    fn read_dir(&self, rel: &Path) -> Option<BTreeMap<String, EntryKind>> {
        let base = self.base.read_dir(rel);
        let created = self
            .files
            .iter()
            .filter(|(_, f)| f.is_some())
            .map(|(p, _)| p);
        let added = entries_below(rel, created);
        if base.is_none() && added.is_empty() {
            return None;
        }
        let mut out = base.unwrap_or_default();
        // A deleted file leaves its directory; its own entry goes.
        for (p, f) in &self.files {
            if f.is_none() && p.parent() == Some(rel) {
                out.remove(&*p.file_name().unwrap_or_default().to_string_lossy());
            }
        }
        for (name, kind) in added {
            out.entry(name).or_insert(kind);
        }
        Some(out)
    }
}
