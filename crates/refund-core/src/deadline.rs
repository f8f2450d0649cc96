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
//! Here a call's deadline is a small shared [`Entry`] in a slot of one of a few shards, the
//! shard chosen per thread, so two worker threads rarely touch the same lock. A finished attempt
//! hands its slot straight back, and the next attempt on that shard takes the lowest free slot:
//! the same few entries serve every call, stay in the cache of the thread that uses them, and a
//! shard holds as many slots as it had attempts in flight at once, not as many as it saw
//! finish. One process-wide thread, `refund-deadlines`, sleeps until the earliest deadline it
//! knows of (at most [`MAX_NAP`]), fires the entries whose deadline has passed, and releases
//! the idle slots past the last one in use. So a pass reads as many entries as there were
//! attempts in flight at once, not every entry that finished since the last pass, each last
//! written by a worker (docs/performance.md, "Seventh pass"). It needs no tokio runtime, so it works the same under any runtime, several
//! runtimes, or a runtime being shut down.
//!
//! If the thread cannot be started (a process out of threads), [`Deadline::start`] returns
//! `None`, then and for the rest of the process, and the transport falls back to reqwest's own
//! per-request timeout: a deadline is never silently lost.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// Shards the slots are spread over. More than the worker threads of a typical runtime, so
/// that threads seldom share one.
const SHARDS: usize = 8;

/// The longest the watchdog sleeps between passes, so that idle slots are released and memory
/// follows the calls in flight.
const MAX_NAP: Duration = Duration::from_millis(100);

/// `next_wake` while the watchdog is scanning or has nothing to wait for: every new entry
/// wakes it.
const WAKE_ON_ANY: u64 = u64::MAX;

/// [`Entry::at`] of an entry no attempt holds.
const IDLE: u64 = u64::MAX;

/// The deadline of one attempt. Dropping it withdraws the deadline and hands its slot back.
#[derive(Debug)]
pub(crate) struct Deadline {
    entry: Arc<Entry>,
    watchdog: &'static Watchdog,
}

/// What an attempt shares with the watchdog: one slot of a shard, reused by attempt after
/// attempt.
#[derive(Debug)]
struct Entry {
    /// Nanoseconds after the watchdog's epoch, or [`IDLE`]. Written only under the shard's
    /// lock.
    at: AtomicU64,
    /// Set by the watchdog, under the shard's lock, once `at` has passed; cleared, under the
    /// lock, when the slot is taken again.
    fired: AtomicBool,
    waker: AtomicWaker,
    /// Where the entry lives; fixed.
    shard: usize,
    slot: usize,
}

/// One shard's slots.
#[derive(Debug, Default)]
struct Shard {
    /// Every entry of this shard, in use or idle, by slot number.
    slots: Vec<Arc<Entry>>,
    /// The idle slots, lowest first. Taking the lowest keeps the slots in use at the front, so
    /// that the idle ones behind them can be released.
    idle: BinaryHeap<Reverse<usize>>,
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
    /// Gives back the task's waker and the slot at once, on the attempt's own thread. The waker
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

/// The process-wide watchdog: the sharded slots and the thread that fires them.
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

    /// Arms a deadline at `at` in the lowest idle slot of this thread's shard, or a new one.
    fn register(&'static self, at: Instant) -> Deadline {
        let due = self.nanos_since_epoch(at);
        let shard_index = shard_of_this_thread();
        let entry = {
            let mut shard = lock(&self.shards[shard_index]);
            let entry = match shard.idle.pop() {
                Some(Reverse(slot)) => {
                    let entry = shard.slots[slot].clone();
                    entry.fired.store(false, Ordering::Relaxed);
                    entry
                }
                None => {
                    let entry = Arc::new(Entry {
                        at: AtomicU64::new(IDLE),
                        fired: AtomicBool::new(false),
                        waker: AtomicWaker::new(),
                        shard: shard_index,
                        slot: shard.slots.len(),
                    });
                    shard.slots.push(entry.clone());
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

    /// Hands a finished attempt's slot back to its shard.
    fn release(&self, entry: &Entry) {
        let mut shard = lock(&self.shards[entry.shard]);
        entry.at.store(IDLE, Ordering::Relaxed);
        shard.idle.push(Reverse(entry.slot));
    }

    /// One pass: fire what is due and release idle slots, then sleep until the earliest
    /// deadline left (at most `MAX_NAP`), or until woken by an earlier one.
    fn pass(&self) {
        self.next_wake.store(WAKE_ON_ANY, Ordering::Release);
        let now = Instant::now();
        let Some(look_again) = self.sweep(now) else {
            // No slots left: sleep until an entry arrives (next_wake stays WAKE_ON_ANY, so the
            // first one wakes this thread).
            std::thread::park();
            return;
        };
        let wake_at = look_again.min(now + MAX_NAP);
        self.next_wake.store(self.nanos_since_epoch(wake_at), Ordering::Release);
        std::thread::park_timeout(wake_at.saturating_duration_since(Instant::now()));
    }

    /// Fires the entries due by `now` and releases half of each shard's idle slots past its
    /// last one in use. Returns when to look again: the earliest deadline still to fire, or
    /// `MAX_NAP` from now while slots are left to release; `None` when no shard has any.
    fn sweep(&self, now: Instant) -> Option<Instant> {
        let now_nanos = self.nanos_since_epoch(now);
        let mut earliest: Option<u64> = None;
        let mut slots_left = false;
        let mut due: Vec<Waker> = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(shard);
            let mut in_use_end = 0;
            for entry in &shard.slots {
                let at = entry.at.load(Ordering::Relaxed);
                if at == IDLE {
                    continue;
                }
                in_use_end = entry.slot + 1;
                if entry.fired.load(Ordering::Relaxed) {
                    continue;
                }
                if at <= now_nanos {
                    // Under the lock: the slot cannot change hands before it is marked, so a
                    // firing never reaches the attempt that takes the slot next.
                    entry.fired.store(true, Ordering::Release);
                    due.extend(entry.waker.take());
                } else {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
            }
            // Half of the idle tail per pass: the slots follow the most attempts in flight at
            // once, and all go once none is.
            let keep = in_use_end + (shard.slots.len() - in_use_end) / 2;
            if keep == 0 {
                // The buffers too.
                *shard = Shard::default();
            } else if keep < shard.slots.len() {
                shard.slots.truncate(keep);
                shard.idle.retain(|&Reverse(slot)| slot < keep);
            }
            slots_left |= keep > 0;
        }
        // Woken outside the locks: a waker may run scheduler code.
        for waker in due {
            waker.wake();
        }
        match earliest {
            Some(nanos) => Some(self.epoch + Duration::from_nanos(nanos)),
            None => slots_left.then(|| now + MAX_NAP),
        }
    }

    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(IDLE - 1)
    }

    /// Entries held by attempts.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let shard = lock(shard);
                shard.slots.len() - shard.idle.len()
            })
            .sum()
    }

    /// Slots kept, in use or idle.
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).slots.len()).sum()
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
    /// add slots.
    fn private_watchdog() -> &'static Watchdog {
        Box::leak(Box::new(Watchdog::new(std::thread::current())))
    }

    /// A finished attempt's slot is reused at once, lowest first, and carries nothing of its
    /// last attempt: no waker, no firing.
    #[test]
    fn finished_slots_are_reused_clean() {
        let watchdog = private_watchdog();
        let batch: Vec<_> = (0..8).map(|_| watchdog.register(in_ms(60_000))).collect();
        let first: Vec<*const Entry> = batch.iter().map(|d| Arc::as_ptr(&d.entry)).collect();
        batch[0].entry.waker.register(std::task::Waker::noop());
        drop(batch);
        // Handed back by the drops themselves, no sweep needed.
        assert_eq!((watchdog.in_use(), watchdog.slots()), (0, 8));
        let reused = watchdog.register(in_ms(10));
        assert_eq!(Arc::as_ptr(&reused.entry), first[0], "the lowest slot is taken first");
        assert!(!reused.entry.fired.load(Ordering::Acquire) && reused.entry.waker.take().is_none());
        // It fires at its new deadline.
        std::thread::sleep(Duration::from_millis(20));
        watchdog.sweep(Instant::now());
        assert!(reused.entry.fired.load(Ordering::Acquire));
        // A fired entry is not reused while its attempt still holds it...
        let next = watchdog.register(in_ms(60_000));
        assert!(!Arc::ptr_eq(&next.entry, &reused.entry));
        assert!(!next.entry.fired.load(Ordering::Acquire));
        // ...and its firing does not reach the attempt that takes its slot next.
        let fired_slot = Arc::as_ptr(&reused.entry);
        drop(reused);
        let after = watchdog.register(in_ms(60_000));
        assert_eq!(Arc::as_ptr(&after.entry), fired_slot);
        assert!(!after.entry.fired.load(Ordering::Acquire));
        assert!(watchdog.sweep(Instant::now()).is_some());
        assert!(!after.entry.fired.load(Ordering::Acquire));
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

    /// A shard keeps as many slots as it had attempts in flight at once, and each sweep
    /// releases half of the idle ones past the last slot in use.
    #[test]
    fn idle_slots_decay_when_calls_stop() {
        let watchdog = private_watchdog();
        let armed = watchdog.register(in_ms(60_000));
        // Eight more at once, on top of the one in use: nine slots.
        drop((0..8).map(|_| watchdog.register(in_ms(60_000))).collect::<Vec<_>>());
        assert_eq!(watchdog.slots(), 9);
        for expected in [5, 3, 2, 1, 1] {
            assert!(watchdog.sweep(Instant::now()).is_some(), "one stays armed");
            assert_eq!(watchdog.slots(), expected);
        }
        // Calls one at a time reuse the one idle slot after the one in use.
        for _ in 0..100 {
            drop(watchdog.register(in_ms(60_000)));
        }
        assert_eq!(watchdog.slots(), 2);
        // Once nothing is in use, every slot goes, and the watchdog has nothing left to do.
        drop(armed);
        let mut passes = 0;
        while watchdog.sweep(Instant::now()).is_some() {
            passes += 1;
            assert!(passes < 3, "slots left after {passes} passes: {}", watchdog.slots());
        }
        assert_eq!(watchdog.slots(), 0);
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
        while Watchdog::get().unwrap().slots() > 100 {
            assert!(started.elapsed() < Duration::from_secs(5), "slots not released");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
