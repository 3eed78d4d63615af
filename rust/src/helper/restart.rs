//! When to start a helper again after it died: exponential backoff, so a helper that dies at once
//! is not restarted in a tight loop, and a clean slate once one has run long enough. Pure: the
//! caller passes the time.

use std::time::{Duration, Instant};

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(30);
/// A helper that lived this long counts as healthy: its death starts the backoff from the beginning.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct RestartSchedule {
    failures_in_a_row: u32,
    next_start: Option<Instant>,
}

impl RestartSchedule {
    /// A helper started at `started_at` ended at `now`; returns the delay before the next start.
    pub fn helper_exited(&mut self, now: Instant, started_at: Instant) -> Duration {
        if now.saturating_duration_since(started_at) >= HEALTHY_AFTER {
            self.failures_in_a_row = 0;
        }
        self.start_failed(now)
    }

    /// A start attempt failed at `now`; returns the delay before the next one.
    pub fn start_failed(&mut self, now: Instant) -> Duration {
        let delay = FIRST_DELAY.saturating_mul(1 << self.failures_in_a_row.min(16)).min(MAX_DELAY);
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        self.next_start = Some(now + delay);
        delay
    }

    pub fn started(&mut self) {
        self.next_start = None;
    }

    pub fn due(&self, now: Instant) -> bool {
        self.next_start.is_some_and(|at| at <= now)
    }

    pub fn next_start(&self) -> Option<Instant> {
        self.next_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_deaths_back_off_exponentially_up_to_the_cap() {
        let start = Instant::now();
        let mut schedule = RestartSchedule::default();
        let delays: Vec<u128> = (0..12).map(|_| schedule.helper_exited(start, start).as_millis()).collect();
        assert_eq!(&delays[..6], &[100, 200, 400, 800, 1600, 3200]);
        assert_eq!(delays[11], 30_000);
        assert!(!schedule.due(start));
        assert!(schedule.due(start + MAX_DELAY));
        schedule.started();
        assert!(schedule.next_start().is_none() && !schedule.due(start + MAX_DELAY));
    }

    #[test]
    fn a_helper_that_ran_long_enough_restarts_quickly() {
        let start = Instant::now();
        let mut schedule = RestartSchedule::default();
        for _ in 0..5 {
            schedule.helper_exited(start, start);
        }
        let later = start + HEALTHY_AFTER;
        assert_eq!(schedule.helper_exited(later, start), FIRST_DELAY);
        assert_eq!(schedule.next_start(), Some(later + FIRST_DELAY));
    }
}
