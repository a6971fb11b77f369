//! A recovery point's plan, made before anything is restored: which files the seeded sample
//! takes, what each must verify to, where each lands in the scratch area and where its bytes
//! come from. A value, built without I/O from what the point lists ([`PointPlan::new`]);
//! the `restore` step then executes it, and cannot half-decide: a path that would land
//! outside the scratch area is refused here, before any byte is read.
//!
//! The shape follows rustic_core's `RestorePlan` (collect and prepare, then restore): the
//! plan can be inspected and tested on its own, and the executor only carries it out.

use lifeboat_core::Algorithm;
use lifeboat_core::evidence::{FileResult, ManifestRecord, Outcome};
use lifeboat_core::runbook::SampleSize;

use crate::format::{Candidate, Entry, SourceFormat};
use crate::projection;

/// What one point's `restore` step will do.
#[derive(Debug)]
pub struct PointPlan<L> {
    /// The point.
    pub point: Candidate,
    /// The manifest the files were listed by (recorded in the evidence).
    pub manifest: ManifestRecord,
    /// The sampled files, in sample order (by path).
    pub files: Vec<PlannedFile<L>>,
    /// What the projection needs of the files not sampled.
    pub projection: projection::Input,
}

/// One sampled file: what it must be, and how it is restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile<L> {
    /// What the restored bytes must verify to.
    pub expect: Expected,
    /// Where it lands, and where from; or why it is not restored at all.
    pub target: Target<L>,
}

/// What a file's restored bytes must verify to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The path as the point lists it.
    pub path: String,
    /// The digest's algorithm.
    pub algorithm: Algorithm,
    /// The digest, lowercase or uppercase hex as listed.
    pub digest: String,
}

impl Expected {
    /// This file, failed before any byte of it was verified: `object` is what was read, if
    /// anything.
    pub fn failed(&self, object: Option<String>, reason: String) -> FileResult {
        FileResult {
            path: self.path.clone(),
            outcome: Outcome::Failed,
            algorithm: self.algorithm,
            expected: self.digest.clone(),
            actual: None,
            bytes: 0,
            object_bytes: None,
            object,
            reason: Some(reason),
        }
    }
}

/// Where a sampled file's bytes go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target<L> {
    /// Restored from `from` to `lands`: `/`-separated components below the point's folder
    /// in the scratch area, each checked to stay inside it.
    Restore {
        /// The file's place below the point's scratch folder.
        lands: String,
        /// Where its bytes come from (the format's [`SourceFormat::Locator`]).
        from: L,
    },
    /// The path would land outside the point's folder (absolute, `..`, a name too long):
    /// the file fails for `reason`, and nothing is read or written for it.
    Unsafe {
        /// Why, in the words of the file's `reason`.
        reason: String,
    },
}

impl<L> Target<L> {
    /// The target of a file listed at `path`, relative to its point: restored from what
    /// `locate` says, to the same path below the point's folder, unless the path could leave
    /// that folder ([`lifeboat_core::manifest::safe_components`]).
    pub fn below_point(path: &str, locate: impl FnOnce(&str) -> L) -> Self {
        match lifeboat_core::manifest::safe_components(path) {
            Ok(components) => {
                let lands = components.join("/");
                Target::Restore {
                    from: locate(&lands),
                    lands,
                }
            }
            Err(reason) => Target::Unsafe { reason },
        }
    }
}

impl<L> PointPlan<L> {
    /// Plans `point`: draws the sample of `entries` (`size`: the runbook's `sample`; `None`,
    /// every entry) with `seed`, and asks `format` to plan each file drawn.
    pub fn new<F>(
        format: &F,
        point: Candidate,
        manifest: ManifestRecord,
        entries: Vec<F::Entry>,
        size: Option<SampleSize>,
        seed: u64,
    ) -> Self
    where
        F: SourceFormat<Locator = L>,
    {
        let paths: Vec<&str> = entries.iter().map(Entry::path).collect();
        let count = match size {
            Some(size) => lifeboat_core::sample::sample_count(paths.len(), size),
            None => paths.len(),
        };
        let chosen = lifeboat_core::sample::choose(&paths, count, seed);
        let projection = projection::Input::new(&point.id, &paths, &chosen);
        let files = chosen
            .iter()
            .map(|&i| format.plan_file(&point, &manifest, &entries[i]))
            .collect();
        PointPlan {
            point,
            manifest,
            files,
            projection,
        }
    }
}

#[cfg(test)]
mod tests;
