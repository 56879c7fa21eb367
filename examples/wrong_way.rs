//! The wrong way: blocking calls inside async tasks, measured, then the right way.
//!
//! ```text
//! cargo run --release --example wrong_way
//! ```
//!
//! It ends with what to notice in its numbers: ten tasks that each *block* for 100 ms take a
//! full second on a one-thread runtime, exactly as if run one by one, and a heartbeat task on
//! the same runtime misses its beats. Moved to `spawn_blocking` (`to_thread`), the same work
//! takes about 100 ms and the heartbeat keeps ticking. The blocking reqwest client, asked to run
//! on a runtime thread, returns an error instead of freezing (or, in reqwest's debug builds,
//! panicking).

use std::error::Error;
use std::time::Duration;

use async_patterns::basics::blocking::{right_way, with_heartbeat, wrong_way};
use async_patterns::http::HttpConfig;
use async_patterns::http::blocking::BlockingHttp;
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Page, Table, Target, ratio};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("wrong_way"), false)
}

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let tasks = if brief { 5 } else { 10 };
    let each = Duration::from_millis(100);
    page.heading(format!(
        "wrong_way: {tasks} tasks that each block for {each:?}, on a one-thread runtime"
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut table = Table::new(format!("{tasks} blocking calls of {each:?}")).ideal(each);
    let beats = runtime.block_on(async {
        let (wrong, wrong_beats) = with_heartbeat(ms(10), wrong_way(tasks, each)).await;
        let (right, right_beats) = with_heartbeat(ms(10), right_way(tasks, each)).await;
        table.add("blocking in tasks (wrong)", wrong);
        table.add("to_thread (right)", right);
        let expected = (right.as_millis() / 10) as u32;
        page.line(format!(
            "heartbeats every 10 ms while blocking in tasks: {wrong_beats} (the runtime was frozen)"
        ));
        page.line(format!(
            "heartbeats while using to_thread: {right_beats} (about {expected} expected)"
        ));

        let server = TestServer::start()?;
        let url = server.delay_url(10);
        // Built on a plain thread: reqwest refuses to build its blocking client on a runtime thread.
        let blocking = std::thread::spawn(|| BlockingHttp::new(HttpConfig::default()))
            .join()
            .map_err(|_| "thread panicked")??;
        page.line(match blocking.get(&url) {
            Ok(_) => "blocking GET on the runtime thread returned (it should not have)".to_owned(),
            Err(e) => format!("blocking GET on the runtime thread refused: {e}"),
        });
        drop(blocking); // released on a helper thread: safe here too
        Ok::<_, Box<dyn Error>>((wrong_beats, right_beats, expected))
    })?;
    page.table(&table);
    let want = tasks as f64 * 0.8;
    page.target(Target::at_least(
        format!("to_thread >= {want:.1}x the wrong way ({tasks} calls)"),
        table.speedup("to_thread (right)").unwrap_or(0.0),
        want,
    ));
    let (wrong_beats, right_beats, expected) = beats;
    let in_waits = |label| {
        table
            .row(label)
            .and_then(|r| ratio(r.elapsed, each))
            .unwrap_or(0.0)
    };
    page.notice(format!(
        "blocking in {tasks} tasks took {:.1} times one call: one after another, as a plain loop would.",
        in_waits("blocking in tasks (wrong)")
    ));
    page.notice(format!(
        "to_thread took {:.2} times one call, and the heartbeat beat {right_beats} times (of about \
         {expected}) instead of {wrong_beats}: the runtime stayed free.",
        in_waits("to_thread (right)")
    ));
    Ok(())
}
