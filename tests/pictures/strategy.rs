//! The strategy's picture: a `Downloader` whose strategy is swapped while its batches run.

use std::sync::Arc;

use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{AllAtOnce, Bounded, Downloader, OneByOne};
use async_patterns::timing::BarOutcome;
use tokio::time::sleep;

use super::check::{committed, ms, recorded};

/// A server whose every page takes 30 ms.
struct Pages;

#[async_trait::async_trait]
impl HttpGet for Pages {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        sleep(ms(30)).await;
        Ok(format!("page {url}"))
    }
}

#[test]
fn a_strategy_swapped_mid_run() {
    // Three batches of the same four pages, one after another; another task swaps the strategy
    // during the first batch (at 45 ms) and during the second (at 135 ms).
    let timeline = recorded("async_patterns::strategy", || async {
        let downloader = Downloader::new(Arc::new(Pages), Arc::new(OneByOne));
        let urls: Vec<String> = (1..=4).map(|i| format!("/page/{i}")).collect();
        let batches = async {
            for _ in 0..3 {
                let pages = downloader.download(&urls).await.expect("four results");
                assert!(pages.iter().all(Result::is_ok));
            }
        };
        let swaps = async {
            sleep(ms(45)).await;
            downloader.set_strategy(Arc::new(AllAtOnce));
            sleep(ms(90)).await;
            downloader.set_strategy(Arc::new(Bounded::new(2)));
        };
        tokio::join!(batches, swaps);
    });
    // The batches kept the strategy they started with: 4 x 30 ms, then 30 ms, then 2 x 30 ms.
    let batches: Vec<(String, u128, u128)> = timeline
        .bars_by_start()
        .into_iter()
        .filter(|b| b.depth == 0 && b.outcome == BarOutcome::Ok)
        .map(|b| (b.label, b.start.as_millis(), b.end.as_millis()))
        .collect();
    let expected = [
        ("one by one", 0, 120),
        ("all at once", 120, 150),
        ("bounded", 150, 210),
    ];
    assert_eq!(batches, expected.map(|(l, s, e)| (l.to_owned(), s, e)));
    let title = "three batches of four 30 ms pages; the strategy swapped at 45 ms and at 135 ms";
    committed("src/strategy/pictures/swapped.svg", &timeline.to_svg(title));
}
