//! Linting without secrets (`lifeboat validate`): an unset `${VAR}` is set apart from the
//! problems, everywhere a variable may stand; everything else is checked as for a drill.

use indoc::indoc;
use lifeboat_core::runbook;

use super::env;

/// Every place a `${VAR}` may stand, each naming a variable [`env`] lacks.
const EVERY_PLACE: &str = indoc! {r#"
    version: 1
    name: demo
    source:
      url: s3://bucket/prefix
      options:
        secret_access_key: "${LINT_SECRET}"
        timeout: "${LINT_TIMEOUT}"
    steps:
      - restore: {}
      - http: { url: "https://${LINT_HOST}/health" }
      - run: [psql]
        env: { PGPASSWORD: "${LINT_DB_PASSWORD}" }
    notify:
      - webhook: "${LINT_HOOK}"
    schedule: "0 2 * * *"
"#};

#[test]
fn unset_variables_are_set_apart_and_nothing_else_is_wrong() {
    let lint = runbook::lint_bytes(EVERY_PLACE.as_bytes(), "rb.yaml", &env);
    assert!(lint.problems.is_empty(), "{:?}", lint.problems);
    assert!(lint.error().is_none());
    let unset: Vec<String> = lint
        .unset
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
        .collect();
    assert_eq!(
        unset,
        [
            "6:24: source.options.secret_access_key: environment variable LINT_SECRET is not set",
            "7:14: source.options.timeout: environment variable LINT_TIMEOUT is not set",
            "10:18: steps[1].http.url: environment variable LINT_HOST is not set",
            "12:24: steps[2].env.PGPASSWORD: environment variable LINT_DB_PASSWORD is not set",
            "14:14: notify[0].webhook: environment variable LINT_HOOK is not set",
        ]
    );
    // Not a runbook a drill could run; its name and schedule are known all the same.
    assert!(lint.runbook.is_none());
    assert_eq!(lint.name.as_deref(), Some("demo"));
    assert_eq!(lint.schedule.unwrap().cron, "0 2 * * *");
    // A drill's parse refuses each of them.
    let err = runbook::parse(EVERY_PLACE, "rb.yaml", &env).unwrap_err();
    assert_eq!(err.problems.len(), 5, "{err}");
}

#[test]
fn other_problems_are_problems_beside_the_unset_variables() {
    let text = EVERY_PLACE.replace("name: demo\n", "name: demo\nobjectives:\n  rto: soon\n");
    let lint = runbook::lint_bytes(text.as_bytes(), "rb.yaml", &env);
    assert_eq!(lint.unset.len(), 5);
    let error = lint.error().unwrap().to_string();
    assert!(
        error.starts_with("rb.yaml:4:8: objectives.rto: ") && error.lines().count() == 1,
        "{error}"
    );
    assert!(lint.runbook.is_none());
}

#[test]
fn a_valid_runbook_lints_to_itself() {
    let text = "version: 1\nname: demo\nsource:\n  url: file:///srv/backups/demo\n";
    let lint = runbook::lint_bytes(text.as_bytes(), "rb.yaml", &env);
    assert!(lint.problems.is_empty() && lint.unset.is_empty());
    assert_eq!(
        lint.runbook.unwrap(),
        runbook::parse(text, "rb.yaml", &env).unwrap()
    );
    let broken = runbook::lint_bytes(b"version: 1\nname: [unclosed\n", "rb.yaml", &env);
    assert!(broken.runbook.is_none() && !broken.problems.is_empty());
}
