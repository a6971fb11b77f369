//! `run` and `shell` steps: the command, its `env:`, and what its exit code and output must
//! be. Placeholders in them are checked to stay data, never code ([`placeholder`]).

use serde_saphyr::Spanned;

use crate::runbook::model::{Command, EnvVar, StepKind};
use crate::runbook::placeholder;
use crate::runbook::raw::{Argv, RawStep};
use crate::runbook::validate::check::Check;
use crate::runbook::wording::quote;

const RUN_EXAMPLE: &str = r#"["sqlite3", "{scratch}/app.db", "PRAGMA integrity_check"]"#;

/// A `run:` step: the program and its arguments, each a list item.
pub(super) fn run(
    c: &mut Check<'_>,
    path: &str,
    s: &RawStep,
    run: &Spanned<Option<Argv>>,
) -> Option<StepKind> {
    let empty = || {
        format!(
            "{path}.run: empty command: expected a list of the program and its arguments, e.g. {RUN_EXAMPLE}"
        )
    };
    let argv = match &run.value {
        None => {
            c.at(run, empty());
            return None;
        }
        Some(Argv::Text) => {
            c.at(
                run,
                format!(
                    "{path}.run: expected a list of the program and its arguments, e.g. {RUN_EXAMPLE}; for a command line, use `shell:` instead"
                ),
            );
            return None;
        }
        Some(Argv::List(items)) if items.is_empty() => {
            c.at(run, empty());
            return None;
        }
        Some(Argv::List(items)) => items,
    };
    let mut ok = true;
    if argv[0].value.is_empty() {
        c.at(&argv[0], format!("{path}.run[0]: empty program name"));
        ok = false;
    }
    for (j, arg) in argv.iter().enumerate() {
        ok &= c.placeholders(&format!("{path}.run[{j}]"), &arg.referenced, &arg.value);
    }
    ok &= no_placeholder_in_code(c, path, argv);
    let env = step_env(c, path, s);
    let (expect_exit, expect_stdout) = run_expectations(c, path, s)?;
    let env = env?;
    ok.then(|| StepKind::Run {
        command: Command::Argv(argv.iter().map(|a| a.value.clone()).collect()),
        expect_exit,
        expect_stdout,
        env,
    })
}

/// A `shell:` step: one command line, run with `sh -c` as [`placeholder::shell_script`] writes it.
pub(super) fn shell(
    c: &mut Check<'_>,
    path: &str,
    s: &RawStep,
    shell: &Spanned<Option<String>>,
) -> Option<StepKind> {
    let Some(text) = shell.value.as_ref().filter(|t| !t.trim().is_empty()) else {
        c.at(
            shell,
            format!("{path}.shell: empty command: expected a command line to run with sh -c"),
        );
        return None;
    };
    let ok = c.placeholders(&format!("{path}.shell"), &shell.referenced, text);
    let script = match placeholder::shell_script(text) {
        Ok(script) => Some(script),
        Err(troubles) => {
            for t in troubles {
                c.at(shell, format!("{path}.shell: {t}"));
            }
            None
        }
    };
    let env = step_env(c, path, s);
    let (expect_exit, expect_stdout) = run_expectations(c, path, s)?;
    let env = env?;
    let script = script?;
    ok.then(|| StepKind::Run {
        command: Command::Shell {
            text: text.clone(),
            script,
        },
        expect_exit,
        expect_stdout,
        env,
    })
}

/// `env:` of a run or shell step: names a shell accepts, values text with `${VAR}` resolved
/// (never echoed) and only known placeholders.
fn step_env(c: &mut Check<'_>, path: &str, s: &RawStep) -> Option<Vec<EnvVar>> {
    let Some(raw) = &s.env else {
        return Some(Vec::new());
    };
    let mut vars = Vec::new();
    let mut ok = true;
    for (key, value) in &raw.value.0 {
        let at = format!("{path}.env.{}", key.value);
        if !placeholder::env::is_name(&key.value) {
            c.at(
                key,
                format!(
                    "{path}.env: {} is not a variable name: expected letters, digits and _, not starting with a digit",
                    quote(&key.value)
                ),
            );
            ok = false;
            continue;
        }
        // Set by lifeboat itself for every `run`/`shell` step; `env:` may not override them.
        if placeholder::Placeholder::ALL
            .iter()
            .any(|p| p.var() == key.value)
        {
            c.at(
                key,
                format!("{at}: set by lifeboat for every step; choose another name"),
            );
            ok = false;
            continue;
        }
        let Some(text) = &value.value else {
            c.at(value, format!("{at}: no value: expected text"));
            ok = false;
            continue;
        };
        if !c.placeholders(&at, &value.referenced, text) {
            ok = false;
            continue;
        }
        if let Some(&(_, p)) = placeholder::find(text).first()
            && placeholder::code::variable_runs_as_code(&key.value)
        {
            c.at(
                value,
                format!(
                    "{at}: {p} is in a variable whose value shells expand as code (BASH_ENV, ENV, the prompts): a value from the backup must never become code; name a file the runbook controls"
                ),
            );
            ok = false;
            continue;
        }
        match c.resolve_env(&at, &value.referenced, text) {
            Some(resolved) => vars.push(EnvVar {
                name: key.value.clone(),
                value: resolved,
                template: text.clone(),
            }),
            None => ok = false,
        }
    }
    ok.then_some(vars)
}

/// `expect_exit` and `expect_stdout` of a run or shell step.
fn run_expectations(c: &mut Check<'_>, path: &str, s: &RawStep) -> Option<(i32, Option<String>)> {
    let expect_exit = match &s.expect_exit {
        Some(e) => c.integer::<i32>(
            &format!("{path}.expect_exit"),
            e,
            0..=255,
            "an exit code from 0 to 255",
        )?,
        None => 0,
    };
    Some((
        expect_exit,
        s.expect_stdout.as_ref().map(|e| e.value.clone()),
    ))
}

/// A `run:` argument another interpreter runs as code (`sh -c SCRIPT`, `python3 -c CODE`)
/// holds no placeholder: the value would become code ([`placeholder::code`]).
fn no_placeholder_in_code(c: &mut Check<'_>, path: &str, argv: &[Spanned<String>]) -> bool {
    let words: Vec<&str> = argv.iter().map(|a| a.value.as_str()).collect();
    let mut ok = true;
    for (j, arg) in argv.iter().enumerate() {
        let Some(&(_, p)) = placeholder::find(&arg.value).first() else {
            continue;
        };
        if let Some(interpreter) = placeholder::code::runs_as_code(&words, j) {
            let trouble = placeholder::Trouble::Code {
                placeholder: p,
                interpreter,
            };
            c.at(
                arg,
                format!(
                    "{path}.run[{j}]: {trouble} (a `shell:` step does this for a shell script: its placeholders are references to the environment)"
                ),
            );
            ok = false;
        }
    }
    ok
}
