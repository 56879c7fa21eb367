//! Every setting over its whole range (0, 1, MAX and random values), layers stacked in any
//! order, around a client that answers with hostile `Retry-After`s: no call panics, and every
//! call that ends ends with a typed answer (the page, the client's own error, or a decorator's
//! error naming the URL). A call may wait for good only where a setting says so.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::decorator::{
    Breaker, Circuit, ConcurrencyLimit, DecoratorError, FullJitter, Hedge, HedgeDelay, NoJitter,
    RateLimit, Retry, RetryPolicy, Timeout, Trip,
};
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::testkit::within_paused;
use proptest::prelude::*;

use super::URL;

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// How long a call may run (on the paused clock) before it counts as waiting for good.
const HORIZON: Duration = Duration::from_secs(1000 * 365 * 86_400);

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        Just(Duration::MAX),
        Just(Duration::from_secs(u64::MAX)),
        (0u64..2_000).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_nanos),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0), Just(1), Just(u32::MAX), 0u32..8, any::<u32>()]
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(usize::MAX),
        0usize..8,
        any::<usize>()
    ]
}

fn share() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1.0),
        Just(-1.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        0.0..=1.0,
        any::<f64>(),
    ]
}

/// One decorator and its settings.
#[derive(Debug, Clone)]
enum Layer {
    Timeout(Duration),
    Retry {
        attempts: u32,
        base: Duration,
        max: Duration,
        budget: Option<Duration>,
        full_jitter: bool,
    },
    Breaker(Trip, Duration),
    Hedge(HedgeDelay),
    Concurrency(usize),
    Rate {
        burst: u32,
        interval: Duration,
        max_wait: Option<Duration>,
    },
}

fn layer() -> impl Strategy<Value = Layer> {
    let trip = prop_oneof![
        count().prop_map(Trip::Consecutive),
        (share(), count()).prop_map(|(rate, window)| Trip::FailureRate { rate, window }),
    ];
    let hedge = prop_oneof![
        duration().prop_map(HedgeDelay::Fixed),
        (share(), size(), duration()).prop_map(|(percentile, window, initial)| {
            HedgeDelay::Percentile {
                percentile,
                window,
                initial,
            }
        }),
    ];
    prop_oneof![
        duration().prop_map(Layer::Timeout),
        (
            count(),
            duration(),
            duration(),
            proptest::option::of(duration()),
            any::<bool>()
        )
            .prop_map(|(attempts, base, max, budget, full_jitter)| Layer::Retry {
                attempts,
                base,
                max,
                budget,
                full_jitter,
            }),
        (trip, duration()).prop_map(|(trip, cool_down)| Layer::Breaker(trip, cool_down)),
        hedge.prop_map(Layer::Hedge),
        size().prop_map(Layer::Concurrency),
        (count(), duration(), proptest::option::of(duration())).prop_map(
            |(burst, interval, max_wait)| Layer::Rate {
                burst,
                interval,
                max_wait,
            }
        ),
    ]
}

/// Whether a setting allows a call to wait past the horizon: a rate of one call in a year or
/// more, or a retry that honours waits of a year or more (a hostile `Retry-After`). Every other
/// wait is bounded by the script (its failures are few) and by these two.
fn may_wait_for_good(layers: &[Layer]) -> bool {
    layers.iter().any(|layer| match layer {
        Layer::Rate { interval, .. } => *interval >= YEAR,
        Layer::Retry { max, .. } => *max >= YEAR,
        _ => false,
    })
}

fn stack(layers: &[Layer], client: Arc<dyn HttpGet>) -> Arc<dyn HttpGet> {
    layers
        .iter()
        .fold(client, |inner, layer| match layer.clone() {
            Layer::Timeout(limit) => Arc::new(Timeout::new(inner, limit)),
            Layer::Retry {
                attempts,
                base,
                max,
                budget,
                full_jitter,
            } => {
                // A retry whose waits stay short (or are drawn, and may be zero), around a layer
                // that cuts every attempt before the client (a zero timeout over a rate limit
                // that never has a token), is a busy loop: billions of attempts before the
                // horizon, as its settings ask. Played with a few dozen attempts, so a case ends
                // in real time on a loaded machine too (nested retries multiply them); with
                // waits that grow long enough to reach the horizon, the whole range is played.
                let mut policy = RetryPolicy::default().backoff(base, max);
                let busy = full_jitter || policy.ceiling(u32::MAX) < HORIZON / 10_000;
                policy = policy.attempts(if busy { attempts.min(32) } else { attempts });
                policy = match full_jitter {
                    true => policy.jitter(FullJitter),
                    false => policy.jitter(NoJitter),
                };
                if let Some(budget) = budget {
                    policy = policy.budget(budget);
                }
                Arc::new(Retry::new(inner, policy))
            }
            Layer::Breaker(trip, cool_down) => {
                Arc::new(Breaker::new(inner, &Circuit::new(trip, cool_down)))
            }
            Layer::Hedge(delay) => Arc::new(Hedge::new(inner, delay)),
            Layer::Concurrency(n) => Arc::new(ConcurrencyLimit::new(inner, n)),
            Layer::Rate {
                burst,
                interval,
                max_wait,
            } => {
                let limited = RateLimit::new(inner, burst, interval);
                match max_wait {
                    Some(max_wait) => Arc::new(limited.max_wait(max_wait)),
                    None => Arc::new(limited),
                }
            }
        })
}

/// One answer of the client.
#[derive(Debug, Clone)]
enum Answer {
    Page(Duration),
    Status(u16, Duration),
    RetryAfter(u16, Duration),
}

fn answer() -> impl Strategy<Value = Answer> {
    let latency = (0u64..3_000).prop_map(Duration::from_millis);
    let status = prop_oneof![Just(404), Just(429), Just(500), Just(503)];
    prop_oneof![
        latency.clone().prop_map(Answer::Page),
        (status, latency).prop_map(|(code, after)| Answer::Status(code, after)),
        (prop_oneof![Just(429), Just(503)], duration())
            .prop_map(|(code, wait)| Answer::RetryAfter(code, wait)),
    ]
}

/// Answers as scripted, then a page at once for good: the failures are few, so every loop ends.
struct Script(Mutex<VecDeque<Answer>>);

#[async_trait::async_trait]
impl HttpGet for Script {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let next = self.0.lock().unwrap().pop_front();
        let url = url.to_owned();
        match next {
            None => Ok(format!("page {url}")),
            Some(Answer::Page(after)) => {
                tokio::time::sleep(after).await;
                Ok(format!("page {url}"))
            }
            Some(Answer::Status(status, after)) => {
                tokio::time::sleep(after).await;
                Err(HttpError::Status { url, status })
            }
            Some(Answer::RetryAfter(status, retry_after)) => Err(HttpError::RetryAfter {
                url,
                status,
                retry_after,
            }),
        }
    }
}

/// Two rounds of `calls` calls at once (state carries over: a circuit, a bucket); each call's
/// answer, or `None` if it was still waiting at the horizon.
async fn play(
    layers: Vec<Layer>,
    answers: Vec<Answer>,
    calls: usize,
) -> Vec<Option<Result<String, HttpError>>> {
    let client = Arc::new(Script(Mutex::new(answers.into())));
    let http = stack(&layers, client);
    let mut seen = Vec::new();
    for _round in 0..2 {
        let round =
            (0..calls).map(|_| async { tokio::time::timeout(HORIZON, http.get(URL)).await.ok() });
        seen.extend(futures::future::join_all(round).await);
    }
    seen
}

proptest! {
    // A fixed seed: the same cases every run, so a failure is one a rerun shows again; change
    // the seed to explore others (every seed from 1 to 600 passed when this was written).
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(2026),
        ..ProptestConfig::with_cases(256)
    })]

    #[test]
    fn every_setting_gives_a_typed_answer_and_never_panics(
        layers in proptest::collection::vec(layer(), 0..6),
        answers in proptest::collection::vec(answer(), 0..6),
        calls in 1usize..4,
    ) {
        let may_wait = may_wait_for_good(&layers);
        let played = layers.clone();
        // A guard against a hang, not a speed limit: generous for a machine under load.
        let outcomes = within_paused(Duration::from_secs(60), play(played, answers, calls));
        for outcome in outcomes {
            match outcome {
                None => prop_assert!(may_wait, "a call waited for good, and no setting says it may"),
                Some(Ok(body)) => prop_assert_eq!(body, format!("page {URL}")),
                Some(Err(e)) => {
                    prop_assert_eq!(e.url(), Some(URL), "{}", e);
                    prop_assert!(!e.to_string().is_empty());
                    match DecoratorError::of(&e) {
                        Some(own) => prop_assert_eq!(own.url(), URL),
                        // Not a decorator's: then the client's own answer, passed through.
                        None => prop_assert!(
                            matches!(e, HttpError::Status { .. } | HttpError::RetryAfter { .. }),
                            "{:?}", e
                        ),
                    }
                }
            }
        }
    }
}
