//! The runbook set of `lifeboat schedule`: the files its PATH arguments name, each with its
//! last valid version, turned into the daemon's entries, re-read on demand (SIGHUP) or when
//! the files change.
//!
//! A file that becomes invalid keeps its last valid version, so a typo saved into a running
//! daemon's folder stops nothing that worked; a file that is gone is dropped. What the
//! operator should hear about (a problem, a runbook left out) comes back as [`Notice`]s for
//! the binary to print.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use lifeboat_scheduler::daemon::Entry;
use lifeboat_scheduler::{Policy, Schedule};

use crate::runbooks::{self, DiscoverError};
use crate::{Places, RunbookFile};

/// How much a [`Notice`] matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// A runbook file cannot be used as it is.
    Error,
    /// A runbook is left out, or an old version of it kept.
    Warning,
}

/// Something the operator should read about a runbook file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub severity: Severity,
    /// Ready to print; starts with the file's path.
    pub message: String,
}

/// What a (re)load found.
#[derive(Debug)]
pub struct Reloaded {
    /// The runbooks to schedule.
    pub entries: Vec<Entry<RunbookFile>>,
    /// Problems and runbooks left out, in the order they were found.
    pub notices: Vec<Notice>,
}

/// The runbooks a daemon was given, with the last valid version of each file.
#[derive(Debug)]
pub struct RunbookSet {
    paths: Vec<PathBuf>,
    /// Where the daemon writes: a runbook whose source holds one of them is invalid here.
    places: Places,
    valid: BTreeMap<PathBuf, Arc<RunbookFile>>,
    /// [`RunbookSet::fingerprint`] when the files were last read.
    seen: Option<u64>,
}

impl RunbookSet {
    /// The set of the runbook files `paths` name (files, or folders of `*.yaml`/`*.yml`);
    /// nothing is read until [`RunbookSet::reload`].
    pub fn new(paths: Vec<PathBuf>, places: Places) -> Self {
        RunbookSet {
            paths,
            places,
            valid: BTreeMap::new(),
            seen: None,
        }
    }

    /// Re-reads every file. A file that became invalid (or whose source now holds the
    /// scratch root, evidence folder or history store) is reported and its last valid
    /// version kept; a file that is gone is dropped. `Err` only when a PATH itself cannot be
    /// read (then nothing changes).
    pub fn reload(&mut self) -> Result<Reloaded, DiscoverError> {
        self.seen = Some(self.fingerprint());
        let files = runbooks::discover(&self.paths)?;
        let mut notices = Vec::new();
        let mut valid = BTreeMap::new();
        for file in files {
            let checked = RunbookFile::load(&file)
                .map_err(|e| e.to_string())
                .and_then(|l| {
                    self.places
                        .check(&l, "not scheduled")
                        .map_err(|e| e.to_string())?;
                    Ok(l)
                });
            match checked {
                Ok(l) => {
                    valid.insert(file, Arc::new(l));
                }
                Err(message) => {
                    notices.push(Notice {
                        severity: Severity::Error,
                        message,
                    });
                    if let Some(old) = self.valid.get(&file) {
                        notices.push(Notice {
                            severity: Severity::Warning,
                            message: format!(
                                "{}: keeping the last valid version of this runbook",
                                file.display()
                            ),
                        });
                        valid.insert(file, old.clone());
                    }
                }
            }
        }
        self.valid = valid;
        let entries = self.entries(&mut notices);
        Ok(Reloaded { entries, notices })
    }

    /// Whether the files' names or bytes differ from when they were last read, to notice
    /// edits without SIGHUP.
    pub fn changed(&self) -> bool {
        self.seen != Some(self.fingerprint())
    }

    /// A digest of the runbook files' names and bytes.
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        match runbooks::discover(&self.paths) {
            Ok(files) => {
                for f in files {
                    f.hash(&mut h);
                    crate::runbook_file::read_bytes(&f).ok().hash(&mut h);
                }
            }
            Err(e) => e.to_string().hash(&mut h),
        }
        h.finish()
    }

    /// The valid runbooks that can be scheduled: with a `schedule`, no `approve` step
    /// needing an operator, a name no earlier file took, and a schedule that parses.
    fn entries(&self, notices: &mut Vec<Notice>) -> Vec<Entry<RunbookFile>> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for loaded in self.valid.values() {
            let rb = &loaded.runbook;
            let Some(spec) = &rb.schedule else {
                tracing::info!(runbook = %loaded.path, "no schedule; not scheduled");
                continue;
            };
            // A scheduled drill has nobody to answer an `approve` question.
            let needs = lifeboat_runner::approvals_needing_operator(rb);
            for (key, line, column) in &needs {
                notices.push(Notice {
                    severity: Severity::Warning,
                    message: format!(
                        "{}:{line}:{column}: {key}: a scheduled drill has no operator to answer: \
                         add `unattended: pass` or `unattended: fail` to the step; not scheduled",
                        loaded.path
                    ),
                });
            }
            if !needs.is_empty() {
                continue;
            }
            if !names.insert(rb.name.clone()) {
                notices.push(Notice {
                    severity: Severity::Warning,
                    message: format!(
                        "{}: another runbook file is already named {:?}; only the first is \
                         scheduled",
                        loaded.path, rb.name
                    ),
                });
                continue;
            }
            let schedule = match Schedule::new(spec) {
                Ok(s) => s,
                Err(e) => {
                    notices.push(Notice {
                        severity: Severity::Error,
                        message: format!("{}: {e}", loaded.path),
                    });
                    continue;
                }
            };
            out.push(Entry {
                name: rb.name.clone(),
                schedule,
                policy: Policy::of(spec),
                runners: rb.runners.clone(),
                payload: loaded.clone(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn runbook(name: &str, extra: &str) -> String {
        format!(
            "version: 1\nname: {name}\nsource:\n  url: file:///nonexistent/backups\nmanifest:\n  \
             path: SHA256SUMS\nschedule: \"0 2 * * *\"\n{extra}"
        )
    }

    fn set(dir: &Path) -> RunbookSet {
        let places = Places::new(Some(&dir.join("scratch")), &dir.join("evidence"), None);
        RunbookSet::new(vec![dir.join("runbooks")], places)
    }

    fn names(r: &Reloaded) -> Vec<&str> {
        r.entries.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn an_invalid_edit_keeps_the_last_valid_version_and_a_gone_file_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("runbooks");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("a.yaml"), runbook("a", "")).unwrap();
        std::fs::write(folder.join("b.yaml"), runbook("b", "")).unwrap();
        let mut set = set(dir.path());
        let first = set.reload().unwrap();
        assert_eq!(names(&first), ["a", "b"]);
        assert!(first.notices.is_empty(), "{:?}", first.notices);
        assert!(!set.changed());

        std::fs::write(folder.join("a.yaml"), "version: 1\nname: a\nmanfest: {}\n").unwrap();
        std::fs::remove_file(folder.join("b.yaml")).unwrap();
        assert!(set.changed());
        let second = set.reload().unwrap();
        assert_eq!(names(&second), ["a"]);
        let a = folder.join("a.yaml").display().to_string();
        assert_eq!(second.notices.len(), 2, "{:?}", second.notices);
        assert_eq!(second.notices[0].severity, Severity::Error);
        assert!(
            second.notices[0].message.starts_with(&a),
            "{:?}",
            second.notices
        );
        assert_eq!(
            second.notices[1],
            Notice {
                severity: Severity::Warning,
                message: format!("{a}: keeping the last valid version of this runbook"),
            }
        );
        assert!(!set.changed());
    }

    #[test]
    fn a_restic_runbook_is_scheduled_with_or_without_a_manifest_inside_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("runbooks");
        std::fs::create_dir(&folder).unwrap();
        let restic = |name: &str, extra: &str| {
            format!(
                "version: 1\nname: {name}\nsource:\n  url: file:///nonexistent/restic\n  \
                 format: restic\n  restic: {{ password_file: /etc/lifeboat/restic.pass }}\n\
                 schedule: \"0 2 * * *\"\n{extra}"
            )
        };
        std::fs::write(folder.join("r.yaml"), restic("r", "")).unwrap();
        std::fs::write(
            folder.join("m.yaml"),
            restic(
                "m",
                "manifest: { path: /srv/SHA256SUMS, format: sha256sum }\n",
            ),
        )
        .unwrap();
        // A manifest inside the snapshot is checked (it once was refused here, not checked
        // yet): both are scheduled.
        let reloaded = set(dir.path()).reload().unwrap();
        assert_eq!(names(&reloaded), ["m", "r"]);
        assert!(reloaded.notices.is_empty(), "{:?}", reloaded.notices);
    }

    #[test]
    fn runbooks_that_cannot_be_scheduled_are_left_out_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("runbooks");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("a.yaml"), runbook("same", "")).unwrap();
        std::fs::write(folder.join("b.yaml"), runbook("same", "")).unwrap();
        std::fs::write(
            folder.join("c.yaml"),
            runbook(
                "asks",
                "steps:\n  - restore: {}\n  - approve: \"Is DNS pointing at the standby?\"\n",
            ),
        )
        .unwrap();
        let reloaded = set(dir.path()).reload().unwrap();
        assert_eq!(names(&reloaded), ["same"]);
        let messages: Vec<&str> = reloaded
            .notices
            .iter()
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].ends_with("only the first is scheduled"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("a scheduled drill has no operator to answer"),
            "{messages:?}"
        );
        assert!(
            reloaded
                .notices
                .iter()
                .all(|n| n.severity == Severity::Warning)
        );
    }

    #[test]
    fn a_path_that_is_gone_is_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = set(dir.path());
        assert!(matches!(set.reload(), Err(DiscoverError::Missing { .. })));
    }
}
