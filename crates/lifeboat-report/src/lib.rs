//! lifeboat's human reports, rendered from evidence records: `report.md` ([`markdown`]) and
//! `report.html` ([`html`]) beside each record, the period report over many ([`period`]), and
//! the drill's summary on the terminal ([`terminal`]).
//!
//! The evidence store (`lifeboat-evidence`) writes the pages [`RunPages`] renders; it never
//! imports a renderer, which this crate's place above it enforces.

use lifeboat_core::evidence::Evidence;
use lifeboat_evidence::{Page, Pages};

pub mod html;
pub mod markdown;
pub mod period;
pub mod terminal;

/// `report.md` and `report.html`, the pages written beside every record.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunPages;

impl Pages for RunPages {
    fn pages(&self, evidence: &Evidence, record_sha256: &str) -> Vec<Page> {
        vec![
            Page {
                name: "report.md",
                bytes: markdown::render(evidence).into_bytes(),
            },
            Page {
                name: "report.html",
                bytes: html::render_run(evidence, Some(record_sha256)).into_bytes(),
            },
        ]
    }
}
