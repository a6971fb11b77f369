//! `notify`: after the verdict, POST a JSON summary of the drill to each webhook whose `on`
//! list holds the outcome. The body carries a Slack-compatible `text` line, so a Slack (or
//! Mattermost, Rocket.Chat...) incoming webhook shows it as is.
//!
//! A webhook that fails is retried a few times, then recorded and logged; it never changes the
//! drill's verdict. Webhook URLs usually embed a token, so neither messages nor evidence ever
//! hold the URL as resolved.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::evidence::{Evidence, NotificationResult};
use lifeboat_core::runbook::NotifySpec;

/// Requests per webhook at most (the first and two retries).
pub const ATTEMPTS: u32 = 3;
/// Time allowed for one request, connection to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before the second attempt; doubled before each later one.
const BACKOFF: Duration = Duration::from_millis(500);

/// The JSON body posted for a drill; `record`: where its `evidence.json` will be, when known.
pub fn body(ev: &Evidence, record: Option<&Path>) -> serde_json::Value {
    let verdict = ev.outcome.verdict();
    let mut text = format!("lifeboat drill {} {verdict}", ev.runbook.name);
    if let Some(p) = &ev.measured.recovery_point {
        text.push_str(&format!(" — recovery point {p}"));
    }
    let human = lifeboat_core::duration::human;
    if let Some(rto) = ev.measured.rto_seconds {
        text.push_str(&format!(", RTO {}", human(rto)));
    }
    if let Some(rpo) = ev.measured.rpo_seconds {
        text.push_str(&format!(", RPO {}", human(rpo)));
    }
    if let Some(r) = &ev.reason {
        text.push_str(&format!(": {r}"));
    }
    text.push_str(&format!(" (run {})", ev.run_id));
    if let Some(r) = record {
        text.push_str(&format!(", evidence {}", r.display()));
    }
    serde_json::json!({
        "text": text,
        "runbook": ev.runbook.name,
        "run_id": ev.run_id,
        "evidence": record.map(|r| r.display().to_string()),
        "outcome": ev.outcome,
        "reason": ev.reason,
        "mode": ev.mode,
        "operator": ev.operator,
        "host": ev.host,
        "t0": ev.t0,
        "started_at": ev.started_at,
        "finished_at": ev.finished_at,
        "measured": ev.measured,
        "objectives": ev.objectives,
    })
}

/// What evidence may show of a webhook: the template when its secret part comes from the
/// environment, else only its scheme, host and port.
pub fn shown_webhook(spec: &NotifySpec) -> String {
    if lifeboat_core::runbook::placeholder::env::has_reference(&spec.webhook_template) {
        return spec.webhook_template.clone();
    }
    match reqwest::Url::parse(&spec.webhook) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}/…",
                u.scheme(),
                u.host_str().unwrap_or_default()
            )
        }
        Err(_) => "(not shown)".to_owned(),
    }
}

/// Posts to every webhook that asked for this outcome, one after another.
pub async fn send_all(
    specs: &[NotifySpec],
    ev: &Evidence,
    record: Option<&Path>,
    client: &reqwest::Client,
) -> Vec<NotificationResult> {
    let body = body(ev, record).to_string();
    let mut results = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        if !spec.on.contains(&ev.outcome) {
            continue;
        }
        let result = send(i, spec, &body, client).await;
        if !result.sent {
            tracing::warn!(
                "notify[{i}] ({}) was not sent: {}",
                result.webhook,
                result.reason.as_deref().unwrap_or("")
            );
        }
        results.push(result);
    }
    results
}

async fn send(
    i: usize,
    spec: &NotifySpec,
    body: &str,
    client: &reqwest::Client,
) -> NotificationResult {
    let started_at = Timestamp::now();
    let mut result = NotificationResult {
        entry: format!("notify[{i}]"),
        webhook: shown_webhook(spec),
        sent: false,
        attempts: 0,
        status: None,
        reason: None,
        started_at,
        finished_at: started_at,
    };
    let mut pause = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        result.attempts = attempt;
        let sent = client
            .post(spec.webhook.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status();
                result.status = Some(status.as_u16());
                if status.is_success() {
                    result.sent = true;
                    result.reason = None;
                    break;
                }
                result.reason = Some(format!("the webhook answered {status}"));
            }
            Err(e) => {
                result.reason = Some(format!(
                    "request failed: {}",
                    crate::steps::http_error_text(e)
                ));
            }
        }
    }
    if !result.sent
        && let Some(r) = &mut result.reason
    {
        r.push_str(&format!(" (after {} attempts)", result.attempts));
    }
    result.finished_at = Timestamp::now();
    result
}
