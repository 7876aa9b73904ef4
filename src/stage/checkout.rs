//! Checking the new branch out when git would write every file exactly as
//! the commits hold it: no attributes, no end-of-line conversion, no sparse
//! checkout. [`super::commit`] knows every file it changed and its bytes,
//! so it writes those files (in parallel) and their index entries itself,
//! where libgit2's checkout would diff the trees, look up each blob again
//! and load the filters for each path one at a time. Anything else goes to
//! libgit2's safe checkout, which this mirrors:
//!
//! - nothing is written until every file is checked: each one the branch
//!   changes must still hold what `HEAD` has (its contents hash to the
//!   blob), each one it adds must not exist yet;
//! - a changed file is rewritten in place (it keeps its permissions), a new
//!   one is created (never over a file that appeared meanwhile), a deleted
//!   one is removed with the directories it leaves empty;
//! - the index then gets each file's new entry, stat data included, so
//!   `git status` needs to read none of them again.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use git2::{ErrorClass, ErrorCode, IndexEntry, IndexTime, ObjectType, Oid, Repository};
use rayon::prelude::*;

use super::{MODE_BLOB, MODE_EXEC, MODE_LINK, StageError, git_err, objects};

/// A file as the newest commit has it.
#[derive(Clone, Copy)]
pub struct Blob<'a> {
    pub mode: i32,
    pub id: Oid,
    pub data: &'a [u8],
}

/// A file the commits changed: mode and id in `HEAD`, and what it became
/// (`None`: deleted).
pub struct File<'a> {
    pub before: Option<(i32, Oid)>,
    pub after: Option<Blob<'a>>,
}

/// Whether git would write the files byte for byte as committed: no
/// `.gitattributes` in any directory the commits touched (`dirs`, by
/// work-tree-relative path: every ancestor of every changed file), neither
/// committed nor in the work tree, and none elsewhere; no `core.autocrlf`,
/// no sparse checkout, and no index entry of a changed file with flags
/// that change how checkout treats it.
pub fn plain<'d>(
    repo: &Repository,
    workdir: &Path,
    files: &HashMap<String, File<'_>>,
    mut dirs: impl Iterator<Item = (&'d String, &'d objects::Dir)>,
) -> bool {
    if !cfg!(unix) {
        return false;
    }
    let Ok(config) = repo.config().and_then(|mut c| c.snapshot()) else {
        return false;
    };
    let set = |key: &str| config.get_entry(key).is_ok();
    if config
        .get_bool("core.autocrlf")
        .unwrap_or(set("core.autocrlf"))
        || config.get_bool("core.sparseCheckout").unwrap_or(false)
        || set("core.attributesFile")
    {
        return false;
    }
    let global_attributes = std::env::var_os("XDG_CONFIG_HOME")
        .map(|x| Path::new(&x).join("git/attributes"))
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config/git/attributes")));
    if global_attributes.is_some_and(|p| p.exists())
        || repo.commondir().join("info/attributes").exists()
        || repo.path().join("info/attributes").exists()
    {
        return false;
    }
    if dirs.any(|(path, d)| {
        d.get(b".gitattributes").is_some()
            || fs::symlink_metadata(workdir.join(path).join(".gitattributes")).is_ok()
    }) || files
        .keys()
        .any(|p| p.rsplit('/').next() == Some(".gitattributes"))
    {
        return false;
    }
    // A file replaced by a directory of the same name or the other way
    // round would need the writes in order.
    if files.keys().any(|p| {
        p.match_indices('/')
            .any(|(i, _)| files.contains_key(&p[..i]))
    }) {
        return false;
    }
    let Ok(index) = repo.index() else {
        return false;
    };
    files.keys().all(|path| {
        (1..=3).all(|stage| index.get_path(Path::new(path), stage).is_none())
            && index
                .get_path(Path::new(path), 0)
                .is_none_or(|e| e.flags_extended == 0 && e.flags & ASSUME_VALID == 0)
    })
}

/// The index entry flag of `git update-index --assume-unchanged`.
const ASSUME_VALID: u16 = 0x8000;

/// Writes `files` to the work tree and the index. On failure the error
/// says whether anything was written (`true`) or every check refused
/// before the first write (`false`).
pub fn write(
    repo: &Repository,
    workdir: &Path,
    files: &HashMap<String, File<'_>>,
) -> Result<(), (StageError, bool)> {
    let mut files: Vec<(&String, &File<'_>)> = files.iter().collect();
    files.sort_unstable_by_key(|(p, _)| p.as_str());
    let conflicts: Vec<String> = files
        .par_iter()
        .filter_map(|(path, f)| {
            unchanged(&workdir.join(path), f.before)
                .err()
                .map(|why| format!("{path}: {why}"))
        })
        .collect();
    if !conflicts.is_empty() {
        let mut named = conflicts[..conflicts.len().min(super::DIRTY_LIST_LIMIT)].join("; ");
        if conflicts.len() > super::DIRTY_LIST_LIMIT {
            named += &format!("; … and {} more", conflicts.len() - super::DIRTY_LIST_LIMIT);
        }
        let e = git2::Error::new(
            ErrorCode::Conflict,
            ErrorClass::Checkout,
            format!(
                "{} prevent checkout: {named}",
                match conflicts.len() {
                    1 => "1 conflict".to_string(),
                    n => format!("{n} conflicts"),
                },
            ),
        );
        return Err((git_err("checking out the branch")(e), false));
    }
    let written: Vec<io::Result<Option<IndexEntry>>> = files
        .par_iter()
        .map(|(path, f)| put(workdir, path, f))
        .collect();
    // As it is on disk now, not as it was when first read.
    let mut index = repo
        .index()
        .and_then(|mut i| i.read(false).map(|()| i))
        .map_err(|e| (git_err("reading the index")(e), true))?;
    for ((path, _), w) in files.iter().zip(written) {
        let entry = w.map_err(|e| {
            (
                git_err(format!("writing `{path}`"))(git2::Error::from_str(&e.to_string())),
                true,
            )
        })?;
        match entry {
            Some(e) => index.add(&e),
            None => index.remove_path(Path::new(path.as_str())),
        }
        .map_err(|e| (git_err(format!("updating `{path}` in the index"))(e), true))?;
    }
    index
        .write()
        .map_err(|e| (git_err("writing the index")(e), true))
}

/// Whether the file at `path` still is what `HEAD` has (`before`), or
/// still absent.
fn unchanged(path: &Path, before: Option<(i32, Oid)>) -> Result<(), String> {
    let meta = fs::symlink_metadata(path);
    match (before, meta) {
        (None, Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        (None, Err(e)) => Err(format!("cannot inspect it: {e}")),
        (None, Ok(_)) => Err("it appeared in the work tree".into()),
        (Some(_), Err(e)) if e.kind() == io::ErrorKind::NotFound => {
            Err("it was deleted in the work tree".into())
        }
        (Some(_), Err(e)) => Err(format!("cannot inspect it: {e}")),
        (Some((mode, id)), Ok(meta)) => {
            let data = if mode == MODE_LINK && meta.file_type().is_symlink() {
                link_target(path)
            } else if (mode == MODE_BLOB || mode == MODE_EXEC) && meta.is_file() {
                fs::read(path)
            } else {
                return Err("its type changed in the work tree".into());
            }
            .map_err(|e| format!("cannot read it: {e}"))?;
            if objects::id_of(ObjectType::Blob, &data) == id {
                Ok(())
            } else {
                Err("it was modified in the work tree".into())
            }
        }
    }
}

/// Puts one file in place; its new index entry (`None`: deleted).
fn put(workdir: &Path, rel: &str, f: &File<'_>) -> io::Result<Option<IndexEntry>> {
    let path = workdir.join(rel);
    let Some(blob) = f.after else {
        fs::remove_file(&path)?;
        // The directories it leaves empty go too, as with git.
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == workdir || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        return Ok(None);
    };
    let mut file = if f.before.is_some() {
        fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)?
    } else {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?
    };
    file.write_all(blob.data)?;
    let meta = file.metadata()?;
    drop(file);
    Ok(Some(entry(rel, &blob, &meta)))
}

#[cfg(unix)]
fn entry(rel: &str, blob: &Blob<'_>, meta: &fs::Metadata) -> IndexEntry {
    use std::os::unix::fs::MetadataExt;
    // The index keeps 32 bits of each, as git does.
    IndexEntry {
        ctime: IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32),
        mtime: IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32),
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        mode: blob.mode as u32,
        uid: meta.uid(),
        gid: meta.gid(),
        file_size: meta.len() as u32,
        id: blob.id,
        flags: 0,
        flags_extended: 0,
        path: rel.as_bytes().to_vec(),
    }
}

#[cfg(unix)]
fn link_target(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    fs::read_link(path).map(|t| t.as_os_str().as_bytes().to_vec())
}

// `plain` is false off Unix, so these are never called there.
#[cfg(not(unix))]
fn link_target(_: &Path) -> io::Result<Vec<u8>> {
    Err(io::Error::other("symbolic links are read on Unix only"))
}

#[cfg(not(unix))]
fn entry(rel: &str, blob: &Blob<'_>, meta: &fs::Metadata) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: blob.mode as u32,
        uid: 0,
        gid: 0,
        file_size: meta.len() as u32,
        id: blob.id,
        flags: 0,
        flags_extended: 0,
        path: rel.as_bytes().to_vec(),
    }
}
