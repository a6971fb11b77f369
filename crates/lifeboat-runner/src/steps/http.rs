//! `http` steps: a request to a health endpoint, retried until it answers with the expected
//! status (and, optionally, a string in its body), each request bounded by
//! [`HTTP_REQUEST_TIMEOUT`]. Placeholders in the URL are percent-encoded, one component each.

use std::collections::BTreeMap;
use std::time::Duration;

use lifeboat_core::runbook::placeholder;

use super::capture::Capture;
use super::{Ended, StepContext};

/// The longest a single HTTP request of an `http` step may take.
pub const HTTP_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of a response body read to look for `expect_body`.
pub const HTTP_BODY_LIMIT: usize = 1024 * 1024;

/// An `http` step, as validated.
#[derive(Clone, Copy, Debug)]
pub(super) struct Probe<'a> {
    /// The URL with `${VAR}` resolved. May hold a secret: never logged or recorded.
    pub url: &'a str,
    /// The URL as written: what the evidence shows.
    pub url_template: &'a str,
    pub method: &'a str,
    pub expect_status: u16,
    pub expect_body: Option<&'a str>,
    pub retries: u32,
    pub interval: Duration,
}

/// An error and its sources in one line, without the URL (reqwest puts it in its messages;
/// a probe's URL may hold a token from `${VAR}`).
pub(crate) fn http_error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Requests the probe's URL until it answers as expected or its attempts run out.
pub(super) async fn probe(
    probe: &Probe<'_>,
    ctx: &StepContext<'_>,
    detail: &mut BTreeMap<String, String>,
) -> Ended {
    let Probe {
        url,
        url_template,
        method,
        expect_status,
        expect_body,
        retries,
        interval,
    } = *probe;
    detail.insert("url".into(), url_template.to_owned());
    detail.insert("method".into(), method.to_owned());
    let url = match probe_url(url, &ctx.scratch.display().to_string(), ctx.recovery_point) {
        Ok(url) => url,
        Err(reason) => return Ended::Failed(reason),
    };
    // The drill builds its client whenever the runbook has an `http` step: never `None` here.
    let Some(http) = ctx.http else {
        return Ended::Failed("no HTTP client was built for this drill".into());
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let attempts = retries.saturating_add(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(interval).await;
        }
        detail.insert("attempts".into(), attempt.to_string());
        let sent = http
            .request(method.clone(), url.as_str())
            .timeout(HTTP_REQUEST_TIMEOUT)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                last = format!("request failed: {}", http_error_text(e));
                continue;
            }
        };
        let status = response.status().as_u16();
        detail.insert("status".into(), status.to_string());
        if status != expect_status {
            last = format!("status {status}, expected {expect_status}");
            continue;
        }
        let Some(needle) = expect_body else {
            return Ended::Passed;
        };
        let mut body = Capture::new(Some(needle));
        let mut read = 0usize;
        let mut failed = None;
        while read < HTTP_BODY_LIMIT && !body.found {
            match response.chunk().await {
                Ok(Some(c)) => {
                    read += c.len();
                    body.push(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(format!("reading the body failed: {}", http_error_text(e)));
                    break;
                }
            }
        }
        if body.found {
            return Ended::Passed;
        }
        last = failed.unwrap_or_else(|| {
            format!(
                "status {status}, but the body (first {} read) does not contain {needle:?}",
                human_size(read)
            )
        });
    }
    let tries = if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    };
    Ended::Failed(format!("{last} (after {tries})"))
}

/// The URL an `http` step requests for this point: each placeholder's value
/// percent-encoded, so no byte of it can end the path, start a query or fragment, or name
/// another host (validation keeps placeholders out of the host). URL parsing still drops a
/// path segment that is `.` or `..` (also spelled `%2E`): a value that would do so, and so
/// change which path is requested, fails the step instead.
fn probe_url(url: &str, scratch: &str, recovery_point: &str) -> Result<String, String> {
    if placeholder::find(url).is_empty() {
        return Ok(url.to_owned());
    }
    let with = |scratch: &str, point: &str| {
        placeholder::substitute(url, scratch, point, &placeholder::url_component)
    };
    let shape = |u: &str| {
        reqwest::Url::parse(u).ok().map(|u| {
            (
                u.host_str().map(str::to_owned),
                u.port(),
                u.path_segments().map(Iterator::count),
            )
        })
    };
    let real = with(scratch, recovery_point);
    if shape(&real) != shape(&with("x", "x")) {
        return Err(
            "not requested: the recovery point's id or scratch path would change the URL's path \
             (a `.` or `..` segment)"
                .to_owned(),
        );
    }
    Ok(real)
}

fn human_size(n: usize) -> String {
    if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_url_holds_each_value_as_one_encoded_component() {
        let url = "http://127.0.0.1:8080/points/{recovery_point}/ok?dir={scratch}";
        assert_eq!(
            probe_url(url, "/tmp/s x", "a/b?c#d@e%2e%2e").unwrap(),
            "http://127.0.0.1:8080/points/a%2Fb%3Fc%23d%40e%252e%252e/ok?dir=%2Ftmp%2Fs%20x"
        );
        // URL parsing would drop these segments and the one before: refused, not requested.
        for point in [".", ".."] {
            assert!(probe_url(url, "/s", point).is_err(), "{point}");
        }
        // In the query a dot is just a dot.
        assert!(probe_url("http://h/x?p={recovery_point}", "/s", "..").is_ok());
        assert_eq!(
            probe_url("http://h/{x}", "/s", "..").unwrap(),
            "http://h/{x}"
        );
    }
}
