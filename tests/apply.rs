//! `clan-migrate apply` and `verify` on scratch git copies of the fixtures:
//! the result parses, a second plan is empty, verify agrees, bytes outside
//! the moved definitions are untouched, every host's effective users are
//! what they were (checked by real Nix through the oracle), and the git
//! side: refusals, one commit per user, branches, `--user` runs,
//! `--no-commit`, and interrupted runs that leave everything as it was.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use clan_migrate::plan::{self, PlanOptions};
use clan_migrate::{ScanOptions, Silent};
use rnix::SyntaxKind;
use serde_json::Value;

use common::{
    Run, Sandbox, diff_part, diff_sections, entry_modules, nix_parse_failures, oracle, read_tree,
    require_tool, tree_fingerprint,
};

/// Runs one check per fixture, as one `#[test]` each, so a single fixture's
/// known bug can be `#[ignore]`d without hiding the others.
macro_rules! per_case {
    ($module:ident, $check:path; $($(#[$attr:meta])* $name:ident => $case:literal,)*) => {
        mod $module {
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    $check($case);
                }
            )*
        }
    };
}

const BRANCH: &str = "clan-migrate/users";

fn library_plan(repo: &Path, users: &[&str]) -> plan::Plan {
    let opts = PlanOptions {
        scan: ScanOptions::default(),
        users: users.iter().map(|u| u.to_string()).collect(),
        to: Default::default(),
    };
    plan::plan(repo, &opts, &Silent).unwrap_or_else(|e| panic!("plan {}: {e}", repo.display()))
}

fn scan_json(repo: &Path) -> Value {
    let report = clan_migrate::scan(repo, &ScanOptions::default(), &Silent)
        .unwrap_or_else(|e| panic!("scan {}: {e}", repo.display()));
    serde_json::to_value(&report).unwrap()
}

/// `apply .` (quiet), which must succeed.
#[track_caller]
fn apply_ok(sb: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["apply", ".", "--color", "never"];
    args.extend_from_slice(extra);
    let run = sb.run(&args);
    run.expect_code(0);
    run
}

/// Commits `from..to`, oldest first.
fn commits(sb: &Sandbox, range: &str) -> Vec<String> {
    let out = sb.git(&["rev-list", "--reverse", range]);
    out.lines().map(str::to_string).collect()
}

/// Everything that shows a run changed nothing: the work tree (bytes and
/// mtimes), `git status`, HEAD's branch and commit, every branch.
#[derive(Debug, PartialEq)]
struct RepoState {
    files: BTreeMap<PathBuf, common::FileState>,
    status: String,
    head: String,
    head_commit: Option<String>,
    branches: Vec<(String, Option<String>)>,
}

fn repo_state(sb: &Sandbox) -> RepoState {
    let status = sb.status();
    RepoState {
        files: tree_fingerprint(&sb.repo),
        status,
        head: sb.head_branch(),
        head_commit: sb.rev("HEAD"),
        branches: sb
            .branches()
            .into_iter()
            .map(|b| {
                let c = sb.rev(&b);
                (b, c)
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Untouched bytes: which lines of a host file a migration may remove or add
// ---------------------------------------------------------------------------

/// 1-based inclusive line span.
type Span = (usize, usize);

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    start + column - 1
}

fn span_of(text: &str, node: &rnix::SyntaxNode) -> Span {
    let r = node.text_range();
    let start = usize::from(r.start());
    let end = usize::from(r.end()).max(start + 1);
    (line_of(text, start), line_of(text, end - 1))
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_comment(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('#') || (t.starts_with("/*") && t.ends_with("*/"))
}

/// `name = {`, `{`, `}`, `};`: lines that only open or close a set.
fn is_structural(line: &str) -> bool {
    let t = line.trim();
    if matches!(t, "{" | "}" | "};" | "]" | "];") {
        return true;
    }
    t.strip_suffix("= {").is_some_and(|path| {
        let path = path.trim();
        !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.'\"-".contains(c))
    })
}

/// Whether `name` occurs in `text` as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '\'' || c == '-';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

fn tokens(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Whether `small`'s tokens appear in `big`'s, in order.
fn token_subsequence(small: &str, big: &str) -> bool {
    let mut big = tokens(big).into_iter();
    tokens(small).into_iter().all(|t| big.any(|b| b == t))
}

/// `dir/entry` with `.` and `..` resolved, relative to the repository.
fn resolve(dir: &Path, entry: &str) -> PathBuf {
    let mut out: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for c in Path::new(entry).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    out.iter().collect()
}

/// The entries of a one-line `imports = [ … ];`.
fn import_entries(line: &str) -> Option<Vec<&str>> {
    let inner = line
        .trim()
        .strip_prefix("imports = [")?
        .strip_suffix("];")?
        .trim();
    Some(tokens(inner))
}

/// The path entries of a file's `imports` lists, in order.
fn imports_of(root: &rnix::SyntaxNode) -> Vec<String> {
    root.descendants()
        .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
        .filter(|n| {
            n.children()
                .find(|c| c.kind() == SyntaxKind::NODE_ATTRPATH)
                .is_some_and(|a| a.text() == "imports")
        })
        .flat_map(|n| {
            // Path literals anywhere in the value, and every element of its
            // lists (`inputs.self.nixosModules.nginx`).
            let paths = n
                .descendants()
                .filter(|d| d.kind() == SyntaxKind::NODE_PATH_REL)
                .map(|d| d.text().to_string());
            let elements = n
                .descendants()
                .filter(|d| d.kind() == SyntaxKind::NODE_LIST)
                .flat_map(|l| {
                    l.children()
                        .map(|c| c.text().to_string())
                        .collect::<Vec<_>>()
                });
            paths.chain(elements).collect::<Vec<_>>()
        })
        .collect()
}

/// What a migration may do to one host file, checked line by line: every
/// line it keeps is kept verbatim and in order; it removes only lines of
/// moved users' definitions, blank and comment lines, `let` bindings it
/// left unused, the `let`/`in` of a let it emptied, containers it emptied
/// and a one-line `imports` it rewrites; it adds only imports of the new
/// user modules (indented like their neighbours), that `imports` line, and
/// residue rewritten from a moved definition's line (`extraGroups = [
/// "docker" ];` from `extraGroups = [ "wheel" "docker" ];`).
fn check_host_file(
    case: &str,
    rel: &Path,
    before: &str,
    after: &str,
    moved_defs: &[(usize, usize)],
    moved_users: &BTreeSet<String>,
    repo_after: &Path,
) -> Vec<String> {
    let mut problems = Vec::new();
    let where_ = |n: usize| format!("{case}: {}:{n}", rel.display());
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let root = rnix::Root::parse(before).syntax();
    let root_after = rnix::Root::parse(after).syntax();

    // Moved definitions, as line spans.
    let mut def_spans: Vec<Span> = Vec::new();
    for &(line, column) in moved_defs {
        let offset = offset_of(before, line, column);
        let node = root
            .descendants()
            .find(|n| {
                n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE
                    && usize::from(n.text_range().start()) == offset
            })
            .unwrap_or_else(|| panic!("{}: no binding starts at {line}:{column}", where_(line)));
        def_spans.push(span_of(before, &node));
    }
    let in_def = |n: usize| def_spans.iter().any(|&(a, b)| a <= n && n <= b);

    let mut removable: BTreeSet<usize> = BTreeSet::new();
    for (i, line) in old.iter().enumerate() {
        let n = i + 1;
        if in_def(n) || is_blank(line) || is_comment(line) || import_entries(line).is_some() {
            removable.insert(n);
        }
    }
    // Let bindings nothing mentions any more, and the let/in they leave.
    let lets = |r: &rnix::SyntaxNode| {
        r.descendants()
            .filter(|n| n.kind() == SyntaxKind::NODE_LET_IN)
            .count()
    };
    for let_in in root
        .descendants()
        .filter(|n| n.kind() == SyntaxKind::NODE_LET_IN)
    {
        for entry in let_in
            .children()
            .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
        {
            let name = entry
                .children()
                .find(|n| n.kind() == SyntaxKind::NODE_ATTRPATH)
                .map(|n| n.text().to_string())
                .unwrap_or_default();
            if !name.is_empty() && !mentions(after, name.trim()) {
                let (a, b) = span_of(before, &entry);
                removable.extend(a..=b);
            }
        }
    }
    if lets(&root_after) < lets(&root) {
        for (i, line) in old.iter().enumerate() {
            if matches!(line.trim(), "let" | "in") {
                removable.insert(i + 1);
            }
        }
    }
    // Containers (`users = { users = { … }; };`) holding moved definitions
    // and nothing else.
    for node in root
        .descendants()
        .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
    {
        let (a, b) = span_of(before, &node);
        let holds_moved = def_spans.iter().any(|&(x, y)| a <= x && y <= b);
        if holds_moved
            && (a..=b).all(|n| removable.contains(&n) || in_def(n) || is_structural(old[n - 1]))
        {
            removable.extend(a..=b);
        }
    }

    // Old import entries must all survive, in order.
    let old_imports = imports_of(&root);
    let new_imports = imports_of(&root_after);
    let mut it = new_imports.iter();
    for e in &old_imports {
        if !it.any(|n| n == e) {
            problems.push(format!(
                "{}: the import `{e}` is gone or out of order",
                where_(0)
            ));
        }
    }

    let dir = rel.parent().unwrap_or(Path::new(""));
    let is_new_module_import = |entry: &str| {
        if !(entry.starts_with("./") || entry.starts_with("../")) {
            return false;
        }
        let target = resolve(dir, entry);
        let parts: Vec<String> = target
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let user_module = match parts.as_slice() {
            [users, name] => users == "users" && moved_users.contains(name),
            [users, name, file] => {
                users == "users"
                    && moved_users.contains(name)
                    && (file == "default.nix" || file == "home.nix")
            }
            _ => false,
        };
        let file = if target.extension().is_some_and(|e| e == "nix") {
            target.clone()
        } else {
            target.join("default.nix")
        };
        user_module && repo_after.join(file).is_file()
    };

    // Walk the new file: required old lines must come in order; every other
    // line must be one the migration may add.
    let required: Vec<(usize, &str)> = old
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, *l))
        .filter(|(n, _)| !removable.contains(n))
        .collect();
    let removable_lines: Vec<&str> = removable.iter().map(|&n| old[n - 1]).collect();
    let def_lines: Vec<&str> = old
        .iter()
        .enumerate()
        .filter(|(i, _)| in_def(i + 1))
        .map(|(_, l)| *l)
        .collect();
    let mut p = 0;
    for (j, line) in new.iter().enumerate() {
        if p < required.len() && *line == required[p].1 {
            p += 1;
            continue;
        }
        if is_blank(line) || removable_lines.contains(line) {
            continue;
        }
        let t = line.trim();
        let prev = new[..j].iter().rev().find(|l| !is_blank(l)).copied();
        let indent = |s: &str| s.len() - s.trim_start().len();
        let is_entry = |s: &str| {
            let s = s.trim();
            s.starts_with("./") || s.starts_with("../")
        };
        if is_new_module_import(t) {
            // Indented like the entry before it, or one level below `imports = [`.
            let expected = match prev {
                Some(p) if is_entry(p) => Some(indent(p)),
                Some(p) if p.trim() == "imports = [" => Some(indent(p) + 2),
                _ => None,
            };
            if let Some(expected) = expected.filter(|e| *e != indent(line)) {
                problems.push(format!(
                    "{}: import entry indented {}, expected {expected}: {line:?}",
                    where_(j + 1),
                    indent(line),
                ));
            }
            continue;
        }
        // A new multi-line `imports = [ … ];` around new entries.
        if t == "imports = [" {
            continue;
        }
        if t == "];" && prev.is_some_and(|p| is_new_module_import(p.trim())) {
            continue;
        }
        if let Some(entries) = import_entries(line) {
            for e in entries {
                if !old_imports.iter().any(|o| o == e) && !is_new_module_import(e) {
                    problems.push(format!(
                        "{}: `imports` gained `{e}`, which is no new user module",
                        where_(j + 1)
                    ));
                }
            }
            continue;
        }
        if def_lines.iter().any(|d| token_subsequence(line, d)) {
            continue;
        }
        problems.push(format!(
            "{}: added line is neither an import of a new user module nor residue of a moved definition: {line:?}",
            where_(j + 1)
        ));
    }
    for (n, line) in &required[p..] {
        problems.push(format!(
            "{}: line outside the moved definitions was removed or changed: {line:?}",
            where_(*n)
        ));
    }
    problems
}

// ---------------------------------------------------------------------------
// Invariants after `apply`, on every fixture with repeated users
// ---------------------------------------------------------------------------

fn invariants_after_apply(case: &str) {
    let sb = Sandbox::committed(case);
    let before = read_tree(&sb.repo);
    let main = sb.rev("main").unwrap();
    let p = library_plan(&sb.repo, &[]);
    assert!(!p.is_empty(), "{case} has repeated users");
    let plan_run = sb.run(&["plan", ".", "--color", "never"]);
    plan_run.expect_code(0);
    let diff_files: BTreeSet<PathBuf> = diff_sections(diff_part(&plan_run.stdout))
        .into_iter()
        .map(|(p, _)| PathBuf::from(p))
        .collect();
    let scan = scan_json(&sb.repo);

    let run = apply_ok(&sb, &[]);
    assert!(
        run.stdout.contains(&format!("On branch {BRANCH}")),
        "{}",
        run.stdout
    );

    // Git: one commit per user on the new branch, main untouched.
    assert_eq!(
        sb.rev("main").as_deref(),
        Some(main.as_str()),
        "{case}: main moved"
    );
    assert_eq!(sb.head_branch(), BRANCH, "{case}");
    assert_eq!(sb.status(), "", "{case}: the work tree is the last commit");
    let new_commits = commits(&sb, &format!("main..{BRANCH}"));
    assert_eq!(
        new_commits.len(),
        p.steps.len(),
        "{case}: one commit per user"
    );
    for (commit, step) in new_commits.iter().zip(&p.steps) {
        let message = sb.git(&["log", "-1", "--format=%B", commit]);
        assert_eq!(
            message.trim_end(),
            step.commit_message().trim_end(),
            "{case}"
        );
        let mut hosts: Vec<&str> = step
            .moves
            .iter()
            .flat_map(|m| m.hosts.iter().map(String::as_str))
            .collect();
        hosts.sort();
        hosts.dedup();
        assert_eq!(
            message.lines().next().unwrap(),
            format!("users: share {} across {}", step.user, hosts.join(", ")),
            "{case}"
        );
        assert!(message.contains("\n\nMoved to users/"), "{case}: {message}");
        assert_eq!(
            sb.git(&["log", "-1", "--format=%an <%ae>", commit]),
            format!("{} <{}>", common::SANDBOX_NAME, common::SANDBOX_EMAIL)
        );
    }
    assert_eq!(
        sb.git(&["rev-parse", &format!("{}^", new_commits[0])]),
        main,
        "{case}: the branch starts at main"
    );

    // Files: exactly the diff's files changed; the rest byte-identical.
    let (after, changed) = common::changed_by_apply(&sb, &before, case);
    assert_eq!(
        changed, diff_files,
        "{case}: changed files vs the plan's diff"
    );
    for path in &changed {
        if !before.contains_key(path) {
            assert!(
                path.starts_with("users"),
                "{case}: new file outside users/: {}",
                path.display()
            );
        }
    }

    // Untouched bytes, line by line, in every changed host file.
    let moved: BTreeSet<(String, String)> = p
        .steps
        .iter()
        .flat_map(|s| &s.moves)
        .map(|m| (m.user.clone(), m.option.as_str().to_string()))
        .collect();
    let moved_users: BTreeSet<String> = moved.iter().map(|(u, _)| u.clone()).collect();
    let mut problems = Vec::new();
    for path in changed.iter().filter(|p| before.contains_key(*p)) {
        let rel = path.to_str().unwrap();
        let defs: Vec<(usize, usize)> = scan["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| {
                moved.contains(&(
                    u["name"].as_str().unwrap().to_string(),
                    u["option"].as_str().unwrap().to_string(),
                ))
            })
            .flat_map(|u| u["definitions"].as_array().unwrap())
            .filter(|d| d["file"] == rel)
            .map(|d| {
                (
                    d["line"].as_u64().unwrap() as usize,
                    d["column"].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert!(
            !defs.is_empty(),
            "{case}: {rel} changed but defines no moved user"
        );
        problems.extend(check_host_file(
            case,
            path,
            &String::from_utf8_lossy(&before[path]),
            &String::from_utf8_lossy(&after[path]),
            &defs,
            &moved_users,
            &sb.repo,
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The result parses with Nix, every commit's tree too.
    if require_tool("nix-instantiate") {
        let files = common::nix_files(&sb.repo);
        let failures = nix_parse_failures(&files);
        assert!(failures.is_empty(), "{case}:\n{}", failures.join("\n"));
        let trees = sb.home.join("trees");
        let mut snapshot_files = Vec::new();
        for (n, commit) in new_commits.iter().enumerate() {
            let listing = sb.git(&["ls-tree", "-r", "--name-only", commit]);
            for path in listing.lines().filter(|p| p.ends_with(".nix")) {
                let text = sb.git(&["show", &format!("{commit}:{path}")]);
                let dest = trees.join(format!("{}", n + 1)).join(path);
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::write(&dest, text).unwrap();
                snapshot_files.push(dest);
            }
        }
        let failures = nix_parse_failures(&snapshot_files);
        assert!(
            failures.is_empty(),
            "{case}: commit trees:\n{}",
            failures.join("\n")
        );
    }

    // Idempotent: nothing left to plan; verify agrees.
    let again = sb.run(&["plan", ".", "--check", "--color", "never"]);
    again.expect_code(0);
    assert!(
        again.stdout.starts_with("Nothing to do"),
        "{case}: {}",
        again.stdout
    );
    let verify = sb.run(&["verify", "."]);
    verify.expect_code(0);
    assert!(
        verify.stdout.contains("unchanged"),
        "{case}: {}",
        verify.stdout
    );
    let verify = sb.run(&["verify", ".", "--against", "main"]);
    verify.expect_code(0);
    assert!(
        verify.stdout.contains("unchanged"),
        "{case}: {}",
        verify.stdout
    );
}

per_case! { invariants, crate::invariants_after_apply;
    clan_inherited => "clan-inherited",
    colmena => "colmena",
    colmena_hive => "colmena-hive",
    computed_hosts => "computed-hosts",
    dir_conventions => "dir-conventions",
    dynamic_users => "dynamic-users",
    example => "example",
    flake_helper => "flake-helper",
    flake_literal => "flake-literal",
    flake_parts => "flake-parts",
    helper_modules => "helper-modules",
    let_host_set => "let-host-set",
    lite_config => "lite-config",
    machines_dir => "machines-dir",
    module_set => "module-set",
    nixops => "nixops",
    read_dir => "read-dir",
    read_dir_modules => "read-dir-modules",
    service => "service",
    service_bare => "service-bare",
    service_flake_parts => "service-flake-parts",
    service_inline => "service-inline",
    shared_first => "shared-first",
    spellings => "spellings",
    starter_configs => "starter-configs",
    traps => "traps",
    unbuilt_machine => "unbuilt-machine",
}

#[test]
fn the_line_checker_catches_stray_edits() {
    // The checker above must reject what a broken migration would do.
    let before = "{ ... }:\n{\n  imports = [ ./a.nix ];\n  networking.hostName = \"x\";\n  users.users.alice = {\n    isNormalUser = true;\n    extraGroups = [ \"wheel\" \"docker\" ];\n  };\n}\n";
    let defs = [(5, 3)];
    let users: BTreeSet<String> = ["alice".to_string()].into();
    let tmp = Sandbox::empty();
    tmp.write("users/alice/default.nix", "{ }\n");
    let host = Path::new("hosts/x.nix");
    let good = "{ ... }:\n{\n  imports = [ ./a.nix ../users/alice ];\n  networking.hostName = \"x\";\n  users.users.alice = {\n    extraGroups = [ \"docker\" ];\n  };\n}\n";
    assert_eq!(
        check_host_file("t", host, before, good, &defs, &users, &tmp.repo),
        Vec::<String>::new()
    );
    for bad in [
        // a line outside the user changed
        good.replace("hostName = \"x\"", "hostName = \"y\""),
        // an import dropped
        good.replace("./a.nix ", ""),
        // an import of something else
        good.replace("../users/alice", "../users/bob"),
        // a value that was never there
        good.replace("[ \"docker\" ]", "[ \"audio\" ]"),
    ] {
        assert!(
            !check_host_file("t", host, before, &bad, &defs, &users, &tmp.repo).is_empty(),
            "accepted:\n{bad}"
        );
    }
}

// ---------------------------------------------------------------------------
// The oracle: real Nix says every host's users are unchanged
// ---------------------------------------------------------------------------

fn oracle_after_apply(case: &str, special_args: Option<&str>) {
    if !oracle::nix_available() {
        return;
    }
    let sb = Sandbox::committed(case);
    let hosts = entry_modules(&sb.repo);
    assert!(hosts.len() >= 2, "{case}: {hosts:?}");
    let eval = |name: &str, modules: &[PathBuf]| {
        oracle::effective_users(&sb.repo, modules, special_args)
            .unwrap_or_else(|e| panic!("{case}: host {name}: {e}"))
    };
    let before: Vec<Value> = hosts.iter().map(|(h, m)| eval(h, m)).collect();
    for (value, (host, _)) in before.iter().zip(&hosts) {
        let users = value["users"].as_object().map_or(0, |u| u.len());
        assert!(
            users > 0,
            "{case}: host {host} has no users before: {value}"
        );
    }
    apply_ok(&sb, &[]);
    assert_eq!(entry_modules(&sb.repo), hosts, "{case}: hosts changed");
    let mut report = String::new();
    for ((host, modules), before) in hosts.iter().zip(&before) {
        let after = eval(host, modules);
        if let Some(diff) = oracle::users_diff(before, &after) {
            report.push_str(&format!("host {host}:\n{diff}\n"));
        }
        // The same check through the helper the oracle documents.
        if report.is_empty() {
            oracle::assert_same_users(before, &after);
        }
    }
    assert!(
        report.is_empty(),
        "{case}: effective users changed:\n{report}"
    );
}

#[test]
fn oracle_example() {
    oracle_after_apply("example", None);
}

#[test]
fn oracle_flake_helper() {
    oracle_after_apply("flake-helper", None);
}

#[test]
fn oracle_flake_parts() {
    oracle_after_apply("flake-parts", None);
}

#[test]
fn oracle_helper_modules() {
    oracle_after_apply("helper-modules", None);
}

#[test]
fn oracle_dir_conventions() {
    oracle_after_apply("dir-conventions", None);
}

#[test]
fn oracle_machines_dir() {
    oracle_after_apply("machines-dir", None);
}

#[test]
fn oracle_read_dir() {
    oracle_after_apply("read-dir", None);
}

#[test]
fn oracle_unbuilt_machine() {
    oracle_after_apply("unbuilt-machine", None);
}

#[test]
fn oracle_shared_first() {
    oracle_after_apply("shared-first", None);
}

#[test]
fn oracle_spellings() {
    oracle_after_apply("spellings", None);
}

#[test]
fn oracle_traps() {
    oracle_after_apply("traps", None);
}

#[test]
fn oracle_dynamic_users() {
    oracle_after_apply("dynamic-users", Some("{ username = \"dave\"; }"));
}

#[test]
fn oracle_sees_a_real_change() {
    // Guard against a vacuous oracle test: a hand-made change is caught.
    if !oracle::nix_available() {
        return;
    }
    let sb = Sandbox::committed("example");
    let alpha = [PathBuf::from("hosts/alpha")];
    let before = oracle::effective_users(&sb.repo, &alpha, None).unwrap();
    apply_ok(&sb, &[]);
    let text = sb.read("users/alice/default.nix");
    sb.write(
        "users/alice/default.nix",
        &text.replace("\"networkmanager\"", "\"audio\""),
    );
    let after = oracle::effective_users(&sb.repo, &alpha, None).unwrap();
    let diff = oracle::users_diff(&before, &after).expect("the change is seen");
    assert!(diff.contains("users.alice.extraGroups"), "{diff}");
}

// ---------------------------------------------------------------------------
// Refusals: dirty tree, no identity, existing branch, not a repository
// ---------------------------------------------------------------------------

#[test]
fn a_modified_tracked_file_is_refused() {
    let sb = Sandbox::committed("example");
    let rel = "hosts/alpha/default.nix";
    let text = sb.read(rel);
    sb.write(rel, &format!("{text}# local edit\n"));
    let state = repo_state(&sb);
    let run = sb.run(&["apply", "."]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(rel) && run.stderr.contains("modified"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("uncommitted"), "{}", run.stderr);
    assert_eq!(repo_state(&sb), state, "a refused run wrote something");
    assert_eq!(sb.branches(), ["main"]);
    // --no-commit refuses too: it would mix the migration into the edit.
    sb.run(&["apply", ".", "--no-commit"]).expect_code(1);
    assert_eq!(repo_state(&sb), state);
}

#[test]
fn an_untracked_file_is_refused() {
    let sb = Sandbox::committed("example");
    sb.write("notes/todo.txt", "migrate the users\n");
    let state = repo_state(&sb);
    let run = sb.run(&["apply", "."]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("notes/todo.txt") && run.stderr.contains("untracked"),
        "{}",
        run.stderr
    );
    assert_eq!(repo_state(&sb), state, "a refused run wrote something");
    assert_eq!(sb.branches(), ["main"]);
}

#[test]
fn a_staged_change_is_refused() {
    let sb = Sandbox::committed("example");
    sb.write("modules/extra.nix", "{ }\n");
    sb.git(&["add", "modules/extra.nix"]);
    let state = repo_state(&sb);
    let run = sb.run(&["apply", "."]);
    run.expect_code(1);
    assert!(run.stderr.contains("modules/extra.nix"), "{}", run.stderr);
    assert_eq!(repo_state(&sb), state);
}

#[test]
fn a_missing_identity_is_refused() {
    let sb = Sandbox::committed("example");
    let state = repo_state(&sb);
    let run = Run::from(
        sb.cmd(&["apply", "."])
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .output()
            .unwrap(),
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("identity") && run.stderr.contains("user.email"),
        "{}",
        run.stderr
    );
    assert_eq!(repo_state(&sb), state);
    assert_eq!(sb.branches(), ["main"]);
}

#[test]
fn an_existing_branch_is_refused() {
    let sb = Sandbox::committed("example");
    sb.git(&["branch", BRANCH]);
    let state = repo_state(&sb);
    let run = sb.run(&["apply", "."]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(BRANCH) && run.stderr.contains("already exists"),
        "{}",
        run.stderr
    );
    assert_eq!(
        repo_state(&sb),
        state,
        "the existing branch or tree changed"
    );
    // Another name works.
    apply_ok(&sb, &["--branch", "users-2"]);
    assert_eq!(sb.head_branch(), "users-2");
    assert_eq!(sb.rev(BRANCH), sb.rev("main"), "the old branch never moves");
}

#[test]
fn a_directory_that_is_no_repository_is_refused() {
    let sb = Sandbox::copy("example");
    let files = tree_fingerprint(&sb.repo);
    for args in [&["apply", "."][..], &["apply", ".", "--no-commit"][..]] {
        let run = sb.run(args);
        run.expect_code(1);
        assert!(
            run.stderr.contains("not a git repository"),
            "{}",
            run.stderr
        );
    }
    let run = sb.run(&["verify", "."]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
    assert_eq!(tree_fingerprint(&sb.repo), files);
    assert!(!sb.repo.join(".git").exists());
}

#[test]
fn scan_errors_block_apply() {
    let sb = Sandbox::committed("broken-file");
    let state = repo_state(&sb);
    let run = sb.run(&["apply", "."]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("hosts/beta/users.nix:6:17"),
        "{}",
        run.stderr
    );
    assert_eq!(repo_state(&sb), state);
}

// ---------------------------------------------------------------------------
// Commits and branches
// ---------------------------------------------------------------------------

#[test]
fn apply_commits_one_reviewable_commit_per_user() {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    let run = apply_ok(&sb, &[]);
    let new = commits(&sb, "main..HEAD");
    let subjects: Vec<String> = new
        .iter()
        .map(|c| sb.git(&["log", "-1", "--format=%s", c]))
        .collect();
    assert_eq!(
        subjects,
        [
            "users: share alice across alpha, beta, gamma",
            "users: share bob across alpha, beta",
            "users: share root across alpha, beta, gamma",
        ]
    );
    let alice = sb.git(&["log", "-1", "--format=%b", &new[0]]);
    for line in [
        "Moved to users/alice/default.nix:",
        "- description",
        "- extraGroups (the elements common to every host)",
        "Stays on the hosts:",
        "- hashedPassword: differs between hosts",
        "Moved to users/alice/home.nix:",
        "- home.stateVersion",
    ] {
        assert!(
            alice.lines().any(|l| l == line),
            "missing {line:?} in:\n{alice}"
        );
    }
    // Each commit touches only its user's files.
    let files = |c: &str| sb.git(&["diff-tree", "--no-commit-id", "-r", "--name-only", c]);
    let bob_files = files(&new[1]);
    assert_eq!(
        bob_files.lines().collect::<Vec<_>>(),
        [
            "hosts/alpha/default.nix",
            "hosts/alpha/docker.nix",
            "hosts/beta/default.nix",
            "hosts/beta/docker.nix",
            "users/bob/default.nix"
        ]
    );
    assert!(!files(&new[0]).contains("users/bob"));
    assert_eq!(sb.rev("main").unwrap(), main);
    assert_eq!(sb.head_branch(), BRANCH);
    assert_eq!(sb.branches(), [BRANCH, "main"]);
    assert!(
        run.stdout.contains("3 commits")
            && run.stdout.contains("git log -p main..clan-migrate/users"),
        "{}",
        run.stdout
    );
}

#[test]
fn branch_names_the_new_branch() {
    let sb = Sandbox::committed("dir-conventions");
    let main = sb.rev("main").unwrap();
    let run = apply_ok(&sb, &["--branch", "migrate/bob"]);
    assert!(
        run.stdout.contains("On branch migrate/bob"),
        "{}",
        run.stdout
    );
    assert_eq!(sb.head_branch(), "migrate/bob");
    assert_eq!(sb.branches(), ["main", "migrate/bob"]);
    assert_eq!(sb.rev("main").unwrap(), main);
    assert_eq!(commits(&sb, "main..HEAD").len(), 1);
}

#[test]
fn user_moves_one_user_and_a_later_run_the_rest() {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    apply_ok(&sb, &["--user", "alice"]);
    assert_eq!(sb.head_branch(), BRANCH);
    let first = commits(&sb, "main..HEAD");
    assert_eq!(first.len(), 1);
    assert_eq!(
        sb.git(&["log", "-1", "--format=%s"]),
        "users: share alice across alpha, beta, gamma"
    );
    assert!(sb.repo.join("users/alice/default.nix").is_file());
    assert!(!sb.repo.join("users/bob").exists());
    // alice is shared now; the next plan has only bob and root.
    let check = sb.run(&["plan", ".", "--check", "--color", "never"]);
    check.expect_code(2);
    assert!(!check.stdout.contains("alice ("), "{}", check.stdout);

    // Continue on the migrated branch, on a new one.
    let tip = sb.rev("HEAD").unwrap();
    apply_ok(&sb, &["--branch", "users-rest"]);
    assert_eq!(sb.head_branch(), "users-rest");
    assert_eq!(sb.rev(BRANCH).unwrap(), tip, "the first branch never moves");
    let rest: Vec<String> = commits(&sb, &format!("{BRANCH}..HEAD"))
        .iter()
        .map(|c| sb.git(&["log", "-1", "--format=%s", c]))
        .collect();
    assert_eq!(
        rest,
        [
            "users: share bob across alpha, beta",
            "users: share root across alpha, beta, gamma"
        ]
    );
    // Nothing is left: exit 0, no branch, no commit.
    let state = repo_state(&sb);
    let run = sb.run(&["apply", ".", "--branch", "users-none", "--color", "never"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Nothing to do"), "{}", run.stdout);
    assert_eq!(repo_state(&sb), state);
    assert_eq!(sb.rev("main").unwrap(), main);

    // Two runs end where one run ends.
    let one = Sandbox::committed("example");
    apply_ok(&one, &[]);
    assert_eq!(read_tree(&sb.repo), read_tree(&one.repo));
    sb.run(&["verify", ".", "--against", "main"]).expect_code(0);
}

#[test]
fn no_commit_writes_the_work_tree_only() {
    let sb = Sandbox::committed("example");
    let head = sb.rev("HEAD").unwrap();
    let expected = library_plan(&sb.repo, &[]).files();
    let run = sb.run(&["apply", ".", "--no-commit", "--color", "never"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Wrote 9 files"), "{}", run.stdout);
    let status = common::assert_written_uncommitted(&sb, &head, &expected);
    assert!(status.contains("M hosts/alpha/default.nix"), "{status}");
    assert!(status.contains("?? users/alice/default.nix"), "{status}");
    // Same content as the committing run.
    let committed = Sandbox::committed("example");
    apply_ok(&committed, &[]);
    assert_eq!(read_tree(&sb.repo), read_tree(&committed.repo));
}

// ---------------------------------------------------------------------------
// Interrupted runs
// ---------------------------------------------------------------------------

fn assert_untouched(sb: &Sandbox, state: &RepoState, what: &str) {
    assert_eq!(&repo_state(sb), state, "{what}: the repository changed");
    assert_eq!(sb.head_branch(), "main", "{what}");
    assert_eq!(sb.branches(), ["main"], "{what}: a branch was left behind");
    assert_eq!(sb.status(), "", "{what}: work tree or index changed");
    for lock in ["index.lock", "HEAD.lock", "refs/heads/main.lock"] {
        assert!(
            !sb.repo.join(".git").join(lock).exists(),
            "{what}: {lock} left"
        );
    }
}

fn rerun_succeeds(sb: &Sandbox, main: &str) {
    apply_ok(sb, &[]);
    assert_eq!(sb.head_branch(), BRANCH);
    assert_eq!(commits(sb, "main..HEAD").len(), 3);
    assert_eq!(sb.rev("main").unwrap(), main);
    sb.run(&["verify", "."]).expect_code(0);
}

#[test]
fn a_fault_between_commits_leaves_everything_as_it_was() {
    for point in [
        "before-commit-1",
        "after-commit-1",
        "after-commit-2",
        "before-pack",
        "before-ref",
    ] {
        let sb = Sandbox::committed("example");
        let main = sb.rev("main").unwrap();
        let state = repo_state(&sb);
        let run = Run::from(
            sb.cmd(&["apply", ".", "-q"])
                .env("CLAN_MIGRATE_TEST_FAULT", point)
                .output()
                .unwrap(),
        );
        run.expect_code(1);
        assert!(run.stderr.contains(point), "{point}: {}", run.stderr);
        assert_untouched(&sb, &state, point);
        rerun_succeeds(&sb, &main);
    }
}

#[test]
fn a_fault_before_checkout_keeps_the_commits_on_the_branch_only() {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    let files = tree_fingerprint(&sb.repo);
    let run = Run::from(
        sb.cmd(&["apply", ".", "-q"])
            .env("CLAN_MIGRATE_TEST_FAULT", "before-checkout")
            .output()
            .unwrap(),
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("was not checked out") && run.stderr.contains("git switch"),
        "{}",
        run.stderr
    );
    assert_eq!(sb.head_branch(), "main");
    assert_eq!(sb.rev("main").unwrap(), main);
    assert_eq!(sb.status(), "");
    assert_eq!(tree_fingerprint(&sb.repo), files);
    assert_eq!(commits(&sb, &format!("main..{BRANCH}")).len(), 3);
    // What the message says to do works.
    sb.git(&["switch", "-q", BRANCH]);
    sb.run(&["plan", ".", "--check"]).expect_code(0);
}

/// Objects in `.git/objects`, loose and packed (`git count-objects`).
fn objects_on_disk(sb: &Sandbox) -> (u64, u64) {
    let counts = sb.git(&["count-objects", "-v"]);
    let get = |key: &str| {
        counts
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {counts}"))
    };
    (get("count:"), get("in-pack:"))
}

#[test]
fn sigkill_after_the_first_commit_leaves_everything_as_it_was() {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    let state = repo_state(&sb);
    let objects = objects_on_disk(&sb);
    // Killed (SIGKILL) once the fault hook says it sleeps at
    // after-commit-1: the first commit is built, in memory.
    common::kill_at(&sb, "after-commit-1");
    assert_eq!(
        objects_on_disk(&sb),
        objects,
        "the commits are built in memory: nothing reaches .git/objects before the pack"
    );
    assert_untouched(&sb, &state, "SIGKILL at after-commit-1");
    rerun_succeeds(&sb, &main);
}

// ---------------------------------------------------------------------------
// verify
// ---------------------------------------------------------------------------

#[test]
fn verify_finds_a_hand_edit_of_a_moved_value() {
    let sb = Sandbox::committed("example");
    apply_ok(&sb, &[]);
    let run = sb.run(&["verify", "."]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("unchanged") && run.stdout.contains("branch point with main"),
        "{}",
        run.stdout
    );

    let rel = "users/alice/default.nix";
    let text = sb.read(rel);
    assert!(text.contains("\"Alice Liddell\""));
    sb.write(rel, &text.replace("\"Alice Liddell\"", "\"Alice L.\""));
    sb.git(&["commit", "-q", "-am", "alice: shorter description"]);
    for args in [
        &["verify", "."][..],
        &["verify", ".", "--against", "main"][..],
    ] {
        let run = sb.run(args);
        run.expect_code(1);
        for host in ["alpha", "beta", "gamma"] {
            assert!(
                run.stdout.contains(&format!(
                    "host {host}: users.users.alice.description changed"
                )),
                "{args:?}: {}",
                run.stdout
            );
        }
        assert!(!run.stdout.contains("unchanged"), "{}", run.stdout);
    }
    // Against the commit before the edit, only the edit counts.
    let run = sb.run(&["verify", ".", "--against", "HEAD~"]);
    run.expect_code(1);
    // Against HEAD itself nothing differs.
    sb.run(&["verify", ".", "--against", "HEAD"]).expect_code(0);
}

#[test]
fn verify_compares_the_work_tree_too() {
    let sb = Sandbox::committed("example");
    apply_ok(&sb, &[]);
    // An uncommitted edit of a residue in a host file.
    let rel = "hosts/gamma/default.nix";
    let text = sb.read(rel);
    sb.write(
        rel,
        &text.replace(
            "hashedPassword = \"$y$j9T$Dnk",
            "hashedPassword = \"$y$j9T$XXX",
        ),
    );
    let run = sb.run(&["verify", ".", "--against", "main"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("host gamma: users.users.alice.hashedPassword changed"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("host alpha"), "{}", run.stdout);
}

#[test]
fn verify_with_a_bad_revision_exits_1() {
    let sb = Sandbox::committed("example");
    let run = sb.run(&["verify", ".", "--against", "no-such-rev"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("cannot resolve revision `no-such-rev`"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn nothing_to_do_creates_no_branch() {
    for (case, extra) in [
        ("already-shared", &[][..]),
        ("clan-flake", &[][..]),
        ("lone-configuration", &[][..]),
        ("example", &["--user", "carol"][..]),
    ] {
        let sb = Sandbox::committed(case);
        let state = repo_state(&sb);
        let mut args = vec!["apply", ".", "--color", "never"];
        args.extend_from_slice(extra);
        let run = sb.run(&args);
        run.expect_code(0);
        assert!(
            run.stdout.contains("Nothing to do"),
            "{case}: {}",
            run.stdout
        );
        assert_eq!(repo_state(&sb), state, "{case}");
        assert_eq!(sb.branches(), ["main"], "{case}");
    }
}

#[test]
fn verify_without_a_base_revision_says_what_to_do() {
    // One commit, no other branch: nothing to compare with by default.
    let sb = Sandbox::committed("example");
    let run = sb.run(&["verify", "."]);
    run.expect_code(1);
    assert!(run.stderr.contains("--against"), "{}", run.stderr);
    sb.run(&["verify", ".", "--against", "HEAD"]).expect_code(0);
}

#[test]
fn verify_in_a_repository_without_commits_says_so() {
    let sb = Sandbox::tracked("example");
    let run = sb.run(&["verify", "."]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no commits") && !run.stderr.contains("class="),
        "{}",
        run.stderr
    );
}

#[test]
fn nested_with_does_not_block_the_move() {
    let sb = Sandbox::two_hosts(|_| {
        "{ lib, pkgs, ... }:\nwith lib;\n{\n  users.users.alice = {\n    isNormalUser = true;\n    packages = with pkgs; [ git vim ];\n  };\n}\n".into()
    });
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-q", "-m", "two hosts"]);
    let alpha = [PathBuf::from("hosts/alpha")];
    let before =
        oracle::nix_available().then(|| oracle::effective_users(&sb.repo, &alpha, None).unwrap());
    let run = sb.run(&["plan", ".", "--color", "never"]);
    run.expect_code(0);
    assert!(
        !run.stdout.contains("skipped alice"),
        "alice is refused:\n{}",
        run.stdout
    );
    apply_ok(&sb, &[]);
    let text = sb.read("users/alice/default.nix");
    assert!(text.contains("git") && text.contains("vim"), "{text}");
    if let Some(before) = before {
        let after = oracle::effective_users(&sb.repo, &alpha, None).unwrap();
        oracle::assert_same_users(&before, &after);
    }
}
