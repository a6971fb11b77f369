//! `notify`: the webhooks told of a drill's outcome.

use serde_saphyr::Spanned;

use super::check::{Check, http_url_ok};
use crate::runbook::model::NotifySpec;
use crate::runbook::raw::RawNotify;
use crate::vocabulary::Outcome;

pub(super) fn notify(
    c: &mut Check<'_>,
    raw: Option<&Spanned<Vec<Spanned<RawNotify>>>>,
) -> Vec<NotifySpec> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    raw.value
        .iter()
        .enumerate()
        .filter_map(|(i, n)| notify_one(c, &format!("notify[{i}]"), n))
        .collect()
}

fn notify_one(c: &mut Check<'_>, path: &str, raw: &Spanned<RawNotify>) -> Option<NotifySpec> {
    let RawNotify { webhook, on } = &raw.value;
    let webhook_template = webhook
        .as_ref()
        .map(|w| w.value.clone())
        .unwrap_or_default();
    let webhook = match webhook {
        None => {
            c.missing(
                Some(raw),
                &format!("{path}.webhook"),
                "an http:// or https:// URL",
            );
            None
        }
        Some(w) => {
            let path = format!("{path}.webhook");
            match c.resolve_env(&path, &w.referenced, &w.value) {
                // Not echoed: webhook URLs usually embed the token that authorizes posting.
                Some(url) if !http_url_ok(&url) => {
                    c.at(
                        w,
                        format!(
                            "{path}: expected an http:// or https:// URL (value not shown: webhook URLs often hold tokens)"
                        ),
                    );
                    None
                }
                other => other,
            }
        }
    };
    let outcomes = [
        ("passed", Outcome::Passed),
        ("failed", Outcome::Failed),
        ("error", Outcome::Error),
    ];
    let on = match on {
        None => Some(vec![Outcome::Failed, Outcome::Error]),
        Some(list) if list.value.is_empty() => {
            c.at(
                list,
                format!("{path}.on: empty list: expected one or more of passed, failed, error"),
            );
            None
        }
        Some(list) => {
            let mut chosen = Vec::new();
            let mut ok = true;
            for (j, item) in list.value.iter().enumerate() {
                match c.choice(&format!("{path}.on[{j}]"), item, &outcomes) {
                    Some(o) if !chosen.contains(&o) => chosen.push(o),
                    Some(_) => {}
                    None => ok = false,
                }
            }
            ok.then_some(chosen)
        }
    };
    Some(NotifySpec {
        webhook: webhook?,
        webhook_template,
        on: on?,
    })
}
