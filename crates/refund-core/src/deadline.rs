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
//! Here a call's deadline is a small shared [`Entry`] of one of a few shards, the shard chosen
//! per thread, so two worker threads rarely touch the same lock. A finished attempt hands its
//! entry straight back to its shard's idle stack, and the next attempt there takes the one
//! handed back last: the same few entries serve every call and stay in the cache of the threads
//! that use them, and a shard holds as many entries as it had attempts in flight at once, not
//! as many as it saw finish. One process-wide thread, `refund-deadlines`, sleeps until the
//! earliest deadline it knows of (at most [`MAX_NAP`]), fires the entries whose deadline has
//! passed, and releases idle entries no attempt needed since its last pass. So a pass reads as
//! many entries as there were attempts in flight at once, not every entry that finished since
//! the last pass, each last written by a worker (docs/performance.md, "Seventh pass"). It
//! needs no tokio runtime, so it works the same under any runtime, several runtimes, or a
//! runtime being shut down.
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

/// Shards the entries are spread over. More than the worker threads of a typical runtime, so
/// that threads seldom share one.
const SHARDS: usize = 8;

/// The longest the watchdog sleeps between passes, so that idle entries are released and memory
/// follows the calls in flight.
const MAX_NAP: Duration = Duration::from_millis(100);

/// `next_wake` while the watchdog is scanning or has nothing to wait for: every new entry
/// wakes it.
const WAKE_ON_ANY: u64 = u64::MAX;

/// [`Entry::at`] of an entry no attempt holds.
const IDLE: u64 = u64::MAX;

/// [`Entry::at`] of an idle entry the watchdog is releasing.
const RETIRED: u64 = u64::MAX - 1;

/// The deadline of one attempt. Dropping it withdraws the deadline and hands its entry back.
#[derive(Debug)]
pub(crate) struct Deadline {
    entry: Arc<Entry>,
    watchdog: &'static Watchdog,
}

/// What an attempt shares with the watchdog: an entry of a shard, reused by attempt after
/// attempt.
#[derive(Debug)]
struct Entry {
    /// Nanoseconds after the watchdog's epoch, [`IDLE`] or [`RETIRED`]. Written only under the
    /// shard's lock.
    at: AtomicU64,
    /// Set by the watchdog, under the shard's lock, once `at` has passed; cleared, under the
    /// lock, when the entry is taken again.
    fired: AtomicBool,
    waker: AtomicWaker,
    /// The shard the entry belongs to; fixed.
    shard: usize,
}

/// One shard's entries.
#[derive(Debug, Default)]
struct Shard {
    /// Every entry of this shard, in use or idle: what the watchdog reads.
    entries: Vec<Arc<Entry>>,
    /// The idle ones, the one handed back last on top: it is the likeliest to be in cache.
    idle: Vec<Arc<Entry>>,
    /// The fewest idle entries since the last pass. That many were not needed in that time:
    /// the watchdog releases half of them.
    idle_low: usize,
}

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

impl Deadline {
    /// Arms a deadline at `at`. `None` only if the watchdog thread could not be started.
    pub(crate) fn start(at: Instant) -> Option<Deadline> {
        Some(Watchdog::get()?.register(at))
    }
}

impl Drop for Deadline {
    /// Gives back the task's waker and the entry at once, on the attempt's own thread. The waker
    /// left in the entry would keep the task alive; here the task is still running, so this is
    /// never its last reference.
    fn drop(&mut self) {
        drop(self.entry.waker.take());
        self.watchdog.release(&self.entry);
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

/// The process-wide watchdog: the sharded entries and the thread that fires them.
struct Watchdog {
    shards: [Mutex<Shard>; SHARDS],
    /// Nanoseconds after `epoch` at which the thread will next look, or [`WAKE_ON_ANY`]. An entry
    /// due earlier than this wakes the thread.
    next_wake: AtomicU64,
    epoch: Instant,
    thread: Thread,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog").finish_non_exhaustive()
    }
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

    /// Arms a deadline at `at` with an idle entry of this thread's shard, or a new one.
    fn register(&'static self, at: Instant) -> Deadline {
        let due = self.nanos_since_epoch(at);
        let shard_index = shard_of_this_thread();
        let entry = {
            let mut shard = lock(&self.shards[shard_index]);
            let entry = match shard.idle.pop() {
                Some(entry) => {
                    shard.idle_low = shard.idle_low.min(shard.idle.len());
                    entry.fired.store(false, Ordering::Relaxed);
                    entry
                }
                None => {
                    let entry = Arc::new(Entry {
                        at: AtomicU64::new(IDLE),
                        fired: AtomicBool::new(false),
                        waker: AtomicWaker::new(),
                        shard: shard_index,
                    });
                    shard.entries.push(entry.clone());
                    shard.idle_low = 0;
                    entry
                }
            };
            entry.at.store(due, Ordering::Relaxed);
            entry
        };
        // After the store: a pass that began before it stored WAKE_ON_ANY first (and the lock
        // orders that store before this load), so an entry it did not see always wakes it.
        if due < self.next_wake.load(Ordering::Acquire) {
            self.thread.unpark();
        }
        Deadline { entry, watchdog: self }
    }

    /// Hands a finished attempt's entry back to its shard.
    fn release(&self, entry: &Arc<Entry>) {
        let mut shard = lock(&self.shards[entry.shard]);
        entry.at.store(IDLE, Ordering::Relaxed);
        shard.idle.push(entry.clone());
    }

    /// One pass: fire what is due and release idle entries, then sleep until the earliest
    /// deadline left (at most `MAX_NAP`), or until woken by an earlier one.
    fn pass(&self) {
        self.next_wake.store(WAKE_ON_ANY, Ordering::Release);
        let now = Instant::now();
        let Some(look_again) = self.sweep(now) else {
            // No entries left: sleep until an entry arrives (next_wake stays WAKE_ON_ANY, so the
            // first one wakes this thread).
            std::thread::park();
            return;
        };
        let wake_at = look_again.min(now + MAX_NAP);
        self.next_wake.store(self.nanos_since_epoch(wake_at), Ordering::Release);
        std::thread::park_timeout(wake_at.saturating_duration_since(Instant::now()));
    }

    /// Fires the entries due by `now` and releases half of each shard's idle entries that no
    /// attempt needed since the last pass. Returns when to look again: the earliest deadline
    /// still to fire, or `MAX_NAP` from now while entries are left to release; `None` when no
    /// shard has any.
    fn sweep(&self, now: Instant) -> Option<Instant> {
        let now_nanos = self.nanos_since_epoch(now);
        let mut earliest: Option<u64> = None;
        let mut entries_left = false;
        let mut due: Vec<Waker> = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(shard);
            for entry in &shard.entries {
                let at = entry.at.load(Ordering::Relaxed);
                if at == IDLE || entry.fired.load(Ordering::Relaxed) {
                    continue;
                }
                if at <= now_nanos {
                    // Under the lock: the entry cannot change hands before it is marked, so a
                    // firing never reaches the attempt that takes the entry next.
                    entry.fired.store(true, Ordering::Release);
                    due.extend(entry.waker.take());
                } else {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
            }
            // The entries follow the most attempts in flight at once: of those that stayed idle
            // since the last pass, half go (the coldest, at the bottom of the stack), and the
            // last one too.
            let surplus = shard.idle_low.div_ceil(2);
            if surplus == shard.entries.len() {
                // The buffers too.
                *shard = Shard::default();
            } else if surplus > 0 {
                for entry in shard.idle.drain(..surplus) {
                    entry.at.store(RETIRED, Ordering::Relaxed);
                }
                shard.entries.retain(|entry| entry.at.load(Ordering::Relaxed) != RETIRED);
            }
            shard.idle_low = shard.idle.len();
            entries_left |= !shard.entries.is_empty();
        }
        // Woken outside the locks: a waker may run scheduler code.
        for waker in due {
            waker.wake();
        }
        match earliest {
            Some(nanos) => Some(self.epoch + Duration::from_nanos(nanos)),
            None => entries_left.then(|| now + MAX_NAP),
        }
    }

    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(RETIRED - 1)
    }

    /// Entries held by attempts.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let shard = lock(shard);
                shard.entries.len() - shard.idle.len()
            })
            .sum()
    }

    /// Entries kept, in use or idle.
    #[cfg(test)]
    fn entries(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).entries.len()).sum()
    }
}

/// The shard this thread registers on: assigned round-robin on the thread's first deadline.
fn shard_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    // `try_with`: a call made while this thread's locals are being torn down still gets a shard.
    SHARD.try_with(|shard| *shard).unwrap_or(0)
}

/// A poisoned shard is still a valid shard (no code panics while holding one): keep using it.
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

    /// A watchdog of the test's own, swept by hand, so that no other test's deadlines take or
    /// add entries.
    fn private_watchdog() -> &'static Watchdog {
        Box::leak(Box::new(Watchdog::new(std::thread::current())))
    }

    /// A finished attempt's entry is reused at once, the one handed back last first, and
    /// carries nothing of its last attempt: no waker, no firing.
    #[test]
    fn finished_entries_are_reused_clean() {
        let watchdog = private_watchdog();
        let batch: Vec<_> = (0..8).map(|_| watchdog.register(in_ms(60_000))).collect();
        let last: *const Entry = Arc::as_ptr(&batch[7].entry);
        batch[7].entry.waker.register(std::task::Waker::noop());
        drop(batch);
        // Handed back by the drops themselves, no sweep needed.
        assert_eq!((watchdog.in_use(), watchdog.entries()), (0, 8));
        let reused = watchdog.register(in_ms(10));
        assert_eq!(Arc::as_ptr(&reused.entry), last, "the entry handed back last is taken first");
        assert!(!reused.entry.fired.load(Ordering::Acquire) && reused.entry.waker.take().is_none());
        // It fires at its new deadline.
        std::thread::sleep(Duration::from_millis(20));
        watchdog.sweep(Instant::now());
        assert!(reused.entry.fired.load(Ordering::Acquire));
        // A fired entry is not reused while its attempt still holds it...
        let next = watchdog.register(in_ms(60_000));
        assert!(!Arc::ptr_eq(&next.entry, &reused.entry));
        assert!(!next.entry.fired.load(Ordering::Acquire));
        // ...and its firing does not reach the attempt that takes it next.
        let fired = Arc::as_ptr(&reused.entry);
        drop(reused);
        let after = watchdog.register(in_ms(60_000));
        assert_eq!(Arc::as_ptr(&after.entry), fired);
        assert!(!after.entry.fired.load(Ordering::Acquire));
        assert!(watchdog.sweep(Instant::now()).is_some());
        assert!(!after.entry.fired.load(Ordering::Acquire));
        // Two were in use at most since the first sweep: of the six left idle, half went.
        assert_eq!(watchdog.entries(), 5);
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
        let deadline = private_watchdog().register(in_ms(60_000));
        {
            let attempt = std::pin::pin!(within(Some(&deadline), std::future::pending::<()>()));
            assert!(attempt.poll(&mut Context::from_waker(&waker)).is_pending());
        }
        drop(waker);
        assert_eq!(Arc::strong_count(&task), 2, "the entry holds the task's waker");
        drop(deadline);
        assert_eq!(Arc::strong_count(&task), 1, "released with the deadline, no sweep needed");
    }

    /// A shard keeps as many entries as it had attempts in flight at once. Each sweep releases
    /// half of those no attempt needed since the last one, and all go once none is in use.
    #[test]
    fn idle_entries_decay_when_calls_stop() {
        let watchdog = private_watchdog();
        let armed = watchdog.register(in_ms(60_000));
        // Eight more at once, on top of the one in use: nine entries, all needed in this
        // interval, so the first sweep keeps them.
        drop((0..8).map(|_| watchdog.register(in_ms(60_000))).collect::<Vec<_>>());
        for expected in [9, 5, 3, 2, 1, 1] {
            assert!(watchdog.sweep(Instant::now()).is_some(), "one stays armed");
            assert_eq!(watchdog.entries(), expected);
        }
        // Calls one at a time need one entry besides the one in use, and keep it.
        for _ in 0..3 {
            for _ in 0..100 {
                drop(watchdog.register(in_ms(60_000)));
            }
            watchdog.sweep(Instant::now());
            assert_eq!(watchdog.entries(), 2);
        }
        // Once nothing is in use, every entry goes, and the watchdog has nothing left to do.
        drop(armed);
        let mut passes = 0;
        while watchdog.sweep(Instant::now()).is_some() {
            passes += 1;
            assert!(passes < 4, "entries left after {passes} passes: {}", watchdog.entries());
        }
        assert_eq!(watchdog.entries(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_deadlines_fire_or_complete_and_their_entries_are_released() {
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
        // Every deadline is dropped: within a few passes the entries are released (other tests
        // may run at the same time and hold a few).
        let started = Instant::now();
        while Watchdog::get().unwrap().entries() > 100 {
            assert!(started.elapsed() < Duration::from_secs(5), "entries not released");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
