//! Performance targets: checked and reported, never enforced.

use std::fmt;

/// A performance target, checked and reported, never enforced.
///
/// Shared machines are noisy: a bench or example prints `target met` or `target MISSED` and goes
/// on; it never fails the build over a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What the target is, in words ("join_all >= 18x one by one").
    pub name: String,
    /// Whether the measurement met it.
    pub met: bool,
    /// The measured value, in words.
    pub measured: String,
}

impl Target {
    /// A target met when `measured >= at_least`.
    pub fn at_least(name: impl Into<String>, measured: f64, at_least: f64) -> Self {
        Target {
            name: name.into(),
            met: measured >= at_least,
            measured: shown(measured, at_least),
        }
    }

    /// A target met when `measured <= at_most`.
    pub fn at_most(name: impl Into<String>, measured: f64, at_most: f64) -> Self {
        Target {
            name: name.into(),
            met: measured <= at_most,
            measured: shown(measured, at_most),
        }
    }
}

/// `measured` with two decimals, or as many more as it takes to tell it from `bound`: a miss
/// by 0.005 must not print as the bound itself.
fn shown(measured: f64, bound: f64) -> String {
    for digits in 2..=6 {
        let text = format!("{measured:.digits$}");
        if measured == bound || text != format!("{bound:.digits$}") {
            return text;
        }
    }
    measured.to_string()
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.met {
            "met"
        } else {
            "MISSED (a noisy machine can cause this)"
        };
        write!(
            f,
            "target {}: measured {}, {verdict}",
            self.name, self.measured
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::timing::human;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn targets_report_without_failing() {
        assert!(Target::at_least("x", 19.0, 18.0).met);
        let missed = Target::at_most("y", 1.3, 1.1);
        assert!(!missed.met);
        assert!(missed.to_string().contains("MISSED"));
        assert_eq!(human(ms(45)), "45.0 ms");
        // A miss by less than the rounding must not print as the bound itself.
        let near = Target::at_least("z", 0.895, 0.9);
        assert!(!near.met);
        assert_eq!(near.measured, "0.895");
        assert_eq!(Target::at_least("w", 19.7, 18.0).measured, "19.70");
        assert_eq!(Target::at_most("v", 1.1, 1.1).measured, "1.10");
        assert_eq!(human(Duration::from_nanos(812)), "812 ns");
    }
}
