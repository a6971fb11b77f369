//! `steps` and `finally`: what a drill does with each recovery point, and what it always does
//! after. Each step is a map with exactly one kind key; `run`/`shell` and `http` steps have
//! their own files.

use serde_saphyr::{Location, Spanned};

use super::check::Check;
use crate::runbook::model::{Position, Step, StepKind, Unattended};
use crate::runbook::raw::RawStep;
use crate::runbook::wording::backticked;

mod http;
mod run;

const STEP_KINDS: &str = "restore, run, shell, http, approve, wait";

pub(super) fn steps(c: &mut Check<'_>, raw: Option<&Spanned<Vec<Spanned<RawStep>>>>) -> Vec<Step> {
    let Some(raw) = raw else {
        return vec![Step {
            name: None,
            timeout: None,
            kind: StepKind::Restore,
            fallback: None,
        }];
    };
    let mut first_restore: Option<&Location> = None;
    for (i, step) in raw.value.iter().enumerate() {
        let Some(restore) = &step.value.restore else {
            continue;
        };
        match first_restore {
            None => first_restore = Some(&restore.referenced),
            Some(first) => c.at(
                restore,
                format!(
                    "steps[{i}].restore: `restore` appears more than once in `steps` (first at line {}, column {}): each recovery point is restored once",
                    first.line(),
                    first.column()
                ),
            ),
        }
    }
    if first_restore.is_none() {
        c.at(
            raw,
            "steps: no `restore` step: add `- restore: {}` where the sampled files should be restored and verified"
                .to_owned(),
        );
    }
    step_list(c, "steps", &raw.value)
}

pub(super) fn finally(
    c: &mut Check<'_>,
    raw: Option<&Spanned<Vec<Spanned<RawStep>>>>,
) -> Vec<Step> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    for (i, step) in raw.value.iter().enumerate() {
        if let Some(restore) = &step.value.restore {
            c.at(
                restore,
                format!(
                    "finally[{i}].restore: not allowed in `finally`: files are restored by the `restore` step in `steps`"
                ),
            );
        }
    }
    step_list(c, "finally", &raw.value)
}

fn step_list(c: &mut Check<'_>, section: &str, raw: &[Spanned<RawStep>]) -> Vec<Step> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, s)| step(c, &format!("{section}[{i}]"), s))
        .collect()
}

fn step(c: &mut Check<'_>, path: &str, raw: &Spanned<RawStep>) -> Option<Step> {
    let s = &raw.value;
    let present: Vec<&str> = [
        ("restore", s.restore.is_some()),
        ("run", s.run.is_some()),
        ("shell", s.shell.is_some()),
        ("http", s.http.is_some()),
        ("approve", s.approve.is_some()),
        ("wait", s.wait.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    // `Some(None)`: a timeout was written but is unusable (already reported).
    let timeout = s
        .timeout
        .as_ref()
        .map(|t| c.positive_duration(&format!("{path}.timeout"), t));
    let kind = match present.as_slice() {
        [] => {
            c.at(
                raw,
                format!("{path}: no step kind: expected exactly one of {STEP_KINDS}"),
            );
            None
        }
        [kind] => {
            if let Some(v) = &s.env
                && !matches!(*kind, "run" | "shell")
            {
                c.at(
                    v,
                    format!("{path}.env: only applies to `run` and `shell` steps, not `{kind}`"),
                );
            }
            for (key, value) in [
                ("expect_exit", &s.expect_exit),
                ("expect_stdout", &s.expect_stdout),
            ] {
                if let Some(v) = value
                    && !matches!(*kind, "run" | "shell")
                {
                    c.at(
                        v,
                        format!(
                            "{path}.{key}: only applies to `run` and `shell` steps, not `{kind}`"
                        ),
                    );
                }
            }
            if let Some(v) = &s.unattended
                && *kind != "approve"
            {
                c.at(
                    v,
                    format!("{path}.unattended: only applies to `approve` steps, not `{kind}`"),
                );
            }
            step_kind(c, path, s)
        }
        [rest @ .., last] => {
            c.at(
                raw,
                format!(
                    "{path}: sets {} and {}: expected exactly one of {STEP_KINDS}",
                    backticked(rest.iter().copied()),
                    backticked([*last])
                ),
            );
            None
        }
    };
    let fallback = s
        .fallback
        .as_ref()
        .map(|f| fallback(c, path, present.as_slice(), f));
    let timeout = match timeout {
        None => None,
        Some(t) => Some(t?),
    };
    let fallback = match fallback {
        None => None,
        Some(f) => Some(f?),
    };
    Some(Step {
        name: s.name.as_ref().map(|n| n.value.clone()),
        timeout,
        kind: kind?,
        fallback,
    })
}

/// `fallback`: only where a failure could go either way. A failed restore always falls back
/// (it is the backup's), an `approve` or `wait` never does (neither reads the backup), and
/// `finally` runs once, after the points, with nothing to fall back to.
fn fallback(
    c: &mut Check<'_>,
    path: &str,
    kinds: &[&str],
    value: &Spanned<String>,
) -> Option<bool> {
    if path.starts_with("finally") {
        c.at(
            value,
            format!(
                "{path}.fallback: only applies to `steps`: `finally` runs once, after the \
                 recovery points"
            ),
        );
        return None;
    }
    if let [kind] = kinds
        && !matches!(*kind, "run" | "shell" | "http")
    {
        c.at(
            value,
            format!(
                "{path}.fallback: only applies to `run`, `shell` and `http` steps, not `{kind}`"
            ),
        );
        return None;
    }
    c.bool(&format!("{path}.fallback"), value)
}

fn step_kind(c: &mut Check<'_>, path: &str, s: &RawStep) -> Option<StepKind> {
    if let Some(restore) = &s.restore {
        if let Some(key) = restore.value.as_ref().and_then(|b| b.keys.first()) {
            c.at(
                key,
                format!(
                    "{path}.restore: takes no settings, found `{}`: write `restore: {{}}`",
                    key.value
                ),
            );
            return None;
        }
        return Some(StepKind::Restore);
    }
    if let Some(run) = &s.run {
        return run::run(c, path, s, run);
    }
    if let Some(shell) = &s.shell {
        return run::shell(c, path, s, shell);
    }
    if let Some(http) = &s.http {
        return http::http(c, path, http);
    }
    if let Some(approve) = &s.approve {
        let Some(prompt) = approve.value.as_ref().filter(|t| !t.trim().is_empty()) else {
            c.at(
                approve,
                format!(
                    "{path}.approve: empty prompt: expected the question the operator must confirm, e.g. \"Is DNS pointing at the standby site?\""
                ),
            );
            return None;
        };
        let unattended = match &s.unattended {
            None => None,
            Some(u) => Some(c.choice(
                &format!("{path}.unattended"),
                u,
                &[("pass", Unattended::Pass), ("fail", Unattended::Fail)],
            )?),
        };
        return Some(StepKind::Approve {
            prompt: prompt.clone(),
            unattended,
            at: Position {
                line: u32::try_from(approve.referenced.line()).unwrap_or(u32::MAX),
                column: u32::try_from(approve.referenced.column()).unwrap_or(u32::MAX),
            },
        });
    }
    if let Some(wait) = &s.wait {
        let text = wait.value.clone().unwrap_or_default();
        let spanned = Spanned::new(text, wait.referenced, wait.defined);
        return c
            .positive_duration(&format!("{path}.wait"), &spanned)
            .map(StepKind::Wait);
    }
    None
}
