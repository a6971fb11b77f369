//! The HTML pages: `report.html` for one run ([`render_run`]) and the period report, rendered
//! through askama templates (`templates/`) from the view models, and the one HTML escaper
//! they all use ([`Html`], [`escape`]).
//!
//! Pages are self-contained: inline CSS, inline SVG, no script, font, stylesheet or image
//! from anywhere else, so they read the same offline, in an archive, or printed, and a
//! `Content-Security-Policy` forbids loading anything. Every `{{ value }}` in a template is
//! escaped by [`Html`] (configured in `askama.toml`), so a file named `<script>` shows as
//! those characters; askama checks the templates against the view models when this crate
//! is compiled.
//!
//! `report.html` is a rendering of `evidence.json`, not evidence in itself: the ledger and
//! the signature cover `evidence.json` only. The page shows the SHA-256 of the
//! `evidence.json` it was rendered from, so a reader can check the two belong together.

use std::fmt;

use askama::Template;
use lifeboat_core::evidence::Evidence;

use crate::period::PeriodView;
use crate::run::{Actual, RunView};
use crate::words::Part;

/// The HTML escaper of every template: `&`, `<`, `>`, `"`, `'` as entities, and before that
/// control and bidi characters as visible escapes (`lifeboat_core::text`), so a name cannot
/// reorder the text around it in the browser (a U+202E in a file name) or reach the terminal
/// of someone who reads the file with `cat`. Fit for element content and quoted attribute
/// values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        for c in lifeboat_core::text::escape(s).chars() {
            match c {
                '&' => dest.write_str("&amp;")?,
                '<' => dest.write_str("&lt;")?,
                '>' => dest.write_str("&gt;")?,
                '"' => dest.write_str("&quot;")?,
                '\'' => dest.write_str("&#39;")?,
                c => dest.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// `s` escaped by [`Html`], for markup written in code (the SVG charts).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = askama::filters::Escaper::write_escaped_str(&Html, &mut out, s);
    out
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage<'a> {
    v: &'a RunView,
}

/// Renders `report.html` for one run. `record_sha256` is the SHA-256 of the `evidence.json`
/// bytes the page is rendered from, shown so the two can be matched.
pub fn render_run(ev: &Evidence, record_sha256: Option<&str>) -> String {
    run_page(&RunView::new(ev, record_sha256))
}

/// Renders `report.html` from its view.
pub fn run_page(v: &RunView) -> String {
    render(&RunPage { v })
}

#[derive(Template)]
#[template(path = "period.html")]
struct PeriodPage<'a> {
    v: &'a PeriodView,
}

/// Renders the `.html` period report from its view.
pub fn period_page(v: &PeriodView) -> String {
    render(&PeriodPage { v })
}

/// A template into a string: writing into a `String` cannot fail, and no value's `Display`
/// in the views fails either, so an error here is a bug; the page then says so rather than
/// taking the drill down with it.
fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        format!(
            "<!DOCTYPE html>\n<p>cannot render this page: {}</p>\n",
            escape(&e.to_string())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<script>alert('x' & "y")</script>"#),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_shows_control_and_bidi_characters() {
        assert_eq!(
            escape("a\u{1b}[2J\u{202e}<b>\nz"),
            "a\\e[2J\\u{202e}&lt;b&gt;\\nz"
        );
    }
}
