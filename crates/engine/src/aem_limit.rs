//! How many requests to AEM one call keeps in flight (initiates, completes,
//! folders, create-asset): a limit that adapts to what AEM answers, so that
//! no option needs tuning on a real link (`docs/protocol.md`, "A real
//! link"). Part PUTs to blob storage are not counted here: they have
//! `maxConcurrent`.
//!
//! The controller is AIMD with a remembered ceiling, like the AWS SDKs'
//! adaptive retry mode and TCP (RFC 5681's slow start, CUBIC's remembered
//! `W_max`):
//!
//! - **Slow start**: from [`INITIAL`], one more per answered request that
//!   used the window (the limit doubles every round trip), up to [`MAX`],
//!   until the first 429.
//! - **A 429** tells where AEM's ceiling is: the request was admitted with
//!   `k` of the call's requests in flight, so AEM serves fewer than `k`. The
//!   limit drops to `min(k − 1, limit × 0.7)` (once per congestion event:
//!   429s of requests admitted before the drop are the same event), and new
//!   requests wait for the answer's `Retry-After` (at most [`MAX_PAUSE`]).
//! - **Additive increase** of one per round trip up to `k − 1`, where the
//!   limit holds; it probes `k` again after [`PROBE_ROUNDS`] full rounds and
//!   at least [`PROBE_PAUSES`] times the pause the 429 asked for (a probe
//!   that fails costs such a pause, so probes cost at most a tenth of the
//!   time), and twice as long after each probe that met a 429 at the same
//!   ceiling. A probe that holds for a round forgets the ceiling.
//! - A round counts only when it was used: requests admitted with fewer than
//!   half the limit in flight do not raise it (a call that sends little must
//!   not build up a limit it never tested).
//!
//! A fixed limit (`withMaxAemRequests(n)`) neither adapts nor pauses; 429s
//! are still retried after their `Retry-After`, as any request's are.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// The limit a call starts with: what the engine allowed completes before it adapted.
pub const INITIAL: usize = 8;
/// The most AEM requests in flight, whatever AEM takes: a guard, not a
/// setting (a call's demand is bounded well below by the files it keeps
/// initiated).
pub const MAX: usize = 256;
/// Full rounds at `ceiling − 1` before the ceiling is probed again.
pub const PROBE_ROUNDS: usize = 16;
/// Holding below the ceiling lasts at least this many times the pause of the
/// 429 that set it: a failed probe costs one such pause.
pub const PROBE_PAUSES: u32 = 10;
/// The longest a 429 pauses the call's other AEM requests: a `Retry-After` of
/// an hour still delays its own request that long, not the whole call.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);
/// The multiplicative decrease (CUBIC's β).
const BETA: f64 = 0.7;

/// The adaptive window: plain arithmetic, no clock, no locks (tested as such).
#[derive(Clone, Debug)]
pub struct Window {
    limit: usize,
    /// Counted successes towards the next +1 in additive increase (one round: `limit` of them).
    growth: usize,
    slow_start: bool,
    /// In-flight count that drew the latest 429: AEM serves fewer.
    ceiling: Option<usize>,
    /// Counted successes at `ceiling − 1` (holding) or at `ceiling` (probing).
    steady: usize,
    /// Rounds to hold before probing.
    probe_rounds: usize,
    /// And not before then.
    hold_until: Option<Instant>,
    /// Bumped at every decrease; 429s of requests admitted before it are ignored.
    epoch: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window::new(INITIAL)
    }
}

impl Window {
    pub fn new(initial: usize) -> Window {
        Window {
            limit: initial.clamp(1, MAX),
            growth: 0,
            slow_start: true,
            ceiling: None,
            steady: 0,
            probe_rounds: PROBE_ROUNDS,
            hold_until: None,
            epoch: 0,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn in_slow_start(&self) -> bool {
        self.slow_start
    }

    pub fn ceiling(&self) -> Option<usize> {
        self.ceiling
    }

    /// A request admitted with `admitted_with` requests in flight (itself
    /// included) was answered, not with a 429, at `now`.
    pub fn on_success(&mut self, admitted_with: usize, now: Instant) {
        if admitted_with * 2 < self.limit {
            return;
        }
        if self.slow_start {
            self.limit = (self.limit + 1).min(MAX);
            return;
        }
        match self.ceiling {
            Some(ceiling) if self.limit + 1 >= ceiling => {
                self.steady += 1;
                if self.limit + 1 == ceiling {
                    // Holding just below the ceiling; probe it after a while.
                    let held = self.hold_until.is_none_or(|until| now >= until);
                    if held && self.steady >= self.probe_rounds * self.limit {
                        self.limit = ceiling.min(MAX);
                        self.steady = 0;
                    }
                } else if admitted_with >= ceiling && self.steady >= self.limit {
                    // A whole round at the ceiling went through: AEM takes more now.
                    self.ceiling = None;
                    self.probe_rounds = PROBE_ROUNDS;
                    self.steady = 0;
                }
            }
            _ => {
                self.growth += 1;
                if self.growth >= self.limit {
                    self.growth = 0;
                    self.limit = (self.limit + 1).min(MAX);
                    if self.ceiling.is_some_and(|c| self.limit + 1 >= c) {
                        self.steady = 0;
                    }
                }
            }
        }
    }

    /// A request admitted with `admitted_with` in flight, in `epoch`, was
    /// answered 429 at `now`, asking for a pause of `pause`. Returns whether
    /// the limit dropped (a new congestion event).
    pub fn on_throttled(&mut self, admitted_with: usize, epoch: u64, pause: Duration, now: Instant) -> bool {
        if epoch != self.epoch {
            return false;
        }
        let k = admitted_with.max(1);
        let probing_same = self.ceiling == Some(k) && !self.slow_start;
        self.epoch += 1;
        self.slow_start = false;
        self.growth = 0;
        self.steady = 0;
        self.ceiling = Some(k);
        if probing_same {
            // The probe confirmed the ceiling: back to just below it, and probe less often.
            self.limit = (k - 1).max(1);
            self.probe_rounds = self.probe_rounds.saturating_mul(2);
        } else {
            let decreased = (self.limit as f64 * BETA).floor() as usize;
            self.limit = decreased.min(k - 1).max(1);
            self.probe_rounds = PROBE_ROUNDS;
        }
        let doublings = (self.probe_rounds / PROBE_ROUNDS).max(1) as u32;
        self.hold_until = Some(now + pause.saturating_mul(PROBE_PAUSES).saturating_mul(doublings));
        true
    }
}

/// The limit of one call's AEM requests: adaptive ([`AemLimit::adaptive`])
/// or fixed ([`AemLimit::fixed`]). Shared by every request of the call's
/// [`crate::session::AemSession`].
pub struct AemLimit {
    permits: Semaphore,
    state: Mutex<State>,
}

struct State {
    /// `None`: a fixed limit.
    window: Option<Window>,
    /// Permits in existence (available or held).
    capacity: usize,
    /// Permits to retire as they come back (the limit dropped below what is held).
    debt: usize,
    in_flight: usize,
    paused_until: Option<Instant>,
    throttled: u64,
}

impl AemLimit {
    /// A limit that adapts, from [`INITIAL`].
    pub fn adaptive() -> AemLimit {
        AemLimit::with(Some(Window::default()), INITIAL)
    }

    /// A limit of `n` (at least 1, at most [`MAX`]) that does not adapt.
    pub fn fixed(n: usize) -> AemLimit {
        AemLimit::with(None, n.clamp(1, MAX))
    }

    fn with(window: Option<Window>, capacity: usize) -> AemLimit {
        AemLimit {
            permits: Semaphore::new(capacity),
            state: Mutex::new(State { window, capacity, debt: 0, in_flight: 0, paused_until: None, throttled: 0 }),
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        let state = self.state.lock().unwrap();
        state.capacity - state.debt
    }

    /// 429s this limit has seen.
    pub fn throttled(&self) -> u64 {
        self.state.lock().unwrap().throttled
    }

    /// Waits for room, and for any pause a 429 asked for, then admits one
    /// request. Cancel-safe: dropping the future gives nothing up.
    pub async fn acquire(&self) -> AemPermit<'_> {
        let permit = self.permits.acquire().await.expect("never closed");
        loop {
            let until = self.state.lock().unwrap().paused_until;
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        let mut state = self.state.lock().unwrap();
        state.in_flight += 1;
        let epoch = state.window.as_ref().map_or(0, Window::epoch);
        AemPermit { limit: self, permit: Some(permit), admitted_with: state.in_flight, epoch }
    }

    /// Brings the semaphore to the window's limit.
    fn resize(&self, state: &mut State) {
        let Some(target) = state.window.as_ref().map(Window::limit) else { return };
        let effective = state.capacity - state.debt;
        if target > effective {
            let grow = target - effective;
            let cancelled = grow.min(state.debt);
            state.debt -= cancelled;
            let added = grow - cancelled;
            state.capacity += added;
            self.permits.add_permits(added);
        } else if target < effective {
            let mut shrink = effective - target;
            // Idle permits go at once; held ones as they come back.
            let idle = shrink.min(self.permits.available_permits());
            if idle > 0 {
                if let Ok(taken) = self.permits.try_acquire_many(idle as u32) {
                    taken.forget();
                    state.capacity -= idle;
                    shrink -= idle;
                }
            }
            state.debt += shrink;
        }
    }
}

/// One admitted AEM request. Tell it how the attempt ended with
/// [`AemPermit::answered`]; dropped without that (cancelled, or no answer
/// came), it only gives its room back.
pub struct AemPermit<'a> {
    limit: &'a AemLimit,
    permit: Option<SemaphorePermit<'a>>,
    admitted_with: usize,
    epoch: u64,
}

impl AemPermit<'_> {
    /// The attempt was answered `status` (`None`: no answer, which says
    /// nothing about AEM's load), with `retry_after` when it said so.
    pub fn answered(self, status: Option<StatusCode>, retry_after: Option<Duration>) {
        let Some(status) = status else { return };
        let mut state = self.limit.state.lock().unwrap();
        let (admitted_with, epoch) = (self.admitted_with, self.epoch);
        if status == StatusCode::TOO_MANY_REQUESTS {
            state.throttled += 1;
            let Some(window) = state.window.as_mut() else { return };
            let (pause, now) = (retry_after.unwrap_or_default().min(MAX_PAUSE), Instant::now());
            window.on_throttled(admitted_with, epoch, pause, now);
            if !pause.is_zero() {
                let until = now + pause;
                state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
            }
        } else if let Some(window) = state.window.as_mut() {
            window.on_success(admitted_with, Instant::now());
        } else {
            return;
        }
        self.limit.resize(&mut state);
    }
}

impl Drop for AemPermit<'_> {
    fn drop(&mut self) {
        let mut state = self.limit.state.lock().unwrap();
        state.in_flight -= 1;
        let permit = self.permit.take().expect("held until dropped");
        if state.debt > 0 {
            state.debt -= 1;
            state.capacity -= 1;
            permit.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers `n` requests each admitted with a full window, at `now`.
    fn answered_at(window: &mut Window, n: usize, now: Instant) {
        for _ in 0..n {
            let limit = window.limit();
            window.on_success(limit, now);
        }
    }

    /// Answers `n` requests each admitted with a full window, long after any hold.
    fn full_rounds(window: &mut Window, n: usize) {
        answered_at(window, n, Instant::now() + Duration::from_secs(3600));
    }

    /// A 429 for a request admitted with `k` in flight, without a pause.
    fn throttled(window: &mut Window, k: usize, epoch: u64) -> bool {
        window.on_throttled(k, epoch, Duration::ZERO, Instant::now())
    }

    #[test]
    fn slow_start_doubles_per_round_up_to_max() {
        let mut w = Window::default();
        full_rounds(&mut w, INITIAL);
        assert_eq!(w.limit(), 2 * INITIAL);
        full_rounds(&mut w, 10 * MAX);
        assert_eq!(w.limit(), MAX);
        assert!(w.in_slow_start());
    }

    #[test]
    fn an_unused_window_does_not_grow() {
        let mut w = Window::default();
        for _ in 0..1000 {
            w.on_success(INITIAL / 2 - 1, Instant::now());
        }
        assert_eq!(w.limit(), INITIAL);
    }

    #[test]
    fn a_429_drops_once_per_event_and_remembers_the_ceiling() {
        let mut w = Window::new(17);
        let epoch = w.epoch();
        assert!(throttled(&mut w, 17, epoch));
        assert_eq!(w.limit(), 11, "17 × 0.7");
        assert_eq!(w.ceiling(), Some(17));
        // Other 429s of requests admitted before the drop: the same event.
        assert!(!throttled(&mut w, 18, epoch));
        assert_eq!(w.limit(), 11);
        // Additive increase: one per full round, up to ceiling − 1, where it holds.
        full_rounds(&mut w, 11);
        assert_eq!(w.limit(), 12);
        full_rounds(&mut w, 12 + 13 + 14 + 15);
        assert_eq!(w.limit(), 16);
        full_rounds(&mut w, PROBE_ROUNDS * 16 - 1);
        assert_eq!(w.limit(), 16, "holds below the ceiling");
        full_rounds(&mut w, 1);
        assert_eq!(w.limit(), 17, "then probes it");
        // The probe meets a 429 at the same ceiling: straight back below it,
        // and the next probe comes twice as late.
        let epoch = w.epoch();
        assert!(throttled(&mut w, 17, epoch));
        assert_eq!(w.limit(), 16);
        full_rounds(&mut w, PROBE_ROUNDS * 16 * 2 - 1);
        assert_eq!(w.limit(), 16);
        full_rounds(&mut w, 1);
        assert_eq!(w.limit(), 17);
        // A round at the ceiling goes through: the ceiling is forgotten and growth goes on.
        full_rounds(&mut w, 17);
        assert_eq!(w.ceiling(), None);
        full_rounds(&mut w, 17);
        assert_eq!(w.limit(), 18);
    }

    #[test]
    fn a_probe_waits_ten_pauses_and_longer_after_each_failure() {
        let start = Instant::now();
        let mut w = Window::new(17);
        assert!(w.on_throttled(17, 0, Duration::from_secs(1), start));
        full_rounds(&mut w, 11 + 12 + 13 + 14 + 15);
        assert_eq!(w.limit(), 16);
        // Enough rounds, but within ten pauses of the 429: it holds.
        answered_at(&mut w, PROBE_ROUNDS * 16 * 4, start + Duration::from_secs(9));
        assert_eq!(w.limit(), 16);
        answered_at(&mut w, 1, start + Duration::from_secs(10));
        assert_eq!(w.limit(), 17);
        // The probe fails at the same ceiling: the next one waits twice as long.
        let failed = start + Duration::from_secs(11);
        assert!(w.on_throttled(17, w.epoch(), Duration::from_secs(1), failed));
        answered_at(&mut w, PROBE_ROUNDS * 16 * 4, failed + Duration::from_secs(19));
        assert_eq!(w.limit(), 16);
        answered_at(&mut w, 1, failed + Duration::from_secs(20));
        assert_eq!(w.limit(), 17);
    }

    #[test]
    fn a_lower_ceiling_decreases_multiplicatively() {
        let mut w = Window::new(40);
        assert!(throttled(&mut w, 40, 0));
        assert_eq!(w.limit(), 28);
        // AEM now serves fewer: a 429 with 10 in flight drops below 10.
        let epoch = w.epoch();
        assert!(throttled(&mut w, 10, epoch));
        assert_eq!(w.limit(), 9);
        let epoch = w.epoch();
        assert!(throttled(&mut w, 1, epoch));
        assert_eq!(w.limit(), 1, "never below one");
    }

    #[tokio::test(start_paused = true)]
    async fn permits_follow_the_window_and_a_429_pauses() {
        let limit = AemLimit::adaptive();
        assert_eq!(limit.limit(), INITIAL);
        // A window admitted at once and answered: the requests admitted with
        // at least half of it in flight (4 to 8) each raise it by one.
        let held: Vec<_> = futures_util::future::join_all((0..INITIAL).map(|_| limit.acquire())).await;
        for permit in held {
            permit.answered(Some(StatusCode::OK), None);
        }
        assert_eq!(limit.limit(), INITIAL + 5);
        // All 13 held; a 429 of the last one admitted drops the limit to 9
        // (13 × 0.7): four held permits are retired as they come back.
        let mut held: Vec<_> = futures_util::future::join_all((0..13).map(|_| limit.acquire())).await;
        assert_eq!(limit.permits.available_permits(), 0);
        held.pop().unwrap().answered(Some(StatusCode::TOO_MANY_REQUESTS), Some(Duration::from_secs(1)));
        assert_eq!(limit.limit(), 9);
        assert_eq!(limit.throttled(), 1);
        drop(held);
        assert_eq!(limit.permits.available_permits(), 9);
        // New requests wait out the Retry-After.
        let started = Instant::now();
        let permit = limit.acquire().await;
        assert!(Instant::now() - started >= Duration::from_secs(1));
        drop(permit);
        // A request dropped without an answer, or answered without one, changes nothing.
        drop(limit.acquire().await);
        limit.acquire().await.answered(None, None);
        assert_eq!(limit.limit(), 9);
        assert_eq!(limit.permits.available_permits(), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_limit_neither_adapts_nor_pauses() {
        let limit = AemLimit::fixed(3);
        let held: Vec<_> = futures_util::future::join_all((0..3).map(|_| limit.acquire())).await;
        assert_eq!(limit.permits.available_permits(), 0);
        for permit in held {
            permit.answered(Some(StatusCode::TOO_MANY_REQUESTS), Some(Duration::from_secs(5)));
        }
        assert_eq!(limit.limit(), 3);
        assert_eq!(limit.throttled(), 3);
        let started = Instant::now();
        drop(limit.acquire().await);
        assert_eq!(Instant::now(), started);
    }
}
