//! Criterion-free timing: measure, collect rows, print ratios.
//!
//! Every example and bench in the crate reports the same way: a table with one row per way of
//! doing the job, its wall-clock time, its **speedup** over a baseline row (usually "one by
//! one"), and its time divided by the **ideal** when one is known (for n concurrent waits of
//! t, the ideal is t). Ratios travel between machines far better than raw times do.
//!
//! ```
//! use std::time::Duration;
//! use async_patterns::timing::Table;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let mut table = Table::new("two sleeps").ideal(Duration::from_millis(10));
//! table.measure("one by one", async {
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//! }).await;
//! table.measure("joined", async {
//!     tokio::join!(
//!         tokio::time::sleep(Duration::from_millis(10)),
//!         tokio::time::sleep(Duration::from_millis(10)),
//!     );
//! }).await;
//! println!("{table}");
//! assert!(table.speedup("joined").unwrap() > 1.0);
//! # }
//! ```
//!
//! Times come from [`std::time::Instant`]: wall-clock, so on a shared machine they are noisy.
//! That is why targets are *reported* ([`Target`]), never asserted in tests.
//!
//! A table says how long; a [`Timeline`] says *when*: one text bar per call, so the overlap of
//! concurrent calls is seen, not only read from a ratio.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

#[cfg(feature = "timeline")]
mod layer;
mod page;
pub mod svg;
mod target;
mod timeline;

#[cfg(feature = "timeline")]
pub use layer::{TimelineLayer, on_runtime_threads, record_spans};
pub use page::Page;
pub use target::Target;
pub use timeline::{Bar, BarOutcome, MAX_WIDTH, Marker, Timeline, draw, draw_to_scale};

/// Await `fut` and return its output with the wall-clock time it took.
pub async fn measure<F: Future>(fut: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let out = fut.await;
    (out, start.elapsed())
}

/// Run `f` and return its output with the wall-clock time it took.
pub fn measure_sync<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// One measured way of doing the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was measured ("one by one", "join_all", ...).
    pub label: String,
    /// How long it took.
    pub elapsed: Duration,
    /// The best possible time for this row, if known; overrides the table's ideal.
    pub ideal: Option<Duration>,
}

/// A timing table: rows, a baseline for speedups, and an optional ideal time.
#[derive(Debug, Clone, Default)]
pub struct Table {
    title: String,
    rows: Vec<Row>,
    baseline: Option<String>,
    ideal: Option<Duration>,
}

impl Table {
    /// An empty table. The first row added is the baseline unless [`Table::baseline`] says
    /// otherwise.
    pub fn new(title: impl Into<String>) -> Self {
        Table {
            title: title.into(),
            ..Table::default()
        }
    }

    /// The ideal time for every row that does not set its own.
    pub fn ideal(mut self, ideal: Duration) -> Self {
        self.ideal = Some(ideal);
        self
    }

    /// Use the row labelled `label` as the baseline for speedups.
    pub fn baseline(mut self, label: impl Into<String>) -> Self {
        self.baseline = Some(label.into());
        self
    }

    /// Add a row measured elsewhere.
    pub fn add(&mut self, label: impl Into<String>, elapsed: Duration) -> &mut Self {
        self.rows.push(Row {
            label: label.into(),
            elapsed,
            ideal: None,
        });
        self
    }

    /// Add a row with its own ideal time.
    pub fn add_with_ideal(
        &mut self,
        label: impl Into<String>,
        elapsed: Duration,
        ideal: Duration,
    ) -> &mut Self {
        self.rows.push(Row {
            label: label.into(),
            elapsed,
            ideal: Some(ideal),
        });
        self
    }

    /// Give the row labelled `label` its own ideal (a bounded batch's ideal is several waits, say).
    /// Does nothing if there is no such row.
    pub fn set_ideal(&mut self, label: &str, ideal: Duration) -> &mut Self {
        if let Some(row) = self.rows.iter_mut().find(|r| r.label == label) {
            row.ideal = Some(ideal);
        }
        self
    }

    /// Await `fut`, add its time as a row, and return its output.
    pub async fn measure<F: Future>(&mut self, label: impl Into<String>, fut: F) -> F::Output {
        let (out, elapsed) = measure(fut).await;
        self.add(label, elapsed);
        out
    }

    /// Run `f`, add its time as a row, and return its output.
    pub fn measure_sync<T>(&mut self, label: impl Into<String>, f: impl FnOnce() -> T) -> T {
        let (out, elapsed) = measure_sync(f);
        self.add(label, elapsed);
        out
    }

    /// The table's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The rows, in the order they were added.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row labelled `label`.
    pub fn row(&self, label: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.label == label)
    }

    fn baseline_row(&self) -> Option<&Row> {
        match &self.baseline {
            Some(label) => self.row(label),
            None => self.rows.first(),
        }
    }

    /// Baseline time divided by this row's time: how many times faster than the baseline.
    pub fn speedup(&self, label: &str) -> Option<f64> {
        let base = self.baseline_row()?;
        let row = self.row(label)?;
        ratio(base.elapsed, row.elapsed)
    }

    /// This row's time divided by its ideal: 1.0 is perfect, 1.1 is 10 % over.
    pub fn vs_ideal(&self, label: &str) -> Option<f64> {
        let row = self.row(label)?;
        ratio(row.elapsed, row.ideal.or(self.ideal)?)
    }

    /// The fastest row.
    pub fn fastest(&self) -> Option<&Row> {
        self.rows.iter().min_by_key(|r| r.elapsed)
    }
}

/// `a / b` as a float, `None` when `b` is zero.
pub fn ratio(a: Duration, b: Duration) -> Option<f64> {
    let b = b.as_secs_f64();
    (b > 0.0).then(|| a.as_secs_f64() / b)
}

/// Below this relative difference two times are a tie: a shared machine's noise is about 10 %.
pub const NOISE: f64 = 0.10;

/// Two measured times compared in words, for an example's "what to notice": a tie when they
/// differ by less than [`NOISE`], else how many times faster the quicker one was.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::timing::compare;
/// let ms = Duration::from_millis;
/// assert_eq!(compare("join_all", ms(100), "JoinSet", ms(104)), "join_all and JoinSet tie (100.0 ms vs 104.0 ms, within noise)");
/// assert_eq!(compare("one by one", ms(2000), "join_all", ms(100)), "join_all was 20.0x faster than one by one (100.0 ms vs 2.00 s)");
/// ```
pub fn compare(a: &str, a_time: Duration, b: &str, b_time: Duration) -> String {
    let (fast, fast_time, slow, slow_time) = if a_time <= b_time {
        (a, a_time, b, b_time)
    } else {
        (b, b_time, a, a_time)
    };
    match ratio(slow_time, fast_time) {
        Some(times) if times >= 1.0 + NOISE => format!(
            "{fast} was {times:.1}x faster than {slow} ({} vs {})",
            human(fast_time),
            human(slow_time)
        ),
        _ => format!(
            "{a} and {b} tie ({} vs {}, within noise)",
            human(a_time),
            human(b_time)
        ),
    }
}

/// The nearest-rank percentile `p` (0.0 to 1.0) of `sorted` (ascending): the smallest time
/// that at least `p` of them do not exceed. `None` for no times.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::timing::percentile;
/// let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
/// assert_eq!(percentile(&times, 0.50), Some(Duration::from_millis(50)));
/// assert_eq!(percentile(&times, 0.99), Some(Duration::from_millis(99)));
/// assert_eq!(percentile(&[], 0.5), None);
/// ```
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    sorted.get(nearest_rank(sorted.len(), p)?).copied()
}

/// The index of the nearest-rank percentile `p` among `len` sorted values; `None` for none.
/// Shared with the hedging decorator, which selects that index without sorting.
pub(crate) fn nearest_rank(len: usize, p: f64) -> Option<usize> {
    let rank = (p.clamp(0.0, 1.0) * len as f64).ceil() as usize;
    (len > 0).then(|| rank.clamp(1, len) - 1)
}

/// A duration printed with a unit that suits it: `812 ns`, `3.2 µs`, `45.1 ms`, `1.23 s`.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .rows
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        writeln!(f, "{}", self.title)?;
        writeln!(
            f,
            "  {:<width$}  {:>10}  {:>8}  {:>9}",
            "label", "time", "speedup", "vs ideal"
        )?;
        for row in &self.rows {
            let speedup = self
                .speedup(&row.label)
                .map_or("-".to_owned(), |s| format!("{s:.1}x"));
            let ideal = self
                .vs_ideal(&row.label)
                .map_or("-".to_owned(), |r| format!("{r:.2}x"));
            writeln!(
                f,
                "  {:<width$}  {:>10}  {:>8}  {:>9}",
                row.label,
                human(row.elapsed),
                speedup,
                ideal
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn speedup_is_against_the_first_row_by_default() {
        let mut t = Table::new("t").ideal(ms(100));
        t.add("slow", ms(1000)).add("fast", ms(125));
        assert_eq!(t.speedup("slow"), Some(1.0));
        assert_eq!(t.speedup("fast"), Some(8.0));
        assert_eq!(t.vs_ideal("fast"), Some(1.25));
        assert_eq!(t.fastest().map(|r| r.label.as_str()), Some("fast"));
    }

    #[test]
    fn a_named_baseline_and_row_ideals_are_used() {
        let mut t = Table::new("t").baseline("b");
        t.add("a", ms(50))
            .add("b", ms(200))
            .add_with_ideal("c", ms(30), ms(10));
        assert_eq!(t.speedup("a"), Some(4.0));
        assert_eq!(t.vs_ideal("a"), None);
        assert_eq!(t.vs_ideal("c"), Some(3.0));
        assert_eq!(t.speedup("missing"), None);
        t.set_ideal("a", ms(25));
        assert_eq!(t.vs_ideal("a"), Some(2.0));
    }

    #[test]
    fn the_table_prints_aligned_rows() {
        let mut t = Table::new("title").ideal(ms(10));
        t.add("one by one", ms(200)).add("join_all", ms(10));
        let text = t.to_string();
        assert!(text.starts_with("title\n"), "{text}");
        assert!(text.contains("join_all"), "{text}");
        assert!(text.contains("20.0x"), "{text}");
        assert!(text.contains("1.00x"), "{text}");
        let widths: Vec<usize> = text.lines().skip(1).map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn a_zero_time_gives_no_ratio() {
        assert_eq!(ratio(ms(1), Duration::ZERO), None);
    }
}
