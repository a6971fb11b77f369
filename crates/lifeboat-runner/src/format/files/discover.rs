//! Recovery point discovery in a `files` source: which children of the source are points, and
//! when each was taken.
//!
//! Every entry below the source is either a candidate or counted with the reason it is not
//! one (a file, a link, a name that cannot be represented or is not a time, no manifest…),
//! so "no recovery point" can say truthfully what was there. Each entry skipped for what it
//! is or what its name holds is also logged, by name (escaped).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use lifeboat_core::runbook::{PointTime, RecoveryPointsSpec};
use lifeboat_storage::{Kind, Skip, Source, StorageError};

use crate::format::Candidate;

/// What discovery saw, for the evidence when nothing is left to try.
#[derive(Clone, Debug, Default)]
pub struct Census {
    /// The manifest's path in each point, to name it.
    pub manifest: String,
    /// Entries directly below the source.
    pub children: usize,
    /// Entries that are not folders, by what they are (a regular file, a symbolic link…).
    pub not_folders: BTreeMap<Kind, usize>,
    /// Entries whose name cannot be represented, by why ("is not valid UTF-8").
    pub unusable: BTreeMap<&'static str, usize>,
    /// Children whose name did not parse as a time (`time: name`).
    pub unparsable: usize,
    /// Children without the manifest (`time: modified`; with `time: name` found while trying).
    pub without_manifest: usize,
    /// Children whose manifest could not be looked at (`time: modified`).
    pub unreadable_manifest: usize,
    /// Points after T0.
    pub after_t0: usize,
    /// Points older than `within`.
    pub too_old: usize,
}

impl Census {
    /// `N entries in the source: 1 regular file, 2 symbolic links, 1 whose name is not valid
    /// UTF-8, 1 without SHA256SUMS, …`: every entry counted once, under the first reason it
    /// was not taken.
    pub fn describe(&self) -> String {
        let manifest = &self.manifest;
        let mut seen = Vec::new();
        for (kind, n) in &self.not_folders {
            seen.push(count_of(*kind, *n));
        }
        for (why, n) in &self.unusable {
            seen.push(format!("{n} whose name {why}"));
        }
        if self.without_manifest > 0 {
            seen.push(format!("{} without {manifest}", self.without_manifest));
        }
        if self.unreadable_manifest > 0 {
            seen.push(format!(
                "{} whose {manifest} cannot be read",
                self.unreadable_manifest
            ));
        }
        if self.unparsable > 0 {
            seen.push(format!("{} whose name is not a time", self.unparsable));
        }
        if self.after_t0 > 0 {
            seen.push(format!("{} after T0", self.after_t0));
        }
        if self.too_old > 0 {
            seen.push(format!("{} older than the window", self.too_old));
        }
        let entries = if self.children == 1 {
            "1 entry in the source".to_owned()
        } else {
            format!("{} entries in the source", self.children)
        };
        if seen.is_empty() {
            entries
        } else {
            format!("{entries}: {}", seen.join(", "))
        }
    }
}

impl crate::format::Census for Census {
    fn not_a_point(&mut self) {
        // With `time: name` a child's manifest is first looked for when it is tried.
        self.without_manifest += 1;
    }

    fn after_t0(&mut self) {
        self.after_t0 += 1;
    }

    fn too_old(&mut self) {
        self.too_old += 1;
    }

    fn describe(&self) -> String {
        Census::describe(self)
    }
}

/// "1 regular file", "2 symbolic links", "1 FIFO (named pipe)".
fn count_of(kind: Kind, n: usize) -> String {
    let (one, many) = match kind {
        Kind::File => ("regular file", "regular files"),
        Kind::Dir => ("directory", "directories"),
        Kind::Symlink => ("symbolic link", "symbolic links"),
        Kind::Fifo => ("FIFO (named pipe)", "FIFOs (named pipes)"),
        Kind::Socket => ("socket", "sockets"),
        Kind::CharDevice => ("character device", "character devices"),
        Kind::BlockDevice => ("block device", "block devices"),
        Kind::Unknown => (
            "special file of unknown type",
            "special files of unknown type",
        ),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What `time: modified` learnt of one child's manifest.
enum ManifestTime {
    At(Timestamp),
    Missing,
    Unreadable(String),
}

/// Lists the source and returns every child that is a point candidate, with its time, in
/// no particular order (the drill keeps those in the window, newest first:
/// [`crate::format::in_window`]).
///
/// With `time: name`, the manifest's presence is not checked here (it is read when the point
/// is tried; a child without one is skipped then), so a source of 10 000 points costs one
/// listing. With `time: modified`, every child's manifest is `head`ed, a few at a time.
pub async fn candidates(
    source: &Source,
    points: &RecoveryPointsSpec,
    manifest: &str,
) -> Result<(Vec<Candidate>, Census), StorageError> {
    let listing = source.list_children().await?;
    let mut census = Census {
        manifest: manifest.to_owned(),
        children: listing.folders.len() + listing.skipped.len(),
        ..Census::default()
    };
    for skipped in &listing.skipped {
        let why = match skipped.why {
            Skip::NotAFolder(kind) => {
                *census.not_folders.entry(kind).or_default() += 1;
                format!("it is {kind}, not a folder")
            }
            Skip::Unusable(why) => {
                *census.unusable.entry(why).or_default() += 1;
                format!("its name {why}")
            }
        };
        // A stray file beside the points is ordinary; anything else is worth a look.
        if skipped.why == Skip::NotAFolder(Kind::File) {
            tracing::info!(
                "{} in the source is not a recovery point: {why}",
                skipped.shown
            );
        } else {
            tracing::warn!(
                "{} in the source is not a recovery point: {why}",
                skipped.shown
            );
        }
    }
    let children = listing.folders;
    let mut found: Vec<Candidate> = Vec::with_capacity(children.len());
    match &points.time {
        PointTime::Name { format } => {
            for id in children {
                // The same rule the runbook validator checks `time_format` with.
                match lifeboat_core::runbook::point_time_from_name(format.as_deref(), &id) {
                    Ok(time) => found.push(Candidate { id, time }),
                    Err(_) => census.unparsable += 1,
                }
            }
        }
        PointTime::Modified => {
            let manifest = manifest.to_owned();
            let heads: Vec<(String, ManifestTime)> = futures::stream::iter(children)
                .map(|id| {
                    let rel = format!("{id}/{manifest}");
                    async move {
                        let time = match source.head(&rel).await {
                            Ok(Some(info)) => ManifestTime::At(info.last_modified),
                            Ok(None) => ManifestTime::Missing,
                            // Not a regular file (a link, a FIFO…): still a point, placed by
                            // that entry's own time, so trying it fails it with the reason.
                            Err(StorageError::NotAnObject {
                                modified: Some(t), ..
                            }) => ManifestTime::At(t),
                            Err(e) if e.is_finding() => ManifestTime::Unreadable(e.to_string()),
                            Err(e) => return Err(e),
                        };
                        Ok::<_, StorageError>((id, time))
                    }
                })
                .buffer_unordered(16)
                .try_collect()
                .await?;
            for (id, time) in heads {
                match time {
                    ManifestTime::At(time) => found.push(Candidate { id, time }),
                    ManifestTime::Missing => census.without_manifest += 1,
                    ManifestTime::Unreadable(e) => {
                        tracing::warn!("{id:?} is not a recovery point: its manifest: {e}");
                        census.unreadable_manifest += 1;
                    }
                }
            }
        }
    }
    Ok((found, census))
}
