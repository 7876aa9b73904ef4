//! `--no-commit`: writing the changes into the work tree, all or nothing,
//! with an undo that puts back every file already written when a later one
//! fails.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::build::{arrange, cannot_write};
use super::error::{git_err, invalid};
use super::preflight::ready;
use super::{FaultPoint, FileChange, MODE_BLOB, MODE_EXEC, MODE_LINK, StageError};

/// `--no-commit`: writes `changes` into the work tree, touching neither the
/// index nor any ref.
///
/// Every refusal of [`check_ready`](super::check_ready) applies first. Then the whole list is
/// validated before anything is written: paths stay inside the work tree
/// and never go through a symbolic link; a changed file must be a tracked
/// regular file, a new file must not land on an (ignored) existing one, a
/// deleted file must exist. A changed file keeps its permissions; new files
/// are created like any other (mode `0666` less the umask); missing
/// directories are created and directories emptied by a deletion are
/// removed.
///
/// # Failure
///
/// The writing is all or nothing. First every new content is written (and
/// synced) to a temporary file next to its target
/// (`.<name>.clan-migrate-<pid>-<n>.tmp`); a failure there (a full disk, a
/// directory that cannot be written) removes the temporary files and the
/// directories created for them, so nothing changed. Then the files are put
/// in place one by one, each old file kept under a second name (a hard
/// link, `.<name>.clan-migrate-<pid>-<n>.bak`) until all are; if one fails,
/// every file already put in place is put back, by renames only (no data is
/// written, so this works on a full disk too), and the old files come back
/// as they were, contents, permissions and modification times. The error is
/// [`StageError::Io`] (or [`StageError::Injected`]); only if undoing fails
/// too is it [`StageError::RestoreFailed`], which lists what is left.
///
/// A process killed while writing can undo nothing: it leaves temporary or
/// backup files (untracked, so a rerun refuses the dirty tree and lists
/// them) and, if it was killed while putting files in place, part of the
/// new files.
///
/// `fault` is for tests (see [`FaultPoint`](super::FaultPoint)); pass [`NoFaults`](super::NoFaults).
pub fn write_worktree(
    repo_dir: &Path,
    changes: &[FileChange],
    fault: &dyn FaultPoint,
) -> Result<(), StageError> {
    let ready = ready(repo_dir)?;
    let repo = &ready.repo;
    let (_, paths) = arrange(&ready.prefix, changes)?;
    let head_tree = repo
        .find_commit(ready.head)
        .and_then(|c| c.tree())
        .map_err(git_err("reading the HEAD tree"))?;

    // Validate everything before writing anything.
    let mut ops = Vec::with_capacity(changes.len());
    for (change, rel) in changes.iter().zip(&paths) {
        let tracked = head_tree
            .get_path(Path::new(rel))
            .ok()
            .map(|e| e.filemode());
        let parts: Vec<&str> = rel.split('/').collect();
        let mut full = ready.workdir.clone();
        for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
            full.push(part);
            match fs::symlink_metadata(&full) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(invalid(
                        parts[..=i].join("/"),
                        format!("cannot inspect it: {e}"),
                    ));
                }
                Ok(m) if m.is_dir() => {}
                Ok(m) => {
                    let what = if m.file_type().is_symlink() {
                        "a symbolic link, and the tool does not write through links"
                    } else {
                        "a file"
                    };
                    return Err(invalid(
                        parts[..=i].join("/"),
                        format!("the plan changes `{rel}` below it, but it is {what}"),
                    ));
                }
            }
        }
        full.push(parts[parts.len() - 1]);
        let meta = match fs::symlink_metadata(&full) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(invalid(rel, format!("cannot inspect it: {e}"))),
        };
        match (&change.contents, &meta) {
            (_, Some(m)) if m.is_dir() => {
                return Err(invalid(rel, "it is a directory"));
            }
            (Some(_), Some(m)) if m.file_type().is_symlink() => {
                return Err(invalid(rel, cannot_write(MODE_LINK)));
            }
            (Some(_), Some(_)) => match tracked {
                Some(MODE_BLOB | MODE_EXEC) => {}
                Some(m) => return Err(invalid(rel, cannot_write(m))),
                None => {
                    return Err(invalid(
                        rel,
                        "the plan creates it, but an ignored file of that name is in the work tree (move it away)",
                    ));
                }
            },
            (Some(_), None) => {}
            (None, None) => {
                return Err(invalid(rel, "it is to be deleted but does not exist"));
            }
            (None, Some(_)) if tracked.is_none() => {
                return Err(invalid(
                    rel,
                    "it is to be deleted but git does not track it (it is ignored)",
                ));
            }
            (None, Some(_)) => {}
        }
        ops.push((full, change.contents.as_deref(), meta));
    }

    let mut steps: Vec<Placement<'_>> = ops
        .into_iter()
        .map(|(full, contents, old)| Placement {
            full,
            contents,
            old,
            tmp: None,
            backup: None,
            placed: false,
        })
        .collect();
    let mut created = Vec::new();
    if let Err(err) = write_steps(&mut steps, &mut created, fault) {
        let failures = undo(&mut steps, &created);
        if failures.is_empty() {
            return Err(err);
        }
        return Err(StageError::RestoreFailed {
            cause: short_cause(&err),
            failures,
        });
    }

    // Done: drop the backups, then directories a deletion left empty.
    for step in &mut steps {
        if let Some(b) = step.backup.take() {
            let _ = fs::remove_file(b.path());
        }
    }
    let mut dirs = BTreeSet::new();
    for step in &steps {
        let Some(parent) = step.full.parent() else {
            continue;
        };
        dirs.insert(parent.to_path_buf());
        if step.contents.is_some() {
            continue;
        }
        // Like git: a directory left empty goes too.
        let mut dir = Some(parent);
        while let Some(d) = dir {
            if d == ready.workdir || !d.starts_with(&ready.workdir) {
                break;
            }
            if fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    // Make the renames durable.
    #[cfg(unix)]
    for d in dirs {
        if let Ok(d) = fs::File::open(d) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// One change of a [`write_worktree`] run, and how far it got.
struct Placement<'a> {
    /// Where it goes.
    full: PathBuf,
    /// The new contents; `None` deletes the file.
    contents: Option<&'a [u8]>,
    /// The file there before the run, if any.
    old: Option<fs::Metadata>,
    /// The new contents, written and synced next to `full`, not in place yet.
    tmp: Option<PathBuf>,
    /// The old file under a second name, until the whole run succeeded.
    backup: Option<Backup>,
    /// Whether `full` holds the new state (the new contents, or nothing).
    placed: bool,
}

/// Where [`write_worktree`] keeps an old file while it replaces it.
enum Backup {
    /// A hard link: the old file is still at its place too.
    Linked(PathBuf),
    /// Renamed away: nothing is at its place until the new file is.
    Moved(PathBuf),
}

impl Backup {
    fn path(&self) -> &Path {
        match self {
            Backup::Linked(p) | Backup::Moved(p) => p,
        }
    }
}

fn io_err(action: &str, path: &Path) -> impl FnOnce(io::Error) -> StageError {
    let (action, path) = (action.to_string(), path.to_path_buf());
    move |source| StageError::Io {
        action,
        path,
        source,
    }
}

/// Writes every temporary file, then puts every change in place; stops at
/// the first failure, leaving `steps` and `created` to say what to undo.
fn write_steps(
    steps: &mut [Placement<'_>],
    created: &mut Vec<PathBuf>,
    fault: &dyn FaultPoint,
) -> Result<(), StageError> {
    let inject = |point: String| {
        fault
            .at(&point)
            .map_err(|message| StageError::Injected { point, message })
    };
    for (i, step) in steps.iter_mut().enumerate() {
        let n = i + 1;
        inject(format!("before-write-{n}"))?;
        let Some(data) = step.contents else {
            continue;
        };
        if let Some(parent) = step.full.parent() {
            create_dirs(parent, created)?;
        }
        let perms = step.old.as_ref().map(|m| m.permissions());
        let tmp = write_temp(&step.full, data, perms, || {
            fault.io_error(&format!("write-{n}"))
        })
        .map_err(io_err("write", &step.full))?;
        step.tmp = Some(tmp);
    }
    for (i, step) in steps.iter_mut().enumerate() {
        place(step)?;
        inject(format!("after-write-{}", i + 1))?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents, recording each one created.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), StageError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(&d) {
            Ok(()) => created.push(d),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(io_err("create directory", &d)(e)),
        }
    }
    Ok(())
}

/// Puts one change in place, keeping the old file under a second name.
fn place(step: &mut Placement<'_>) -> Result<(), StageError> {
    if step.contents.is_some() {
        if step.old.is_some() {
            step.backup = Some(keep(&step.full).map_err(io_err("keep a backup of", &step.full))?);
        }
        let tmp = step.tmp.as_ref().expect("written before it is placed");
        fs::rename(tmp, &step.full).map_err(io_err("write", &step.full))?;
        step.tmp = None;
    } else {
        let backup = unused_sibling(&step.full, "bak");
        fs::rename(&step.full, &backup).map_err(io_err("delete", &step.full))?;
        step.backup = Some(Backup::Moved(backup));
    }
    step.placed = true;
    Ok(())
}

/// Keeps `path` under a second name: a hard link if the file system has
/// them, else a rename.
fn keep(path: &Path) -> io::Result<Backup> {
    for n in 0..1000 {
        let link = sibling(path, n, "bak");
        match fs::hard_link(path, &link) {
            Ok(()) => return Ok(Backup::Linked(link)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => break,
        }
    }
    let moved = unused_sibling(path, "bak");
    fs::rename(path, &moved)?;
    Ok(Backup::Moved(moved))
}

/// `.<name>.clan-migrate-<pid>-<n>.<ext>` next to `path`.
fn sibling(path: &Path, n: u32, ext: &str) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(
        ".{name}.clan-migrate-{}-{n}.{ext}",
        std::process::id()
    ))
}

/// The first [`sibling`] of `path` that does not exist.
fn unused_sibling(path: &Path, ext: &str) -> PathBuf {
    (0..)
        .map(|n| sibling(path, n, ext))
        .find(|p| fs::symlink_metadata(p).is_err())
        .expect("an unused name")
}

/// Undoes a failed [`write_steps`], newest change first, by renames and
/// removals only. Returns what could not be undone, one line each.
fn undo(steps: &mut [Placement<'_>], created: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for step in steps.iter_mut().rev() {
        let shown = step.full.display().to_string();
        if let Some(tmp) = step.tmp.take()
            && let Err(e) = fs::remove_file(&tmp)
            && e.kind() != io::ErrorKind::NotFound
        {
            failures.push(format!(
                "`{}`: could not remove this temporary file: {e}",
                tmp.display()
            ));
        }
        match (step.backup.take(), step.placed) {
            // Still in place as it was: the second name goes.
            (Some(Backup::Linked(link)), false) => {
                if let Err(e) = fs::remove_file(&link) {
                    failures.push(format!(
                        "`{}`: could not remove this copy of `{shown}`: {e}",
                        link.display()
                    ));
                }
            }
            (Some(backup), _) => {
                if let Err(e) = fs::rename(backup.path(), &step.full) {
                    failures.push(format!(
                        "`{shown}`: could not put the original back from `{}`: {e}",
                        backup.path().display()
                    ));
                }
            }
            // A new file: it goes.
            (None, true) => {
                if let Err(e) = fs::remove_file(&step.full) {
                    failures.push(format!("`{shown}`: could not remove this new file: {e}"));
                }
            }
            (None, false) => {}
        }
        step.placed = false;
    }
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    failures
}

/// `err`'s message without what it says about the state of the work tree.
fn short_cause(err: &StageError) -> String {
    match err {
        StageError::Io {
            action,
            path,
            source,
        } => format!("could not {action} `{}`: {source}", path.display()),
        StageError::Injected { point, message } => {
            format!("stopped by an injected fault at `{point}`: {message}")
        }
        other => other.to_string(),
    }
}

/// Writes `data` (and `perms`) to a new temporary file next to `path` and
/// syncs it; returns its name. On failure, nothing is left. `injected` may
/// simulate an error after the data is written (see
/// [`FaultPoint::io_error`]).
fn write_temp(
    path: &Path,
    data: &[u8],
    perms: Option<fs::Permissions>,
    injected: impl FnOnce() -> Option<io::Error>,
) -> io::Result<PathBuf> {
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = sibling(path, attempt, "tmp");
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o666);
        }
        match opts.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        file.write_all(data)?;
        if let Some(e) = injected() {
            return Err(e);
        }
        if let Some(perms) = perms {
            file.set_permissions(perms)?;
        }
        file.sync_all()
    })();
    drop(file);
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}
