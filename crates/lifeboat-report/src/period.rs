//! The period report (`lifeboat report`), rendered from [`lifeboat_evidence::period`]'s
//! model through one view ([`PeriodView`]) as HTML, Markdown or CSV, or serialized as JSON;
//! the format is chosen from the output file's extension.

use std::path::Path;

use lifeboat_evidence::period::PeriodReport;

mod view;

pub use view::{DrillRowView, FailureView, GapView, MetCount, PeriodView, RunbookView};

/// The output format, from the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Json,
    Csv,
}

impl Format {
    /// The extensions accepted, for error messages.
    pub const ALLOWED: &'static str = ".html, .md, .json, .csv";

    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "html" | "htm" => Some(Format::Html),
            "md" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Renders the report in `format`.
pub fn render(r: &PeriodReport, format: Format) -> String {
    match format {
        // The model as it is: the data every other format is rendered from.
        Format::Json => {
            let s = serde_json::to_string_pretty(r).unwrap_or_default();
            let mut s = lifeboat_core::text::harden_json(&s).into_owned();
            s.push('\n');
            s
        }
        Format::Csv => crate::csv::period(r),
        Format::Markdown => crate::markdown::period(&PeriodView::new(r)),
        Format::Html => crate::html::period_page(&PeriodView::new(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_the_extension() {
        assert_eq!(Format::from_path(Path::new("r.HTML")), Some(Format::Html));
        assert_eq!(Format::from_path(Path::new("r.md")), Some(Format::Markdown));
        assert_eq!(Format::from_path(Path::new("r.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("a/r.csv")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("r.pdf")), None);
        assert_eq!(Format::from_path(Path::new("report")), None);
    }
}
