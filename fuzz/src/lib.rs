//! The fuzz harness of `clan-migrate`, shared by the cargo-fuzz targets in
//! `fuzz/fuzz_targets/` and by `tests/regressions.rs` (which includes this
//! file with `#[path]`), so a saved crash input replays exactly as the
//! fuzzer ran it. Depends on `std`, `clan_migrate`, `rnix` and `tempfile`
//! only.
//!
//! - [`files_from_bytes`] turns arbitrary bytes into a tiny repository (the
//!   `scan_bytes` target, and the format every regression input is saved
//!   in);
//! - [`mutated_fixture`] applies token-level mutations, driven by the bytes,
//!   to a copy of one `testdata/` fixture (the `plan_mutated` target);
//!   [`to_bytes`] writes the result back in the `scan_bytes` format;
//! - [`check_repo`] writes a repository to a scratch directory and runs
//!   `scan` and `plan` on it: no panic, and a plan's files reparse and plan
//!   nothing on a second run.

#![allow(dead_code)]

use std::path::{Component, Path, PathBuf};

/// A repository: relative path -> bytes. Later entries overwrite earlier
/// ones with the same path.
pub type Files = Vec<(PathBuf, Vec<u8>)>;

/// Separates the files of a `scan_bytes` input.
pub const FILE_SEPARATOR: u8 = 0xFF;
/// A piece starting with this byte names its file on its first line.
pub const NAMED_FILE: u8 = 0xFE;
/// At most this many files per input (the rest of the input is dropped).
pub const MAX_FILES: usize = 12;

/// Where the pieces of an input go when they do not name their file.
pub const DEFAULT_NAMES: [&str; 8] = [
    "flake.nix",
    "hosts/a/default.nix",
    "hosts/b/default.nix",
    "modules/x.nix",
    "hosts/a/users.nix",
    "hosts/b/users.nix",
    "users/x/default.nix",
    "keys.nix",
];

/// The `scan_bytes` format: the input split on [`FILE_SEPARATOR`]; piece
/// `i` is the file [`DEFAULT_NAMES`]`[i]`, unless it starts with
/// [`NAMED_FILE`]: then its first line (up to `\n`) is the file's path,
/// sanitised to a relative path without `.`/`..`/`.git` components, and the
/// rest is the content.
pub fn files_from_bytes(data: &[u8]) -> Files {
    let mut files = Files::new();
    for (i, piece) in data.split(|b| *b == FILE_SEPARATOR).enumerate() {
        if i >= MAX_FILES {
            break;
        }
        let default = || PathBuf::from(DEFAULT_NAMES[i % DEFAULT_NAMES.len()]);
        let (path, content) = match piece.strip_prefix(&[NAMED_FILE]) {
            Some(rest) => {
                let (line, content) = match rest.iter().position(|b| *b == b'\n') {
                    Some(n) => (&rest[..n], &rest[n + 1..]),
                    None => (rest, &[][..]),
                };
                (sanitise_path(line).unwrap_or_else(default), content)
            }
            None => (default(), piece),
        };
        files.push((path, content.to_vec()));
    }
    files
}

/// A safe relative path made of the bytes `[A-Za-z0-9._-]` and `/`: at most
/// 4 components of at most 32 bytes, no `.`, `..` or `.git`.
pub fn sanitise_path(line: &[u8]) -> Option<PathBuf> {
    let text: String = line
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        .map(|b| char::from(*b))
        .collect();
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != ".." && *p != ".git")
        .map(|p| &p[..p.len().min(32)])
        .take(4)
        .collect();
    (!parts.is_empty()).then(|| parts.iter().collect())
}

/// The inverse of [`files_from_bytes`]: every file named, so any path
/// round-trips.
pub fn to_bytes(files: &Files) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (path, content)) in files.iter().enumerate() {
        if i > 0 {
            out.push(FILE_SEPARATOR);
        }
        out.push(NAMED_FILE);
        out.extend_from_slice(path.to_string_lossy().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(content);
    }
    out
}

/// Writes `files` under `root` (created). A file that cannot be written
/// (its path crosses another file, say) is skipped.
pub fn write_files(root: &Path, files: &Files) {
    for (rel, content) in files {
        let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
        assert!(safe, "unsafe path in a fuzz input: {}", rel.display());
        let path = root.join(rel);
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_err()
        {
            continue;
        }
        let _ = std::fs::write(&path, content);
    }
}

/// A scratch directory, in memory (`/dev/shm`) where there is one.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new().prefix("clan-fuzz").tempdir_in(shm)
    {
        return dir;
    }
    tempfile::Builder::new()
        .prefix("clan-fuzz")
        .tempdir()
        .expect("create a scratch directory")
}

/// What one run found (for the regression tests' messages).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub hosts: usize,
    pub users: usize,
    /// `Some(files changed)` when `plan` succeeded.
    pub planned_files: Option<usize>,
}

/// Writes `files` to a scratch directory and runs `scan` and `plan` there.
/// Panics (which the fuzzer reports as a crash) if either panics, or if a
/// successful plan writes a file that `rnix` cannot parse, or if planning
/// again on the planned result finds anything left to do.
pub fn check_repo(files: &Files) -> Outcome {
    let dir = scratch_dir();
    write_files(dir.path(), files);
    check_dir(dir.path())
}

/// Inputs that hit a crash already reported and saved under
/// `tests/regressions/`, recognised by shape, so a long fuzz run can look
/// for other crashes while a fix is pending: set `CLAN_FUZZ_SKIP_KNOWN=1`.
/// Unset (the default), every input runs. Add a shape here when a crash is
/// saved but not fixed yet; the one below is fixed (commit 73dc7ac) and
/// stays as the example `tests/regressions.rs` checks.
pub fn known_crash(files: &Files) -> Option<&'static str> {
    use rnix::SyntaxKind::{TOKEN_PATH_ABS, TOKEN_PATH_HOME, TOKEN_PATH_REL};
    for (path, bytes) in files {
        if path.extension().is_none_or(|e| e != "nix") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        let root = rnix::Root::parse(&text).syntax();
        for node in root.descendants() {
            let path_node = matches!(
                node.kind(),
                rnix::SyntaxKind::NODE_PATH_ABS
                    | rnix::SyntaxKind::NODE_PATH_REL
                    | rnix::SyntaxKind::NODE_PATH_HOME
            );
            // tests/regressions/path-with-interpolation-after-space.bin
            let odd_token = node.children_with_tokens().any(|c| {
                c.as_token().is_some_and(|t| {
                    !matches!(t.kind(), TOKEN_PATH_ABS | TOKEN_PATH_REL | TOKEN_PATH_HOME)
                })
            });
            if path_node && odd_token {
                return Some("path node with a non-path token (rnix Path::parts)");
            }
        }
    }
    None
}

/// Whether `CLAN_FUZZ_SKIP_KNOWN` asks to skip [`known_crash`] inputs.
pub fn skip_known() -> bool {
    static SKIP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SKIP.get_or_init(|| std::env::var_os("CLAN_FUZZ_SKIP_KNOWN").is_some_and(|v| v != "0"))
}

/// [`check_repo`] unless [`skip_known`] and the input is a [`known_crash`].
pub fn fuzz_repo(files: &Files) {
    if skip_known() && known_crash(files).is_some() {
        return;
    }
    check_repo(files);
}

/// [`check_repo`] on a repository that is already on disk.
pub fn check_dir(root: &Path) -> Outcome {
    let opts = clan_migrate::ScanOptions::default();
    let mut outcome = Outcome::default();
    if let Ok(report) = clan_migrate::scan(root, &opts, &clan_migrate::Silent) {
        outcome.hosts = report.hosts.len();
        outcome.users = report.users.len();
    }
    let plan_opts = clan_migrate::plan::PlanOptions {
        scan: opts,
        users: vec![],
        to: Default::default(),
    };
    let Ok(plan) = clan_migrate::plan::plan(root, &plan_opts, &clan_migrate::Silent) else {
        return outcome;
    };
    let changes = plan.files();
    outcome.planned_files = Some(changes.len());
    let _ = plan.step_files();
    if changes.is_empty() {
        return outcome;
    }
    // The planned tree: every `after` must parse, and plan nothing more.
    for change in &changes {
        if let Some(after) = &change.after {
            let errors = rnix::Root::parse(after).errors().to_vec();
            assert!(
                errors.is_empty(),
                "plan wrote {} with parse errors {errors:?}:\n{after}",
                change.path.display()
            );
        }
    }
    let next = scratch_dir();
    copy_tree(root, next.path());
    for change in &changes {
        let path = next.path().join(&change.path);
        match &change.after {
            Some(text) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).expect("create a planned directory");
                }
                std::fs::write(&path, text).expect("write a planned file");
            }
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    match clan_migrate::plan::plan(next.path(), &plan_opts, &clan_migrate::Silent) {
        Ok(again) => {
            let left: Vec<String> = again
                .files()
                .iter()
                .map(|c| c.path.display().to_string())
                .collect();
            assert!(
                left.is_empty(),
                "a second plan on the planned tree is not empty: {left:?}"
            );
        }
        Err(e) => panic!("a second plan on the planned tree fails: {e}"),
    }
    outcome
}

fn copy_tree(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    let _ = std::fs::create_dir_all(to);
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            let _ = std::fs::copy(entry.path(), &target);
        }
    }
}

// ---------------------------------------------------------------------------
// plan_mutated: token-level mutations of a fixture
// ---------------------------------------------------------------------------

/// The fixtures `plan_mutated` starts from (directories under `testdata/`).
pub const FIXTURES: [&str; 15] = [
    "example",
    "spellings",
    "traps",
    "flake-literal",
    "flake-helper",
    "dir-conventions",
    "machines-dir",
    "colmena",
    "dynamic-users",
    "already-shared",
    "clan-flake",
    "imports",
    "lone-configuration",
    "eval-flake",
    "broken-file",
];

/// Tokens `plan_mutated` inserts: Nix syntax the tool has to understand.
pub const DICTIONARY: [&str; 64] = [
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ";",
    "=",
    ":",
    ",",
    ".",
    "@",
    "...",
    "?",
    "//",
    "++",
    "let",
    "in",
    "inherit",
    "with",
    "rec",
    "if",
    "then",
    "else",
    "assert",
    "or",
    "true",
    "null",
    "users",
    "users.users",
    "users.users.alice",
    "users.extraUsers",
    "home-manager.users.alice",
    "alice",
    "\"alice\"",
    "\"a.b\"",
    "root",
    "extraGroups",
    "openssh.authorizedKeys.keys",
    "openssh.authorizedKeys.keyFiles",
    "isNormalUser = true;",
    "uid = 1000;",
    "imports = [ ./x.nix ];",
    "imports",
    "config",
    "options",
    "config = {",
    "lib.mkIf true",
    "lib.mkForce",
    "lib.mkDefault",
    "lib.mkMerge [",
    "${x}",
    "\"${x}\"",
    "./keys/alice.pub",
    "../..",
    "../../modules/common.nix",
    "import ./keys.nix",
    "pkgs.zsh",
    "# comment\n",
    "/* c */",
    "''\n  x\n''",
    "\n",
    "{ config, lib, pkgs, ... }:",
    "nixosConfigurations.zeta = nixpkgs.lib.nixosSystem { modules = [ ./hosts/zeta ]; };",
];

/// Every file of fixture `name` under `testdata` except `README.md`,
/// sorted by path.
pub fn fixture_files(testdata: &Path, name: &str) -> Files {
    fn walk(root: &Path, dir: &Path, out: &mut Files) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.file_name().is_some_and(|n| n != "README.md")
                && let Ok(bytes) = std::fs::read(&path)
            {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.push((rel, bytes));
            }
        }
    }
    let root = testdata.join(name);
    let mut out = Files::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// Splits Nix source into token-ish slices (concatenating them gives the
/// source back): whitespace runs, comments, strings, words (identifiers,
/// numbers, paths, dotted names), `${`, and single other bytes.
pub fn tokens(src: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let start = i;
        let b = src[i];
        let is_word = |b: u8| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\'' | b'-' | b'.' | b'/' | b'~')
        };
        if b.is_ascii_whitespace() {
            while i < src.len() && src[i].is_ascii_whitespace() {
                i += 1;
            }
        } else if b == b'#' {
            while i < src.len() && src[i] != b'\n' {
                i += 1;
            }
        } else if src[i..].starts_with(b"/*") {
            i += 2;
            while i < src.len() && !src[i..].starts_with(b"*/") {
                i += 1;
            }
            i = (i + 2).min(src.len());
        } else if b == b'"' {
            i += 1;
            while i < src.len() && src[i] != b'"' {
                i += if src[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(src.len());
        } else if src[i..].starts_with(b"''") {
            i += 2;
            while i < src.len() && !src[i..].starts_with(b"''") {
                i += 1;
            }
            i = (i + 2).min(src.len());
        } else if src[i..].starts_with(b"${") {
            i += 2;
        } else if is_word(b) {
            while i < src.len() && is_word(src[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(&src[start..i]);
    }
    out
}

/// Reads the mutation program from fuzz bytes, one byte at a time.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }
    fn u16(&mut self) -> Option<usize> {
        Some(usize::from(self.byte()?) << 8 | usize::from(self.byte()?))
    }
}

/// The `plan_mutated` input: byte 0 picks a fixture of [`FIXTURES`], then
/// each 6-byte record `file op pos(2) len arg` mutates one of its `.nix`
/// files at token level (delete, insert a [`DICTIONARY`] token, replace,
/// duplicate, swap, copy a token from another file, insert a raw byte); at
/// most 16 records. Returns `None` when the fixture is missing.
pub fn mutated_fixture(testdata: &Path, data: &[u8]) -> Option<Files> {
    let mut input = Bytes(data);
    let which = usize::from(input.byte().unwrap_or(0)) % FIXTURES.len();
    let mut files = fixture_files(testdata, FIXTURES[which]);
    let nix: Vec<usize> = (0..files.len())
        .filter(|i| files[*i].0.extension().is_some_and(|e| e == "nix"))
        .collect();
    if nix.is_empty() {
        return None;
    }
    for _ in 0..16 {
        let (Some(file), Some(op), Some(pos), Some(len), Some(arg)) = (
            input.byte(),
            input.byte(),
            input.u16(),
            input.byte(),
            input.byte(),
        ) else {
            break;
        };
        let target = nix[usize::from(file) % nix.len()];
        let donor = nix[usize::from(arg) % nix.len()];
        let donor_text = files[donor].1.clone();
        let donor_tokens = tokens(&donor_text);
        let text = std::mem::take(&mut files[target].1);
        let mut toks: Vec<&[u8]> = tokens(&text);
        let n = toks.len();
        let at = pos % (n + 1);
        let span = usize::from(len % 8) + 1;
        let end = (at + span).min(n);
        let word = DICTIONARY[usize::from(arg) % DICTIONARY.len()].as_bytes();
        // below 0x80: no FILE_SEPARATOR, so `to_bytes` round-trips
        let raw = [arg & 0x7f];
        match op % 8 {
            0 => {
                toks.drain(at..end);
            }
            1 => toks.insert(at, word),
            2 => {
                if at < n {
                    toks[at] = word;
                } else {
                    toks.push(word);
                }
            }
            3 => {
                let copy: Vec<&[u8]> = toks[at..end].to_vec();
                for (k, t) in copy.into_iter().enumerate() {
                    toks.insert(end + k, t);
                }
            }
            4 => {
                if n > 0 {
                    let other = (at + span) % n;
                    toks.swap(at.min(n - 1), other);
                }
            }
            5 => {
                if !donor_tokens.is_empty() {
                    let from = pos % donor_tokens.len();
                    let upto = (from + span).min(donor_tokens.len());
                    for (k, t) in donor_tokens[from..upto].iter().enumerate() {
                        toks.insert(at + k, *t);
                    }
                }
            }
            6 => toks.insert(at, &raw),
            _ => {
                // a space-separated insertion keeps neighbouring words apart
                toks.insert(at, b" ");
                toks.insert(at + 1, word);
                toks.insert(at + 2, b" ");
            }
        }
        let mutated = toks.concat();
        files[target].1 = mutated;
    }
    Some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let src = b"{ a = \"x\\\"y\"; /* c */ b = ''s''; # t\n c = ./p/q.nix; d = \"${x}\"; }";
        assert_eq!(tokens(src).concat(), src.to_vec());
    }

    #[test]
    fn bytes_round_trip() {
        let files: Files = vec![
            (PathBuf::from("flake.nix"), b"{ }".to_vec()),
            (PathBuf::from("hosts/a/default.nix"), b"{ x = 1; }".to_vec()),
        ];
        assert_eq!(files_from_bytes(&to_bytes(&files)), files);
    }
}
