//! `http` steps: a request to a service the drill brought up, with retries.

use std::time::Duration;

use serde_saphyr::Spanned;

use crate::runbook::model::StepKind;
use crate::runbook::placeholder;
use crate::runbook::raw::RawHttp;
use crate::runbook::validate::check::{Check, http_url_ok};
use crate::runbook::wording::quote;

const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// An `http:` step: a request, and the status (and body) its answer must have.
pub(super) fn http(
    c: &mut Check<'_>,
    path: &str,
    http: &Spanned<Option<RawHttp>>,
) -> Option<StepKind> {
    let Some(raw) = &http.value else {
        c.at(
            http,
            format!(
                "{path}.http: expected a map with at least `url`, e.g. {{url: \"http://127.0.0.1:8080/health\"}}"
            ),
        );
        return None;
    };
    http_step(c, &format!("{path}.http"), http, raw)
}

fn http_step(
    c: &mut Check<'_>,
    path: &str,
    at: &Spanned<Option<RawHttp>>,
    raw: &RawHttp,
) -> Option<StepKind> {
    let RawHttp {
        url,
        method,
        expect_status,
        expect_body,
        retries,
        interval,
    } = raw;
    let url = match url {
        None => {
            c.missing(
                Some(at),
                &format!("{path}.url"),
                "an http:// or https:// URL",
            );
            None
        }
        Some(u) if !c.placeholders(&format!("{path}.url"), &u.referenced, &u.value) => None,
        Some(u) => match c.resolve_env(&format!("{path}.url"), &u.referenced, &u.value) {
            Some(url) if let Some(p) = placeholder_in_authority(&url) => {
                c.at(
                    u,
                    format!(
                        "{path}.url: {p} is in the URL's host: a value from the backup must not choose where lifeboat connects; put it in the path or the query, where it is percent-encoded"
                    ),
                );
                None
            }
            Some(url) if http_url_ok(&url) => Some(url),
            Some(_) => {
                // The template is shown, never the resolved URL: `${VAR}` may hold a token.
                let from_env = if placeholder::env::has_reference(&u.value) {
                    " (with ${VAR} resolved from the environment)"
                } else {
                    ""
                };
                c.at(
                    u,
                    format!(
                        "{path}.url: {}{from_env} is not an http:// or https:// URL",
                        quote(&u.value)
                    ),
                );
                None
            }
            None => None,
        },
    };
    let method = match method {
        None => Some("GET".to_owned()),
        Some(m) => {
            let upper = m.value.to_ascii_uppercase();
            if HTTP_METHODS.contains(&upper.as_str()) {
                Some(upper)
            } else {
                c.at(
                    m,
                    format!(
                        "{path}.method: unknown value {}: expected one of {}",
                        quote(&m.value),
                        HTTP_METHODS.join(", ")
                    ),
                );
                None
            }
        }
    };
    let expect_status = match expect_status {
        None => Some(200),
        Some(s) => c.integer::<u16>(
            &format!("{path}.expect_status"),
            s,
            100..=599,
            "an HTTP status code from 100 to 599",
        ),
    };
    let retries = match retries {
        None => Some(0),
        Some(r) => c.integer::<u32>(
            &format!("{path}.retries"),
            r,
            0..=i128::from(u32::MAX),
            "a whole number of retries, 0 or more",
        ),
    };
    let interval = match interval {
        None => Some(Duration::from_secs(1)),
        Some(i) => c.positive_duration(&format!("{path}.interval"), i),
    };
    Some(StepKind::Http {
        url: url?,
        url_template: raw
            .url
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_default(),
        method: method?,
        expect_status: expect_status?,
        expect_body: expect_body.as_ref().map(|b| b.value.clone()),
        retries: retries?,
        interval: interval?,
    })
}

/// The first placeholder before the path of `url` (in its scheme, user, host or port).
fn placeholder_in_authority(url: &str) -> Option<placeholder::Placeholder> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    placeholder::find(url)
        .into_iter()
        .find(|&(at, _)| at < path)
        .map(|(_, p)| p)
}
