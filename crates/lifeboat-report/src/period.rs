//! The period report (`lifeboat report`), rendered from [`lifeboat_evidence::period`]'s
//! model through one view ([`PeriodView`]) as HTML, Markdown or CSV, or serialized as JSON;
//! the format is chosen from the output file's extension.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use lifeboat_evidence::period::PeriodReport;

mod view;

pub use view::{
    CoverageFailureView, CoverageView, DrillRowView, FailureView, GapView, MetCount, PeriodView,
    RunbookView,
};

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

/// The link from the folder a report is written to (`from`) to the evidence folder (`to`),
/// both absolute and without `.` or `..` (canonical paths): `../evidence`, `.` when they are
/// the same folder, every name percent-encoded (see [`encode_path`]). Relative, so the
/// report's links to each drill's `report.html` hold wherever the two folders move together.
/// `None` for a path that is not absolute or not canonical.
pub fn relative_href(from: &Path, to: &Path) -> Option<String> {
    let names = |p: &Path| -> Option<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for c in p.components() {
            match c {
                Component::RootDir => {}
                Component::Normal(n) => out.push(n.as_bytes().to_vec()),
                Component::Prefix(_) | Component::CurDir | Component::ParentDir => return None,
            }
        }
        Some(out)
    };
    if !from.is_absolute() || !to.is_absolute() {
        return None;
    }
    let (from, to) = (names(from)?, names(to)?);
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(to[common..].iter().map(|n| encode(n)));
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// A `/`-separated path below the evidence folder (`RUNBOOK/RUN_ID/report.html`) as a link:
/// each name percent-encoded.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|n| encode(n.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// One name in a link: every byte but the unreserved `A-Z a-z 0-9 - . _ ~` as `%XX`, so a
/// folder name (which another account can choose: SECURITY.md, class 7) can add no segment,
/// query, fragment or markup, and leaves nothing for HTML, Markdown or a CSV cell to read. A
/// name of dots alone, which a browser would take as `.` or `..`, has its dots encoded too.
fn encode(name: &[u8]) -> String {
    if !name.is_empty() && name.iter().all(|b| *b == b'.') {
        return "%2E".repeat(name.len());
    }
    let mut s = String::with_capacity(name.len());
    for &b in name {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_and_every_name_is_encoded() {
        let p = Path::new;
        assert_eq!(
            relative_href(p("/srv/reports/q4"), p("/srv/evidence")).as_deref(),
            Some("../../evidence")
        );
        assert_eq!(
            relative_href(p("/srv/evidence"), p("/srv/evidence")).as_deref(),
            Some(".")
        );
        assert_eq!(
            relative_href(p("/srv"), p("/srv/my evidence")).as_deref(),
            Some("my%20evidence")
        );
        assert_eq!(relative_href(p("reports"), p("/srv/evidence")), None);
        assert_eq!(relative_href(p("/srv/a/../b"), p("/srv/evidence")), None);
        assert_eq!(
            encode_path("hr-<b>docs&\"'/x\"><img>](y) #?%41\u{1b}/report.html"),
            "hr-%3Cb%3Edocs%26%22%27/x%22%3E%3Cimg%3E%5D%28y%29%20%23%3F%2541%1B/report.html"
        );
        assert_eq!(
            encode_path("../../etc/report.html"),
            "%2E%2E/%2E%2E/etc/report.html"
        );
    }

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
