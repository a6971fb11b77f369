//! `source.format: restic`: a restic repository's snapshots as recovery points, read through
//! `lifeboat_storage::restic` (rustic_core over lifeboat's own storage).
//!
//! What is here: discovery (the snapshots `source.restic`'s `host`/`paths`/`tags` match, each
//! a [`Candidate`] with the snapshot's id and time) and reading a point (the snapshot's
//! regular files, as `restic ls` lists them, the population the sample is drawn from), so
//! `lifeboat plan` shows what a drill would try. What is not: verifying a file. Until every
//! chunk of a sampled file is read from its pack, checked against its id and written to the
//! scratch area, [`ResticFormat::restore`] fails the file and says so, and `lifeboat drill`
//! refuses a restic runbook before it runs ([`crate::not_drillable_yet`]): nothing may
//! pass on a check that was not made.

use lifeboat_core::evidence::ManifestRecord;
use lifeboat_core::runbook::{ResticPassword, ResticSpec, Runbook};
use lifeboat_core::vocabulary::Algorithm;
use lifeboat_storage::Source;
use lifeboat_storage::restic::{Repo, SnapshotEntry, SnapshotFilter};

use super::{Candidate, Census, Entry, PointRead, SourceFormat};
use crate::DrillError;
use crate::plan::{Expected, PlannedFile, Target};
use crate::restore::{Landing, Restored};

/// What stands for the manifest of a point read from the snapshot's own tree.
pub const SNAPSHOT_TREE: &str = "(the snapshot's tree)";

/// Largest password file read: a password, not a document.
const MAX_PASSWORD_FILE: u64 = 64 << 10;

/// A restic repository as a drill's source.
pub struct ResticFormat {
    source: Source,
    spec: ResticSpec,
    repo: tokio::sync::OnceCell<Repo>,
}

impl ResticFormat {
    /// The runbook's source, as a restic repository. Does no I/O: the repository is opened
    /// (password read, keys tried, index read) on first use.
    pub fn open(runbook: &Runbook, spec: &ResticSpec) -> Result<Self, DrillError> {
        Ok(ResticFormat {
            source: Source::open(&runbook.source)?,
            spec: spec.clone(),
            repo: tokio::sync::OnceCell::new(),
        })
    }

    async fn repo(&self) -> Result<&Repo, DrillError> {
        self.repo
            .get_or_try_init(|| async {
                let password = password(&self.spec.password, self.source.url()).await?;
                Ok(Repo::open(&self.source, &password).await?)
            })
            .await
    }
}

/// The password, from the runbook or the first line of its file (as restic reads
/// `--password-file`).
async fn password(from: &ResticPassword, url: &str) -> Result<String, DrillError> {
    match from {
        ResticPassword::Value(v) => Ok(v.clone()),
        ResticPassword::File(path) => {
            let unreadable = |detail: String| {
                DrillError::Restic(lifeboat_storage::restic::ResticError::Repository {
                    url: url.to_owned(),
                    detail: format!(
                        "cannot read source.restic.password_file {}: {detail}",
                        path.display()
                    ),
                })
            };
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| unreadable(e.to_string()))?;
            if !meta.is_file() || meta.len() > MAX_PASSWORD_FILE {
                return Err(unreadable(format!(
                    "not a regular file of at most {MAX_PASSWORD_FILE} bytes"
                )));
            }
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| unreadable(e.to_string()))?;
            Ok(text.lines().next().unwrap_or_default().to_owned())
        }
    }
}

impl Entry for SnapshotEntry {
    fn path(&self) -> &str {
        &self.path
    }
}

/// What discovery saw in the repository.
#[derive(Debug, Default)]
pub struct ResticCensus {
    snapshots: usize,
    unmatched: usize,
    not_a_point: usize,
    after_t0: usize,
    too_old: usize,
}

impl Census for ResticCensus {
    fn not_a_point(&mut self) {
        self.not_a_point += 1;
    }
    fn after_t0(&mut self) {
        self.after_t0 += 1;
    }
    fn too_old(&mut self) {
        self.too_old += 1;
    }
    fn describe(&self) -> String {
        let mut seen = Vec::new();
        if self.unmatched > 0 {
            seen.push(format!("{} not matching source.restic", self.unmatched));
        }
        if self.not_a_point > 0 {
            seen.push(format!("{} without regular files", self.not_a_point));
        }
        if self.after_t0 > 0 {
            seen.push(format!("{} after T0", self.after_t0));
        }
        if self.too_old > 0 {
            seen.push(format!("{} older than the window", self.too_old));
        }
        let n = self.snapshots;
        let noun = if n == 1 { "snapshot" } else { "snapshots" };
        if seen.is_empty() {
            format!("{n} {noun} in the repository")
        } else {
            format!("{n} {noun} in the repository: {}", seen.join(", "))
        }
    }
}

impl SourceFormat for ResticFormat {
    type Entry = SnapshotEntry;
    /// The file's path in the snapshot (`/srv/app/a.txt`).
    type Locator = String;
    type Census = ResticCensus;

    async fn discover(&self) -> Result<(Vec<Candidate>, ResticCensus), DrillError> {
        let repo = self.repo().await?;
        let all = repo.snapshots(&SnapshotFilter::default()).await?;
        let filter = SnapshotFilter {
            host: self.spec.host.clone(),
            paths: self.spec.paths.clone(),
            tags: self.spec.tags.clone(),
        };
        let mut census = ResticCensus {
            snapshots: all.len(),
            ..ResticCensus::default()
        };
        let mut found = Vec::new();
        for snapshot in all {
            if filter.matches(&snapshot) {
                found.push(Candidate {
                    id: snapshot.id,
                    time: snapshot.time,
                });
            } else {
                census.unmatched += 1;
            }
        }
        Ok((found, census))
    }

    async fn read_point(&self, point: &Candidate) -> Result<PointRead<SnapshotEntry>, DrillError> {
        let entries = self.repo().await?.files(&point.id).await?;
        let manifest = ManifestRecord {
            path: SNAPSHOT_TREE.to_owned(),
            algorithm: Algorithm::Sha256,
            entries: Some(entries.len() as u64),
            sha256: None,
        };
        if entries.is_empty() {
            return Ok(PointRead::Failed {
                manifest,
                reason: "the snapshot holds no regular file: verifying nothing is never a pass"
                    .to_owned(),
            });
        }
        Ok(PointRead::Listed { manifest, entries })
    }

    fn plan_file(
        &self,
        _point: &Candidate,
        _manifest: &ManifestRecord,
        entry: &SnapshotEntry,
    ) -> PlannedFile<String> {
        PlannedFile {
            // No whole-file digest exists in a snapshot: its chunks' ids are what the file
            // will be verified against, once verification is built.
            expect: Expected {
                path: entry.path.clone(),
                algorithm: Algorithm::Sha256,
                digest: String::new(),
                // The size the snapshot's tree lists: the chunks must add up to it.
                size: Some(entry.size),
            },
            target: Target::below_point(entry.path.trim_start_matches('/'), |_| entry.path.clone()),
        }
    }

    async fn restore(
        &self,
        _point: &Candidate,
        expect: &Expected,
        _lands: &str,
        _from: &String,
        _landing: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        Ok(Restored::failed(
            expect,
            None,
            "verifying a file of a restic snapshot is not implemented yet".to_owned(),
        ))
    }

    async fn stored_bytes(&self, _point: &Candidate, _paths: &[String]) -> Option<u64> {
        None
    }
}
