//! The file tree the pipeline reads: the repository on disk, or the
//! repository with planned changes laid over it in memory, so a plan can
//! be re-indexed and verified before anything is written.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

/// Read access to a repository, by paths relative to its root.
pub trait Fs: Sync {
    fn read(&self, rel: &Path) -> io::Result<String>;
    fn is_file(&self, rel: &Path) -> bool;
    fn is_dir(&self, rel: &Path) -> bool;
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
}
