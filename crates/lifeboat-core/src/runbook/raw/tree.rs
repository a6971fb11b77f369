//! A schema-free view of the YAML with positions, built only after the typed parse failed.
//!
//! serde stops at its first error and says where, but not under which key. Reading the same
//! text again into this tree lets us name the key path of that error, and find every other
//! unknown or duplicate key in one go, so a runbook with three typos needs one round of fixes
//! instead of three.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

#[derive(Debug)]
pub(super) enum Node {
    Null,
    Scalar(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    /// How a message names what was found, e.g. `found a list`.
    pub(super) fn describe(&self) -> String {
        match self {
            Node::Null => "nothing (null)".to_owned(),
            Node::Scalar(s) => super::super::wording::quote(s),
            Node::Seq(_) => "a list".to_owned(),
            Node::Map(_) => "a map".to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Reads `text` into a tree, keeping duplicate keys so they can be reported. `None` when the
/// text is not YAML the tree can hold (a syntax error, a non-scalar key).
pub(super) fn build(text: &str) -> Option<Spanned<Node>> {
    let options = super::yaml_options(serde_saphyr::DuplicateKeyPolicy::PassThrough);
    serde_saphyr::from_str_with_options(text, options).ok()
}

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// `steps[1].http.url`; empty for the document itself.
pub(super) fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn pos(location: &Location) -> (u64, u64) {
    (location.line(), location.column())
}

/// What sits at a position: the key path of the value that starts there (or, for a position
/// inside a map that is no value's start, the path of that map) and the value itself.
pub(super) fn locate<'a>(root: &'a Spanned<Node>, at: &Location) -> (Vec<Seg>, Option<&'a Node>) {
    let target = pos(at);
    let mut path = Vec::new();
    let mut node = root;
    loop {
        // The outermost value starting here wins: a block map starts at its first key, and an
        // error there is about the map, not the key.
        if pos(&node.referenced) == target {
            return (path, Some(&node.value));
        }
        match &node.value {
            Node::Map(entries) => {
                let Some((key, value)) = entries
                    .iter()
                    .filter(|(k, _)| pos(&k.referenced) <= target)
                    .max_by_key(|(k, _)| pos(&k.referenced))
                else {
                    return (path, None);
                };
                if pos(&key.referenced) == target {
                    return (path, None);
                }
                path.push(Seg::Key(key.value.clone()));
                if pos(&value.referenced) > target {
                    return (path, None);
                }
                node = value;
            }
            Node::Seq(items) => {
                let Some((i, item)) = items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| pos(&item.referenced) <= target)
                    .max_by_key(|(_, item)| pos(&item.referenced))
                else {
                    return (path, None);
                };
                path.push(Seg::Index(i));
                node = item;
            }
            Node::Null | Node::Scalar(_) => return (path, None),
        }
    }
}

/// A key serde would refuse.
pub(super) enum KeyIssue<'a> {
    Unknown {
        map: Vec<Seg>,
        key: &'a Spanned<String>,
        allowed: &'static [&'static str],
    },
    Duplicate {
        map: Vec<Seg>,
        key: &'a Spanned<String>,
        first: &'a Spanned<String>,
    },
}

/// Every unknown key (per `allowed_at`, which gives the keys allowed in the map at a path, or
/// `None` where any key goes) and every repeated key, in document order. The values of
/// unknown keys are not searched: their keys mean nothing yet.
pub(super) fn key_issues<'a>(
    root: &'a Spanned<Node>,
    allowed_at: &dyn Fn(&[Seg]) -> Option<&'static [&'static str]>,
) -> Vec<KeyIssue<'a>> {
    let mut issues = Vec::new();
    walk(root, &mut Vec::new(), allowed_at, &mut issues);
    issues
}

fn walk<'a>(
    node: &'a Spanned<Node>,
    path: &mut Vec<Seg>,
    allowed_at: &dyn Fn(&[Seg]) -> Option<&'static [&'static str]>,
    issues: &mut Vec<KeyIssue<'a>>,
) {
    match &node.value {
        Node::Map(entries) => {
            let allowed = allowed_at(path);
            for (i, (key, value)) in entries.iter().enumerate() {
                if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.value == key.value) {
                    issues.push(KeyIssue::Duplicate {
                        map: path.clone(),
                        key,
                        first,
                    });
                    continue;
                }
                if let Some(allowed) = allowed
                    && !allowed.contains(&key.value.as_str())
                {
                    issues.push(KeyIssue::Unknown {
                        map: path.clone(),
                        key,
                        allowed,
                    });
                    continue;
                }
                path.push(Seg::Key(key.value.clone()));
                walk(value, path, allowed_at, issues);
                path.pop();
            }
        }
        Node::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(item, path, allowed_at, issues);
                path.pop();
            }
        }
        Node::Null | Node::Scalar(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(text: &str, line: u64, column: u64) -> (String, Option<String>) {
        let root = build(text).expect("tree");
        let at = find_location(&root, line, column).expect("a node or key at that position");
        let (path, node) = locate(&root, &at);
        (path_string(&path), node.map(Node::describe))
    }

    /// Some location in the tree with this line and column (Location has no public
    /// constructor for arbitrary positions).
    fn find_location(node: &Spanned<Node>, line: u64, column: u64) -> Option<Location> {
        if pos(&node.referenced) == (line, column) {
            return Some(node.referenced);
        }
        match &node.value {
            Node::Map(entries) => entries.iter().find_map(|(k, v)| {
                if pos(&k.referenced) == (line, column) {
                    Some(k.referenced)
                } else {
                    find_location(v, line, column)
                }
            }),
            Node::Seq(items) => items.iter().find_map(|i| find_location(i, line, column)),
            _ => None,
        }
    }

    #[test]
    fn locates_values_and_keys() {
        let text = "name: x\nsteps:\n  - run: [a, b]\n  - http:\n      url: 5\n";
        assert_eq!(located(text, 1, 7), ("name".into(), Some("\"x\"".into())));
        assert_eq!(
            located(text, 3, 10),
            ("steps[0].run".into(), Some("a list".into()))
        );
        assert_eq!(
            located(text, 3, 14),
            ("steps[0].run[1]".into(), Some("\"b\"".into()))
        );
        assert_eq!(
            located(text, 5, 12),
            ("steps[1].http.url".into(), Some("\"5\"".into()))
        );
        // A block map starts at its first key: the map is what is found there.
        assert_eq!(
            located(text, 5, 7),
            ("steps[1].http".into(), Some("a map".into()))
        );
    }

    #[test]
    fn finds_all_unknown_and_duplicate_keys() {
        let text = "a: 1\nzz: 2\nb:\n  c: 1\n  c: 2\n  yy: 3\nzz: 4\n";
        let root = build(text).expect("tree");
        let allowed = |path: &[Seg]| match path {
            [] => Some(&["a", "b"][..]),
            _ => None,
        };
        let issues: Vec<String> = key_issues(&root, &allowed)
            .into_iter()
            .map(|issue| match issue {
                KeyIssue::Unknown { map, key, .. } => {
                    format!(
                        "unknown {}/{} at {:?}",
                        path_string(&map),
                        key.value,
                        pos(&key.referenced)
                    )
                }
                KeyIssue::Duplicate { map, key, first } => format!(
                    "duplicate {}/{} at {:?}, first {:?}",
                    path_string(&map),
                    key.value,
                    pos(&key.referenced),
                    pos(&first.referenced)
                ),
            })
            .collect();
        assert_eq!(
            issues,
            [
                "unknown /zz at (2, 1)",
                "duplicate b/c at (5, 3), first (4, 3)",
                "duplicate /zz at (7, 1), first (2, 1)",
            ]
        );
    }
}
