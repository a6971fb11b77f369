//! lifeboat's human reports, rendered from evidence records: `report.md` and `report.html`
//! beside each record ([`RunPages`]), the period report over many ([`period`]), and the
//! drill's summary on the terminal ([`terminal`]).
//!
//! Every report is rendered from one view model: [`run::RunView`] for a drill,
//! [`period::PeriodView`] for a period. A view computes every sentence, verdict word and
//! number once (the words themselves are [`words`]'), and each surface renders it: HTML
//! through askama templates (`templates/`, checked when this crate compiles) that escape
//! every value with [`html::Html`]; Markdown ([`markdown`]), CSV ([`csv`]) and the terminal
//! ([`terminal`]) through small writers, each with the one escaping function of its surface.
//! The SVG charts are drawn in code ([`chart`]).
//!
//! The evidence store (`lifeboat-evidence`) writes the pages [`RunPages`] renders; it never
//! imports a renderer, which this crate's place above it enforces.

use lifeboat_core::evidence::Evidence;
use lifeboat_evidence::{Page, Pages};

pub mod chart;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod period;
pub mod run;
pub mod terminal;
pub mod words;

/// `report.md` and `report.html`, the pages written beside every record.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunPages;

impl Pages for RunPages {
    fn pages(&self, evidence: &Evidence, record_sha256: &str) -> Vec<Page> {
        let view = run::RunView::new(evidence, Some(record_sha256));
        vec![
            Page {
                name: "report.md",
                bytes: markdown::run(&view).into_bytes(),
            },
            Page {
                name: "report.html",
                bytes: html::run_page(&view).into_bytes(),
            },
        ]
    }
}
