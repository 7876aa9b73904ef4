//! Parse and index every module the hosts reach, following `imports`
//! breadth-first. Each file is read, parsed and indexed once, in parallel,
//! and its tree is dropped straight after: only the index is kept, so
//! memory stays flat on large fleets.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rnix::{Root, SyntaxKind};

use std::sync::{Arc, OnceLock};

use crate::diagnostic::{Diagnostic, Location, codes};
use crate::discover::{Discovery, FlakeModules, Host};
use crate::fs::Fs;
use crate::index::{ImportTarget, ModuleIndex, ModuleKey, index_file_in};
use crate::inventory::{self, Inventory};
pub use crate::parse_error::{malformed_diagnostic, parse_diagnostics};
use crate::source::SourceFile;

/// A file's text and its parse, kept between users so each file is
/// parsed once per change, not once per look.
pub struct ParsedFile {
    pub file: SourceFile,
    pub parse: rnix::Parse<Root>,
    /// Where its comments are, found when first asked for.
    comments: OnceLock<Vec<crate::syntax::Range>>,
}

impl ParsedFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let parse = Root::parse(&text);
        Self::from_parts(SourceFile::new(path, text), parse)
    }

    fn from_parts(file: SourceFile, parse: rnix::Parse<Root>) -> Self {
        ParsedFile {
            file,
            parse,
            comments: OnceLock::new(),
        }
    }

    /// Where the file's comments are, in order: the comment tokens of
    /// its tree (which holds every token of the text), or of the text
    /// tokenized again when it did not parse.
    pub fn comments(&self) -> &[crate::syntax::Range] {
        self.comments.get_or_init(|| {
            if !self.parse.errors().is_empty() {
                return crate::syntax::comment_ranges(&self.file.text);
            }
            let root = self.parse.syntax();
            let mut out = Vec::new();
            green_comments(root.green(), 0, &mut out);
            out
        })
    }
}

/// Appends the comment tokens under `node`, which starts at `at`; returns
/// where it ends. Walks the green tree: no cursor is allocated.
fn green_comments(
    node: &rowan::GreenNodeData,
    at: usize,
    out: &mut Vec<crate::syntax::Range>,
) -> usize {
    let comment = <rnix::NixLanguage as rowan::Language>::kind_to_raw(SyntaxKind::TOKEN_COMMENT);
    let mut at = at;
    for child in node.children() {
        match child {
            rowan::NodeOrToken::Node(n) => at = green_comments(n, at, out),
            rowan::NodeOrToken::Token(t) => {
                let end = at + usize::from(t.text_len());
                if t.kind() == comment {
                    out.push((at, end));
                }
                at = end;
            }
        }
    }
    at
}

impl std::fmt::Debug for ParsedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ParsedFile({})", self.file.path.display())
    }
}

/// Every module reached and the import edges between them. Modules are
/// numbered in the order they were reached; an id indexes `modules`.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    pub modules: Vec<Arc<ModuleIndex>>,
    ids: HashMap<ModuleKey, usize>,
    /// For each module, the modules it imports, and whether only under a
    /// condition (`lib.optionals cond [ … ]`).
    pub edges: Vec<Vec<(usize, bool)>>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files that failed to parse (never edited, reported as errors).
    pub broken_files: BTreeSet<PathBuf>,
    /// What each file read gave, for `FileCache::absorb`.
    read: Vec<(PathBuf, Arc<FileOutcome>)>,
    /// The Clan inventories read, and per host the service modules they
    /// give it on top of its own.
    pub inventories: Vec<Inventory>,
    service_roots: HashMap<String, Vec<ModuleKey>>,
}

/// Progress callbacks, so the caller can draw a bar; the library itself
/// knows nothing of terminals.
pub trait Progress: Sync {
    fn files_found(&self, _total: usize) {}
    fn file_done(&self, _path: &Path) {}
}

/// A progress sink that reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// A module with its imports resolved to module keys, and the
/// diagnostics for imports that lead nowhere.
type Resolved = (Arc<ModuleIndex>, Vec<(ModuleKey, bool)>, Vec<Diagnostic>);

#[derive(Debug)]
enum FileOutcome {
    /// Its modules, and its parse when the load keeps those of files
    /// that define users (the planner edits them).
    Indexed(Vec<Resolved>, Option<Arc<ParsedFile>>),
    Broken(Vec<Diagnostic>),
    Unreadable(Diagnostic),
}

pub fn load(fs: &dyn Fs, discovery: &Discovery, progress: &dyn Progress) -> ModuleGraph {
    load_files(fs, discovery, progress, &FileCache::default(), false)
}

/// Like `load`, keeping the parse of every file that defines a user
/// (see [`ModuleGraph::parses`]), so the planner need not parse it again.
pub fn load_keeping_parses(
    fs: &dyn Fs,
    discovery: &Discovery,
    progress: &dyn Progress,
) -> ModuleGraph {
    load_files(fs, discovery, progress, &FileCache::default(), true)
}

/// Indexes of files that have not changed, kept between loads so that
/// re-verifying a plan re-parses only the files the plan touched.
#[derive(Default, Clone)]
pub struct FileCache {
    files: HashMap<PathBuf, Arc<FileOutcome>>,
}

impl FileCache {
    /// Forgets the given files, so the next load reads them again.
    pub fn invalidate<'p>(&mut self, paths: impl IntoIterator<Item = &'p PathBuf>) {
        for p in paths {
            self.files.remove(p);
        }
    }

    /// Forgets every file that imports from a directory listing below
    /// which one of `paths` lies (a planned new file there can change what
    /// it imports), so the next load indexes it again over the new tree.
    pub fn invalidate_listings<'p>(&mut self, paths: impl IntoIterator<Item = &'p PathBuf>) {
        let paths: Vec<&PathBuf> = paths.into_iter().collect();
        self.files.retain(|_, outcome| match &**outcome {
            FileOutcome::Indexed(modules, _) => !modules
                .iter()
                .any(|m| m.0.listings_over(&paths).next().is_some()),
            _ => true,
        });
    }

    /// Indexes a file the caller has parsed already (a planned change),
    /// so the next load need not read or parse it again.
    pub fn prime(&mut self, fs: &dyn Fs, flake: &FlakeModules, file: &SourceFile, root: &Root) {
        self.insert(Primed::new(fs, flake, file, root));
    }

    /// Stores what [`Primed::new`] made.
    pub fn insert(&mut self, primed: Primed) {
        self.files.insert(primed.0, primed.1);
    }

    /// Remembers every file a load read.
    pub fn absorb(&mut self, graph: &ModuleGraph) {
        for (path, outcome) in &graph.read {
            self.files.insert(path.clone(), Arc::clone(outcome));
        }
    }
}

/// A parsed file's index, made apart from the cache (on any thread) and
/// then stored with [`FileCache::insert`].
pub struct Primed(PathBuf, Arc<FileOutcome>);

impl Primed {
    pub fn new(fs: &dyn Fs, flake: &FlakeModules, file: &SourceFile, root: &Root) -> Primed {
        let modules = index_file_in(file, root, fs)
            .into_iter()
            .map(|m| resolve_imports(fs, flake, m))
            .collect();
        Primed(
            file.path.clone(),
            Arc::new(FileOutcome::Indexed(modules, None)),
        )
    }
}

/// Like `load`, taking unchanged files' indexes from `cache`.
pub fn load_with(
    fs: &dyn Fs,
    discovery: &Discovery,
    progress: &dyn Progress,
    cache: &FileCache,
) -> ModuleGraph {
    load_files(fs, discovery, progress, cache, false)
}

fn load_files(
    fs: &dyn Fs,
    discovery: &Discovery,
    progress: &dyn Progress,
    cache: &FileCache,
    keep: bool,
) -> ModuleGraph {
    let mut g = ModuleGraph::default();
    let mut edges: Vec<Vec<(ModuleKey, bool)>> = Vec::new();
    g.broken_files
        .extend(discovery.broken_files.iter().cloned());
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut frontier: Vec<PathBuf> = Vec::new();
    let mut pending: Vec<Resolved> = discovery
        .inline_modules
        .iter()
        .map(|m| resolve_imports(fs, &discovery.flake_modules, m.clone()))
        .collect();
    let mut total = 0;
    let names: Vec<String> = discovery.hosts.iter().map(|h| h.name.clone()).collect();
    for path in &discovery.inventory_files {
        if g.broken_files.contains(path) {
            continue;
        }
        let text = match fs.read(path) {
            Ok(t) => t,
            Err(_) => continue,
        };
        // The inventory is read like any file a host evaluates.
        if seen.insert(path.clone()) {
            total += 1;
            progress.files_found(total);
        }
        progress.file_done(path);
        let file = SourceFile::new(path.clone(), text);
        let parse = Root::parse(&file.text);
        if !parse.errors().is_empty() {
            g.diagnostics
                .extend(parse_diagnostics(&file, parse.errors()));
            g.broken_files.insert(path.clone());
            continue;
        }
        let mut inv = inventory::read(&file, &parse.tree(), &names);
        g.diagnostics.append(&mut inv.diagnostics);
        for m in std::mem::take(&mut inv.modules) {
            pending.push(resolve_imports(fs, &discovery.flake_modules, m));
        }
        for (h, keys) in std::mem::take(&mut inv.roots) {
            for k in &keys {
                if k.inline.is_none() && seen.insert(k.file.clone()) {
                    frontier.push(k.file.clone());
                }
            }
            g.service_roots.entry(h).or_default().extend(keys);
        }
        g.inventories.push(inv);
    }
    for host in &discovery.hosts {
        for m in &host.modules {
            if m.inline.is_none() && seen.insert(m.file.clone()) {
                frontier.push(m.file.clone());
            }
        }
    }
    loop {
        // Record every module indexed so far and queue the files it imports.
        for (module, out, import_diags) in pending.drain(..) {
            g.diagnostics.extend(import_diags);
            for (key, _) in &out {
                if key.inline.is_none() && seen.insert(key.file.clone()) {
                    frontier.push(key.file.clone());
                }
            }
            g.diagnostics.extend(module.diagnostics.iter().cloned());
            if !g.ids.contains_key(&module.key) {
                g.ids.insert(module.key.clone(), g.modules.len());
                g.modules.push(module);
                edges.push(out);
            }
        }
        if frontier.is_empty() {
            break;
        }
        if seen.len() > total {
            total = seen.len();
            progress.files_found(total);
        }
        let batch = std::mem::take(&mut frontier);
        let outcomes: Vec<(PathBuf, Arc<FileOutcome>)> = batch
            .into_par_iter()
            .map(|path| {
                let outcome = match cache.files.get(&path) {
                    Some(o) => Arc::clone(o),
                    None => Arc::new(process_file(fs, &discovery.flake_modules, &path, keep)),
                };
                progress.file_done(&path);
                (path, outcome)
            })
            .collect();
        for (path, outcome) in outcomes {
            match &*outcome {
                FileOutcome::Indexed(modules, _) => pending.extend(modules.iter().cloned()),
                FileOutcome::Broken(diags) => {
                    g.diagnostics.extend(diags.iter().cloned());
                    g.broken_files.insert(path.clone());
                }
                FileOutcome::Unreadable(d) => g.diagnostics.push(d.clone()),
            }
            g.read.push((path, outcome));
        }
    }
    // Edges to files that failed to parse lead nowhere.
    g.edges = edges
        .into_iter()
        .map(|out| {
            out.iter()
                .filter_map(|(k, c)| g.ids.get(k).map(|&i| (i, *c)))
                .collect()
        })
        .collect();
    g
}

impl ModuleGraph {
    /// The modules a host starts from: its own, and those the Clan
    /// inventory gives it.
    pub fn roots(&self, host: &Host) -> Vec<ModuleKey> {
        let mut out = host.modules.clone();
        if let Some(extra) = self.service_roots.get(&host.name) {
            out.extend(extra.iter().cloned());
        }
        out
    }

    pub fn id(&self, key: &ModuleKey) -> Option<usize> {
        self.ids.get(key).copied()
    }

    pub fn get(&self, key: &ModuleKey) -> Option<&ModuleIndex> {
        self.id(key).map(|i| &*self.modules[i])
    }

    /// The parses a `load_keeping_parses` kept, by file.
    pub fn parses(&self) -> impl Iterator<Item = (&PathBuf, &Arc<ParsedFile>)> {
        self.read
            .iter()
            .filter_map(|(path, outcome)| match &**outcome {
                FileOutcome::Indexed(_, Some(parsed)) => Some((path, parsed)),
                _ => None,
            })
    }

    /// Every module reachable from `roots` through `imports`, sorted by
    /// id, each with `true` when it is reached only through conditional
    /// imports.
    pub fn closure(&self, roots: &[ModuleKey]) -> Vec<(usize, bool)> {
        // A host reaches a handful of modules: a small list beats a
        // bitmap over every module of the fleet, allocated per host.
        let mut seen: Vec<(usize, bool)> = Vec::new();
        let mut stack: Vec<(usize, bool)> = roots
            .iter()
            .filter_map(|k| self.id(k))
            .map(|i| (i, true))
            .collect();
        while let Some((m, sure)) = stack.pop() {
            match seen.iter_mut().find(|(i, _)| *i == m) {
                Some((_, s)) if *s || !sure => continue,
                Some((_, s)) => *s = true,
                None => seen.push((m, sure)),
            }
            stack.extend(self.edges[m].iter().map(|&(c, cond)| (c, sure && !cond)));
        }
        seen.sort_unstable();
        seen.into_iter().map(|(i, sure)| (i, !sure)).collect()
    }

    /// The hosts that evaluate a module importing from a directory
    /// listing below which one of `paths` lies: a file created or deleted
    /// there can change what they import.
    pub fn hosts_listing(&self, hosts: &[Host], paths: &[&PathBuf]) -> BTreeSet<String> {
        let targets: Vec<usize> = (0..self.modules.len())
            .filter(|&i| self.modules[i].listings_over(paths).next().is_some())
            .collect();
        let (module_hosts, _) = self.hosts_reaching(hosts, &targets);
        targets
            .iter()
            .flat_map(|&t| module_hosts[t].iter().cloned())
            .collect()
    }

    /// Why a move writing `paths` can change what a host imports: each
    /// listing of a module that covers one, as "file:line:col imports
    /// what it lists in dir/, where … is written".
    pub fn listing_reasons(&self, paths: &[&PathBuf]) -> Vec<String> {
        self.modules
            .iter()
            .flat_map(|m| m.listings_over(paths))
            .map(|(dir, at, p)| {
                format!(
                    "{}:{}:{} imports what it lists in {}/, where {} would be written",
                    at.file.display(),
                    at.start.line,
                    at.start.column,
                    dir.display(),
                    p.display()
                )
            })
            .collect()
    }

    /// For each module in `targets`, the hosts that evaluate it and
    /// whether one of them does so unconditionally; other modules get no
    /// hosts. Walks the import edges backwards from the targets only.
    pub fn hosts_reaching(
        &self,
        hosts: &[Host],
        targets: &[usize],
    ) -> (Vec<Vec<String>>, Vec<bool>) {
        let n = self.modules.len();
        let mut module_hosts = vec![Vec::new(); n];
        let mut always = vec![false; n];
        if targets.is_empty() {
            return (module_hosts, always);
        }
        let mut reverse: Vec<Vec<(usize, bool)>> = vec![Vec::new(); n];
        for (from, out) in self.edges.iter().enumerate() {
            for &(to, conditional) in out {
                reverse[to].push((from, conditional));
            }
        }
        let mut roots: HashMap<usize, Vec<&str>> = HashMap::new();
        for h in hosts {
            for k in &self.roots(h) {
                if let Some(id) = self.id(k) {
                    roots.entry(id).or_default().push(&h.name);
                }
            }
        }
        for &t in targets {
            // (module, reached through unconditional edges only)
            let mut best: HashMap<usize, bool> = HashMap::new();
            let mut stack = vec![(t, true)];
            while let Some((m, sure)) = stack.pop() {
                match best.get(&m) {
                    Some(&b) if b || !sure => continue,
                    _ => {}
                }
                best.insert(m, sure);
                for &(p, conditional) in &reverse[m] {
                    stack.push((p, sure && !conditional));
                }
            }
            let mut names: Vec<String> = Vec::new();
            for (m, sure) in best {
                if let Some(hs) = roots.get(&m) {
                    names.extend(hs.iter().map(|h| h.to_string()));
                    always[t] |= sure;
                }
            }
            names.sort();
            names.dedup();
            module_hosts[t] = names;
        }
        (module_hosts, always)
    }
}

/// `p` as a module file: a `.nix` file, or a directory's `default.nix`.
fn resolve_module_path(fs: &dyn Fs, p: &Path) -> Option<PathBuf> {
    if fs.is_file(p) {
        Some(p.to_path_buf())
    } else if fs.is_file(&p.join("default.nix")) {
        Some(p.join("default.nix"))
    } else {
        None
    }
}

fn process_file(fs: &dyn Fs, flake: &FlakeModules, path: &Path, keep: bool) -> FileOutcome {
    let text = match fs.read(path) {
        Ok(text) => text,
        Err(e) => {
            return FileOutcome::Unreadable(
                Diagnostic::error(codes::READ_ERROR, format!("cannot read file: {e}"))
                    .at(Location::file(path)),
            );
        }
    };
    let file = SourceFile::new(path.to_path_buf(), text);
    let parse = Root::parse(&file.text);
    if !parse.errors().is_empty() {
        return FileOutcome::Broken(parse_diagnostics(&file, parse.errors()));
    }
    if let Some(range) = crate::syntax::malformed(&file.text, &parse.syntax()) {
        return FileOutcome::Broken(vec![malformed_diagnostic(&file, range)]);
    }
    let modules: Vec<Resolved> = index_file_in(&file, &parse.tree(), fs)
        .into_iter()
        .map(|m| resolve_imports(fs, flake, m))
        .collect();
    let kept = (keep && modules.iter().any(|m| !m.0.definitions.is_empty()))
        .then(|| Arc::new(ParsedFile::from_parts(file, parse)));
    FileOutcome::Indexed(modules, kept)
}

/// Resolves a module's imports on disk (in the worker, so the `stat`
/// calls run in parallel too).
fn resolve_imports(fs: &dyn Fs, flake: &FlakeModules, module: ModuleIndex) -> Resolved {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for import in &module.imports {
        match &import.target {
            ImportTarget::Inline(range) => out.push((
                ModuleKey {
                    file: module.key.file.clone(),
                    inline: Some(*range),
                },
                import.conditional,
            )),
            ImportTarget::Path(p) => match resolve_module_path(fs, p) {
                Some(file) => out.push((ModuleKey::file(file), import.conditional)),
                None => diags.push(
                    Diagnostic::error(
                        codes::IMPORT_MISSING,
                        format!(
                            "imported path `{}` does not exist",
                            crate::source::display_path(p)
                        ),
                    )
                    .at(import.location.clone())
                    .help("fix or remove the import; Nix would fail to evaluate this host"),
                ),
            },
            ImportTarget::AllFlakeModules => {
                for p in flake.modules.values() {
                    if let Some(file) = resolve_module_path(fs, p) {
                        out.push((ModuleKey::file(file), import.conditional));
                    }
                }
                for key in flake.inline.values() {
                    out.push((key.clone(), import.conditional));
                }
                if flake.incomplete {
                    diags.push(
                        Diagnostic::warning(
                            codes::IMPORT_UNRESOLVED,
                            "imports every module of the flake's `nixosModules`, and not all of them are written as paths; users defined in the others are not seen".to_string(),
                        )
                        .at(import.location.clone())
                        .help("write each `nixosModules.NAME = ./path;` in the flake, or run with --eval where Nix can evaluate the flake"),
                    );
                }
            }
            ImportTarget::FlakeModule(name) => {
                let found = match flake.inline.get(name) {
                    Some(key) => Some(key.clone()),
                    None => flake
                        .modules
                        .get(name)
                        .and_then(|p| resolve_module_path(fs, p))
                        .map(ModuleKey::file),
                };
                match found {
                    Some(key) => out.push((key, import.conditional)),
                    None => diags.push(
                        Diagnostic::warning(
                            codes::IMPORT_UNRESOLVED,
                            format!(
                                "cannot tell which file the flake's `nixosModules.{name}` is: the flake does not name it as a path; users defined in it are not seen"
                            ),
                        )
                        .at(import.location.clone())
                        .help("write `nixosModules.NAME = ./path;` in the flake, import the path here, or run with --eval where Nix can evaluate the flake"),
                    ),
                }
            }
        }
    }
    (Arc::new(module), out, diags)
}

#[cfg(test)]
mod tests {
    use super::ParsedFile;
    use crate::syntax::comment_ranges;

    /// The comments found in a tree are those the tokenizer finds.
    #[test]
    fn tree_comments_are_the_tokenizers() {
        let mut texts: Vec<String> = vec![
            "# a\n{ a = \"#x\"; /* b */ b = ''\n # c\n''; # d\n}".into(),
            "{ x = ./a/b; # c\n y = \"${/* not */ 1}\"; /**/ }".into(),
        ];
        let mut dirs = vec![std::path::PathBuf::from("testdata")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "nix") {
                    texts.push(std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        assert!(texts.len() > 50);
        for t in texts {
            let pf = ParsedFile::new("f.nix".into(), t.clone());
            assert_eq!(pf.comments(), comment_ranges(&t).as_slice(), "{t}");
        }
    }
}
