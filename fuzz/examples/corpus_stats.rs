//! How deep a corpus reaches: for every input of a fuzz target's corpus,
//! whether `scan` found hosts and users and whether `plan` succeeded and
//! changed files.
//!
//!     cargo run --release --manifest-path fuzz/Cargo.toml --example corpus_stats -- scan_bytes fuzz/corpus/scan_bytes

use std::path::Path;

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("target: scan_bytes or plan_mutated");
    let dir = args.next().expect("corpus directory");
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let (mut inputs, mut with_hosts, mut with_users, mut planned, mut changed) = (0, 0, 0, 0, 0);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read the corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).expect("read an input");
        let files = match target.as_str() {
            "scan_bytes" => clan_migrate_fuzz::files_from_bytes(&data),
            "plan_mutated" => match clan_migrate_fuzz::mutated_fixture(&testdata, &data) {
                Some(files) => files,
                None => continue,
            },
            other => panic!("unknown target {other}"),
        };
        if clan_migrate_fuzz::known_crash(&files).is_some() {
            continue;
        }
        let outcome = clan_migrate_fuzz::check_repo(&files);
        inputs += 1;
        with_hosts += usize::from(outcome.hosts > 0);
        with_users += usize::from(outcome.users > 0);
        planned += usize::from(outcome.planned_files.is_some());
        changed += usize::from(outcome.planned_files.is_some_and(|n| n > 0));
    }
    println!(
        "{target}: {inputs} inputs; hosts found: {with_hosts}; users found: {with_users}; \
         plan ok: {planned}; plan changes files: {changed}"
    );
}
