//! [`TimelineLayer`]: `tracing` spans recorded into a [`Timeline`] (feature `timeline`).
//!
//! The patterns of this crate open a span at each natural boundary (a strategy's batch and
//! each fetch, each construction, each observer call, each step and stage item, each decorator
//! attempt, each actor command) and close it when the work ends. A span is exactly a bar: it
//! starts when its future is first polled and ends when it is dropped. This layer turns the
//! spans you choose into [`Bar`]s, and the events among them into [`Marker`]s, so a user's own
//! `#[instrument]`ed code is drawn the same way as the crate's.
//!
//! ```
//! use std::sync::Arc;
//! use async_patterns::timing::{Timeline, TimelineLayer};
//! use tracing::Instrument;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let timeline = Arc::new(Timeline::new());
//! let layer = TimelineLayer::new(Arc::clone(&timeline)).record(module_path!());
//! let _guard = tracing::dispatcher::set_default(&layer.into_dispatch());
//!
//! let nap = |ms| tokio::time::sleep(std::time::Duration::from_millis(ms));
//! let a = nap(20).instrument(tracing::info_span!("nap", what = "a"));
//! let b = nap(10).instrument(tracing::info_span!("nap", what = "b"));
//! tokio::join!(a, b);
//! let bars = timeline.bars_by_start();
//! assert_eq!(bars.len(), 2);
//! assert_eq!((bars[0].label.as_str(), bars[0].end.as_millis()), ("a", 20));
//! # }
//! ```
//!
//! # What a bar says
//! * **Label**: the span's first field other than `outcome` (a URL, an observer's name, a
//!   step's path), or else its name; depth: how many recorded spans enclose it.
//! * **Start and end**: tokio's clock when the span is first entered and when it closes, so
//!   virtual time under a paused clock (every run the same) and real time otherwise.
//! * **Outcome**: a span that declares an `outcome` field (`outcome = tracing::field::Empty`)
//!   and records it (`span.record("outcome", "failed")`, one of [`BarOutcome::word`]'s words)
//!   ends that way; one that declares it but closes without recording it was dropped midway,
//!   so it is [`Cancelled`](BarOutcome::Cancelled). A span without the field is
//!   [`Ok`](BarOutcome::Ok), or [`Failed`](BarOutcome::Failed) if an `ERROR` event happened in
//!   it (what `#[instrument(err)]` emits).
//! * **Markers**: an event whose target is recorded becomes a marker, labelled with its message,
//!   on the row of the nearest recorded span around it.
//!
//! # The industrial view of the same spans
//! The spans are ordinary `tracing` spans, so any subscriber sees them. For a live view of the
//! tasks, run under [tokio-console](https://github.com/tokio-rs/console) (`console-subscriber`
//! in your binary, `RUSTFLAGS="--cfg tokio_unstable"`); for a zoomable trace of a whole run, add
//! `tracing-chrome`'s layer and open its JSON in Perfetto (<https://ui.perfetto.dev>). Neither
//! is a dependency of this crate: the spans are the interface.

use std::sync::Arc;

use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use super::{Bar, BarOutcome, Marker, Timeline};

/// A `tracing_subscriber` layer that draws the spans it is told to record on a [`Timeline`].
///
/// It records nothing until told what: [`record`](TimelineLayer::record) a target (a module
/// path and everything under it), or [`record_span`](TimelineLayer::record_span) one span name
/// under a target.
///
/// While a layer lives it keeps a second dispatcher registered, one that enables nothing: with
/// a single dispatcher registered, tracing-core 0.1 decides whether a line is wanted by asking
/// only the thread that reaches it first (tokio-rs/tracing#3611), so a thread without a
/// subscriber, a test running beside yours, could silence that line for the recording too.
#[derive(Debug)]
pub struct TimelineLayer {
    timeline: Arc<Timeline>,
    chosen: Vec<(String, Option<String>)>,
    // The second, silent dispatcher the type's docs explain (tokio-rs/tracing#3611).
    _ask_every_dispatcher: tracing::Dispatch,
}

impl TimelineLayer {
    /// A layer that adds the bars and markers it records to `timeline`.
    pub fn new(timeline: Arc<Timeline>) -> Self {
        let nobody = tracing::subscriber::NoSubscriber::default();
        TimelineLayer {
            timeline,
            chosen: Vec::new(),
            _ask_every_dispatcher: tracing::Dispatch::new(nobody),
        }
    }

    /// Record every span and event whose target is `target` or starts with `target::`
    /// (`"async_patterns::strategy"`, or your crate's name).
    pub fn record(mut self, target: impl Into<String>) -> Self {
        self.chosen.push((target.into(), None));
        self
    }

    /// Record the spans named `name` under `target` (and every event under `target`).
    pub fn record_span(mut self, target: impl Into<String>, name: impl Into<String>) -> Self {
        self.chosen.push((target.into(), Some(name.into())));
        self
    }

    /// This layer on a registry, as a dispatcher to install
    /// (`tracing::dispatcher::set_default(&dispatch)`, or per runtime thread with
    /// [`on_runtime_threads`]).
    pub fn into_dispatch(self) -> tracing::Dispatch {
        tracing::Dispatch::new(tracing_subscriber::registry().with(self))
    }

    fn under(&self, meta: &Metadata<'_>) -> bool {
        self.chosen
            .iter()
            .any(|(target, _)| within(meta.target(), target))
    }

    fn chooses(&self, meta: &Metadata<'_>) -> bool {
        self.chosen.iter().any(|(target, name)| {
            within(meta.target(), target) && name.as_deref().is_none_or(|n| n == meta.name())
        })
    }
}

/// Await `fut` with the spans and events under `target` recorded on `timeline`, whatever else
/// is installed: the simplest way to draw one run of a pattern.
///
/// The recording follows `fut` wherever it is polled, and covers the spans made *while it runs*
/// (a spawned task is polled by the runtime, not through `fut`: hand it the recording with
/// `tracing::instrument::WithSubscriber::with_current_subscriber`, or its own spans are lost,
/// and a span of `fut` that such a task holds may then never close):
/// a span made before (outside an `async` block, say) belongs to whatever subscriber was current
/// then. A span made here stays recorded wherever it is entered later (a span knows its
/// subscriber), so work that `fut` spawns inside such spans is drawn too; an event in a spawned
/// task outside them is not.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use async_patterns::timing::{Timeline, record_spans};
/// use tracing::Instrument;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let timeline = Arc::new(Timeline::new());
/// // The span is made inside the async block, so while the recording runs.
/// let work = async {
///     let nap = tokio::time::sleep(Duration::from_millis(5));
///     nap.instrument(tracing::info_span!("work")).await
/// };
/// record_spans(&timeline, module_path!(), work).await;
/// assert_eq!(timeline.bars()[0].end, Duration::from_millis(5));
/// # }
/// ```
pub async fn record_spans<F: std::future::Future>(
    timeline: &Arc<Timeline>,
    target: &str,
    fut: F,
) -> F::Output {
    use tracing::instrument::WithSubscriber;
    let dispatch = TimelineLayer::new(Arc::clone(timeline))
        .record(target)
        .into_dispatch();
    fut.with_subscriber(dispatch).await
}

/// Whether `target` is `prefix` or a module under it.
fn within(target: &str, prefix: &str) -> bool {
    target
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// Install `dispatch` as the default subscriber of every thread a runtime built from `builder`
/// starts (its workers and its blocking threads), for as long as each thread lives. The
/// caller's own thread is not one of them: wrap `block_on` in
/// `tracing::dispatcher::with_default` too.
pub fn on_runtime_threads(builder: &mut tokio::runtime::Builder, dispatch: &tracing::Dispatch) {
    thread_local! {
        // The guard keeps the thread's default until the runtime stops the thread.
        static GUARD: std::cell::RefCell<Option<tracing::dispatcher::DefaultGuard>> =
            const { std::cell::RefCell::new(None) };
    }
    let dispatch = dispatch.clone();
    builder
        .on_thread_start(move || {
            let guard = tracing::dispatcher::set_default(&dispatch);
            GUARD.with(|g| *g.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| GUARD.with(|g| drop(g.borrow_mut().take())));
}

/// What the layer keeps in a recorded span until it closes.
#[derive(Debug)]
struct Recording {
    label: String,
    depth: usize,
    /// When it was first entered, and the timeline's ticket taken then.
    started: Option<(Instant, u64)>,
    declares_outcome: bool,
    outcome: Option<BarOutcome>,
    error_seen: bool,
}

/// Reads a span's fields: its label and its outcome.
#[derive(Default)]
struct Fields {
    label: Option<String>,
    outcome: Option<BarOutcome>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.take(field, || value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.take(field, || format!("{value:?}"));
    }
}

impl Fields {
    fn take(&mut self, field: &Field, value: impl FnOnce() -> String) {
        match field.name() {
            "outcome" => self.outcome = BarOutcome::from_word(&value()),
            "message" => self.message = Some(value()),
            _ if self.label.is_none() => self.label = Some(value()),
            _ => {}
        }
    }
}

impl<S> Layer<S> for TimelineLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if !self.chooses(meta) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        // Depth: the recorded spans around this one.
        let depth = span
            .scope()
            .skip(1)
            .filter(|s| s.extensions().get::<Recording>().is_some())
            .count();
        span.extensions_mut().insert(Recording {
            label: fields.label.unwrap_or_else(|| meta.name().to_owned()),
            depth,
            started: None,
            declares_outcome: meta.fields().field("outcome").is_some(),
            outcome: fields.outcome,
            error_seen: false,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions.get_mut::<Recording>() {
            let mut fields = Fields::default();
            values.record(&mut fields);
            recording.outcome = fields.outcome.or(recording.outcome);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions.get_mut::<Recording>() {
            // The bar starts at the first poll, not when the span was made.
            recording
                .started
                .get_or_insert_with(|| (Instant::now(), self.timeline.ticket()));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The nearest recorded span around the event: its row, and the bar an error fails.
        let around = ctx
            .event_scope(event)
            .and_then(|mut scope| scope.find(|s| s.extensions().get::<Recording>().is_some()));
        let mut lane = None;
        if let Some(span) = &around {
            let mut extensions = span.extensions_mut();
            if let Some(recording) = extensions.get_mut::<Recording>() {
                recording.error_seen |= *event.metadata().level() == Level::ERROR;
                lane = Some(recording.label.clone());
            }
        }
        if !self.under(event.metadata()) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let label = fields
            .message
            .or(fields.label)
            .unwrap_or_else(|| event.metadata().name().to_owned());
        let at = self.timeline.now();
        self.timeline.mark(Marker { label, at, lane });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(recording) = span.extensions_mut().remove::<Recording>() else {
            return;
        };
        // A span never entered never ran: nothing to draw.
        let Some((started, ticket)) = recording.started else {
            return;
        };
        let outcome = match recording.outcome {
            Some(outcome) => outcome,
            None if recording.declares_outcome => BarOutcome::Cancelled,
            None if recording.error_seen => BarOutcome::Failed,
            None => BarOutcome::Ok,
        };
        let start = self.timeline.since_origin(started);
        let bar = Bar::new(recording.label, start, self.timeline.now())
            .ended(outcome)
            .at_depth(recording.depth);
        self.timeline.add_started(ticket, bar);
    }
}

#[cfg(test)]
#[path = "tests/layer.rs"]
mod tests;
