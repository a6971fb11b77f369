//! Small helpers that keep every runbook message worded the same way.

use serde_saphyr::Location;

use super::problem::Problem;

/// A problem at a YAML position. Positions past `u32::MAX` cannot come from a 1 MiB file.
pub(super) fn problem_at(location: &Location, message: String) -> Problem {
    Problem {
        line: u32::try_from(location.line()).unwrap_or(u32::MAX),
        column: u32::try_from(location.column()).unwrap_or(u32::MAX),
        message,
    }
}

/// A problem about the document as a whole, e.g. a missing top-level key.
pub(super) fn problem_at_top(message: String) -> Problem {
    Problem {
        line: 1,
        column: 1,
        message,
    }
}

/// A user's value inside a message: double-quoted, control characters escaped so a message
/// stays on one line.
pub(super) fn quote(value: &str) -> String {
    format!("\"{}\"", value.escape_debug())
}

/// `` `a`, `b`, `c` `` — how allowed keys are listed.
pub(super) fn backticked<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    keys.into_iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` (did you mean `manifest`?)` when `word` is a likely typo of one candidate, else empty.
///
/// Distance is counted over characters, an adjacent transposition as one edit (`manfiest` is
/// one slip from `manifest`): optimal string alignment, as [`strsim::osa_distance`] counts.
pub(super) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let budget = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|&(d, _)| d <= budget)
        .min_by_key(|&(d, _)| d)
        .map_or_else(String::new, |(_, c)| format!(" (did you mean `{c}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        let edit_distance = strsim::osa_distance;
        assert_eq!(edit_distance("manfest", "manifest"), 1);
        assert_eq!(edit_distance("manfiest", "manifest"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_only_close_words() {
        let keys = ["version", "name", "manifest"];
        assert_eq!(did_you_mean("manfest", keys), " (did you mean `manifest`?)");
        assert_eq!(did_you_mean("nmae", keys), " (did you mean `name`?)");
        assert_eq!(did_you_mean("schedule", keys), "");
    }

    #[test]
    fn quotes_on_one_line() {
        assert_eq!(quote("a\nb\"c"), "\"a\\nb\\\"c\"");
    }
}
