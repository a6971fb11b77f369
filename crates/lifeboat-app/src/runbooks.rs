//! Finding runbook files: the PATH arguments of `lifeboat schedule` and `lifeboat status`.

use std::path::{Path, PathBuf};

/// A PATH that names no runbook file and no folder that can be listed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}:1:1: cannot read the runbook: {source}", path.display())]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot list the folder: {source}", path.display())]
    Unlistable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Every runbook file named by `paths`: a file as given; a folder's `*.yaml` and `*.yml`
/// files (not recursively, hidden files left out), sorted. A path that does not exist is an
/// error, so a typo in a unit file is not a daemon that silently drills nothing.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| DiscoverError::Missing {
            path: p.clone(),
            source,
        })?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|source| DiscoverError::Unlistable {
            path: p.clone(),
            source,
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_gives_its_yaml_files_sorted_without_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yml", "a.yaml", ".hidden.yaml", "notes.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.yaml")).unwrap();
        let single = dir.path().join("notes.txt");
        let found = discover(&[dir.path().to_path_buf(), single.clone()]).unwrap();
        assert_eq!(
            found,
            [dir.path().join("a.yaml"), dir.path().join("b.yml"), single]
        );
    }

    #[test]
    fn a_path_that_does_not_exist_is_an_error() {
        let err = discover(&[PathBuf::from("/nonexistent/runbooks")]).unwrap_err();
        assert!(matches!(err, DiscoverError::Missing { .. }));
        assert!(
            err.to_string()
                .starts_with("/nonexistent/runbooks:1:1: cannot read the runbook: ")
        );
    }
}
