//! Circuit breaker: stop calling a server that keeps failing, and try it again later.
//!
//! Retrying helps a server that failed once; it hurts a server that is down, by sending it
//! every request several times. A breaker watches the outcomes and, past a threshold of
//! failures, *opens*: calls fail at once with [`DecoratorError::CircuitOpen`], the client is
//! not called, and the server gets time to recover. After a cool-down the circuit is
//! *half-open*: one call goes through as a probe; its success closes the circuit, its failure
//! opens it for another cool-down.
//!
//! ```text
//!            N failures in a row             cool-down passed
//!   Closed ───────────────────────▶ Open ─────────────────────▶ HalfOpen
//!     ▲  (or a failure rate)          ▲   the probe failed          │
//!     │                               └─────────────────────────────┤
//!     └─────────────────────────────────────────────────────────────┘
//!                               the probe succeeded
//! ```
//!
//! The state lives in a [`Circuit`], a cheap handle that can be shared: by several clients of
//! one host, and by the code that watches it ([`Circuit::state`], [`Circuit::on_transition`]).
//! Time is tokio's, so a test on the paused clock sees each transition at its exact instant.
//!
//! # Cancellation
//! A call cancelled while it runs is not counted, either way. A cancelled *probe* gives its
//! place back: the circuit stays half-open and the next call probes (without that, a dropped
//! probe would leave the circuit half-open with no probe forever).

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::debug;

use super::errors::{DecoratorError, is_transient, one_line};
use super::trip::{Seen, Trip};
use crate::http::{HttpError, HttpGet};
use crate::support::{lock, read, write};

/// Calls the inner client through a [`Circuit`]: not at all while it is open.
#[derive(Debug, Clone)]
pub struct Breaker<S> {
    inner: S,
    circuit: Circuit,
}

impl<S> Breaker<S> {
    /// Call `inner` through `circuit` (a clone of it: the state is shared).
    pub fn new(inner: S, circuit: &Circuit) -> Self {
        let circuit = circuit.clone();
        Breaker { inner, circuit }
    }

    /// The circuit, to watch its state.
    pub fn circuit(&self) -> &Circuit {
        &self.circuit
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for Breaker<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        // Open: fail here, before the client is touched. That is the whole point.
        let permit = self.circuit.admit(url)?;
        let result = self.inner.get(url).await;
        permit.record(&result);
        result
    }
}

/// The state of a circuit, shared by every [`Breaker`] given a clone of it.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::decorator::{BreakerState, Circuit, Trip};
/// let circuit = Circuit::new(Trip::Consecutive(5), Duration::from_secs(30));
/// assert_eq!(circuit.state(), BreakerState::Closed);
/// ```
#[derive(Clone)]
pub struct Circuit(Arc<Shared>);

struct Shared {
    trip: Trip,
    cool_down: Duration,
    counts: fn(&HttpError) -> bool,
    state: Mutex<State>,
    listeners: RwLock<Vec<Listener>>,
}

/// Leave to go through the circuit, from [`Circuit::admit`]: report the outcome with
/// [`record`](Permit::record), or drop it to report nothing (a cancelled call).
#[derive(Debug)]
#[must_use = "a permit reports nothing unless `record` is called"]
pub struct Permit<'a> {
    circuit: &'a Circuit,
    epoch: u64,
    /// The one probe of a half-open circuit, not yet recorded.
    probe: bool,
}

impl Circuit {
    /// A closed circuit that opens as `trip` says and stays open for `cool_down`; the failures
    /// counted are [`is_transient`] ones (a 404 is the server working). A `cool_down` too long
    /// to add to the clock (`Duration::MAX`) keeps it open for good.
    pub fn new(trip: Trip, cool_down: Duration) -> Self {
        Circuit::counting(trip, cool_down, is_transient)
    }

    /// The same, counting as failures the errors for which `counts` is true.
    pub fn counting(trip: Trip, cool_down: Duration, counts: fn(&HttpError) -> bool) -> Self {
        let state = Mutex::new(State {
            phase: Phase::closed(),
            epoch: 0,
        });
        let listeners = RwLock::new(Vec::new());
        Circuit(Arc::new(Shared {
            trip,
            cool_down,
            counts,
            state,
            listeners,
        }))
    }

    /// The state now. An open circuit whose cool-down has passed is half-open, even before a
    /// call comes to notice it.
    pub fn state(&self) -> BreakerState {
        let (now, changed) = {
            let mut state = lock(&self.0.state);
            let changed = state.cool_down_passed();
            (state.phase.state(), changed)
        };
        self.tell(changed);
        now
    }

    /// Call `listener` on every change of state, after the change (never under a lock, so it
    /// may look at the circuit).
    pub fn on_transition(&self, listener: impl Fn(&Transition) + Send + Sync + 'static) {
        write(&self.0.listeners).push(Arc::new(listener));
    }

    /// Ask to call through the circuit for `url`: a [`Permit`] when closed (or for the one probe
    /// of a half-open circuit), else [`DecoratorError::CircuitOpen`] at once.
    pub fn admit(&self, url: &str) -> Result<Permit<'_>, DecoratorError> {
        let (admitted, changed) = {
            let mut state = lock(&self.0.state);
            let changed = state.cool_down_passed();
            let epoch = state.epoch;
            let admitted = match &mut state.phase {
                Phase::Closed { .. } => Ok(false),
                Phase::HalfOpen { probing, .. } if !*probing => {
                    *probing = true;
                    Ok(true)
                }
                Phase::HalfOpen { cause, .. } => Err((None, cause.clone())),
                Phase::Open { until, cause } => {
                    let now = Instant::now();
                    let wait = until.map_or(Duration::MAX, |t| t.saturating_duration_since(now));
                    Err((Some(wait), cause.clone()))
                }
            };
            (admitted.map(|probe| (probe, epoch)), changed)
        };
        self.tell(changed);
        match admitted {
            Ok((probe, epoch)) => Ok(Permit {
                circuit: self,
                epoch,
                probe,
            }),
            Err((retry_in, cause)) => Err(DecoratorError::CircuitOpen {
                url: url.to_owned(),
                retry_in,
                cause,
            }),
        }
    }

    /// Count one outcome of a call admitted at `epoch`, and move to the state it leads to.
    fn record(&self, epoch: u64, failure: Option<&HttpError>) {
        // The clock is read once, and only for a change of state: a success while closed costs
        // a lock and nothing more. Likewise the cause's message, made only when it opens.
        let clock = std::cell::OnceCell::new();
        let now = || *clock.get_or_init(Instant::now);
        let open = |failure: &HttpError| Phase::Open {
            until: now().checked_add(self.0.cool_down),
            cause: one_line(failure),
        };
        let changed = {
            let mut state = lock(&self.0.state);
            if state.epoch != epoch {
                // Admitted in an earlier phase, finished late: it no longer counts.
                return;
            }
            let next = match (&mut state.phase, failure) {
                // The probe's verdict: closed again, or open for another cool-down.
                (Phase::HalfOpen { .. }, None) => Some(Phase::closed()),
                (Phase::HalfOpen { .. }, Some(failure)) => Some(open(failure)),
                // Every outcome is counted; only a failure can open the circuit.
                (Phase::Closed(seen), failure) => {
                    let opens = self.0.trip.opens(seen, failure.is_some());
                    failure.filter(|_| opens).map(open)
                }
                (Phase::Open { .. }, _) => None,
            };
            next.and_then(|phase| state.enter(phase, now()))
        };
        self.tell(changed);
    }

    /// Give back the place of a probe that was dropped before its verdict.
    fn release_probe(&self, epoch: u64) {
        let mut state = lock(&self.0.state);
        if state.epoch == epoch
            && let Phase::HalfOpen { probing, .. } = &mut state.phase
        {
            *probing = false;
        }
    }

    /// Say that the state changed: an event for the timelines (in whatever span the call
    /// that changed it runs: a retry's attempt, your own), then each listener.
    fn tell(&self, change: Option<Transition>) {
        if let Some(change) = change {
            match change.to {
                BreakerState::Open => debug!("circuit opened"),
                BreakerState::HalfOpen => debug!("half-open probe"),
                BreakerState::Closed => debug!("closed"),
            }
            // Clone the list out, so a listener may add another without a deadlock.
            let listeners = read(&self.0.listeners).clone();
            listeners.iter().for_each(|listener| listener(&change));
        }
    }
}

impl Permit<'_> {
    /// Report how the call went: a failure the circuit counts, or anything else.
    pub fn record<T>(mut self, result: &Result<T, HttpError>) {
        // A failure's message is what an open circuit reports as its cause.
        let failure = match result {
            Err(e) if (self.circuit.0.counts)(e) => Some(e),
            _ => None,
        };
        self.probe = false; // recorded: the drop must not give the probe's place back
        self.circuit.record(self.epoch, failure);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.circuit.release_probe(self.epoch);
        }
    }
}

/// The phase, and how many transitions led to it: a permit from an earlier phase is stale.
#[derive(Debug)]
struct State {
    phase: Phase,
    epoch: u64,
}

#[derive(Debug)]
enum Phase {
    /// What a closed circuit has seen of its calls, for its [`Trip`] to judge.
    Closed(Seen),
    Open {
        /// The end of the cool-down; `None` for one too long to add to the clock
        /// (`Duration::MAX`): the circuit stays open.
        until: Option<Instant>,
        cause: String,
    },
    HalfOpen {
        probing: bool,
        cause: String,
    },
}

impl State {
    /// Enter `phase`, and say so.
    fn enter(&mut self, phase: Phase, at: Instant) -> Option<Transition> {
        let from = self.phase.state();
        self.phase = phase;
        self.epoch = self.epoch.wrapping_add(1); // an identity, compared for equality only
        let to = self.phase.state();
        Some(Transition { from, to, at })
    }

    /// `Open -> HalfOpen` once the cool-down has passed, dated at its end.
    fn cool_down_passed(&mut self) -> Option<Transition> {
        let Phase::Open {
            until: Some(until),
            cause,
        } = &mut self.phase
        else {
            return None; // closed, half-open, or open for good
        };
        if Instant::now() < *until {
            return None;
        }
        let (at, cause) = (*until, std::mem::take(cause));
        self.enter(
            Phase::HalfOpen {
                probing: false,
                cause,
            },
            at,
        )
    }
}

impl Phase {
    fn closed() -> Phase {
        Phase::Closed(Seen::default())
    }

    fn state(&self) -> BreakerState {
        match self {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

/// The three states of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls fail at once, without calling the client.
    Open,
    /// One probe goes through; the others fail at once.
    HalfOpen,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

/// A change of state, and the instant it happened (on tokio's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
    /// When: for `Open -> HalfOpen`, the end of the cool-down, even if it is noticed later.
    pub at: Instant,
}

type Listener = Arc<dyn Fn(&Transition) + Send + Sync>;

impl fmt::Debug for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Circuit")
            .field("trip", &self.0.trip)
            .field("cool_down", &self.0.cool_down)
            .field("state", &*lock(&self.0.state))
            .finish_non_exhaustive()
    }
}
