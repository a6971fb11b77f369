//! [`Check`]: where validation records problems, and the checks every section shares (a word
//! out of a fixed set, a positive duration, a whole number in a range, a `${VAR}` to resolve,
//! the placeholders of a step's text).

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use crate::duration;
use crate::runbook::placeholder;
use crate::runbook::problem::Problem;
use crate::runbook::wording::{did_you_mean, problem_at, problem_at_top, quote};

/// How validation reads lifeboat's environment, to resolve `${VAR}`.
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The problems found so far, and the environment `${VAR}` is resolved from.
pub(super) struct Check<'a> {
    pub(super) problems: Vec<Problem>,
    pub(super) env: Env<'a>,
    /// Where a `${VAR}` naming an unset variable goes when it is set apart from the problems
    /// (linting without secrets); `None`: it is a problem like any other.
    pub(super) unset: Option<Vec<Problem>>,
}

impl Check<'_> {
    /// `text` with each `${NAME}` resolved ([`placeholder::env::resolve`]). Every unset
    /// variable is a problem; the messages name variables, never values.
    pub(super) fn resolve_env(&mut self, path: &str, at: &Location, text: &str) -> Option<String> {
        match placeholder::env::resolve(text, self.env) {
            Ok(resolved) => Some(resolved),
            Err(unresolved) => {
                for u in unresolved {
                    let message = match u {
                        placeholder::env::Unresolved::Malformed => format!(
                            "{path}: malformed variable reference: expected ${{NAME}}, NAME made of letters, digits and _"
                        ),
                        placeholder::env::Unresolved::Unset(name) => {
                            let message = format!("{path}: environment variable {name} is not set");
                            if let Some(unset) = &mut self.unset {
                                unset.push(problem_at(at, message));
                                continue;
                            }
                            message
                        }
                    };
                    self.at_location(at, message);
                }
                None
            }
        }
    }

    /// Whether the placeholders in `text` are all known and stay inside the folder they
    /// name ([`placeholder::misuses`]); each one that is not is a problem.
    pub(super) fn placeholders(&mut self, path: &str, at: &Location, text: &str) -> bool {
        let misuses = placeholder::misuses(text);
        for misuse in &misuses {
            let message = match *misuse {
                placeholder::Misuse::ClimbsOut(climbing) => format!(
                    "{path}: `{climbing}` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders"
                ),
                placeholder::Misuse::Unknown(word) => format!(
                    "{path}: unknown placeholder {{{word}}}: expected {{scratch}} or {{recovery_point}}{}",
                    did_you_mean(
                        word,
                        placeholder::Placeholder::ALL.map(placeholder::Placeholder::word)
                    )
                ),
            };
            self.at_location(at, message);
        }
        misuses.is_empty()
    }

    pub(super) fn at<T>(&mut self, value: &Spanned<T>, message: String) {
        self.at_location(&value.referenced, message);
    }

    pub(super) fn at_location(&mut self, location: &Location, message: String) {
        self.problems.push(problem_at(location, message));
    }

    pub(super) fn at_top(&mut self, message: String) {
        self.problems.push(problem_at_top(message));
    }

    /// A missing required key, reported at its enclosing map (or 1:1 for the document).
    pub(super) fn missing<T>(&mut self, parent: Option<&Spanned<T>>, path: &str, expected: &str) {
        let message = format!("{path}: required key is missing: expected {expected}");
        match parent {
            Some(p) => self.at(p, message),
            None => self.at_top(message),
        }
    }

    /// One word out of a fixed set.
    pub(super) fn choice<T: Copy>(
        &mut self,
        path: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        if let Some(&(_, v)) = choices.iter().find(|(word, _)| *word == value.value) {
            return Some(v);
        }
        let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
        self.at(
            value,
            format!(
                "{path}: unknown value {}: expected one of {}",
                quote(&value.value),
                words.join(", ")
            ),
        );
        None
    }

    /// A duration that must be more than zero.
    pub(super) fn positive_duration(
        &mut self,
        path: &str,
        value: &Spanned<String>,
    ) -> Option<Duration> {
        match duration::parse(&value.value) {
            Ok(d) if d.is_zero() => {
                self.at(
                    value,
                    format!(
                        "{path}: duration {} is zero: expected more than 0s",
                        quote(&value.value)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.at(value, format!("{path}: {e}"));
                None
            }
        }
    }

    pub(super) fn bool(&mut self, path: &str, value: &Spanned<String>) -> Option<bool> {
        let parsed = parse_bool(&value.value);
        if parsed.is_none() {
            self.at(
                value,
                format!(
                    "{path}: invalid value {}: expected true or false",
                    quote(&value.value)
                ),
            );
        }
        parsed
    }

    /// A whole number in `range`; `expected` finishes "expected ...".
    pub(super) fn integer<T: TryFrom<i128> + Copy>(
        &mut self,
        path: &str,
        value: &Spanned<String>,
        range: std::ops::RangeInclusive<i128>,
        expected: &str,
    ) -> Option<T> {
        let parsed = value
            .value
            .parse::<i128>()
            .ok()
            .filter(|n| range.contains(n))
            .and_then(|n| T::try_from(n).ok());
        if parsed.is_none() {
            self.at(
                value,
                format!(
                    "{path}: invalid value {}: expected {expected}",
                    quote(&value.value)
                ),
            );
        }
        parsed
    }
}

pub(super) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub(super) fn http_url_ok(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    }) && !url.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}
