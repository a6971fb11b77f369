//! A record of a directory tree — every entry's kind, size, content hash and modification
//! time — so a test can assert that a drill left its source exactly as it found it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::sha256_hex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Dir {
        modified: SystemTime,
    },
    File {
        len: u64,
        sha256: String,
        modified: SystemTime,
    },
    Symlink {
        target: PathBuf,
    },
    /// A FIFO, socket or device: recorded by kind, never opened (opening a FIFO for reading
    /// blocks, a device may never end).
    Special {
        kind: String,
        modified: SystemTime,
    },
}

/// Every entry under a root (the root itself excluded), keyed by its path relative to it.
/// Names are kept as the file system holds them (any bytes but `/` and NUL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub entries: BTreeMap<PathBuf, Node>,
}

impl Snapshot {
    /// Walks `root` without following symlinks. A missing root gives an empty snapshot.
    pub fn take(root: &Path) -> Self {
        let mut entries = BTreeMap::new();
        if root.exists() {
            walk(root, Path::new(""), &mut entries);
        }
        Snapshot { entries }
    }

    /// Relative paths of the regular files.
    pub fn files(&self) -> Vec<&Path> {
        self.entries
            .iter()
            .filter(|(_, n)| matches!(n, Node::File { .. }))
            .map(|(p, _)| p.as_path())
            .collect()
    }

    /// One human-readable line per difference from `before` to `self`; empty when equal.
    pub fn diff(&self, before: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (path, old) in &before.entries {
            match self.entries.get(path) {
                None => out.push(format!("removed: {}", path.display())),
                Some(new) if new != old => {
                    out.push(format!("changed: {}: {old:?} -> {new:?}", path.display()))
                }
                Some(_) => {}
            }
        }
        for path in self.entries.keys() {
            if !before.entries.contains_key(path) {
                out.push(format!("added: {}", path.display()));
            }
        }
        out
    }

    /// Panics listing every difference when `self` is not identical to `before`.
    pub fn assert_unchanged_since(&self, before: &Snapshot) {
        let diff = self.diff(before);
        assert!(diff.is_empty(), "tree changed:\n{}", diff.join("\n"));
    }
}

fn walk(dir: &Path, rel: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    let read = fs::read_dir(dir).unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()));
    for entry in read {
        let entry = entry.unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()));
        let path = entry.path();
        let rel = rel.join(entry.file_name());
        let meta =
            fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        let modified = || meta.modified().expect("mtime supported");
        let node = if meta.file_type().is_symlink() {
            Node::Symlink {
                target: fs::read_link(&path).expect("read link"),
            }
        } else if meta.is_dir() {
            walk(&path, &rel, out);
            Node::Dir {
                modified: modified(),
            }
        } else if !meta.is_file() {
            Node::Special {
                kind: format!("{:?}", meta.file_type()),
                modified: modified(),
            }
        } else {
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            Node::File {
                len: meta.len(),
                sha256: sha256_hex(&bytes),
                modified: modified(),
            }
        };
        out.insert(rel, node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_content_size_and_new_entries() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/f"), b"one").unwrap();
        let before = Snapshot::take(dir.path());
        assert_eq!(before.files(), vec![Path::new("a/b/f")]);
        Snapshot::take(dir.path()).assert_unchanged_since(&before);

        fs::write(dir.path().join("a/b/f"), b"two").unwrap();
        fs::write(dir.path().join("g"), b"").unwrap();
        let diff = Snapshot::take(dir.path()).diff(&before);
        assert!(
            diff.iter().any(|d| d.starts_with("changed: a/b/f")),
            "{diff:?}"
        );
        assert!(diff.contains(&"added: g".to_owned()), "{diff:?}");
        assert!(
            Snapshot::take(&dir.path().join("missing"))
                .entries
                .is_empty()
        );
    }

    #[test]
    fn a_fifo_is_recorded_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Reading the FIFO would block this test forever: the snapshot must not.
        let snap = Snapshot::take(dir.path());
        assert!(
            matches!(snap.entries[Path::new("pipe")], Node::Special { .. }),
            "{snap:?}"
        );
        assert!(snap.files().is_empty());
    }
}
