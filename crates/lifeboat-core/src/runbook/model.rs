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
    pub name: String,
    pub description: Option<String>,
    pub objectives: Objectives,
    pub source: SourceSpec,
    pub recovery_points: RecoveryPointsSpec,
    pub manifest: ManifestSpec,
    /// `None`: verify every file of the manifest.
    pub sample: Option<SampleSpec>,
    pub scratch: ScratchSpec,
    /// Stream and hash without writing restored files (`verify_only: true`).
    pub verify_only: bool,
    pub schedule: Option<ScheduleSpec>,
    /// Never empty: defaults to a single `restore` step.
    pub steps: Vec<Step>,
    pub finally: Vec<Step>,
    pub notify: Vec<NotifySpec>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objectives {
    pub rto: Option<Duration>,
    pub rpo: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// The URL as written, e.g. `file:///srv/backups/payments`, `s3://bucket/prefix`.
    pub url: String,
    pub kind: SourceKind,
    /// Storage settings with `${VAR}` already resolved from the environment given to
    /// [`parse`](super::parse). Values may be secrets: never log or record them.
    pub options: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    File,
    S3,
    Azure,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryPointsSpec {
    pub time: PointTime,
    pub select: Select,
    /// Ignore points older than this, counted back from T0.
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PointTime {
    /// Last-modified time of the point's manifest object.
    Modified,
    /// Parsed from the point's name with this strftime format (UTC). `None`: RFC 3339.
    Name { format: Option<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    Latest,
    All,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ManifestSpec {
    /// Relative to each recovery point; `/`-separated, no `..`.
    pub path: String,
    pub format: ManifestFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestFormat {
    Sha256sum,
    B3sum,
}

impl ManifestFormat {
    pub fn algorithm(self) -> Algorithm {
        match self {
            ManifestFormat::Sha256sum => Algorithm::Sha256,
            ManifestFormat::B3sum => Algorithm::Blake3,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SampleSpec {
    pub size: SampleSize,
    /// `None`: the drill picks a random seed and records it.
    pub seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SampleSize {
    Files(u64),
    /// In (0, 100].
    Percent(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchSpec {
    pub keep: Keep,
    pub sync: ScratchSync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Never,
    OnFailure,
    Always,
}

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
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::None => "none",
            CatchUp::Latest => "latest",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub name: Option<String>,
    pub timeout: Option<Duration>,
    pub kind: StepKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Restore,
    Run {
        /// Either an argv (`run: [...]`) or a shell string (`shell: "..."`, run with `sh -c`).
        command: Command,
        expect_exit: i32,
        expect_stdout: Option<String>,
        /// `env:` variables set for the command, in runbook order.
        env: Vec<EnvVar>,
    },
    Http {
        /// The URL with `${VAR}` resolved. May hold a secret: never log or record it.
        url: String,
        /// The URL as written (`${VAR}` unresolved): what messages and evidence show.
        url_template: String,
        method: String,
        expect_status: u16,
        expect_body: Option<String>,
        retries: u32,
        interval: Duration,
    },
    Approve {
        prompt: String,
        /// What an unattended drill (no `--interactive`, or `lifeboat schedule`) does with
        /// this step; `None`: it needs an operator, and only a manual drill may run it.
        unattended: Option<Unattended>,
        /// Where the step's `approve` key is, to point at it when a drill refuses to run it.
        at: Position,
    },
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
    pub line: u32,
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
    pub name: String,
    /// With `${VAR}` resolved from lifeboat's environment. May hold a secret: never log or
    /// record it. `{scratch}` and `{recovery_point}` are substituted when the step runs.
    pub value: String,
    /// The value as written (`${VAR}` unresolved): what evidence records.
    pub template: String,
}

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
