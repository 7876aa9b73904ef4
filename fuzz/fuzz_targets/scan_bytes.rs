//! Arbitrary bytes as a tiny repository (see `clan_migrate_fuzz::files_from_bytes`:
//! pieces split on 0xFF go to `flake.nix`, `hosts/a/default.nix`, …, or to
//! the path a piece names after a leading 0xFE), then `scan` and `plan`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = clan_migrate_fuzz::files_from_bytes(data);
    clan_migrate_fuzz::fuzz_repo(&files);
});
