//! The places a drill writes to — the scratch root, the evidence folder, the history store —
//! as the command line gives them (or their defaults), checked against each runbook's source
//! before anything runs: a drill must never write into the backup it checks (SECURITY.md,
//! class 9). The check itself is `lifeboat_runner::scratch::check_outside_source`; this
//! module knows which places a command has and which flag moves each.

use std::path::{Path, PathBuf};

use lifeboat_runner::scratch::{InsideSource, Place};

use crate::RunbookFile;

/// Where `lifeboat drill` or `lifeboat schedule` writes.
#[derive(Clone, Debug)]
pub struct Places {
    scratch_root: PathBuf,
    evidence_dir: PathBuf,
    state: Option<PathBuf>,
}

/// A place inside a runbook's source. The message names the runbook file, the place, what
/// lifeboat does about it, and (on a second line) the flag that moves the place.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {inside}; {consequence}\n  hint: {}", hint(inside))]
pub struct PlaceError {
    /// The runbook file, as the user gave it.
    pub file: String,
    pub inside: InsideSource,
    /// What lifeboat does about it: "nothing was run", "not scheduled", …
    pub consequence: &'static str,
}

impl Places {
    /// `scratch_dir`: `--scratch-dir`, default the temporary folder; `state`: the history
    /// store the command writes, if it is a local file.
    pub fn new(scratch_dir: Option<&Path>, evidence_dir: &Path, state: Option<&Path>) -> Self {
        Places {
            scratch_root: scratch_dir.map_or_else(std::env::temp_dir, Path::to_path_buf),
            evidence_dir: evidence_dir.to_path_buf(),
            state: state.map(Path::to_path_buf),
        }
    }

    /// The folder each run's scratch folder is made in.
    pub fn scratch_root(&self) -> &Path {
        &self.scratch_root
    }

    /// `Err` when one of the places lies inside the runbook's (local) source; `consequence`
    /// says what lifeboat does about it ("nothing was run").
    pub fn check(&self, file: &RunbookFile, consequence: &'static str) -> Result<(), PlaceError> {
        let mut places = vec![
            (Place::Scratch, self.scratch_root.as_path()),
            (Place::Evidence, self.evidence_dir.as_path()),
        ];
        if let Some(state) = &self.state {
            places.push((Place::State, state.as_path()));
        }
        lifeboat_runner::scratch::check_outside_source(&file.runbook.source, &places).map_err(
            |inside| PlaceError {
                file: file.path.clone(),
                inside,
                consequence,
            },
        )
    }
}

/// The flag that moves the place, and where it is by default.
fn hint(e: &InsideSource) -> String {
    let outside = e.source_dir.display();
    match e.place {
        Place::Scratch => format!(
            "pass --scratch-dir DIR outside {outside} (without it, files are restored under \
             the temporary folder, {}: $TMPDIR, else /tmp)",
            std::env::temp_dir().display()
        ),
        Place::Evidence => format!(
            "pass --evidence-dir DIR outside {outside} (without it, evidence goes to ./evidence \
             in the folder lifeboat is started from)"
        ),
        Place::State => format!(
            "pass --state FILE outside {outside} (without it, the history store is \
             $XDG_DATA_HOME/lifeboat/state.db, else ~/.local/share/lifeboat/state.db; \
             `lifeboat drill --no-state` records the run in none)"
        ),
    }
}
