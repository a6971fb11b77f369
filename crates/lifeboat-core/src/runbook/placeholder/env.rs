//! `${NAME}`: a reference to lifeboat's own environment, resolved once, when the runbook is
//! validated.
//!
//! Where it is read: `source.options` values, `env:` values of `run`/`shell` steps, `http`
//! step URLs and `notify` webhooks. It is how a runbook names a secret without holding it
//! (the runbook's SHA-256 goes into the evidence, and runbooks live in version control), so:
//!
//! - a value resolved from the environment is never echoed: messages name the variable, and
//!   the evidence keeps the text as written ([`has_reference`] tells the two apart);
//! - `NAME` is letters, digits and `_`, not starting with a digit ([`is_name`]); anything else
//!   after `${` is malformed, never passed through as literal text;
//! - a resolved value is not read again, so a value holding `${OTHER}` or `{scratch}` stays
//!   that text.
//!
//! It is a different thing from `{scratch}` and `{recovery_point}` ([`super::Placeholder`]):
//! those are values from the backup, substituted when a step runs; `${NAME}` is a value of
//! the machine running lifeboat, substituted before anything runs. `${scratch}` is therefore
//! never the `{scratch}` placeholder. In a `shell:` line `${NAME}` is left alone: the shell
//! expands it itself.

/// What stops one `${...}` reference from being resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// `${` not followed by a name and `}`.
    Malformed,
    /// The named variable is not set.
    Unset(String),
}

/// Whether `word` is a variable name: ASCII letters, digits and `_`, not starting with a
/// digit. The same rule names an `env:` key and a placeholder's word.
pub fn is_name(word: &str) -> bool {
    word.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
        && word
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// Whether `text` takes any part of its value from the environment: then the text as written
/// may be shown, and the resolved value never.
pub fn has_reference(text: &str) -> bool {
    text.contains("${")
}

/// `text` with each `${NAME}` replaced by `env(NAME)`.
///
/// Every unset variable is reported, in order; a malformed reference ends the reading there
/// (what follows it cannot be told apart from literal text), after the unset ones before it.
pub fn resolve(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<Unresolved>> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut problems = Vec::new();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(name) = after
            .find('}')
            .map(|end| &after[..end])
            .filter(|n| is_name(n))
        else {
            problems.push(Unresolved::Malformed);
            return Err(problems);
        };
        match env(name) {
            Some(value) => out.push_str(&value),
            None => problems.push(Unresolved::Unset(name.to_owned())),
        }
        rest = &after[name.len() + 1..];
    }
    out.push_str(rest);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.internal".to_owned()),
            "EMPTY" => Some(String::new()),
            "LOOKS_LIKE_A_REFERENCE" => Some("${HOST}{scratch}".to_owned()),
            _ => None,
        }
    }

    #[test_case("plain", "plain" ; "no reference")]
    #[test_case("https://${HOST}:5432/x", "https://db.internal:5432/x" ; "one reference")]
    #[test_case("${HOST}${HOST}", "db.internaldb.internal" ; "adjacent references")]
    #[test_case("a${EMPTY}b", "ab" ; "an empty value")]
    #[test_case("${LOOKS_LIKE_A_REFERENCE}", "${HOST}{scratch}" ; "a value is not read again")]
    #[test_case("{scratch} $HOST {HOST}", "{scratch} $HOST {HOST}" ; "only the braced form with a dollar")]
    fn resolves(text: &str, expected: &str) {
        assert_eq!(resolve(text, &env).as_deref(), Ok(expected));
    }

    #[test_case("${NOPE}", vec![Unresolved::Unset("NOPE".into())] ; "unset")]
    #[test_case("${A}-${HOST}-${B}", vec![Unresolved::Unset("A".into()), Unresolved::Unset("B".into())] ; "every unset one")]
    #[test_case("${A} ${1X}", vec![Unresolved::Unset("A".into()), Unresolved::Malformed] ; "unset then malformed")]
    #[test_case("${", vec![Unresolved::Malformed] ; "unterminated")]
    #[test_case("${} ${B}", vec![Unresolved::Malformed] ; "empty name ends the reading")]
    #[test_case("${A-B}", vec![Unresolved::Malformed] ; "a shell default is not a name")]
    fn refuses(text: &str, expected: Vec<Unresolved>) {
        assert_eq!(resolve(text, &env), Err(expected));
    }

    #[test_case("LIFEBOAT_SCRATCH", true)]
    #[test_case("_x1", true)]
    #[test_case("1x", false)]
    #[test_case("", false)]
    #[test_case("A-B", false)]
    #[test_case("É", false ; "a letter outside ASCII")]
    fn names(word: &str, expected: bool) {
        assert_eq!(is_name(word), expected);
    }
}
