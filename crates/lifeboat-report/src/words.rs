//! The words and numbers every surface shares: verdict words, whether an objective was met,
//! durations, sizes, percentages, instants, and the [`Sentence`] that carries text from
//! outside lifeboat to each surface's escaping.
//!
//! A word here is the only spelling of it: the terminal, `report.md`, `report.html` and the
//! period reports take it from here, so they cannot disagree.

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;

/// How a value reads: good news, bad news, a warning, or a quiet note. Each surface shows it
/// its own way (a CSS class, a terminal colour, bold Markdown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Quiet,
}

impl Tone {
    /// The CSS class of `report.html`'s style sheet.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "ok",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::Quiet => "note",
        }
    }

    pub fn of(outcome: Outcome) -> Tone {
        match outcome {
            Outcome::Passed => Tone::Good,
            Outcome::Failed => Tone::Bad,
            Outcome::Error => Tone::Warn,
        }
    }
}

/// A drill's verdict, in capitals wherever a person reads it ([`Outcome::verdict`]: one
/// spelling, shared with the webhooks).
pub fn verdict(outcome: Outcome) -> &'static str {
    outcome.verdict()
}

/// The outcome of a point, file or step: the record's own word (`passed`, `failed`, `error`).
pub fn outcome(outcome: Outcome) -> &'static str {
    outcome.as_str()
}

/// Whether a measured value met its objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Met {
    Met,
    NotMet,
    /// The runbook sets no such objective.
    NoObjective,
}

impl Met {
    pub fn of(met: Option<bool>) -> Met {
        match met {
            Some(true) => Met::Met,
            Some(false) => Met::NotMet,
            None => Met::NoObjective,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Met::Met => "met",
            Met::NotMet => "NOT met",
            Met::NoObjective => "no objective",
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Met::Met => Tone::Good,
            Met::NotMet => Tone::Bad,
            Met::NoObjective => Tone::Quiet,
        }
    }
}

/// An objective in seconds, or `none`.
pub fn objective(seconds: Option<u64>) -> String {
    seconds.map_or_else(|| "none".into(), |s| human_secs(s as f64))
}

/// A measured duration, or `—` when nothing was measured.
pub fn measured(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".into(), human_secs)
}

/// `0.04s`, `12.5s`, `1h 30m 0s`, `1d 2h 0m 0s`: [`lifeboat_core::duration::human`], the one
/// spelling of a duration, which the runner's reasons, the logs and the webhooks share.
pub fn human_secs(v: f64) -> String {
    lifeboat_core::duration::human(v)
}

/// `512 B`, `3.0 MiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `n` and the noun, singular or plural: `1 file`, `3 files`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A coverage ratio in whole percent, rounded down: `87%`. `100%` only when every object is
/// covered, so a backup with one object left is never shown as done; `—` for none.
pub fn coverage_percent(ratio: Option<f64>) -> String {
    let Some(r) = ratio.filter(|r| r.is_finite()) else {
        return "—".into();
    };
    let pct = (r.clamp(0.0, 1.0) * 100.0).floor() as u64;
    let pct = if r < 1.0 { pct.min(99) } else { pct };
    format!("{pct}%")
}

/// Where coverage stands in a few words, the same on every surface: `87% on pace`, `42%
/// behind: full in 45 days` (`behind_seconds`, rounded up to whole days), or `42% behind`
/// when how long is not known.
pub fn coverage_pace(ratio: f64, on_pace: bool, behind_seconds: Option<u64>) -> String {
    let pct = coverage_percent(Some(ratio));
    match (on_pace, behind_seconds) {
        (true, _) => format!("{pct} on pace"),
        (false, Some(s)) => format!(
            "{pct} behind: full in {}",
            count(s.div_ceil(86_400).max(1), "day", "days")
        ),
        (false, None) => format!("{pct} behind"),
    }
}

/// A fraction as a percentage to three significant digits (`66.7%`, `2.50%`, `0.00250%`),
/// so a small share is never shown as `0.0%`; `—` for none.
pub fn percent(x: Option<f64>) -> String {
    let Some(x) = x else { return "—".into() };
    let pct = x * 100.0;
    if pct == 0.0 {
        return "0%".into();
    }
    format!("{pct:.prec$}%", prec = decimals(pct) as usize)
}

/// Decimals for three significant digits, at least one, at most twelve.
fn decimals(pct: f64) -> i32 {
    if !(pct > 0.0 && pct.is_finite()) {
        return 1;
    }
    let magnitude = pct.log10().floor() as i32;
    (2 - magnitude).clamp(1, 12)
}

/// `x` (a fraction) as a percentage with three significant digits, rounded *up*, so "fewer
/// than X %" never claims more than the sample supports.
pub fn percent_up(x: f64) -> String {
    let pct = x * 100.0;
    let decimals = decimals(pct);
    let scale = 10f64.powi(decimals);
    // A hair of tolerance so an exact value (e.g. 95 %) is not pushed to the next step.
    let up = ((pct * scale) - 1e-9).ceil() / scale;
    format!("{up:.prec$}%", prec = decimals as usize)
}

/// The share of a point's files its sample bounds as corrupt, with 95 % confidence: `None`
/// when no file was sampled.
///
/// With `n` files drawn at random without replacement and all verified, the chance of that
/// if a fraction `p` of the point's files were corrupt is at most `(1 − p)^n`; it drops below
/// 5 % once `p ≥ 1 − 0.05^(1/n)`. Sampling without replacement only makes the bound safer.
pub fn confidence_bound(n: u64) -> Option<f64> {
    (n > 0).then(|| 1.0 - 0.05f64.powf(1.0 / n as f64))
}

/// An instant to the second, as reports show times: `2026-11-22T02:00:03Z`.
pub fn instant(t: Timestamp) -> String {
    format!("{t:.0}")
}

/// `s` as one word of a POSIX shell command line: as it is when it holds only characters no
/// shell reads (`/srv/runbooks/db.yaml`), else in single quotes, each `'` written `'\''`
/// (`'/srv/my runbooks/db.yaml'`). For the lines lifeboat offers to paste.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A UTC day: `2026-11-22`.
pub fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// A sentence lifeboat writes, holding text from outside it (names from a backup, reasons
/// that quote them) as separate parts, so that each surface escapes exactly those: HTML
/// escapes them, Markdown shows them as code spans when they hold anything Markdown reads,
/// the terminal shows their control characters escaped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sentence {
    pub parts: Vec<Part>,
}

/// One part of a [`Sentence`].
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// lifeboat's own words and numbers.
    Words(String),
    /// A name from outside (a point id, a path, a URL): shown as code.
    Name(String),
    /// Prose from outside (a reason, a listing): shown as text.
    Text(String),
    /// A value to stand out, with an element id in HTML (the seed, the operator).
    Mark { id: &'static str, text: String },
}

impl Sentence {
    pub fn new() -> Sentence {
        Sentence::default()
    }

    pub fn words(mut self, w: impl Into<String>) -> Sentence {
        let w = w.into();
        if let Some(Part::Words(last)) = self.parts.last_mut() {
            last.push_str(&w);
        } else {
            self.parts.push(Part::Words(w));
        }
        self
    }

    pub fn name(mut self, n: impl Into<String>) -> Sentence {
        self.parts.push(Part::Name(n.into()));
        self
    }

    pub fn text(mut self, t: impl Into<String>) -> Sentence {
        self.parts.push(Part::Text(t.into()));
        self
    }

    pub fn mark(mut self, id: &'static str, t: impl Into<String>) -> Sentence {
        self.parts.push(Part::Mark { id, text: t.into() });
        self
    }

    /// The sentence as it reads, nothing escaped: for tests and for checks of its words.
    pub fn plain(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Words(s) | Part::Name(s) | Part::Text(s) | Part::Mark { text: s, .. } => {
                    s.as_str()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human_secs(0.041), "0.04s");
        assert_eq!(human_secs(12.46), "12.5s");
        assert_eq!(human_secs(5400.0), "1h 30m 0s");
        assert_eq!(human_secs(93_600.0), "1d 2h 0m 0s");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }

    #[test]
    fn coverage_is_never_rounded_up_to_complete() {
        assert_eq!(coverage_percent(Some(0.876)), "87%");
        assert_eq!(coverage_percent(Some(0.9999)), "99%");
        assert_eq!(coverage_percent(Some(1.0)), "100%");
        assert_eq!(coverage_percent(Some(0.0)), "0%");
        assert_eq!(coverage_percent(Some(f64::NAN)), "—");
        assert_eq!(coverage_percent(None), "—");
        assert_eq!(coverage_pace(0.87, true, None), "87% on pace");
        assert_eq!(
            coverage_pace(0.42, false, Some(44 * 86_400 + 1)),
            "42% behind: full in 45 days"
        );
        assert_eq!(
            coverage_pace(0.42, false, Some(3600)),
            "42% behind: full in 1 day"
        );
        assert_eq!(coverage_pace(0.42, false, None), "42% behind");
    }

    #[test]
    fn shell_words_are_quoted_only_when_a_shell_would_read_them() {
        assert_eq!(
            shell_word("/srv/runbooks/db-1.yaml"),
            "/srv/runbooks/db-1.yaml"
        );
        assert_eq!(
            shell_word("/srv/my runbooks/x.yaml"),
            "'/srv/my runbooks/x.yaml'"
        );
        assert_eq!(shell_word("/a/it's$(x)"), r"'/a/it'\''s$(x)'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn the_confidence_bound_is_one_minus_0_05_to_the_one_over_n() {
        assert_eq!(confidence_bound(0), None);
        assert!((confidence_bound(1).unwrap() - 0.95).abs() < 1e-12);
        // Rule of three: about 3/n for large n.
        let b = confidence_bound(3000).unwrap();
        assert!((b - 0.000998).abs() < 0.00001, "{b}");
        // 20 files: 1 − 0.05^(1/20) = 0.13911...
        assert!((confidence_bound(20).unwrap() - 0.139108).abs() < 1e-5);
    }

    #[test]
    fn percentages_round_up_never_down() {
        assert_eq!(percent_up(0.139108), "14.0%");
        assert_eq!(percent_up(0.95), "95.0%");
        assert_eq!(percent_up(0.0299), "2.99%");
        assert_eq!(percent_up(0.029_901), "3.00%");
        assert_eq!(percent_up(0.000998), "0.0998%");
    }

    #[test]
    fn shares_keep_three_significant_digits() {
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(Some(1.0)), "100.0%");
        assert_eq!(percent(Some(0.025)), "2.50%");
        assert_eq!(percent(Some(3.0 / 120_000.0)), "0.00250%");
        assert_eq!(percent(Some(0.0)), "0%");
        assert_eq!(percent(None), "—");
    }

    #[test]
    fn the_verdict_of_a_drill_that_could_not_complete_says_so() {
        assert_eq!(verdict(Outcome::Error), "COULD NOT COMPLETE");
        assert_eq!(Met::of(Some(false)).word(), "NOT met");
    }

    #[test]
    fn a_sentence_keeps_outside_text_apart_from_lifeboat_s_words() {
        let s = Sentence::new()
            .words("point ")
            .name("p<1>")
            .words(" failed: ")
            .words("see ")
            .text("a|b");
        assert_eq!(s.parts.len(), 4, "adjacent words join: {s:?}");
        assert_eq!(s.plain(), "point p<1> failed: see a|b");
    }
}
