//! A minimal SVG line chart: axes with ticks, one polyline per series, a legend.
//!
//! Written by hand rather than with a plotting crate: the plots are simple, the output must
//! be plain, diffable and well-formed XML (it is committed next to the JSON), and a plotting
//! crate would bring fonts and rasterizers the load generator does not need. Each series is
//! a `<polyline class="series" data-series="NAME">`, so tests and scripts can find it.

use std::fmt::Write;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 450.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#7f7f7f",
];

/// One axis: a label, linear or log10, and optional fixed ticks `(value, label)`.
#[derive(Debug, Clone, Default)]
pub struct Axis {
    pub label: String,
    pub log: bool,
    pub ticks: Option<Vec<(f64, String)>>,
}

impl Axis {
    pub fn linear(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            ..Self::default()
        }
    }

    pub fn log(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            log: true,
            ticks: None,
        }
    }

    fn map(&self, v: f64) -> Option<f64> {
        if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            v.is_finite().then_some(v)
        }
    }

    /// The plotted range (in mapped units) and its ticks.
    fn layout(&self, values: impl Iterator<Item = f64>) -> ((f64, f64), Vec<(f64, String)>) {
        let mapped: Vec<f64> = values.filter_map(|v| self.map(v)).collect();
        let lo = mapped.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = mapped.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if let Some(ticks) = &self.ticks {
            let t: Vec<(f64, String)> = ticks
                .iter()
                .filter_map(|(v, l)| self.map(*v).map(|m| (m, l.clone())))
                .collect();
            let tlo = t.iter().map(|x| x.0).fold(lo, f64::min);
            let thi = t.iter().map(|x| x.0).fold(hi, f64::max);
            return (span(tlo, thi), t);
        }
        if !lo.is_finite() {
            return ((0.0, 1.0), Vec::new());
        }
        if self.log {
            let (a, b) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
            let ticks = (a as i32..=b as i32)
                .map(|e| (f64::from(e), number(10f64.powi(e))))
                .collect();
            return ((a, b), ticks);
        }
        let lo = lo.min(0.0);
        let step = nice_step((hi - lo) / 5.0);
        let top = (hi / step).ceil().max(1.0) * step;
        let ticks = (0..)
            .map(|i| lo + f64::from(i) * step)
            .take_while(|v| *v <= top + step / 2.0)
            .map(|v| (v, number(v)))
            .collect();
        ((lo, top), ticks)
    }
}

fn span(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// `1500` → `1.5k`, `2000000` → `2M`, `0.5` → `0.5`.
fn number(v: f64) -> String {
    let (n, unit) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let s = format!("{n:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

/// Escapes text for XML content and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A named line of `(x, y)` points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Draw a dot at each point (sparse data such as a rate sweep).
    pub markers: bool,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            markers: false,
        }
    }
}

/// A line chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
}

impl Chart {
    /// The chart as a standalone SVG document.
    pub fn render(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let ((x0, x1), xticks) = self.x.layout(points().map(|p| p.0));
        let ((y0, y1), yticks) = self.y.layout(points().map(|p| p.1));
        let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let px = |v: f64| LEFT + (v - x0) / (x1 - x0) * pw;
        let py = |v: f64| TOP + ph - (v - y0) / (y1 - y0) * ph;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text class="title" x="{}" y="22" text-anchor="middle" font-size="15">{}</text>
<g class="axes" stroke="black" fill="none">
<line x1="{LEFT}" y1="{}" x2="{}" y2="{}"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}"/>
</g>
"#,
            WIDTH / 2.0,
            escape(&self.title),
            TOP + ph,
            LEFT + pw,
            TOP + ph,
            TOP + ph,
        );
        s.push_str("<g class=\"ticks\" fill=\"black\">\n");
        for (v, label) in &xticks {
            let x = px(*v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{TOP}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 16.0,
                escape(label)
            );
        }
        for (v, label) in &yticks {
            let y = py(*v);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                escape(label)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>
<text transform="translate(18 {}) rotate(-90)" text-anchor="middle">{}</text>
</g>"#,
            LEFT + pw / 2.0,
            HEIGHT - 12.0,
            escape(&self.x.label),
            TOP + ph / 2.0,
            escape(&self.y.label)
        );
        for (i, series) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mapped: Vec<(f64, f64)> = series
                .points
                .iter()
                .filter_map(|(x, y)| Some((px(self.x.map(*x)?), py(self.y.map(*y)?))))
                .collect();
            let coords: Vec<String> = mapped
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline class="series" data-series="{}" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                escape(&series.name),
                coords.join(" ")
            );
            if series.markers {
                for (x, y) in &mapped {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
                    );
                }
            }
            let ly = TOP + 10.0 + 18.0 * i as f64;
            let lx = LEFT + pw + 12.0;
            let _ = writeln!(
                s,
                r#"<g class="legend"><line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text></g>"#,
                lx + 18.0,
                lx + 24.0,
                ly + 4.0,
                escape(&series.name)
            );
        }
        if self.series.iter().all(|s| s.points.is_empty()) {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">no data</text>"#,
                LEFT + pw / 2.0,
                TOP + ph / 2.0
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_numbers_are_round() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(130.0), 200.0);
        assert_eq!(nice_step(4_100.0), 5_000.0);
        assert_eq!(number(1500.0), "1.5k");
        assert_eq!(number(2_000_000.0), "2M");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(40.0), "40");
    }

    #[test]
    fn log_axis_drops_non_positive_values_and_ticks_powers_of_ten() {
        let a = Axis::log("us");
        let ((lo, hi), ticks) = a.layout([0.0, 30.0, 4000.0].into_iter());
        assert_eq!((lo, hi), (1.0, 4.0));
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["10", "100", "1k", "10k"]);
    }

    #[test]
    fn text_is_escaped() {
        let c = Chart {
            title: "a<b & \"c\"".into(),
            x: Axis::linear("x"),
            y: Axis::linear("y"),
            series: vec![Series::new("s&t", vec![(0.0, 1.0), (1.0, 2.0)])],
        };
        let svg = c.render();
        assert!(svg.contains("a&lt;b &amp; &quot;c&quot;"), "{svg}");
        assert!(svg.contains(r#"data-series="s&amp;t""#), "{svg}");
    }
}
