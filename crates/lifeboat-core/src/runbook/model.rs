//! The validated runbook: what every other part of lifeboat is handed once a runbook file
//! has been read and checked. Built only by [`super::validate`]; every value here already
//! obeys the rules of runbook format version 1.

use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::vocabulary::ScratchSync;
use crate::vocabulary::{Algorithm, Outcome};

/// A validated runbook. Every field is already checked; defaults are filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Runbook {
    /// `name`: names the evidence folder; `[a-z0-9][a-z0-9._-]{0,62}`.
    pub name: String,
    /// `description`, as written.
    pub description: Option<String>,
    /// `objectives`: the RTO and RPO the drill is measured against.
    pub objectives: Objectives,
    /// `source`: where the recovery points are.
    pub source: SourceSpec,
    /// `source.format`: what the source holds (folders with a manifest, or a restic
    /// repository).
    pub format: SourceFormat,
    /// `recovery_points`: which points a drill tries, and their times.
    pub recovery_points: RecoveryPointsSpec,
    /// `manifest`: the file each point lists its files and digests in. With
    /// `source.format: restic` the manifest is optional and lives in
    /// [`ResticSpec::manifest`]; this is then the unused default.
    pub manifest: ManifestSpec,
    /// `None`: verify every file of the manifest.
    pub sample: Option<SampleSpec>,
    /// `scratch`: what happens to the restored files.
    pub scratch: ScratchSpec,
    /// Stream and hash without writing restored files (`verify_only: true`).
    pub verify_only: bool,
    /// `schedule` with `timezone` and the other scheduling keys; `None`: drilled only by hand.
    pub schedule: Option<ScheduleSpec>,
    /// `runners`: the labels a `lifeboat schedule` runner must carry (`--labels`) to drill
    /// it; empty: any runner.
    pub runners: crate::placement::Labels,
    /// Never empty: defaults to a single `restore` step.
    pub steps: Vec<Step>,
    /// `finally`: steps that always run after the recovery points, even after a failure.
    pub finally: Vec<Step>,
    /// `notify`: webhooks told of the outcome.
    pub notify: Vec<NotifySpec>,
    /// `coverage`: every stored object verified within a window, a share per drill; `None`:
    /// no coverage phase.
    pub coverage: Option<CoverageSpec>,
}

/// `coverage`: after its restore test, a drill verifies (reads and hashes, writes nothing)
/// enough stored objects of every retained recovery point that each is verified at least
/// once per `within`, at the rate drills run.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageSpec {
    /// `within`: every object verified at least once in this long.
    pub within: Duration,
    /// `budget`: at most this many bytes read by one drill's coverage phase; `None`: as
    /// much as the pace needs.
    pub budget: Option<u64>,
}

/// `objectives`: a drill fails when a measured value is over its objective.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objectives {
    /// `rto`: the longest a restore may take; `None`: not checked.
    pub rto: Option<Duration>,
    /// `rpo`: the most data, as time before T0, a restore may lose; `None`: not checked.
    pub rpo: Option<Duration>,
}

/// `source`: where the recovery points are, and how to reach them.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// The URL as written, e.g. `file:///srv/backups/payments`, `s3://bucket/prefix`.
    pub url: String,
    /// Which backend `url` names.
    pub kind: SourceKind,
    /// Storage settings with `${VAR}` already resolved from the environment given to
    /// [`parse`](super::parse). Values may be secrets: never log or record them.
    pub options: BTreeMap<String, String>,
}

/// `source.format`: what the source holds.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceFormat {
    /// `files` (the default): recovery points are folders holding a manifest.
    Files,
    /// `restic`: a restic repository; its snapshots are the recovery points.
    Restic(ResticSpec),
}

/// `source.restic` (with `manifest`, optional for restic).
#[derive(Clone, Debug, PartialEq)]
pub struct ResticSpec {
    /// `password` or `password_file`: exactly one.
    pub password: ResticPassword,
    /// `host`: only snapshots of this host.
    pub host: Option<String>,
    /// `paths`: only snapshots that backed up every one of these paths.
    pub paths: Vec<String>,
    /// `tags`: only snapshots carrying every one of these tags.
    pub tags: Vec<String>,
    /// `manifest`: a manifest file inside each snapshot, its `path` absolute as `restic ls`
    /// lists it (`/srv/app/SHA256SUMS`); its entries are relative to its folder.
    pub manifest: Option<ManifestSpec>,
}

/// Where a restic repository's password comes from. Its `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub enum ResticPassword {
    /// `password`, with `${VAR}` resolved: a secret, never printed, logged or recorded.
    Value(String),
    /// `password_file`: an absolute path, read when the drill opens the repository (its
    /// first line, without the line ending, as restic reads `--password-file`).
    File(std::path::PathBuf),
}

impl std::fmt::Debug for ResticPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResticPassword::Value(_) => f.write_str("Value(<redacted>)"),
            ResticPassword::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// The storage backend a source URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// `file://`: a folder on this host.
    File,
    /// `s3://`: an S3 bucket (or an S3-compatible store).
    S3,
    /// `az://` (or `azure://`): an Azure Blob Storage container.
    Azure,
}

/// `recovery_points`: which points a drill tries, and where their times come from.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryPointsSpec {
    /// `time`: where a point's time comes from.
    pub time: PointTime,
    /// `select`: which points a drill tries.
    pub select: Select,
    /// Ignore points older than this, counted back from T0.
    pub within: Option<Duration>,
}

/// `recovery_points.time`: where a point's time comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PointTime {
    /// `time: modified`: the last-modified time of the point's manifest object (the default).
    Modified,
    /// `time: name`: parsed from the point's name, in UTC unless the format holds an offset.
    Name {
        /// `time_format`, a strftime format; `None`: RFC 3339.
        format: Option<String>,
    },
}

/// `recovery_points.select`: which points a drill tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// The newest point; when it fails, the next older one, until one passes (the default).
    Latest,
    /// Every point in the window, newest first.
    All,
}

/// `manifest`: the file each point lists its files and digests in.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestSpec {
    /// Relative to each recovery point; `/`-separated, no `..`.
    pub path: String,
    /// `format`: how its lines are written, and so which digest they hold.
    pub format: ManifestFormat,
}

/// `manifest.format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestFormat {
    /// `sha256sum` lines: SHA-256 digests.
    Sha256sum,
    /// `b3sum` lines: BLAKE3 digests.
    B3sum,
    /// `pg_backup_manifest`: a PostgreSQL base backup's JSON `backup_manifest`, a size and a
    /// checksum (its own algorithm) per file ([`crate::manifest::pg`]).
    PgBackupManifest,
}

impl ManifestFormat {
    /// The algorithm the evidence's `manifest.algorithm` records: the digest every line
    /// holds for `sha256sum` and `b3sum`; for `pg_backup_manifest`, SHA-256, the manifest's
    /// own `Manifest-Checksum` (each file names its own algorithm there).
    pub fn algorithm(self) -> Algorithm {
        match self {
            ManifestFormat::Sha256sum | ManifestFormat::PgBackupManifest => Algorithm::Sha256,
            ManifestFormat::B3sum => Algorithm::Blake3,
        }
    }
}

/// `sample`: how many files of the manifest a drill verifies.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSpec {
    /// `files` or `percent`.
    pub size: SampleSize,
    /// `None`: the drill picks a random seed and records it.
    pub seed: Option<u64>,
    /// `always`: files verified in every drill on top of the sample, as the runbook lists
    /// them: relative to the recovery point, `/`-separated, no `.`, `..` or empty segment,
    /// each once. A path the point's manifest does not list fails the point.
    pub always: Vec<String>,
}

/// How many files a sample takes (see [`crate::sample::sample_count`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SampleSize {
    /// `files: N`: at most N files, N ≥ 1.
    Files(u64),
    /// In (0, 100].
    Percent(f64),
}

/// `scratch`: what happens to the restored files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchSpec {
    /// `keep`: whether the scratch folder is kept after the drill.
    pub keep: Keep,
    /// `sync`: when restored bytes are flushed to disk.
    pub sync: ScratchSync,
}

/// `scratch.keep`: whether the scratch folder outlives the drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Removed after every drill (the default).
    Never,
    /// Kept when the drill did not pass, for a person to look at.
    OnFailure,
    /// Always kept.
    Always,
}

/// `schedule` and the keys that go with it: when `lifeboat schedule` runs the drill.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleSpec {
    /// The cron expression as written (5 fields, or 6 with seconds); already checked to parse.
    pub cron: String,
    /// IANA zone name; already checked to exist. Default `UTC`.
    pub timezone: String,
    /// What to do about slots that passed while the scheduler was not running.
    pub catch_up: CatchUp,
    /// How late after its slot time a drill may still start; a slot not started within it is
    /// recorded as missed. Default [`DEFAULT_START_WINDOW`].
    pub start_window: Duration,
    /// Each slot's drill starts up to this much after the slot time (a fixed delay per
    /// runbook and slot, so drills due at one time do not all hit storage at once); zero:
    /// on time. Always shorter than `start_window`.
    pub jitter: Duration,
}

/// `start_window` when the runbook sets none.
pub const DEFAULT_START_WINDOW: Duration = Duration::from_secs(3600);

/// The `catch_up` policy: what `lifeboat schedule` does, when it starts, about slots that
/// passed while it was not running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatchUp {
    /// Record every such slot as missed; the next drill is the next slot (default).
    #[default]
    None,
    /// Run the newest such slot at once if it is still within its `start_window`; record the
    /// older ones as missed.
    Latest,
}

impl CatchUp {
    /// The policy as runbooks write it: `none` or `latest`.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::None => "none",
            CatchUp::Latest => "latest",
        }
    }
}

/// One item of `steps` or `finally`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `name`: shown in reports and the evidence.
    pub name: Option<String>,
    /// `timeout`: how long the step may take before it fails; `None`: the kind's own default,
    /// if it has one (10m for `run` and `shell`).
    pub timeout: Option<Duration>,
    /// What the step does: its one kind key and that kind's settings.
    pub kind: StepKind,
    /// `fallback` (`run`, `shell` and `http` steps in `steps` only): whether the step's
    /// failure sends the drill to the next older recovery point. `None`: as its text says
    /// (see [`verdict::after_failure`](crate::verdict::after_failure)).
    pub fallback: Option<bool>,
}

/// What a step does: the kind key it sets, with that kind's settings.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// `restore: {}`: restore and verify the sample (exactly once, in `steps`).
    Restore,
    /// `run: [...]` or `shell: "..."`: a command in the point's scratch folder.
    Run {
        /// Either an argv (`run: [...]`) or a shell string (`shell: "..."`, run with `sh -c`).
        command: Command,
        /// `expect_exit`: the exit code the command must end with (default 0).
        expect_exit: i32,
        /// `expect_stdout`: text the command's standard output must contain.
        expect_stdout: Option<String>,
        /// `env:` variables set for the command, in runbook order.
        env: Vec<EnvVar>,
    },
    /// `http: {...}`: a request, retried until its answer is as expected.
    Http {
        /// The URL with `${VAR}` resolved. May hold a secret: never log or record it.
        url: String,
        /// The URL as written (`${VAR}` unresolved): what messages and evidence show.
        url_template: String,
        /// `method`, upper case (default `GET`).
        method: String,
        /// `expect_status`: the status the answer must have (default 200).
        expect_status: u16,
        /// `expect_body`: text the answer's body must contain.
        expect_body: Option<String>,
        /// `retries`: further attempts after a failed one (default 0).
        retries: u32,
        /// `interval`: the wait between attempts (default 1s).
        interval: Duration,
    },
    /// `approve: "..."`: a question an operator must confirm.
    Approve {
        /// The question, as written.
        prompt: String,
        /// What an unattended drill (no `--interactive`, or `lifeboat schedule`) does with
        /// this step; `None`: it needs an operator, and only a manual drill may run it.
        unattended: Option<Unattended>,
        /// Where the step's `approve` key is, to point at it when a drill refuses to run it.
        at: Position,
    },
    /// `wait: DURATION`: a pause, e.g. for a service to settle.
    Wait(Duration),
}

impl StepKind {
    /// The kind's name as runbooks and evidence write it (`shell` steps are `run`).
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Restore => "restore",
            StepKind::Run { .. } => "run",
            StepKind::Http { .. } => "http",
            StepKind::Approve { .. } => "approve",
            StepKind::Wait(_) => "wait",
        }
    }
}

/// `unattended:` of an `approve` step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unattended {
    /// Recorded as passed, answered by nobody.
    Pass,
    /// Recorded as failed: nobody was there to confirm.
    Fail,
}

impl Unattended {
    /// The setting as runbooks write it: `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unattended::Pass => "pass",
            Unattended::Fail => "fail",
        }
    }
}

/// A 1-based line and column in the runbook file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Runbook {
    /// Every `approve` step (in `steps` and `finally`) that has no `unattended` setting, with
    /// its key path: a drill without an operator cannot run them.
    pub fn approvals_needing_operator(&self) -> Vec<(String, Position)> {
        let mut out = Vec::new();
        for (section, steps) in [("steps", &self.steps), ("finally", &self.finally)] {
            for (i, step) in steps.iter().enumerate() {
                if let StepKind::Approve {
                    unattended: None,
                    at,
                    ..
                } = &step.kind
                {
                    out.push((format!("{section}[{i}].approve"), *at));
                }
            }
        }
        out
    }
}

/// One `env:` entry of a `run` or `shell` step.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    /// The variable's name: letters, digits and `_`, not starting with a digit.
    pub name: String,
    /// With `${VAR}` resolved from lifeboat's environment. May hold a secret: never log or
    /// record it. `{scratch}` and `{recovery_point}` are substituted when the step runs.
    pub value: String,
    /// The value as written (`${VAR}` unresolved): what evidence records.
    pub template: String,
}

/// The command of a `run` or `shell` step.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `run:`: the program and its arguments; a placeholder's value is substituted into its
    /// argument as it is (no shell reads it).
    Argv(Vec<String>),
    /// `shell:`, run with `sh -c`.
    Shell {
        /// The line as the runbook writes it.
        text: String,
        /// What `sh -c` runs: `text` with each placeholder written as a quoted reference to
        /// its variable (`"${LIFEBOAT_SCRATCH}"`), never its value; see
        /// [`shell_script`](super::placeholder::shell_script).
        script: String,
    },
}

/// One `notify` entry: a webhook told of the drill's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifySpec {
    /// The URL with `${VAR}` resolved. Usually holds a token: never log or record it.
    pub webhook: String,
    /// The URL as written. Recorded only when it takes its secret part from `${VAR}`.
    pub webhook_template: String,
    /// Outcomes to notify on: any of `passed`, `failed`, `error`. Default: failed, error.
    pub on: Vec<Outcome>,
}

/// How `schedule` is read: POSIX cron, 5 fields, or 6 with seconds first; no year field.
pub(super) fn cron_parser() -> croner::parser::CronParser {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .year(croner::parser::Year::Disallowed)
        .build()
}

impl ScheduleSpec {
    /// The cron expression, parsed exactly as validation parsed it.
    pub fn to_cron(&self) -> Result<croner::Cron, String> {
        cron_parser()
            .parse(&self.cron)
            .map_err(|e| format!("invalid cron expression \"{}\": {e}", self.cron))
    }

    /// The schedule's time zone.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, String> {
        jiff::tz::TimeZone::get(&self.timezone)
            .map_err(|e| format!("unknown time zone \"{}\": {e}", self.timezone))
    }
}
