//! Recovery point discovery: which children of the source are points, and when each was taken.

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use lifeboat_core::runbook::{PointTime, Runbook};
use lifeboat_storage::{Source, StorageError};

/// A recovery point candidate: a direct child of the source with a known time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub time: Timestamp,
}

/// What discovery saw, for the evidence when nothing is left to try.
#[derive(Clone, Debug, Default)]
pub struct Census {
    /// Children of the source.
    pub children: usize,
    /// Children whose name did not parse as a time (`time: name`).
    pub unparsable: usize,
    /// Children without the manifest (`time: modified`; with `time: name` found while trying).
    pub without_manifest: usize,
    /// Points after T0.
    pub after_t0: usize,
    /// Points older than `within`.
    pub too_old: usize,
}

/// Lists the source and returns the points in the window, newest first (ties: id, descending).
///
/// With `time: name`, the manifest's presence is not checked here (it is read when the point
/// is tried; a child without one is skipped then), so a source of 10 000 points costs one
/// listing. With `time: modified`, every child's manifest is `head`ed, a few at a time.
pub async fn candidates(
    source: &Source,
    runbook: &Runbook,
    t0: Timestamp,
) -> Result<(Vec<Candidate>, Census), StorageError> {
    let children = source.list_children().await?;
    let mut census = Census {
        children: children.len(),
        ..Census::default()
    };
    let mut found: Vec<Candidate> = Vec::with_capacity(children.len());
    match &runbook.recovery_points.time {
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
            let manifest = runbook.manifest.path.clone();
            let heads: Vec<(String, Option<Timestamp>)> = futures::stream::iter(children)
                .map(|id| {
                    let rel = format!("{id}/{manifest}");
                    async move {
                        let info = source.head(&rel).await?;
                        Ok::<_, StorageError>((id, info.map(|i| i.last_modified)))
                    }
                })
                .buffer_unordered(16)
                .try_collect()
                .await?;
            for (id, time) in heads {
                match time {
                    Some(time) => found.push(Candidate { id, time }),
                    None => census.without_manifest += 1,
                }
            }
        }
    }
    let oldest = runbook
        .recovery_points
        .within
        .and_then(|w| jiff::SignedDuration::try_from(w).ok())
        .and_then(|w| t0.checked_sub(w).ok());
    found.retain(|c| {
        if c.time > t0 {
            census.after_t0 += 1;
            false
        } else if oldest.is_some_and(|o| c.time < o) {
            census.too_old += 1;
            false
        } else {
            true
        }
    });
    found.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
    Ok((found, census))
}
