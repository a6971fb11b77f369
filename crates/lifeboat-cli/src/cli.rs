//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0  done; for a drill: every sampled file restored and verified, every objective met
  1  a drill ran and failed (hash mismatch, missing object, unsafe path, missed objective...)
  2  invalid input (runbook or arguments); nothing was run or written
  3  the drill could not complete (storage unreachable, credentials refused, scratch full)

The runbook format is described in runbooks/README.md.";

/// The `--help` heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// Backup-verification and disaster-recovery drill runner.
///
/// lifeboat restores a seeded sample of files from a backup's recovery points into a scratch
/// area, verifies their hashes against the manifest the backup job published, measures RTO
/// and RPO against the runbook's objectives, and leaves an evidence record an auditor can read.
#[derive(Debug, Parser)]
#[command(name = "lifeboat", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). `LIFEBOAT_LOG` overrides it.
    // Global options go under their own heading, which clap shows after a command's own
    // options: `lifeboat drill --help` starts with what a drill takes, not with logging.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Log lines on stderr: `text` for people, or `json`, one object per line
    /// (`timestamp`, `level`, `message`, fields such as `runbook`) for log pipelines. With
    /// `json`, `drill` and `schedule` send their messages to stderr as JSON events too, and
    /// `drill` shows no progress bar; only the questions of `--interactive` stay plain text.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = LogFormat::Text,
        global = true,
        help_heading = GLOBAL
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate runbooks; print every problem as FILE:LINE:COLUMN: message.
    ///
    /// Takes runbook files, or folders whose *.yaml / *.yml files are read (not recursively),
    /// as `lifeboat schedule` does. A `${VAR}` naming a variable that is not set is a warning
    /// here, so runbooks can be linted without their secrets (a drill or the daemon still
    /// refuses it). Exits 0 when every runbook is valid, 2 otherwise. Nothing is run or
    /// written.
    ///
    /// Example: lifeboat validate /etc/lifeboat/runbooks
    Validate(ValidateArgs),
    /// Run one drill now and write its evidence.
    ///
    /// Lists the recovery points, reads the newest point's manifest, restores a seeded sample
    /// of its files into the scratch area and verifies their hashes; falls back to older points
    /// when it fails on its data (`select: latest`). With `source.format: restic` the points
    /// are the repository's snapshots, and every chunk of each sampled file is read from its
    /// pack, decrypted and checked against its id, as are the snapshot and the trees on the
    /// file's path; with `manifest`, the file is also checked against the manifest inside the
    /// snapshot (no `restic` needed). An operator's stop, a failed `approve` or
    /// `wait`, or a failed step that names neither {scratch} nor {recovery_point} stops the
    /// drill there instead (`fallback: true|false` on a step overrides). The summary names a
    /// scratch folder `scratch.keep` kept. The last line on stdout is the path of the run's
    /// evidence.json.
    ///
    /// Example: lifeboat drill runbooks/nightly-files.yaml --evidence-dir /var/lib/lifeboat/evidence
    Drill(DrillArgs),
    /// Show what a drill would do, without doing it: points, the first one tried, its files.
    ///
    /// Lists the recovery points the source holds (id, time, and whether each is in the
    /// drill's window or why not), what discovery passed over, the point a drill would try
    /// first (and, where it would fail before restoring anything, why and the next one), the
    /// files its sample would verify (`sample.always` ones marked) and the steps that would
    /// follow. Reads the source's listing and the manifests it reaches, exactly as a drill at
    /// the same T0 with the same seed would; writes nothing: no scratch folder, no evidence,
    /// no history. Exits 0 when it could tell, 2 on an invalid runbook, 3 when the source
    /// cannot be read.
    ///
    /// Example: lifeboat plan runbooks/nightly-files.yaml --now 2026-11-22T02:00:00Z --seed 42
    Plan(PlanArgs),
    /// Print (or write) a manifest of every file under DIR, in `sha256sum` / `b3sum` format.
    ///
    /// Run it from a backup job to publish the manifest lifeboat verifies against, once the
    /// point's files are written:
    ///
    ///   cd /srv/backup/2026-11-21T020000Z && lifeboat manifest . > SHA256SUMS
    ///
    ///   lifeboat manifest /srv/backup/2026-11-21T020000Z -o /srv/backup/2026-11-21T020000Z/SHA256SUMS
    ///
    /// Paths are relative to DIR, so `sha256sum -c` run inside DIR accepts the output. The
    /// manifest never lists itself: a regular file standard output (or error) is redirected
    /// to, the --output file and whatever --exclude names are left out. With
    /// --decompressed, each stored PATH.zst is listed as PATH with the digest of its
    /// decompressed bytes, the line a drill (which restores PATH.zst as PATH) checks.
    Manifest(ManifestArgs),
    /// Run the drills of scheduled runbooks on time, in the foreground (as under systemd).
    ///
    /// Reads every runbook given (files, or folders of *.yaml / *.yml) that has a `schedule`,
    /// and drills each one at its slots in its `timezone`. Every slot is recorded in the
    /// history store before its drill starts, so a restart never runs a slot twice; a slot due
    /// while the runbook's previous drill still runs is recorded as skipped-overlap (as missed,
    /// saying why, when that drill was only waiting for a --max-concurrent place). Runbooks
    /// with problems are reported and left out; the others run. SIGHUP re-reads the runbooks,
    /// keeping the last valid version of a file that became invalid. SIGTERM or SIGINT stops
    /// new starts and waits up to --grace for running drills; a second signal exits at once.
    ///
    /// Example: lifeboat schedule /etc/lifeboat/runbooks --evidence-dir /var/lib/lifeboat/evidence
    Schedule(ScheduleArgs),
    /// List the recorded drills and the scheduled slots that did not run, oldest first
    ///
    /// Every drill is recorded: `lifeboat drill` (unless --no-state) and each slot of
    /// `lifeboat schedule` that shares the store. The columns:
    ///
    ///   WHEN     when the drill started, or the slot's time for a slot that did not run
    ///            (UTC, whole seconds)
    ///   RUNBOOK  the runbook's `name`
    ///   MODE     automatic (`lifeboat drill`), manual (`drill --interactive`) or scheduled
    ///   RESULT   passed, failed or error for a drill; for a slot that did not run, what became
    ///            of it: missed, skipped-overlap, abandoned (or recorded / running while it
    ///            waits or runs)
    ///   RTO      the measured RTO: the drill's start until the last check of the recovery
    ///            point that passed ("—" when none passed)
    ///   RPO      the measured RPO: T0 minus the time of that recovery point
    ///   REASON   why the drill failed or could not complete, or why the slot did not run
    ///
    /// --json adds every field, the run id and the path of each run's evidence.json.
    ///
    /// Example: lifeboat history --runbook payments-files
    #[command(verbatim_doc_comment)]
    History(HistoryArgs),
    /// Each runbook's last outcome, last success, slots missed since, coverage and next slot
    ///
    /// One line per runbook found in the history store or given as PATH. The columns:
    ///
    ///   RUNBOOK      the runbook's `name`
    ///   LAST         the last drill's outcome: passed, failed, error, or "never run"
    ///   AT           when that drill started (UTC, whole seconds)
    ///   LAST PASSED  when the last drill that passed started, or "never"
    ///   MISSED       scheduled slots that did not run since that success (since the
    ///                runbook's first entry, if it never passed): the ones the history
    ///                records as missed, skipped-overlap or abandoned, and, for a runbook given
    ///                as PATH, the slots of its schedule whose start_window closed while no
    ///                scheduler sharing this store ran them; "N+" when there were more
    ///   COVERAGE     for a runbook with `coverage`, as its last drill with a coverage phase
    ///                left it: the share of stored objects verified within `coverage.within`
    ///                (rounded down: 100% only when every one is) and whether the drills keep
    ///                the pace ("87% on pace", "42% behind: full in 45 days" at the budget),
    ///                with ", N failed" when that drill found bad objects; "—" without coverage
    ///   NEXT         its next scheduled slot after --now (UTC), for a runbook given as PATH
    ///   SCHEDULE     its `schedule` and `timezone`, or "not scheduled"
    ///
    /// Give the daemon's --state to see its slots. --json prints the same as objects, with
    /// the last run's id, RTO, RPO and evidence path, and `coverage` (null without it): the
    /// ratio, pace, objects, verified within, never verified, oldest verification and
    /// objects failed, with the run they come from.
    ///
    /// Example: lifeboat status --state /var/lib/lifeboat/state.db /etc/lifeboat/runbooks
    #[command(verbatim_doc_comment)]
    Status(StatusArgs),
    /// Make a minisign key pair for signing evidence (`lifeboat drill --signing-key`).
    ///
    /// The secret key is encrypted with the password in $LIFEBOAT_KEY_PASSWORD (or the variable
    /// named by --key-password-env) unless --unencrypted is given. The public key is in
    /// minisign's format: `minisign -Vm evidence.json -p FILE` checks a record with it.
    Keygen(KeygenArgs),
    /// Check evidence: `lifeboat evidence verify DIR [--public-key FILE]`.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Write a report of every drill in an evidence folder over a period, for auditors.
    ///
    /// Per runbook: drills run, pass rate, measured RTO and RPO against the objectives (charts
    /// in HTML), every failure with its reason, the scheduled drills expected against those
    /// that ran and the ones that did not (with --state; "not scheduled" for a runbook with no
    /// slot), whether the runbook's file changed (and the first drill of each new text),
    /// sample coverage. Per drill: its run id linked to its report.html (relative to --out, so
    /// the report and the evidence folder can move together), mode and operator. For the
    /// folder: the evidence chain's status (as `evidence verify`); a section
    /// mapping the evidence to ISO/IEC 27001:2022 A.8.13, SOC 2 A1.3 and NIST SP 800-53 CP-4 /
    /// CP-9; and the SHA-256 of every record read. The format comes from --out's extension:
    /// .html, .md, .json or .csv. A drill belongs to the period when it started within it.
    ///
    /// Example: lifeboat report --evidence-dir ./evidence --from 2026-10-01 --to 2026-12-31 --out q4.html
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The evidence folder, or bucket (s3://BUCKET/PREFIX, az://CONTAINER/PREFIX): the
    /// drills' --evidence-dir.
    #[arg(long, value_name = "DIR|URL")]
    pub evidence_dir: PathBuf,

    /// First day of the period: YYYY-MM-DD (from 00:00 UTC), or an RFC 3339 instant.
    #[arg(long, value_name = "DATE")]
    pub from: String,

    /// Last day of the period, inclusive: YYYY-MM-DD (until 24:00 UTC), or an RFC 3339
    /// instant.
    #[arg(long, value_name = "DATE")]
    pub to: String,

    /// Only this runbook's drills (its `name`). A runbook with no drill in the folder at all
    /// is exit 2, naming the runbooks that have some (one with drills, none in the period,
    /// gets its report).
    #[arg(long, value_name = "NAME")]
    pub runbook: Option<String>,

    /// The report file; its extension picks the format: .html, .md, .json or .csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// The history store of `lifeboat schedule` (an SQLite file, or postgres://USER@HOST:PORT/DB
    /// as for `schedule --state`): its slots in the period are the drills the schedule
    /// expected, counted against those that ran; its missed, skipped and abandoned slots are
    /// listed as gaps. Without it, neither is checked and the report says so.
    #[arg(long, value_name = "FILE|URL")]
    pub state: Option<PathBuf>,

    /// The minisign public key the evidence must be signed with; without it the chain's
    /// hashes are checked but not the signatures.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
}

/// Where an encrypted secret key's password is read from.
pub const DEFAULT_PASSWORD_ENV: &str = "LIFEBOAT_KEY_PASSWORD";

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (created with mode 0600).
    #[arg(long, value_name = "FILE")]
    pub secret_key: PathBuf,

    /// Where to write the public key (minisign format).
    #[arg(long, value_name = "FILE")]
    pub public_key: PathBuf,

    /// The environment variable holding the password that encrypts the secret key.
    #[arg(long, value_name = "VAR", default_value = DEFAULT_PASSWORD_ENV)]
    pub key_password_env: String,

    /// Leave the secret key unencrypted (minisign's -W): anyone who can read the file can sign.
    #[arg(long)]
    pub unencrypted: bool,

    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check every record, signature and chain link of an evidence folder.
    ///
    /// Exits 0 when all are intact, 1 naming each record that was edited, deleted, reordered,
    /// re-signed with another key, or cut from the ledger's tail. Without --public-key only the
    /// hashes are checked, which anyone able to write the folder could recompute.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The evidence folder, or bucket (s3://BUCKET/PREFIX, az://CONTAINER/PREFIX): the
    /// drills' --evidence-dir. A bucket is also checked for names lifeboat never writes and,
    /// on S3, for any object with more than one version (a record overwritten).
    #[arg(value_name = "DIR|URL")]
    pub dir: PathBuf,

    /// The minisign public key every record and the ledger must be signed with.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
}

/// `--state FILE|URL`, shared by the commands that use the history store.
#[derive(Debug, Args)]
pub struct StateArg {
    /// The history store: an SQLite file, or a PostgreSQL database shared by several
    /// runners, postgres://USER@HOST:PORT/DB (or postgresql://; its schema is created on
    /// first use). The database's password comes from $PGPASSWORD or a passfile ($PGPASSFILE,
    /// else ~/.pgpass, mode 0600), never from the URL, which is refused with one; no TLS
    /// (sslmode=disable). Default: $XDG_DATA_HOME/lifeboat/state.db, else
    /// ~/.local/share/lifeboat/state.db.
    #[arg(long, value_name = "FILE|URL")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Runbook files, or folders whose *.yaml / *.yml files are read (not recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub state: StateArg,

    /// Where evidence is written: DIR/RUNBOOK_NAME/RUN_ID/evidence.json. Or an object store,
    /// s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (credentials and endpoint from the
    /// standard AWS_* / AZURE_* environment): every object is created, never overwritten,
    /// and the ledger's chain is shared safely by every runner writing there.
    #[arg(long, value_name = "DIR|URL", default_value = "./evidence")]
    pub evidence_dir: PathBuf,

    /// Put every object written to an s3:// --evidence-dir under S3 object lock, COMPLIANCE
    /// mode, for this long from its upload (e.g. 400d): nobody, the bucket's owner included,
    /// can delete or overwrite that version until then. The bucket must have object lock
    /// enabled. Refused with a folder or an az:// URL (an Azure container is made immutable
    /// by its own retention policy).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub evidence_retention: Option<std::time::Duration>,

    /// Where files are restored; a folder per run is made inside it. Default: the system
    /// temporary folder.
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,

    /// Drills running at once, across all runbooks. A due slot waits for a free place for at
    /// most its runbook's start_window, then is recorded as missed.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent: u32,

    /// On SIGTERM/SIGINT, how long running drills may take to finish before lifeboat exits
    /// without them (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub grace: std::time::Duration,

    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464): per runbook,
    /// the last outcome, last measured RTO and RPO, their objectives, the last success and
    /// the next slot.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Sign every drill's evidence.json and the evidence folder's ledger with this minisign
    /// secret key (read and decrypted once, at start). Default: the file
    /// $LIFEBOAT_SIGNING_KEY names, if set. Without a key, an evidence folder that holds
    /// signed records is refused (exit 2): unsigned records would break its signed chain.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,

    /// The environment variable holding the signing key's password, if it is encrypted.
    #[arg(long, value_name = "VAR", default_value = DEFAULT_PASSWORD_ENV)]
    pub key_password_env: String,

    /// This runner's name, kept in the history (`lifeboat history`) and in each record's
    /// `runner`: printable, at most 128 characters. Several runners sharing a PostgreSQL
    /// --state run each slot once; give each its own name. Default: HOSTNAME-PID.
    #[arg(long, value_name = "NAME", value_parser = parse_runner)]
    pub runner: Option<String>,

    /// How long this runner's claim on a running slot holds without a heartbeat (renewed
    /// every third of it, on the store's clock). A runner that dies or loses the store loses
    /// the slot this long after its last heartbeat; another runner then runs the slot again
    /// if it is still within its start_window, and only that run is recorded.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_lease)]
    pub lease: std::time::Duration,

    /// This runner's labels, KEY=VALUE,... (e.g. region=eu,net=dc1; a-z 0-9 _ . -): it claims
    /// only the slots of runbooks whose `runners:` pairs it carries every one of; a runbook
    /// without `runners:` is drilled by any runner.
    #[arg(long, value_name = "KEY=VALUE,...", value_parser = parse_labels, default_value = "")]
    pub labels: lifeboat_core::placement::Labels,
}

fn parse_runner(s: &str) -> Result<String, String> {
    lifeboat_scheduler::daemon::check_runner_name(s)?;
    Ok(s.to_owned())
}

fn parse_lease(s: &str) -> Result<std::time::Duration, String> {
    let d = lifeboat_core::duration::parse(s)?;
    if d < std::time::Duration::from_secs(1) {
        return Err("a lease shorter than 1s would lapse between heartbeats".into());
    }
    Ok(d)
}

fn parse_labels(s: &str) -> Result<lifeboat_core::placement::Labels, String> {
    lifeboat_core::placement::parse_labels(s)
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    lifeboat_core::duration::parse(s)
}

/// `--now`: an RFC 3339 instant, or a date alone, which is its midnight UTC (as `report
/// --from` reads a date). A time of day without an offset names no instant and is refused
/// with the forms that do, rather than guessed to be UTC or the machine's zone.
fn parse_now(s: &str) -> Result<jiff::Timestamp, String> {
    let date = s.len() == 10 && s.as_bytes()[4] == b'-';
    if date && let Ok(day) = s.parse::<jiff::civil::Date>() {
        return day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    s.parse::<jiff::Timestamp>().map_err(|_| {
        "expected an RFC 3339 instant such as 2026-11-22T02:00:00Z (or with an offset, \
         2026-11-22T03:00:00+01:00), or a date such as 2026-11-22 for its midnight UTC"
            .to_owned()
    })
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub state: StateArg,

    /// Only this runbook's entries (its `name`).
    #[arg(long, value_name = "NAME")]
    pub runbook: Option<String>,

    /// A JSON array of objects instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Runbook files or folders: adds their next scheduled slot, and lists them even before
    /// their first run.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub state: StateArg,

    /// The instant next slots are counted from: an RFC 3339 instant (2026-11-22T06:00:00Z)
    /// or a date (2026-11-22: its midnight UTC). Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    pub now: Option<jiff::Timestamp>,

    /// A JSON array of objects instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Runbook files (YAML), or folders whose *.yaml / *.yml files are read (not
    /// recursively, hidden files left out).
    #[arg(required = true, value_name = "PATH")]
    pub runbooks: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The runbook to run (YAML).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,

    /// Where evidence is written: DIR/RUNBOOK_NAME/RUN_ID/evidence.json. Or an object store,
    /// s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (credentials and endpoint from the
    /// standard AWS_* / AZURE_* environment): every object is created, never overwritten,
    /// and the ledger's chain is shared safely by every runner writing there.
    #[arg(long, value_name = "DIR|URL", default_value = "./evidence")]
    pub evidence_dir: PathBuf,

    /// Put every object written to an s3:// --evidence-dir under S3 object lock, COMPLIANCE
    /// mode, for this long from its upload (e.g. 400d): nobody, the bucket's owner included,
    /// can delete or overwrite that version until then. The bucket must have object lock
    /// enabled. Refused with a folder or an az:// URL (an Azure container is made immutable
    /// by its own retention policy).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub evidence_retention: Option<std::time::Duration>,

    /// Where files are restored; a folder per run is made inside it. Default: the system
    /// temporary folder.
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,

    /// Seed for the file sample, overriding the runbook's `sample.seed`. The same seed and
    /// manifest always select the same files.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// The simulated incident time T0 that RPO is measured from: an RFC 3339 instant
    /// (2026-11-22T06:00:00Z, 2026-11-22T07:00:00+01:00) or a date (2026-11-22: its midnight
    /// UTC). Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    pub now: Option<jiff::Timestamp>,

    /// Stream and hash without writing restored files to scratch (a cheaper nightly check).
    #[arg(long)]
    pub verify_only: bool,

    /// A manual drill: show each step (and each `finally` step) before it runs and ask on the
    /// terminal whether to go on (an `approve` step is asked only its own question, once);
    /// after each step show its result and time, and after each recovery point whether the
    /// drill falls back or stops, and why. Answers are read from stdin, one line each, and
    /// recorded in the evidence with the operator's name and the times. Needs --operator.
    #[arg(long, requires = "operator")]
    pub interactive: bool,

    /// Who runs the manual drill; recorded in the evidence as `operator`. Needs --interactive.
    #[arg(long, value_name = "NAME", requires = "interactive")]
    pub operator: Option<String>,

    /// Hashing jobs: files are verified about two per job at once, and at least 8 when only
    /// verifying local files, 16 when restoring, 32 from S3 or Azure. Default: one per core.
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub jobs: usize,

    /// No progress bar and no summary: print only the evidence path.
    #[arg(long, short)]
    pub quiet: bool,

    /// The history store the run is recorded in (SQLite), which `lifeboat history` and
    /// `lifeboat status` read. Default: the one `lifeboat schedule`, `history` and `status`
    /// use, $XDG_DATA_HOME/lifeboat/state.db, else ~/.local/share/lifeboat/state.db. A
    /// PostgreSQL store is postgres://USER@HOST:PORT/DB, as for `schedule --state`; one that
    /// cannot be reached is exit 3 with nothing run.
    #[arg(long, value_name = "FILE|URL", conflicts_with = "no_state")]
    pub state: Option<PathBuf>,

    /// Record the run in no history store (its evidence is written all the same).
    #[arg(long)]
    pub no_state: bool,

    /// Sign evidence.json and the evidence folder's ledger with this minisign secret key.
    /// Default: the file $LIFEBOAT_SIGNING_KEY names, if set. Without a key, an evidence
    /// folder that holds signed records is refused (exit 2, nothing run): an unsigned record
    /// would break its signed chain.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,

    /// The environment variable holding the signing key's password, if it is encrypted.
    #[arg(long, value_name = "VAR", default_value = DEFAULT_PASSWORD_ENV)]
    pub key_password_env: String,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The runbook to plan (YAML).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,

    /// Seed for the file sample, overriding the runbook's `sample.seed`, as `drill --seed`.
    /// Without either, one is drawn at random and shown.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// The T0 the window is counted back from, as `drill --now`: an RFC 3339 instant
    /// (2026-11-22T06:00:00Z) or a date (2026-11-22: its midnight UTC). Default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    pub now: Option<jiff::Timestamp>,

    /// The history store whose coverage ledger the next coverage phase is planned from
    /// (runbooks with `coverage`); default: the default store, as `drill` (a file, or
    /// postgres://USER@HOST:PORT/DB). Read, never written: a missing store plans a first
    /// phase.
    #[arg(long, value_name = "FILE|URL")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The folder to list, recursively (symlinks are not followed).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The digest algorithm: sha256 (sha256sum format) or blake3 (b3sum format).
    #[arg(long, short, value_enum, default_value = "sha256")]
    pub algorithm: AlgorithmArg,

    /// Write the manifest to FILE instead of standard output, atomically (a temporary file
    /// beside it, flushed, renamed over it: readers see the old manifest or the new one, and
    /// a link at FILE is replaced, never written through). FILE is never listed, even inside
    /// DIR.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Leave out what matches: a pattern over the paths relative to DIR (`*` and `?` within
    /// one folder, `**` across folders, `**/` any number of folders; a folder that matches is
    /// left out whole), or a file or folder named by its path from the current folder.
    /// Repeatable. E.g. --exclude SHA256SUMS --exclude '**/*.tmp' --exclude logs
    #[arg(long, value_name = "PATTERN_OR_PATH")]
    pub exclude: Vec<String>,

    /// List each stored PATH.zst as PATH, with the digest of its decompressed bytes (decoded
    /// as a drill's restore decodes it): the line a drill checks. A PATH.zst beside a stored
    /// PATH is listed as it is, since a drill reads PATH for PATH.
    #[arg(long)]
    pub decompressed: bool,

    /// Files hashed at once. Default: one per core.
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub jobs: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgorithmArg {
    Sha256,
    Blake3,
}

impl From<AlgorithmArg> for lifeboat_core::Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Sha256 => lifeboat_core::Algorithm::Sha256,
            AlgorithmArg::Blake3 => lifeboat_core::Algorithm::Blake3,
        }
    }
}

#[cfg(test)]
mod tests;
