//! A timeline as one self-contained SVG picture: rows with labels, bars coloured by how they
//! ended, a time axis with ticks, and markers for instants.
//!
//! Self-contained means it needs nothing else: no script, no style sheet, no web font (the
//! text asks for a monospace font the reader already has), no image. So it can be pasted into
//! rustdoc between two paragraphs, opened in a browser, or committed beside the code it shows.
//! Every number in it is written with a fixed precision, so a timeline recorded on tokio's
//! paused clock renders to the same bytes every time.
//!
//! Each bar and marker also carries its data (`data-label`, `data-start-ns`, `data-end-ns`,
//! `data-outcome`, `data-at-ns`), so a test can read a picture back and check it against the
//! timeline it came from, and a hover shows it (`<title>`).

use std::fmt::Write as _;
use std::time::Duration;

use super::timeline::{Bar, BarOutcome, Marker};

/// The width of a picture, in pixels: about the width of a docs page's text.
pub const SVG_WIDTH: u32 = 760;

const PAD: f64 = 10.0;
const ROW: f64 = 20.0;
const BAR: f64 = 12.0;
const TOP: f64 = 56.0;
/// Roughly the width of one character of 11 px monospace text.
const CHAR: f64 = 6.7;
const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/// The colour of an outcome: green, red, grey and orange, which stay apart for the common kinds
/// of colour blindness by lightness too.
fn colour(outcome: BarOutcome) -> &'static str {
    match outcome {
        BarOutcome::Ok => "#2e7d32",
        BarOutcome::Failed => "#c62828",
        BarOutcome::Cancelled => "#9e9e9e",
        BarOutcome::TimedOut => "#ef6c00",
    }
}

const MARKER: &str = "#1565c0";
/// Roughly the width of one character of a marker's 9 px label.
const MARKER_CHAR: f64 = 5.5;

/// Render `bars` (drawn in the order given, one row each) and `markers` under `title`, the
/// time axis running to the last end.
///
/// A marker is drawn on the row of the first bar whose label is its `lane` and whose interval
/// holds it; a marker with no such bar goes on an "events" row above the bars.
pub fn render(title: &str, bars: &[Bar], markers: &[Marker]) -> String {
    render_to_scale(title, bars, markers, Duration::ZERO)
}

/// The same, with the time axis running to at least `scale`, so pictures of several runs drawn
/// to one scale can be compared by eye (a bar past the scale stretches the axis).
pub fn render_to_scale(title: &str, bars: &[Bar], markers: &[Marker], scale: Duration) -> String {
    let width = f64::from(SVG_WIDTH);
    // Which row each marker sits on: a bar's, or the events row (row 0 when there is one).
    let lane_of = |m: &Marker| {
        bars.iter().position(|b| {
            m.lane.as_deref() == Some(b.label.as_str()) && b.start <= m.at && m.at <= b.end
        })
    };
    let events_row = markers.iter().any(|m| lane_of(m).is_none());
    let first_bar_row = usize::from(events_row);
    let rows = bars.len() + first_bar_row;
    let end = bars
        .iter()
        .map(|b| b.end)
        .chain(markers.iter().map(|m| m.at))
        .chain([scale])
        .max()
        .unwrap_or(Duration::ZERO);
    let (step, unit, per_unit) = ticks(end);
    // The scale ends on a whole tick past the last end, so the last tick is labelled; the
    // step cuts any end into at most 10 ticks, so this stays small whatever the durations.
    let ticks_shown = end.as_nanos().div_ceil(step).max(1);
    let scale_ns = step.saturating_mul(ticks_shown) as f64;

    let longest = bars
        .iter()
        .map(|b| 2 * b.depth + b.label.chars().count())
        .chain(events_row.then_some(6))
        .max()
        .unwrap_or(0);
    let label_width = (longest as f64 * CHAR + 12.0).clamp(60.0, 280.0);
    // Rounded, not cut: the longest label must fit whole when the column was sized for it.
    let max_chars = ((label_width - 12.0) / CHAR).round() as usize;
    let (x0, x1) = (PAD + label_width, width - PAD - 18.0);
    let x_ns = |ns: u128| x0 + (x1 - x0) * (ns as f64 / scale_ns);
    let x = |d: Duration| x_ns(d.as_nanos());
    let row_y = |row: usize| TOP + ROW * row as f64;
    let axis_y = row_y(rows) + 4.0;
    let height = axis_y + 26.0;

    let mut svg = String::new();
    // Writing to a String cannot fail: every `write!` below ignores its Ok.
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height:.0}" viewBox="0 0 {w} {height:.0}" role="img" aria-label="{t}" font-family="{FONT}" font-size="11">
<title>{t}</title>
<rect width="{w}" height="{height:.0}" fill="#ffffff"/>
<text x="{PAD}" y="22" font-size="14" font-weight="bold" fill="#212121">{t}</text>
"##,
        w = SVG_WIDTH,
        t = escape(title),
    );
    legend(&mut svg, bars, markers);

    // Stripes on every other row, and a grid line at every tick, under the bars.
    for row in (1..rows).step_by(2) {
        let y = row_y(row);
        let _ = writeln!(
            svg,
            r##"<rect x="{PAD}" y="{y:.1}" width="{:.1}" height="{ROW}" fill="#f5f5f5"/>"##,
            width - 2.0 * PAD
        );
    }
    for i in 0..=ticks_shown {
        let at = step.saturating_mul(i);
        let tx = x_ns(at);
        let label = format!("{}{unit}", number(at as f64 / per_unit));
        let _ = writeln!(
            svg,
            r##"<line x1="{tx:.1}" y1="{top:.1}" x2="{tx:.1}" y2="{y2:.1}" stroke="#e0e0e0"/>
<line x1="{tx:.1}" y1="{axis_y:.1}" x2="{tx:.1}" y2="{y3:.1}" stroke="#616161"/>
<text x="{tx:.1}" y="{y4:.1}" text-anchor="middle" fill="#424242">{label}</text>"##,
            top = TOP,
            y2 = axis_y,
            y3 = axis_y + 4.0,
            y4 = axis_y + 16.0,
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{x0:.1}" y1="{axis_y:.1}" x2="{x1:.1}" y2="{axis_y:.1}" stroke="#616161"/>"##
    );

    if events_row {
        let y = row_y(0) + 14.0;
        let _ = writeln!(
            svg,
            r##"<text x="{PAD}" y="{y:.1}" fill="#616161" font-style="italic">events</text>"##
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = row_y(first_bar_row + i);
        let shown = format!("{}{}", "  ".repeat(bar.depth), bar.label);
        let (from, to) = (x(bar.start), x(bar.end));
        let outcome = bar.outcome.word();
        let times = format!("{} to {}", ms(bar.start), ms(bar.end));
        let _ = writeln!(
            svg,
            r##"<text x="{PAD}" y="{ty:.1}" fill="#212121" xml:space="preserve">{label}</text>
<rect class="bar" x="{from:.1}" y="{by:.1}" width="{bw:.1}" height="{BAR}" rx="2" fill="{fill}" data-label="{data}" data-start-ns="{start}" data-end-ns="{end}" data-outcome="{outcome}"><title>{data}: {times}, {outcome}</title></rect>"##,
            ty = y + 14.0,
            label = escape(&truncate(&shown, max_chars)),
            by = y + (ROW - BAR) / 2.0,
            // An instant call still gets a sliver, so it stays visible.
            bw = (to - from).max(1.5),
            fill = colour(bar.outcome),
            data = escape(&bar.label),
            start = bar.start.as_nanos(),
            end = bar.end.as_nanos(),
        );
    }
    // Each marker's row and position, so a label can be left out where the next marker on
    // its row would overlap it (the name is still in the marker's hover title).
    let placed: Vec<(usize, f64)> = markers
        .iter()
        .map(|m| (lane_of(m).map_or(0, |i| first_bar_row + i), x(m.at)))
        .collect();
    for (marker, &(row, mx)) in markers.iter().zip(&placed) {
        let my = row_y(row) + 2.0;
        let label = escape(&marker.label);
        let _ = writeln!(
            svg,
            r##"<path class="marker" d="M{mx:.1},{my:.1} l4.5,8 l-4.5,8 l-4.5,-8 z" fill="{MARKER}" stroke="#ffffff" stroke-width="1" data-label="{label}" data-at-ns="{at}"><title>{label} at {time}</title></path>"##,
            at = marker.at.as_nanos(),
            time = ms(marker.at),
        );
        // The name beside the marker, on a white halo, when it has room before the next one.
        let needs = marker.label.chars().count() as f64 * MARKER_CHAR + 8.0;
        let room = placed
            .iter()
            .filter(|&&(r, x2)| r == row && x2 > mx)
            .map(|&(_, x2)| x2 - mx)
            .fold(width - PAD - mx, f64::min);
        if needs <= room {
            let _ = writeln!(
                svg,
                r##"<text class="marker-label" x="{tx:.1}" y="{ty:.1}" font-size="9" fill="{MARKER}" stroke="#ffffff" stroke-width="3" paint-order="stroke">{label}</text>"##,
                tx = mx + 6.0,
                ty = my + 11.0,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// A swatch and a word for each outcome the bars show, and for markers if there are any.
fn legend(svg: &mut String, bars: &[Bar], markers: &[Marker]) {
    let mut lx = PAD;
    let y = 40.0;
    for outcome in BarOutcome::ALL {
        if !bars.iter().any(|b| b.outcome == outcome) {
            continue;
        }
        let word = outcome.word();
        let _ = writeln!(
            svg,
            r##"<rect x="{lx:.1}" y="{sy:.1}" width="10" height="10" rx="2" fill="{fill}"/><text x="{tx:.1}" y="{y:.1}" fill="#424242">{word}</text>"##,
            sy = y - 9.0,
            fill = colour(outcome),
            tx = lx + 14.0,
        );
        lx += 14.0 + word.len() as f64 * CHAR + 16.0;
    }
    if !markers.is_empty() {
        let _ = writeln!(
            svg,
            r##"<path d="M{mx:.1},{my:.1} l4.5,5 l-4.5,5 l-4.5,-5 z" fill="{MARKER}"/><text x="{tx:.1}" y="{y:.1}" fill="#424242">an instant</text>"##,
            mx = lx + 4.5,
            my = y - 9.0,
            tx = lx + 14.0,
        );
    }
}

/// A tick step, in nanoseconds, of 1, 2 or 5 times a power of ten that cuts `end` into at most
/// 10 parts, with the unit its labels use and the nanoseconds in one of that unit.
fn ticks(end: Duration) -> (u128, &'static str, f64) {
    let end_ns = end.as_nanos().max(1);
    let mut step: u128 = 1;
    'search: loop {
        for factor in [1, 2, 5] {
            let candidate = step.saturating_mul(factor);
            if end_ns / candidate <= 8 || candidate == u128::MAX {
                step = candidate;
                break 'search;
            }
        }
        step = step.saturating_mul(10);
    }
    let (unit, per_unit) = if end_ns >= 2_000_000_000 {
        (" s", 1e9)
    } else if end_ns >= 2_000_000 {
        (" ms", 1e6)
    } else {
        (" µs", 1e3)
    };
    (step, unit, per_unit)
}

/// A tick label: no decimals for whole numbers, else as few as needed (at most three).
fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A time in milliseconds with one decimal, as the text timelines print it.
fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// At most `max` characters of `text`, the last one an ellipsis when it was cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` safe inside an XML (or HTML) element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0; a label never needs one.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "tests/svg.rs"]
mod tests;
