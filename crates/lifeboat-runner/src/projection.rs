//! Projected full-restore time: how long restoring the *whole* recovery point would take at
//! the rate the sample was restored.
//!
//! Manifests hold no sizes, so the point's total comes from the best basis at hand: the sample
//! itself when it is every file; each file's stored size from the source format
//! ([`SourceFormat::stored_bytes`]) when the manifest is small enough to ask about every entry
//! ([`PROJECTION_HEAD_LIMIT`]); otherwise the sample's mean object size times the number of
//! entries; a format that knows the whole point's size at once says so
//! ([`SourceFormat::point_bytes`]: a restic snapshot's summary or tree) and that is used,
//! whatever the number of entries. The evidence says which basis was used. This runs
//! after every measured step, so asking storage for sizes never counts toward measured RTO.

use lifeboat_core::evidence::{
    PROJECTION_HEAD_LIMIT, PointResult, Projected, ProjectionBasis, ProjectionSample,
};

use crate::format::{Candidate, Entry, SourceFormat};

/// What a projection needs from a point's manifest, kept after the entries are dropped.
#[derive(Debug)]
pub struct Input {
    /// The point's id.
    pub point: String,
    entries: u64,
    /// Paths of the entries not in the sample, when there are at most
    /// [`PROJECTION_HEAD_LIMIT`] entries; `None` above the limit.
    unsampled: Option<Vec<String>>,
}

impl Input {
    /// `entries`: every entry the point lists; `chosen`: indexes into `entries` of the
    /// sampled files.
    pub fn new<E: Entry>(point: &str, entries: &[E], chosen: &[usize]) -> Input {
        let unsampled = (entries.len() as u64 <= PROJECTION_HEAD_LIMIT).then(|| {
            let mut sampled = vec![false; entries.len()];
            for &i in chosen {
                sampled[i] = true;
            }
            entries
                .iter()
                .zip(sampled)
                .filter(|(_, s)| !s)
                .map(|(e, _)| e.path().to_owned())
                .collect()
        });
        Input {
            point: point.to_string(),
            entries: entries.len() as u64,
            unsampled,
        }
    }

    /// How many entries the point lists.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The paths not sampled, when the point lists at most [`PROJECTION_HEAD_LIMIT`]
    /// entries (their sizes are then asked for); `None` above it.
    pub fn unsampled(&self) -> Option<&[String]> {
        self.unsampled.as_deref()
    }
}

/// Projects `point`'s full-restore time; `None` when it restored no byte or took no time.
pub async fn project<F: SourceFormat>(
    format: &F,
    input: Input,
    point: &PointResult,
) -> Option<Projected> {
    let candidate = Candidate {
        id: point.id.clone(),
        time: point.time,
    };
    // A format that knows the whole point's size knows its plaintext (a restic snapshot):
    // the sample is then rated by the plaintext it restored, so both share one basis.
    let whole = format.point_bytes(&candidate).await;
    let restored: Vec<u64> = point
        .files
        .iter()
        .filter(|f| f.object_bytes.is_some())
        .map(|f| match whole {
            Some(_) => f.bytes,
            None => f.object_bytes.unwrap_or_default(),
        })
        .collect();
    let sample_bytes: u64 = restored.iter().sum();
    let sample_seconds: f64 = point
        .steps
        .iter()
        .filter(|s| s.kind == "restore")
        .map(|s| s.finished_at.duration_since(s.started_at).as_secs_f64())
        .sum();
    if restored.is_empty() || sample_bytes == 0 || sample_seconds <= 0.0 {
        return None;
    }
    let extrapolated = || {
        let mean = sample_bytes as f64 / restored.len() as f64;
        (
            (mean * input.entries as f64).round() as u64,
            ProjectionBasis::Extrapolated,
        )
    };
    let (total_bytes, basis) = match (whole, &input.unsampled) {
        (Some(whole), _) => whole,
        (None, unsampled) => match unsampled {
            Some(rest) if rest.is_empty() => (sample_bytes, ProjectionBasis::Sample),
            Some(rest) => match format.stored_bytes(&candidate, rest).await {
                Some(more) => (sample_bytes + more, ProjectionBasis::Storage),
                // Sizing is a courtesy: a storage error here must not change the verdict.
                None => extrapolated(),
            },
            None => extrapolated(),
        },
    };
    let bytes_per_second = sample_bytes as f64 / sample_seconds;
    Some(Projected {
        recovery_point: input.point,
        rto_seconds: round_ms(total_bytes as f64 / bytes_per_second),
        total_bytes,
        basis,
        entries: input.entries,
        sample: ProjectionSample {
            files: restored.len() as u64,
            bytes: sample_bytes,
            duration_seconds: sample_seconds,
        },
    })
}

fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
