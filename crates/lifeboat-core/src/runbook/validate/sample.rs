//! `sample`: how many files a drill verifies, and the seed that picks them.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::{SampleSize, SampleSpec};
use crate::runbook::raw::RawSample;
use crate::runbook::wording::quote;

pub(super) fn sample(c: &mut Check<'_>, raw: &Spanned<RawSample>) -> Option<SampleSpec> {
    let RawSample {
        files,
        percent,
        seed,
    } = &raw.value;
    let size = match (files, percent) {
        (Some(_), Some(_)) => {
            c.at(
                raw,
                "sample: set exactly one of `files` and `percent`, not both".to_owned(),
            );
            None
        }
        (None, None) => {
            c.at(
                raw,
                "sample: set exactly one of `files` and `percent` (or remove `sample` to verify every file)"
                    .to_owned(),
            );
            None
        }
        (Some(files), None) => c
            .integer(
                "sample.files",
                files,
                1..=i128::from(u64::MAX),
                "a whole number of files, at least 1",
            )
            .map(SampleSize::Files),
        (None, Some(percent)) => {
            let parsed = percent
                .value
                .parse::<f64>()
                .ok()
                .filter(|p| *p > 0.0 && *p <= 100.0);
            if parsed.is_none() {
                c.at(
                    percent,
                    format!(
                        "sample.percent: invalid value {}: expected a number greater than 0 and at most 100, e.g. 10 or 2.5",
                        quote(&percent.value)
                    ),
                );
            }
            parsed.map(SampleSize::Percent)
        }
    };
    let seed = seed.as_ref().map(|s| {
        c.integer::<u64>(
            "sample.seed",
            s,
            0..=i128::from(u64::MAX),
            "a whole number from 0 to 18446744073709551615",
        )
    });
    let seed = match seed {
        None => None,
        Some(s) => Some(s?),
    };
    Some(SampleSpec { size: size?, seed })
}
