//! Finding runbook files: the PATH arguments of `lifeboat schedule` and `lifeboat status`.

use std::path::{Path, PathBuf};

/// Every runbook file named by `paths`: a file as given; a folder's `*.yaml` and `*.yml`
/// files (not recursively, hidden files left out), sorted. A path that does not exist is an
/// error, so a typo in a unit file is not a daemon that silently drills nothing.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| format!("{}:1:1: cannot read the runbook: {e}", p.display()))?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let entries = std::fs::read_dir(p)
            .map_err(|e| format!("{}: cannot list the folder: {e}", p.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|f| is_runbook_file(f))
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn is_runbook_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml")) && path.is_file()
}
