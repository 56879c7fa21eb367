//! Timelines: when each call ran, drawn as text bars or as an SVG picture.
//!
//! A [`Timeline`] holds [`Bar`]s (a labelled interval with its [`BarOutcome`]) and [`Marker`]s
//! (an instant: a hedge sent, a circuit opened). Fill it by hand ([`Timeline::record`],
//! [`Timeline::add`]) or from `tracing` spans (feature `timeline`: `TimelineLayer`). Its clock
//! is tokio's, so under a paused clock it measures virtual time, and otherwise real time.
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::support::lock;

/// The widest timeline drawn, in characters: a larger width is taken as this one (a bar per
/// column of a terminal; a width of `usize::MAX` must not try to allocate it).
pub const MAX_WIDTH: usize = 1_000;

/// How a bar's call ended: what its colour says in a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BarOutcome {
    /// It returned what it was asked for.
    #[default]
    Ok,
    /// It returned an error (or panicked).
    Failed,
    /// It was dropped before it finished: cancelled at an `.await`.
    Cancelled,
    /// A time limit cut it off.
    TimedOut,
}

impl BarOutcome {
    /// Every outcome, in the order a legend lists them.
    pub const ALL: [BarOutcome; 4] = [
        BarOutcome::Ok,
        BarOutcome::Failed,
        BarOutcome::Cancelled,
        BarOutcome::TimedOut,
    ];

    /// The word for it, as spans record it (`outcome = "timed out"`) and legends show it.
    pub fn word(self) -> &'static str {
        match self {
            BarOutcome::Ok => "ok",
            BarOutcome::Failed => "failed",
            BarOutcome::Cancelled => "cancelled",
            BarOutcome::TimedOut => "timed out",
        }
    }

    /// The outcome a word names (as [`word`](BarOutcome::word) writes it; `_` or `-` may stand
    /// for the space, and case does not matter); `None` for any other word.
    pub fn from_word(word: &str) -> Option<BarOutcome> {
        let word = word.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        BarOutcome::ALL.into_iter().find(|o| o.word() == word)
    }

    /// The character a text timeline draws it with.
    pub fn mark(self) -> char {
        match self {
            BarOutcome::Ok => '#',
            BarOutcome::Failed => 'x',
            BarOutcome::Cancelled => '-',
            BarOutcome::TimedOut => 't',
        }
    }
}

/// An instant worth marking on a timeline: a hedge sent, a circuit opening, a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// What happened, in a few words.
    pub label: String,
    /// When, from the timeline's origin.
    pub at: Duration,
    /// The label of the bar it belongs to (drawn on that bar's row), if any; otherwise it is
    /// drawn on a row of its own.
    pub lane: Option<String>,
}

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
    /// How the call ended: the bar's colour in a picture.
    pub outcome: BarOutcome,
}

impl Bar {
    /// A bar that ended [`Ok`](BarOutcome::Ok), drawn with `#` and no note.
    pub fn new(label: impl Into<String>, start: Duration, end: Duration) -> Self {
        Bar {
            label: label.into(),
            depth: 0,
            start,
            end,
            mark: BarOutcome::Ok.mark(),
            note: String::new(),
            outcome: BarOutcome::Ok,
        }
    }

    /// The same bar, ended with `outcome` (and drawn with its mark).
    pub fn ended(mut self, outcome: BarOutcome) -> Self {
        self.outcome = outcome;
        self.mark = outcome.mark();
        self
    }

    /// The same bar, indented `depth` levels.
    pub fn at_depth(mut self, depth: usize) -> Self {
        self.depth = depth;
        self
    }
}

/// Bars recorded as calls run, from any number of concurrent futures (`&self` everywhere).
///
/// Each bar keeps the *ticket* it was given when its call started (a count that only grows), so
/// bars that start at the same instant are drawn in the order they started: a parent before its
/// children, siblings in the order they were polled.
#[derive(Debug)]
pub struct Timeline {
    origin: Instant,
    tickets: AtomicU64,
    bars: Mutex<Vec<(u64, Bar)>>,
    markers: Mutex<Vec<Marker>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl Timeline {
    /// An empty timeline whose origin is now (tokio's now: virtual under a paused clock).
    pub fn new() -> Self {
        Timeline {
            origin: Instant::now(),
            tickets: AtomicU64::new(0),
            bars: Mutex::new(Vec::new()),
            markers: Mutex::new(Vec::new()),
        }
    }

    /// The time from the origin to `instant` (zero for an instant before it).
    pub fn since_origin(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.origin)
    }

    /// The time from the origin to now.
    pub fn now(&self) -> Duration {
        self.since_origin(Instant::now())
    }

    /// Await `fut` and record when it ran as a bar labelled `label`.
    ///
    /// A future dropped before it finishes records nothing.
    pub async fn record<F: Future>(&self, label: impl Into<String>, fut: F) -> F::Output {
        let (ticket, start) = (self.ticket(), self.now());
        let out = fut.await;
        self.add_started(ticket, Bar::new(label, start, self.now()));
        out
    }

    /// Add a bar measured elsewhere (its ticket is taken now).
    pub fn add(&self, bar: Bar) {
        self.add_started(self.ticket(), bar);
    }

    /// A ticket for a call that starts now: bars that start together are drawn in ticket order.
    pub(crate) fn ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::Relaxed)
    }

    /// Add a bar whose call took `ticket` when it started.
    pub(crate) fn add_started(&self, ticket: u64, bar: Bar) {
        lock(&self.bars).push((ticket, bar));
    }

    /// Mark an instant.
    pub fn mark(&self, marker: Marker) {
        lock(&self.markers).push(marker);
    }

    /// The bars so far, in the order they were added.
    pub fn bars(&self) -> Vec<Bar> {
        lock(&self.bars)
            .iter()
            .map(|(_, bar)| bar.clone())
            .collect()
    }

    /// The markers so far, in the order they were added.
    pub fn markers(&self) -> Vec<Marker> {
        lock(&self.markers).clone()
    }

    /// The bars so far, sorted by when they started.
    pub fn bars_by_start(&self) -> Vec<Bar> {
        let mut bars = lock(&self.bars).clone();
        // Bars that start together: in the order their calls started.
        bars.sort_by_key(|(ticket, bar)| (bar.start, *ticket));
        bars.into_iter().map(|(_, bar)| bar).collect()
    }

    /// The bars sorted by start time and the markers, as one self-contained SVG picture under
    /// `title` (see [`svg::render`](super::svg::render)).
    pub fn to_svg(&self, title: &str) -> String {
        super::svg::render(title, &self.bars_by_start(), &self.markers())
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
