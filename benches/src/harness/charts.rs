//! SVG charts (plotters, SVG backend only): link time bars per workload, and the log-log
//! scaling plot of the synthetic workload.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::linker_id::LinkerId;

/// One linker's bars in a bar chart: median seconds at 1 and 2 threads (`None` when the
/// cell has no measurement; `note` then says why, e.g. "fails").
pub struct BarGroup {
    pub label: String,
    pub seconds: [Option<f64>; 2],
    pub notes: [Option<String>; 2],
}

const THREAD_SERIES: [&str; 2] = ["1 thread", "2 threads"];
const THREAD_COLORS: [RGBColor; 2] = [RGBColor(150, 185, 225), RGBColor(30, 90, 170)];

/// Grouped bars: one group per linker, one bar per thread count, values printed on top.
pub fn bar_chart(path: &Path, title: &str, groups: &[BarGroup]) -> Result<()> {
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let highest = groups.iter().flat_map(|g| g.seconds.iter().flatten()).fold(0.0f64, |a, &b| a.max(b));
    let y_max = if highest > 0.0 { highest * 1.2 } else { 1.0 };
    let n = groups.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..n as f64, 0f64..y_max)?;
    let names: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    let x_labels = move |x: &f64| -> String {
        let slot = x - 0.5;
        if (slot - slot.round()).abs() < 1e-6 && slot >= -1e-6 {
            names.get(slot.round() as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let y_labels = |y: &f64| format_seconds(*y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2 * n + 1)
        .x_label_formatter(&x_labels)
        .y_desc("median wall-clock link time")
        .y_label_formatter(&y_labels)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    for (series, name) in THREAD_SERIES.iter().enumerate() {
        let color = THREAD_COLORS[series];
        let bars = groups.iter().enumerate().filter_map(|(i, group)| {
            let seconds = group.seconds[series]?;
            let left = bar_left(i, series);
            Some(Rectangle::new([(left, 0.0), (left + 0.38, seconds)], color.filled()))
        });
        chart
            .draw_series(bars)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled()));
    }
    let value_style = TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    let note_style = TextStyle::from(("sans-serif", 12).into_font())
        .color(&RGBColor(170, 30, 30))
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    let muted_style = TextStyle::from(("sans-serif", 12).into_font())
        .color(&RGBColor(120, 120, 120))
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    for (i, group) in groups.iter().enumerate() {
        for series in 0..2 {
            let center = bar_left(i, series) + 0.19;
            let text = match (group.seconds[series], &group.notes[series]) {
                (Some(seconds), _) => Some((format_seconds(seconds), seconds, &value_style)),
                (None, Some(note)) if note == "fails" => Some((note.clone(), y_max * 0.01, &note_style)),
                (None, Some(note)) => Some((note.clone(), y_max * 0.01, &muted_style)),
                (None, None) => None,
            };
            if let Some((text, y, style)) = text {
                chart.draw_series(std::iter::once(Text::new(text, (center, y), style.clone())))?;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn bar_left(group: usize, series: usize) -> f64 {
    group as f64 + 0.1 + 0.41 * series as f64
}

/// Log-log lines: link time against total functions, one line per linker.
pub fn scaling_chart(path: &Path, title: &str, lines: &[(LinkerId, String, Vec<(f64, f64)>)]) -> Result<()> {
    let root = SVGBackend::new(path, (1000, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let points = lines.iter().flat_map(|(_, _, points)| points.iter());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        (x_min, x_max, y_min, y_max) = (1e3, 1e5, 1e-3, 1.0);
    }
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((x_min / 1.3..x_max * 1.3).log_scale(), (y_min / 1.5..y_max * 1.5).log_scale())?;
    let x_labels = |x: &f64| format_count(*x);
    let y_labels = |y: &f64| format_seconds(*y);
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .x_desc("functions in the program (log scale)")
        .y_desc("median wall-clock link time (log scale)")
        .x_label_formatter(&x_labels)
        .y_label_formatter(&y_labels)
        .draw()?;
    for (linker, name, points) in lines {
        let color = linker_color(*linker);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&point| Circle::new(point, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

pub fn linker_color(linker: LinkerId) -> RGBColor {
    match linker {
        LinkerId::RustLld => RGBColor(222, 120, 30),
        LinkerId::Lld => RGBColor(200, 40, 40),
        LinkerId::Mold => RGBColor(40, 150, 60),
        LinkerId::Wild => RGBColor(130, 60, 170),
        LinkerId::Bfd => RGBColor(110, 110, 110),
        LinkerId::Zig => RGBColor(200, 170, 20),
        LinkerId::Rivet => RGBColor(30, 90, 200),
    }
}

/// "4.20 ms", "312 ms", "1.36 s".
pub fn format_seconds(seconds: f64) -> String {
    if seconds <= 0.0 {
        "0".into()
    } else if seconds < 0.01 {
        format!("{:.2} ms", seconds * 1e3)
    } else if seconds < 0.1 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

/// 1000 -> "1k", 100000 -> "100k", 2500 -> "2.5k", 1000000 -> "1M".
pub fn format_count(n: f64) -> String {
    if n >= 1e6 {
        format!("{}M", trim(n / 1e6))
    } else if n >= 1e3 {
        format!("{}k", trim(n / 1e3))
    } else {
        trim(n)
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.1}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_counts() {
        assert_eq!(format_seconds(0.0042), "4.20 ms");
        assert_eq!(format_seconds(0.0312), "31.2 ms");
        assert_eq!(format_seconds(0.312), "312 ms");
        assert_eq!(format_seconds(1.356), "1.36 s");
        assert_eq!(format_count(1000.0), "1k");
        assert_eq!(format_count(100_000.0), "100k");
        assert_eq!(format_count(2500.0), "2.5k");
        assert_eq!(format_count(1_000_000.0), "1M");
    }
}
