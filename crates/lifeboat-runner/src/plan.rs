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
    /// The files to verify, in path order: the seeded sample and, once each, the files
    /// `sample.always` names.
    pub files: Vec<PlannedFile<L>>,
    /// The listed paths (as the point lists them, sorted) that are verified because
    /// `sample.always` names them, whether or not the sample drew them too.
    pub always: Vec<String>,
    /// The `sample.always` paths the point does not list, in runbook order: the point fails
    /// for them ([`PointPlan::unlisted_reason`]) before anything is restored.
    pub unlisted: Vec<String>,
    /// What the projection needs of the files not verified.
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
    /// The digest, lowercase or uppercase hex as listed (empty with
    /// [`Algorithm::None`]: size only).
    pub digest: String,
    /// The size the restored bytes must have, where the manifest lists one
    /// (`pg_backup_manifest`); `None`: the digest alone decides.
    pub size: Option<u64>,
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
            always: false,
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
    /// every entry) with `seed`, adds the entries `always` names (`sample.always`), and asks
    /// `format` to plan each file.
    ///
    /// The draw is over every entry, exactly as without `always` (the algorithm of
    /// [`lifeboat_core::sample`], which an auditor re-implements from its documentation):
    /// `always` only adds the files it names that the draw did not take. So `--seed N --now
    /// T0` verifies the same files whatever `always` says, plus those. An entry matches an
    /// `always` path when its path, written as the restore writes it (no `.` or empty
    /// segment: `./db/dump.sql` is `db/dump.sql`; a restic snapshot's own paths keep their
    /// leading `/`), is that path.
    pub fn new<F>(
        format: &F,
        point: Candidate,
        manifest: ManifestRecord,
        entries: Vec<F::Entry>,
        size: Option<SampleSize>,
        always: &[String],
        seed: u64,
    ) -> Self
    where
        F: SourceFormat<Locator = L>,
    {
        // Paths by index, borrowed from the entries: a listing of millions of files is not
        // copied into a second vector to be sampled.
        let path = |i: usize| entries[i].path();
        let count = match size {
            Some(size) => lifeboat_core::sample::sample_count(entries.len(), size),
            None => entries.len(),
        };
        let mut chosen = lifeboat_core::sample::choose_by(entries.len(), path, count, seed);
        let (named, unlisted) = always_entries(&entries, always);
        let mut always_paths: Vec<String> = named.iter().map(|&i| path(i).to_owned()).collect();
        always_paths.sort_unstable();
        chosen.extend(named);
        // Path order, each entry once (a file the draw took and `always` names counts once).
        chosen
            .sort_unstable_by(|&a, &b| path(a).as_bytes().cmp(path(b).as_bytes()).then(a.cmp(&b)));
        chosen.dedup();
        let projection = projection::Input::new(&point.id, &entries, &chosen);
        let files = chosen
            .iter()
            .map(|&i| format.plan_file(&point, &manifest, &entries[i]))
            .collect();
        PointPlan {
            point,
            manifest,
            files,
            always: always_paths,
            unlisted,
            projection,
        }
    }

    /// Whether the file listed at `path` is verified because `sample.always` names it.
    pub fn is_always(&self, path: &str) -> bool {
        self.always
            .binary_search_by(|p| p.as_str().cmp(path))
            .is_ok()
    }

    /// Why the point fails before anything is restored, when `sample.always` names files it
    /// does not list: a step that reads such a file could not pass, and a backup that lost
    /// it is not a recovery point to count on. `None` when it lists them all.
    pub fn unlisted_reason(&self) -> Option<String> {
        let manifest = &self.manifest.path;
        match self.unlisted.as_slice() {
            [] => None,
            [one] => Some(format!(
                "sample.always names {one}, which manifest {manifest} does not list"
            )),
            many => Some(format!(
                "sample.always names {} files manifest {manifest} does not list: {}",
                many.len(),
                many.join(", ")
            )),
        }
    }
}

/// The indexes into `entries` of those `always` names, and the `always` paths no entry has
/// (in `always` order). Paths are compared as the restore writes them
/// ([`lifeboat_core::manifest::safe_components`] joined with `/`); an entry that could not be
/// restored at all matches nothing.
fn always_entries<E: Entry>(entries: &[E], always: &[String]) -> (Vec<usize>, Vec<String>) {
    if always.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let wanted: std::collections::HashSet<&str> = always.iter().map(String::as_str).collect();
    let mut found = std::collections::HashSet::new();
    let mut named = Vec::new();
    for (i, path) in entries.iter().map(Entry::path).enumerate() {
        // A restic snapshot's own paths are absolute (`/srv/app/a.txt`, as `restic ls` prints
        // them), and `always` names them so; the rest is normalised as any entry's.
        let (root, rel) = match path.strip_prefix('/') {
            Some(rel) => ("/", rel),
            None => ("", path),
        };
        let Ok(parts) = lifeboat_core::manifest::safe_components(rel) else {
            continue;
        };
        let written = format!("{root}{}", parts.join("/"));
        if let Some(&w) = wanted.get(written.as_str()) {
            found.insert(w);
            named.push(i);
        }
    }
    let unlisted = always
        .iter()
        .filter(|p| !found.contains(p.as_str()))
        .cloned()
        .collect();
    (named, unlisted)
}

#[cfg(test)]
mod tests;
