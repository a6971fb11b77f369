//! From an `object_store` error to a reason an operator can act on, with no credential in it.
//!
//! object_store's `Display` stops at the outermost layer ("error sending request"); what went
//! wrong ("Connection refused", "dns error") is further down the `source()` chain, and the
//! store's own verdict (`NoSuchBucket`, `AuthenticationFailed`) is inside an XML body. So a
//! reason is built from the whole chain, classified on that full text, and only then trimmed
//! and redacted for display.

use crate::StorageError;

/// The whole error: its message and every cause below it, each once.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !t.is_empty() && !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    text
}

/// Sorts a store error, described by [`describe`], into missing / refused / unreachable.
/// `what` says what was being done. The detail is trimmed and redacted here.
pub(crate) fn classify(
    url: &str,
    what: &str,
    full: &str,
    kind: Option<&object_store::Error>,
    secrets: &[String],
) -> StorageError {
    let lower = full.to_ascii_lowercase();
    let detail = format!("{what}: {}", scrub(&tidy_xml(full), secrets));
    let url = url.to_owned();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let refused = matches!(
        kind,
        Some(object_store::Error::PermissionDenied { .. })
            | Some(object_store::Error::Unauthenticated { .. })
    ) || has(&[
        "403 forbidden",
        "401 unauthorized",
        "accessdenied",
        "signaturedoesnotmatch",
        "invalidaccesskeyid",
        "authenticationfailed",
        "authorizationfailure",
        "invalid access key",
        "invalidsignature",
    ]);
    let missing = matches!(kind, Some(object_store::Error::NotFound { .. }))
        || has(&[
            "nosuchbucket",
            "containernotfound",
            "bucket does not exist",
            "specified container does not exist",
        ]);
    let unreachable = has(&[
        "error sending request",
        "connection refused",
        "connect error",
        "tcp connect",
        "dns error",
        "failed to lookup",
        "no answer within",
        "timed out",
        "connection reset",
    ]);
    if refused {
        StorageError::AccessDenied { url, detail }
    } else if missing {
        StorageError::SourceMissing {
            url,
            detail: format!("{detail}; check the bucket or container name in `source.url`"),
        }
    } else if unreachable {
        StorageError::Unavailable {
            url,
            detail: format!(
                "{detail}; check `source.options.endpoint` (or the region) and that the storage is reachable from this host"
            ),
        }
    } else {
        StorageError::Unavailable { url, detail }
    }
}

/// Redacts an error text: query strings of URLs and every known secret value.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = redact(text);
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), "<redacted>");
    }
    out
}

/// Drops the query strings of URLs in a message: SAS tokens and presigned signatures live
/// there. Only a `?` inside a URL (after `scheme://`, before the next space, quote or bracket)
/// starts a query, so `<?xml` in a response body is left alone.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_url = false;
    let mut in_query = false;
    for ch in text.chars() {
        let ends_url = ch.is_whitespace() || matches!(ch, '"' | '\'' | '(' | ')' | '<' | '>' | ',');
        if ends_url {
            in_url = false;
            in_query = false;
        }
        if in_query {
            continue;
        }
        if in_url && ch == '?' {
            in_query = true;
            out.push_str("?<redacted>");
            continue;
        }
        out.push(ch);
        if out.ends_with("://") {
            in_url = true;
        }
    }
    out
}

/// Replaces an XML error body (S3's `<Error><Code>…`, Azure's likewise) with its code and
/// message: the rest (request ids, string-to-sign, canonical request) is noise for an operator
/// and may echo request headers.
pub(crate) fn tidy_xml(text: &str) -> String {
    let start = ["<?xml", "<Error>"]
        .iter()
        .filter_map(|m| text.find(m))
        .min();
    let Some(start) = start else {
        return text.to_owned();
    };
    let body = &text[start..];
    let end = body
        .find("</Error>")
        .map_or(body.len(), |i| i + "</Error>".len());
    let element = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let from = body.find(&open)? + open.len();
        let to = from + body[from..].find(&close)?;
        Some(
            body[from..to]
                .trim()
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
        )
    };
    let summary = match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => "(an XML error body)".to_owned(),
    };
    format!(
        "{}{summary}{}",
        &text[..start],
        &body[end..].trim_end_matches(['\n', ' '])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_of_urls_are_dropped() {
        let t = "error sending request for url (https://acct.blob.core.windows.net/c/x?sv=2020&sig=SECRET): timeout";
        let r = redact(t);
        assert!(!r.contains("SECRET"), "{r}");
        assert!(
            r.contains("https://acct.blob.core.windows.net/c/x?<redacted>): timeout"),
            "{r}"
        );
    }

    #[test]
    fn a_question_mark_outside_a_url_is_kept() {
        let t = r#"GET http://h/b?list-type=2 failed: 404 Not Found: <?xml version="1.0"?><Error><Code>NoSuchBucket</Code></Error>"#;
        let r = redact(t);
        assert!(r.contains("http://h/b?<redacted> failed"), "{r}");
        assert!(r.contains("<Code>NoSuchBucket</Code>"), "{r}");
    }

    #[test]
    fn xml_bodies_become_code_and_message() {
        let t = r#"Server returned non-2xx status code: 404 Not Found: <?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message><RequestId>abc</RequestId></Error>"#;
        assert_eq!(
            tidy_xml(t),
            "Server returned non-2xx status code: 404 Not Found: NoSuchBucket: The specified bucket does not exist."
        );
        let plain = "no xml here";
        assert_eq!(tidy_xml(plain), plain);
    }

    #[test]
    fn known_secrets_are_scrubbed_anywhere() {
        let secrets = vec!["hunter2-very-secret".to_owned(), "ab".to_owned()];
        let r = scrub("key hunter2-very-secret was refused (ab)", &secrets);
        assert_eq!(r, "key <redacted> was refused (ab)");
    }

    #[test]
    fn the_cause_chain_is_kept_and_classifies_unreachable() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        ));
        let full = describe(&e);
        assert_eq!(
            full,
            "error sending request: Connection refused (os error 111)"
        );
        let err = classify("s3://b/p", "listing recovery points", &full, None, &[]);
        let text = err.to_string();
        assert!(matches!(err, StorageError::Unavailable { .. }), "{text}");
        assert!(text.contains("check `source.options.endpoint`"), "{text}");
    }

    #[test]
    fn missing_and_refused_are_told_apart() {
        let missing = classify(
            "s3://b/p",
            "x",
            "404 Not Found: <Error><Code>NoSuchBucket</Code></Error>",
            None,
            &[],
        );
        assert!(
            matches!(missing, StorageError::SourceMissing { .. }),
            "{missing}"
        );
        let refused = classify(
            "s3://b/p",
            "x",
            "403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code></Error>",
            None,
            &[],
        );
        assert!(
            matches!(refused, StorageError::AccessDenied { .. }),
            "{refused}"
        );
    }
}
