//! The smart-home morning as a plan, with devices made by the factory: the two patterns
//! chained, as in the earlier IoT talk. The plan connects the devices at once (each `connect`
//! step asks the factory `Registry` for a device, which costs a handshake), then runs one
//! sequence of messages per device, the three at once, then says goodbye to two of them.
//!
//! Run: `cargo run --release --example pipeline_plan`
//!
//! It runs the plan four ways: as planned, with every parallel turned into a sequence (one by
//! one), with a message the light does not understand, and with a toilet that never answers
//! its handshake (cut by a timeout). Each run draws its timeline from the plan's trace, and
//! the failure runs say, from the trace, why some steps never started.
//!
//! The devices are the factory's demo devices: their handshake and messages are
//! `tokio::time::sleep`s (standing for network round-trips), so the example runs offline.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_patterns::factory::{Config, Device, Registry, device_registry};
use async_patterns::pipeline::plan::{
    BoxStep, Step, StepContext, StepError, StepExt, StepOutcome, Trace, parallel, run_traced,
    sequence,
};
use async_patterns::timing::{Table, Target, human, ratio};

/// A handshake that takes longer than this is cut (the slowest normal one takes 200 ms).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(400);
/// A message that takes longer than this is cut (the slowest normal one takes 20 ms).
const MESSAGE_TIMEOUT: Duration = Duration::from_millis(100);
/// The handshake of a toilet that does not answer: a minute, unless a timeout cuts it.
const STUCK_HANDSHAKE_MS: u64 = 60_000;

/// The home: the factory that makes devices, and a slot per kind for the device once made.
struct Home {
    registry: Registry<dyn Device>,
    devices: HashMap<&'static str, OnceLock<Box<dyn Device>>>,
    verbose: bool,
}

impl Home {
    fn new(verbose: bool) -> Arc<Home> {
        let registry = device_registry();
        let devices = ["light", "speaker", "toilet"].map(|kind| (kind, OnceLock::new()));
        Arc::new(Home {
            registry,
            devices: devices.into_iter().collect(),
            verbose,
        })
    }

    fn device(&self, kind: &str) -> Result<&dyn Device, StepError> {
        let slot = self.devices.get(kind).and_then(OnceLock::get);
        slot.map(|device| device.as_ref())
            .ok_or_else(|| StepError::failed(format!("no {kind} is connected")))
    }

    /// Print what a step did, when, and where it sits in the plan.
    fn say(&self, cx: &StepContext, what: &str) {
        if self.verbose {
            println!("  [{:>8}] {:<34} {what}", human(cx.elapsed()), cx.path());
        }
    }
}

/// A leaf: make a device of `kind` through the factory (its handshake takes `latency_ms`).
struct Connect {
    home: Arc<Home>,
    kind: &'static str,
    /// The device's own name ("hall"), for its config.
    device: &'static str,
    latency_ms: u64,
}

#[async_trait::async_trait]
impl Step for Connect {
    fn name(&self) -> &str {
        self.kind
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        let config = Config::new(self.device).with("latency_ms", self.latency_ms.to_string());
        let device = self.home.registry.create(self.kind, config).await;
        let device = device.map_err(StepError::failed)?;
        self.home.say(cx, &format!("{} connected", device.name()));
        let slot = self.home.devices.get(self.kind);
        let slot =
            slot.ok_or_else(|| StepError::failed(format!("no place for a {}", self.kind)))?;
        let twice = |_| StepError::failed(format!("the {} was connected twice", self.kind));
        slot.set(device).map_err(twice)
    }
}

/// A leaf: send `message` to the device of `kind`, print its answer.
struct Message {
    home: Arc<Home>,
    label: &'static str,
    kind: &'static str,
    message: &'static str,
}

#[async_trait::async_trait]
impl Step for Message {
    fn name(&self) -> &str {
        self.label
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        let device = self.home.device(self.kind)?;
        let answer = device.send(self.message).await.map_err(StepError::failed)?;
        self.home.say(cx, &answer);
        Ok(())
    }
}

/// The plan as data, so that the example can build it and also reason about its trace.
enum Node {
    /// Connect(kind, device name, handshake ms).
    Connect(&'static str, &'static str, u64),
    /// Message(step label, device kind, message).
    Message(&'static str, &'static str, &'static str),
    Sequence(&'static str, Vec<Node>),
    Parallel(&'static str, Vec<Node>),
}

use Node::{Connect as C, Message as M, Parallel as P, Sequence as S};

/// What to break in the morning.
#[derive(Clone, Copy, PartialEq)]
enum Trouble {
    None,
    /// The light is asked for `dim 150`, which it does not understand.
    BadMessage,
    /// The toilet's handshake never ends (until its timeout).
    StuckToilet,
}

/// Connect: light 60 ms, speaker 200 ms, toilet 150 ms (messages take a tenth of that).
/// Critical path: connect the speaker, its three messages, its goodbye.
#[rustfmt::skip] // laid out as the tree it is
fn morning(trouble: Trouble) -> Node {
    let toilet_ms = if trouble == Trouble::StuckToilet { STUCK_HANDSHAKE_MS } else { 150 };
    let dim = if trouble == Trouble::BadMessage { "dim 150" } else { "dim 30" };
    S("morning", vec![
        P("connect", vec![
            C("light", "hall", 60),
            C("speaker", "kitchen", 200),
            C("toilet", "bathroom", toilet_ms),
        ]),
        P("routines", vec![
            S("light", vec![
                M("on", "light", "on"),
                M(dim, "light", dim),
                M("dim 60", "light", "dim 60"),
            ]),
            S("speaker", vec![
                M("volume 20", "speaker", "volume 20"),
                M("news", "speaker", "play news"),
                M("weather", "speaker", "play weather"),
            ]),
            S("toilet", vec![
                M("warm seat", "toilet", "warm seat"),
                M("flush", "toilet", "flush"),
            ]),
        ]),
        P("leave", vec![
            M("light off", "light", "off"),
            M("speaker stop", "speaker", "stop"),
        ]),
    ])
}

impl Node {
    fn name(&self) -> &'static str {
        match self {
            C(kind, ..) => kind,
            M(label, ..) | S(label, _) | P(label, _) => label,
        }
    }

    fn children(&self) -> &[Node] {
        match self {
            S(_, children) | P(_, children) => children,
            C(..) | M(..) => &[],
        }
    }

    /// The step for this node; `one_by_one` turns every parallel into a sequence.
    fn build(&self, home: &Arc<Home>, one_by_one: bool) -> BoxStep {
        let home = Arc::clone(home);
        let steps = |children: &[Node]| {
            children
                .iter()
                .map(|c| c.build(&home, one_by_one))
                .collect()
        };
        match *self {
            C(kind, device, latency_ms) => {
                let step = Connect {
                    home,
                    kind,
                    device,
                    latency_ms,
                };
                step.with_timeout(CONNECT_TIMEOUT).boxed()
            }
            M(label, kind, message) => {
                let step = Message {
                    home,
                    label,
                    kind,
                    message,
                };
                step.with_timeout(MESSAGE_TIMEOUT).boxed()
            }
            S(name, ref children) => sequence(name, steps(children)).boxed(),
            P(name, ref children) if one_by_one => sequence(name, steps(children)).boxed(),
            P(name, ref children) => parallel(name, steps(children)).boxed(),
        }
    }

    /// The critical path at `at` (this node's path), from the time each leaf took in `trace`:
    /// a sequence adds its children's, a parallel takes its slowest child's. With the leaves
    /// on it, in order.
    fn critical_path(&self, at: &str, trace: &Trace) -> (Duration, Vec<String>) {
        let child = |c: &Node| c.critical_path(&format!("{at}/{}", c.name()), trace);
        match self {
            C(..) | M(..) => {
                let took = trace.span(at).map_or(Duration::ZERO, |s| s.duration());
                (took, vec![at.to_owned()])
            }
            S(_, children) => children.iter().map(child).fold(
                (Duration::ZERO, Vec::new()),
                |(sum, mut path), (took, leaves)| {
                    path.extend(leaves);
                    (sum + took, path)
                },
            ),
            P(_, children) => children
                .iter()
                .map(child)
                .max_by_key(|(took, _)| *took)
                .unwrap_or_default(),
        }
    }

    /// How many leaves under this node (itself, if a leaf) `pick` accepts.
    fn count(&self, pick: &dyn Fn(&Node) -> bool) -> usize {
        match self {
            C(..) | M(..) => usize::from(pick(self)),
            S(_, children) | P(_, children) => children.iter().map(|c| c.count(pick)).sum(),
        }
    }

    /// How each leaf under this node (itself, if a leaf) ended; `None` if it never started.
    fn leaf_outcomes(&self, at: &str, trace: &Trace) -> Vec<Option<StepOutcome>> {
        match self {
            C(..) | M(..) => vec![trace.span(at).map(|s| s.outcome)],
            S(_, children) | P(_, children) => children
                .iter()
                .flat_map(|c| c.leaf_outcomes(&format!("{at}/{}", c.name()), trace))
                .collect(),
        }
    }

    /// Why steps under this composite (at `at`) never started or were cut short, read from
    /// the trace: follow the failed child down; per composite on the way, its rule and what
    /// the rule did.
    fn explain(&self, at: &str, trace: &Trace, why: &mut Vec<(String, String)>) {
        let path = |c: &Node| format!("{at}/{}", c.name());
        let outcome = |c: &Node| trace.span(&path(c)).map(|s| s.outcome);
        let failed = self.children().iter().find(|c| {
            matches!(
                outcome(c),
                Some(StepOutcome::Failed | StepOutcome::TimedOut | StepOutcome::Panicked)
            )
        });
        let Some(failed) = failed else { return };
        let how = outcome(failed).map(|o| o.to_string()).unwrap_or_default();
        let f = failed.name();
        let names = |pick: &dyn Fn(&Node) -> bool| -> Vec<&str> {
            self.children()
                .iter()
                .filter(|c| pick(c))
                .map(Node::name)
                .collect()
        };
        match self {
            S(..) => {
                let never = names(&|c| outcome(c).is_none());
                if !never.is_empty() {
                    let rule = format!("'{at}' is a sequence: it stops at its first error.");
                    let never = quoted(&never);
                    why.push((rule, format!("'{f}' {how}, so {never} never started.")));
                }
            }
            P(..) => {
                let cancelled = names(&|c| outcome(c) == Some(StepOutcome::Cancelled));
                let unreached = self
                    .children()
                    .iter()
                    .filter(|c| outcome(c) == Some(StepOutcome::Cancelled))
                    .flat_map(|c| c.leaf_outcomes(&path(c), trace))
                    .filter(Option::is_none)
                    .count();
                let rule =
                    format!("'{at}' is a fail-fast parallel: a failed child cancels the rest.");
                let what = if cancelled.is_empty() {
                    format!("'{f}' {how} after its siblings had finished: nothing to cancel.")
                } else {
                    let cancelled = quoted(&cancelled);
                    format!(
                        "'{f}' {how}, so {cancelled} stopped mid-run \
                         ({unreached} of their steps never started)."
                    )
                };
                why.push((rule, what));
            }
            C(..) | M(..) => {}
        }
        failed.explain(&path(failed), trace, why);
    }
}

fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    quoted.join(", ")
}

/// What a failure run left behind, read from its trace.
struct Damage {
    /// When the plan returned its error.
    at: Duration,
    /// Leaves that never started.
    never_started: usize,
    /// Leaves cut mid-run.
    cancelled: usize,
}

/// Run a morning with `trouble`, print its error, timeline, and why steps did not run.
async fn show_failure(trouble: Trouble) -> Damage {
    let plan = morning(trouble);
    let (result, trace) = run_traced(plan.build(&Home::new(false), false).as_ref()).await;
    match &result {
        Err(e) => println!("error: {e}\n"),
        Ok(()) => println!("(no error: the trouble did not happen)\n"),
    }
    print!("{}", trace.timeline(50));
    let mut why = Vec::new();
    plan.explain(plan.name(), &trace, &mut why);
    println!("\nWhy, read from the trace:");
    for (rule, what) in &why {
        println!("  * {rule}\n    {what}");
    }
    let outcomes = plan.leaf_outcomes(plan.name(), &trace);
    let count = |outcome| outcomes.iter().filter(|o| **o == outcome).count();
    Damage {
        at: trace.total(),
        never_started: count(None),
        cancelled: count(Some(StepOutcome::Cancelled)),
    }
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plan = morning(Trouble::None);
    let steps = plan.count(&|_| true);
    let connects = plan.count(&|n| matches!(n, C(..)));

    println!("The morning as planned (when each step ended, its path, what the device said):");
    let (result, trace) = run_traced(plan.build(&Home::new(true), false).as_ref()).await;
    result?;
    let (result, one_by_one) = run_traced(plan.build(&Home::new(false), true).as_ref()).await;
    result?;

    // Both timelines on one scale: 72 columns for the slower run.
    let width = |t: &Trace| {
        let share = ratio(t.total(), one_by_one.total().max(trace.total())).unwrap_or(1.0);
        (72.0 * share).round() as usize
    };
    println!("\nTimeline as planned ('#' = running). The bars of each parallel overlap:\n");
    print!("{}", trace.timeline(width(&trace)));
    println!("\nThe same steps one by one (every parallel made a sequence), same scale:\n");
    print!("{}", one_by_one.timeline(width(&one_by_one)));

    let (critical, chain) = plan.critical_path(plan.name(), &trace);
    let chain: Vec<&str> = chain
        .iter()
        .map(|p| p.trim_start_matches("morning/"))
        .collect();
    let sum = trace.one_by_one();
    let title = format!(
        "smart-home morning, {connects} connects + {} messages",
        steps - connects
    );
    let mut table = Table::new(title);
    table.add_with_ideal("one by one", one_by_one.total(), one_by_one.one_by_one());
    table.add_with_ideal("as planned", trace.total(), critical);
    println!("\n{table}");
    println!(
        "The ideal of 'as planned' is its critical path, {}: each step's own time",
        human(critical)
    );
    println!("from the trace, a sequence adding its children, a parallel taking its slowest:");
    println!("  {}", chain.join(" -> "));

    println!(
        "\nThe same plan when the light is asked for 'dim 150' ('x' failed, '-' cancelled):\n"
    );
    let failed = show_failure(Trouble::BadMessage).await;

    let timeout = human(CONNECT_TIMEOUT);
    println!(
        "\nAnd when the toilet never answers its handshake (cut by its {timeout} timeout, 't'):\n"
    );
    let stuck = show_failure(Trouble::StuckToilet).await;

    let vs_critical = ratio(trace.total(), critical).unwrap_or(f64::INFINITY);
    let speedup = table.speedup("as planned").unwrap_or(0.0);
    let allowed = ratio(sum, critical).unwrap_or(0.0);
    let of_allowed = speedup / allowed;
    println!();
    println!(
        "{}",
        Target::at_most("as planned <= 1.1x its critical path", vs_critical, 1.1)
    );
    let name = "as planned >= 0.9x the speedup sum / critical path allows";
    println!("{}", Target::at_least(name, of_allowed, 0.9));

    println!("\nWhat to notice:");
    let (took, ideal) = (human(trace.total()), human(critical));
    println!(
        "  * As planned took {took}, its critical path is {ideal}: measured / critical path = {vs_critical:.2}."
    );
    if vs_critical <= 1.1 {
        println!("    The plan ran at its ideal: only shortening that chain would make it faster.");
    } else {
        let over = (vs_critical - 1.0) * 100.0;
        println!(
            "    {over:.0} % over the ideal: time spent outside the steps (scheduling, a busy machine)."
        );
    }
    let compared = if (of_allowed - 1.0).abs() <= 0.1 {
        "about"
    } else if of_allowed < 1.0 {
        "short of"
    } else {
        "beyond"
    };
    println!(
        "  * One by one took {} (its steps add up to {}); as planned is {speedup:.1}x faster,",
        human(one_by_one.total()),
        human(sum)
    );
    println!("    {compared} the {allowed:.1}x that sum / critical path allows.");
    let share = ratio(failed.at, trace.total()).unwrap_or(0.0) * 100.0;
    println!(
        "  * The failed message ended the plan at {} ({share:.0} % of a good morning):",
        human(failed.at)
    );
    println!(
        "    {} of {steps} steps never started and {} were cut mid-run. Failing fast returns the error",
        failed.never_started, failed.cancelled
    );
    println!("    early, and leaves the home half done.");
    let stuck_for = human(Duration::from_millis(STUCK_HANDSHAKE_MS));
    println!(
        "  * The stuck handshake was cut at {} instead of {stuck_for}; {} of {steps} steps never started.",
        human(stuck.at),
        stuck.never_started
    );
    Ok(())
}
