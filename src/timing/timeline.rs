//! Timelines: when each call ran, drawn as text bars.
//!
//! ```
//! use std::time::Duration;
//! use async_patterns::timing::Timeline;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let timeline = Timeline::new();
//! let nap = |ms| tokio::time::sleep(Duration::from_millis(ms));
//! tokio::join!(timeline.record("a", nap(20)), timeline.record("b", nap(10)));
//! timeline.record("c", nap(10)).await;
//! print!("{}", timeline.draw(30));
//! // a |####################          |     0.0 -    20.1 ms
//! // b |##########                    |     0.0 -    10.1 ms
//! // c |                    ##########|    20.1 -    30.2 ms
//! assert_eq!(timeline.bars().len(), 3);
//! # }
//! ```

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::lock;

/// The widest timeline drawn, in characters: a larger width is taken as this one (a bar per
/// column of a terminal; a width of `usize::MAX` must not try to allocate it).
pub const MAX_WIDTH: usize = 1_000;

/// One bar: a labelled interval, measured from the timeline's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// What ran (a URL, an observer, a step's name).
    pub label: String,
    /// How deep to indent the label (two spaces a level), for nested work; 0 for flat lists.
    pub depth: usize,
    /// When it started.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
    /// The character the bar is drawn with (`#` for plain success).
    pub mark: char,
    /// Words after the times ("ok", "failed"); may be empty.
    pub note: String,
}

impl Bar {
    /// A bar drawn with `#` and no note.
    pub fn new(label: impl Into<String>, start: Duration, end: Duration) -> Self {
        Bar {
            label: label.into(),
            depth: 0,
            start,
            end,
            mark: '#',
            note: String::new(),
        }
    }
}

/// Bars recorded as calls run, from any number of concurrent futures (`&self` everywhere).
#[derive(Debug)]
pub struct Timeline {
    origin: Instant,
    bars: Mutex<Vec<Bar>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl Timeline {
    /// An empty timeline whose origin is now.
    pub fn new() -> Self {
        Timeline {
            origin: Instant::now(),
            bars: Mutex::new(Vec::new()),
        }
    }

    /// Await `fut` and record when it ran as a bar labelled `label`.
    ///
    /// A future dropped before it finishes records nothing.
    pub async fn record<F: Future>(&self, label: impl Into<String>, fut: F) -> F::Output {
        let start = self.origin.elapsed();
        let out = fut.await;
        self.add(Bar::new(label, start, self.origin.elapsed()));
        out
    }

    /// Add a bar measured elsewhere.
    pub fn add(&self, bar: Bar) {
        lock(&self.bars).push(bar);
    }

    /// The bars so far, in the order they were added.
    pub fn bars(&self) -> Vec<Bar> {
        lock(&self.bars).clone()
    }

    /// The bars so far, sorted by when they started.
    pub fn bars_by_start(&self) -> Vec<Bar> {
        let mut bars = self.bars();
        bars.sort_by_key(|b| b.start);
        bars
    }

    /// The bars sorted by start time, drawn `width` characters wide (see [`draw`]).
    pub fn draw(&self, width: usize) -> String {
        draw(&self.bars_by_start(), width)
    }

    /// The same, with `width` characters standing for `scale` (see [`draw_to_scale`]), so
    /// timelines of different runs drawn to one scale can be compared by eye.
    pub fn draw_to_scale(&self, width: usize, scale: Duration) -> String {
        draw_to_scale(&self.bars_by_start(), width, scale)
    }
}

/// Draw `bars`, one line each, `width` characters for the time from 0 to the last end.
///
/// Every bar gets at least one mark, so an instant call stays visible; bars that overlap in
/// time ran concurrently. `width` is taken between 1 and [`MAX_WIDTH`].
pub fn draw(bars: &[Bar], width: usize) -> String {
    let last_end = bars.iter().map(|b| b.end).max().unwrap_or(Duration::ZERO);
    draw_to_scale(bars, width, last_end)
}

/// Draw `bars` with `width` characters standing for `scale`; a bar past the scale is cut at the
/// right edge. Use one scale for several runs to compare them by eye.
pub fn draw_to_scale(bars: &[Bar], width: usize, scale: Duration) -> String {
    let width = width.clamp(1, MAX_WIDTH);
    let total = scale.as_secs_f64();
    let label_width = bars
        .iter()
        .map(|b| 2 * b.depth + b.label.chars().count())
        .max()
        .unwrap_or(0);
    // Column of an instant; a zero scale draws every bar at column 0.
    let col = |d: Duration| {
        if total > 0.0 {
            ((d.as_secs_f64() / total) * width as f64).round() as usize
        } else {
            0
        }
    };
    let mut out = String::new();
    for bar in bars {
        let from = col(bar.start).min(width - 1);
        let to = col(bar.end).clamp(from + 1, width);
        let line: String = (0..width)
            .map(|c| {
                if (from..to).contains(&c) {
                    bar.mark
                } else {
                    ' '
                }
            })
            .collect();
        let label = format!("{}{}", "  ".repeat(bar.depth), bar.label);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{label:<label_width$} |{line}| {:>7.1} - {:>7.1} ms{}{}",
            bar.start.as_secs_f64() * 1e3,
            bar.end.as_secs_f64() * 1e3,
            // No trailing space when there is no note.
            if bar.note.is_empty() { "" } else { " " },
            bar.note
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bars_are_scaled_to_the_width_and_overlap_shows() {
        let bars = [
            Bar::new("a", ms(0), ms(50)),
            Bar::new("bb", ms(50), ms(100)),
        ];
        let text = draw(&bars, 10);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a  |#####     |     0.0 -    50.0 ms");
        assert_eq!(lines[1], "bb |     #####|    50.0 -   100.0 ms");
    }

    #[test]
    fn one_scale_for_two_runs_shows_which_was_shorter() {
        let long = [Bar::new("a", ms(0), ms(100))];
        let short = [Bar::new("a", ms(0), ms(25))];
        assert_eq!(draw_to_scale(&long, 8, ms(100)).matches('#').count(), 8);
        assert_eq!(draw_to_scale(&short, 8, ms(100)).matches('#').count(), 2);
        // Past the scale, a bar is cut at the right edge.
        assert_eq!(draw_to_scale(&long, 8, ms(50)).matches('#').count(), 8);
    }

    #[test]
    fn bars_by_start_sorts_what_was_added_in_another_order() {
        let timeline = Timeline::new();
        timeline.add(Bar::new("late", ms(50), ms(60)));
        timeline.add(Bar::new("early", ms(0), ms(70)));
        let labels: Vec<_> = timeline
            .bars_by_start()
            .into_iter()
            .map(|b| b.label)
            .collect();
        assert_eq!(labels, ["early", "late"]);
        assert_eq!(timeline.bars()[0].label, "late");
    }

    #[test]
    fn an_instant_bar_still_gets_a_mark_and_a_huge_width_is_capped() {
        let text = draw(&[Bar::new("x", ms(0), ms(0))], usize::MAX);
        assert_eq!(text.matches('#').count(), 1);
        assert!(text.chars().filter(|c| *c == ' ').count() >= MAX_WIDTH - 1);
        assert_eq!(draw(&[], 10), "");
    }

    // On the paused clock the sleeps end in virtual-time order, so "fast" is recorded first.
    #[tokio::test(start_paused = true)]
    async fn recorded_calls_are_kept_in_the_order_they_ended() {
        let timeline = Timeline::new();
        let nap = |n| tokio::time::sleep(ms(n));
        tokio::join!(
            timeline.record("slow", nap(20)),
            timeline.record("fast", nap(1))
        );
        let bars = timeline.bars();
        assert_eq!(bars[0].label, "fast");
        assert_eq!(bars[1].label, "slow");
        assert!(bars.iter().all(|b| b.end >= b.start));
        assert_eq!(timeline.draw(20).lines().count(), 2);
    }
}
