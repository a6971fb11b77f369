//! `coverage`: the window every stored object must be verified within, and the most one
//! drill's coverage phase may read.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::CoverageSpec;
use crate::runbook::raw::RawCoverage;
use crate::runbook::wording::quote;

/// The units a size may be written in, with their bytes: binary multiples, as `df -h` and
/// object-store consoles show them.
const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

pub(super) fn coverage(c: &mut Check<'_>, raw: &Spanned<RawCoverage>) -> Option<CoverageSpec> {
    let RawCoverage { within, budget } = &raw.value;
    let within = match within {
        Some(w) => c.positive_duration("coverage.within", w),
        None => {
            c.missing(Some(raw), "coverage.within", "a duration such as 30d");
            None
        }
    };
    let budget = match budget {
        None => Some(None),
        Some(b) => match parse_size(&b.value) {
            Some(0) | None => {
                c.at(
                    b,
                    format!(
                        "coverage.budget: invalid size {}: expected a whole number above 0 \
                         followed by one of {}, e.g. 200GiB",
                        quote(&b.value),
                        UNITS.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ")
                    ),
                );
                None
            }
            Some(n) => Some(Some(n)),
        },
    };
    Some(CoverageSpec {
        within: within?,
        budget: budget?,
    })
}

/// `200GiB`, `512 MiB`, `4096B`: a whole number and a binary unit; `None` when it is not one
/// or overflows.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let (_, multiple) = UNITS.iter().find(|(u, _)| *u == unit.trim())?;
    number.checked_mul(*multiple)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_are_a_whole_number_and_a_binary_unit() {
        for (text, bytes) in [
            ("200GiB", Some(200 << 30)),
            ("512 MiB", Some(512 << 20)),
            ("1TiB", Some(1 << 40)),
            ("4096B", Some(4096)),
            ("3KiB", Some(3072)),
            ("10", None),
            ("1.5GiB", None),
            ("10GB", None),
            ("GiB", None),
            ("-1GiB", None),
            ("99999999999TiB", None),
        ] {
            assert_eq!(parse_size(text), bytes, "{text}");
        }
    }
}
