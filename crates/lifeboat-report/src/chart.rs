//! The period report's charts: one measure over the period as inline SVG, drawn in code.
//!
//! Every text in a chart (its title, the tooltips that name a drill) goes through
//! [`escape`], the escaper every HTML template uses: the chart is the one piece of markup
//! the templates take as it is.

use std::fmt::Write;

use jiff::Timestamp;

use crate::html::escape;
use crate::words::{day, human_secs};

/// One dot of a chart: when, the value (`None`: nothing measured), and whether it met the
/// objective; `label` becomes the dot's tooltip.
#[derive(Clone, Debug)]
pub struct ChartPoint {
    pub at: Timestamp,
    pub value: Option<f64>,
    pub met: Option<bool>,
    pub label: String,
}

/// What a chart's values are, for its axis and its objective's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Durations in seconds, from 0 to a little above the largest value or the objective.
    Seconds,
    /// Ratios, from 0 to 100%.
    Ratio,
}

impl Scale {
    fn label(self, v: f64) -> String {
        match self {
            Scale::Seconds => axis_label(v),
            Scale::Ratio => format!("{}%", (v * 100.0).round()),
        }
    }
}

/// An inline SVG chart of one duration over the period: a dot per drill (green met, red not
/// met, a red cross on the axis where nothing was measured), the objective as a dashed line.
pub fn chart(
    title: &str,
    from: Timestamp,
    to: Timestamp,
    points: &[ChartPoint],
    objective: Option<f64>,
) -> String {
    chart_of(Scale::Seconds, title, from, to, points, objective)
}

/// [`chart`] of values on `scale`: a ratio's axis runs from 0 to 100%.
pub fn chart_of(
    scale: Scale,
    title: &str,
    from: Timestamp,
    to: Timestamp,
    points: &[ChartPoint],
    objective: Option<f64>,
) -> String {
    const W: f64 = 900.0;
    const H: f64 = 240.0;
    const L: f64 = 86.0; // left margin (axis labels)
    const R: f64 = 20.0;
    const T: f64 = 28.0;
    const B: f64 = 40.0;
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .chain(objective)
        .fold(0.0f64, f64::max);
    let top = match scale {
        Scale::Ratio => 1.0,
        Scale::Seconds if max > 0.0 => max * 1.15,
        Scale::Seconds => 1.0,
    };
    let span = (to - from)
        .total(jiff::Unit::Second)
        .unwrap_or(1.0)
        .max(1.0);
    let x = |t: Timestamp| {
        let f = (t - from).total(jiff::Unit::Second).unwrap_or(0.0) / span;
        L + f.clamp(0.0, 1.0) * (W - L - R)
    };
    let y = |v: f64| T + (1.0 - v / top) * (H - T - B);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" \
         height=\"{H}\" role=\"img\" aria-label=\"{}\" font-family=\"system-ui,sans-serif\" \
         font-size=\"12\">",
        escape(title)
    );
    let _ = write!(
        s,
        "<text x=\"{L}\" y=\"18\" font-size=\"14\" font-weight=\"600\">{}</text>",
        escape(title)
    );
    // Axes and a grid line at each quarter.
    for i in 0..=4 {
        let v = top * i as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{L}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#e3e6ea\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
            W - R,
            L - 6.0,
            yy + 4.0,
            escape(&scale.label(v))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{L}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8c959f\"/>",
        H - B,
        W - R,
        H - B
    );
    let _ = write!(
        s,
        "<text x=\"{L}\" y=\"{:.1}\" fill=\"#57606a\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
        H - B + 18.0,
        escape(&day(from)),
        W - R,
        H - B + 18.0,
        escape(&day(to))
    );
    if let Some(o) = objective {
        let yy = y(o);
        let _ = write!(
            s,
            "<line x1=\"{L}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#0969da\" \
             stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             text-anchor=\"end\" fill=\"#0969da\">objective {}</text>",
            W - R,
            W - R,
            yy - 5.0,
            escape(&match scale {
                Scale::Seconds => human_secs(o),
                Scale::Ratio => scale.label(o),
            })
        );
    }
    // A polyline through the measured values, in time order.
    let mut sorted: Vec<&ChartPoint> = points.iter().collect();
    sorted.sort_by_key(|p| p.at);
    let line: Vec<String> = sorted
        .iter()
        .filter_map(|p| p.value.map(|v| format!("{:.1},{:.1}", x(p.at), y(v))))
        .collect();
    if line.len() > 1 {
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#8c959f\" stroke-width=\"1\"/>",
            line.join(" ")
        );
    }
    for p in sorted {
        let tip = escape(&p.label);
        match p.value {
            Some(v) => {
                let colour = match p.met {
                    Some(false) => "#c62828",
                    _ => "#1a7f37",
                };
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{colour}\"><title>{tip}</title></circle>",
                    x(p.at),
                    y(v)
                );
            }
            None => {
                let (cx, cy) = (x(p.at), H - B);
                let _ = write!(
                    s,
                    "<path d=\"M{:.1} {:.1}l8 8m0 -8l-8 8\" stroke=\"#c62828\" stroke-width=\"2\"><title>{tip}</title></path>",
                    cx - 4.0,
                    cy - 4.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// A short duration for an axis: `45s`, `17.5m`, `2.6h`, `3.1d`.
fn axis_label(v: f64) -> String {
    let (n, unit) = if v >= 86_400.0 {
        (v / 86_400.0, "d")
    } else if v >= 3600.0 {
        (v / 3600.0, "h")
    } else if v >= 60.0 {
        (v / 60.0, "m")
    } else {
        (v, "s")
    };
    let text = format!("{n:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(axis_label(0.0), "0s");
        assert_eq!(axis_label(45.25), "45.2s");
        assert_eq!(axis_label(1035.0), "17.2m");
        assert_eq!(axis_label(7200.0), "2h");
        assert_eq!(axis_label(223_200.0), "2.6d");
    }
}
