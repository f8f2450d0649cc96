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
//! deadline has passed, and moves the completed ones to their shard's spares, which the next
//! deadlines armed there reuse. Freed by the watchdog instead, every call's entry was memory
//! allocated on one thread and freed on another, which cost 4-5 points of throughput at 64 in
//! flight (docs/performance.md, "Sixth pass"). It needs no tokio runtime, so it works
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

/// What an attempt shares with the watchdog. Entries are recycled: one whose attempt is over
/// goes back to its shard's spares, and the next deadline on that shard reuses it.
#[derive(Debug)]
struct Entry {
    /// Nanoseconds after the watchdog's epoch; written only under the shard's lock, while no
    /// attempt holds the entry.
    at: AtomicU64,
    fired: AtomicBool,
    waker: AtomicWaker,
}

/// One shard: the armed entries, and finished ones kept for reuse.
#[derive(Debug, Default)]
struct Shard {
    armed: Vec<Arc<Entry>>,
    spare: Vec<Arc<Entry>>,
}

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

impl Deadline {
    /// Arms a deadline at `at`. `None` only if the watchdog thread could not be started.
    pub(crate) fn start(at: Instant) -> Option<Deadline> {
        let watchdog = Watchdog::get()?;
        Some(Deadline { entry: watchdog.register(at) })
    }
}

impl Drop for Deadline {
    /// Gives back the task's waker at once, on the attempt's own thread. Left in the entry
    /// until the watchdog's next pass (up to [`MAX_NAP`] later), it kept the task alive: a
    /// task spawned per call, finished, stayed allocated, and its memory was then freed by the
    /// watchdog thread, another thread than the one that allocated it (the cost the entries'
    /// reuse removed, "Sixth pass"). Here the task is still running, so this is never its
    /// last reference.
    fn drop(&mut self) {
        drop(self.entry.waker.take());
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
    shards: [Mutex<Shard>; SHARDS],
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
                Some(Watchdog::new(handle.thread().clone()))
            })
            .as_ref()
    }

    /// A watchdog whose passes run on `thread` (unparked when an earlier deadline arrives).
    fn new(thread: Thread) -> Watchdog {
        Watchdog {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            next_wake: AtomicU64::new(WAKE_ON_ANY),
            epoch: Instant::now(),
            thread,
        }
    }

    /// Arms an entry due at `at`: a spare of this thread's shard, or a new one.
    ///
    /// Reusing entries keeps their memory on the thread that made them. Before, the watchdog
    /// dropped each finished entry, so every call's allocation was freed on another thread:
    /// the workers' per-thread malloc caches never got those chunks back, and each call
    /// went to the shared arena, under its lock, against the watchdog's frees (docs/performance.md,
    /// "Sixth pass").
    fn register(&self, at: Instant) -> Arc<Entry> {
        let due = self.nanos_since_epoch(at);
        let entry = {
            let mut shard = lock(&self.shards[shard_of_this_thread()]);
            let entry = match shard.spare.pop() {
                // A spare is held by its shard alone: no attempt can see these writes.
                Some(entry) => {
                    entry.fired.store(false, Ordering::Relaxed);
                    entry
                }
                None => Arc::new(Entry {
                    at: AtomicU64::new(0),
                    fired: AtomicBool::new(false),
                    waker: AtomicWaker::new(),
                }),
            };
            entry.at.store(due, Ordering::Relaxed);
            shard.armed.push(entry.clone());
            entry
        };
        // After the push: a pass that began before it stored WAKE_ON_ANY first (and the lock
        // orders that store before this load), so an entry it did not see always wakes it.
        if due < self.next_wake.load(Ordering::Acquire) {
            self.thread.unpark();
        }
        entry
    }

    /// One pass: fire what is due, drop what completed, then sleep until the earliest deadline
    /// left (at most `MAX_NAP`), or until woken by an earlier one.
    fn pass(&self) {
        self.next_wake.store(WAKE_ON_ANY, Ordering::Release);
        let now = Instant::now();
        let Some(earliest) = self.sweep(now) else {
            // Nothing to wait for: give the lists' memory back and sleep until an entry
            // arrives (next_wake stays WAKE_ON_ANY, so the first one wakes this thread).
            for shard in &self.shards {
                let mut shard = lock(shard);
                if shard.armed.is_empty() {
                    shard.armed.shrink_to_fit();
                    shard.spare = Vec::new();
                }
            }
            std::thread::park();
            return;
        };
        let wake_at = earliest.min(now + MAX_NAP);
        self.next_wake.store(self.nanos_since_epoch(wake_at), Ordering::Release);
        std::thread::park_timeout(wake_at.saturating_duration_since(Instant::now()));
    }

    /// Fires the entries due by `now`, moves the finished ones to the spares, and returns the
    /// earliest deadline still armed.
    fn sweep(&self, now: Instant) -> Option<Instant> {
        let now_nanos = self.nanos_since_epoch(now);
        let mut earliest: Option<u64> = None;
        let mut due: Vec<Arc<Entry>> = Vec::new();
        let mut finished: Vec<Arc<Entry>> = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(shard);
            shard.armed.retain(|entry| {
                // Only the list holds it: the attempt finished or was dropped.
                // Its `Deadline` took the waker when it was dropped, so the entry is clean.
                if Arc::strong_count(entry) == 1 {
                    finished.push(entry.clone());
                    return false;
                }
                let at = entry.at.load(Ordering::Relaxed);
                if at <= now_nanos {
                    due.push(entry.clone());
                    return false;
                }
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
                true
            });
            // Kept for reuse: at least what this pass found finished (the calls completed since
            // the last pass), and half of any surplus, so that spares follow the call rate and
            // decay when it falls (all go when nothing is armed, below). The clones in
            // `finished` are dropped outside the lock, leaving each spare held by its shard
            // alone.
            let total = shard.spare.len() + finished.len();
            shard.spare.extend(finished.iter().cloned());
            shard.spare.truncate(finished.len().max(total / 2));
            drop(shard);
            finished.clear();
        }
        // Woken outside the locks: a waker may run scheduler code.
        for entry in due {
            entry.fired.store(true, Ordering::Release);
            if let Some(waker) = entry.waker.take() {
                Waker::wake(waker);
            }
        }
        earliest.map(|nanos| self.epoch + Duration::from_nanos(nanos))
    }

    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1)
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).armed.len()).sum()
    }

    #[cfg(test)]
    fn spares(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).spare.len()).sum()
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

    /// Finished entries are kept and reused, and a reused one carries nothing of its last
    /// attempt. On a watchdog of the test's own, swept by hand, so that no other test's
    /// deadlines take or add spares.
    #[test]
    fn finished_entries_are_reused_clean() {
        let watchdog = Watchdog::new(std::thread::current());
        let batch: Vec<_> =
            (0..8).map(|_| Deadline { entry: watchdog.register(in_ms(60_000)) }).collect();
        let first: Vec<*const Entry> = batch.iter().map(|d| Arc::as_ptr(&d.entry)).collect();
        // A waker left by the last attempt must not survive into the next.
        batch[0].entry.waker.register(std::task::Waker::noop());
        drop(batch);
        assert!(watchdog.sweep(Instant::now()).is_none(), "nothing is armed");
        assert_eq!(watchdog.spares(), 8);
        // Reused, from this thread's shard, clean.
        let reused = watchdog.register(in_ms(10));
        assert!(first.contains(&Arc::as_ptr(&reused)));
        assert_eq!(watchdog.spares(), 7);
        assert!(!reused.fired.load(Ordering::Acquire) && reused.waker.take().is_none());
        // It fires at its new deadline.
        std::thread::sleep(Duration::from_millis(20));
        assert!(watchdog.sweep(Instant::now()).is_none());
        assert!(reused.fired.load(Ordering::Acquire));
        // A fired entry is not reused while its attempt still holds it.
        let next = watchdog.register(in_ms(60_000));
        assert!(!Arc::ptr_eq(&next, &reused) && !next.fired.load(Ordering::Acquire));
    }

    /// The attempt's task is released when its deadline is dropped, not at the watchdog's next
    /// pass: a finished task spawned per call must not stay allocated for up to `MAX_NAP`.
    #[test]
    fn dropping_a_deadline_releases_the_tasks_waker_at_once() {
        struct Task;
        impl std::task::Wake for Task {
            fn wake(self: Arc<Self>) {}
        }
        let task = Arc::new(Task);
        let waker = Waker::from(task.clone());
        let watchdog = Watchdog::new(std::thread::current());
        let deadline = Deadline { entry: watchdog.register(in_ms(60_000)) };
        {
            let attempt = std::pin::pin!(within(Some(&deadline), std::future::pending::<()>()));
            assert!(attempt.poll(&mut Context::from_waker(&waker)).is_pending());
        }
        drop(waker);
        assert_eq!(Arc::strong_count(&task), 2, "the entry holds the task's waker");
        drop(deadline);
        assert_eq!(Arc::strong_count(&task), 1, "released with the deadline, no sweep needed");
    }

    /// A sweep keeps what it found finished, and half of any surplus: the spares follow the
    /// call rate and decay when it falls.
    #[test]
    fn spares_decay_when_calls_stop() {
        let watchdog = Watchdog::new(std::thread::current());
        let _armed = watchdog.register(in_ms(60_000));
        drop((0..8).map(|_| watchdog.register(in_ms(60_000))).collect::<Vec<_>>());
        for expected in [8, 4, 2, 1, 0] {
            assert!(watchdog.sweep(Instant::now()).is_some(), "one stays armed");
            assert_eq!(watchdog.spares(), expected);
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
