//! Placement: a runner's labels (`lifeboat schedule --labels region=eu,net=dc1`) and the
//! labels a runbook asks of the runners that drill it (`runners: {region: eu}`), so a backup
//! is drilled next to its storage. Keys and values are short lowercase words
//! (`[a-z0-9_.-]`, at most [`MAX_LABEL`] characters), at most [`MAX_LABELS`] pairs: they
//! are shown in logs and status, and compared, nothing more.

use std::collections::BTreeMap;

/// The longest a label's key or value may be.
pub const MAX_LABEL: usize = 63;

/// The most pairs a runner or a runbook may carry.
pub const MAX_LABELS: usize = 16;

/// Labels, ordered by key.
pub type Labels = BTreeMap<String, String>;

/// Refuses a key or value that is empty, too long, or holds anything but `[a-z0-9_.-]`.
pub fn check_label(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("is empty".into());
    }
    if part.len() > MAX_LABEL {
        return Err(format!("is longer than {MAX_LABEL} characters"));
    }
    if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "holds {c:?}; keys and values are made of a-z, 0-9, '_', '.' and '-'"
        ));
    }
    Ok(())
}

/// Reads `key=value,key=value` (`--labels`). An empty text is no labels.
pub fn parse_labels(text: &str) -> Result<Labels, String> {
    let mut labels = Labels::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("{pair:?} is not KEY=VALUE"));
        };
        check_label(key).map_err(|e| format!("key {key:?} {e}"))?;
        check_label(value).map_err(|e| format!("value {value:?} of {key} {e}"))?;
        if labels.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!("{key} is given twice"));
        }
    }
    if labels.len() > MAX_LABELS {
        return Err(format!("more than {MAX_LABELS} labels"));
    }
    Ok(labels)
}

/// Whether a runner with `labels` may drill a runbook asking for `wanted`: it carries every
/// pair. A runbook asking for nothing is drilled by any runner.
pub fn placed(labels: &Labels, wanted: &Labels) -> bool {
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_and_checked() {
        let l = parse_labels("region=eu,net=dc1").unwrap();
        assert_eq!(l.get("region").map(String::as_str), Some("eu"));
        assert_eq!(l.len(), 2);
        assert_eq!(parse_labels("").unwrap(), Labels::new());
        for (bad, why) in [
            ("region", "\"region\" is not KEY=VALUE"),
            ("Region=eu", "key \"Region\" holds 'R'"),
            ("region=e u", "value \"e u\" of region holds ' '"),
            ("a=1,a=2", "a is given twice"),
            ("region=", "value \"\" of region is empty"),
        ] {
            let e = parse_labels(bad).unwrap_err();
            assert!(e.starts_with(why), "{bad}: {e}");
        }
        assert!(parse_labels(&format!("k={}", "x".repeat(64))).is_err());
    }

    #[test]
    fn a_runner_is_placed_when_it_carries_every_pair_asked_for() {
        let runner = parse_labels("region=eu,net=dc1").unwrap();
        assert!(placed(&runner, &Labels::new()));
        assert!(placed(&runner, &parse_labels("region=eu").unwrap()));
        assert!(!placed(&runner, &parse_labels("region=us").unwrap()));
        assert!(!placed(
            &runner,
            &parse_labels("region=eu,disk=ssd").unwrap()
        ));
    }
}
