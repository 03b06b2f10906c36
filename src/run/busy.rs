//! The wall-clock time a future spends inside `poll`: its own synchronous work
//! (JSON, SQLite, mapping), not the time it waits on sockets or timers.
//!
//! At speed S every wall millisecond of that work is S milliseconds of scenario
//! time, so an engine that does 20 ms of work between reading the orders and
//! pushing stock opens a 6 s race window at 300x that it would not have at 1x
//! (F4). The run reports this per engine tick and warns when it is large enough
//! to distort what it measures.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A shared accumulator of busy wall time.
#[derive(Debug, Clone, Default)]
pub struct BusyMeter(Rc<Cell<Duration>>);

impl BusyMeter {
    /// Busy time so far. Within a poll, the poll in progress is not yet counted.
    pub fn total(&self) -> Duration {
        self.0.get()
    }

    /// Wraps `fut` so that every poll adds its duration to this meter.
    pub fn wrap<F: Future>(&self, fut: F) -> Busy<F> {
        Busy {
            inner: Box::pin(fut),
            meter: self.clone(),
        }
    }
}

/// A future whose polls are timed into a [`BusyMeter`].
pub struct Busy<F> {
    inner: Pin<Box<F>>,
    meter: BusyMeter,
}

impl<F: Future> Future for Busy<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let start = Instant::now();
        let out = self.inner.as_mut().poll(cx);
        let cell = &self.meter.0;
        cell.set(cell.get() + start.elapsed());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_work_inside_polls_and_not_waiting() {
        let meter = BusyMeter::default();
        let spin = Duration::from_millis(30);
        meter
            .wrap(async {
                // Busy work: a spin the meter must see.
                let start = Instant::now();
                while start.elapsed() < spin {
                    std::hint::spin_loop();
                }
                // Waiting: a paused-clock timer the meter must not count as work.
                tokio::task::yield_now().await;
            })
            .await;
        let busy = meter.total();
        assert!(busy >= spin, "busy {busy:?}");
        assert!(busy < spin * 20, "busy {busy:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_wait_is_not_work() {
        let meter = BusyMeter::default();
        meter.wrap(tokio::time::sleep(Duration::from_secs(60))).await;
        // The paused clock auto-advances 60 s; the polls themselves take microseconds.
        assert!(meter.total() < Duration::from_secs(1), "busy {:?}", meter.total());
    }
}
