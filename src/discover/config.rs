//! Explicit hosts: `--host NAME=PATH` and `[hosts]` in `clan-migrate.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::host::FoundBy;
use crate::diagnostic::{Diagnostic, Location, codes};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    /// Relative to the repository root.
    pub path: PathBuf,
    pub found_by: FoundBy,
}

impl std::str::FromStr for HostSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=PATH, got `{s}`"))?;
        if name.is_empty() || path.is_empty() {
            return Err(format!("expected NAME=PATH with both parts, got `{s}`"));
        }
        Ok(HostSpec {
            name: name.to_string(),
            path: PathBuf::from(path),
            found_by: FoundBy::Flag,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    hosts: std::collections::BTreeMap<String, String>,
}

pub const CONFIG_FILE: &str = "clan-migrate.toml";

pub fn load_config(repo: &Path) -> Result<Vec<HostSpec>, Diagnostic> {
    let path = repo.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Diagnostic::error(
                codes::READ_ERROR,
                format!("cannot read {CONFIG_FILE}: {e}"),
            )
            .at(Location::file(Path::new(CONFIG_FILE))));
        }
    };
    let parsed: ConfigFile = toml::from_str(&text).map_err(|e| {
        let file = crate::source::SourceFile::new(CONFIG_FILE.into(), text.clone());
        let range = e.span().map(|s| (s.start, s.end)).unwrap_or((0, 0));
        Diagnostic::error(codes::CONFIG_ERROR, e.message().to_string())
            .at(Location::new(&file, range))
            .help("the file takes a [hosts] table: `alpha = \"hosts/alpha\"`")
    })?;
    Ok(parsed
        .hosts
        .into_iter()
        .map(|(name, path)| HostSpec {
            name,
            path: PathBuf::from(path),
            found_by: FoundBy::ConfigFile,
        })
        .collect())
}
