//! `version` and `name`: which format the file is, and the name its evidence is filed under.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::wording::quote;

const NAME_RULE: &str = "[a-z0-9][a-z0-9._-]{0,62}";

/// `version`: only format 1 exists.
pub(super) fn version(c: &mut Check<'_>, version: Option<&Spanned<String>>) {
    match version {
        None => c.at_top("version: required key is missing: expected `version: 1`".to_owned()),
        Some(v) if v.value == "1" => {}
        Some(v) => c.at(
            v,
            format!(
                "version: unsupported runbook version {}: expected 1",
                quote(&v.value)
            ),
        ),
    }
}

pub(super) fn runbook_name(c: &mut Check<'_>, name: Option<&Spanned<String>>) -> Option<String> {
    let Some(name) = name else {
        c.at_top(format!(
            "name: required key is missing: expected a name matching {NAME_RULE}, e.g. payments-files"
        ));
        return None;
    };
    if is_runbook_name(&name.value) {
        Some(name.value.clone())
    } else {
        c.at(
            name,
            format!(
                "name: {} is not a valid runbook name: expected {NAME_RULE}",
                quote(&name.value)
            ),
        );
        None
    }
}

/// `[a-z0-9][a-z0-9._-]{0,62}`: safe as a folder name on every system evidence lands on.
fn is_runbook_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    matches!(bytes.first(), Some(b) if lower_alnum(b))
        && bytes.len() <= 63
        && bytes[1..]
            .iter()
            .all(|b| lower_alnum(b) || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("payments-files", true)]
    #[test_case("a", true)]
    #[test_case("0.db_main-2", true)]
    #[test_case("Payments", false)]
    #[test_case("-x", false)]
    #[test_case(".x", false)]
    #[test_case("", false)]
    #[test_case("a b", false)]
    #[test_case("é", false)]
    fn runbook_names(name: &str, ok: bool) {
        assert_eq!(is_runbook_name(name), ok);
    }

    #[test]
    fn runbook_name_length_limit() {
        assert!(is_runbook_name(&"a".repeat(63)));
        assert!(!is_runbook_name(&"a".repeat(64)));
    }
}
