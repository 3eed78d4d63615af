//! The one hand-off between threads of the crate: a queue of messages plus a wake-up flag, with a
//! timed wait for either. A wake-up or message that arrives while the receiver is busy is kept,
//! never lost. Also the crate's one way of taking a lock: a panic elsewhere while a lock was held
//! leaves data that is still consistent here (every critical section is a plain update), so a
//! poisoned lock is taken as it is rather than spreading the panic.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) struct Mailbox<T> {
    state: Mutex<(VecDeque<T>, bool)>,
    arrived: Condvar,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox { state: Mutex::new((VecDeque::new(), false)), arrived: Condvar::new() }
    }
}

impl<T> Mailbox<T> {
    pub(crate) fn push(&self, message: T) {
        lock(&self.state).0.push_back(message);
        self.arrived.notify_all();
    }

    /// Wakes the receiver without a message.
    pub(crate) fn wake(&self) {
        lock(&self.state).1 = true;
        self.arrived.notify_all();
    }

    /// Every queued message, after waiting up to `wait` for a message or a wake-up.
    pub(crate) fn take(&self, wait: Duration) -> Vec<T> {
        let guard = lock(&self.state);
        let (mut state, _) = self
            .arrived
            .wait_timeout_while(guard, wait, |(messages, woken)| messages.is_empty() && !*woken)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.1 = false;
        state.0.drain(..).collect()
    }

    /// Removes and returns the first message that `wanted` picks, waiting up to `wait` for it;
    /// other messages stay queued in order.
    pub(crate) fn take_first(&self, wait: Duration, mut wanted: impl FnMut(&T) -> bool) -> Option<T> {
        let deadline = std::time::Instant::now() + wait;
        let mut state = lock(&self.state);
        loop {
            if let Some(position) = state.0.iter().position(&mut wanted) {
                return state.0.remove(position);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            state = self.arrived.wait_timeout(state, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_up_sent_before_the_wait_is_kept_and_consumed_once() {
        let mailbox = Mailbox::<u8>::default();
        mailbox.wake();
        assert!(mailbox.take(Duration::from_secs(60)).is_empty(), "returns at once: the wake-up was kept");
        mailbox.push(1);
        mailbox.push(2);
        assert_eq!(mailbox.take(Duration::from_secs(60)), vec![1, 2]);
    }

    #[test]
    fn take_first_leaves_the_other_messages_in_order() {
        let mailbox = Mailbox::default();
        for n in [1, 2, 3, 4] {
            mailbox.push(n);
        }
        assert_eq!(mailbox.take_first(Duration::ZERO, |n| n % 2 == 0), Some(2));
        assert_eq!(mailbox.take_first(Duration::ZERO, |n| *n > 10), None);
        assert_eq!(mailbox.take(Duration::ZERO), vec![1, 3, 4]);
    }
}
