//! A small SVG line chart of a soak's samples: one panel per series over the run's time.

use std::fmt::Write;

/// One series to draw: its title and one value per sample.
pub struct Series<'a> {
    /// Title of the panel (with its unit).
    pub title: &'a str,
    /// The values, one per sample.
    pub values: Vec<f64>,
}

const W: f64 = 420.0;
const H: f64 = 170.0;
const PAD: f64 = 42.0;

/// An SVG of `series` in panels two wide, against `minutes` (the time of each sample).
pub fn svg(title: &str, minutes: &[f64], series: &[Series<'_>]) -> String {
    let rows = series.len().div_ceil(2);
    let (width, height) = (2.0 * W, 30.0 + rows as f64 * H);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        width / 2.0,
        escape(title)
    );
    let t_max = minutes.iter().cloned().fold(0.0_f64, f64::max).max(1e-9);
    for (i, s) in series.iter().enumerate() {
        let (x0, y0) = ((i % 2) as f64 * W, 30.0 + (i / 2) as f64 * H);
        let (left, top, pw, ph) = (x0 + PAD, y0 + 18.0, W - PAD - 12.0, H - 18.0 - 28.0);
        let lo = s
            .values
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min)
            .min(0.0);
        let mut hi = s.values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if !hi.is_finite() || hi <= lo {
            hi = lo + 1.0;
        }
        hi *= 1.05;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
             <rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
             <text x=\"{left}\" y=\"{}\">0</text>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.1} min</text>\n",
            x0 + W / 2.0,
            y0 + 13.0,
            escape(s.title),
            left - 4.0,
            top + 9.0,
            short(hi),
            left - 4.0,
            top + ph,
            short(lo),
            top + ph + 14.0,
            left + pw,
            top + ph + 14.0,
            t_max
        );
        let points: Vec<String> = minutes
            .iter()
            .zip(&s.values)
            .map(|(t, v)| {
                let x = left + pw * t / t_max;
                let y = top + ph - ph * (v - lo) / (hi - lo);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.2\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    out.push_str("</svg>\n");
    out
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
