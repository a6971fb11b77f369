//! Which failures send a drill to an older recovery point ([`after_failure`]).
//!
//! Falling back answers one question: is an older point good where this one was not? Only a
//! failure that says something about *this point's data* asks it. A failed restore does, and
//! so does a failed step that reads the restored files or acts on the point. An operator who
//! stops a manual drill, a refused or failed `approve` (a person's answer, or `unattended:
//! fail`), a `wait` that timed out, and a step that names no restored data (DNS not
//! switched, a standby that does not answer) say nothing about the backup: an older point
//! would fail the same way or ask the same question again, and the drill would end in "no
//! recovery point passed" — a false statement about a backup nobody found wanting. Such a
//! failure stops the drill where it happened.
//!
//! A step "names the restored data" when its text holds `{scratch}` or `{recovery_point}`, or
//! their variables `LIFEBOAT_SCRATCH` / `LIFEBOAT_RECOVERY_POINT`: in a `run` argument, the
//! `shell` line, an `env` value or the `http` URL, as written. The text cannot see everything
//! (a `run` step reads its working folder, which is `{scratch}`, by relative paths; a health
//! probe checks a service started on the restored files), so a runbook says it outright with
//! `fallback: true` or `fallback: false` on a `run`, `shell` or `http` step.

use crate::runbook::placeholder::{self, Placeholder};
use crate::runbook::{Command, Step, StepKind};

/// Where a drill goes after a failure at a recovery point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// The failure may be the point's data: the drill tries the next older point (with
    /// `select: latest`; `select: all` tries every point anyway).
    FallBack,
    /// The failure says nothing about the backup: the drill tries no further point.
    Stop(NoFallback),
}

/// Why a failure at a recovery point sends the drill to no older point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoFallback {
    /// The operator of a manual drill chose not to go on, or the terminal closed.
    Operator,
    /// An `approve` step failed: answered no, `unattended: fail`, no answer, or timed out.
    Approval,
    /// A `wait` step failed: its `timeout` is shorter than the wait.
    Wait,
    /// A `run`, `shell` or `http` step that names neither `{scratch}` nor `{recovery_point}`
    /// failed.
    NamesNoData,
    /// A step the runbook marks `fallback: false` failed.
    Runbook,
}

impl NoFallback {
    /// Why, in words that go before ", so no older recovery point was tried".
    pub fn why(self) -> &'static str {
        match self {
            NoFallback::Operator => "the operator chose not to go on",
            NoFallback::Approval => "an approval says nothing about the backup",
            NoFallback::Wait => "a wait says nothing about the backup",
            NoFallback::NamesNoData => {
                "a step that names neither {scratch} nor {recovery_point} says nothing about the \
                 backup"
            }
            NoFallback::Runbook => "the step is marked `fallback: false`",
        }
    }
}

/// Where the drill goes when `step`, in `steps`, failed at a recovery point: the runbook's
/// `fallback` when it sets one, else by the step's kind and text (see the module).
pub fn after_failure(step: &Step) -> AfterFailure {
    match (step.fallback, &step.kind) {
        (_, StepKind::Restore) => AfterFailure::FallBack,
        (_, StepKind::Approve { .. }) => AfterFailure::Stop(NoFallback::Approval),
        (_, StepKind::Wait(_)) => AfterFailure::Stop(NoFallback::Wait),
        (Some(true), _) => AfterFailure::FallBack,
        (Some(false), _) => AfterFailure::Stop(NoFallback::Runbook),
        (None, kind) if names_restored_data(kind) => AfterFailure::FallBack,
        (None, _) => AfterFailure::Stop(NoFallback::NamesNoData),
    }
}

/// Whether the step's text, as written, names the point's restored files or its id.
fn names_restored_data(kind: &StepKind) -> bool {
    let names = |text: &str| {
        !placeholder::find(text).is_empty()
            || Placeholder::ALL.iter().any(|p| text.contains(p.var()))
    };
    match kind {
        StepKind::Run { command, env, .. } => {
            let command = match command {
                Command::Argv(argv) => argv.iter().any(|a| names(a)),
                Command::Shell { text, .. } => names(text),
            };
            command || env.iter().any(|v| names(&v.template))
        }
        StepKind::Http { url_template, .. } => names(url_template),
        StepKind::Restore | StepKind::Approve { .. } | StepKind::Wait(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runbook::{EnvVar, Position};

    fn step(kind: StepKind, fallback: Option<bool>) -> Step {
        Step {
            name: None,
            timeout: None,
            kind,
            fallback,
        }
    }

    fn argv(args: &[&str]) -> StepKind {
        run(
            Command::Argv(args.iter().map(|a| (*a).to_owned()).collect()),
            &[],
        )
    }

    fn shell(text: &str) -> StepKind {
        run(
            Command::Shell {
                text: text.to_owned(),
                script: String::new(),
            },
            &[],
        )
    }

    fn run(command: Command, env: &[&str]) -> StepKind {
        StepKind::Run {
            command,
            expect_exit: 0,
            expect_stdout: None,
            env: env
                .iter()
                .map(|t| EnvVar {
                    name: "V".to_owned(),
                    value: (*t).to_owned(),
                    template: (*t).to_owned(),
                })
                .collect(),
        }
    }

    fn http(url: &str) -> StepKind {
        StepKind::Http {
            url: url.to_owned(),
            url_template: url.to_owned(),
            method: "GET".to_owned(),
            expect_status: 200,
            expect_body: None,
            retries: 0,
            interval: Duration::from_secs(1),
        }
    }

    fn approve() -> StepKind {
        StepKind::Approve {
            prompt: "DNS switched?".to_owned(),
            unattended: None,
            at: Position { line: 1, column: 1 },
        }
    }

    #[test]
    fn a_failed_restore_falls_back() {
        assert_eq!(
            after_failure(&step(StepKind::Restore, None)),
            AfterFailure::FallBack
        );
    }

    #[test]
    fn approvals_and_waits_never_fall_back() {
        assert_eq!(
            after_failure(&step(approve(), None)),
            AfterFailure::Stop(NoFallback::Approval)
        );
        assert_eq!(
            after_failure(&step(StepKind::Wait(Duration::from_secs(5)), None)),
            AfterFailure::Stop(NoFallback::Wait)
        );
    }

    #[test]
    fn a_step_that_names_the_restored_data_falls_back() {
        for kind in [
            argv(&["sqlite3", "{scratch}/app.db", "PRAGMA integrity_check"]),
            argv(&["systemctl", "start", "shop@{recovery_point}"]),
            argv(&["sh", "-c", "cat \"$LIFEBOAT_SCRATCH/x\""]),
            shell("zcat {scratch}/db/dump.sql | head"),
            shell("test -s \"${LIFEBOAT_SCRATCH}/db/dump.sql\""),
            shell("echo $LIFEBOAT_RECOVERY_POINT"),
            run(
                Command::Argv(vec!["check-db".to_owned()]),
                &["{scratch}/db"],
            ),
            http("http://127.0.0.1:8080/points/{recovery_point}"),
        ] {
            assert_eq!(
                after_failure(&step(kind.clone(), None)),
                AfterFailure::FallBack,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_step_that_names_no_restored_data_stops_the_drill() {
        for kind in [
            argv(&["false"]),
            argv(&["dig", "+short", "shop.example.com"]),
            shell("curl -fsS https://shop.example.com/health"),
            // The shell's own `${scratch}` is not the placeholder.
            shell("echo ${scratch}"),
            run(Command::Argv(vec!["check".to_owned()]), &["${DB_PASSWORD}"]),
            http("http://127.0.0.1:8080/health"),
        ] {
            assert_eq!(
                after_failure(&step(kind.clone(), None)),
                AfterFailure::Stop(NoFallback::NamesNoData),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_runbook_decides_where_it_says_so() {
        assert_eq!(
            after_failure(&step(argv(&["check-db", "app.db"]), Some(true))),
            AfterFailure::FallBack
        );
        assert_eq!(
            after_failure(&step(http("http://127.0.0.1:8080/health"), Some(true))),
            AfterFailure::FallBack
        );
        assert_eq!(
            after_failure(&step(argv(&["stop", "shop@{recovery_point}"]), Some(false))),
            AfterFailure::Stop(NoFallback::Runbook)
        );
    }
}
