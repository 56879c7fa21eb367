//! When a closed circuit opens: the [`Trip`] rule, and what a circuit remembers of its calls
//! to judge by it.

use std::collections::VecDeque;

/// When a closed circuit opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trip {
    /// After this many failures in a row (0 is taken as 1; `u32::MAX` in practice never).
    Consecutive(u32),
    /// When at least `rate` of the last `window` calls failed, once `window` calls have been
    /// seen. A `window` of 0 is taken as 1, one above [`Trip::MAX_WINDOW`] as that. A `rate` of
    /// 0.0 (or less) opens on any failure once the window is full; above 1.0 (or NaN), never.
    FailureRate {
        /// The share of failures that opens the circuit.
        rate: f64,
        /// How many recent calls the share is taken over.
        window: u32,
    },
}

impl Trip {
    /// The longest window a [`FailureRate`](Trip::FailureRate) is taken over: 65,536 calls (64
    /// KiB of outcomes). A larger window is lowered to it, so a breaker's memory is bounded
    /// whatever it is given.
    pub const MAX_WINDOW: u32 = 1 << 16;

    /// Count one outcome of a closed circuit's call into `seen`, and say whether the circuit
    /// opens now.
    pub(super) fn opens(&self, seen: &mut Seen, failed: bool) -> bool {
        seen.in_a_row = if failed {
            seen.in_a_row.saturating_add(1)
        } else {
            0
        };
        match *self {
            Trip::Consecutive(n) => seen.in_a_row >= n.max(1),
            Trip::FailureRate { rate, window } => {
                let window = window.clamp(1, Trip::MAX_WINDOW) as usize;
                seen.push(failed, window);
                let calls = seen.recent.len();
                calls >= window && seen.failed as f64 >= rate * calls as f64
            }
        }
    }
}

/// What a closed circuit has seen: failures in a row, and the outcomes of the last calls
/// (`true`: a failure) with how many of them failed, counted as they come and go, so that
/// judging a rate is one division whatever the window.
#[derive(Debug, Default)]
pub(super) struct Seen {
    in_a_row: u32,
    recent: VecDeque<bool>,
    failed: usize,
}

impl Seen {
    /// Add one outcome, and forget the oldest beyond `window`.
    fn push(&mut self, failed: bool, window: usize) {
        self.recent.push_back(failed);
        self.failed += usize::from(failed);
        if self.recent.len() > window && self.recent.pop_front() == Some(true) {
            self.failed -= 1;
        }
    }
}
