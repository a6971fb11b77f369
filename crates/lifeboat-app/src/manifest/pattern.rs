//! `--exclude` patterns: shell-style wildcards over the `/`-separated names a manifest lists.

/// A pattern over a name relative to the folder listed (`etc/app.conf`), matched whole:
///
/// - `*` matches any run of characters within one folder level (never a `/`), `?` one such
///   character;
/// - `**` matches any run of characters, `/` included; `**/` at the start or after a `/`
///   matches zero or more whole folders, so `**/*.tmp` is every `.tmp` file, at the top too;
/// - every other character matches itself (no classes, no escapes: a name with `*` in it is
///   excluded by its path instead);
/// - a leading `./` and a trailing `/` are ignored (`./SHA256SUMS`, `logs/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*`
    Within,
    /// `**`
    Any,
    /// `**/`: nothing, or whole folders each ending in `/`.
    Folders,
}

impl Pattern {
    /// Reads `text` as a pattern; every text is one.
    pub fn new(text: &str) -> Pattern {
        let mut text = text;
        while let Some(rest) = text.strip_prefix("./") {
            text = rest;
        }
        let text = text.strip_suffix('/').unwrap_or(text);
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            let at_folder_start = i == 0 || chars[i - 1] == '/';
            match chars[i] {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    if at_folder_start && chars.get(i + 2) == Some(&'/') {
                        tokens.push(Token::Folders);
                        i += 3;
                    } else {
                        tokens.push(Token::Any);
                        i += 2;
                        // `***` reads as `**`.
                        while chars.get(i) == Some(&'*') {
                            i += 1;
                        }
                    }
                }
                '*' => {
                    tokens.push(Token::Within);
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                c => {
                    tokens.push(Token::Char(c));
                    i += 1;
                }
            }
        }
        Pattern { tokens }
    }

    /// Whether `name` matches the whole pattern. Time and memory are bounded by the
    /// pattern's length times the name's (a table, never backtracking).
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let n = name.len();
        // `at[j]`: the tokens so far can match `name[..j]`.
        let mut at = vec![false; n + 1];
        at[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; n + 1];
            match token {
                Token::Char(c) => {
                    for j in 0..n {
                        next[j + 1] = at[j] && name[j] == *c;
                    }
                }
                Token::One => {
                    for j in 0..n {
                        next[j + 1] = at[j] && name[j] != '/';
                    }
                }
                Token::Within => {
                    for j in 0..=n {
                        next[j] = at[j] || (j > 0 && next[j - 1] && name[j - 1] != '/');
                    }
                }
                Token::Any => {
                    for j in 0..=n {
                        next[j] = at[j] || (j > 0 && next[j - 1]);
                    }
                }
                Token::Folders => {
                    // From each start, any run that ends just after a `/`.
                    let mut reached = false;
                    for j in 0..=n {
                        next[j] = at[j] || (reached && j > 0 && name[j - 1] == '/');
                        reached |= at[j];
                    }
                }
            }
            at = next;
        }
        at[n]
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn patterns() {
        for (pattern, name, matches) in [
            ("SHA256SUMS", "SHA256SUMS", true),
            ("./SHA256SUMS", "SHA256SUMS", true),
            ("SHA256SUMS", "meta/SHA256SUMS", false),
            ("*.tmp", "upload.tmp", true),
            ("*.tmp", "etc/x.tmp", false),
            ("*/*.tmp", "etc/x.tmp", true),
            ("**/*.tmp", "upload.tmp", true),
            ("**/*.tmp", "a/b/c.tmp", true),
            ("**/*.tmp", "a/b/c.tmpx", false),
            ("logs", "logs", true),
            ("logs/", "logs", true),
            ("logs", "logs2", false),
            ("logs/**", "logs/old/a.log", true),
            ("a**z", "a/b/z", true),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("db/**/dump.sql", "db/dump.sql", true),
            ("db/**/dump.sql", "db/x/y/dump.sql", true),
            ("db/**/dump.sql", "dbx/dump.sql", false),
            ("café *", "café au lait", true),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("/abs/path", "abs/path", false),
        ] {
            assert_eq!(
                Pattern::new(pattern).matches(name),
                matches,
                "{pattern} ~ {name}"
            );
        }
    }

    #[test]
    fn a_pathological_pattern_stays_cheap() {
        let pattern = Pattern::new(&"*a".repeat(50));
        let name = "a".repeat(4000) + "b";
        let started = std::time::Instant::now();
        assert!(!pattern.matches(&name));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
