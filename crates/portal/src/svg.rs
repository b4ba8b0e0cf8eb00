//! The burndown chart, drawn on the server as SVG: references to the old
//! dataset left on default branches, and changes waiting, over time.

use std::fmt::Write as _;

use tern_catalog::BurndownPoint;

const W: f64 = 760.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 30.0;

/// The chart as an SVG element; a short note when there is nothing to draw.
pub fn burndown(points: &[BurndownPoint], now: i64) -> String {
    if points.is_empty() {
        return "<p class=\"muted\">No burndown yet: it is drawn from the references counted at each run.</p>".into();
    }
    let mut pts: Vec<BurndownPoint> = points.to_vec();
    // Extend the last measurement to now, so the chart reads to the present.
    if let Some(last) = pts.last().cloned() {
        if now > last.at {
            pts.push(BurndownPoint { at: now, ..last });
        }
    }
    let t0 = pts.first().map_or(0, |p| p.at);
    let t1 = pts.last().map_or(1, |p| p.at).max(t0 + 1);
    let ymax = pts
        .iter()
        .map(|p| p.remaining.max(p.open))
        .max()
        .unwrap_or(1)
        .max(1);
    let ymax = nice_ceiling(ymax);
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |v: u64| TOP + (1.0 - v as f64 / ymax as f64) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"burndown\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Burndown: references left and changes waiting over time\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for i in 0..=4 {
        let v = ymax * i / 4;
        let yy = y(v);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let step = |sel: &dyn Fn(&BurndownPoint) -> u64| {
        let mut d = String::new();
        for (i, p) in pts.iter().enumerate() {
            let (px, py) = (x(p.at), y(sel(p)));
            if i == 0 {
                let _ = write!(d, "M{px:.1},{py:.1}");
            } else {
                let _ = write!(d, " H{px:.1} V{py:.1}");
            }
        }
        d
    };
    let remaining = step(&|p| p.remaining);
    let base = y(0);
    let _ = write!(
        s,
        "<path class=\"area\" d=\"{remaining} V{base:.1} H{:.1} Z\"/><path class=\"remaining\" d=\"{remaining}\"/><path class=\"open\" d=\"{}\"/>",
        x(t0),
        step(&|p| p.open)
    );
    for p in points {
        let _ = write!(
            s,
            "<circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} UTC: {} references left, {} waiting</title></circle>",
            x(p.at),
            y(p.remaining),
            clock(p.at),
            p.remaining,
            p.open
        );
    }
    let _ = write!(
        s,
        "<text class=\"axis\" x=\"{LEFT}\" y=\"{}\">{}</text><text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        H - 8.0,
        clock(t0),
        W - RIGHT,
        H - 8.0,
        clock(t1)
    );
    s.push_str("</svg>");
    s
}

/// The smallest `4 × step` at or above `v`, with `step` one of 1, 2, 5 × 10^k,
/// so the four grid lines fall on round numbers.
fn nice_ceiling(v: u64) -> u64 {
    let need = v.div_ceil(4).max(1);
    let mut m = 1;
    loop {
        for f in [1, 2, 5] {
            if f * m >= need {
                return 4 * f * m;
            }
        }
        m *= 10;
    }
}

/// `HH:MM` of a Unix time, UTC.
pub fn clock(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lines_and_scales_to_a_round_number() {
        let pts = [
            BurndownPoint {
                at: 1000,
                remaining: 37,
                open: 3,
            },
            BurndownPoint {
                at: 1600,
                remaining: 5,
                open: 1,
            },
        ];
        let svg = burndown(&pts, 1600);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("class=\"remaining\""));
        assert!(svg.contains(">40</text>"), "{svg}");
        assert!(svg.contains("37 references left"));
        assert_eq!(nice_ceiling(1), 4);
        assert_eq!(nice_ceiling(5), 8);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(37), 40);
        assert_eq!(nice_ceiling(41), 80);
        assert!(burndown(&[], 0).contains("No burndown"));
    }
}
