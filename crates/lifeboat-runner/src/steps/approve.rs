//! `approve` steps: a question for the operator of a manual drill, asked on a blocking thread
//! (it waits for a person). Without an operator the step follows its `unattended` setting.

use std::collections::BTreeMap;

use lifeboat_core::runbook::Unattended;

use super::{Ended, StepContext, record_answer};

/// Asks `prompt`, or answers as `unattended` says when nobody is at the terminal.
pub(super) async fn ask(
    prompt: &str,
    unattended: Option<Unattended>,
    ctx: &StepContext<'_>,
    detail: &mut BTreeMap<String, String>,
) -> Ended {
    detail.insert("prompt".into(), prompt.to_owned());
    let Some(operator) = ctx.operator.cloned() else {
        return match unattended {
            Some(Unattended::Pass) => {
                detail.insert("answer".into(), "unattended: pass".into());
                Ended::Passed
            }
            Some(Unattended::Fail) => {
                detail.insert("answer".into(), "unattended: fail".into());
                Ended::Failed("no operator to confirm (unattended: fail)".to_owned())
            }
            None => Ended::Failed(
                "needs an operator: run with --interactive --operator NAME".to_owned(),
            ),
        };
    };
    let name = operator.name().to_owned();
    detail.insert("operator".into(), name.clone());
    let question = prompt.to_owned();
    let view = ctx.view.clone();
    let asked = tokio::task::spawn_blocking(move || operator.approve(&view, &question)).await;
    match asked.ok().flatten() {
        None => Ended::Failed(format!("no answer from {name}: the terminal closed")),
        Some(a) => {
            record_answer(detail, "", &a);
            if a.yes {
                Ended::Passed
            } else {
                Ended::Failed(format!("{name} answered {:?}", a.text))
            }
        }
    }
}
