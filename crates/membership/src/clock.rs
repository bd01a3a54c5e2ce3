//! The clock that time-dependent membership rules read (pending-request windows, declines,
//! revocations), so tests can move time forward instead of sleeping.

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
#[derive(Clone)]
pub struct Clock {
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl Clock {
    /// The system clock, truncated to microseconds like every stored time.
    pub fn system() -> Self {
        Self {
            now: Arc::new(tributary_runtime::time::now),
        }
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self { now: Arc::new(now) }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Clock(..)")
    }
}

/// A clock that stands still until told to move: for tests of expiry and ordering rules.
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            time: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward (or back, for a negative `by`).
    pub fn advance(&self, by: TimeDelta) {
        let mut time = self
            .time
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *time += by;
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        *self
            .time
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A [`Clock`] that reads this one.
    pub fn clock(&self) -> Clock {
        let time = self.time.clone();
        Clock::from_fn(move || *time.lock().unwrap_or_else(|poison| poison.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = tributary_runtime::time::now();
        let manual = ManualClock::new(start);
        let clock = manual.clock();
        assert_eq!(clock.now(), start);
        manual.advance(TimeDelta::days(8));
        assert_eq!(clock.now(), start + TimeDelta::days(8));
        assert_eq!(manual.now(), clock.now());
    }
}
