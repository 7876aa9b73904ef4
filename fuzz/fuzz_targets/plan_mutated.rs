//! A `testdata/` fixture with token-level mutations (see
//! `clan_migrate_fuzz::mutated_fixture`), then `scan` and `plan`: inputs
//! that stay near valid Nix and reach the planner.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    if let Some(files) = clan_migrate_fuzz::mutated_fixture(&testdata, data) {
        clan_migrate_fuzz::fuzz_repo(&files);
    }
});
