//! The trace a plan records: one bar per step on a timeline that shows overlap, its leaves, summed
//! one by one, any width drawn without panicking.

use async_patterns::pipeline::plan::{StepExt, run_traced, sequence};
use async_patterns::timing::MAX_WIDTH;

use super::{light_ok, message, morning, ms};

#[tokio::test(start_paused = true)]
async fn the_timeline_draws_one_bar_per_step_and_shows_overlap() {
    let (_, trace) = run_traced(&morning(light_ok())).await;
    let text = trace.timeline(42);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), trace.spans().len());
    let bar = |name: &str| -> Vec<usize> {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name} in\n{text}"));
        let inner = line.split('|').nth(1).unwrap_or_default();
        inner
            .char_indices()
            .filter(|(_, c)| *c == '#')
            .map(|(i, _)| i)
            .collect()
    };
    // 42 columns for 210 ms: 5 ms per column.
    assert_eq!(bar("morning"), (0..42).collect::<Vec<_>>());
    assert_eq!(bar("news"), (18..42).collect::<Vec<_>>());
    assert_eq!(bar("seat-heat"), (16..24).collect::<Vec<_>>());
    // The devices' routines overlap: news (from 90 ms) and seat-heat (80-120 ms) share columns.
    assert!(bar("news").contains(&19) && bar("seat-heat").contains(&19));
    assert!(
        !text.contains("morning/"),
        "labels are names, indented by depth"
    );
}

#[tokio::test(start_paused = true)]
async fn one_by_one_sums_the_leaves_even_when_a_leaf_and_a_composite_share_a_name() {
    // "p/x" is a leaf and, beside it, "p/x" is also a sequence holding "p/x/y".
    let plan = sequence(
        "p",
        vec![
            message("x", 10),
            sequence("x", vec![message("y", 20)]).boxed(),
        ],
    );
    let (result, trace) = run_traced(&plan).await;
    assert!(result.is_ok());
    assert_eq!(trace.total(), ms(30));
    assert_eq!(trace.one_by_one(), ms(10 + 20));
    let leaves: Vec<_> = trace.leaves().iter().map(|s| s.path.as_str()).collect();
    assert_eq!(leaves, ["p/x", "p/x/y"]);

    // An unnamed root is still a level of its own, not a leaf beside its children.
    let (_, trace) = run_traced(&sequence("", vec![message("x", 10)])).await;
    let levels: Vec<_> = trace
        .spans()
        .iter()
        .map(|s| (s.path.as_str(), s.depth))
        .collect();
    assert_eq!(levels, [("", 0), ("/x", 1)]);
    assert_eq!(trace.one_by_one(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn a_timeline_of_any_width_is_drawn_without_panicking() {
    let (_, trace) = run_traced(&morning(light_ok())).await;
    let widest = trace.timeline(usize::MAX);
    let bar = widest.lines().next().and_then(|l| l.split('|').nth(1));
    assert_eq!(bar.map(|b| b.chars().count()), Some(MAX_WIDTH));
    assert_eq!(trace.timeline(0).lines().count(), trace.spans().len());
}
