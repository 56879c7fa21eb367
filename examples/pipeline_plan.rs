//! The smart-home morning as a plan: connect the devices, then, in parallel, one sequence of
//! messages to the light, one to the speaker, one to the toilet.
//!
//! Run: `cargo run --release --example pipeline_plan`
//!
//! What to notice:
//! * the timeline: the three devices' bars overlap, so the plan takes its critical path
//!   (the slowest connection, then the slowest device's sequence), not the sum of its steps;
//! * the same steps as one long sequence take the sum;
//! * when one message fails, the error names it by its path and the other devices' running
//!   messages are cancelled (`-` bars), and a stuck message is cut by its timeout.
//!
//! Each message is simulated with `tokio::time::sleep` (it stands for a network round-trip), so
//! the example runs offline and its timings are predictable.

use std::time::Duration;

use async_patterns::pipeline::plan::{
    BoxStep, Step, StepContext, StepError, StepExt, parallel, run_traced, sequence,
};
use async_patterns::timing::{Table, Target, human};

/// One message to a device: a step that takes `latency` and may fail. Prints when it starts,
/// reading its path and the plan's clock from the context.
struct Message {
    name: String,
    latency: Duration,
    fails: bool,
    verbose: bool,
}

#[async_trait::async_trait]
impl Step for Message {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        if self.verbose {
            println!("  [{:>6}] -> {}", human(cx.elapsed()), cx.path());
        }
        tokio::time::sleep(self.latency).await;
        if self.fails {
            return Err(StepError::failed("the device did not answer"));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Parallel where the program allows it.
    AsPlanned,
    /// Everything one after another.
    OneByOne,
}

struct Home {
    shape: Shape,
    verbose: bool,
    /// A message that fails: (device, message).
    failing: Option<(&'static str, &'static str)>,
    /// A message that hangs for a minute unless its timeout cuts it.
    stuck: Option<(&'static str, &'static str)>,
}

impl Home {
    fn group(&self, name: &str, steps: Vec<BoxStep>) -> BoxStep {
        match self.shape {
            Shape::AsPlanned => parallel(name, steps).boxed(),
            Shape::OneByOne => sequence(name, steps).boxed(),
        }
    }

    fn message(&self, device: &str, name: &str, ms: u64) -> BoxStep {
        let stuck = self.stuck == Some((device, name));
        let step = Message {
            name: name.to_owned(),
            latency: Duration::from_millis(if stuck { 60_000 } else { ms }),
            fails: self.failing == Some((device, name)),
            verbose: self.verbose,
        };
        // Every message gets a timeout well above its normal latency.
        step.with_timeout(Duration::from_millis(150)).boxed()
    }

    fn device(&self, device: &str, messages: &[(&str, u64)]) -> BoxStep {
        let steps = messages
            .iter()
            .map(|(name, ms)| self.message(device, name, *ms))
            .collect();
        sequence(device, steps).boxed()
    }

    /// connect all (50 / 80 / 30 ms), then per device: light 50, speaker 130, toilet 70 ms.
    /// Critical path: 80 + 130 = 210 ms. One by one: 160 + 250 = 410 ms.
    fn morning(&self) -> BoxStep {
        let connect = self.group(
            "connect",
            vec![
                self.message("connect", "light", 50),
                self.message("connect", "speaker", 80),
                self.message("connect", "toilet", 30),
            ],
        );
        let routines = self.group(
            "routines",
            vec![
                self.device("light", &[("on", 10), ("dim", 20), ("warm", 20)]),
                self.device("speaker", &[("volume", 10), ("news", 120)]),
                self.device("toilet", &[("seat-heat", 40), ("flush", 30)]),
            ],
        );
        sequence("morning", vec![connect, routines]).boxed()
    }
}

/// Run a morning that goes wrong: print its error and its timeline.
async fn show_failure(home: &Home) {
    let (result, trace) = run_traced(home.morning().as_ref()).await;
    if let Err(e) = &result {
        println!("error: {e}");
    }
    print!("{}", trace.timeline(50));
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let critical_path = Duration::from_millis(210);
    let mut table = Table::new("smart-home morning, 10 messages").ideal(critical_path);

    println!("The plan, as planned (each line: when a message starts, and its path):");
    let planned = Home {
        shape: Shape::AsPlanned,
        verbose: true,
        failing: None,
        stuck: None,
    };
    let one_by_one = Home {
        shape: Shape::OneByOne,
        verbose: false,
        ..planned
    };

    let (result, trace) = run_traced(one_by_one.morning().as_ref()).await;
    result?;
    table.add("one by one", trace.total());

    let (result, trace) = run_traced(planned.morning().as_ref()).await;
    result?;
    table.add("as planned", trace.total());
    println!("\nTimeline as planned ('#' = running). The device bars overlap:\n");
    print!("{}", trace.timeline(50));

    println!("\nThe same plan when the light's 'dim' fails ('x' failed, '-' cancelled):\n");
    let failing = Home {
        verbose: false,
        failing: Some(("light", "dim")),
        ..planned
    };
    show_failure(&failing).await;

    println!("\nAnd when the toilet's 'flush' hangs (cut by its 150 ms timeout, 't'):\n");
    let stuck = Home {
        verbose: false,
        stuck: Some(("toilet", "flush")),
        ..planned
    };
    show_failure(&stuck).await;

    println!("\n{table}");
    let speedup = table.speedup("as planned").unwrap_or(0.0);
    let vs_ideal = table.vs_ideal("as planned").unwrap_or(f64::INFINITY);
    println!(
        "{}",
        Target::at_least("as planned >= 1.8x one by one", speedup, 1.8)
    );
    println!(
        "{}",
        Target::at_most("as planned <= 1.1x the critical path", vs_ideal, 1.1)
    );
    Ok(())
}
