//! Whole-request deadlines, kept by one watchdog thread instead of one tokio timer per call.
//!
//! Every attempt the [`Transport`](crate::Transport) sends must end by its deadline: a refund
//! without one can hang forever and never reach "outcome unknown". reqwest's per-request timeout
//! gives each call its own tokio timer: a boxed `Sleep` holding a clone of the runtime handle,
//! registered and cancelled under the runtime's single timer-wheel lock, which every worker
//! thread contends. At 64 calls in flight that was 0.6% of a process's samples; this keeps the
//! same guarantee for about half, with one allocation fewer per call (docs/performance.md,
//! "Third pass").
//!
//! Here a call's deadline is a small shared [`Entry`] pushed onto one of a few sharded lists,
//! chosen per thread, so two worker threads rarely touch the same lock; a completed call just
//! drops its handle, with no lock at all. One process-wide thread, `refund-deadlines`, sleeps
//! until the earliest deadline it knows of (at most [`MAX_NAP`]), fires the entries whose
//! deadline has passed, and prunes the completed ones. It needs no tokio runtime, so it works
//! the same under any runtime, several runtimes, or a runtime being shut down.
//!
//! If the thread cannot be started (a process out of threads), [`Deadline::start`] returns
//! `None`, then and for the rest of the process, and the transport falls back to reqwest's own
//! per-request timeout: a deadline is never silently lost.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// Lists the entries are spread over. More than the worker threads of a typical runtime, so
/// that threads seldom share one.
const SHARDS: usize = 8;

/// The longest the watchdog sleeps between passes, so that completed entries are pruned and
/// memory follows the calls in flight, not the calls made.
const MAX_NAP: Duration = Duration::from_millis(100);

/// `next_wake` while the watchdog is scanning or has nothing to wait for: every new entry
/// wakes it.
const WAKE_ON_ANY: u64 = u64::MAX;

/// The deadline of one attempt. Dropping it withdraws the deadline (lazily: the watchdog forgets
/// the entry on its next pass).
#[derive(Debug)]
pub(crate) struct Deadline {
    entry: Arc<Entry>,
}

/// What an attempt shares with the watchdog.
#[derive(Debug)]
struct Entry {
    at: Instant,
    fired: AtomicBool,
    waker: AtomicWaker,
}

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

impl Deadline {
    /// Arms a deadline at `at`. `None` only if the watchdog thread could not be started.
    pub(crate) fn start(at: Instant) -> Option<Deadline> {
        let watchdog = Watchdog::get()?;
        let entry =
            Arc::new(Entry { at, fired: AtomicBool::new(false), waker: AtomicWaker::new() });
        watchdog.register(entry.clone());
        Some(Deadline { entry })
    }
}

/// Runs `future` to completion, or until `deadline` passes (`Err(Elapsed)`); with no deadline
/// (the fallback, where reqwest keeps the time) just runs it. Like tokio's `timeout`, the future
/// is polled first, so one that is ready is never cut short.
pub(crate) fn within<F: Future>(deadline: Option<&Deadline>, future: F) -> Within<'_, F> {
    Within { future, deadline }
}

pin_project_lite::pin_project! {
    /// The future of [`within`]: a named type rather than an `async fn`, which would hold the
    /// wrapped future twice (as its argument and pinned), growing every call's future.
    pub(crate) struct Within<'a, F> {
        #[pin]
        future: F,
        deadline: Option<&'a Deadline>,
    }
}

impl<F: Future> Future for Within<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if let Some(deadline) = this.deadline {
            // Registered before `fired` is read: the watchdog sets `fired` and then wakes, so
            // either this read sees it or the wake reaches this waker.
            deadline.entry.waker.register(cx.waker());
            if deadline.entry.fired.load(Ordering::Acquire) {
                return Poll::Ready(Err(Elapsed));
            }
        }
        Poll::Pending
    }
}

/// The process-wide watchdog: the sharded entry lists and the thread that fires them.
struct Watchdog {
    shards: [Mutex<Vec<Arc<Entry>>>; SHARDS],
    /// Nanoseconds after `epoch` at which the thread will next look, or [`WAKE_ON_ANY`]. An entry
    /// due earlier than this wakes the thread.
    next_wake: AtomicU64,
    epoch: Instant,
    thread: Thread,
}

impl Watchdog {
    /// The watchdog, started on first use; `None` if its thread could not be spawned.
    fn get() -> Option<&'static Watchdog> {
        static WATCHDOG: OnceLock<Option<Watchdog>> = OnceLock::new();
        WATCHDOG
            .get_or_init(|| {
                // The thread waits for the watchdog to be stored before its first pass.
                let handle = std::thread::Builder::new()
                    .name("refund-deadlines".into())
                    .spawn(|| {
                        if let Some(watchdog) = WATCHDOG.wait() {
                            loop {
                                watchdog.pass();
                            }
                        }
                    })
                    .ok()?;
                Some(Watchdog {
                    shards: std::array::from_fn(|_| Mutex::new(Vec::new())),
                    next_wake: AtomicU64::new(WAKE_ON_ANY),
                    epoch: Instant::now(),
                    thread: handle.thread().clone(),
                })
            })
            .as_ref()
    }

    fn register(&self, entry: Arc<Entry>) {
        let due = self.nanos_since_epoch(entry.at);
        lock(&self.shards[shard_of_this_thread()]).push(entry);
        // After the push: a pass that began before it stored WAKE_ON_ANY first (and the lock
        // orders that store before this load), so an entry it did not see always wakes it.
        if due < self.next_wake.load(Ordering::Acquire) {
            self.thread.unpark();
        }
    }

    /// One pass: fire what is due, drop what completed, then sleep until the earliest deadline
    /// left (at most `MAX_NAP`), or until woken by an earlier one.
    fn pass(&self) {
        self.next_wake.store(WAKE_ON_ANY, Ordering::Release);
        let now = Instant::now();
        let mut earliest: Option<Instant> = None;
        let mut due: Vec<Arc<Entry>> = Vec::new();
        for shard in &self.shards {
            lock(shard).retain(|entry| {
                // Only the list holds it: the attempt finished or was dropped.
                if Arc::strong_count(entry) == 1 {
                    return false;
                }
                if entry.at <= now {
                    due.push(entry.clone());
                    return false;
                }
                earliest = Some(earliest.map_or(entry.at, |e| e.min(entry.at)));
                true
            });
        }
        // Woken outside the locks: a waker may run scheduler code.
        for entry in due {
            entry.fired.store(true, Ordering::Release);
            if let Some(waker) = entry.waker.take() {
                Waker::wake(waker);
            }
        }
        let Some(earliest) = earliest else {
            // Nothing to wait for: give the lists' memory back and sleep until an entry
            // arrives (next_wake stays WAKE_ON_ANY, so the first one wakes this thread).
            for shard in &self.shards {
                let mut list = lock(shard);
                if list.is_empty() {
                    list.shrink_to_fit();
                }
            }
            std::thread::park();
            return;
        };
        let wake_at = earliest.min(now + MAX_NAP);
        self.next_wake.store(self.nanos_since_epoch(wake_at), Ordering::Release);
        std::thread::park_timeout(wake_at.saturating_duration_since(Instant::now()));
    }

    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1)
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }
}

/// The shard this thread registers on: assigned round-robin on the thread's first deadline.
fn shard_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    // `try_with`: a call made while this thread's locals are being torn down still gets a list.
    SHARD.try_with(|shard| *shard).unwrap_or(0)
}

/// A poisoned list is still a valid list (no code panics while holding one): keep using it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_ms(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test]
    async fn a_future_that_never_completes_is_cut_at_its_deadline() {
        let started = Instant::now();
        let deadline = Deadline::start(started + Duration::from_millis(150)).unwrap();
        let out = within(Some(&deadline), std::future::pending::<()>()).await;
        let took = started.elapsed();
        assert_eq!(out, Err(Elapsed));
        assert!(took >= Duration::from_millis(150), "fired early: {took:?}");
        assert!(took < Duration::from_millis(1_500), "fired late: {took:?}");
    }

    #[tokio::test]
    async fn a_future_that_completes_in_time_keeps_its_output() {
        let deadline = Deadline::start(in_ms(5_000)).unwrap();
        let out = within(Some(&deadline), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        })
        .await;
        assert_eq!(out, Ok(7));
    }

    #[tokio::test]
    async fn a_ready_future_wins_over_a_passed_deadline() {
        let deadline = Deadline::start(Instant::now()).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(within(Some(&deadline), async { 1 }).await, Ok(1));
        assert_eq!(within(Some(&deadline), std::future::pending::<()>()).await, Err(Elapsed));
    }

    #[tokio::test]
    async fn an_earlier_deadline_wakes_a_watchdog_waiting_for_a_later_one() {
        let _late = Deadline::start(in_ms(60_000)).unwrap();
        let started = Instant::now();
        let early = Deadline::start(started + Duration::from_millis(30)).unwrap();
        assert_eq!(within(Some(&early), std::future::pending::<()>()).await, Err(Elapsed));
        // Well under MAX_NAP-driven lateness plus scheduling noise.
        assert!(started.elapsed() < Duration::from_millis(1_000), "{:?}", started.elapsed());
    }

    #[test]
    fn deadlines_fire_under_any_runtime_and_after_one_shuts_down() {
        for _ in 0..3 {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let out = rt.block_on(async {
                within(Some(&Deadline::start(in_ms(40)).unwrap()), std::future::pending::<()>())
                    .await
            });
            assert_eq!(out, Err(Elapsed));
            // Left armed when its runtime goes away: nothing may break for the next one.
            let orphan = Deadline::start(in_ms(10)).unwrap();
            drop(rt);
            std::thread::sleep(Duration::from_millis(20));
            drop(orphan);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_deadlines_fire_or_complete_and_are_all_pruned() {
        let tasks: Vec<_> = (0..2_000u64)
            .map(|i| {
                tokio::spawn(async move {
                    let deadline = Deadline::start(in_ms(50 + i % 50)).unwrap();
                    if i % 2 == 0 {
                        within(Some(&deadline), std::future::pending::<()>()).await
                    } else {
                        within(Some(&deadline), tokio::time::sleep(Duration::from_millis(1))).await
                    }
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let out = task.await.unwrap();
            assert_eq!(out.is_err(), i % 2 == 0, "task {i}: {out:?}");
        }
        // Every handle is gone: within two passes the lists are empty again (other tests may
        // run at the same time and hold a few).
        let started = Instant::now();
        while Watchdog::get().unwrap().entries() > 100 {
            assert!(started.elapsed() < Duration::from_secs(5), "entries not pruned");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
