//! The `pg_backup_manifest` format: PostgreSQL base backups made with `pg_basebackup -Fp`.
//!
//! Recovery points are found and files restored exactly as for [`files`](super::files)
//! (folders below `source.url` holding `manifest.path`; each file the object `PATH`, else
//! `PATH.zst`): only what a point lists differs. Its `backup_manifest` is JSON
//! ([`lifeboat_core::manifest::pg`]): its own `Manifest-Checksum` is checked before anything
//! it lists is trusted, and a mismatch fails the point. Each sampled file must then have its
//! listed size and checksum, in the algorithm its entry names (CRC-32C, SHA-224/256/384/512,
//! or none: size only), so the algorithm is planned per file, not per point.
//!
//! `Files` never lists `pg_wal/`, yet a base backup cannot start without the WAL its
//! `WAL-Ranges` names: those segments join the point's entries (drawn by the sample like any
//! file; all of them when `sample` is absent), each checked to be there and a whole segment
//! long (algorithm `none`). Their bytes are PostgreSQL's to check, by replaying them.

use lifeboat_core::Algorithm;
use lifeboat_core::evidence::ManifestRecord;
use lifeboat_core::manifest::pg::{self, PgEntry};
use lifeboat_core::runbook::Runbook;

use super::files::{FilesFormat, Objects};
use super::{Candidate, PointRead, SourceFormat};
use crate::DrillError;
use crate::plan::{Expected, PlannedFile, Target};
use crate::restore::{Landing, Restored};

/// A source of PostgreSQL base backups, each checked by its own `backup_manifest`.
#[derive(Debug)]
pub struct PgBaseBackups {
    files: FilesFormat,
}

impl PgBaseBackups {
    /// The runbook's source, as base backups. Does no I/O.
    pub fn open(runbook: &Runbook) -> Result<Self, DrillError> {
        Ok(PgBaseBackups {
            files: FilesFormat::open(runbook)?,
        })
    }
}

impl super::Entry for PgEntry {
    fn path(&self) -> &str {
        &self.path
    }
}

impl SourceFormat for PgBaseBackups {
    type Entry = PgEntry;
    type Locator = Objects;
    type Census = <FilesFormat as SourceFormat>::Census;

    async fn discover(&self) -> Result<(Vec<Candidate>, Self::Census), DrillError> {
        self.files.discover().await
    }

    async fn read_point(&self, point: &Candidate) -> Result<PointRead<PgEntry>, DrillError> {
        let (mut manifest, bytes) = match self.files.read_manifest(point).await? {
            Ok(read) => read,
            Err(not_listed) => return Ok(not_listed),
        };
        let parsed = match pg::parse(&bytes) {
            Ok(parsed) => parsed,
            Err(e) => {
                let reason = format!("manifest {}: {e}", manifest.path);
                return Ok(PointRead::Failed { manifest, reason });
            }
        };
        if parsed.files.is_empty() {
            let reason = format!(
                "manifest {} lists no files: verifying nothing is never a pass",
                manifest.path
            );
            return Ok(PointRead::Failed { manifest, reason });
        }
        // The WAL the backup needs to start, which `Files` never lists: present, and a
        // whole segment long.
        let mut entries = parsed.files;
        entries.extend(parsed.wal.into_iter().map(|path| PgEntry {
            path,
            size: pg::WAL_SEGMENT_BYTES,
            algorithm: Algorithm::None,
            checksum: String::new(),
        }));
        manifest.entries = Some(entries.len() as u64);
        Ok(PointRead::Listed { manifest, entries })
    }

    fn plan_file(
        &self,
        _point: &Candidate,
        _manifest: &ManifestRecord,
        entry: &PgEntry,
    ) -> PlannedFile<Objects> {
        PlannedFile {
            expect: Expected {
                path: entry.path.clone(),
                algorithm: entry.algorithm,
                digest: entry.checksum.clone(),
                size: Some(entry.size),
            },
            target: Target::below_point(&entry.path, FilesFormat::objects),
        }
    }

    async fn restore(
        &self,
        point: &Candidate,
        expect: &Expected,
        lands: &str,
        from: &Objects,
        landing: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        self.files
            .restore(point, expect, lands, from, landing)
            .await
    }

    async fn identify(
        &self,
        point: &Candidate,
        from: &Objects,
    ) -> Result<lifeboat_core::coverage::Identity, DrillError> {
        self.files.identify(point, from).await
    }

    async fn identities<'a>(
        &'a self,
        point: &'a Candidate,
        from: &'a [&'a Objects],
    ) -> Result<Vec<lifeboat_core::coverage::Identity>, DrillError> {
        self.files.identities(point, from).await
    }

    async fn stored_bytes(&self, point: &Candidate, paths: &[String]) -> Option<u64> {
        self.files.stored_bytes(point, paths).await
    }
}
